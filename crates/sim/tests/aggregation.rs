//! KPL-style aggregation end to end: small records that throttle a shard
//! one by one fit when packed; consumers and Firehose unpack them.

use shardlab_sim::sql::SqlStart;
use shardlab_sim::{open_shards, run_tick, InProcessHost, Scenario, Simulation, Snapshot};

fn preset(file: &str) -> Scenario {
    let path = format!(
        "{}/../../static/scenarios/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("preset")).expect("parses")
}

fn run(s: Scenario, ticks: u32) -> Snapshot {
    let mut sim = Simulation::new(s).expect("valid");
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).expect("open");
    for _ in 0..ticks {
        run_tick(&mut sim, &mut host, 100).expect("tick");
    }
    sim.snapshot()
}

#[test]
fn aggregation_turns_a_records_limit_into_a_bytes_limit() {
    let packed = preset("kpl-aggregation.json");
    let mut plain = packed.clone();
    plain.aggregation = None;
    // 10 s of 3,000 records/s into one shard of 1,000 records/s.
    let a = run(packed, 100);
    let b = run(plain, 100);
    assert_eq!(a.records_produced, 30_000);
    assert_eq!(b.records_produced, 30_000);
    // One by one: the shard takes its 1,000 records/s (and a second's
    // burst), refuses the rest.
    let b_throttled: u64 = b.shards.iter().map(|s| s.records_throttled).sum();
    assert!((17_000..=20_500).contains(&b_throttled), "{b_throttled}");
    assert_eq!(b.kinesis_records_put, 30_000);
    // Packed: a few 50 KB records per tick, all accepted (about 450 KB/s
    // of the shard's 1 MiB/s).
    let a_throttled: u64 = a.shards.iter().map(|s| s.records_throttled).sum();
    assert_eq!(a_throttled, 0);
    assert!(
        a.kinesis_records_put <= 30_000 / 100,
        "{}",
        a.kinesis_records_put
    );
    assert!(a.kinesis_records_put >= 100, "{}", a.kinesis_records_put);
    // The consumer unpacks them as the KCL does: every user record, bar
    // the last poll interval's.
    let c = &a.consumers[0];
    assert!(c.delivered <= a.kinesis_records_put);
    assert!(
        (27_000..=30_000).contains(&c.user_records) && c.user_records > 100 * c.delivered,
        "{} user records in {} Kinesis records",
        c.user_records,
        c.delivered
    );
    let d = &b.consumers[0];
    assert_eq!(d.user_records, d.delivered);
}

#[test]
fn firehose_unpacks_aggregated_records_from_its_source() {
    let mut s = preset("clicks-to-s3.json");
    s.aggregation = Some(Default::default());
    let snap = run(s, 70 * 10);
    let ds = &snap.delivery_streams[0];
    // 100 records/s for 70 s: Firehose counts user records, not the few
    // aggregated Kinesis records they came in.
    assert!(
        snap.kinesis_records_put < 1_500,
        "{}",
        snap.kinesis_records_put
    );
    assert!(
        (6_900..=7_000).contains(&ds.accounting.incoming_records),
        "{:?}",
        ds.accounting
    );
}

#[test]
fn sql_applications_say_why_they_do_not_read_aggregated_records() {
    let mut sim = Simulation::new(preset("kpl-aggregation.json")).expect("valid");
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).expect("open");
    run_tick(&mut sim, &mut host, 100).expect("tick");
    let e = sim
        .start_sql(
            "SELECT STREAM * FROM \"SOURCE_SQL_STREAM_001\"",
            SqlStart::Now,
            None,
        )
        .expect_err("refused");
    assert!(e.message.contains("aggregates its records (KPL)"), "{e:?}");
}

#[test]
fn a_bad_aggregation_size_is_refused() {
    let mut s = preset("kpl-aggregation.json");
    s.aggregation = Some(shardlab_sim::aggregation::Aggregation {
        max_size: 10,
        ..Default::default()
    });
    let e = Simulation::new(s).err().expect("refused").to_string();
    assert!(
        e.contains("AggregationMaxSize runs from 64 to 1048576"),
        "{e}"
    );
    let bad: Result<Scenario, _> = serde_json::from_str(
        r#"{"stream_name": "s", "shard_count": 1, "seed": 1, "rate_per_sec": 1,
            "aggregation": {"MaxSize": 100}}"#,
    );
    assert!(bad
        .unwrap_err()
        .to_string()
        .contains("unknown field `MaxSize`"));
}

fn kpl(settings: serde_json::Value) -> Scenario {
    let mut s = preset("kpl-aggregation.json");
    s.consumers.clear();
    s.aggregation = Some(serde_json::from_value(settings).expect("KPL settings"));
    s
}

