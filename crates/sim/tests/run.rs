//! A seeded stream run end to end on the in-process host.

use shardlab_engine::SequenceNumber;
use shardlab_firehose::Sink;
use shardlab_sim::host::{
    run_ticks_planning_ahead, MAX_BYTES_PER_EXCHANGE, MAX_TICKS_PER_EXCHANGE,
};
use shardlab_sim::{
    open_shards, read_back, run_tick, InProcessHost, Scenario, SimError, Simulation, Snapshot,
};

fn scenario(shards: u32, rate: u64, seed: u64) -> Scenario {
    Scenario {
        stream_name: "clickstream".into(),
        shard_count: shards,
        seed,
        rate_per_sec: rate,
        ..Default::default()
    }
}

fn counts(snap: &Snapshot) -> Vec<(String, u64, u64)> {
    snap.shards
        .iter()
        .map(|s| (s.shard_id.clone(), s.records_accepted, s.records_throttled))
        .collect()
}

fn run(s: Scenario, ticks: u32, tick_ms: u64) -> Snapshot {
    let mut sim = Simulation::new(s).unwrap();
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).unwrap();
    for _ in 0..ticks {
        run_tick(&mut sim, &mut host, tick_ms).unwrap();
    }
    sim.snapshot()
}

#[test]
fn same_seed_same_run() {
    let a = run(scenario(4, 800, 7), 50, 100);
    let b = run(scenario(4, 800, 7), 50, 100);
    assert_eq!(a, b);
    let c = run(scenario(4, 800, 8), 50, 100);
    assert_ne!(a.digest, c.digest);
    assert_ne!(
        a.shards
            .iter()
            .map(|s| s.records_accepted)
            .collect::<Vec<_>>(),
        c.shards
            .iter()
            .map(|s| s.records_accepted)
            .collect::<Vec<_>>()
    );
}

#[test]
fn tick_length_does_not_change_the_records() {
    // 5 s of virtual time cut into 50 or 500 ticks.
    let coarse = run(scenario(3, 500, 1), 50, 100);
    let fine = run(scenario(3, 500, 1), 500, 10);
    // Records arrive at the end of the tick they were made in, so arrival
    // milliseconds (the oldest record's, here) follow the tick; everything
    // else is the same.
    let shards = |snap: &Snapshot| {
        let mut shards = snap.shards.clone();
        for s in &mut shards {
            let oldest = s.oldest_arrival_ms.take().expect("records retained");
            assert!(oldest > snap.now_ms - 5_000 && oldest <= snap.now_ms - 4_900);
        }
        shards
    };
    assert_eq!(shards(&coarse), shards(&fine));
    assert_eq!(coarse.records_produced, 2500);
}

#[test]
fn random_keys_spread_over_every_shard() {
    let snap = run(scenario(4, 1000, 3), 100, 100);
    let total: u64 = snap.shards.iter().map(|s| s.records_accepted).sum();
    assert_eq!(total, 10_000);
    for s in &snap.shards {
        // An even spread is 2,500 per shard; random keys stay near it.
        assert!((2_200..=2_800).contains(&s.records_accepted), "{s:?}");
        assert_eq!(s.records_throttled, 0);
        let seq = SequenceNumber::parse(s.latest_sequence_number.as_deref().unwrap()).unwrap();
        // Records take sequence indexes 1, 2, ... (0 is the shard's starting number).
        assert_eq!(seq.sequence_index, s.records_accepted);
        assert_eq!(format!("shardId-{:012}", seq.shard_index), s.shard_id);
    }
    assert_eq!(snap.shards[3].starting_hash_key, (3u128 << 126).to_string());
}

#[test]
fn a_single_shard_throttles_above_a_thousand_records_per_second() {
    let snap = run(scenario(1, 1500, 3), 100, 100);
    let shard = &snap.shards[0];
    assert_eq!(shard.records_accepted + shard.records_throttled, 15_000);
    // 10 s at 1,000/s plus the one-second burst the bucket starts with.
    assert!(
        (10_000..=11_000).contains(&shard.records_accepted),
        "{shard:?}"
    );
    assert_eq!(shard.records_last_second, 1000);
}

#[test]
fn records_last_second_tracks_the_rate() {
    let snap = run(scenario(2, 600, 9), 30, 100);
    let per_second: u64 = snap.shards.iter().map(|s| s.records_last_second).sum();
    assert_eq!(per_second, 600);
}

#[test]
fn bad_scenarios_are_refused_with_clear_errors() {
    let err = |s: Scenario| Simulation::new(s).err().unwrap().to_string();
    assert!(err(scenario(0, 1, 1)).contains("at 'shardCount' failed to satisfy constraint"));
    assert!(err(scenario(33, 1, 1)).contains("between 1 and 32"));
    let mut bad_name = scenario(1, 1, 1);
    bad_name.stream_name = "no spaces".into();
    assert!(err(bad_name).starts_with(
        "ValidationException: 1 validation error detected: Value 'no spaces' at 'streamName'"
    ));
    assert!(matches!(
        Simulation::new(scenario(1, 1_000_000, 1)),
        Err(SimError::Scenario(_))
    ));
    let mut ramp = scenario(1, 1, 1);
    ramp.rate_shape = shardlab_sim::producer::RateShape::Ramp {
        from_percent: 50,
        to_percent: 0,
        over_ms: 1000,
    };
    assert!(err(ramp).contains("a ramp runs from 0 to 10000 percent of the rate and ends above 0"));
    let mut weekly = scenario(1, 1, 1);
    weekly.rate_shape = shardlab_sim::producer::RateShape::Weekly {
        percent: vec![100; 100],
    };
    assert!(err(weekly).contains("168 hourly percentages (or 24, the same every day), not 100"));
}

