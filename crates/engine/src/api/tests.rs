//! The API against the cases captured from AWS (see
//! ../shared/reference/kinesis-data-streams.md §6.3) and the behaviour the
//! reference describes.

use serde_json::{json, Value};

use super::*;

const T0: u64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const A: &str = "123456789012";

fn kinesis() -> Kinesis {
    Kinesis::new(KinesisConfig::default())
}

fn ok(k: &mut Kinesis, op: &str, body: Value, now: u64) -> Value {
    k.call(op, &body, now)
        .unwrap_or_else(|e| panic!("{op} {body} failed: {e}"))
}

fn err(k: &mut Kinesis, op: &str, body: Value, now: u64) -> ApiError {
    match k.call(op, &body, now) {
        Ok(v) => panic!("{op} {body} succeeded with {v}"),
        Err(e) => e,
    }
}

fn create(k: &mut Kinesis, name: &str, shards: u32) {
    assert_eq!(
        ok(
            k,
            "CreateStream",
            json!({"StreamName": name, "ShardCount": shards}),
            T0
        ),
        Value::Null
    );
}

fn create_on_demand(k: &mut Kinesis, name: &str) {
    let body = json!({"StreamName": name, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}});
    assert_eq!(ok(k, "CreateStream", body, T0), Value::Null);
}

fn b64(s: &str) -> String {
    BASE64.encode(s)
}

fn put(k: &mut Kinesis, name: &str, key: &str, data: &str, now: u64) -> Value {
    ok(
        k,
        "PutRecord",
        json!({"StreamName": name, "PartitionKey": key, "Data": b64(data)}),
        now,
    )
}

fn iterator(k: &mut Kinesis, name: &str, shard: &str, kind: &str, now: u64) -> String {
    ok(
        k,
        "GetShardIterator",
        json!({"StreamName": name, "ShardId": shard, "ShardIteratorType": kind}),
        now,
    )["ShardIterator"]
        .as_str()
        .unwrap()
        .to_string()
}

