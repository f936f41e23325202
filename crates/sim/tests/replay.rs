//! Retention, the shards' census of what they keep, and consumer
//! applications moved back to read again (replay), on the in-process host.

use shardlab_sim::clock::SCENARIO_EPOCH_MS;
use shardlab_sim::consumer::{ConsumerSpec, Replay};
use shardlab_sim::host::{run_ticks_planning_ahead, start_in_process};
use shardlab_sim::{InProcessHost, Scenario, Simulation, Snapshot};

const HOUR_MS: u64 = 3_600_000;

fn scenario(shards: u32, rate: u64, consumers: &[(&str, u64)]) -> Scenario {
    Scenario {
        stream_name: "readings".into(),
        shard_count: shards,
        seed: 5,
        rate_per_sec: rate,
        consumers: consumers
            .iter()
            .map(|(name, poll)| ConsumerSpec::polling(*name, *poll))
            .collect(),
        ..Default::default()
    }
}

fn start(s: Scenario) -> (Simulation, InProcessHost) {
    start_in_process(s).unwrap()
}

fn run(sim: &mut Simulation, host: &mut InProcessHost, ms: u64, tick_ms: u64) {
    let ticks = u32::try_from(ms / tick_ms).unwrap();
    run_ticks_planning_ahead(sim, host, ticks, tick_ms, |_, _| {}).unwrap();
}

fn retained(snap: &Snapshot) -> u64 {
    snap.shards.iter().map(|s| s.records_retained).sum()
}

fn oldest_age_ms(snap: &Snapshot) -> u64 {
    let oldest = snap.shards.iter().filter_map(|s| s.oldest_arrival_ms).min();
    snap.now_ms - oldest.expect("something is retained")
}

#[test]
fn records_past_retention_are_gone_and_the_census_says_so() {
    // 2 records/s for 25 h, in 10-second ticks to keep the test quick.
    let (mut sim, mut host) = start(scenario(1, 2, &[]));
    run(&mut sim, &mut host, HOUR_MS, 10_000);
    let snap = sim.snapshot();
    assert_eq!(snap.retention_hours, 24);
    assert_eq!(retained(&snap), snap.shards[0].records_accepted);
    assert_eq!(retained(&snap), 7_200);

    run(&mut sim, &mut host, 24 * HOUR_MS, 10_000);
    let snap = sim.snapshot();
    let accepted = snap.shards[0].records_accepted;
    assert_eq!(accepted, 25 * 7_200);
    // A day's records are kept, give or take the tick the census ran in.
    let kept = retained(&snap);
    assert!((172_780..=172_820).contains(&kept), "{kept} retained");
    let age = oldest_age_ms(&snap);
    assert!(age <= 24 * HOUR_MS && age > 24 * HOUR_MS - 10_000, "{age}");

    // An increase keeps what is still inside the old period from now on...
    sim.set_retention(48).unwrap();
    run(&mut sim, &mut host, HOUR_MS, 10_000);
    let snap = sim.snapshot();
    assert_eq!(snap.retention_hours, 48);
    let kept_after = retained(&snap);
    assert!(
        (kept + 7_190..=kept + 7_210).contains(&kept_after),
        "{kept} then {kept_after}"
    );
    // ...and a decrease trims at once.
    sim.set_retention(24).unwrap();
    run(&mut sim, &mut host, 10_000, 10_000);
    let snap = sim.snapshot();
    assert!(oldest_age_ms(&snap) <= 24 * HOUR_MS);
    assert!((172_780..=172_820).contains(&retained(&snap)));

    let err = sim.set_retention(23).unwrap_err().to_string();
    assert!(
        err.contains("Minimum allowed retention period is 24 hours"),
        "{err}"
    );
    assert_eq!(
        sim.snapshot().retention_hours,
        24,
        "a refused change changes nothing"
    );
}