#[test]
fn pausing_is_not_ticking_and_rate_changes_apply() {
    let mut sim = Simulation::new(scenario(2, 100, 5)).unwrap();
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).unwrap();
    for _ in 0..10 {
        run_tick(&mut sim, &mut host, 100).unwrap();
    }
    assert_eq!(sim.snapshot().records_produced, 100);
    sim.set_rate(0).unwrap();
    for _ in 0..10 {
        run_tick(&mut sim, &mut host, 100).unwrap();
    }
    assert_eq!(sim.snapshot().records_produced, 100);
    sim.set_rate(1000).unwrap();
    for _ in 0..10 {
        run_tick(&mut sim, &mut host, 100).unwrap();
    }
    assert_eq!(sim.snapshot().records_produced, 100 + 999);
}

/// A pinned run: the browser test (`crates/worker/tests/browser.rs`)
/// checks that wasm reaches exactly these figures, so native and wasm
/// cannot drift apart unnoticed.
#[test]
fn pinned_run_matches_the_figures_the_browser_test_expects() {
    let mut s = scenario(2, 300, 42);
    s.stream_name = "browser-test".into();
    let snap = run(s, 10, 100);
    assert_eq!(snap.records_produced, 300);
    let per_shard: Vec<u64> = snap.shards.iter().map(|s| s.records_accepted).collect();
    assert_eq!(per_shard, PINNED_PER_SHARD);
    assert_eq!(snap.digest, PINNED_DIGEST);
}

/// Shapes and key strategies that draw on floating-point maths (Poisson
/// gaps take a logarithm, Zipf weights a power) are pinned too: the
/// browser test `wasm_reaches_the_pinned_native_figures` runs this and
/// must get the same bits.
#[test]
fn pinned_poisson_zipf_run() {
    let mut s = scenario(2, 2_000, 42);
    s.stream_name = "browser-test".into();
    s.rate_shape = shardlab_sim::producer::RateShape::Poisson;
    s.keys = shardlab_sim::producer::KeyStrategy::Zipf {
        count: 1000,
        exponent: 1.2,
    };
    let snap = run(s, 20, 100);
    assert_eq!(snap.records_produced, 3993);
    assert_eq!(snap.digest, "9805b84e09c2a605");
}

const PINNED_PER_SHARD: [u64; 2] = [147, 153];
const PINNED_DIGEST: &str = "b49fd91bee01fe06";

/// The playground's default stream (clickstream, 4 shards, seed 42,
/// 2,000 records/s), without its consumer, after five 100 ms steps. The end-to-end test
/// (`web/e2e/site.test.mjs`) steps the built site the same way and expects
/// these figures, so the browser shows what the native engine computes.
#[test]
fn pinned_default_stream_after_five_steps() {
    let snap = run(scenario(4, 2_000, 42), 5, 100);
    let per_shard: Vec<u64> = snap.shards.iter().map(|s| s.records_accepted).collect();
    assert_eq!(snap.records_produced, 1_000);
    assert_eq!(per_shard, [257, 251, 231, 261]);
    assert_eq!(snap.digest, "099ec34aa352fcc2");
}

#[test]
fn sixteen_shards_share_eight_hosts_with_the_same_results() {
    let sim = Simulation::new(scenario(16, 3000, 5)).unwrap();
    assert_eq!(sim.host_count(), shardlab_sim::MAX_HOSTS);
    assert_eq!(sim.host_of(3), 3);
    assert_eq!(sim.host_of(11), 3);
    // Packing changes where shards live, never what happens to records:
    // each shard still sees its own operations in order.
    let run_on = |hosts: u32| {
        let mut sim = Simulation::with_hosts(scenario(16, 3000, 5), hosts).unwrap();
        let mut host = InProcessHost::new();
        open_shards(&mut sim, &mut host).unwrap();
        for _ in 0..30 {
            run_tick(&mut sim, &mut host, 100).unwrap();
        }
        sim.snapshot()
    };
    let one = run_on(1);
    assert_eq!(
        one.shards.iter().map(|s| s.records_accepted).sum::<u64>(),
        9_000
    );
    for hosts in [8, 16] {
        let other = run_on(hosts);
        assert_eq!(other.digest, one.digest);
        assert_eq!(counts(&other), counts(&one));
        assert_eq!(other.shards[11].host, 11 % hosts);
    }
    assert!(Simulation::with_hosts(scenario(2, 1, 1), 0).is_err());
}

/// Runs `ticks` ticks; before tick `t`, `each(t, sim, host)` may act.
fn run_with(
    s: Scenario,
    hosts: u32,
    ticks: u32,
    mut each: impl FnMut(u32, &mut Simulation, &mut InProcessHost),
) -> (Simulation, InProcessHost) {
    let mut sim = Simulation::with_hosts(s, hosts).unwrap();
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).unwrap();
    for t in 0..ticks {
        each(t, &mut sim, &mut host);
        run_tick(&mut sim, &mut host, 100).unwrap();
    }
    (sim, host)
}

