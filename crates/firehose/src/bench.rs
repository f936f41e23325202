//! The Firehose benchmark workload, shared by the native and the browser
//! run of `cargo xtask bench`: Direct PUT into a delivery stream whose
//! buffer seals every 5 MiB, GZIP, written to the bucket. The caller
//! passes the clock; only the puts, seals, compression and writes are
//! timed.

use shardlab_engine::bench::Figure;
use shardlab_engine::fnv::{fnv1a64_extend, FNV_OFFSET};

use crate::{Firehose, FirehoseConfig};

const T0: u64 = 1_767_225_600_000;
/// `buffer_gzip_deliver(12_000, ..)`'s digest, the same natively and in
/// wasm (both check it).
pub const PINNED_12K_DIGEST: &str = "0b59c0f587617f7a";

/// Bytes per record: a JSON log line.
pub const RECORD_BYTES: usize = 1_000;
const BATCH: usize = 500;

/// `records` JSON lines of `RECORD_BYTES` bytes, from a fixed sequence:
/// compressible as logs are (GZIP takes them to about a fifth).
fn lines(records: usize) -> Vec<Vec<u8>> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let pages = [
        "/",
        "/search",
        "/products",
        "/cart",
        "/checkout",
        "/account",
    ];
    (0..records)
        .map(|i| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let mut line = format!(
                "{{\"event_id\":{i},\"user\":\"user-{}\",\"page\":\"{}\",\"latency_ms\":{},\
                 \"agent\":\"Mozilla/5.0 (X11; Linux x86_64) Shardlab/1.0\",\"note\":\"",
                x % 10_000,
                // Modulo in u64: usize is 32 bits in wasm, and the records
                // must be the same on every host.
                pages[((x >> 20) % pages.len() as u64) as usize],
                (x >> 32) % 900
            );
            while line.len() < RECORD_BYTES - 3 {
                line.push_str(
                    ["lorem ", "ipsum ", "dolor ", "sit ", "amet "]
                        [((x >> (line.len() % 60)) % 5) as usize],
                );
            }
            line.truncate(RECORD_BYTES - 3);
            line.push_str("\"}\n");
            line.into_bytes()
        })
        .collect()
}

/// Direct PUT of `records` lines in batches of 500 into a delivery stream
/// with a 5 MiB / 900 s buffer and GZIP, then a delete that delivers the
/// rest: every byte buffered, compressed and written.
pub fn buffer_gzip_deliver(records: usize, clock: &dyn Fn() -> f64) -> Figure {
    let data = lines(records);
    let mut f = Firehose::new(FirehoseConfig {
        seed: 1,
        // No quota: the workload measures the data path.
        records_per_second: u64::MAX / 2_000,
        requests_per_second: u64::MAX / 2_000,
        bytes_per_second: u64::MAX / 2_000,
        ..FirehoseConfig::default()
    });
    f.call(
        "CreateDeliveryStream",
        &serde_json::json!({
            "DeliveryStreamName": "bench",
            "ExtendedS3DestinationConfiguration": {
                "RoleARN": "arn:aws:iam::123456789012:role/bench",
                "BucketARN": "arn:aws:s3:::bench",
                "BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 900},
                "CompressionFormat": "GZIP"
            }
        }),
        T0,
    )
    .expect("the benchmark delivery stream is valid");
    let mut batches: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut it = data.into_iter().peekable();
    while it.peek().is_some() {
        batches.push(it.by_ref().take(BATCH).collect());
    }
    let started = clock();
    for (i, batch) in batches.into_iter().enumerate() {
        let now = T0 + i as u64;
        let ids = f.put_typed("bench", batch, now).expect("the stream exists");
        debug_assert!(ids.iter().all(Option::is_some));
        f.tick(now);
    }
    f.call(
        "DeleteDeliveryStream",
        &serde_json::json!({"DeliveryStreamName": "bench"}),
        T0 + records as u64,
    )
    .expect("the stream exists");
    let millis = clock() - started;
    let mut digest = FNV_OFFSET;
    let mut delivered = 0u64;
    if let Some(b) = f.bucket("bench") {
        for (key, o) in &b.objects {
            digest = fnv1a64_extend(digest, key.as_bytes());
            digest = fnv1a64_extend(digest, &o.body);
            delivered += o.records;
        }
    }
    Figure {
        name: "firehose-gzip-s3",
        records: delivered,
        millis,
        digest: format!("{digest:016x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_is_delivered_compressed() {
        let clock = || 0.0;
        let fig = buffer_gzip_deliver(12_000, &clock);
        assert_eq!(fig.records, 12_000);
        assert_eq!(
            lines(3).iter().map(Vec::len).collect::<Vec<_>>(),
            [RECORD_BYTES; 3]
        );
        // Every record delivered, and the same bytes and names each run.
        let again = buffer_gzip_deliver(12_000, &clock);
        assert_eq!(fig.digest, again.digest);
        // The browser test `the_firehose_benchmark_is_the_same_in_wasm`
        // expects this digest: the hosts must do the same work.
        assert_eq!(fig.digest, PINNED_12K_DIGEST);
    }
}