#[test]
fn a_replay_reads_everything_again_parents_before_children() {
    let (mut sim, mut host) = start(scenario(2, 100, &[("dashboard", 1000), ("alerts", 1000)]));
    run(&mut sim, &mut host, 10_000, 100);
    sim.split_shard("shardId-000000000000").unwrap();
    run(&mut sim, &mut host, 10_000, 100);
    let before = sim.snapshot();
    let read = before.consumers[0].delivered;
    assert_eq!(before.consumers[0].redelivered, 0);
    assert!(read > 1_800, "{read}");

    sim.replay_consumer("dashboard", Replay::TrimHorizon)
        .unwrap();
    // The replay starts at the lineage's roots only: the split parent and
    // the untouched shard; the children come once the parent is read.
    let reading = |sim: &Simulation| -> Vec<String> {
        sim.snapshot().consumers[0]
            .shards
            .iter()
            .map(|s| s.shard_id.clone())
            .collect()
    };
    assert_eq!(
        reading(&sim),
        ["shardId-000000000000", "shardId-000000000001"]
    );
    run(&mut sim, &mut host, 10_000, 100);
    assert_eq!(reading(&sim).len(), 4, "{:?}", reading(&sim));
    let after = sim.snapshot();
    let dashboard = &after.consumers[0];
    // Everything read before is read again, then the new records once.
    assert_eq!(dashboard.redelivered, read);
    assert_eq!(dashboard.delivered, read + after.consumers[1].delivered);
    // The other application is not disturbed.
    assert_eq!(after.consumers[1].redelivered, 0);
    // The parent was read again to its end.
    let parent = dashboard
        .shards
        .iter()
        .find(|s| s.shard_id == "shardId-000000000000")
        .unwrap();
    assert!(parent.done);
}

#[test]
fn a_replay_at_a_timestamp_starts_there() {
    let (mut sim, mut host) = start(scenario(2, 100, &[("dashboard", 1000)]));
    run(&mut sim, &mut host, 60_000, 100);
    let read = sim.snapshot().consumers[0].delivered;
    let from = SCENARIO_EPOCH_MS + 50_000;
    sim.replay_consumer("dashboard", Replay::AtTimestamp(from))
        .unwrap();
    run(&mut sim, &mut host, 5_000, 100);
    let snap = sim.snapshot();
    // What it had read of the last 10 s of the first minute (100 records
    // a second), again; records arrive at the end of their 100 ms tick.
    let again = snap.consumers[0].redelivered;
    assert!(
        (read - 5_100..=read - 4_900).contains(&again),
        "{again} of {read}"
    );

    let err = sim
        .replay_consumer("dashboard", Replay::AtTimestamp(snap.now_ms + 1))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot be greater than the currentTimestampInMillis"),
        "{err}"
    );
    let err = sim
        .replay_consumer("reports", Replay::TrimHorizon)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no consumer application named 'reports'"),
        "{err}"
    );
    assert!(err.contains("dashboard"), "{err}");
}

#[test]
fn shards_are_read_in_order_each_but_interleaved_together() {
    let (mut one, mut host) = start(scenario(1, 500, &[("reader", 1000)]));
    run(&mut one, &mut host, 10_000, 100);
    let (mut four, mut host4) = start(scenario(4, 500, &[("reader", 1000)]));
    run(&mut four, &mut host4, 10_000, 100);
    let (one, four) = (one.snapshot(), four.snapshot());
    assert!(one.consumers[0].delivered > 4_000);
    assert_eq!(
        one.consumers[0].out_of_order, 0,
        "one shard keeps one order"
    );
    assert!(four.consumers[0].delivered > 4_000);
    assert!(
        four.consumers[0].out_of_order > 1_000,
        "{}",
        four.consumers[0].out_of_order
    );
}

#[test]
fn slower_polls_fit_the_shared_reads() {
    let apps = [("a", 200), ("b", 200), ("c", 200)];
    let (mut sim, mut host) = start(scenario(1, 300, &apps));
    run(&mut sim, &mut host, 10_000, 100);
    let snap = sim.snapshot();
    assert!(snap.consumers_last_second.throttled >= 8, "{snap:?}");
    for (name, _) in apps {
        sim.set_consumer_poll(name, 1000).unwrap();
    }
    run(&mut sim, &mut host, 5_000, 100);
    let snap = sim.snapshot();
    assert_eq!(snap.consumers_last_second.throttled, 0);
    assert!(snap.consumers.iter().all(|c| c.poll_ms == 1000));
    let err = sim.set_consumer_poll("a", 50).unwrap_err().to_string();
    assert!(err.contains("outside 100..=3600000 ms"), "{err}");
}