#[test]
fn a_killed_host_is_restored_and_nothing_acknowledged_is_lost() {
    // 20,000 records/s per shard against a limit of 1,000: the throttled
    // puts fill the log faster than the shards fill (though the log holds
    // the records' recipes, a fifth of their bytes), so checkpoints are
    // taken (a log that only mirrors the state never needs one).
    let s = scenario(4, 80_000, 11);
    let (calm, mut calm_host) = run_with(s.clone(), 4, 200, |_, _, _| {});
    let (sim, mut host) = run_with(s, 4, 200, |t, _, host| match t {
        // Early (no checkpoint yet: a full replay), later (checkpoint +
        // log), and twice in a row.
        20 => host.kill(1),
        120 => host.kill(2),
        150 | 151 => host.kill(1),
        _ => {}
    });
    // The run did not notice: same records, same sequence numbers.
    assert_eq!(sim.snapshot(), calm.snapshot());
    // Every acknowledged record is readable, in order, as in the calm run.
    let read = read_back(&sim, &mut host).unwrap();
    assert_eq!(read, read_back(&calm, &mut calm_host).unwrap());
    let accepted: u64 = sim
        .snapshot()
        .shards
        .iter()
        .map(|s| s.records_accepted)
        .sum();
    // Per shard: a full bucket of 1,000 at the start, then 1,000 a second
    // over the 19.9 s from the first record to the last.
    assert_eq!(accepted, 83_600);
    assert_eq!(read.iter().map(|s| s.records).sum::<u64>(), accepted);
    let stats = |h| host.journal_stats(h).unwrap();
    assert_eq!(stats(1).recoveries, 3);
    assert_eq!(stats(2).recoveries, 1);
    assert_eq!(stats(0).recoveries, 0);
    // Checkpoints were taken and the log holds only what came after the
    // last one: at most twice the host's state, and one tick's batch.
    assert!(stats(2).checkpoints >= 2, "{:?}", stats(2));
    assert!(
        stats(2).log_bytes <= (2 * stats(2).state_bytes).max(256 * 1024) + 256 * 1024,
        "{:?}",
        stats(2)
    );
}

#[test]
fn a_lost_host_that_never_checkpointed_replays_from_the_start() {
    let (sim, mut host) = run_with(scenario(2, 200, 3), 2, 30, |t, _, host| {
        if t == 29 {
            host.kill(0);
        }
    });
    assert_eq!(host.journal_stats(0).unwrap().checkpoints, 0);
    assert_eq!(host.journal_stats(0).unwrap().recoveries, 1);
    let read = read_back(&sim, &mut host).unwrap();
    assert_eq!(read.iter().map(|s| s.records).sum::<u64>(), 600);
    // A read-back that leaves a shard out, or counts one short, is refused.
    assert!(sim.verify_read_back(&read[..read.len() - 1]).is_err());
    let mut short = read.clone();
    short[0].records -= 1;
    assert!(sim.verify_read_back(&short).is_err());
    assert!(sim.verify_read_back(&read).is_ok());
}

/// Splits and merges while records flow: children open on the hosts their
/// shard indexes map to, parents close and stay readable, and the result
/// does not depend on how shards are spread over hosts.
#[test]
fn resharding_is_the_same_on_any_number_of_hosts() {
    let reshard = |t: u32, sim: &mut Simulation, _: &mut InProcessHost| {
        shardlab_sim::bench::split_merge_split(t, sim).unwrap()
    };
    let mut runs = Vec::new();
    for hosts in [1, 2, 4] {
        let (sim, mut host) = run_with(scenario(4, 2_500, 21), hosts, 50, reshard);
        let snap = sim.snapshot();
        let read = read_back(&sim, &mut host).unwrap();
        runs.push((snap, read));
    }
    let (snap, read) = &runs[0];
    let ids: Vec<(&str, bool)> = snap
        .shards
        .iter()
        .map(|s| (s.shard_id.as_str(), s.open))
        .collect();
    assert_eq!(
        ids,
        [
            ("shardId-000000000000", false),
            ("shardId-000000000001", true),
            ("shardId-000000000002", false),
            ("shardId-000000000003", false),
            ("shardId-000000000004", true),
            ("shardId-000000000005", false),
            ("shardId-000000000006", true),
            ("shardId-000000000007", true),
            ("shardId-000000000008", true),
        ]
    );
    assert_eq!(
        snap.shards[6].parent_shard_id.as_deref(),
        Some("shardId-000000000002")
    );
    assert_eq!(
        snap.shards[6].adjacent_parent_shard_id.as_deref(),
        Some("shardId-000000000003")
    );
    // Closed parents keep their records, readable.
    assert!(read[0].records > 0 && read[2].records > 0 && read[5].records > 0);
    assert_eq!(read.iter().map(|s| s.records).sum::<u64>(), 12_500);
    for (other_snap, other_read) in &runs[1..] {
        assert_eq!(other_snap.digest, snap.digest);
        assert_eq!(counts(other_snap), counts(snap));
        assert_eq!(other_read, read);
    }
    // Children go where their index maps: shard 7 on host 7 % 4 = 3.
    assert_eq!(runs[2].0.shards[7].host, 3);
}

#[test]
fn bad_reshards_get_the_apis_errors() {
    let mut sim = Simulation::new(scenario(4, 0, 1)).unwrap();
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).unwrap();
    let err = sim
        .split_shard("shardId-000000000009")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("ResourceNotFoundException: Could not find shard shardId-000000000009"),
        "{err}"
    );
    let err = sim
        .merge_shards("shardId-000000000000", "shardId-000000000002")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("InvalidArgumentException"), "{err}");
}

