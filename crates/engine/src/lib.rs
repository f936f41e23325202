//! The Shardlab engine: a deterministic model of Amazon Kinesis Data Streams.
//!
//! It holds what a stream is made of — the 128-bit hash-key space and its
//! split into shards, MD5 routing, AWS's sequence-number layout, per-shard
//! write limits, retention — and the byte protocol a shard host speaks. Time
//! is a value passed in (virtual milliseconds); nothing here reads a clock,
//! spawns a thread or touches a browser. It must never depend on
//! wasm-bindgen, web-sys or any other platform crate: the same code runs
//! natively, in tests, and inside Web Workers.

pub mod api;
pub mod bench;
mod error;
pub mod fnv;
mod hash_key;
pub mod kpl;
pub mod made;
#[cfg(any(test, all(target_arch = "wasm32", target_feature = "simd128")))]
mod md5_lanes;
pub mod protocol;
mod sequence_number;
pub mod shard;
pub mod store;
mod throughput;
pub mod time;
pub mod time_pattern;

pub use api::{Kinesis, KinesisConfig};
pub use error::ApiError;
pub use hash_key::{route, HashKey, HashKeyRange, MAX_HASH_KEY};
pub use sequence_number::{SequenceNumber, CLOSING_SEQUENCE_INDEX};
pub use shard::{
    shard_id, PutEntry, PutOutcome, ShardConfig, ShardDataPlane, ShardStats, StoredRecord,
    ACCOUNT_ID, DEFAULT_RETENTION_MS,
};
pub use throughput::TokenBucket;

/// The ARN AWS gives a stream of this name in the simulated account.
pub fn stream_arn(region: &str, stream_name: &str) -> String {
    format!("arn:aws:kinesis:{region}:{ACCOUNT_ID}:stream/{stream_name}")
}
