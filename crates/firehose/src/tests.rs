//! The Firehose API as a learner meets it: buffering on the virtual clock,
//! object names, compression, outages, processing failures, errors.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::{Compression, Firehose, FirehoseConfig, Sink};

const T0: u64 = 1_535_365_800_000; // 2018-08-27 10:30:00 UTC

fn service() -> Firehose {
    Firehose::new(FirehoseConfig {
        seed: 42,
        ..FirehoseConfig::default()
    })
}

fn create(f: &mut Firehose, name: &str, s3: Value) -> Value {
    f.call(
        "CreateDeliveryStream",
        &json!({"DeliveryStreamName": name, "ExtendedS3DestinationConfiguration": s3}),
        T0,
    )
    .unwrap()
}

fn s3(extra: Value) -> Value {
    let mut base = json!({
        "RoleARN": "arn:aws:iam::123456789012:role/firehose",
        "BucketARN": "arn:aws:s3:::lab-bucket",
    });
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        b.extend(e);
    }
    base
}

/// The error a call gets at T0.
fn fail(f: &mut Firehose, operation: &str, request: &Value) -> shardlab_engine::ApiError {
    f.call(operation, request, T0).unwrap_err()
}

/// DescribeDeliveryStream's description of `name`.
fn describe(f: &mut Firehose, name: &str) -> Value {
    f.call(
        "DescribeDeliveryStream",
        &json!({"DeliveryStreamName": name}),
        T0,
    )
    .unwrap()
}

fn put_batch(f: &mut Firehose, name: &str, records: &[&[u8]], now: u64) -> Value {
    let entries: Vec<Value> = records
        .iter()
        .map(|r| json!({"Data": BASE64.encode(r)}))
        .collect();
    f.call(
        "PutRecordBatch",
        &json!({"DeliveryStreamName": name, "Records": entries}),
        now,
    )
    .unwrap()
}