/// Planning a tick while the shards still run the previous one (as the
/// worker host does) changes nothing, with or without resharding.
#[test]
fn planning_ahead_gives_the_same_run() {
    for reshard in [false, true] {
        let script = |t: u32, sim: &mut Simulation| {
            if reshard {
                shardlab_sim::bench::split_merge_split(t, sim).unwrap();
            }
        };
        let (plain, mut plain_host) =
            run_with(scenario(4, 4_500, 13), 4, 60, |t, sim, _| script(t, sim));
        let mut sim = Simulation::with_hosts(scenario(4, 4_500, 13), 4).unwrap();
        let mut host = InProcessHost::new();
        open_shards(&mut sim, &mut host).unwrap();
        run_ticks_planning_ahead(&mut sim, &mut host, 60, 100, script).unwrap();
        assert_eq!(sim.snapshot(), plain.snapshot(), "reshard: {reshard}");
        assert_eq!(
            read_back(&sim, &mut host).unwrap(),
            read_back(&plain, &mut plain_host).unwrap()
        );
    }
}

/// A host that counts its exchanges (round trips to the workers, in the
/// browser).
struct Counting(InProcessHost, u32);

impl shardlab_sim::ShardHost for Counting {
    fn exchange(
        &mut self,
        batches: Vec<(u32, shardlab_engine::protocol::ShardBatch)>,
    ) -> Result<Vec<shardlab_engine::protocol::ShardBatchReply>, SimError> {
        self.1 += 1;
        self.0.exchange(batches)
    }
}

/// Ticks that may be planned ahead travel to the hosts together, up to
/// `MAX_TICKS_PER_EXCHANGE` per exchange; a consumer's read must come back
/// before the tick after it is planned, so with one polling every 200 ms
/// each tick goes on its own. Either way the run is the one tick by tick
/// gives.
#[test]
fn ticks_planned_ahead_share_an_exchange() {
    let ticks = 200;
    let grouped = ticks / MAX_TICKS_PER_EXCHANGE as u32 + 1;
    for (polls, most) in [(&[][..], grouped), (&[200][..], ticks)] {
        let exchanges =
            exchanges_planning_ahead(with_consumers(scenario(4, 4_000, 21), polls), ticks);
        assert!(exchanges <= most, "{exchanges} exchanges for {polls:?}");
        assert!(exchanges * 2 >= most, "{exchanges} exchanges for {polls:?}");
    }
}

/// Runs `s` for `ticks` ticks planning ahead, checks the run is the one
/// tick by tick gives, and returns how many exchanges it took.
fn exchanges_planning_ahead(s: Scenario, ticks: u32) -> u32 {
    let (plain, mut plain_host) = run_with(s.clone(), 4, ticks, |_, _, _| {});
    let mut sim = Simulation::with_hosts(s, 4).unwrap();
    let mut host = Counting(InProcessHost::new(), 0);
    open_shards(&mut sim, &mut host).unwrap();
    let opened = host.1;
    run_ticks_planning_ahead(&mut sim, &mut host, ticks, 100, |_, _| {}).unwrap();
    let exchanges = host.1 - opened;
    assert_eq!(sim.snapshot(), plain.snapshot());
    assert_eq!(
        read_back(&sim, &mut host).unwrap(),
        read_back(&plain, &mut plain_host).unwrap()
    );
    exchanges
}

/// A fast stream's ticks travel in smaller groups, so that no message
/// holds much more than `MAX_BYTES_PER_EXCHANGE` of records; the run is
/// still the one tick by tick gives.
#[test]
fn a_group_of_ticks_stops_at_its_byte_limit() {
    // 100,000 records/s of about 190 bytes (150 of data from a template,
    // which travel as bytes): 1.9 MB per tick, so about 5 ticks per group
    // rather than 40.
    let ticks = 40;
    let mut s = scenario(4, 100_000, 5);
    s.record_template = Some(format!("{}{{{{random.number(9)}}}}", "x".repeat(149)));
    let exchanges = exchanges_planning_ahead(s, ticks);
    let per_tick = 10_000 * 150;
    let most_per_group = MAX_BYTES_PER_EXCHANGE as u32 / per_tick + 1;
    assert!(
        exchanges >= ticks / most_per_group,
        "{exchanges} exchanges for {ticks} ticks"
    );
}

fn with_consumers(mut s: Scenario, polls: &[u64]) -> Scenario {
    s.consumers = polls
        .iter()
        .enumerate()
        .map(|(i, &poll_ms)| {
            shardlab_sim::consumer::ConsumerSpec::polling(format!("app-{i}"), poll_ms)
        })
        .collect();
    s
}

/// Runs with the resharding script (when `reshard`), then stops the
/// producer and lets the consumers catch up.
fn run_and_drain(s: Scenario, hosts: u32, reshard: bool) -> (Simulation, InProcessHost) {
    run_with(s, hosts, 80, |t, sim, _| {
        if reshard {
            shardlab_sim::bench::split_merge_split(t, sim).unwrap();
        }
        if t == 60 {
            sim.set_rate(0).unwrap();
        }
    })
}

