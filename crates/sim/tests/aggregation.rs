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
    s.aggregation = Some(shardlab_sim::aggregation::Aggregation { max_size: 10 });
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
