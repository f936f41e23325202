//! Calls from the in-page SDK console: the Kinesis API on the playground's
//! stream, answered as the endpoint answers, in step with the simulation.

use serde_json::{json, Value};
use shardlab_sim::host::start_in_process;
use shardlab_sim::simulation::ApiReply;
use shardlab_sim::{run_tick, InProcessHost, Scenario, Simulation};

fn stream() -> (Simulation, InProcessHost) {
    let scenario: Scenario = serde_json::from_value(json!({
        "stream_name": "console", "shard_count": 2, "seed": 1, "rate_per_sec": 0
    }))
    .unwrap();
    start_in_process(scenario).unwrap()
}

/// One call, answered now or after an empty tick (as a paused playground
/// runs one for it).
fn call(sim: &mut Simulation, host: &mut InProcessHost, op: &str, body: Value) -> (u16, Value) {
    let reply = match sim.api_call(7, op, body.to_string().as_bytes()) {
        Some(reply) => reply,
        None => {
            assert!(sim.api_calls_waiting());
            run_tick(sim, host, 0).unwrap();
            let mut replies = sim.take_api_replies();
            assert_eq!(replies.len(), 1, "{replies:?}");
            replies.remove(0)
        }
    };
    let ApiReply { id, status, body } = reply;
    assert_eq!(id, 7);
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&body).unwrap()
    };
    (status, value)
}

#[test]
fn the_console_puts_and_gets_records_on_the_playgrounds_stream() {
    let (mut sim, mut host) = stream();
    let (status, summary) = call(
        &mut sim,
        &mut host,
        "DescribeStreamSummary",
        json!({"StreamName": "console"}),
    );
    assert_eq!(status, 200);
    assert_eq!(summary["StreamDescriptionSummary"]["OpenShardCount"], 2);

    let (status, put) = call(
        &mut sim,
        &mut host,
        "PutRecord",
        json!({"StreamName": "console", "PartitionKey": "k", "Data": "aGVsbG8="}),
    );
    assert_eq!(status, 200, "{put}");
    let shard = put["ShardId"].as_str().unwrap().to_string();
    // The shard's row counts it, as it counts the producer's.
    let row = sim
        .snapshot()
        .shards
        .into_iter()
        .find(|s| s.shard_id == shard)
        .unwrap();
    assert_eq!(row.records_accepted, 1);
    assert_eq!(
        row.latest_sequence_number.as_deref(),
        put["SequenceNumber"].as_str()
    );

    let (_, it) = call(
        &mut sim,
        &mut host,
        "GetShardIterator",
        json!({"StreamName": "console", "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
    );
    let (status, got) = call(
        &mut sim,
        &mut host,
        "GetRecords",
        json!({"ShardIterator": it["ShardIterator"]}),
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["Records"][0]["Data"], "aGVsbG8=");
    assert_eq!(got["Records"][0]["PartitionKey"], "k");
}

#[test]
fn bad_calls_get_aws_errors_and_managed_ones_say_why() {
    let (mut sim, mut host) = stream();
    let (status, e) = call(
        &mut sim,
        &mut host,
        "DescribeStream",
        json!({"StreamName": "nope"}),
    );
    assert_eq!(
        (status, e["__type"].as_str()),
        (400, Some("ResourceNotFoundException"))
    );
    let (status, e) = call(
        &mut sim,
        &mut host,
        "PutRecord",
        json!({"StreamName": "console", "PartitionKey": "", "Data": "aA=="}),
    );
    assert_eq!(
        (status, e["__type"].as_str()),
        (400, Some("ValidationException")),
        "{e}"
    );
    let (_, e) = call(&mut sim, &mut host, "Frobnicate", json!({}));
    assert_eq!(e["__type"], "UnknownOperationException");
    let (status, e) = call(&mut sim, &mut host, "SplitShard", json!({}));
    assert_eq!(status, 400);
    assert_eq!(e["__type"], "InvalidArgumentException");
    assert!(
        e["message"].as_str().unwrap().contains("use its controls"),
        "{e}"
    );
    let reply = sim.api_call(8, "PutRecord", b"{not json").unwrap();
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("SerializationException"), "{reply:?}");
}

#[test]
fn calls_left_waiting_by_a_failed_tick_are_answered_with_an_error() {
    let (mut sim, _host) = stream();
    let body = json!({"StreamName": "console", "PartitionKey": "k", "Data": "aA=="}).to_string();
    assert!(sim.api_call(9, "PutRecord", body.as_bytes()).is_none());
    assert!(sim.api_calls_waiting());
    let replies = sim.abandon_api_calls();
    assert_eq!(replies.len(), 1);
    assert_eq!((replies[0].id, replies[0].status), (9, 500));
    assert!(replies[0].body.contains("InternalFailure"), "{replies:?}");
    assert!(!sim.api_calls_waiting());
}

#[test]
fn console_puts_over_the_limit_are_throttled_and_counted_on_their_shards() {
    let (mut sim, mut host) = stream();
    // 3,000 records of 3 bytes with 2-byte keys on two shards (1,000
    // records/s each), all at one instant: PutRecords takes 500 at a time.
    let mut accepted = 0;
    let mut throttled = 0;
    for call in 0..6 {
        let records: Vec<Value> = (0..500)
            .map(|i| json!({"PartitionKey": format!("{:02}", (call * 500 + i) % 100), "Data": "YWJj"}))
            .collect();
        let (status, out) = call_put(&mut sim, &mut host, records);
        assert_eq!(status, 200, "{out}");
        let failed = out["FailedRecordCount"].as_u64().unwrap();
        throttled += failed;
        accepted += 500 - failed;
    }
    let rows = sim.snapshot().shards;
    assert_eq!(
        rows.iter().map(|s| s.records_accepted).sum::<u64>(),
        accepted
    );
    assert_eq!(
        rows.iter().map(|s| s.records_throttled).sum::<u64>(),
        throttled
    );
    assert!(
        throttled >= 1000,
        "3,000 records at once on two shards: {throttled} throttled"
    );
    assert_eq!(
        rows.iter().map(|s| s.bytes_accepted).sum::<u64>(),
        accepted * 5
    );
}

fn call_put(sim: &mut Simulation, host: &mut InProcessHost, records: Vec<Value>) -> (u16, Value) {
    call(
        sim,
        host,
        "PutRecords",
        json!({"StreamName": "console", "Records": records}),
    )
}