#[test]
fn a_consumer_gets_every_record_once_in_order_across_splits_and_merges() {
    for reshard in [false, true] {
        let (sim, mut host) =
            run_and_drain(with_consumers(scenario(4, 2_500, 5), &[200]), 2, reshard);
        let snap = sim.snapshot();
        let app = &snap.consumers[0];
        let read = read_back(&sim, &mut host).unwrap();
        let stored: u64 = read.iter().map(|s| s.records).sum();
        let accepted: u64 = snap.shards.iter().map(|s| s.records_accepted).sum();
        assert_eq!(stored, accepted);
        assert!(stored > 14_900, "{stored}");
        assert_eq!(app.delivered, stored, "reshard: {reshard}");
        assert_eq!(app.throttled, 0);
        // Per shard, exactly what the shard holds; closed ones read to the end.
        for (shard, r) in snap.shards.iter().zip(&read) {
            let mine = app
                .shards
                .iter()
                .find(|s| s.shard_id == shard.shard_id)
                .unwrap();
            assert_eq!(mine.delivered, r.records, "{}", shard.shard_id);
            assert_eq!(mine.done, !shard.open, "{}", shard.shard_id);
            assert_eq!(mine.lag_ms, 0);
        }
    }
}

#[test]
fn two_consumers_polling_fast_share_the_read_limit_and_get_throttled() {
    let (sim, _) = run_and_drain(with_consumers(scenario(2, 500, 5), &[100, 100]), 2, false);
    let snap = sim.snapshot();
    // 20 GetRecords/s per shard against AWS's 5: many of each consumer's
    // 160 calls are refused, yet every record arrives, later.
    let accepted: u64 = snap.shards.iter().map(|s| s.records_accepted).sum();
    for app in &snap.consumers {
        assert!(app.throttled * 3 > 160, "{app:?}");
        assert_eq!(app.delivered, accepted, "{app:?}");
    }
}

#[test]
fn consumers_do_not_change_with_the_number_of_hosts_or_planning_ahead() {
    let s = with_consumers(scenario(4, 3_000, 8), &[200, 1000]);
    let (one, _) = run_and_drain(s.clone(), 1, true);
    let (four, _) = run_and_drain(s.clone(), 4, true);
    assert_eq!(one.snapshot().digest, four.snapshot().digest);
    assert_eq!(one.snapshot().consumers, four.snapshot().consumers);
    let mut sim = Simulation::with_hosts(s, 4).unwrap();
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).unwrap();
    run_ticks_planning_ahead(&mut sim, &mut host, 80, 100, |t, sim| {
        shardlab_sim::bench::split_merge_split(t, sim).unwrap();
        if t == 60 {
            sim.set_rate(0).unwrap();
        }
    })
    .unwrap();
    assert_eq!(sim.snapshot(), four.snapshot());
    // Without consumers the digest is the producer's alone.
    assert_ne!(
        one.snapshot().digest,
        run_and_drain(scenario(4, 3_000, 8), 1, true)
            .0
            .snapshot()
            .digest
    );
}

#[test]
fn bad_consumers_are_refused() {
    let err = |s: Scenario| Simulation::new(s).err().unwrap().to_string();
    assert!(err(with_consumers(scenario(1, 1, 1), &[50])).contains("shortest interval is 100 ms"));
    let mut twins = with_consumers(scenario(1, 1, 1), &[200, 200]);
    twins.consumers[1].name = "app-0".into();
    assert!(err(twins).contains("needs a name of its own"));
    assert!(err(with_consumers(scenario(1, 1, 1), &[200; 9])).contains("at most 8"));
    assert!(err(with_consumers(scenario(1, 1, 1), &[3_600_001])).contains("longest 3600000 ms"));
}

#[test]
fn a_consumer_polling_every_ten_minutes_still_reads_everything() {
    // Each poll finds its iterator older than 5 minutes (ExpiredIterator),
    // gets a new one after the last record it had, and reads on at once.
    let s = with_consumers(scenario(1, 5, 3), &[600_000]);
    let report = shardlab_sim::headless::run_for(s, 21 * 60_000).unwrap();
    let app = &report.snapshot.consumers[0];
    // Everything up to its poll just after the 20-minute mark (5/s).
    assert!((6_000..=6_005).contains(&app.delivered), "{app:?}");
    assert_eq!(app.throttled, 0);
}

fn with_keys(mut s: Scenario, keys: shardlab_sim::producer::KeyStrategy) -> Scenario {
    s.keys = keys;
    s
}

#[test]
fn a_hot_key_makes_one_hot_shard() {
    use shardlab_sim::producer::KeyStrategy;
    // 2,000 records/s on 4 shards: evenly spread that is 500 a shard, far
    // below 1,000; with half the records on one key, its shard gets 1,250.
    let even = run(scenario(4, 2_000, 6), 50, 100);
    assert!(even.shards.iter().all(|s| s.records_throttled == 0));
    let hot = run(
        with_keys(scenario(4, 2_000, 6), KeyStrategy::HotKey { percent: 50 }),
        100,
        100,
    );
    let throttled: Vec<u64> = hot.shards.iter().map(|s| s.records_throttled).collect();
    assert_eq!(
        throttled.iter().filter(|&&t| t > 0).count(),
        1,
        "{throttled:?}"
    );
    // 10 s at ~1,250/s is ~12,500 offered against 1,000 of burst plus
    // 10,000 of rate: about 1,500 refused.
    assert!(throttled.iter().sum::<u64>() > 1_000, "{throttled:?}");
}