fn throttled(s: &Snapshot) -> u64 {
    s.shards.iter().map(|s| s.records_throttled).sum()
}

fn accepted_bytes(s: &Snapshot) -> u64 {
    s.shards.iter().map(|s| s.bytes_accepted).sum()
}

#[test]
fn the_kpl_rate_limit_holds_records_back_until_their_ttl() {
    // 3,000 records/s of about 160 bytes, packed: about 480 KB/s, over 30%
    // of the shard's 1 MiB/s (315 KB/s). The limiter holds the rest back,
    // so the shard throttles nothing; what waits longer than its RecordTtl
    // fails.
    let s = run(
        kpl(serde_json::json!({"RateLimit": 30, "RecordTtl": 2000})),
        100,
    );
    assert_eq!(throttled(&s), 0);
    let limit = 1_048_576 * 30 / 100;
    // At most the limit per second, and a second's worth at the start.
    let bytes = accepted_bytes(&s);
    assert!(bytes <= 11 * limit, "{bytes} bytes in 10 s");
    assert!(bytes >= 9 * limit, "{bytes} bytes in 10 s");
    assert!(s.records_held > 0, "{s:?}");
    assert!(s.records_failed > 0, "{}", s.records_failed);
    // Every Kinesis record made was sent, is held, or failed.
    let sent: u64 = s.shards.iter().map(|s| s.records_accepted).sum();
    assert_eq!(
        sent + s.records_held + s.records_failed,
        s.kinesis_records_put
    );
    // At the default 150% nothing is held: 480 KB/s is within it.
    let d = run(kpl(serde_json::json!({})), 100);
    assert_eq!((d.records_held, d.records_failed, throttled(&d)), (0, 0, 0));
}

#[test]
fn the_kpl_sends_throttled_records_again_unless_fail_if_throttled() {
    // Containers of one record (AggregationMaxSize 64): 3,000 Kinesis
    // records/s into one shard of 1,000 records/s. The rate limit (150%)
    // lets 1,500 a second go; the shard throttles a third of them.
    let base = serde_json::json!({"AggregationMaxSize": 64});
    let s = run(kpl(base.clone()), 50);
    assert_eq!(s.kinesis_records_put, 15_000);
    assert!(throttled(&s) > 2_000, "{}", throttled(&s));
    // Sent again with the next batch, within RecordTtl (30 s): none lost
    // yet; each is accepted, waiting to be sent again, or held back by the
    // rate limit.
    assert!(s.records_retried > 2_000, "{}", s.records_retried);
    assert_eq!(s.records_failed, 0);
    assert!(s.records_held > 0);
    let sent: u64 = s.shards.iter().map(|s| s.records_accepted).sum();
    assert_eq!(
        sent + s.records_awaiting_retry + s.records_held,
        s.kinesis_records_put
    );
    // No more than 1,500 sends a second (and a second's worth at first).
    let sends = sent + throttled(&s);
    assert!(sends <= 6 * 1_500, "{sends}");
    // Past RecordTtl, the backlog fails.
    let mut short = base.clone();
    short["RecordTtl"] = 1000.into();
    let t = run(kpl(short), 50);
    assert!(t.records_failed > 1_000, "{}", t.records_failed);
    // FailIfThrottled: each throttled record fails at once.
    let mut fail = base;
    fail["FailIfThrottled"] = true.into();
    let f = run(kpl(fail), 50);
    assert_eq!(f.records_retried, 0);
    assert_eq!(f.records_failed, throttled(&f));
    let sent: u64 = f.shards.iter().map(|s| s.records_accepted).sum();
    assert_eq!(
        sent + f.records_failed + f.records_held,
        f.kinesis_records_put
    );
}

#[test]
fn kpl_settings_are_checked() {
    for (settings, says) in [
        (
            serde_json::json!({"RateLimit": 0}),
            "RateLimit runs from 1 to 100000",
        ),
        (
            serde_json::json!({"RecordTtl": 50}),
            "RecordTtl runs from 100 to 604800000 ms",
        ),
    ] {
        let e = Simulation::new(kpl(settings))
            .err()
            .expect("refused")
            .to_string();
        assert!(e.contains(says), "{e}");
    }
    let mut s = kpl(serde_json::json!({}));
    s.retries = Some(Default::default());
    let e = Simulation::new(s).err().expect("refused").to_string();
    assert!(e.contains("leave out retries"), "{e}");
    // Default settings are left out when written.
    let written = serde_json::to_value(kpl(serde_json::json!({"RecordTtl": 30000}))).unwrap();
    assert_eq!(
        written["aggregation"],
        serde_json::json!({"AggregationMaxSize": 51200})
    );
}
