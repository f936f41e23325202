//! Several producers on one stream: each with its own rate, keys, shape
//! and records, each making PutRecords calls of its own.

use base64::Engine;
use serde_json::{json, Value};
use shardlab_sim::host::start_in_process;
use shardlab_sim::simulation::ApiReply;
use shardlab_sim::{run_tick, InProcessHost, Scenario, Simulation, Snapshot};

fn scenario(more: Value) -> Scenario {
    serde_json::from_value(json!({
        "stream_name": "shared", "shard_count": 4, "seed": 11, "rate_per_sec": 200,
        "producers": more
    }))
    .unwrap()
}

fn run(s: Scenario, ticks: u32) -> (Simulation, InProcessHost, Snapshot) {
    let (mut sim, mut host) = start_in_process(s).expect("starts");
    for _ in 0..ticks {
        run_tick(&mut sim, &mut host, 100).expect("tick");
    }
    let snap = sim.snapshot();
    (sim, host, snap)
}

/// Every record each shard keeps, as (partition key, data).
fn stored(sim: &mut Simulation, host: &mut InProcessHost) -> Vec<(String, String)> {
    let mut call = |op: &str, body: Value| -> Value {
        let reply = match sim.api_call(1, op, body.to_string().as_bytes()) {
            Some(r) => r,
            None => {
                run_tick(sim, host, 0).unwrap();
                sim.take_api_replies().remove(0)
            }
        };
        let ApiReply { status, body, .. } = reply;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    };
    let mut out = Vec::new();
    for shard in 0..4 {
        let it = call(
            "GetShardIterator",
            json!({"StreamName": "shared", "ShardId": format!("shardId-{shard:012}"),
                   "ShardIteratorType": "TRIM_HORIZON"}),
        );
        let got = call(
            "GetRecords",
            json!({"ShardIterator": it["ShardIterator"], "Limit": 10000}),
        );
        for r in got["Records"].as_array().unwrap() {
            let data = base64::engine::general_purpose::STANDARD
                .decode(r["Data"].as_str().unwrap())
                .unwrap();
            out.push((
                r["PartitionKey"].as_str().unwrap().to_string(),
                String::from_utf8(data).unwrap(),
            ));
        }
    }
    out
}

/// A scenario with these more producers is refused, saying `says`.
fn assert_refused(more: Value, says: &str) {
    let e = Simulation::new(scenario(more))
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains(says), "{e}");
}

#[test]
fn each_producer_sends_its_own_records_at_its_own_rate() {
    let s = scenario(json!([
        {"name": "orders", "rate_per_sec": 50,
         "keys": {"type": "Entities", "count": 10},
         "record_template": "{\"order\": {{random.number(999)}}, \"from\": \"orders\"}"},
        {"name": "sensors", "rate_per_sec": 20, "rate_shape": {"type": "Poisson"}}
    ]));
    let (mut sim, mut host, snap) = run(s.clone(), 30);
    let names: Vec<(&str, u64)> = snap
        .producers
        .iter()
        .map(|p| (p.name.as_str(), p.rate_per_sec))
        .collect();
    assert_eq!(
        names,
        [("producer-0", 200), ("orders", 50), ("sensors", 20)]
    );
    assert_eq!(snap.producers[0].produced, 600);
    assert_eq!(snap.producers[1].produced, 150);
    // Poisson arrivals: about 60 in 3 s.
    assert!((35..=90).contains(&snap.producers[2].produced), "{snap:?}");
    let total: u64 = snap.producers.iter().map(|p| p.produced).sum();
    assert_eq!(snap.records_produced, total);
    assert_eq!(snap.kinesis_records_put, total);
    let records = stored(&mut sim, &mut host);
    assert_eq!(records.len() as u64, total);
    // The orders producer's records, with its keys.
    let orders: Vec<&(String, String)> = records
        .iter()
        .filter(|(_, d)| d.contains("\"from\": \"orders\""))
        .collect();
    assert_eq!(orders.len(), 150);
    assert!(orders.iter().all(|(k, _)| k.starts_with("user-")));
    // The same scenario, the same run.
    let (_, _, again) = run(s, 30);
    assert_eq!(again.digest, snap.digest);
}

#[test]
fn another_producer_leaves_the_first_ones_records_as_they_were() {
    let alone = scenario(json!([]));
    let (mut sim, mut host, a) = run(alone, 20);
    let with = scenario(json!([{"name": "noisy", "rate_per_sec": 100,
        "record_template": "{\"noisy\": true}"}]));
    let (mut sim2, mut host2, b) = run(with, 20);
    assert_eq!(a.producers.len(), 1);
    assert_ne!(a.digest, b.digest);
    let mut first: Vec<(String, String)> = stored(&mut sim, &mut host);
    let mut second: Vec<(String, String)> = stored(&mut sim2, &mut host2)
        .into_iter()
        .filter(|(_, d)| !d.contains("noisy"))
        .collect();
    first.sort();
    second.sort();
    assert_eq!(first, second);
}

#[test]
fn a_noisy_neighbour_with_one_hot_key_throttles_one_shard() {
    // The first producer spreads 200 records/s; a second sends 1,500/s on
    // one key: its shard is over 1,000 records/s, the others are not.
    let s = scenario(json!([{"name": "hot", "rate_per_sec": 1500,
        "keys": {"type": "HotKey", "percent": 100}}]));
    let (_, _, snap) = run(s, 30);
    let throttled: Vec<u64> = snap.shards.iter().map(|s| s.records_throttled).collect();
    assert_eq!(
        throttled.iter().filter(|t| **t > 0).count(),
        1,
        "{throttled:?}"
    );
}