fn records(v: &Value) -> Vec<String> {
    v["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| String::from_utf8(BASE64.decode(r["Data"].as_str().unwrap()).unwrap()).unwrap())
        .collect()
}

/// Reads a shard from TRIM_HORIZON to its end (or until it is empty).
fn read_all(k: &mut Kinesis, name: &str, shard: &str, now: u64) -> (Vec<String>, Value) {
    let mut it = iterator(k, name, shard, "TRIM_HORIZON", now);
    let mut out = Vec::new();
    let mut t = now;
    loop {
        t += 250; // within 5 GetRecords/s
        let r = ok(k, "GetRecords", json!({"ShardIterator": it}), t);
        let got = records(&r);
        let empty = got.is_empty();
        out.extend(got);
        match r["NextShardIterator"].as_str() {
            Some(next) if !empty => it = next.to_string(),
            _ => return (out, r),
        }
    }
}

#[test]
fn create_stream_validation_matches_aws() {
    let mut k = kinesis();
    let e = err(&mut k, "CreateStream", json!({}), T0);
    assert_eq!(e.name(), "ValidationException");
    assert!(e.message().starts_with("2 validation errors detected: "));
    assert!(e.message().contains(
        "Value null at 'streamName' failed to satisfy constraint: Member must not be null"
    ));
    assert!(e.message().contains(
        "Value null at 'shardCount' failed to satisfy constraint: Member must not be null"
    ));
    let e = err(
        &mut k,
        "CreateStream",
        json!({"StreamName": "", "ShardCount": 0}),
        T0,
    );
    assert!(
        e.message().starts_with("3 validation errors detected: "),
        "{e}"
    );
    let e = err(
        &mut k,
        "CreateStream",
        json!({"StreamName": "a".repeat(129), "ShardCount": 100_000_000_000u64}),
        T0,
    );
    assert!(e.message().contains("Value '2147483647' at 'shardCount' failed to satisfy constraint: Member must have value less than or equal to 100000"), "{e}");
    assert!(e
        .message()
        .contains("Member must have length less than or equal to 128"));
    let e = err(
        &mut k,
        "CreateStream",
        json!({"StreamName": 5, "ShardCount": 1}),
        T0,
    );
    assert_eq!(e.name(), "SerializationException");
}

#[test]
fn create_describe_and_the_even_split() {
    let mut k = kinesis();
    create(&mut k, "s", 3);
    let e = err(
        &mut k,
        "CreateStream",
        json!({"StreamName": "s", "ShardCount": 1}),
        T0,
    );
    assert_eq!(
        e,
        ApiError::ResourceInUse(format!("Stream s under account {A} already exists."))
    );
    let d = ok(&mut k, "DescribeStream", json!({"StreamName": "s"}), T0);
    let d = &d["StreamDescription"];
    assert_eq!(d["StreamStatus"], "ACTIVE");
    assert_eq!(
        d["StreamARN"],
        format!("arn:aws:kinesis:us-east-1:{A}:stream/s")
    );
    assert_eq!(d["RetentionPeriodHours"], 24);
    assert_eq!(d["EncryptionType"], "NONE");
    assert_eq!(d["EnhancedMonitoring"], json!([{"ShardLevelMetrics": []}]));
    assert_eq!(d["HasMoreShards"], false);
    let shards = d["Shards"].as_array().unwrap();
    let ranges: Vec<(&str, &str)> = shards
        .iter()
        .map(|s| {
            (
                s["HashKeyRange"]["StartingHashKey"].as_str().unwrap(),
                s["HashKeyRange"]["EndingHashKey"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ranges,
        [
            ("0", "113427455640312821154458202477256070484"),
            (
                "113427455640312821154458202477256070485",
                "226854911280625642308916404954512140969"
            ),
            (
                "226854911280625642308916404954512140970",
                "340282366920938463463374607431768211455"
            ),
        ]
    );
    for (i, s) in shards.iter().enumerate() {
        let n = s["SequenceNumberRange"]["StartingSequenceNumber"]
            .as_str()
            .unwrap();
        assert_eq!(n.len(), 56);
        assert!(s["SequenceNumberRange"]
            .get("EndingSequenceNumber")
            .is_none());
        // (The constant difference between neighbours is checked in sequence_number.rs.)
        assert_eq!(SequenceNumber::parse(n).unwrap().shard_index, i as u32);
    }
    let sum = ok(
        &mut k,
        "DescribeStreamSummary",
        json!({"StreamName": "s"}),
        T0,
    );
    assert_eq!(sum["StreamDescriptionSummary"]["OpenShardCount"], 3);
    assert_eq!(sum["StreamDescriptionSummary"]["ConsumerCount"], 0);
}

#[test]
fn creating_streams_are_not_usable_until_active() {
    let mut k = Kinesis::new(KinesisConfig {
        transition_ms: 500,
        ..KinesisConfig::default()
    });
    create(&mut k, "s", 3);
    let d = ok(&mut k, "DescribeStream", json!({"StreamName": "s"}), T0);
    assert_eq!(d["StreamDescription"]["StreamStatus"], "CREATING");
    assert_eq!(d["StreamDescription"]["Shards"], json!([]));
    let e = err(
        &mut k,
        "PutRecord",
        json!({"StreamName": "s", "PartitionKey": "a", "Data": ""}),
        T0,
    );
    assert_eq!(
        e,
        ApiError::ResourceNotFound(format!("Stream s under account {A} not found."))
    );
    let e = err(
        &mut k,
        "GetShardIterator",
        json!({"StreamName": "s", "ShardId": "shardId-0", "ShardIteratorType": "LATEST"}),
        T0,
    );
    assert_eq!(
        e.message(),
        format!("Shard shardId-000000000000 in stream s under account {A} does not exist")
    );
    let e = err(
        &mut k,
        "SplitShard",
        json!({"StreamName": "s", "ShardToSplit": "shardId-0", "NewStartingHashKey": "2"}),
        T0,
    );
    assert_eq!(
        e.message(),
        format!("Stream s under account {A} not ACTIVE, instead in state CREATING")
    );
    let d = ok(
        &mut k,
        "DescribeStream",
        json!({"StreamName": "s"}),
        T0 + 500,
    );
    assert_eq!(d["StreamDescription"]["StreamStatus"], "ACTIVE");
    assert_eq!(
        d["StreamDescription"]["Shards"].as_array().unwrap().len(),
        3
    );
    // DeleteStream: DELETING, then gone.
    ok(&mut k, "DeleteStream", json!({"StreamName": "s"}), T0 + 600);
    let d = ok(
        &mut k,
        "DescribeStream",
        json!({"StreamName": "s"}),
        T0 + 700,
    );
    assert_eq!(d["StreamDescription"]["StreamStatus"], "DELETING");
    let e = err(
        &mut k,
        "DescribeStream",
        json!({"StreamName": "s"}),
        T0 + 1100,
    );
    assert_eq!(e.name(), "ResourceNotFoundException");
}

#[test]
fn puts_route_by_md5_and_explicit_hash_key() {
    let mut k = kinesis();
    create(&mut k, "s", 3);
    let shard_of = |v: Value| v["ShardId"].as_str().unwrap().to_string();
    assert_eq!(
        shard_of(put(&mut k, "s", "a", "1", T0)),
        "shardId-000000000000"
    );
    assert_eq!(
        shard_of(put(&mut k, "s", "b", "1", T0)),
        "shardId-000000000001"
    );
    assert_eq!(
        shard_of(put(&mut k, "s", "e", "1", T0)),
        "shardId-000000000002"
    );
    assert_eq!(
        shard_of(put(&mut k, "s", "f", "1", T0)),
        "shardId-000000000001"
    );
    let third = u128::MAX / 3; // floor(2^128 / 3), as 2^128 - 1 is divisible by 3
    let cases = [
        (u128::MAX.to_string(), "shardId-000000000002"),
        ((2 * third - 1).to_string(), "shardId-000000000001"),
        ((2 * third).to_string(), "shardId-000000000002"),
    ];
    for (ehk, want) in cases {
        let v = ok(
            &mut k,
            "PutRecord",
            json!({"StreamName": "s", "PartitionKey": "a", "Data": "", "ExplicitHashKey": ehk}),
            T0,
        );
        assert_eq!(shard_of(v), want);
    }
    let e = err(
        &mut k,
        "PutRecord",
        json!({"StreamName": "s", "PartitionKey": "a", "Data": "", "ExplicitHashKey": "340282366920938463463374607431768211456"}),
        T0,
    );
    assert_eq!(e, ApiError::InvalidArgument("Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was 340282366920938463463374607431768211456".into()));
    let e = err(
        &mut k,
        "PutRecord",
        json!({"StreamName": "nope", "PartitionKey": "a", "Data": ""}),
        T0,
    );
    assert_eq!(
        e.message(),
        format!("Stream nope under account {A} not found.")
    );
    let e = err(&mut k, "PutRecord", json!({}), T0);
    assert!(
        e.message().starts_with("3 validation errors detected"),
        "{e}"
    );
    let e = err(
        &mut k,
        "PutRecord",
        json!({"StreamName": "s", "PartitionKey": "k".repeat(257), "Data": BASE64.encode(vec![0u8; 1_048_577])}),
        T0,
    );
    assert!(e.message().contains("Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 cap=1048577]' at 'data' failed to satisfy constraint: Member must have length less than or equal to 1048576"), "{e}");
    assert!(e.message().contains("at 'partitionKey' failed to satisfy constraint: Member must have length less than or equal to 256"));
}

#[test]
fn put_records_keeps_request_order_and_fails_whole_requests_for_bad_entries() {
    let mut k = kinesis();
    create(&mut k, "s", 3);
    let third = u128::MAX / 3;
    let mut entries: Vec<Value> = ["a", "b", "e", "f"]
        .iter()
        .map(|key| json!({"PartitionKey": key, "Data": b64("x")}))
        .collect();
    for ehk in [u128::MAX, 2 * third - 1, 2 * third] {
        entries.push(
            json!({"PartitionKey": "a", "Data": b64("x"), "ExplicitHashKey": ehk.to_string()}),
        );
    }
    let r = ok(
        &mut k,
        "PutRecords",
        json!({"StreamName": "s", "Records": entries}),
        T0,
    );
    assert_eq!(r["FailedRecordCount"], 0);
    let shards: Vec<&str> = r["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["ShardId"].as_str().unwrap()[19..])
        .collect();
    assert_eq!(shards, ["0", "1", "2", "1", "2", "1", "2"]);
    // Within a shard, sequence numbers follow request order.
    let seqs: Vec<(String, SequenceNumber)> = r["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["ShardId"].as_str().unwrap().to_string(),
                SequenceNumber::parse(e["SequenceNumber"].as_str().unwrap()).unwrap(),
            )
        })
        .collect();
    for w in seqs.windows(2) {
        for later in seqs.iter().skip_while(|x| x.1 != w[0].1).skip(1) {
            if later.0 == w[0].0 {
                assert_eq!(later.1.sequence_index, w[0].1.sequence_index + 1);
                break;
            }
        }
    }
    let e = err(
        &mut k,
        "PutRecords",
        json!({"StreamName": "s", "Records": []}),
        T0,
    );
    assert!(e.message().contains("Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1"));
    let many: Vec<Value> = (0..501)
        .map(|_| json!({"PartitionKey": "", "Data": ""}))
        .collect();
    let e = err(
        &mut k,
        "PutRecords",
        json!({"StreamName": "s", "Records": many}),
        T0,
    );
    assert!(e
        .message()
        .contains("Member must have length less than or equal to 500"));
    assert_eq!(
        e.message().matches("; ").count(),
        9,
        "at most 10 clauses: {e}"
    );
    assert!(e.message().contains("records.1.member.partitionKey"));
    let bad = json!([
        {"PartitionKey": "a", "Data": ""},
        {"PartitionKey": "a", "Data": "", "ExplicitHashKey": "340282366920938463463374607431768211456"}
    ]);
    let before = ok(
        &mut k,
        "DescribeStreamSummary",
        json!({"StreamName": "s"}),
        T0,
    );
    let e = err(
        &mut k,
        "PutRecords",
        json!({"StreamName": "s", "Records": bad}),
        T0,
    );
    assert_eq!(e.name(), "InvalidArgumentException");
    // Nothing of the failed request was written.
    let (shard0, _) = read_all(&mut k, "s", "shardId-000000000000", T0);
    assert_eq!(shard0.len(), 1);
    let _ = before;
}

#[test]
fn throttling_is_per_record_with_aws_messages() {
    let mut k = kinesis();
    create(&mut k, "s", 1);
    let entries: Vec<Value> = (0..500)
        .map(|i| json!({"PartitionKey": format!("k{i}"), "Data": b64("x")}))
        .collect();
    let r1 = ok(
        &mut k,
        "PutRecords",
        json!({"StreamName": "s", "Records": entries.clone()}),
        T0,
    );
    let r2 = ok(
        &mut k,
        "PutRecords",
        json!({"StreamName": "s", "Records": entries.clone()}),
        T0,
    );
    let r3 = ok(
        &mut k,
        "PutRecords",
        json!({"StreamName": "s", "Records": entries}),
        T0,
    );
    assert_eq!(r1["FailedRecordCount"], 0);
    assert_eq!(r2["FailedRecordCount"], 0);
    assert_eq!(r3["FailedRecordCount"], 500);
    assert_eq!(
        r3["Records"][0]["ErrorCode"],
        "ProvisionedThroughputExceededException"
    );
    assert_eq!(
        r3["Records"][0]["ErrorMessage"],
        format!("Rate exceeded for shard shardId-000000000000 in stream s under account {A}.")
    );
    let e = err(
        &mut k,
        "PutRecord",
        json!({"StreamName": "s", "PartitionKey": "a", "Data": ""}),
        T0,
    );
    assert_eq!(e.name(), "ProvisionedThroughputExceededException");
    // A second later the shard takes writes again.
    put(&mut k, "s", "a", "again", T0 + 1000);
    // With limits off, nothing is throttled.
    let mut k = Kinesis::new(KinesisConfig {
        enforce_limits: false,
        ..KinesisConfig::default()
    });
    create(&mut k, "s", 1);
    for _ in 0..5 {
        let entries: Vec<Value> = (0..500)
            .map(|i| json!({"PartitionKey": format!("k{i}"), "Data": b64("x")}))
            .collect();
        let r = ok(
            &mut k,
            "PutRecords",
            json!({"StreamName": "s", "Records": entries}),
            T0,
        );
        assert_eq!(r["FailedRecordCount"], 0);
    }
}

#[test]
fn iterators_read_in_order_and_reuse_gives_the_same_records() {
    let mut k = kinesis();
    create(&mut k, "s", 1);
    let latest = iterator(&mut k, "s", "shardId-000000000000", "LATEST", T0);
    let trim = iterator(&mut k, "s", "shardId-000000000000", "TRIM_HORIZON", T0);
    let empty = ok(
        &mut k,
        "GetRecords",
        json!({"ShardIterator": trim}),
        T0 + 100,
    );
    assert_eq!(records(&empty), Vec::<String>::new());
    assert_eq!(empty["MillisBehindLatest"], 0);
    let mut seqs = Vec::new();
    for i in 0..5 {
        seqs.push(
            put(&mut k, "s", "p", &format!("r{i}"), T0 + 1000 + i)["SequenceNumber"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let a = ok(
        &mut k,
        "GetRecords",
        json!({"ShardIterator": latest}),
        T0 + 2000,
    );
    assert_eq!(records(&a), ["r0", "r1", "r2", "r3", "r4"]);
    let b = ok(
        &mut k,
        "GetRecords",
        json!({"ShardIterator": latest}),
        T0 + 2300,
    );
    assert_eq!(records(&a), records(&b));
    let rec = &a["Records"][0];
    assert_eq!(rec["PartitionKey"], "p");
    assert_eq!(
        rec["ApproximateArrivalTimestamp"],
        json!((T0 + 1000) as f64 / 1000.0)
    );
    // Limit and NextShardIterator.
    let it = ok(&mut k, "GetShardIterator", json!({"StreamName": "s", "ShardId": "0", "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": seqs[1]}), T0 + 3000)["ShardIterator"].as_str().unwrap().to_string();
    let r = ok(
        &mut k,
        "GetRecords",
        json!({"ShardIterator": it, "Limit": 2}),
        T0 + 3000,
    );
    assert_eq!(records(&r), ["r1", "r2"]);
    assert!(r["MillisBehindLatest"].as_u64().unwrap() > 0);
    let r = ok(
        &mut k,
        "GetRecords",
        json!({"ShardIterator": r["NextShardIterator"]}),
        T0 + 3300,
    );
    assert_eq!(records(&r), ["r3", "r4"]);
    assert_eq!(r["MillisBehindLatest"], 0);
    let it = ok(&mut k, "GetShardIterator", json!({"StreamName": "s", "ShardId": "shardId-000000000000", "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": seqs[3]}), T0 + 4000)["ShardIterator"].as_str().unwrap().to_string();
    assert_eq!(
        records(&ok(
            &mut k,
            "GetRecords",
            json!({"ShardIterator": it}),
            T0 + 4000
        )),
        ["r4"]
    );
    let it = ok(&mut k, "GetShardIterator", json!({"StreamName": "s", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": (T0 + 1003) as f64 / 1000.0}), T0 + 5000)["ShardIterator"].as_str().unwrap().to_string();
    assert_eq!(
        records(&ok(
            &mut k,
            "GetRecords",
            json!({"ShardIterator": it}),
            T0 + 5000
        )),
        ["r3", "r4"]
    );
}

#[test]
fn get_shard_iterator_errors_match_aws() {
    let mut k = kinesis();
    create(&mut k, "s", 3);
    let seq = put(&mut k, "s", "e", "x", T0)["SequenceNumber"]
        .as_str()
        .unwrap()
        .to_string(); // shard 2
    let gsi = |k: &mut Kinesis, body: Value| err(k, "GetShardIterator", body, T0);
    let e = gsi(&mut k, json!({}));
    assert!(
        e.message().starts_with("3 validation errors detected"),
        "{e}"
    );
    let e = gsi(
        &mut k,
        json!({"StreamName": "s", "ShardId": "shardId-0", "ShardIteratorType": "SIDEWAYS"}),
    );
    assert!(e.message().contains("Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"));
    let e = gsi(
        &mut k,
        json!({"StreamName": "s", "ShardId": "shardId-5", "ShardIteratorType": "LATEST"}),
    );
    assert_eq!(
        e.message(),
        format!("Shard shardId-000000000005 in stream s under account {A} does not exist")
    );
    let e = gsi(
        &mut k,
        json!({"StreamName": "s", "ShardId": "ABKLFD8", "ShardIteratorType": "LATEST"}),
    );
    assert_eq!(
        e.message(),
        format!("Could not find shard ABKLFD8 in stream s under account {A}.")
    );
    let e = gsi(
        &mut k,
        json!({"StreamName": "s", "ShardId": "2147483648", "ShardIteratorType": "LATEST"}),
    );
    assert_eq!(
        e.message(),
        format!("Could not find shard 2147483648 in stream s under account {A}.")
    );
    let e = gsi(
        &mut k,
        json!({"StreamName": "s", "ShardId": "shardId-0", "ShardIteratorType": "LATEST", "StartingSequenceNumber": seq}),
    );
    assert!(
        e.message()
            .ends_with("Request specified LATEST and also a StartingSequenceNumber."),
        "{e}"
    );
    let e = gsi(
        &mut k,
        json!({"StreamName": "s", "ShardId": "shardId-0", "ShardIteratorType": "AT_SEQUENCE_NUMBER"}),
    );
    assert!(
        e.message()
            .ends_with("Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber."),
        "{e}"
    );
    let e = gsi(
        &mut k,
        json!({"StreamName": "s", "ShardId": "shardId-0", "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": seq}),
    );
    assert_eq!(e.message(), "Invalid StartingSequenceNumber. It encodes shardId-000000000002, while it was used in a call to a shard with shardId-000000000000");
    let e = gsi(
        &mut k,
        json!({"StreamName": "s", "ShardId": "shardId-0", "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": "0"}),
    );
    assert_eq!(e.http_status(), 500);
    assert_eq!(e.name(), "InternalFailure");
    let e = gsi(
        &mut k,
        json!({"StreamName": "s", "ShardId": "shardId-0", "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": "12345"}),
    );
    assert_eq!(e.message(), format!("StartingSequenceNumber 12345 used in GetShardIterator on shard shardId-000000000000 in stream s under account {A} is invalid."));
    let e = gsi(
        &mut k,
        json!({"StreamName": "s", "ShardId": "shardId-0", "ShardIteratorType": "AT_TIMESTAMP"}),
    );
    assert_eq!(e.message(), "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.");
    let e = gsi(
        &mut k,
        json!({"StreamName": "s", "ShardId": "shardId-0", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": (T0 + 10_000) as f64 / 1000.0}),
    );
    assert_eq!(e.message(), format!("The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: {}, currentTimestampInMillis: {T0}", T0 + 10_000));
}

#[test]
fn get_records_errors_and_iterator_expiry() {
    let mut k = kinesis();
    create(&mut k, "s", 1);
    let e = err(&mut k, "GetRecords", json!({}), T0);
    assert_eq!(e.message(), "1 validation error detected: Value null at 'shardIterator' failed to satisfy constraint: Member must not be null");
    let it = iterator(&mut k, "s", "shardId-000000000000", "LATEST", T0);
    let e = err(
        &mut k,
        "GetRecords",
        json!({"ShardIterator": it, "Limit": 0}),
        T0,
    );
    assert!(e
        .message()
        .contains("Member must have value greater than or equal to 1"));
    let e = err(
        &mut k,
        "GetRecords",
        json!({"ShardIterator": it, "Limit": 100000}),
        T0,
    );
    assert!(e
        .message()
        .contains("Member must have value less than or equal to 10000"));
    let e = err(
        &mut k,
        "GetRecords",
        json!({"ShardIterator": "x".repeat(513)}),
        T0,
    );
    assert!(e
        .message()
        .contains("Member must have length less than or equal to 512"));
    let e = err(
        &mut k,
        "GetRecords",
        json!({"ShardIterator": "bm90IGFuIGl0ZXJhdG9y"}),
        T0,
    );
    assert_eq!(
        e,
        ApiError::InvalidArgument("Invalid ShardIterator.".into())
    );
    ok(
        &mut k,
        "GetRecords",
        json!({"ShardIterator": it}),
        T0 + 300_000,
    );
    let e = err(
        &mut k,
        "GetRecords",
        json!({"ShardIterator": it}),
        T0 + 300_001,
    );
    assert_eq!(e.name(), "ExpiredIteratorException");
    assert_eq!(e.message(), "Iterator expired. The iterator was created at time Thu Jan 01 00:00:00 UTC 2026 while right now it is Thu Jan 01 00:05:00 UTC 2026 which is further in the future than the tolerated delay of 300000 milliseconds.");
    // Deleted and re-created: the old iterator names a shard that no longer exists.
    let it = iterator(&mut k, "s", "shardId-000000000000", "LATEST", T0 + 400_000);
    ok(
        &mut k,
        "DeleteStream",
        json!({"StreamName": "s"}),
        T0 + 400_000,
    );
    ok(
        &mut k,
        "CreateStream",
        json!({"StreamName": "s", "ShardCount": 1}),
        T0 + 401_000,
    );
    let e = err(
        &mut k,
        "GetRecords",
        json!({"ShardIterator": it}),
        T0 + 402_000,
    );
    assert_eq!(
        e.message(),
        format!("Shard shardId-000000000000 in stream s under account {A} does not exist")
    );
}

#[test]
fn read_limits_throttle_the_sixth_call_in_a_second() {
    let mut k = kinesis();
    create(&mut k, "s", 1);
    let it = iterator(&mut k, "s", "shardId-000000000000", "TRIM_HORIZON", T0);
    for _ in 0..5 {
        ok(&mut k, "GetRecords", json!({"ShardIterator": it}), T0 + 10);
    }
    let e = err(&mut k, "GetRecords", json!({"ShardIterator": it}), T0 + 10);
    assert_eq!(e.name(), "ProvisionedThroughputExceededException");
    assert_eq!(
        e.message(),
        format!("Rate exceeded for Shard - {A}/s/shardId-000000000000")
    );
    ok(
        &mut k,
        "GetRecords",
        json!({"ShardIterator": it}),
        T0 + 1010,
    );
}

#[test]
fn split_then_read_parent_to_its_end_and_find_the_children() {
    let mut k = kinesis();
    create(&mut k, "s", 1);
    put(&mut k, "s", "a", "before", T0);
    let e = err(
        &mut k,
        "SplitShard",
        json!({"StreamName": "s", "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": "1"}),
        T0,
    );
    assert_eq!(e.message(), format!("NewStartingHashKey 1 used in SplitShard() on shard shardId-000000000000 in stream s under account {A} is not both greater than one plus the shard's StartingHashKey 0 and less than the shard's EndingHashKey 340282366920938463463374607431768211455."));
    let e = err(
        &mut k,
        "SplitShard",
        json!({"StreamName": "s", "ShardToSplit": "shardId-5", "NewStartingHashKey": "2"}),
        T0,
    );
    assert_eq!(
        e.message(),
        format!("Could not find shard shardId-000000000005 in stream s under account {A}.")
    );
    ok(
        &mut k,
        "SplitShard",
        json!({"StreamName": "s", "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": "2"}),
        T0 + 1000,
    );
    let shards = ok(&mut k, "ListShards", json!({"StreamName": "s"}), T0 + 1000)["Shards"].clone();
    let shards = shards.as_array().unwrap();
    assert_eq!(shards.len(), 3);
    let end = shards[0]["SequenceNumberRange"]["EndingSequenceNumber"]
        .as_str()
        .unwrap();
    assert_eq!(
        SequenceNumber::parse(end).unwrap().sequence_index,
        CLOSING_SEQUENCE_INDEX
    );
    assert_eq!(shards[1]["ParentShardId"], "shardId-000000000000");
    assert_eq!(
        shards[1]["HashKeyRange"],
        json!({"StartingHashKey": "0", "EndingHashKey": "1"})
    );
    assert_eq!(shards[2]["HashKeyRange"]["StartingHashKey"], "2");
    assert!(shards[2].get("AdjacentParentShardId").is_none());
    // New writes go to the children; the parent ends with ChildShards.
    let w = put(&mut k, "s", "a", "after", T0 + 2000);
    assert_ne!(w["ShardId"], "shardId-000000000000");
    let (parent, last) = read_all(&mut k, "s", "shardId-000000000000", T0 + 3000);
    assert_eq!(parent, ["before"]);
    assert!(last.get("NextShardIterator").is_none());
    let children: Vec<&str> = last["ChildShards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["ShardId"].as_str().unwrap())
        .collect();
    assert_eq!(children, ["shardId-000000000001", "shardId-000000000002"]);
    assert_eq!(
        last["ChildShards"][0]["ParentShards"],
        json!(["shardId-000000000000"])
    );
    // The closed parent cannot be split again.
    let e = err(
        &mut k,
        "SplitShard",
        json!({"StreamName": "s", "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": "5"}),
        T0 + 4000,
    );
    assert_eq!(e.name(), "ResourceInUseException");
}

#[test]
fn merge_needs_an_adjacent_pair_in_order() {
    let mut k = kinesis();
    create(&mut k, "s", 3);
    let merge = |k: &mut Kinesis, a: &str, b: &str| {
        k.call(
            "MergeShards",
            &json!({"StreamName": "s", "ShardToMerge": a, "AdjacentShardToMerge": b}),
            T0,
        )
    };
    let e = merge(&mut k, "shardId-000000000000", "shardId-000000000002").unwrap_err();
    assert_eq!(e.message(), format!("Shards shardId-000000000000 and shardId-000000000002 in stream s under account {A} are not an adjacent pair of shards eligible for merging"));
    let e = merge(&mut k, "shardId-000000000001", "shardId-000000000000").unwrap_err();
    assert_eq!(e.name(), "InvalidArgumentException");
    merge(&mut k, "shardId-000000000000", "shardId-000000000001").unwrap();
    let shards = ok(
        &mut k,
        "ListShards",
        json!({"StreamName": "s", "ShardFilter": {"Type": "AT_LATEST"}}),
        T0,
    )["Shards"]
        .clone();
    let child = shards
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["ShardId"] == "shardId-000000000003")
        .unwrap()
        .clone();
    assert_eq!(child["ParentShardId"], "shardId-000000000000");
    assert_eq!(child["AdjacentParentShardId"], "shardId-000000000001");
    assert_eq!(
        child["HashKeyRange"],
        json!({"StartingHashKey": "0", "EndingHashKey": "226854911280625642308916404954512140969"})
    );
    assert_eq!(shards.as_array().unwrap().len(), 2);
}

#[test]
fn update_shard_count_scales_uniformly_with_lineage() {
    let mut k = kinesis();
    create(&mut k, "s", 3);
    let e = err(
        &mut k,
        "UpdateShardCount",
        json!({"StreamName": "s", "TargetShardCount": 7, "ScalingType": "UNIFORM_SCALING"}),
        T0,
    );
    assert_eq!(e.message(), "UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: 3 Target shard count: 7");
    let e = err(
        &mut k,
        "UpdateShardCount",
        json!({"StreamName": "s", "TargetShardCount": 1, "ScalingType": "UNIFORM_SCALING"}),
        T0,
    );
    assert_eq!(e.name(), "LimitExceededException");
    let r = ok(
        &mut k,
        "UpdateShardCount",
        json!({"StreamName": "s", "TargetShardCount": 5, "ScalingType": "UNIFORM_SCALING"}),
        T0,
    );
    assert_eq!(r["CurrentShardCount"], 3);
    assert_eq!(r["TargetShardCount"], 5);
    let open = ok(
        &mut k,
        "ListShards",
        json!({"StreamName": "s", "ShardFilter": {"Type": "AT_LATEST"}}),
        T0,
    )["Shards"]
        .clone();
    // ListShards lists by shard id; compare in hash order.
    let mut got: Vec<(u128, String, String)> = open
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let start: &str = s["HashKeyRange"]["StartingHashKey"].as_str().unwrap();
            (
                start.parse().unwrap(),
                start.into(),
                s["HashKeyRange"]["EndingHashKey"].as_str().unwrap().into(),
            )
        })
        .collect();
    got.sort();
    let got: Vec<(String, String)> = got.into_iter().map(|(_, a, b)| (a, b)).collect();
    let want: Vec<(String, String)> = HashKeyRange::even_split(5)
        .iter()
        .map(|r| {
            (
                r.starting_hash_key.to_string(),
                r.ending_hash_key.to_string(),
            )
        })
        .collect();
    assert_eq!(got, want);
    // Every open shard descends from the original ones.
    for s in open.as_array().unwrap() {
        assert!(s.get("ParentShardId").is_some(), "{s}");
    }
    ok(
        &mut k,
        "UpdateShardCount",
        json!({"StreamName": "s", "TargetShardCount": 3, "ScalingType": "UNIFORM_SCALING"}),
        T0 + 1000,
    );
    let open = ok(
        &mut k,
        "ListShards",
        json!({"StreamName": "s", "ShardFilter": {"Type": "AT_LATEST"}}),
        T0 + 1000,
    )["Shards"]
        .clone();
    assert_eq!(open.as_array().unwrap().len(), 3);
    let ends: Vec<&str> = open
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["HashKeyRange"]["EndingHashKey"].as_str().unwrap())
        .collect();
    assert!(
        ends.contains(&"113427455640312821154458202477256070484"),
        "{ends:?}"
    );
}

#[test]
fn retention_changes_follow_aws_rules_and_trim_data() {
    let mut k = kinesis();
    create(&mut k, "s", 1);
    let ret = |k: &mut Kinesis, op: &str, h: i64, now: u64| {
        k.call(
            op,
            &json!({"StreamName": "s", "RetentionPeriodHours": h}),
            now,
        )
    };
    assert_eq!(ret(&mut k, "IncreaseStreamRetentionPeriod", 23, T0).unwrap_err().message(), "Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short.");
    ret(&mut k, "IncreaseStreamRetentionPeriod", 25, T0).unwrap();
    ret(&mut k, "IncreaseStreamRetentionPeriod", 25, T0).unwrap();
    assert_eq!(ret(&mut k, "IncreaseStreamRetentionPeriod", 24, T0).unwrap_err().message(), "Requested retention period (24 hours) for stream s can not be shorter than existing retention period (25 hours). Use DecreaseRetentionPeriod API.");
    assert_eq!(ret(&mut k, "DecreaseStreamRetentionPeriod", 26, T0).unwrap_err().message(), "Requested retention period (26 hours) for stream s can not be longer than existing retention period (25 hours). Use IncreaseRetentionPeriod API.");
    assert_eq!(
        ret(&mut k, "IncreaseStreamRetentionPeriod", 8761, T0)
            .unwrap_err()
            .name(),
        "InvalidArgumentException"
    );
    put(&mut k, "s", "a", "old", T0);
    put(&mut k, "s", "a", "new", T0 + 2 * HOUR_MS);
    // 24 h + 1 ms later the first record is past a 24 h retention but not 25 h.
    let (all, _) = read_all(&mut k, "s", "shardId-000000000000", T0 + 24 * HOUR_MS + 1);
    assert_eq!(all, ["old", "new"]);
    ret(
        &mut k,
        "DecreaseStreamRetentionPeriod",
        24,
        T0 + 24 * HOUR_MS + 10_000,
    )
    .unwrap();
    let (all, _) = read_all(
        &mut k,
        "s",
        "shardId-000000000000",
        T0 + 24 * HOUR_MS + 20_000,
    );
    assert_eq!(all, ["new"]);
}

#[test]
fn list_streams_and_shards_page() {
    let mut k = kinesis();
    for n in ["a", "b", "c"] {
        create(&mut k, n, 2);
    }
    let r = ok(&mut k, "ListStreams", json!({"Limit": 1}), T0);
    assert_eq!(r["StreamNames"], json!(["a"]));
    assert_eq!(r["HasMoreStreams"], true);
    let r = ok(
        &mut k,
        "ListStreams",
        json!({"NextToken": r["NextToken"]}),
        T0,
    );
    assert_eq!(r["StreamNames"], json!(["b", "c"]));
    assert_eq!(r["HasMoreStreams"], false);
    assert_eq!(
        ok(
            &mut k,
            "ListStreams",
            json!({"ExclusiveStartStreamName": "b"}),
            T0
        )["StreamNames"],
        json!(["c"])
    );
    let e = err(&mut k, "ListShards", json!({}), T0);
    assert_eq!(
        e.message(),
        "Either NextToken or StreamName should be provided."
    );
    let r = ok(
        &mut k,
        "ListShards",
        json!({"StreamName": "a", "MaxResults": 1}),
        T0,
    );
    assert_eq!(r["Shards"].as_array().unwrap().len(), 1);
    let token = r["NextToken"].clone();
    let e = err(
        &mut k,
        "ListShards",
        json!({"StreamName": "a", "NextToken": token}),
        T0,
    );
    assert_eq!(
        e.message(),
        "NextToken and StreamName cannot be provided together."
    );
    let r2 = ok(&mut k, "ListShards", json!({"NextToken": token}), T0 + 1000);
    assert_eq!(r2["Shards"][0]["ShardId"], "shardId-000000000001");
    assert!(r2.get("NextToken").is_none());
    let e = err(
        &mut k,
        "ListShards",
        json!({"NextToken": token}),
        T0 + 301_000,
    );
    assert_eq!(e.name(), "ExpiredNextTokenException");
    let r = ok(
        &mut k,
        "ListShards",
        json!({"StreamName": "a", "ExclusiveStartShardId": "shardId-000000000000"}),
        T0,
    );
    assert_eq!(r["Shards"].as_array().unwrap().len(), 1);
    let arn = format!("arn:aws:kinesis:us-east-1:{A}:stream/a");
    let r = ok(
        &mut k,
        "ListShards",
        json!({"StreamName": "a", "StreamARN": arn}),
        T0,
    );
    assert_eq!(r["Shards"].as_array().unwrap().len(), 2);
}

#[test]
fn tags_are_validated_and_listed() {
    let mut k = kinesis();
    create(&mut k, "s", 1);
    ok(
        &mut k,
        "AddTagsToStream",
        json!({"StreamName": "s", "Tags": {"team": "data", "env": "lab"}}),
        T0,
    );
    let r = ok(&mut k, "ListTagsForStream", json!({"StreamName": "s"}), T0);
    assert_eq!(
        r["Tags"],
        json!([{"Key": "env", "Value": "lab"}, {"Key": "team", "Value": "data"}])
    );
    assert_eq!(r["HasMoreTags"], false);
    let e = err(
        &mut k,
        "AddTagsToStream",
        json!({"StreamName": "s", "Tags": {"a;b": "x"}}),
        T0,
    );
    assert_eq!(e.message(), "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @.");
    ok(
        &mut k,
        "RemoveTagsFromStream",
        json!({"StreamName": "s", "TagKeys": ["env"]}),
        T0,
    );
    assert_eq!(
        ok(&mut k, "ListTagsForStream", json!({"StreamName": "s"}), T0)["Tags"],
        json!([{"Key": "team", "Value": "data"}])
    );
    let many: serde_json::Map<String, Value> =
        (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();
    let e = err(
        &mut k,
        "AddTagsToStream",
        json!({"StreamName": "s", "Tags": many}),
        T0,
    );
    assert_eq!(e.name(), "LimitExceededException");
}

#[test]
fn shard_limit_and_unknown_operations() {
    let mut k = Kinesis::new(KinesisConfig {
        shard_limit: 10,
        ..KinesisConfig::default()
    });
    create(&mut k, "s", 8);
    let e = err(
        &mut k,
        "CreateStream",
        json!({"StreamName": "t", "ShardCount": 3}),
        T0,
    );
    assert_eq!(e.message(), format!("This request would exceed the shard limit for the account {A} in us-east-1. Current shard count for the account: 8. Limit: 10. Number of additional shards that would have resulted from this request: 3. Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits."));
    let e = err(&mut k, "Frobnicate", json!({}), T0);
    assert_eq!(e.name(), "UnknownOperationException");
    let e = k.call_bytes("ListStreams", b"{not json", T0).unwrap_err();
    assert_eq!(e.name(), "SerializationException");
    assert!(k.call_bytes("ListStreams", b"", T0).is_ok());
}

#[test]
fn on_demand_streams_start_with_four_shards_and_refuse_manual_resharding() {
    let mut k = kinesis();
    create_on_demand(&mut k, "od");
    let d = ok(
        &mut k,
        "DescribeStreamSummary",
        json!({"StreamName": "od"}),
        T0,
    );
    assert_eq!(d["StreamDescriptionSummary"]["OpenShardCount"], 4);
    assert_eq!(
        d["StreamDescriptionSummary"]["StreamModeDetails"]["StreamMode"],
        "ON_DEMAND"
    );
    let e = err(
        &mut k,
        "SplitShard",
        json!({"StreamName": "od", "ShardToSplit": "shardId-0", "NewStartingHashKey": "100"}),
        T0,
    );
    assert_eq!(e.name(), "ValidationException");
    let arn = format!("arn:aws:kinesis:us-east-1:{A}:stream/od");
    ok(
        &mut k,
        "UpdateStreamMode",
        json!({"StreamARN": arn, "StreamModeDetails": {"StreamMode": "PROVISIONED"}}),
        T0,
    );
    ok(
        &mut k,
        "SplitShard",
        json!({"StreamName": "od", "ShardToSplit": "shardId-0", "NewStartingHashKey": "100"}),
        T0,
    );
}

#[test]
fn enhanced_fan_out_consumers_register_and_subscribe() {
    let mut k = kinesis();
    create(&mut k, "s", 2);
    let arn = format!("arn:aws:kinesis:us-east-1:{A}:stream/s");
    let c = ok(
        &mut k,
        "RegisterStreamConsumer",
        json!({"StreamARN": arn, "ConsumerName": "app"}),
        T0,
    );
    let consumer_arn = c["Consumer"]["ConsumerARN"].as_str().unwrap().to_string();
    assert_eq!(consumer_arn, format!("{arn}/consumer/app:{}", T0 / 1000));
    assert_eq!(c["Consumer"]["ConsumerStatus"], "ACTIVE");
    let e = err(
        &mut k,
        "RegisterStreamConsumer",
        json!({"StreamARN": arn, "ConsumerName": "app"}),
        T0,
    );
    assert_eq!(e.name(), "ResourceInUseException");
    let d = ok(
        &mut k,
        "DescribeStreamConsumer",
        json!({"ConsumerARN": consumer_arn}),
        T0,
    );
    assert_eq!(d["ConsumerDescription"]["StreamARN"], arn);
    let d = ok(
        &mut k,
        "DescribeStreamConsumer",
        json!({"StreamARN": arn, "ConsumerName": "app"}),
        T0,
    );
    assert_eq!(d["ConsumerDescription"]["ConsumerName"], "app");
    assert_eq!(
        ok(
            &mut k,
            "DescribeStreamSummary",
            json!({"StreamName": "s"}),
            T0
        )["StreamDescriptionSummary"]["ConsumerCount"],
        1
    );
    for i in 1..20 {
        ok(
            &mut k,
            "RegisterStreamConsumer",
            json!({"StreamARN": arn, "ConsumerName": format!("c{i:02}")}),
            T0,
        );
    }
    let e = err(
        &mut k,
        "RegisterStreamConsumer",
        json!({"StreamARN": arn, "ConsumerName": "one-too-many"}),
        T0,
    );
    assert_eq!(e.name(), "LimitExceededException");
    let list = ok(
        &mut k,
        "ListStreamConsumers",
        json!({"StreamARN": arn, "MaxResults": 15}),
        T0,
    );
    assert_eq!(list["Consumers"].as_array().unwrap().len(), 15);
    let rest = ok(
        &mut k,
        "ListStreamConsumers",
        json!({"StreamARN": arn, "NextToken": list["NextToken"]}),
        T0,
    );
    assert_eq!(rest["Consumers"].as_array().unwrap().len(), 5);

    // Subscribe from TRIM_HORIZON; events carry records and a continuation.
    let key = "a"; // routes to shard 0 of 2
    for i in 0..3 {
        put(&mut k, "s", key, &format!("r{i}"), T0 + 100);
    }
    let mut sub = k
        .subscribe_to_shard(&json!({"ConsumerARN": consumer_arn, "ShardId": "shardId-000000000000", "StartingPosition": {"Type": "TRIM_HORIZON"}}), T0 + 200)
        .unwrap();
    let e = k
        .subscribe_to_shard(&json!({"ConsumerARN": consumer_arn, "ShardId": "shardId-000000000000", "StartingPosition": {"Type": "LATEST"}}), T0 + 1000)
        .unwrap_err();
    assert_eq!(e.name(), "ResourceInUseException");
    let ev = k.next_event(&mut sub, T0 + 300).unwrap().unwrap();
    assert_eq!(records(&ev), ["r0", "r1", "r2"]);
    assert_eq!(ev["MillisBehindLatest"], 0);
    let cont = ev["ContinuationSequenceNumber"]
        .as_str()
        .unwrap()
        .to_string();
    let ev = k.next_event(&mut sub, T0 + 400).unwrap().unwrap();
    assert!(records(&ev).is_empty());
    // Resuming after the continuation number misses nothing and repeats nothing.
    put(&mut k, "s", key, "r3", T0 + 500);
    let it = ok(&mut k, "GetShardIterator", json!({"StreamName": "s", "ShardId": "shardId-000000000000", "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": cont}), T0 + 600)["ShardIterator"].clone();
    assert_eq!(
        records(&ok(
            &mut k,
            "GetRecords",
            json!({"ShardIterator": it}),
            T0 + 600
        )),
        ["r3"]
    );
    // A subscription ends after 5 minutes.
    assert!(k
        .next_event(&mut sub, T0 + 200 + 300_000)
        .unwrap()
        .is_none());
    // Fan-out reads do not use the shard's shared 5 reads per second.
    let mut sub2 = k
        .subscribe_to_shard(&json!({"ConsumerARN": consumer_arn, "ShardId": "shardId-000000000000", "StartingPosition": {"Type": "TRIM_HORIZON"}}), T0 + 400_000)
        .unwrap();
    let it = iterator(
        &mut k,
        "s",
        "shardId-000000000000",
        "TRIM_HORIZON",
        T0 + 400_000,
    );
    for _ in 0..5 {
        ok(
            &mut k,
            "GetRecords",
            json!({"ShardIterator": it}),
            T0 + 400_001,
        );
    }
    assert!(k.next_event(&mut sub2, T0 + 400_001).unwrap().is_some());

    // Deleting a stream with consumers needs EnforceConsumerDeletion.
    let e = err(
        &mut k,
        "DeleteStream",
        json!({"StreamName": "s"}),
        T0 + 500_000,
    );
    assert_eq!(e.name(), "ResourceInUseException");
    ok(
        &mut k,
        "DeregisterStreamConsumer",
        json!({"ConsumerARN": consumer_arn}),
        T0 + 500_000,
    );
    let e = err(
        &mut k,
        "DescribeStreamConsumer",
        json!({"ConsumerARN": consumer_arn}),
        T0 + 500_000,
    );
    assert_eq!(e.name(), "ResourceNotFoundException");
    ok(
        &mut k,
        "DeleteStream",
        json!({"StreamName": "s", "EnforceConsumerDeletion": true}),
        T0 + 500_000,
    );
}

#[test]
fn fan_out_delivers_two_mebibytes_per_second_per_consumer() {
    let mut k = Kinesis::new(KinesisConfig {
        enforce_limits: false,
        ..KinesisConfig::default()
    });
    create(&mut k, "s", 1);
    let big = "x".repeat(512 * 1024);
    for _ in 0..30 {
        put(&mut k, "s", "k", &big, T0);
    }
    let arn = format!("arn:aws:kinesis:us-east-1:{A}:stream/s");
    let c = ok(
        &mut k,
        "RegisterStreamConsumer",
        json!({"StreamARN": arn, "ConsumerName": "app"}),
        T0,
    );
    let mut sub = k
        .subscribe_to_shard(&json!({"ConsumerARN": c["Consumer"]["ConsumerARN"], "ShardId": "shardId-000000000000", "StartingPosition": {"Type": "TRIM_HORIZON"}}), T0)
        .unwrap();
    // 15 MiB waiting. One event carries at most 10 MiB: 19 records of
    // 512 KiB + a 1-byte key, which puts the consumer about 7.5 MiB in debt
    // at 2 MiB/s: nothing for 3.75 seconds, then the rest.
    let count = |k: &mut Kinesis, sub: &mut Subscription, at: u64| {
        records(&k.next_event(sub, at).unwrap().unwrap()).len()
    };
    assert_eq!(count(&mut k, &mut sub, T0), 19);
    assert_eq!(count(&mut k, &mut sub, T0 + 1000), 0);
    assert_eq!(count(&mut k, &mut sub, T0 + 3700), 0);
    assert_eq!(count(&mut k, &mut sub, T0 + 3800), 11);
}

#[test]
fn fan_out_reads_do_not_spend_the_shared_read_throughput() {
    let mut k = Kinesis::new(KinesisConfig::default());
    create(&mut k, "s", 1);
    // 2.5 MiB in 512 KiB records, within 1 MiB/s in.
    let big = "x".repeat(512 * 1024 - 1);
    for i in 0..5 {
        put(&mut k, "s", "k", &big, T0 + i * 500);
    }
    let now = T0 + 3000;
    let arn = format!("arn:aws:kinesis:us-east-1:{A}:stream/s");
    let c = ok(
        &mut k,
        "RegisterStreamConsumer",
        json!({"StreamARN": arn, "ConsumerName": "app"}),
        now,
    );
    let mut sub = k
        .subscribe_to_shard(&json!({"ConsumerARN": c["Consumer"]["ConsumerARN"], "ShardId": "shardId-000000000000", "StartingPosition": {"Type": "TRIM_HORIZON"}}), now)
        .unwrap();
    assert_eq!(
        records(&k.next_event(&mut sub, now).unwrap().unwrap()).len(),
        5
    );
    // The subscription's 2.5 MiB came out of its own 2 MiB/s: a polling
    // reader still has the shard's.
    let it = ok(
        &mut k,
        "GetShardIterator",
        json!({"StreamName": "s", "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"}),
        now,
    );
    let got = ok(
        &mut k,
        "GetRecords",
        json!({"ShardIterator": it["ShardIterator"]}),
        now,
    );
    assert_eq!(records(&got).len(), 5);
    // Its own 2.5 MiB are charged to the shard: the next call is refused.
    let e = err(
        &mut k,
        "GetRecords",
        json!({"ShardIterator": got["NextShardIterator"]}),
        now + 200,
    );
    assert!(
        matches!(e, ApiError::ProvisionedThroughputExceeded(_)),
        "{e:?}"
    );
}

/// Offers `kib_per_sec` KiB/s to the shard holding hash key 0 of `name`
/// (100 KiB records at explicit hash key 0) for `seconds` seconds from `from`.
fn offer(k: &mut Kinesis, name: &str, kib_per_sec: usize, from: u64, seconds: u64) {
    let data = BASE64.encode(vec![b'x'; 100 * 1024 - 1]);
    for second in 0..seconds {
        let records: Vec<Value> = (0..kib_per_sec / 100)
            .map(|_| json!({"PartitionKey": "k", "ExplicitHashKey": "0", "Data": data}))
            .collect();
        ok(
            k,
            "PutRecords",
            json!({"StreamName": name, "Records": records}),
            from + second * 1000,
        );
    }
}

fn open_shard_ids(k: &mut Kinesis, name: &str, now: u64) -> Vec<String> {
    let listed = ok(k, "ListShards", json!({"StreamName": name}), now);
    listed["Shards"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["SequenceNumberRange"]["EndingSequenceNumber"].is_null())
        .map(|s| s["ShardId"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn on_demand_streams_split_a_shard_offered_over_500_kib_per_second() {
    let mut k = kinesis();
    create_on_demand(&mut k, "od");
    create(&mut k, "prov", 4);
    // 600 KiB/s for a minute at shard 0 of both; 400 KiB/s stays below.
    offer(&mut k, "od", 600, T0, 60);
    offer(&mut k, "prov", 600, T0, 60);
    assert_eq!(open_shard_ids(&mut k, "od", T0 + 59_999).len(), 4);
    // The minute is over: the hot on-demand shard splits at its middle.
    let open = open_shard_ids(&mut k, "od", T0 + 60_000);
    assert_eq!(
        open,
        [
            "shardId-000000000001",
            "shardId-000000000002",
            "shardId-000000000003",
            "shardId-000000000004",
            "shardId-000000000005"
        ]
    );
    let listed = ok(
        &mut k,
        "ListShards",
        json!({"StreamName": "od"}),
        T0 + 60_000,
    );
    let shards = listed["Shards"].as_array().unwrap();
    assert_eq!(shards[4]["ParentShardId"], "shardId-000000000000");
    let parent_end: u128 = shards[0]["HashKeyRange"]["EndingHashKey"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        shards[5]["HashKeyRange"]["StartingHashKey"],
        (parent_end / 2 + 1).to_string()
    );
    // Provisioned streams never scale by themselves.
    assert_eq!(open_shard_ids(&mut k, "prov", T0 + 60_000).len(), 4);

    // The lower child now takes the hot key; at 400 KiB/s it stays whole.
    offer(&mut k, "od", 400, T0 + 60_000, 60);
    assert_eq!(open_shard_ids(&mut k, "od", T0 + 120_000).len(), 5);
    // Every record offered to the parent before the split is still there.
    let it = iterator(
        &mut k,
        "od",
        "shardId-000000000000",
        "TRIM_HORIZON",
        T0 + 120_000,
    );
    let got = ok(
        &mut k,
        "GetRecords",
        json!({"ShardIterator": it, "Limit": 10000}),
        T0 + 120_000,
    );
    assert!(!got["Records"].as_array().unwrap().is_empty());
}

#[test]
fn on_demand_scaling_stops_at_the_shard_limit() {
    let mut k = Kinesis::new(KinesisConfig {
        shard_limit: 5,
        ..KinesisConfig::default()
    });
    create_on_demand(&mut k, "od");
    offer(&mut k, "od", 700, T0, 60);
    assert_eq!(open_shard_ids(&mut k, "od", T0 + 60_000).len(), 5);
    offer(&mut k, "od", 700, T0 + 60_000, 60);
    assert_eq!(open_shard_ids(&mut k, "od", T0 + 120_000).len(), 5);
}