fn objects(f: &Firehose) -> Vec<(String, Vec<u8>)> {
    f.bucket("lab-bucket")
        .map(|b| {
            b.objects
                .iter()
                .map(|(k, o)| (k.clone(), o.compression.decompress(&o.body).unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn create_describe_list_delete() {
    let mut f = service();
    let out = create(&mut f, "clicks", s3(json!({})));
    assert_eq!(
        out["DeliveryStreamARN"],
        "arn:aws:firehose:us-east-1:123456789012:deliverystream/clicks"
    );
    let d = describe(&mut f, "clicks");
    let d = &d["DeliveryStreamDescription"];
    assert_eq!(d["DeliveryStreamStatus"], "ACTIVE");
    assert_eq!(d["DeliveryStreamType"], "DirectPut");
    assert_eq!(d["VersionId"], "1");
    let dest = &d["Destinations"][0];
    assert_eq!(dest["DestinationId"], "destinationId-000000000001");
    let ext = &dest["ExtendedS3DestinationDescription"];
    assert_eq!(
        ext["BufferingHints"],
        json!({"SizeInMBs": 5, "IntervalInSeconds": 300})
    );
    assert_eq!(ext["CompressionFormat"], "UNCOMPRESSED");
    assert_eq!(
        dest["S3DestinationDescription"]["BucketARN"],
        "arn:aws:s3:::lab-bucket"
    );

    let e = fail(
        &mut f,
        "CreateDeliveryStream",
        &json!({"DeliveryStreamName": "clicks", "ExtendedS3DestinationConfiguration": s3(json!({}))}),
    );
    assert_eq!(e.name(), "ResourceInUseException");
    assert_eq!(
        e.message(),
        "Firehose clicks under account 123456789012 already exists."
    );

    create(&mut f, "orders", s3(json!({})));
    let l = f
        .call("ListDeliveryStreams", &json!({"Limit": 1}), T0)
        .unwrap();
    assert_eq!(
        l,
        json!({"DeliveryStreamNames": ["clicks"], "HasMoreDeliveryStreams": true})
    );
    let l = f
        .call(
            "ListDeliveryStreams",
            &json!({"ExclusiveStartDeliveryStreamName": "clicks"}),
            T0,
        )
        .unwrap();
    assert_eq!(
        l,
        json!({"DeliveryStreamNames": ["orders"], "HasMoreDeliveryStreams": false})
    );

    f.call(
        "DeleteDeliveryStream",
        &json!({"DeliveryStreamName": "clicks"}),
        T0,
    )
    .unwrap();
    let e = fail(
        &mut f,
        "DescribeDeliveryStream",
        &json!({"DeliveryStreamName": "clicks"}),
    );
    assert_eq!(e.name(), "ResourceNotFoundException");
    assert_eq!(
        e.message(),
        "Firehose clicks under account 123456789012 not found."
    );
}

#[test]
fn bad_requests_get_aws_errors() {
    let mut f = service();
    let e = fail(&mut f, "CreateDeliveryStream", &json!({}));
    assert_eq!(e.name(), "ValidationException");
    assert!(
        e.message().contains("Value null at 'deliveryStreamName'"),
        "{e}"
    );
    let e = fail(
        &mut f,
        "CreateDeliveryStream",
        &json!({"DeliveryStreamName": "bad name", "ExtendedS3DestinationConfiguration": s3(json!({}))}),
    );
    assert!(
        e.message()
            .contains("satisfy regular expression pattern: [a-zA-Z0-9_.-]+"),
        "{e}"
    );
    let e = fail(
        &mut f,
        "CreateDeliveryStream",
        &json!({"DeliveryStreamName": "s",
                    "ExtendedS3DestinationConfiguration": s3(json!({"BufferingHints": {"SizeInMBs": 129, "IntervalInSeconds": 901}}))}),
    );
    assert_eq!(
        e.message(),
        "2 validation errors detected: Value '129' at \
         'extendedS3DestinationConfiguration.bufferingHints.sizeInMBs' failed to satisfy \
         constraint: Member must have value less than or equal to 128; Value '901' at \
         'extendedS3DestinationConfiguration.bufferingHints.intervalInSeconds' failed to \
         satisfy constraint: Member must have value less than or equal to 900"
    );
    let e = fail(
        &mut f,
        "CreateDeliveryStream",
        &json!({"DeliveryStreamName": "s",
                    "ExtendedS3DestinationConfiguration": s3(json!({"BufferingHints": {"SizeInMBs": 1}}))}),
    );
    assert_eq!(e.name(), "InvalidArgumentException");
    let e = fail(
        &mut f,
        "CreateDeliveryStream",
        &json!({"DeliveryStreamName": "s", "SnowflakeDestinationConfiguration": {}}),
    );
    assert!(e.message().contains("not supported by Shardlab yet"), "{e}");

    create(&mut f, "s", s3(json!({})));
    let e = fail(
        &mut f,
        "PutRecordBatch",
        &json!({"DeliveryStreamName": "s", "Records": []}),
    );
    assert!(
        e.message()
            .contains("have length greater than or equal to 1"),
        "{e}"
    );
    let big = BASE64.encode(vec![0u8; 1_024_001]);
    let e = fail(
        &mut f,
        "PutRecord",
        &json!({"DeliveryStreamName": "s", "Record": {"Data": big}}),
    );
    assert!(
        e.message().contains(
            "Value 'java.nio.HeapByteBuffer[pos=0 lim=1024001 cap=1024001]' at 'record.data' \
             failed to satisfy constraint: Member must have length less than or equal to 1024000"
        ),
        "{e}"
    );
    let five: Vec<Value> = (0..5)
        .map(|_| json!({"Data": BASE64.encode(vec![0u8; 1_000_000])}))
        .collect();
    let e = fail(
        &mut f,
        "PutRecordBatch",
        &json!({"DeliveryStreamName": "s", "Records": five}),
    );
    assert!(e.message().contains("exceeds 4 MB"), "{e}");
    assert_eq!(
        fail(&mut f, "Nope", &json!({})).name(),
        "UnknownOperationException"
    );
}

#[test]
fn the_buffer_waits_for_its_interval_on_the_virtual_clock() {
    let mut f = service();
    create(
        &mut f,
        "clicks",
        s3(json!({"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60}})),
    );
    let out = put_batch(&mut f, "clicks", &[b"a", b"b"], T0);
    assert_eq!(out["FailedPutCount"], 0);
    assert_eq!(out["RequestResponses"].as_array().unwrap().len(), 2);
    put_batch(&mut f, "clicks", &[b"c"], T0 + 30_000);
    f.tick(T0 + 59_999);
    assert!(objects(&f).is_empty(), "nothing before the interval");
    let s = f.stream("clicks").unwrap();
    assert_eq!(s.path.buffered_records(), 3);
    assert_eq!(s.path.data_freshness_ms(T0 + 59_999), 59_999);
    f.tick(T0 + 60_000);
    let objs = objects(&f);
    assert_eq!(objs.len(), 1);
    // Default prefix from the oldest record's arrival, fixed name suffix.
    let (key, body) = &objs[0];
    assert!(
        key.starts_with("2018/08/27/10/clicks-1-2018-08-27-10-30-00-"),
        "{key}"
    );
    assert_eq!(
        key.len(),
        "2018/08/27/10/clicks-1-2018-08-27-10-30-00-".len() + 36
    );
    assert_eq!(
        body, b"abc",
        "records concatenated, no delimiter by default"
    );
    let s = f.stream("clicks").unwrap();
    assert_eq!(s.path.recent[0].trigger, crate::Trigger::Interval);
    assert_eq!(s.path.recent[0].delay_ms, 60_000);
    assert!(s.path.accounting.balanced());
}

#[test]
fn the_size_hint_seals_at_once_and_objects_may_run_over() {
    let mut f = service();
    create(
        &mut f,
        "logs",
        s3(
            json!({"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 900},
                  "CompressionFormat": "GZIP"}),
        ),
    );
    let chunk = vec![b'x'; 400_000];
    put_batch(&mut f, "logs", &[&chunk, &chunk], T0);
    f.tick(T0);
    assert!(objects(&f).is_empty());
    put_batch(&mut f, "logs", &[&chunk], T0 + 1);
    f.tick(T0 + 1);
    let objs = objects(&f);
    assert_eq!(objs.len(), 1);
    assert!(objs[0].0.ends_with(".gz"));
    assert_eq!(objs[0].1.len(), 1_200_000, "records are never split");
    let o = f
        .bucket("lab-bucket")
        .unwrap()
        .objects
        .values()
        .next()
        .unwrap();
    assert_eq!(o.compression, Compression::Gzip);
    assert!(o.body.len() < 10_000);
    assert_eq!(
        f.stream("logs").unwrap().path.recent[0].trigger,
        crate::Trigger::Size
    );
}

#[test]
fn zero_interval_delivers_on_the_next_tick() {
    let mut f = service();
    create(
        &mut f,
        "now",
        s3(json!({"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}})),
    );
    put_batch(&mut f, "now", &[b"1"], T0);
    f.tick(T0 + 100);
    assert_eq!(objects(&f).len(), 1);
}

#[test]
fn an_outage_is_retried_then_delivered_and_a_day_long_one_loses_data() {
    let mut f = service();
    create(
        &mut f,
        "s",
        s3(json!({"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60}})),
    );
    assert!(f.set_unavailable(&Sink::Bucket("lab-bucket".into()), true));
    put_batch(&mut f, "s", &[b"r1"], T0);
    for t in (0..=600).map(|s| T0 + s * 1000) {
        f.tick(t);
    }
    assert!(objects(&f).is_empty());
    let s = f.stream("s").unwrap();
    assert_eq!(s.path.pending_objects(), 1);
    assert!(s.path.accounting.delivery_attempts > 5);
    assert_eq!(s.path.accounting.delivery_successes, 0);
    f.set_unavailable(&Sink::Bucket("lab-bucket".into()), false);
    f.tick(T0 + 601_000 + 120_000);
    assert_eq!(objects(&f).len(), 1);
    let s = f.stream("s").unwrap();
    assert_eq!(s.path.accounting.delivered_records, 1);
    assert!(s.path.recent[0].attempts > 5);

    // A day without the bucket: AWS gives up on S3 after 24 hours.
    f.set_unavailable(&Sink::Bucket("lab-bucket".into()), true);
    put_batch(&mut f, "s", &[b"r2", b"r3"], T0 + 1_000_000);
    let mut t = T0 + 1_000_000;
    while t < T0 + 1_000_000 + 25 * 3_600_000 {
        t += 60_000;
        f.tick(t);
    }
    let a = &f.stream("s").unwrap().path.accounting;
    assert_eq!(a.expired_records, 2);
    assert_eq!(a.buffered_records, 0);
    assert!(a.balanced());
}

#[test]
fn processors_split_and_delimit_and_failures_go_to_the_error_prefix() {
    let mut f = service();
    create(
        &mut f,
        "p",
        s3(json!({
            "Prefix": "data/",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
            "ProcessingConfiguration": {"Enabled": true, "Processors": [
                {"Type": "RecordDeAggregation", "Parameters": [{"ParameterName": "SubRecordType", "ParameterValue": "JSON"}]},
                {"Type": "AppendDelimiterToRecord"}
            ]}
        })),
    );
    put_batch(
        &mut f,
        "p",
        &[br#"{"a":1}{"a":2} {"a":3}"#, b"{not json"],
        T0,
    );
    f.tick(T0 + 1);
    let objs = objects(&f);
    assert_eq!(objs.len(), 2, "{objs:?}");
    let data = objs
        .iter()
        .find(|(k, _)| k.starts_with("data/2018/08/27/10/p-1-"))
        .unwrap();
    assert_eq!(data.1, b"{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
    let err = objs
        .iter()
        .find(|(k, _)| k.starts_with("data/processing-failed/2018/08/27/10/p-1-"))
        .unwrap();
    let v: Value = serde_json::from_slice(&err.1).unwrap();
    assert_eq!(v["rawData"], BASE64.encode(b"{not json"));
    assert_eq!(v["errorCode"], "Processor.InvalidInput");
    let a = &f.stream("p").unwrap().path.accounting;
    assert_eq!(
        (a.incoming_records, a.processed_records, a.processing_failed),
        (2, 3, 1)
    );
    assert!(a.balanced());

    let e = fail(
        &mut f,
        "CreateDeliveryStream",
        &json!({"DeliveryStreamName": "l", "ExtendedS3DestinationConfiguration": s3(json!({
            "ProcessingConfiguration": {"Enabled": true, "Processors": [{"Type": "Lambda"}]}
        }))}),
    );
    assert!(e.message().contains("needs a LambdaArn parameter"), "{e}");
}

#[test]
fn kinesis_sourced_streams_refuse_direct_puts() {
    let mut f = service();
    f.call(
        "CreateDeliveryStream",
        &json!({
            "DeliveryStreamName": "from-kds",
            "DeliveryStreamType": "KinesisStreamAsSource",
            "KinesisStreamSourceConfiguration": {
                "KinesisStreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/clicks",
                "RoleARN": "arn:aws:iam::123456789012:role/r"
            },
            "ExtendedS3DestinationConfiguration": s3(json!({}))
        }),
        T0,
    )
    .unwrap();
    let e = fail(
        &mut f,
        "PutRecord",
        &json!({"DeliveryStreamName": "from-kds", "Record": {"Data": "YQ=="}}),
    );
    assert_eq!(
        e.message(),
        "This operation is not permitted on KinesisStreamAsSource delivery stream type."
    );
    assert_eq!(
        f.kinesis_sources(),
        [(
            "from-kds".to_string(),
            "arn:aws:kinesis:us-east-1:123456789012:stream/clicks".to_string()
        )]
    );
    f.ingest_from_source("from-kds", [(b"x".to_vec(), T0)], T0)
        .unwrap();
    let d = describe(&mut f, "from-kds");
    assert_eq!(
        d["DeliveryStreamDescription"]["Source"]["KinesisStreamSourceDescription"]
            ["KinesisStreamARN"],
        "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"
    );
    assert_eq!(f.stream("from-kds").unwrap().path.buffered_records(), 1);
}

#[test]
fn the_direct_put_quota_throttles_with_slow_down() {
    let mut f = Firehose::new(FirehoseConfig {
        records_per_second: 3,
        ..FirehoseConfig::default()
    });
    create(&mut f, "q", s3(json!({})));
    let out = put_batch(&mut f, "q", &[b"1", b"2", b"3", b"4", b"5"], T0);
    assert_eq!(out["FailedPutCount"], 2);
    assert_eq!(
        out["RequestResponses"][4],
        json!({"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."})
    );
    let e = fail(
        &mut f,
        "PutRecord",
        &json!({"DeliveryStreamName": "q", "Record": {"Data": "YQ=="}}),
    );
    assert_eq!(
        (e.name(), e.message()),
        ("ServiceUnavailableException", "Slow down.")
    );
    assert_eq!(f.stream("q").unwrap().path.accounting.throttled_records, 3);
}

#[test]
fn update_destination_bumps_the_version_and_flushes_under_the_old_one() {
    let mut f = service();
    create(
        &mut f,
        "u",
        s3(json!({"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60}})),
    );
    put_batch(&mut f, "u", &[b"old"], T0);
    let e = fail(
        &mut f,
        "UpdateDestination",
        &json!({"DeliveryStreamName": "u", "CurrentDeliveryStreamVersionId": "7",
                    "DestinationId": "destinationId-000000000001",
                    "ExtendedS3DestinationUpdate": {"Prefix": "v2/"}}),
    );
    assert_eq!(e.name(), "ConcurrentModificationException");
    f.call(
        "UpdateDestination",
        &json!({"DeliveryStreamName": "u", "CurrentDeliveryStreamVersionId": "1",
                "DestinationId": "destinationId-000000000001",
                "ExtendedS3DestinationUpdate": {"Prefix": "v2/", "CompressionFormat": "Snappy"}}),
        T0 + 10,
    )
    .unwrap();
    put_batch(&mut f, "u", &[b"new"], T0 + 20);
    f.tick(T0 + 120_000);
    let objs = objects(&f);
    assert!(
        objs[0].0.starts_with("2018/08/27/10/u-1-") && objs[0].1 == b"old",
        "{objs:?}"
    );
    assert!(objs[1].0.starts_with("v2/2018/08/27/10/u-2-") && objs[1].0.ends_with(".snappy"));
    assert_eq!(objs[1].1, b"new");
    let d = describe(&mut f, "u");
    let ext =
        &d["DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"];
    assert_eq!(d["DeliveryStreamDescription"]["VersionId"], "2");
    assert_eq!(
        ext["BufferingHints"]["IntervalInSeconds"], 60,
        "unchanged members stay"
    );
}

#[test]
fn tags_and_encryption() {
    let mut f = service();
    create(&mut f, "t", s3(json!({})));
    f.call(
        "TagDeliveryStream",
        &json!({"DeliveryStreamName": "t", "Tags": [{"Key": "team", "Value": "data"}, {"Key": "env", "Value": "lab"}]}),
        T0,
    )
    .unwrap();
    f.call(
        "UntagDeliveryStream",
        &json!({"DeliveryStreamName": "t", "TagKeys": ["env"]}),
        T0,
    )
    .unwrap();
    let t = f
        .call(
            "ListTagsForDeliveryStream",
            &json!({"DeliveryStreamName": "t"}),
            T0,
        )
        .unwrap();
    assert_eq!(
        t,
        json!({"Tags": [{"Key": "team", "Value": "data"}], "HasMoreTags": false})
    );
    f.call(
        "StartDeliveryStreamEncryption",
        &json!({"DeliveryStreamName": "t"}),
        T0,
    )
    .unwrap();
    let d = describe(&mut f, "t");
    assert_eq!(
        d["DeliveryStreamDescription"]["DeliveryStreamEncryptionConfiguration"],
        json!({"KeyType": "AWS_OWNED_CMK", "Status": "ENABLED"})
    );
}

#[test]
fn the_same_seed_names_objects_the_same() {
    let run = |seed| {
        let mut f = Firehose::new(FirehoseConfig {
            seed,
            ..FirehoseConfig::default()
        });
        create(
            &mut f,
            "d",
            s3(json!({"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}})),
        );
        for i in 0..5u64 {
            put_batch(&mut f, "d", &[format!("{i}").as_bytes()], T0 + i * 1000);
            f.tick(T0 + i * 1000 + 1);
        }
        objects(&f)
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

const LAMBDA_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:shout";

fn with_lambda(f: &mut Firehose, name: &str, retries: u32) {
    create(
        f,
        name,
        s3(json!({
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
            "ProcessingConfiguration": {"Enabled": true, "Processors": [
                {"Type": "Lambda", "Parameters": [
                    {"ParameterName": "LambdaArn", "ParameterValue": LAMBDA_ARN},
                    {"ParameterName": "NumberOfRetries", "ParameterValue": retries.to_string()},
                    {"ParameterName": "BufferIntervalInSeconds", "ParameterValue": "60"}
                ]},
                {"Type": "AppendDelimiterToRecord"}
            ]}
        })),
    );
}

/// A transformation function as a test writes one: upper-cases records
/// starting with 'o', drops those starting with 'd', fails the rest.
fn shout(payload: &[u8]) -> Vec<u8> {
    let event: Value = serde_json::from_slice(payload).unwrap();
    let records: Vec<Value> = event["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let data = BASE64.decode(r["data"].as_str().unwrap()).unwrap();
            let result = match data.first() {
                Some(b'o') => "Ok",
                Some(b'd') => "Dropped",
                _ => "ProcessingFailed",
            };
            json!({"recordId": r["recordId"], "result": result,
                   "data": BASE64.encode(data.to_ascii_uppercase())})
        })
        .collect();
    json!({"records": records}).to_string().into_bytes()
}

#[test]
fn a_lambda_transform_gets_aws_events_and_its_results_are_honoured() {
    let mut f = service();
    with_lambda(&mut f, "l", 3);
    put_batch(
        &mut f,
        "l",
        &[b"ok one", b"drop me", b"fail me", b"ok two"],
        T0,
    );
    f.tick(T0 + 59_999);
    assert!(
        f.take_invocations().is_empty(),
        "the transform buffer waits 60 s"
    );
    f.tick(T0 + 60_000);
    let mut calls = f.take_invocations();
    assert_eq!(calls.len(), 1);
    let (stream, call) = calls.remove(0);
    assert_eq!(
        (stream.as_str(), call.function.as_str(), call.records),
        ("l", "shout", 4)
    );
    let event: Value = serde_json::from_slice(&call.payload).unwrap();
    assert_eq!(
        event["deliveryStreamArn"],
        "arn:aws:firehose:us-east-1:123456789012:deliverystream/l"
    );
    assert_eq!(event["region"], "us-east-1");
    assert_eq!(event["records"][0]["approximateArrivalTimestamp"], T0);
    assert_eq!(event["records"][1]["data"], BASE64.encode(b"drop me"));
    assert_eq!(event["invocationId"].as_str().unwrap().len(), 36);
    let s = f.stream("l").unwrap();
    assert_eq!(s.path.accounting.transforming, 4);
    assert_eq!(s.path.data_freshness_ms(T0 + 60_000), 60_000);

    assert!(f.complete_invocation("l", call.id, Ok(shout(&call.payload)), T0 + 60_100));
    assert!(
        !f.complete_invocation("l", call.id, Ok(shout(&call.payload)), T0 + 60_100),
        "once only"
    );
    f.tick(T0 + 60_100);
    let objs = objects(&f);
    let data = objs.iter().find(|(k, _)| k.starts_with("2018/")).unwrap();
    assert_eq!(data.1, b"OK ONE\nOK TWO\n", "transformed, then delimited");
    let err = objs
        .iter()
        .find(|(k, _)| k.starts_with("processing-failed/"))
        .unwrap();
    let v: Value = serde_json::from_slice(&err.1).unwrap();
    assert_eq!(v["errorCode"], "Lambda.ProcessingFailedStatus");
    assert_eq!(v["lambdaArn"], LAMBDA_ARN);
    assert_eq!(v["rawData"], BASE64.encode(b"fail me"));
    let a = &f.stream("l").unwrap().path.accounting;
    assert_eq!(
        (
            a.transformed_records,
            a.dropped_records,
            a.transform_failed,
            a.delivered_records
        ),
        (2, 1, 1, 2)
    );
    assert!(a.balanced(), "{a:?}");
}

#[test]
fn failed_invocations_are_retried_then_go_to_the_error_output() {
    let mut f = service();
    with_lambda(&mut f, "r", 1);
    put_batch(&mut f, "r", &[b"ok"], T0);
    f.tick(T0 + 60_000);
    let (_, first) = f.take_invocations().remove(0);
    // A response that leaves the record out is an invocation error.
    f.complete_invocation(
        "r",
        first.id,
        Ok(br#"{"records": []}"#.to_vec()),
        T0 + 60_001,
    );
    let (_, retry) = f.take_invocations().remove(0);
    assert_ne!(retry.id, first.id);
    assert_eq!(retry.payload, first.payload, "the same event, again");
    assert!(f
        .stream("r")
        .unwrap()
        .path
        .transform
        .last_error
        .as_deref()
        .unwrap()
        .contains("does not return recordId"));
    f.complete_invocation(
        "r",
        retry.id,
        Err("Task timed out after 3.00 seconds".into()),
        T0 + 60_002,
    );
    assert!(
        f.take_invocations().is_empty(),
        "NumberOfRetries 1: no third try"
    );
    f.tick(T0 + 60_003);
    let objs = objects(&f);
    assert_eq!(objs.len(), 1);
    let v: Value = serde_json::from_slice(&objs[0].1).unwrap();
    assert_eq!(v["errorCode"], "Lambda.FunctionError");
    assert_eq!(v["errorMessage"], "Task timed out after 3.00 seconds");
    assert_eq!(v["attemptsMade"], 2);
    assert!(f.stream("r").unwrap().path.accounting.balanced());
}

#[test]
fn lambda_parameters_are_checked() {
    let mut f = service();
    let bad = |f: &mut Firehose, params: Value| {
        fail(f, "CreateDeliveryStream", &json!({"DeliveryStreamName": "b", "ExtendedS3DestinationConfiguration": s3(json!({
                "ProcessingConfiguration": {"Enabled": true, "Processors": [{"Type": "Lambda", "Parameters": params}]}
            }))}))
        .message()
        .to_string()
    };
    assert!(bad(
        &mut f,
        json!([{"ParameterName": "LambdaArn", "ParameterValue": "my-function"}])
    )
    .contains("is not a Lambda function ARN"));
    assert!(bad(
        &mut f,
        json!([
            {"ParameterName": "LambdaArn", "ParameterValue": LAMBDA_ARN},
            {"ParameterName": "BufferSizeInMBs", "ParameterValue": "4"}
        ])
    )
    .contains("from 0.2 to 3"));
    assert!(bad(
        &mut f,
        json!([
            {"ParameterName": "LambdaArn", "ParameterValue": LAMBDA_ARN},
            {"ParameterName": "BufferIntervalInSeconds", "ParameterValue": "30"}
        ])
    )
    .contains("from 60 to 900"));
}

#[derive(Clone, Debug)]
enum Step {
    Put(Vec<Vec<u8>>),
    Advance(u64),
    Outage(bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..3000),
                Just(br#"{"k":1}{"k":2}"#.to_vec()),
                Just(b"{broken".to_vec()),
            ],
            1..20
        )
        .prop_map(Step::Put),
        3 => (0u64..400_000).prop_map(Step::Advance),
        1 => any::<bool>().prop_map(Step::Outage),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Under random outages and processing failures, every accepted record
    /// is accounted for at every tick, and once the bucket is back and time
    /// passes, every processed record is delivered, in order.
    #[test]
    fn nothing_is_lost_silently(
        steps in prop::collection::vec(step(), 1..40),
        interval in 0u32..120,
        json_records in any::<bool>(),
        lambda in any::<bool>(),
    ) {
        let mut f = service();
        // JSON de-aggregation fails on records that are not JSON, which go
        // to the error output; '|'-delimited de-aggregation never fails.
        let params = if json_records {
            json!([{"ParameterName": "SubRecordType", "ParameterValue": "JSON"}])
        } else {
            json!([{"ParameterName": "SubRecordType", "ParameterValue": "DELIMITED"},
                   {"ParameterName": "Delimiter", "ParameterValue": "fA=="}])
        };
        let mut processors = vec![json!({"Type": "RecordDeAggregation", "Parameters": params})];
        if lambda {
            processors.push(json!({"Type": "Lambda", "Parameters": [
                {"ParameterName": "LambdaArn", "ParameterValue": LAMBDA_ARN},
                {"ParameterName": "NumberOfRetries", "ParameterValue": "1"},
                {"ParameterName": "BufferSizeInMBs", "ParameterValue": "0.2"}
            ]}));
        }
        create(&mut f, "p", s3(json!({
            "Prefix": "ok/",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": interval},
            "CompressionFormat": "GZIP",
            "ProcessingConfiguration": {"Enabled": true, "Processors": processors}
        })));
        let processors = f.stream("p").unwrap().destination.processors.clone();
        let mut now = T0;
        let mut expected: Vec<u8> = Vec::new();
        let mut failed = 0u64;
        for s in steps {
            match s {
                Step::Put(records) => {
                    let refs: Vec<&[u8]> = records.iter().map(|r| r.as_slice()).collect();
                    let out = put_batch(&mut f, "p", &refs, now);
                    for (r, resp) in records.iter().zip(out["RequestResponses"].as_array().unwrap()) {
                        if resp.get("RecordId").is_some() {
                            match crate::config::process(&processors, r.clone()) {
                                Ok(parts) => expected.extend(parts.into_iter().flatten()),
                                Err(_) => failed += 1,
                            }
                        }
                    }
                }
                Step::Advance(ms) => now += ms,
                Step::Outage(on) => { f.set_unavailable(&Sink::Bucket("lab-bucket".into()), on); }
            }
            f.tick(now);
            // The test's function: odd invocations fail (and are retried
            // once), the others say Ok to every record.
            for (_, call) in f.take_invocations() {
                let outcome = if call.id % 2 == 1 {
                    Err("boom".to_string())
                } else {
                    let event: Value = serde_json::from_slice(&call.payload).unwrap();
                    let records: Vec<Value> = event["records"].as_array().unwrap().iter()
                        .map(|r| json!({"recordId": r["recordId"], "result": "Ok", "data": r["data"]}))
                        .collect();
                    Ok(json!({"records": records}).to_string().into_bytes())
                };
                f.complete_invocation("p", call.id, outcome, now);
            }
            let a = &f.stream("p").unwrap().path.accounting;
            prop_assert!(a.balanced(), "{a:?}");
        }
        f.set_unavailable(&Sink::Bucket("lab-bucket".into()), false);
        now += 1_000_000;
        f.tick(now);
        for (_, call) in f.take_invocations() {
            f.complete_invocation("p", call.id, Err("boom".into()), now);
        }
        for (_, call) in f.take_invocations() {
            f.complete_invocation("p", call.id, Err("boom".into()), now);
        }
        f.tick(now);
        let a = f.stream("p").unwrap().path.accounting.clone();
        prop_assert!(a.balanced());
        prop_assert_eq!(a.transforming, 0);
        prop_assert_eq!(a.buffered_records, 0);
        prop_assert_eq!(a.expired_records, 0);
        if !lambda {
            prop_assert_eq!(a.error_delivered, failed);
        } else {
            // Records whose invocation failed twice went to the error
            // output instead: every one is accounted for there.
            prop_assert_eq!(a.error_delivered, failed + a.transform_failed);
            return Ok(());
        }
        let delivered: Vec<u8> = f
            .bucket("lab-bucket").unwrap().objects.iter()
            .filter(|(k, _)| k.starts_with("ok/2"))
            .map(|(_, o)| o)
            .collect::<Vec<_>>()
            .into_iter()
            .map(|o| (o.sequence, o.compression.decompress(&o.body).unwrap()))
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_values()
            .flatten()
            .collect();
        prop_assert_eq!(delivered, expected);
    }
}

fn partitioned(f: &mut Firehose, name: &str, query: &str, prefix: &str) {
    create(
        f,
        name,
        s3(json!({
            "Prefix": prefix,
            "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
            "DynamicPartitioningConfiguration": {"Enabled": true, "RetryOptions": {"DurationInSeconds": 300}},
            "ProcessingConfiguration": {"Enabled": true, "Processors": [
                {"Type": "MetadataExtraction", "Parameters": [
                    {"ParameterName": "MetadataExtractionQuery", "ParameterValue": query},
                    {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}
                ]},
                {"Type": "AppendDelimiterToRecord"}
            ]}
        })),
    );
}

#[test]
fn dynamic_partitioning_the_developer_guide_example() {
    let mut f = service();
    partitioned(
        &mut f,
        "my-delivery-stream",
        r#"{customer_id:.customer_id,device:.type.device,year:.event_timestamp|strftime("%Y"),month:.event_timestamp|strftime("%m"),day:.event_timestamp|strftime("%d"),hour:.event_timestamp|strftime("%H")}"#,
        "customer_id=!{partitionKeyFromQuery:customer_id}/device=!{partitionKeyFromQuery:device}/year=!{partitionKeyFromQuery:year}/month=!{partitionKeyFromQuery:month}/day=!{partitionKeyFromQuery:day}/hour=!{partitionKeyFromQuery:hour}/",
    );
    let record = br#"{"type":{"device":"mobile","event":"user_clicked_submit_button"},"customer_id":"1234567890","event_timestamp":1565382027,"region":"sample_region"}"#;
    put_batch(&mut f, "my-delivery-stream", &[record], T0);
    f.tick(T0 + 60_000);
    let objs = objects(&f);
    assert_eq!(objs.len(), 1);
    // The partition from the record; the object name's time from arrival.
    assert!(
        objs[0].0.starts_with(
            "customer_id=1234567890/device=mobile/year=2019/month=08/day=09/hour=20/my-delivery-stream-1-2018-08-27-10-30-00-"
        ),
        "{}",
        objs[0].0
    );
    let d = describe(&mut f, "my-delivery-stream");
    assert_eq!(
        d["DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"]
            ["DynamicPartitioningConfiguration"],
        json!({"Enabled": true, "RetryOptions": {"DurationInSeconds": 300}})
    );
}

#[test]
fn each_partition_has_its_own_buffer_and_failures_go_to_the_error_output() {
    let mut f = service();
    partitioned(
        &mut f,
        "dp",
        "{c: .customer}",
        "c=!{partitionKeyFromQuery:c}/",
    );
    let big = format!(r#"{{"customer":"big","pad":"{}"}}"#, "x".repeat(300_000));
    put_batch(&mut f, "dp", &[br#"{"customer":"small"}"#], T0);
    put_batch(
        &mut f,
        "dp",
        &[
            big.as_bytes(),
            big.as_bytes(),
            big.as_bytes(),
            big.as_bytes(),
        ],
        T0 + 10,
    );
    put_batch(&mut f, "dp", &[b"not json", br#"{"other":1}"#], T0 + 20);
    f.tick(T0 + 30);
    let s = f.stream("dp").unwrap();
    assert_eq!(
        s.path.active_partitions(),
        1,
        "big sealed on its size, small still waits"
    );
    let objs = objects(&f);
    let keys: Vec<&String> = objs.iter().map(|(k, _)| k).collect();
    assert!(
        keys.iter().any(|k| k.starts_with("c=big/dp-1-")),
        "{keys:?}"
    );
    let errors: Vec<_> = objs
        .iter()
        .filter(|(k, _)| k.starts_with("errors/processing-failed/"))
        .collect();
    assert_eq!(errors.len(), 1);
    let lines: Vec<Value> = errors[0]
        .1
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "the tick's failures share one object");
    assert_eq!(
        lines[0]["errorCode"],
        "DynamicPartitioning.MetadataExtractionFailed"
    );
    f.tick(T0 + 60_000);
    let objs = objects(&f);
    assert!(objs
        .iter()
        .any(|(k, b)| k.starts_with("c=small/") && b == b"{\"customer\":\"small\"}\n"));
    let a = &f.stream("dp").unwrap().path.accounting;
    assert_eq!(a.partition_failed, 2);
    assert!(a.balanced(), "{a:?}");
}

#[test]
fn past_the_active_partition_limit_records_go_to_the_error_output() {
    let mut f = service();
    partitioned(&mut f, "many", "{c: .c}", "c=!{partitionKeyFromQuery:c}/");
    let records: Vec<String> = (0..501).map(|i| format!(r#"{{"c":"{i}"}}"#)).collect();
    for chunk in records.chunks(500) {
        let refs: Vec<&[u8]> = chunk.iter().map(|r| r.as_bytes()).collect();
        put_batch(&mut f, "many", &refs, T0);
    }
    f.tick(T0 + 1);
    assert_eq!(f.stream("many").unwrap().path.active_partitions(), 500);
    let objs = objects(&f);
    let over = objs
        .iter()
        .find(|(k, _)| k.starts_with("errors/activePartitionExceeded/"))
        .unwrap();
    let v: Value = serde_json::from_slice(over.1.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(
        v["errorCode"],
        "DynamicPartitioning.ActivePartitionsLimitExceeded"
    );
    assert_eq!(v["rawData"], BASE64.encode(br#"{"c":"500"}"#));
}

#[test]
fn partition_keys_can_come_from_the_lambda() {
    let mut f = service();
    create(
        &mut f,
        "lk",
        s3(json!({
            "Prefix": "tenant=!{partitionKeyFromLambda:tenant}/",
            "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
            "DynamicPartitioningConfiguration": {"Enabled": true},
            "ProcessingConfiguration": {"Enabled": true, "Processors": [
                {"Type": "Lambda", "Parameters": [{"ParameterName": "LambdaArn", "ParameterValue": LAMBDA_ARN}]}
            ]}
        })),
    );
    put_batch(&mut f, "lk", &[b"a:1", b"b:2"], T0);
    f.tick(T0 + 60_000);
    let (_, call) = f.take_invocations().remove(0);
    let event: Value = serde_json::from_slice(&call.payload).unwrap();
    let records: Vec<Value> = event["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let data = BASE64.decode(r["data"].as_str().unwrap()).unwrap();
            json!({"recordId": r["recordId"], "result": "Ok", "data": r["data"],
               "metadata": {"partitionKeys": {"tenant": String::from_utf8_lossy(&data[..1])}}})
        })
        .collect();
    f.complete_invocation(
        "lk",
        call.id,
        Ok(json!({"records": records}).to_string().into_bytes()),
        T0 + 60_000,
    );
    f.tick(T0 + 120_000);
    let keys: Vec<String> = objects(&f).into_iter().map(|(k, _)| k).collect();
    assert!(
        keys.iter().any(|k| k.starts_with("tenant=a/lk-1-")),
        "{keys:?}"
    );
    assert!(
        keys.iter().any(|k| k.starts_with("tenant=b/lk-1-")),
        "{keys:?}"
    );
}

#[test]
fn dynamic_partitioning_is_checked_as_aws_checks_it() {
    let mut f = service();
    let err = |f: &mut Firehose, dest: Value| {
        fail(
            f,
            "CreateDeliveryStream",
            &json!({"DeliveryStreamName": "x", "ExtendedS3DestinationConfiguration": s3(dest)}),
        )
        .message()
        .to_string()
    };
    let processors = json!({"Enabled": true, "Processors": [{"Type": "MetadataExtraction", "Parameters": [
        {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{c: .c}"},
        {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]}]});
    let dp = json!({"Enabled": true});
    assert!(err(&mut f, json!({"Prefix": "p/", "ErrorOutputPrefix": "e/", "DynamicPartitioningConfiguration": dp, "ProcessingConfiguration": processors}))
        .contains("at least one partitionKeyFromQuery"));
    assert!(err(&mut f, json!({"Prefix": "d=!{partitionKeyFromQuery:d}/", "ErrorOutputPrefix": "e/", "DynamicPartitioningConfiguration": dp, "ProcessingConfiguration": processors}))
        .contains("extracts the key d"));
    assert!(err(&mut f, json!({"Prefix": "c=!{partitionKeyFromQuery:c}/", "DynamicPartitioningConfiguration": dp, "ProcessingConfiguration": processors}))
        .contains("ErrorOutputPrefix cannot be null"));
    assert!(err(&mut f, json!({"Prefix": "c=!{partitionKeyFromQuery:c}/", "ErrorOutputPrefix": "e/", "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 0}, "DynamicPartitioningConfiguration": dp, "ProcessingConfiguration": processors}))
        .contains("Zero buffering"));
    assert!(err(&mut f, json!({"ProcessingConfiguration": processors})).contains("not enabled"));
    create(
        &mut f,
        "ok",
        s3(
            json!({"Prefix": "c=!{partitionKeyFromQuery:c}/", "ErrorOutputPrefix": "e/", "DynamicPartitioningConfiguration": dp, "ProcessingConfiguration": processors}),
        ),
    );
    let e = fail(
        &mut f,
        "UpdateDestination",
        &json!({"DeliveryStreamName": "ok", "CurrentDeliveryStreamVersionId": "1",
                    "DestinationId": "destinationId-000000000001",
                    "ExtendedS3DestinationUpdate": {"DynamicPartitioningConfiguration": {"Enabled": false}}}),
    );
    assert!(e.message().contains("never disabled"), "{e}");
}

fn to_opensearch(
    f: &mut Firehose,
    name: &str,
    extra: Value,
) -> Result<Value, shardlab_engine::ApiError> {
    let mut os = json!({
        "RoleARN": "arn:aws:iam::123456789012:role/firehose",
        "DomainARN": "arn:aws:es:us-east-1:123456789012:domain/logs",
        "IndexName": "clicks",
        "IndexRotationPeriod": "OneDay",
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
        "RetryOptions": {"DurationInSeconds": 120},
        "S3Configuration": {
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": "arn:aws:s3:::lab-bucket",
            "Prefix": "backup/"
        }
    });
    if let (Value::Object(b), Value::Object(e)) = (&mut os, extra) {
        b.extend(e);
    }
    f.call(
        "CreateDeliveryStream",
        &json!({"DeliveryStreamName": name, "AmazonopensearchserviceDestinationConfiguration": os}),
        T0,
    )
}

#[test]
fn opensearch_indexes_documents_in_rotated_indices_and_backs_up_failures() {
    let mut f = service();
    to_opensearch(&mut f, "os", json!({})).unwrap();
    put_batch(
        &mut f,
        "os",
        &[
            br#"{"user":"u1","action":"click"}"#,
            b"not json",
            br#"{"user":"u2","action":"buy"}"#,
        ],
        T0,
    );
    f.tick(T0 + 59_000);
    assert_eq!(
        f.domain("logs").unwrap().documents(),
        0,
        "buffered for 60 s"
    );
    f.tick(T0 + 60_000);
    let domain = f.domain("logs").unwrap();
    assert_eq!(
        domain.indices.keys().collect::<Vec<_>>(),
        ["clicks-2018-08-27"]
    );
    let (hits, total) = domain.search("clicks-2018-08-27", "action:buy", 10);
    assert_eq!((total, hits[0].source["user"].as_str()), (1, Some("u2")));
    // FIREHOSE_DEFAULT ids: stable, distinct.
    assert!(hits[0].id.ends_with("-0000000003"), "{}", hits[0].id);
    f.tick(T0 + 60_100);
    let objs = objects(&f);
    let failed = objs
        .iter()
        .find(|(k, _)| k.starts_with("backup/AmazonOpenSearchService-failed/2018/08/27/10/os-1-"))
        .expect("the refused document is in the backup bucket");
    let v: Value = serde_json::from_slice(&failed.1).unwrap();
    assert_eq!(v["esIndexName"], "clicks-2018-08-27");
    assert_eq!(v["rawData"], BASE64.encode(b"not json"));
    let a = &f.stream("os").unwrap().path.accounting;
    assert_eq!(
        (a.delivered_records, a.delivery_failed, a.error_delivered),
        (2, 1, 1)
    );
    assert!(a.balanced(), "{a:?}");
    let d = describe(&mut f, "os");
    let desc = &d["DeliveryStreamDescription"]["Destinations"][0]
        ["AmazonopensearchserviceDestinationDescription"];
    assert_eq!(desc["IndexRotationPeriod"], "OneDay");
    assert_eq!(desc["S3BackupMode"], "FailedDocumentsOnly");
    assert_eq!(
        desc["S3DestinationDescription"]["BucketARN"],
        "arn:aws:s3:::lab-bucket"
    );
}

#[test]
fn an_unavailable_domain_is_retried_for_the_retry_duration_then_backed_up() {
    let mut f = service();
    to_opensearch(&mut f, "os", json!({"S3BackupMode": "AllDocuments"})).unwrap();
    assert!(f.set_unavailable(&Sink::Domain("logs".into()), true));
    put_batch(&mut f, "os", &[br#"{"n":1}"#], T0);
    for t in (60..=179).map(|s| T0 + s * 1000) {
        f.tick(t);
    }
    assert_eq!(
        f.stream("os").unwrap().path.accounting.delivery_failed,
        0,
        "still retrying"
    );
    for t in (180..=240).map(|s| T0 + s * 1000) {
        f.tick(t);
    }
    let a = &f.stream("os").unwrap().path.accounting;
    assert_eq!(
        (a.delivered_records, a.delivery_failed, a.error_delivered),
        (0, 1, 1)
    );
    assert!(a.balanced());
    let keys: Vec<String> = objects(&f).into_iter().map(|(k, _)| k).collect();
    // AllDocuments: the batch is also backed up as it came.
    assert!(
        keys.iter()
            .any(|k| k.starts_with("backup/2018/08/27/10/os-1-")),
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .any(|k| k.starts_with("backup/AmazonOpenSearchService-failed/")),
        "{keys:?}"
    );
}

#[test]
fn opensearch_configurations_are_checked() {
    let mut f = service();
    let e = to_opensearch(&mut f, "a", json!({"IndexRotationPeriod": "OneYear"})).unwrap_err();
    assert!(
        e.message()
            .contains("NoRotation, OneHour, OneDay, OneWeek, OneMonth"),
        "{e}"
    );
    let e = to_opensearch(
        &mut f,
        "b",
        json!({"BufferingHints": {"SizeInMBs": 101, "IntervalInSeconds": 60}}),
    )
    .unwrap_err();
    assert!(e.message().contains("less than or equal to 100"), "{e}");
    let e = to_opensearch(
        &mut f,
        "c",
        json!({"DomainARN": "arn:aws:es:us-east-1:123456789012:domain/X"}),
    )
    .unwrap_err();
    assert!(
        e.message().contains("is not an OpenSearch domain ARN"),
        "{e}"
    );
    let e = to_opensearch(&mut f, "d", json!({"S3Configuration": null})).unwrap_err();
    assert!(e.message().contains("s3Configuration"), "{e}");
}

fn minutes(f: &Firehose, name: &str) -> Vec<crate::MinuteMetrics> {
    f.stream(name)
        .unwrap()
        .path
        .minutes
        .iter()
        .cloned()
        .collect()
}

#[test]
fn metrics_are_kept_per_minute_under_cloudwatch_names() {
    let mut f = service();
    create(
        &mut f,
        "m",
        s3(json!({"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60}})),
    );
    // 2018-08-27 10:30:00: ten records a second for three minutes.
    for s in 0..180u64 {
        let now = T0 + s * 1000;
        put_batch(&mut f, "m", &[&b"0123456789"[..]; 10], now);
        f.tick(now);
    }
    f.tick(T0 + 180_000);
    let m = minutes(&f, "m");
    assert_eq!(m.len(), 3);
    assert_eq!(m[0].minute_ms, T0);
    assert_eq!(m[0].incoming_records, 600);
    assert_eq!(m[0].incoming_bytes, 6000);
    assert_eq!(m[0].incoming_put_requests, 60);
    // The first object lands at 60 s, in the second minute, with the
    // records put at 0–60 s.
    assert_eq!((m[0].delivery_records, m[1].delivery_records), (0, 610));
    assert_eq!(m[1].delivery_success_permille, Some(1000));
    assert_eq!(m[0].delivery_success_permille, None);
    assert_eq!(m[0].data_freshness_ms, 59_000);
    // Three idle minutes, then a tick: the idle ones are there, empty.
    f.tick(T0 + 420_000);
    let m = minutes(&f, "m");
    assert_eq!(
        m.iter()
            .map(|x| (x.minute_ms - T0) / 60_000)
            .collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5, 6]
    );
    assert_eq!(m[5].incoming_records, 0);
}

#[test]
fn past_the_request_quota_the_whole_call_is_refused() {
    let mut f = Firehose::new(FirehoseConfig {
        requests_per_second: 1,
        ..FirehoseConfig::default()
    });
    create(&mut f, "r", s3(json!({})));
    put_batch(&mut f, "r", &[b"1"], T0);
    let e = fail(
        &mut f,
        "PutRecordBatch",
        &json!({"DeliveryStreamName": "r", "Records": [{"Data": "YQ=="}, {"Data": "Yg=="}]}),
    );
    assert_eq!(
        (e.name(), e.message()),
        ("ServiceUnavailableException", "Slow down.")
    );
    let a = &f.stream("r").unwrap().path.accounting;
    assert_eq!((a.incoming_records, a.throttled_records), (1, 2));
}

#[test]
fn an_update_that_removes_the_transform_leaves_no_record_behind() {
    let mut f = service();
    with_lambda(&mut f, "u", 0);
    put_batch(&mut f, "u", &[b"ok 1", b"ok 2"], T0);
    // The update sends what waits for the transform under the old
    // configuration; its answer still counts after the transform is gone.
    f.call(
        "UpdateDestination",
        &json!({"DeliveryStreamName": "u", "CurrentDeliveryStreamVersionId": "1",
                "DestinationId": "destinationId-000000000001",
                "ExtendedS3DestinationUpdate": {"ProcessingConfiguration": {"Enabled": false, "Processors": []}}}),
        T0 + 1,
    )
    .unwrap();
    let (_, call) = f.take_invocations().remove(0);
    assert_eq!(call.records, 2);
    assert!(f.complete_invocation("u", call.id, Ok(shout(&call.payload)), T0 + 2));
    f.tick(T0 + 3);
    let a = &f.stream("u").unwrap().path.accounting;
    assert_eq!((a.transforming, a.delivered_records), (0, 2), "{a:?}");
    assert!(a.balanced());
}

#[test]
fn what_was_sealed_before_an_update_goes_to_the_old_bucket() {
    let mut f = service();
    create(
        &mut f,
        "b",
        s3(json!({"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60}})),
    );
    f.set_unavailable(&Sink::Bucket("lab-bucket".into()), true);
    put_batch(&mut f, "b", &[b"old"], T0);
    f.tick(T0 + 60_000);
    f.call(
        "UpdateDestination",
        &json!({"DeliveryStreamName": "b", "CurrentDeliveryStreamVersionId": "1",
                "DestinationId": "destinationId-000000000001",
                "ExtendedS3DestinationUpdate": {"BucketARN": "arn:aws:s3:::other-bucket"}}),
        T0 + 60_001,
    )
    .unwrap();
    put_batch(&mut f, "b", &[b"new"], T0 + 60_002);
    f.set_unavailable(&Sink::Bucket("lab-bucket".into()), false);
    f.tick(T0 + 200_000);
    assert_eq!(
        objects(&f)
            .iter()
            .map(|(_, b)| b.clone())
            .collect::<Vec<_>>(),
        [b"old".to_vec()]
    );
    assert_eq!(f.bucket("other-bucket").unwrap().objects.len(), 1);
}

#[test]
fn a_backup_bucket_outage_does_not_hold_up_the_domain() {
    let mut f = service();
    to_opensearch(&mut f, "os", json!({"S3BackupMode": "AllDocuments"})).unwrap();
    f.set_unavailable(&Sink::Bucket("lab-bucket".into()), true);
    put_batch(&mut f, "os", &[br#"{"n":1}"#], T0);
    f.tick(T0 + 60_000);
    assert_eq!(f.domain("logs").unwrap().documents(), 1);
    let s = f.stream("os").unwrap();
    assert_eq!(
        s.path.pending_objects(),
        1,
        "the backup copy waits for its bucket"
    );
    assert!(s.path.accounting.balanced());
}

#[test]
fn a_partition_stays_active_until_its_object_is_delivered() {
    let mut f = service();
    partitioned(&mut f, "dp", "{c: .c}", "c=!{partitionKeyFromQuery:c}/");
    f.set_unavailable(&Sink::Bucket("lab-bucket".into()), true);
    put_batch(&mut f, "dp", &[br#"{"c":"a"}"#, br#"{"c":"b"}"#], T0);
    f.tick(T0 + 60_000);
    let s = f.stream("dp").unwrap();
    assert_eq!(s.path.buffered_records(), 0, "both buffers sealed");
    assert_eq!(
        s.path.active_partitions(),
        2,
        "their objects are not delivered yet"
    );
    f.set_unavailable(&Sink::Bucket("lab-bucket".into()), false);
    f.tick(T0 + 300_000);
    assert_eq!(f.stream("dp").unwrap().path.active_partitions(), 0);
}

/// A Glue table `lab.trades` and a delivery stream converting to Parquet
/// with a 60-second interval.
fn parquet_stream(f: &mut Firehose, name: &str) {
    f.glue_call(
        "CreateDatabase",
        &json!({"DatabaseInput": {"Name": "lab"}}),
        T0,
    )
    .unwrap();
    f.glue_call(
        "CreateTable",
        &json!({"DatabaseName": "lab", "TableInput": {"Name": "trades", "StorageDescriptor": {
        "Columns": [
            {"Name": "ticker", "Type": "string"},
            {"Name": "price", "Type": "double"},
            {"Name": "qty", "Type": "int"}
        ]}}}),
        T0,
    )
    .unwrap();
    create(
        f,
        name,
        s3(json!({
            "Prefix": "trades/",
            "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
            "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 60},
            "DataFormatConversionConfiguration": {
                "SchemaConfiguration": {"RoleARN": "arn:aws:iam::123456789012:role/firehose", "DatabaseName": "lab", "TableName": "trades"},
                "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
                "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {}}}
            }
        })),
    );
}

#[test]
fn format_conversion_writes_parquet_and_files_what_does_not_fit() {
    let mut f = service();
    parquet_stream(&mut f, "trades");
    let d = describe(&mut f, "trades");
    let ext =
        &d["DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"];
    assert_eq!(ext["DataFormatConversionConfiguration"]["Enabled"], true);
    assert_eq!(
        ext["DataFormatConversionConfiguration"]["SchemaConfiguration"]["TableName"],
        "trades"
    );
    put_batch(
        &mut f,
        "trades",
        &[
            br#"{"ticker":"AMZN","price":181.5,"qty":10}"#,
            br#"{"ticker":"MSFT","price":"410.25","qty":"3","venue":"X"}"#,
            br#"{"ticker":"BAD","qty":"lots"}"#,
            b"not json",
        ],
        T0,
    );
    // Nothing before the interval: the buffer holds all four.
    f.tick(T0 + 59_000);
    assert!(objects(&f).is_empty());
    f.tick(T0 + 60_000);
    let objs = objects(&f);
    let (key, body) = objs
        .iter()
        .find(|(k, _)| k.starts_with("trades/"))
        .expect("a Parquet object");
    assert!(
        key.starts_with("trades/2018/08/27/10/trades-1-2018-08-27-10-30-00-"),
        "{key}"
    );
    assert!(key.ends_with(".parquet"), "{key}");
    let (rows, total) = crate::convert::read_rows(body, 10).unwrap();
    assert_eq!(total, 2);
    assert_eq!(rows[0], r#"{"ticker":"AMZN","price":181.5,"qty":10}"#);
    assert_eq!(rows[1], r#"{"ticker":"MSFT","price":410.25,"qty":3}"#);
    let (err_key, errors) = objs
        .iter()
        .find(|(k, _)| k.starts_with("errors/"))
        .expect("an error object");
    assert!(
        err_key.starts_with("errors/format-conversion-failed/"),
        "{err_key}"
    );
    let docs: Vec<Value> = String::from_utf8(errors.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 2);
    assert_eq!(
        docs[0]["lastErrorCode"],
        "DataFormatConversion.MalformedData"
    );
    assert_eq!(
        docs[0]["lastErrorMessage"],
        "Data does not match the schema. For input string: \"lots\""
    );
    assert_eq!(docs[0]["dataCatalogTable"]["tableName"], "trades");
    assert_eq!(docs[0]["dataCatalogTable"]["versionId"], "LATEST");
    assert_eq!(
        BASE64.decode(docs[1]["rawData"].as_str().unwrap()).unwrap(),
        b"not json"
    );
    assert_eq!(docs[1]["lastErrorCode"], "DataFormatConversion.ParseError");
    let a = &f.stream("trades").unwrap().path.accounting;
    assert!(a.balanced(), "{a:?}");
    assert_eq!((a.converted_records, a.conversion_failed), (2, 2));
    assert_eq!(a.delivered_records, 2);
    assert_eq!(a.error_delivered, 2);
}

#[test]
fn format_conversion_is_checked_as_aws_checks_it() {
    let mut f = service();
    parquet_stream(&mut f, "trades");
    let conversion = json!({
        "SchemaConfiguration": {"RoleARN": "arn:aws:iam::123456789012:role/firehose", "DatabaseName": "lab", "TableName": "trades"},
        "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
        "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {"Compression": "GZIP"}}}
    });
    let request =
        |s3: Value| json!({"DeliveryStreamName": "x", "ExtendedS3DestinationConfiguration": s3});
    // No hints given: 128 MiB / 300 s.
    create(
        &mut f,
        "defaults",
        s3(json!({"DataFormatConversionConfiguration": conversion})),
    );
    let d = describe(&mut f, "defaults");
    assert_eq!(
        d["DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"]
            ["BufferingHints"],
        json!({"SizeInMBs": 128, "IntervalInSeconds": 300})
    );
    let e = fail(
        &mut f,
        "CreateDeliveryStream",
        &request(s3(
            json!({"CompressionFormat": "GZIP", "DataFormatConversionConfiguration": conversion}),
        )),
    );
    assert_eq!(e.name(), "InvalidArgumentException");
    assert!(e.message().contains("must be set to UNCOMPRESSED"));
    let e = fail(
        &mut f,
        "CreateDeliveryStream",
        &request(s3(
            json!({"BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 60}, "DataFormatConversionConfiguration": conversion}),
        )),
    );
    assert_eq!(
        e.message(),
        "BufferingHints.SizeInMBs must be at least 64 when data format conversion is enabled."
    );
    let e = fail(
        &mut f,
        "CreateDeliveryStream",
        &json!({"DeliveryStreamName": "x", "S3DestinationConfiguration": s3(json!({"DataFormatConversionConfiguration": conversion}))}),
    );
    assert!(e.message().contains("only available on the extended S3"));
    // A stream with 5 MiB buffers cannot start converting without new hints.
    create(&mut f, "plain", s3(json!({})));
    let e = fail(
        &mut f,
        "UpdateDestination",
        &json!({"DeliveryStreamName": "plain", "CurrentDeliveryStreamVersionId": "1",
                "DestinationId": "destinationId-000000000001",
                "ExtendedS3DestinationUpdate": {"DataFormatConversionConfiguration": conversion}}),
    );
    assert!(e
        .message()
        .starts_with("BufferingHints.SizeInMBs must be at least 64"));
    f.call(
        "UpdateDestination",
        &json!({"DeliveryStreamName": "plain", "CurrentDeliveryStreamVersionId": "1",
                "DestinationId": "destinationId-000000000001",
                "ExtendedS3DestinationUpdate": {"BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 0},
                    "DataFormatConversionConfiguration": conversion}}),
        T0,
    )
    .unwrap();
    put_batch(&mut f, "plain", &[br#"{"ticker":"A","price":1}"#], T0);
    f.tick(T0 + 1);
    let objs = objects(&f);
    let (key, body) = objs.iter().find(|(k, _)| k.contains("plain-2-")).unwrap();
    assert!(key.ends_with(".parquet"));
    assert_eq!(
        crate::convert::read_rows(body, 1).unwrap().0,
        vec![r#"{"ticker":"A","price":1.0,"qty":null}"#.to_string()]
    );
    // An update keeps the members it does not name: switched off and on
    // again, the conversion has its table and SerDes.
    for enabled in [false, true] {
        let version = describe(&mut f, "plain")["DeliveryStreamDescription"]["VersionId"].clone();
        f.call(
            "UpdateDestination",
            &json!({"DeliveryStreamName": "plain", "CurrentDeliveryStreamVersionId": version,
                    "DestinationId": "destinationId-000000000001",
                    "ExtendedS3DestinationUpdate": {"DataFormatConversionConfiguration": {"Enabled": enabled}}}),
            T0,
        )
        .unwrap();
    }
    let d = describe(&mut f, "plain");
    let c = &d["DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"]
        ["DataFormatConversionConfiguration"];
    assert_eq!(c["Enabled"], true);
    assert_eq!(c["SchemaConfiguration"]["TableName"], "trades");
    // Switching compression on while converting is refused (the merged
    // configuration is checked).
    let e = fail(
        &mut f,
        "UpdateDestination",
        &json!({"DeliveryStreamName": "plain", "CurrentDeliveryStreamVersionId": "4",
                "DestinationId": "destinationId-000000000001",
                "ExtendedS3DestinationUpdate": {"CompressionFormat": "GZIP"}}),
    );
    assert!(
        e.message().contains("must be set to UNCOMPRESSED"),
        "{}",
        e.message()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// With format conversion, under outages, every record is converted or
    /// filed as failed, and accounted for at every tick.
    #[test]
    fn conversion_loses_nothing(
        steps in prop::collection::vec(prop_oneof![
            3 => prop::collection::vec(prop_oneof![
                (0u32..1000, -5.0f64..5.0).prop_map(|(q, p)| format!(r#"{{"ticker":"T{}","price":{p},"qty":{q}}}"#, q % 5).into_bytes()),
                Just(br#"{"qty":"x"}"#.to_vec()),
                Just(b"[1,2]".to_vec()),
                Just(br#"{"ticker":"A"}{"ticker":"B","qty":"7"}"#.to_vec()),
            ], 1..30).prop_map(Step::Put),
            2 => (0u64..90_000).prop_map(Step::Advance),
            1 => any::<bool>().prop_map(Step::Outage),
        ], 1..30),
    ) {
        let mut f = service();
        parquet_stream(&mut f, "p");
        let mut now = T0;
        let mut put = 0u64;
        for s in steps {
            match s {
                Step::Put(records) => {
                    let refs: Vec<&[u8]> = records.iter().map(|r| r.as_slice()).collect();
                    put_batch(&mut f, "p", &refs, now);
                    put += records.len() as u64;
                }
                Step::Advance(ms) => now += ms,
                Step::Outage(on) => { f.set_unavailable(&Sink::Bucket("lab-bucket".into()), on); }
            }
            f.tick(now);
            let a = &f.stream("p").unwrap().path.accounting;
            prop_assert!(a.balanced(), "{a:?}");
        }
        f.set_unavailable(&Sink::Bucket("lab-bucket".into()), false);
        f.tick(now + 1_000_000);
        let a = f.stream("p").unwrap().path.accounting.clone();
        prop_assert!(a.balanced());
        prop_assert_eq!(a.buffered_records, 0);
        prop_assert_eq!(a.converted_records + a.conversion_failed, put);
        prop_assert_eq!(a.delivered_records, a.converted_records);
        prop_assert_eq!(a.error_delivered, a.conversion_failed);
        // Every row written is in a readable Parquet object.
        let rows: u64 = f.bucket("lab-bucket").unwrap().objects.iter()
            .filter(|(k, _)| k.starts_with("trades/"))
            .map(|(_, o)| crate::convert::read_rows(&o.body, 0).unwrap().1)
            .sum();
        prop_assert!(rows >= a.converted_records);
    }
}

fn to_http(f: &mut Firehose, name: &str, extra: Value) -> Result<Value, shardlab_engine::ApiError> {
    let mut h = json!({
        "EndpointConfiguration": {"Url": "https://receiver.example.com/in", "Name": "receiver",
                                  "AccessKey": "k-123"},
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
        "RetryOptions": {"DurationInSeconds": 30},
        "S3Configuration": {
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": "arn:aws:s3:::lab-bucket",
            "Prefix": "backup/"
        }
    });
    if let (Value::Object(b), Value::Object(e)) = (&mut h, extra) {
        b.extend(e);
    }
    f.call(
        "CreateDeliveryStream",
        &json!({"DeliveryStreamName": name, "HttpEndpointDestinationConfiguration": h}),
        T0,
    )
}

/// A conforming answer to `request`.
fn accept(request: &crate::http::HttpRequest) -> crate::http::HttpOutcome {
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    crate::http::HttpOutcome::Response {
        status: 200,
        content_type: Some("application/json".into()),
        body: json!({"requestId": body["requestId"], "timestamp": 1})
            .to_string()
            .into_bytes(),
    }
}

fn refuse(status: u16) -> crate::http::HttpOutcome {
    crate::http::HttpOutcome::Response {
        status,
        content_type: Some("application/json".into()),
        body: br#"{"requestId":"x","timestamp":1,"errorMessage":"busy"}"#.to_vec(),
    }
}

#[test]
fn an_http_endpoint_gets_one_request_per_buffer_in_order() {
    let mut f = service();
    to_http(&mut f, "h", json!({})).unwrap();
    put_batch(&mut f, "h", &[b"one", b"two"], T0);
    f.tick(T0 + 59_000);
    assert!(f.take_http_requests().is_empty(), "buffered for 60 s");
    f.tick(T0 + 60_000);
    let mut out = f.take_http_requests();
    assert_eq!(out.len(), 1);
    let (stream, request) = out.remove(0);
    assert_eq!(stream, "h");
    assert_eq!(request.url, "https://receiver.example.com/in");
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["timestamp"], T0 + 60_000);
    assert_eq!(
        body["records"],
        json!([{"data": BASE64.encode(b"one")}, {"data": BASE64.encode(b"two")}])
    );
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        header("X-Amz-Firehose-Access-Key").as_deref(),
        Some("k-123")
    );
    assert_eq!(
        header("X-Amz-Firehose-Source-Arn").as_deref(),
        Some("arn:aws:firehose:us-east-1:123456789012:deliverystream/h")
    );
    // The next buffer waits behind the request that is out.
    put_batch(&mut f, "h", &[b"three"], T0 + 60_000);
    f.tick(T0 + 120_000);
    assert!(
        f.take_http_requests().is_empty(),
        "one request out at a time"
    );
    assert!(f.complete_http("h", request.id, &accept(&request), T0 + 120_500));
    assert!(
        !f.complete_http("h", request.id, &accept(&request), T0 + 120_500),
        "answered once"
    );
    f.tick(T0 + 121_000);
    let (_, second) = f.take_http_requests().remove(0);
    let body: Value = serde_json::from_slice(&second.body).unwrap();
    assert_eq!(body["records"], json!([{"data": BASE64.encode(b"three")}]));
    assert!(f.complete_http("h", second.id, &accept(&second), T0 + 121_100));
    let a = &f.stream("h").unwrap().path.accounting;
    assert_eq!((a.delivered_records, a.http_requests_delivered), (3, 2));
    assert!(a.balanced(), "{a:?}");
    // FailedDataOnly: nothing in the bucket.
    assert!(objects(&f).is_empty());
    let d = describe(&mut f, "h");
    let desc =
        &d["DeliveryStreamDescription"]["Destinations"][0]["HttpEndpointDestinationDescription"];
    assert_eq!(
        desc["EndpointConfiguration"],
        json!({"Url": "https://receiver.example.com/in", "Name": "receiver"}),
        "the access key is not echoed"
    );
    assert_eq!(desc["S3BackupMode"], "FailedDataOnly");
    assert_eq!(desc["RetryOptions"]["DurationInSeconds"], 30);
    assert_eq!(desc["BufferingHints"]["SizeInMBs"], 1);
}

#[test]
fn failed_attempts_are_retried_with_the_same_request_id_then_go_to_the_error_output() {
    let mut f = service();
    to_http(&mut f, "h", json!({"S3BackupMode": "AllData"})).unwrap();
    put_batch(&mut f, "h", &[b"r1", b"r2"], T0);
    let mut now = T0 + 60_000;
    f.tick(now);
    let mut ids = Vec::new();
    let mut sent_at = Vec::new();
    // Answer every attempt with a 500 until the batch leaves the queue.
    while now < T0 + 200_000 {
        for (_, r) in f.take_http_requests() {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            ids.push(body["requestId"].as_str().unwrap().to_string());
            sent_at.push(now);
            f.complete_http("h", r.id, &refuse(500), now + 100);
        }
        now += 100;
        f.tick(now);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "the request id is kept across attempts");
    // 1 s, 2 s, 4 s, 8 s, 16 s apart (±15 %) within the 30 s duration.
    let gaps: Vec<u64> = sent_at.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps.len(), 5, "{gaps:?}");
    for (gap, base) in gaps
        .iter()
        .zip([1_000.0, 2_000.0, 4_000.0, 8_000.0, 16_000.0])
    {
        let g = *gap as f64 - 100.0;
        assert!(
            g >= base * 0.85 - 100.0 && g <= base * 1.15 + 100.0,
            "{gaps:?}"
        );
    }
    let a = &f.stream("h").unwrap().path.accounting;
    assert_eq!(
        (a.delivered_records, a.delivery_failed, a.error_delivered),
        (0, 2, 2)
    );
    assert!(a.balanced(), "{a:?}");
    let objs = objects(&f);
    // AllData: the batch as it went, and the failed records' documents.
    assert!(objs
        .iter()
        .any(|(k, b)| k.starts_with("backup/2018/08/27/10/h-1-") && b == b"r1r2"));
    let (_, failed) = objs
        .iter()
        .find(|(k, _)| k.starts_with("backup/http-endpoint-failed/2018/08/27/10/h-1-"))
        .expect("error output");
    let lines: Vec<Value> = failed
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["errorCode"], "HttpEndpoint.DestinationException");
    assert_eq!(
        lines[0]["errorMessage"], "busy",
        "the endpoint's errorMessage"
    );
    assert_eq!(lines[0]["attemptsMade"], 6);
    assert_eq!(lines[1]["rawData"], BASE64.encode(b"r2"));
    let err = f.stream("h").unwrap().path.last_http_error.clone().unwrap();
    assert!(err.then.contains("error output"), "{err:?}");
}

#[test]
fn a_413_is_final_and_not_written_to_the_error_output() {
    let mut f = service();
    to_http(&mut f, "h", json!({})).unwrap();
    put_batch(&mut f, "h", &[b"big"], T0);
    f.tick(T0 + 60_000);
    let (_, r) = f.take_http_requests().remove(0);
    assert!(f.complete_http("h", r.id, &refuse(413), T0 + 60_100));
    for s in 61..200 {
        f.tick(T0 + s * 1000);
        assert!(f.take_http_requests().is_empty(), "not retried");
    }
    let a = &f.stream("h").unwrap().path.accounting;
    assert_eq!(
        (a.rejected_records, a.delivery_failed, a.error_delivered),
        (1, 0, 0)
    );
    assert!(a.balanced(), "{a:?}");
    assert!(objects(&f).is_empty());
}

#[test]
fn a_request_that_was_never_answered_keeps_its_records() {
    // A host that loses a request (the page closed) must not lose the
    // batch: unknown ids change nothing, and the batch stays in flight.
    let mut f = service();
    to_http(
        &mut f,
        "h",
        json!({"RetryOptions": {"DurationInSeconds": 0}}),
    )
    .unwrap();
    put_batch(&mut f, "h", &[b"a"], T0);
    f.tick(T0 + 60_000);
    let (_, r) = f.take_http_requests().remove(0);
    assert!(!f.complete_http("h", r.id + 1, &accept(&r), T0 + 60_100));
    assert!(!f.complete_http("nope", r.id, &accept(&r), T0 + 60_100));
    assert_eq!(f.stream("h").unwrap().path.accounting.buffered_records, 1);
    // RetryOptions 0: the first failure goes straight to the error output.
    let timeout = crate::http::HttpOutcome::timed_out();
    assert!(f.complete_http("h", r.id, &timeout, T0 + 240_000));
    f.tick(T0 + 240_100);
    let a = &f.stream("h").unwrap().path.accounting;
    assert_eq!((a.delivery_failed, a.error_delivered), (1, 1));
    let (_, failed) = objects(&f).into_iter().next().unwrap();
    let v: Value = serde_json::from_slice(failed.trim_ascii_end()).unwrap();
    assert_eq!(v["errorCode"], "HttpEndpoint.RequestTimeout");
}

#[test]
fn more_than_ten_thousand_records_make_several_requests() {
    let mut f = service();
    to_http(&mut f, "h", json!({})).unwrap();
    let record = [b'x'; 10];
    for i in 0..25 {
        let batch: Vec<&[u8]> = (0..500).map(|_| record.as_slice()).collect();
        put_batch(&mut f, "h", &batch, T0 + i);
    }
    f.tick(T0 + 60_000);
    let mut sizes = Vec::new();
    for _ in 0..5 {
        for (_, r) in f.take_http_requests() {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            sizes.push(body["records"].as_array().unwrap().len());
            f.complete_http("h", r.id, &accept(&r), T0 + 60_000);
        }
        f.tick(T0 + 60_000);
    }
    assert_eq!(sizes, [10_000, 2_500]);
}

#[test]
fn http_endpoint_configurations_are_checked() {
    let mut f = service();
    let e = to_http(
        &mut f,
        "a",
        json!({"EndpointConfiguration": {"Url": "http://example.com/"}}),
    )
    .unwrap_err();
    assert_eq!(
        e.message(),
        "1 validation error detected: Value 'http://example.com/' at \
         'httpEndpointDestinationConfiguration.endpointConfiguration.url' failed to satisfy \
         constraint: Member must satisfy regular expression pattern: https://.*"
    );
    to_http(
        &mut f,
        "b",
        json!({"EndpointConfiguration": {"Url": "http://127.0.0.1:9000/"}}),
    )
    .expect("http to this machine is the playground's allowance");
    let e = to_http(
        &mut f,
        "c",
        json!({"BufferingHints": {"SizeInMBs": 65, "IntervalInSeconds": 60},
               "RequestConfiguration": {"ContentEncoding": "BROTLI"},
               "RetryOptions": {"DurationInSeconds": 7201}}),
    )
    .unwrap_err();
    let m = e.message();
    assert!(m.starts_with("3 validation errors detected"), "{m}");
    assert!(m.contains("less than or equal to 64"), "{m}");
    assert!(m.contains("[NONE, GZIP]"), "{m}");
    let e = to_http(&mut f, "d", json!({"EndpointConfiguration": null})).unwrap_err();
    assert!(e.message().contains("endpointConfiguration' failed"), "{e}");
    let e = to_http(&mut f, "e", json!({"S3BackupMode": "Everything"})).unwrap_err();
    assert!(e.message().contains("[FailedDataOnly, AllData]"), "{e}");
    let attrs: Vec<Value> = (0..51)
        .map(|i| json!({"AttributeName": format!("a{i}"), "AttributeValue": "v"}))
        .collect();
    let e = to_http(
        &mut f,
        "g",
        json!({"RequestConfiguration": {"CommonAttributes": attrs}}),
    )
    .unwrap_err();
    assert!(e.message().contains("commonAttributes"), "{e}");
    let e = f
        .call(
            "UpdateDestination",
            &json!({"DeliveryStreamName": "b", "CurrentDeliveryStreamVersionId": "1",
                    "DestinationId": "destinationId-000000000001",
                    "ExtendedS3DestinationUpdate": {}}),
            T0,
        )
        .unwrap_err();
    assert!(
        e.message()
            .starts_with("ExtendedS3DestinationUpdate does not fit"),
        "{e}"
    );
}

#[test]
fn a_deleted_stream_delivers_what_it_holds_before_it_goes() {
    let mut f = service();
    create(&mut f, "d", s3(json!({"Prefix": "p/"})));
    assert!(f.set_unavailable(&Sink::Bucket("lab-bucket".into()), true));
    put_batch(&mut f, "d", &[b"kept-1", b"kept-2"], T0);
    f.call(
        "DeleteDeliveryStream",
        &json!({"DeliveryStreamName": "d"}),
        T0 + 1_000,
    )
    .unwrap();
    // The bucket is down: the stream stays, DELETING, with its object.
    let d = f
        .call(
            "DescribeDeliveryStream",
            &json!({"DeliveryStreamName": "d"}),
            T0 + 1_000,
        )
        .unwrap();
    assert_eq!(
        d["DeliveryStreamDescription"]["DeliveryStreamStatus"],
        "DELETING"
    );
    let e = f
        .call(
            "PutRecord",
            &json!({"DeliveryStreamName": "d", "Record": {"Data": BASE64.encode(b"late")}}),
            T0 + 1_000,
        )
        .unwrap_err();
    assert_eq!(e.name(), "ResourceInUseException");
    assert!(e.message().contains("is being deleted"), "{e}");
    // Deleting again is allowed, as AWS allows it in DELETING.
    f.call(
        "DeleteDeliveryStream",
        &json!({"DeliveryStreamName": "d"}),
        T0 + 2_000,
    )
    .unwrap();
    f.tick(T0 + 60_000);
    assert!(f.stream("d").is_some(), "still retrying");
    f.set_unavailable(&Sink::Bucket("lab-bucket".into()), false);
    f.tick(T0 + 200_000);
    assert!(f.stream("d").is_none(), "gone once delivered");
    let objs = objects(&f);
    assert_eq!(objs.len(), 1);
    assert_eq!(objs[0].1, b"kept-1kept-2");
    let names = f
        .call("ListDeliveryStreams", &json!({}), T0 + 200_000)
        .unwrap();
    assert_eq!(names["DeliveryStreamNames"], json!([]));
}

#[test]
fn a_deleted_stream_waits_for_its_transform_and_its_endpoint() {
    let mut f = service();
    with_lambda(&mut f, "l", 1);
    put_batch(&mut f, "l", &[b"{\"n\":1}"], T0);
    f.tick(T0 + 60_000);
    let mut calls = f.take_invocations();
    let (_, call) = calls.remove(0);
    f.call(
        "DeleteDeliveryStream",
        &json!({"DeliveryStreamName": "l"}),
        T0 + 60_050,
    )
    .unwrap();
    assert!(f.stream("l").is_some(), "the invocation is out");
    assert!(f.complete_invocation("l", call.id, Ok(shout(&call.payload)), T0 + 60_100));
    f.tick(T0 + 60_200);
    assert!(f.stream("l").is_none());
    assert_eq!(objects(&f).len(), 1, "the transformed record was delivered");

    to_http(&mut f, "h", json!({})).unwrap();
    put_batch(&mut f, "h", &[b"a"], T0 + 60_200);
    f.tick(T0 + 120_200);
    let (_, r) = f.take_http_requests().remove(0);
    f.call(
        "DeleteDeliveryStream",
        &json!({"DeliveryStreamName": "h"}),
        T0 + 120_300,
    )
    .unwrap();
    assert!(f.stream("h").is_some(), "the request is out");
    assert!(f.complete_http("h", r.id, &accept(&r), T0 + 120_400));
    f.tick(T0 + 120_500);
    assert!(f.stream("h").is_none());
}

#[test]
fn opensearch_and_http_destinations_are_updated_member_by_member() {
    let mut f = service();
    to_opensearch(&mut f, "os", json!({})).unwrap();
    put_batch(&mut f, "os", &[br#"{"n":1}"#], T0);
    let update = |f: &mut Firehose, name: &str, version: &str, member: &str, u: Value| {
        f.call(
            "UpdateDestination",
            &json!({"DeliveryStreamName": name, "CurrentDeliveryStreamVersionId": version,
                    "DestinationId": "destinationId-000000000001", member: u}),
            T0 + 1_000,
        )
    };
    update(
        &mut f,
        "os",
        "1",
        "AmazonopensearchserviceDestinationUpdate",
        json!({"IndexName": "views", "S3Update": {"Prefix": "new-backup/"}}),
    )
    .unwrap();
    // What was buffered went to the old index; the rest is kept.
    f.tick(T0 + 1_000);
    assert!(f
        .domain("logs")
        .unwrap()
        .indices
        .contains_key("clicks-2018-08-27"));
    let d = describe(&mut f, "os");
    assert_eq!(d["DeliveryStreamDescription"]["VersionId"], "2");
    let desc = &d["DeliveryStreamDescription"]["Destinations"][0]
        ["AmazonopensearchserviceDestinationDescription"];
    assert_eq!(desc["IndexName"], "views");
    assert_eq!(desc["IndexRotationPeriod"], "OneDay", "kept");
    assert_eq!(desc["S3DestinationDescription"]["Prefix"], "new-backup/");
    assert_eq!(
        desc["S3DestinationDescription"]["BucketARN"], "arn:aws:s3:::lab-bucket",
        "kept"
    );
    let e = update(&mut f, "os", "2", "ExtendedS3DestinationUpdate", json!({})).unwrap_err();
    assert!(e.message().contains("does not fit"), "{e}");
    let e = update(
        &mut f,
        "os",
        "2",
        "AmazonopensearchserviceDestinationUpdate",
        json!({"IndexRotationPeriod": "OneYear"}),
    )
    .unwrap_err();
    assert!(
        e.message()
            .contains("amazonopensearchserviceDestinationUpdate.indexRotationPeriod"),
        "{e}"
    );

    to_http(&mut f, "h", json!({})).unwrap();
    update(
        &mut f,
        "h",
        "1",
        "HttpEndpointDestinationUpdate",
        json!({"EndpointConfiguration": {"Url": "https://other.example.com/"},
               "RetryOptions": {"DurationInSeconds": 0}}),
    )
    .unwrap();
    let d = describe(&mut f, "h");
    let desc =
        &d["DeliveryStreamDescription"]["Destinations"][0]["HttpEndpointDestinationDescription"];
    assert_eq!(
        desc["EndpointConfiguration"]["Url"],
        "https://other.example.com/"
    );
    assert_eq!(desc["RetryOptions"]["DurationInSeconds"], 0);
    assert_eq!(desc["BufferingHints"]["IntervalInSeconds"], 60, "kept");
    put_batch(&mut f, "h", &[b"x"], T0 + 1_000);
    f.tick(T0 + 61_000);
    let (_, r) = f.take_http_requests().remove(0);
    assert_eq!(r.url, "https://other.example.com/");
    let e = update(
        &mut f,
        "h",
        "2",
        "HttpEndpointDestinationUpdate",
        json!({"EndpointConfiguration": {"Url": "http://example.com/"}}),
    )
    .unwrap_err();
    assert!(e.message().contains("https://.*"), "{e}");
    // An S3 stream still takes S3 updates.
    create(&mut f, "s", s3(json!({})));
    update(
        &mut f,
        "s",
        "1",
        "ExtendedS3DestinationUpdate",
        json!({"Prefix": "x/"}),
    )
    .unwrap();
}

fn to_redshift(
    f: &mut Firehose,
    name: &str,
    extra: Value,
) -> Result<Value, shardlab_engine::ApiError> {
    let mut r = json!({
        "RoleARN": "arn:aws:iam::123456789012:role/firehose",
        "ClusterJDBCURL": "jdbc:redshift://lab.c1a2b3.us-east-1.redshift.amazonaws.com:5439/dev",
        "CopyCommand": {"DataTableName": "clicks", "DataTableColumns": "user_id,action",
                        "CopyOptions": "JSON 'auto' GZIP"},
        "Username": "firehose",
        "Password": "Secret123",
        "RetryOptions": {"DurationInSeconds": 600},
        "S3Configuration": {
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": "arn:aws:s3:::lab-bucket",
            "Prefix": "staging/",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
            "CompressionFormat": "GZIP"
        }
    });
    if let (Value::Object(b), Value::Object(e)) = (&mut r, extra) {
        b.extend(e);
    }
    f.call(
        "CreateDeliveryStream",
        &json!({"DeliveryStreamName": name, "RedshiftDestinationConfiguration": r}),
        T0,
    )
}

#[test]
fn redshift_gets_objects_in_the_intermediate_bucket_then_a_copy() {
    let mut f = service();
    to_redshift(&mut f, "r", json!({})).unwrap();
    f.redshift_execute(
        "lab",
        "CREATE TABLE clicks (user_id VARCHAR(16), action VARCHAR(16))",
    )
    .unwrap();
    put_batch(
        &mut f,
        "r",
        &[
            br#"{"user_id":"u1","action":"buy"}"#,
            br#"{"user_id":"u2","action":"view"}"#,
        ],
        T0,
    );
    f.tick(T0 + 60_000);
    let t = &f.cluster("lab").unwrap().tables["clicks"];
    assert_eq!(t.row_count, 2);
    assert_eq!(t.rows[1][1], crate::redshift::Cell::Text("view".into()));
    let keys: Vec<String> = objects(&f).into_iter().map(|(k, _)| k).collect();
    assert!(
        keys.iter()
            .any(|k| k.starts_with("staging/2018/08/27/10/r-1-") && k.ends_with(".gz")),
        "{keys:?}"
    );
    let manifest = objects(&f)
        .into_iter()
        .find(|(k, _)| k.starts_with("staging/manifests/2018/08/27/10/r-1-"))
        .expect("a manifest");
    let m: Value = serde_json::from_slice(&manifest.1).unwrap();
    assert!(m["entries"][0]["url"]
        .as_str()
        .unwrap()
        .starts_with("s3://lab-bucket/staging/2018/"));
    assert_eq!(m["entries"][0]["mandatory"], true);
    let run = f.stream("r").unwrap().path.last_copy.clone().unwrap();
    assert!(
        run.command.starts_with(
            "COPY clicks (user_id,action) FROM 's3://lab-bucket/staging/manifests/2018/08/27/10/r-1-"
        ),
        "{}",
        run.command
    );
    assert!(run.command.ends_with("' CREDENTIALS 'aws_iam_role=arn:aws:iam::123456789012:role/firehose' MANIFEST JSON 'auto' GZIP;"), "{}", run.command);
    let a = &f.stream("r").unwrap().path.accounting;
    assert_eq!(
        (a.copied_records, a.copied_rows, a.copy_waiting_records),
        (2, 2, 0)
    );
    let d = describe(&mut f, "r");
    let desc = &d["DeliveryStreamDescription"]["Destinations"][0]["RedshiftDestinationDescription"];
    assert_eq!(desc["CopyCommand"]["DataTableName"], "clicks");
    assert_eq!(desc["Username"], "firehose");
    assert!(desc.get("Password").is_none());
    assert_eq!(
        desc["S3DestinationDescription"]["CompressionFormat"],
        "GZIP"
    );
    assert_eq!(desc["RetryOptions"]["DurationInSeconds"], 600);
    // The loaded rows answer SQL, as in Redshift.
    let r = f
        .redshift_execute(
            "lab",
            "select action, count(*) from clicks group by action order by action desc",
        )
        .unwrap()
        .expect("rows");
    assert_eq!(
        r.columns,
        [
            ("action".into(), "varchar".into()),
            ("count".into(), "int8".into())
        ]
    );
    let text: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| row.iter().map(crate::redshift::Cell::text).collect())
        .collect();
    assert_eq!(text, [["view", "1"], ["buy", "1"]]);
}

#[test]
fn a_failing_copy_is_retried_every_five_minutes_then_skipped_to_errors() {
    let mut f = service();
    to_redshift(&mut f, "r", json!({})).unwrap();
    put_batch(&mut f, "r", &[br#"{"user_id":"u1"}"#], T0);
    // No table yet.
    let mut now = T0 + 60_000;
    let mut attempts = Vec::new();
    while now <= T0 + 60_000 + 900_000 {
        f.tick(now);
        let a = f.stream("r").unwrap().path.accounting.copy_attempts;
        if attempts.last() != Some(&a) {
            attempts.push(a);
        }
        now += 10_000;
    }
    // Retry duration 600 s: the attempts at 0, 5 and 10 minutes, then skipped.
    assert_eq!(attempts, [1, 2, 3]);
    let run = f.stream("r").unwrap().path.last_copy.clone().unwrap();
    assert_eq!(run.error.as_ref().unwrap().0, "Redshift.TableNotFound");
    assert!(run.then.contains("skipped"), "{}", run.then);
    let a = &f.stream("r").unwrap().path.accounting;
    assert_eq!(
        (
            a.copy_skipped_records,
            a.copy_waiting_records,
            a.delivered_records
        ),
        (1, 0, 1)
    );
    let skipped = objects(&f)
        .into_iter()
        .find(|(k, _)| k.starts_with("staging/errors/manifests/"))
        .expect("a manifest of the skipped object");
    assert!(String::from_utf8_lossy(&skipped.1).contains("s3://lab-bucket/staging/2018/"));
    // With the table made, the next objects load.
    f.redshift_execute(
        "lab",
        "CREATE TABLE clicks (user_id VARCHAR(16), action VARCHAR(16))",
    )
    .unwrap();
    put_batch(&mut f, "r", &[br#"{"user_id":"u2"}"#], now);
    f.tick(now + 60_000);
    assert_eq!(f.cluster("lab").unwrap().tables["clicks"].row_count, 1);
}

#[test]
fn redshift_configurations_are_checked() {
    let mut f = service();
    let e = to_redshift(
        &mut f,
        "a",
        json!({"ClusterJDBCURL": "jdbc:mysql://x:3306/db"}),
    )
    .unwrap_err();
    assert!(e.message().contains("clusterJDBCURL' failed to satisfy constraint: Member must satisfy regular expression pattern: jdbc:(redshift|postgresql)://"), "{e}");
    let mut s3 = json!({"RoleARN": "arn:aws:iam::123456789012:role/firehose",
                        "BucketARN": "arn:aws:s3:::lab-bucket", "CompressionFormat": "Snappy"});
    let e = to_redshift(&mut f, "b", json!({"S3Configuration": s3.clone()})).unwrap_err();
    assert!(
        e.message()
            .contains("CompressionFormat Snappy is not supported for a Redshift destination"),
        "{e}"
    );
    s3["CompressionFormat"] = json!("UNCOMPRESSED");
    let e = to_redshift(
        &mut f,
        "c",
        json!({"S3Configuration": s3, "CopyCommand": {}}),
    )
    .unwrap_err();
    assert!(e.message().contains("copyCommand.dataTableName"), "{e}");
    let e = to_redshift(&mut f, "d", json!({"Password": "short"})).unwrap_err();
    assert!(e.message().contains("password"), "{e}");
    assert_eq!(
        crate::config::jdbc_cluster(
            "jdbc:redshift://lab.c1.us-east-1.redshift.amazonaws.com:5439/dev"
        ),
        Some(("lab", "dev"))
    );
    assert_eq!(
        crate::config::jdbc_cluster(
            "jdbc:postgresql://wg.123.us-east-1.redshift-serverless.amazonaws.com:5439/dev"
        ),
        Some(("wg", "dev"))
    );
    assert_eq!(
        crate::config::jdbc_cluster("jdbc:redshift://-bad.redshift.amazonaws.com:5439/dev"),
        None
    );
}

#[test]
fn the_redshift_data_api_runs_ddl_and_describes_it() {
    let mut f = service();
    let r = f
        .redshift_data_call(
            "ExecuteStatement",
            &json!({"ClusterIdentifier": "lab", "Database": "dev", "DbUser": "u",
                    "Sql": "CREATE TABLE t (a INT NOT NULL)"}),
            T0,
        )
        .unwrap();
    let d = f
        .redshift_data_call("DescribeStatement", &json!({"Id": r["Id"]}), T0)
        .unwrap();
    assert_eq!(d["Status"], "FINISHED");
    assert_eq!(d["QueryString"], "CREATE TABLE t (a INT NOT NULL)");
    assert!(f.cluster("lab").unwrap().tables["t"].columns[0].not_null);
    let e = f
        .redshift_data_call("GetStatementResult", &json!({"Id": r["Id"]}), T0)
        .unwrap_err();
    assert_eq!(
        (e.name(), e.message()),
        (
            "ResourceNotFoundException",
            "Query does not have result. Please check query status with DescribeStatement."
        )
    );
    let run = |f: &mut Firehose, sql: &str| {
        let r = f
            .redshift_data_call(
                "ExecuteStatement",
                &json!({"ClusterIdentifier": "lab", "Database": "dev", "Sql": sql}),
                T0,
            )
            .unwrap();
        let d = f
            .redshift_data_call("DescribeStatement", &json!({"Id": r["Id"]}), T0)
            .unwrap();
        (r["Id"].clone(), d)
    };
    let (_, d) = run(&mut f, "SELECT nope FROM t");
    assert_eq!(d["Status"], "FAILED");
    assert!(
        d["Error"].as_str().unwrap().starts_with(
            "ERROR: Column nope is not in this query's input (its columns: a). (line 1, column 8)"
        ),
        "{d}"
    );
    let (_, d) = run(&mut f, "VACUUM t");
    assert_eq!(d["Status"], "FAILED");
    let (id, d) = run(
        &mut f,
        "SELECT 1 AS one, 'x' || 'y', NULL, 2.5::decimal(4,1), 1.5::float8, true",
    );
    assert_eq!(
        (
            d["Status"].as_str(),
            d["HasResultSet"].as_bool(),
            d["ResultRows"].as_u64()
        ),
        (Some("FINISHED"), Some(true), Some(1))
    );
    let g = f
        .redshift_data_call("GetStatementResult", &json!({"Id": id}), T0)
        .unwrap();
    assert_eq!(g["TotalNumRows"], 1);
    assert!(g.get("NextToken").is_none());
    assert_eq!(
        g["Records"],
        json!([[{"longValue": 1}, {"stringValue": "xy"}, {"isNull": true}, {"stringValue": "2.5"},
                {"doubleValue": 1.5}, {"booleanValue": true}]])
    );
    let types: Vec<&str> = g["ColumnMetadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["typeName"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["int4", "varchar", "varchar", "numeric", "float8", "bool"]
    );
    assert_eq!(g["ColumnMetadata"][0]["name"], "one");
    assert_eq!(g["ColumnMetadata"][1]["name"], "?column?");
    let e = f
        .redshift_data_call("ExecuteStatement", &json!({"Database": "dev"}), T0)
        .unwrap_err();
    assert_eq!(e.name(), "ValidationException");
    let e = f
        .redshift_data_call("DescribeStatement", &json!({"Id": "nope"}), T0)
        .unwrap_err();
    assert_eq!(
        (e.name(), e.message()),
        ("ResourceNotFoundException", "Query does not exist.")
    );
}

#[test]
fn a_batch_waiting_behind_a_failing_one_gets_its_own_retry_duration() {
    let mut f = service();
    to_http(&mut f, "h", json!({})).unwrap();
    // 15,000 records: two requests sealed together, the second waits.
    let record = [b'x'; 10];
    for i in 0..30 {
        let batch: Vec<&[u8]> = (0..500).map(|_| record.as_slice()).collect();
        put_batch(&mut f, "h", &batch, T0 + i);
    }
    let mut attempts: std::collections::BTreeMap<String, u32> = Default::default();
    let mut now = T0 + 60_000;
    while now < T0 + 200_000 {
        f.tick(now);
        for (_, r) in f.take_http_requests() {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            *attempts
                .entry(body["requestId"].as_str().unwrap().to_string())
                .or_default() += 1;
            f.complete_http("h", r.id, &refuse(503), now + 100);
        }
        now += 100;
    }
    // Retry duration 30 s from each request's first failure: both are
    // tried 6 times (1, 2, 4, 8, 16 s apart), not the second just once.
    assert_eq!(
        attempts.values().copied().collect::<Vec<_>>(),
        [6, 6],
        "{attempts:?}"
    );
    let a = &f.stream("h").unwrap().path.accounting;
    assert_eq!(a.delivery_failed, 15_000);
    assert!(a.balanced(), "{a:?}");
}

#[test]
fn one_destination_per_delivery_stream() {
    let mut f = service();
    let e = f
        .call(
            "CreateDeliveryStream",
            &json!({"DeliveryStreamName": "two",
                    "ExtendedS3DestinationConfiguration": s3(json!({})),
                    "HttpEndpointDestinationConfiguration": {}}),
            T0,
        )
        .unwrap_err();
    assert_eq!(
        e.message(),
        "Only one destination configuration can be given; this request has \
         ExtendedS3DestinationConfiguration and HttpEndpointDestinationConfiguration."
    );
    let e = to_redshift(
        &mut f,
        "p",
        json!({"S3Configuration": {"RoleARN": "arn:aws:iam::123456789012:role/firehose",
               "BucketARN": "arn:aws:s3:::b", "Prefix": "x/!{timestamp:yyyy}/"}}),
    )
    .unwrap_err();
    assert!(e.message().contains("cannot contain expressions"), "{e}");
}

#[test]
fn get_statement_result_pages_a_large_result() {
    let mut f = service();
    f.redshift_execute("lab", "CREATE TABLE t (n BIGINT, s VARCHAR(200))")
        .unwrap();
    let table = f
        .clusters
        .get_mut("lab")
        .unwrap()
        .tables
        .get_mut("t")
        .unwrap();
    for n in 0..3000 {
        table.rows.push(vec![
            crate::redshift::Cell::Int(n),
            crate::redshift::Cell::Text("x".repeat(100)),
        ]);
    }
    let r = f
        .redshift_data_call(
            "ExecuteStatement",
            &json!({"ClusterIdentifier": "lab", "Database": "dev",
                    "Sql": "select n, s from t order by n desc"}),
            T0,
        )
        .unwrap();
    let mut token: Option<Value> = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let mut req = json!({"Id": r["Id"]});
        if let Some(t) = &token {
            req["NextToken"] = t.clone();
        }
        let g = f
            .redshift_data_call("GetStatementResult", &req, T0)
            .unwrap();
        assert_eq!(g["TotalNumRows"], 3000);
        pages += 1;
        for rec in g["Records"].as_array().unwrap() {
            seen.push(rec[0]["longValue"].as_i64().unwrap());
        }
        match g.get("NextToken") {
            Some(t) => token = Some(t.clone()),
            None => break,
        }
    }
    assert!(pages > 1, "one page of 300 KB");
    assert_eq!(seen, (0..3000).rev().collect::<Vec<i64>>());
    let e = f
        .redshift_data_call(
            "GetStatementResult",
            &json!({"Id": r["Id"], "NextToken": "99999"}),
            T0,
        )
        .unwrap_err();
    assert_eq!(e.name(), "ValidationException");
}