#[test]
fn bad_producers_are_refused_naming_them() {
    for (more, says) in [
        (
            json!([{"name": "a b", "rate_per_sec": 1}]),
            "producers[0]: the name 'a b' must be 1 to 64 letters",
        ),
        (
            json!([{"name": "producer-0", "rate_per_sec": 1}]),
            "producer-0 is the scenario's own producer",
        ),
        (
            json!([{"name": "x", "rate_per_sec": 1}, {"name": "x", "rate_per_sec": 1}]),
            "producers[1]: there is already a producer named x",
        ),
        (
            json!([{"name": "x", "rate_per_sec": 99_900}]),
            "the producers' rates add up to 100100 records/s",
        ),
        (
            json!([{"name": "x", "rate_per_sec": 1, "record_template": "{{name.frstName}}"}]),
            "producers[0] (x): record template",
        ),
        (
            json!([{"name": "x", "rate_per_sec": 1, "keys": {"type": "HotKey", "percent": 101}}]),
            "producers[0] (x): a hot key carries 0 to 100 percent",
        ),
    ] {
        assert_refused(more, says);
    }
    let many: Vec<Value> = (1..9)
        .map(|i| json!({"name": format!("p{i}"), "rate_per_sec": 1}))
        .collect();
    assert_refused(
        Value::Array(many),
        "9 producers; the playground runs at most 8",
    );
}

#[test]
fn a_producers_rate_changes_by_name_from_the_next_millisecond() {
    let s = scenario(json!([{"name": "noisy", "rate_per_sec": 1000}]));
    let (mut sim, mut host) = start_in_process(s).expect("starts");
    for _ in 0..10 {
        run_tick(&mut sim, &mut host, 100).unwrap();
    }
    sim.set_producer_rate(Some("noisy"), 0).unwrap();
    sim.set_producer_rate(Some("producer-0"), 100).unwrap();
    for _ in 0..10 {
        run_tick(&mut sim, &mut host, 100).unwrap();
    }
    let snap = sim.snapshot();
    assert_eq!(snap.producers[1].produced, 1000);
    assert_eq!(snap.producers[1].rate_per_sec, 0);
    assert_eq!(snap.producers[0].produced, 200 + 100);
    let e = sim
        .set_producer_rate(Some("quiet"), 5)
        .unwrap_err()
        .to_string();
    assert!(e.contains("there is no producer named quiet"), "{e}");
    let e = sim
        .set_producer_rate(Some("noisy"), 99_950)
        .unwrap_err()
        .to_string();
    assert!(e.contains("would add up to 100050 records/s"), "{e}");
    // producer-0's rate counts the others too.
    sim.set_producer_rate(Some("noisy"), 99_000).unwrap();
    let e = sim.set_rate(1_001).unwrap_err().to_string();
    assert!(e.contains("would add up to 100001"), "{e}");
}

#[test]
fn padded_records_make_the_bytes_limit_bind_before_the_records_limit() {
    // 600 records/s of 2,000 bytes into one shard: 1.2 MB/s, over its
    // 1 MiB/s though under its 1,000 records/s.
    let s: Scenario = serde_json::from_value(json!({
        "stream_name": "shared", "shard_count": 1, "seed": 3, "rate_per_sec": 600,
        "record_size_bytes": 2000
    }))
    .unwrap();
    let first = s.first_records(20).unwrap();
    for r in &first {
        assert_eq!(r.data.len(), 2000);
        let v: Value = serde_json::from_slice(&r.data).unwrap();
        assert!(v["pad"].as_str().unwrap().bytes().all(|b| b == b'x'));
        assert!(v["event_id"].is_u64());
    }
    // 10 s: the shard's second of burst is spent after about 6.
    let (_, _, snap) = run(s, 100);
    let shard = &snap.shards[0];
    assert!(shard.records_throttled > 0, "{shard:?}");
    assert!(shard.records_accepted < 6_000, "{shard:?}");
    // What got in is 1 MiB/s and a second's burst, at most.
    assert!(shard.bytes_accepted <= 11 * 1_048_576, "{shard:?}");
}

#[test]
fn a_fixed_set_of_keys_and_record_sizes_are_checked() {
    let s = scenario(json!([{"name": "stores", "rate_per_sec": 300,
        "keys": {"type": "Fixed", "keys": ["store-1", "store-2", "store-3"]}}]));
    let (mut sim, mut host, _) = run(s, 10);
    let keys: std::collections::BTreeSet<String> = stored(&mut sim, &mut host)
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("store-"))
        .collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
    let long = "k".repeat(257);
    for (more, says) in [
        (
            json!([{"name": "x", "rate_per_sec": 1, "keys": {"type": "Fixed", "keys": []}}]),
            "a fixed set needs 1 to 10000 keys, not 0",
        ),
        (
            json!([{"name": "x", "rate_per_sec": 1, "keys": {"type": "Fixed", "keys": [long]}}]),
            "has 257 characters; Kinesis takes 1 to 256",
        ),
        (
            json!([{"name": "x", "rate_per_sec": 1, "record_size_bytes": 100}]),
            "record_size_bytes runs from 200 to 1048320",
        ),
        (
            json!([{"name": "x", "rate_per_sec": 1, "record_size_bytes": 500,
                    "record_template": "{}"}]),
            "a record template or an agent's file makes records of its own size",
        ),
    ] {
        assert_refused(more, says);
    }
}
