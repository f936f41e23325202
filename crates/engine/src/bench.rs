//! Benchmark workloads for the engine, shared by the native run and the
//! browser run of `cargo xtask bench` so both measure the same code.
//! This crate reads no clock: the caller passes one (milliseconds), and
//! only the measured phase is timed, not the preparation of inputs.

use crate::api::{PutRecordsEntry, PutRecordsResult};
use crate::fnv::{fnv1a64_extend, FNV_OFFSET};
use crate::{Kinesis, KinesisConfig};

/// 2026-01-01T00:00:00Z: the benchmark's fixed virtual time.
const T0: u64 = 1_767_225_600_000;
const SHARDS: u32 = 16;
const BATCH: usize = 500;

/// What one workload measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub name: &'static str,
    pub records: u64,
    pub millis: f64,
    /// FNV-1a over every result, so runs on different hosts can be
    /// checked to have done the same thing.
    pub digest: String,
}

fn fnv(hash: &mut u64, bytes: &[u8]) {
    *hash = fnv1a64_extend(*hash, bytes);
}

/// `records` entries with 16-byte partition keys and 100-byte payloads,
/// in PutRecords batches of 500, from a fixed linear congruential sequence.
fn entries(records: usize) -> Vec<Vec<PutRecordsEntry>> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        x
    };
    (0..records.div_ceil(BATCH))
        .map(|b| {
            (0..BATCH.min(records - b * BATCH))
                .map(|_| {
                    let partition_key = format!("{:016x}", next());
                    let seed = next();
                    let data = (0..100).map(|i| (seed >> (i % 8 * 8)) as u8).collect();
                    PutRecordsEntry {
                        partition_key,
                        data,
                        explicit_hash_key: None,
                        made: None,
                    }
                })
                .collect()
        })
        .collect()
}

fn service() -> Kinesis {
    let mut k = Kinesis::new(KinesisConfig {
        enforce_limits: false,
        ..KinesisConfig::default()
    });
    k.call(
        "CreateStream",
        &serde_json::json!({"StreamName": "bench", "ShardCount": SHARDS}),
        T0,
    )
    .expect("the benchmark stream is valid");
    k
}

/// PutRecords through the typed API (what the simulation uses): MD5
/// routing, sequence numbers and storage, without JSON.
pub fn put_records_typed(records: usize, clock: &dyn Fn() -> f64) -> Figure {
    let batches = entries(records);
    let mut k = service();
    let mut digest = FNV_OFFSET;
    let started = clock();
    let mut results = Vec::with_capacity(batches.len());
    for batch in batches {
        results.push(
            k.put_records_typed("bench", batch)
                .expect("limits are off and entries are valid"),
        );
    }
    let millis = clock() - started;
    for out in &results {
        for r in &out.records {
            if let PutRecordsResult::Accepted {
                shard_index,
                sequence_number,
            } = r
            {
                fnv(&mut digest, &shard_index.to_be_bytes());
                fnv(&mut digest, &sequence_number.sequence_index.to_be_bytes());
            }
        }
    }
    Figure {
        name: "put-records-typed",
        records: records as u64,
        millis,
        digest: format!("{digest:016x}"),
    }
}

/// PutRecords through the JSON dispatch (what the endpoint and the
/// console use), from the request's bytes to the response's bytes: JSON
/// parsing, base64, validation, then the same path, and the response.
pub fn put_records_json(records: usize, clock: &dyn Fn() -> f64) -> Figure {
    use base64::Engine as _;
    let bodies: Vec<Vec<u8>> = entries(records)
        .into_iter()
        .map(|batch| {
            let list: Vec<serde_json::Value> = batch
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "PartitionKey": e.partition_key,
                        "Data": base64::engine::general_purpose::STANDARD.encode(&e.data),
                    })
                })
                .collect();
            serde_json::to_vec(&serde_json::json!({"StreamName": "bench", "Records": list}))
                .unwrap_or_default()
        })
        .collect();
    let mut k = service();
    let mut digest = FNV_OFFSET;
    let started = clock();
    let mut replies = Vec::with_capacity(bodies.len());
    for body in &bodies {
        replies.push(
            k.serve_bytes("PutRecords", body, T0)
                .expect("limits are off and entries are valid"),
        );
    }
    let millis = clock() - started;
    for reply in &replies {
        let reply: serde_json::Value =
            serde_json::from_slice(reply).expect("PutRecords answers JSON");
        if let Some(list) = reply["Records"].as_array() {
            for r in list {
                fnv(
                    &mut digest,
                    r["SequenceNumber"].as_str().unwrap_or("").as_bytes(),
                );
            }
        }
    }
    Figure {
        name: "put-records-json",
        records: records as u64,
        millis,
        digest: format!("{digest:016x}"),
    }
}