#[test]
fn zipf_keys_load_shards_unevenly_and_entities_stay_in_place() {
    use shardlab_sim::producer::KeyStrategy;
    let share = |snap: &Snapshot| {
        let total: u64 = snap.shards.iter().map(|s| s.records_accepted).sum();
        let top = snap
            .shards
            .iter()
            .map(|s| s.records_accepted)
            .max()
            .unwrap();
        top as f64 / total as f64
    };
    let even = run(scenario(4, 1_000, 2), 30, 100);
    let zipf = run(
        with_keys(
            scenario(4, 1_000, 2),
            KeyStrategy::Zipf {
                count: 1000,
                exponent: 1.2,
            },
        ),
        30,
        100,
    );
    assert!(share(&even) < 0.3, "{}", share(&even));
    assert!(share(&zipf) > 0.35, "{}", share(&zipf));
    // One entity, one shard: with a single user every record lands together.
    let one = run(
        with_keys(scenario(4, 500, 2), KeyStrategy::Entities { count: 1 }),
        10,
        100,
    );
    assert_eq!(
        one.shards.iter().filter(|s| s.records_accepted > 0).count(),
        1
    );
}

#[test]
fn key_strategies_are_checked() {
    use shardlab_sim::producer::KeyStrategy;
    let err = |k| {
        Simulation::new(with_keys(scenario(1, 1, 1), k))
            .err()
            .unwrap()
            .to_string()
    };
    assert!(err(KeyStrategy::Entities { count: 0 }).contains("1 to 100000 keys"));
    assert!(err(KeyStrategy::HotKey { percent: 101 }).contains("0 to 100 percent"));
    assert!(err(KeyStrategy::Zipf {
        count: 10,
        exponent: f64::NAN
    })
    .contains("Zipf exponent"));
    let parsed = shardlab_sim::headless::parse_scenario(
        r#"{"stream_name": "s", "shard_count": 2, "seed": 1, "rate_per_sec": 10,
            "keys": {"type": "HotKey", "percent": 80}}"#,
    )
    .unwrap();
    assert_eq!(parsed.keys, KeyStrategy::HotKey { percent: 80 });
    let bad = shardlab_sim::headless::parse_scenario(
        r#"{"stream_name": "s", "shard_count": 2, "seed": 1, "rate_per_sec": 10,
            "keys": {"type": "Sequential"}}"#,
    )
    .unwrap_err();
    assert!(bad.contains("unknown variant `Sequential`"), "{bad}");
}

#[test]
fn bursts_throttle_only_while_they_last() {
    use shardlab_sim::producer::RateShape;
    // 400/s with 3 s bursts at 5x every 10 s on one shard: 2,000/s in a
    // burst is over its 1,000/s limit; 400/s between bursts is not.
    let mut s = scenario(1, 400, 4);
    s.rate_shape = RateShape::Bursts {
        every_ms: 10_000,
        burst_ms: 3_000,
        factor: 5,
    };
    let snap = run(s.clone(), 200, 100);
    // Per 10 s: 3 s at 2,000 plus 7 s at 400 = 8,800 records.
    assert_eq!(snap.records_produced, 17_600);
    assert!(
        snap.shards[0].records_throttled > 1_000,
        "{:?}",
        snap.shards[0]
    );
    let parsed = shardlab_sim::headless::parse_scenario(
        r#"{"stream_name": "s", "shard_count": 1, "seed": 4, "rate_per_sec": 400,
            "rate_shape": {"type": "Bursts", "every_ms": 10000, "burst_ms": 3000, "factor": 5}}"#,
    )
    .unwrap();
    assert_eq!(parsed.rate_shape, s.rate_shape);
    s.rate_shape = RateShape::Bursts {
        every_ms: 1_000,
        burst_ms: 2_000,
        factor: 5,
    };
    let err = Simulation::new(s).err().unwrap().to_string();
    assert!(err.contains("a burst must fit in its period"), "{err}");
}

/// A delivery stream on the scenario's stream, as a preset writes it.
fn to_s3(name: &str, interval_s: u32, size_mb: u32) -> serde_json::Value {
    serde_json::json!({
        "DeliveryStreamName": name,
        "ExtendedS3DestinationConfiguration": {
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": "arn:aws:s3:::shardlab-lab",
            "Prefix": "clicks/",
            "BufferingHints": {"SizeInMBs": size_mb, "IntervalInSeconds": interval_s},
            "CompressionFormat": "GZIP",
            "ProcessingConfiguration": {"Enabled": true, "Processors": [{"Type": "AppendDelimiterToRecord"}]}
        }
    })
}

#[test]
fn firehose_waits_for_its_buffer_interval_then_delivers_everything_it_read() {
    let mut s = scenario(2, 400, 42);
    s.delivery_streams = vec![to_s3("to-s3", 60, 5)];
    let mut sim = Simulation::new(s.clone()).unwrap();
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).unwrap();
    // 59 s in: everything read sits in the buffer, nothing in the bucket.
    for _ in 0..590 {
        run_tick(&mut sim, &mut host, 100).unwrap();
    }
    let snap = sim.snapshot();
    let ds = &snap.delivery_streams[0];
    assert_eq!(ds.bucket_objects, 0);
    assert!(ds.buffered_records > 20_000, "{ds:?}");
    assert!(ds.interval_left_ms.unwrap() <= 1_300, "{ds:?}");
    // The reader is a consumer like any other, polling once a second.
    let reader = snap
        .consumers
        .iter()
        .find(|c| c.name == "firehose/to-s3")
        .unwrap();
    assert_eq!(reader.poll_ms, 1000);
    assert_eq!(reader.delivered, ds.accounting.incoming_records);
    // Past the interval (measured from the oldest record's arrival): one object.
    for _ in 0..20 {
        run_tick(&mut sim, &mut host, 100).unwrap();
    }
    let snap = sim.snapshot();
    let ds = &snap.delivery_streams[0];
    assert_eq!(ds.bucket_objects, 1, "{ds:?}");
    let flush = &ds.recent[0];
    assert_eq!(flush.trigger, shardlab_firehose::Trigger::Interval);
    assert!((60_000..61_500).contains(&flush.delay_ms), "{flush:?}");
    let key = &ds.newest_objects[0].key;
    assert!(
        key.starts_with("clicks/2026/01/01/00/to-s3-1-2026-01-01-00-00-0"),
        "{key}"
    );
    assert!(key.ends_with(".gz"));
    // Its content: the records the producer made, one per line, in order
    // within each shard.
    let preview =
        shardlab_sim::firehose_source::preview(sim.firehose(), "shardlab-lab", key).unwrap();
    assert_eq!(preview.records, flush.records);
    assert!(preview.text.lines().count() > 10);
    assert!(ds.accounting.balanced());
    assert_eq!(
        ds.accounting.delivered_records + ds.accounting.buffered_records,
        ds.accounting.incoming_records
    );
    // Same scenario, same objects.
    let again = run(s, 610, 100);
    assert_eq!(again.digest, snap.digest);
    assert_eq!(again.delivery_streams, snap.delivery_streams);
}

