//! No input can make the API panic: random sequences of calls to every
//! operation (and unknown ones), with bodies made of the members the API
//! knows holding values of every JSON type, edge-case strings and numbers,
//! against a live stream with records, consumers and closed shards. Each
//! call must answer Ok or an AWS error. (That nothing acknowledged is lost
//! is `tests/properties.rs`'s job.)

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use shardlab_engine::api::OPERATIONS;
use shardlab_engine::{Kinesis, KinesisConfig};

const T0: u64 = 1_767_225_600_000;

const MEMBERS: &[&str] = &[
    "StreamName",
    "StreamARN",
    "ShardCount",
    "ShardId",
    "ShardIteratorType",
    "StartingSequenceNumber",
    "Timestamp",
    "ShardIterator",
    "Limit",
    "Records",
    "Data",
    "PartitionKey",
    "ExplicitHashKey",
    "SequenceNumberForOrdering",
    "ShardToSplit",
    "NewStartingHashKey",
    "ShardToMerge",
    "AdjacentShardToMerge",
    "TargetShardCount",
    "ScalingType",
    "RetentionPeriodHours",
    "Tags",
    "TagKeys",
    "NextToken",
    "MaxResults",
    "ExclusiveStartShardId",
    "ExclusiveStartStreamName",
    "ShardFilter",
    "StreamModeDetails",
    "ConsumerName",
    "ConsumerARN",
    "StartingPosition",
    "EnforceConsumerDeletion",
    "Type",
    "StreamMode",
];

fn strings() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("s".to_string()),
        Just("shardId-000000000000".to_string()),
        Just("shardId-000000000001".to_string()),
        Just("shardId-999999999999".to_string()),
        Just("TRIM_HORIZON".to_string()),
        Just("LATEST".to_string()),
        Just("AT_SEQUENCE_NUMBER".to_string()),
        Just("AFTER_SEQUENCE_NUMBER".to_string()),
        Just("AT_TIMESTAMP".to_string()),
        Just("UNIFORM_SCALING".to_string()),
        Just("ON_DEMAND".to_string()),
        Just("PROVISIONED".to_string()),
        Just("AT_LATEST".to_string()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("340282366920938463463374607431768211455".to_string()),
        Just("340282366920938463463374607431768211456".to_string()),
        Just("49590338271490256608559692538361571095921575989136588898".to_string()),
        Just("aGVsbG8=".to_string()),
        Just("not base64!".to_string()),
        Just("arn:aws:kinesis:us-east-1:123456789012:stream/s".to_string()),
        Just("arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1".to_string()),
        Just(String::new()),
        "[a-zA-Z0-9_.:/=+-]{0,40}",
        ".{0,20}",
        Just("x".repeat(300)),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            Just(0i64),
            Just(1),
            Just(2),
            Just(24),
            Just(10_000),
            Just(10_001)
        ]
        .prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        strings().prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::vec((prop::sample::select(MEMBERS), inner), 0..6).prop_map(|pairs| {
                Value::Object(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            },),
        ]
    })
}

fn body() -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(MEMBERS), value()), 0..7).prop_map(|pairs| {
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect::<Map<_, _>>(),
        )
    })
}

fn operation() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => prop::sample::select(OPERATIONS).prop_map(str::to_string),
        1 => "[A-Za-z]{0,12}",
    ]
}

/// A live stream: 2 shards, records in both, one split (a closed parent),
/// a registered consumer.
fn live() -> Kinesis {
    let mut k = Kinesis::new(KinesisConfig::default());
    let call = |k: &mut Kinesis, op: &str, body: Value| {
        k.call(op, &body, T0)
            .unwrap_or_else(|e| panic!("setting up: {op} failed: {e}"))
    };
    call(
        &mut k,
        "CreateStream",
        json!({"StreamName": "s", "ShardCount": 2}),
    );
    for i in 0..20 {
        call(
            &mut k,
            "PutRecord",
            json!({"StreamName": "s", "PartitionKey": format!("k{i}"), "Data": "aGVsbG8="}),
        );
    }
    call(
        &mut k,
        "SplitShard",
        json!({"StreamName": "s", "ShardToSplit": "shardId-000000000000",
               "NewStartingHashKey": "85070591730234615865843651857942052864"}),
    );
    call(
        &mut k,
        "RegisterStreamConsumer",
        json!({"StreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/s", "ConsumerName": "c"}),
    );
    k
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_calls_never_panic(calls in prop::collection::vec((operation(), body(), 0u64..400_000), 1..40)) {
        let mut k = live();
        let mut now = T0;
        for (op, body, dt) in calls {
            now += dt;
            let _ = k.call(&op, &body, now);
            // The same body as bytes, and as broken bytes.
            let text = body.to_string();
            let _ = k.call_bytes(&op, text.as_bytes(), now);
            let _ = k.serve_bytes(&op, &text.as_bytes()[..text.len() / 2], now);
        }
    }
}

#[test]
fn odd_bytes_get_a_serialization_error() {
    let mut k = live();
    for bytes in [
        &b"{"[..],
        b"\xff\xfe",
        b"[1,2,3]",
        b"null",
        b"\"s\"",
        b"{\"StreamName\": }",
    ] {
        for op in OPERATIONS {
            match k.call_bytes(op, bytes, T0) {
                Ok(v) => panic!("{op} accepted {bytes:?}: {v}"),
                Err(e) => assert_eq!(e.name(), "SerializationException", "{op} {bytes:?}"),
            }
        }
    }
}