/// Reads every record back the way the endpoint serves it: per shard,
/// GetShardIterator at TRIM_HORIZON, then GetRecords with `Limit` 10,000
/// until caught up, each from the request's bytes to the response's JSON
/// bytes (`serve_bytes`: parsing, reading, base64, serialising). Only those
/// calls are timed; reading the responses back is the client's work.
/// `records` are put first through the typed API, untimed.
pub fn get_records_json(records: usize, clock: &dyn Fn() -> f64) -> Figure {
    #[derive(serde::Deserialize)]
    struct Record<'a> {
        #[serde(rename = "SequenceNumber", borrow)]
        sequence_number: &'a str,
    }
    #[derive(serde::Deserialize)]
    struct Reply<'a> {
        #[serde(rename = "Records", borrow)]
        records: Vec<Record<'a>>,
        #[serde(rename = "NextShardIterator")]
        next: Option<String>,
    }
    let mut k = service();
    for batch in entries(records) {
        k.put_records_typed("bench", batch)
            .expect("limits are off and entries are valid");
    }
    let mut digest = FNV_OFFSET;
    let mut read = 0u64;
    let mut millis = 0.0;
    for shard in 0..SHARDS {
        let it = k
            .call(
                "GetShardIterator",
                &serde_json::json!({
                    "StreamName": "bench",
                    "ShardId": crate::shard_id(shard),
                    "ShardIteratorType": "TRIM_HORIZON",
                }),
                T0,
            )
            .expect("the shard exists");
        let mut iterator = it["ShardIterator"].as_str().unwrap_or("").to_string();
        loop {
            let body = serde_json::to_vec(
                &serde_json::json!({"ShardIterator": iterator, "Limit": 10_000}),
            )
            .unwrap_or_default();
            let started = clock();
            let bytes = k
                .serve_bytes("GetRecords", &body, T0)
                .expect("limits are off");
            millis += clock() - started;
            let reply: Reply = serde_json::from_slice(&bytes).expect("GetRecords answers JSON");
            let Some(last) = reply.records.last() else {
                break;
            };
            read += reply.records.len() as u64;
            fnv(&mut digest, last.sequence_number.as_bytes());
            iterator = reply.next.unwrap_or_default();
        }
    }
    Figure {
        name: "get-records-json",
        records: read,
        millis,
        digest: format!("{digest:016x}"),
    }
}

/// Heap bytes per stored record beyond its key and data, after putting
/// `records` benchmark records (16-byte keys, 100-byte data) into the
/// benchmark stream: what retention costs besides the payload.
pub fn memory_per_record(records: usize) -> f64 {
    let mut k = service();
    for batch in entries(records) {
        k.put_records_typed("bench", batch)
            .expect("limits are off and entries are valid");
    }
    let shards = k.local_shards();
    let heap: u64 = (0..SHARDS)
        .filter_map(|i| {
            shards.get(&crate::store::ShardKey {
                stream: 1,
                shard_index: i,
            })
        })
        .map(|p| p.record_heap_bytes())
        .sum();
    (heap as f64 - records as f64 * 116.0) / records as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_are_deterministic_and_complete() {
        let a = put_records_typed(1200, &|| 0.0);
        let b = put_records_typed(1200, &|| 0.0);
        assert_eq!(a.digest, b.digest);
        assert_eq!(a.records, 1200);
        let j = put_records_json(1200, &|| 0.0);
        assert_eq!(j.records, 1200);
        assert_eq!(j.digest, put_records_json(1200, &|| 0.0).digest);
        let g = get_records_json(1200, &|| 0.0);
        assert_eq!(g.records, 1200, "every record read back");
        let m = memory_per_record(50_000);
        assert!(m > 16.0 && m <= 32.0, "{m}");
    }
}