#[test]
fn a_bucket_outage_holds_deliveries_until_it_ends() {
    let mut s = scenario(1, 200, 1);
    s.delivery_streams = vec![to_s3("to-s3", 0, 1)];
    let mut sim = Simulation::new(s).unwrap();
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).unwrap();
    sim.set_unavailable(&Sink::Bucket("shardlab-lab".into()), true)
        .unwrap();
    for _ in 0..100 {
        run_tick(&mut sim, &mut host, 100).unwrap();
    }
    let ds = &sim.snapshot().delivery_streams[0];
    assert_eq!(ds.bucket_objects, 0);
    assert!(ds.pending_objects > 0 && ds.bucket_unavailable);
    assert!(ds.data_freshness_ms > 8_000, "{ds:?}");
    sim.set_unavailable(&Sink::Bucket("shardlab-lab".into()), false)
        .unwrap();
    for _ in 0..1300 {
        run_tick(&mut sim, &mut host, 100).unwrap();
    }
    let ds = &sim.snapshot().delivery_streams[0];
    assert!(ds.bucket_objects > 0);
    assert_eq!(ds.pending_objects, 0);
    assert!(ds.accounting.balanced());
    assert!(sim
        .set_unavailable(&Sink::Bucket("nope".into()), true)
        .is_err());
}

#[test]
fn a_scenario_delivery_stream_is_checked_as_firehose_checks_it() {
    let mut s = scenario(1, 10, 1);
    s.delivery_streams = vec![to_s3("to-s3", 901, 1)];
    let e = Simulation::new(s.clone()).err().unwrap().to_string();
    assert!(
        e.contains("Member must have value less than or equal to 900"),
        "{e}"
    );
    s.delivery_streams =
        vec![serde_json::json!({"DeliveryStreamName": "x", "DeliveryStreamType": "MSKAsSource"})];
    let e = Simulation::new(s).err().unwrap().to_string();
    assert!(
        e.contains("DeliveryStreamType is set by the scenario"),
        "{e}"
    );
}

/// Firehose objects (GZIP bytes, seeded names) are part of the digest;
/// the browser test `firehose_objects_are_the_same_in_wasm_and_in_workers`
/// pins the same figures.
#[test]
fn pinned_firehose_run() {
    let mut s = scenario(2, 1_000, 42);
    s.stream_name = "browser-test".into();
    s.delivery_streams = vec![to_s3("to-s3", 1, 1)];
    let snap = run(s, 30, 100);
    let ds = &snap.delivery_streams[0];
    assert_eq!(
        (ds.bucket_objects, ds.accounting.delivered_records),
        (1, 1200),
        "{ds:?}"
    );
    assert_eq!(snap.digest, "75f024b0b304f43a");
}

fn lambda_stream(function: &str) -> serde_json::Value {
    serde_json::json!({
        "DeliveryStreamName": "to-s3",
        "ExtendedS3DestinationConfiguration": {
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": "arn:aws:s3:::shardlab-lab",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
            "ProcessingConfiguration": {"Enabled": true, "Processors": [
                {"Type": "Lambda", "Parameters": [
                    {"ParameterName": "LambdaArn", "ParameterValue": format!("arn:aws:lambda:us-east-1:123456789012:function:{function}")},
                    {"ParameterName": "NumberOfRetries", "ParameterValue": "1"}
                ]},
                {"Type": "AppendDelimiterToRecord"}
            ]}
        }
    })
}

