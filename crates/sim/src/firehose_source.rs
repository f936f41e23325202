//! A Firehose delivery stream's Kinesis source: read like any consumer.
//!
//! AWS's Firehose reads a source stream from LATEST, calling GetRecords
//! once per second per shard, and those reads count against the shard's
//! limits like anyone's. Here that is a `Consumer` polling every second from
//! LATEST (children of a split or merge from TRIM_HORIZON, after their
//! parents), whose deliveries go into the delivery stream's buffer with
//! their approximate arrival times.

use shardlab_engine::api::Output;
use shardlab_engine::{ApiError, Kinesis};
use shardlab_firehose::Firehose;

use crate::consumer::{Consumer, ConsumerSpec, Read, StartAt};

/// Firehose polls each source shard once a second.
pub const SOURCE_POLL_MS: u64 = 1000;

/// The stream name in `arn:aws:kinesis:<region>:<account>:stream/<name>`.
pub fn stream_name_of(arn: &str) -> Option<&str> {
    arn.split_once(":stream/").map(|(_, name)| name)
}

/// The consumer name a delivery stream's reader shows under.
pub fn reader_name(delivery_stream: &str) -> String {
    format!("firehose/{delivery_stream}")
}

/// The records a GetRecords outcome carries: (data, arrival ms).
pub fn source_records(outcome: &Result<Output, ApiError>) -> Vec<(Vec<u8>, u64)> {
    match outcome {
        Ok(Output::Records(out)) => out
            .records
            .iter()
            .map(|r| {
                (
                    r.data.clone(),
                    (r.approximate_arrival_timestamp * 1000.0).round() as u64,
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The consumer a delivery stream reads its source with.
pub fn source_consumer(
    delivery_stream: &str,
    open_shards: impl IntoIterator<Item = u32>,
    now_ms: u64,
) -> Consumer {
    Consumer::new(
        ConsumerSpec {
            name: reader_name(delivery_stream),
            poll_ms: SOURCE_POLL_MS,
            start: StartAt::Latest,
        },
        open_shards,
        now_ms,
    )
}

/// One delivery stream reading its source straight from an in-process
/// Kinesis service (the native endpoint; the simulation plans the same
/// calls through its shard hosts instead).
pub struct SourceReader {
    pub delivery_stream: String,
    pub stream_name: String,
    consumer: Consumer,
}

impl SourceReader {
    pub fn new(delivery_stream: &str, stream_name: &str, kinesis: &Kinesis, now_ms: u64) -> Self {
        let open: Vec<u32> = kinesis
            .shard_infos(stream_name)
            .unwrap_or_default()
            .iter()
            .filter(|s| s.closed_ms.is_none())
            .map(|s| s.key.shard_index)
            .collect();
        SourceReader {
            delivery_stream: delivery_stream.to_string(),
            stream_name: stream_name.to_string(),
            consumer: source_consumer(delivery_stream, open, now_ms),
        }
    }

    pub fn consumer(&self) -> &Consumer {
        &self.consumer
    }

    /// Makes the calls due by `now_ms` and feeds what they read to the
    /// delivery stream.
    pub fn poll(&mut self, kinesis: &mut Kinesis, firehose: &mut Firehose, now_ms: u64) {
        // An iterator answer makes records due at once: loop until quiet.
        for _ in 0..4 {
            let due = self.consumer.due(&self.stream_name, now_ms);
            if due.is_empty() {
                return;
            }
            for (shard, read, request, _) in due {
                self.consumer.polled(shard, now_ms);
                let op = match read {
                    Read::Iterator => "GetShardIterator",
                    Read::Records => "GetRecords",
                };
                let outcome = kinesis.call_output(op, &request, now_ms);
                let records = source_records(&outcome);
                if !records.is_empty() {
                    // The delivery stream may have been deleted meanwhile;
                    // then there is nobody to deliver to.
                    let _ = firehose.ingest_from_source(&self.delivery_stream, records, now_ms);
                }
                self.consumer.finish(shard, read, outcome, now_ms);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shardlab_engine::KinesisConfig;
    use shardlab_firehose::FirehoseConfig;

    #[test]
    fn a_delivery_stream_reads_its_source_from_latest() {
        let t0 = 1_700_000_000_000;
        let mut k = Kinesis::new(KinesisConfig::default());
        k.call(
            "CreateStream",
            &json!({"StreamName": "clicks", "ShardCount": 2}),
            t0,
        )
        .unwrap();
        let put = |k: &mut Kinesis, key: &str, data: &str, t: u64| {
            use base64::Engine as _;
            k.call(
                "PutRecord",
                &json!({"StreamName": "clicks", "PartitionKey": key,
                        "Data": base64::engine::general_purpose::STANDARD.encode(data)}),
                t,
            )
            .unwrap();
        };
        put(&mut k, "a", "before", t0);
        let mut f = Firehose::new(FirehoseConfig::default());
        f.call(
            "CreateDeliveryStream",
            &json!({
                "DeliveryStreamName": "to-s3",
                "DeliveryStreamType": "KinesisStreamAsSource",
                "KinesisStreamSourceConfiguration": {
                    "KinesisStreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/clicks",
                    "RoleARN": "arn:aws:iam::123456789012:role/r"},
                "ExtendedS3DestinationConfiguration": {
                    "RoleARN": "arn:aws:iam::123456789012:role/r",
                    "BucketARN": "arn:aws:s3:::lab",
                    "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60}}
            }),
            t0,
        )
        .unwrap();
        let (ds, arn) = f.kinesis_sources().remove(0);
        let mut reader = SourceReader::new(&ds, stream_name_of(&arn).unwrap(), &k, t0);
        reader.poll(&mut k, &mut f, t0);
        for (i, key) in ["a", "b", "c", "d"].iter().enumerate() {
            put(&mut k, key, &format!("r{i}"), t0 + 10 + i as u64);
        }
        for s in 1..=70 {
            reader.poll(&mut k, &mut f, t0 + s * 1000);
            f.tick(t0 + s * 1000);
        }
        let bucket = f.bucket("lab").unwrap();
        assert_eq!(bucket.objects.len(), 1);
        let body = &bucket.objects.values().next().unwrap().body;
        let text = String::from_utf8(body.clone()).unwrap();
        // LATEST: the record put before the delivery stream is not read.
        assert!(!text.contains("before"), "{text}");
        for r in ["r0", "r1", "r2", "r3"] {
            assert!(text.contains(r), "{text}");
        }
        assert_eq!(text.len(), 8);
        assert_eq!(reader.consumer().view().delivered, 4);
    }
}