#[test]
fn built_in_lambda_functions_transform_and_drop_records() {
    use shardlab_sim::lambda::{FunctionCode, LambdaFunction};
    let mut s = scenario(2, 200, 5);
    s.lambda_functions = vec![
        LambdaFunction {
            name: "purchases".into(),
            code: FunctionCode::KeepIf {
                field: "action".into(),
                equals: serde_json::json!("purchase"),
            },
        },
        LambdaFunction {
            name: "pick".into(),
            code: FunctionCode::SelectFields(vec!["user_id".into(), "action".into()]),
        },
    ];
    s.delivery_streams = vec![lambda_stream("purchases")];
    let mut sim = Simulation::new(s.clone()).unwrap();
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).unwrap();
    // The transform's buffer waits its default 60 s.
    for _ in 0..700 {
        run_tick(&mut sim, &mut host, 100).unwrap();
    }
    let snap = sim.snapshot();
    let ds = &snap.delivery_streams[0];
    let a = &ds.accounting;
    assert!(a.balanced(), "{a:?}");
    assert!(
        a.dropped_records > a.transformed_records && a.transformed_records > 0,
        "{a:?}"
    );
    let text = shardlab_sim::firehose_source::preview(
        sim.firehose(),
        "shardlab-lab",
        &ds.newest_objects[0].key,
    )
    .unwrap()
    .text;
    assert!(
        text.lines().all(|l| l.contains("\"action\":\"purchase\"")),
        "{text}"
    );

    // A function the scenario does not define: the invocation fails, is
    // retried, and the records land in the error output, never lost.
    s.delivery_streams = vec![lambda_stream("nowhere")];
    let snap = run(s, 700, 100);
    let a = &snap.delivery_streams[0].accounting;
    assert!(
        a.transform_failed > 0 && a.error_delivered == a.transform_failed,
        "{a:?}"
    );
    assert_eq!(a.transformed_records, 0);
}

#[test]
fn javascript_functions_fail_clearly_where_there_is_no_javascript() {
    use shardlab_sim::lambda::{FunctionCode, LambdaFunction};
    let mut s = scenario(1, 100, 5);
    s.lambda_functions = vec![LambdaFunction {
        name: "js".into(),
        code: FunctionCode::Javascript("exports.handler = async (e) => e;".into()),
    }];
    s.delivery_streams = vec![lambda_stream("js")];
    let mut sim = Simulation::new(s.clone()).unwrap();
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).unwrap();
    for _ in 0..620 {
        run_tick(&mut sim, &mut host, 100).unwrap();
    }
    let ds = &sim.snapshot().delivery_streams[0];
    assert!(ds.accounting.transform_failed > 0, "{ds:?}");
    let last = sim
        .firehose()
        .stream("to-s3")
        .unwrap()
        .path
        .transform
        .last_error
        .clone();
    assert_eq!(
        last.as_deref(),
        Some(shardlab_sim::simulation::NO_JAVASCRIPT)
    );
    // `shardlab run` says so before running.
    let e = shardlab_sim::headless::run_for(s, 1000)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("JavaScript"), "{e}");
}

#[test]
fn a_direct_put_delivery_stream_takes_the_producers_records_itself() {
    let mut s = scenario(2, 500, 9);
    let mut ds = to_s3("direct", 60, 5);
    ds["DeliveryStreamType"] = serde_json::json!("DirectPut");
    s.delivery_streams = vec![ds];
    let snap = run(s, 610, 100);
    let ds = &snap.delivery_streams[0];
    // No reader: the records come by PutRecordBatch, not from the stream.
    assert!(snap
        .consumers
        .iter()
        .all(|c| !c.name.starts_with("firehose/")));
    assert_eq!(ds.accounting.incoming_records, snap.records_produced);
    assert_eq!(
        ds.accounting.incoming_put_requests, 610,
        "one PutRecordBatch per tick"
    );
    assert_eq!(ds.accounting.throttled_records, 0);
    assert_eq!(ds.bucket_objects, 1);
    assert!(ds.accounting.balanced());
}

#[test]
fn metrics_count_each_second_what_the_shards_counted() {
    let s = with_consumers(
        with_keys(
            scenario(4, 3000, 3),
            shardlab_sim::producer::KeyStrategy::HotKey { percent: 50 },
        ),
        &[200],
    );
    let snap = run(s, 50, 100);
    let m = &snap.metrics;
    assert_eq!(m.end_s, 5);
    assert_eq!(m.incoming_records.len(), 5);
    let accepted: u64 = snap.shards.iter().map(|s| s.records_accepted).sum();
    let throttled: u64 = snap.shards.iter().map(|s| s.records_throttled).sum();
    let bytes: u64 = snap.shards.iter().map(|s| s.bytes_accepted).sum();
    assert_eq!(m.incoming_records.iter().sum::<u64>(), accepted);
    assert_eq!(m.write_throttled.iter().sum::<u64>(), throttled);
    assert_eq!(m.incoming_bytes.iter().sum::<u64>(), bytes);
    assert!(throttled > 0);
    assert_eq!(m.records_limit, [4000; 5]);
    assert_eq!(m.bytes_limit, [4 << 20; 5]);
    // Per shard: the hot shard is the one throttled, and over the 5 s it
    // took no more than its 1,000 records/s and a second's burst.
    let hot: Vec<_> = m
        .shards
        .iter()
        .filter(|s| s.write_throttled.iter().any(|n| *n > 0))
        .collect();
    assert_eq!(hot.len(), 1);
    assert!(hot[0].incoming_records.iter().sum::<u64>() <= 6000);
    // Where the last second's records landed in the hash-key space: all
    // of them (accepted or not), half on the hot key's one 256th.
    let offered = m.incoming_records[4] + m.write_throttled[4];
    assert_eq!(snap.key_histogram.len(), 256);
    assert_eq!(snap.key_histogram.iter().sum::<u64>(), offered);
    let hottest = *snap.key_histogram.iter().max().unwrap();
    assert!(hottest * 5 >= offered * 2, "{hottest} of {offered}");
    // The consumer's records add up to what it was delivered.
    let c = &snap.consumers[0];
    assert_eq!(m.consumers[0].name, c.name);
    assert_eq!(m.consumers[0].records.iter().sum::<u64>(), c.delivered);
}
