//! Shardlab's Firehose: a deterministic model of Amazon Data Firehose.
//!
//! Delivery streams take records (Direct PUT, or read from a Kinesis data
//! stream by the caller), hold them in a buffer until the first of its two
//! hints — size or interval — is reached, and deliver them as objects to an
//! in-memory S3-like bucket, named and compressed as AWS names and
//! compresses them. This is the point a learner must see: Firehose is near
//! real time because of the buffer. Time is passed in (virtual epoch
//! milliseconds) and randomness (object names) comes from a seeded
//! generator, so the same inputs give byte-identical objects everywhere.
//! It must never depend on wasm-bindgen, web-sys or any platform crate.

pub mod api;
pub mod bench;
pub mod bucket;
pub mod compression;
pub mod config;
pub mod convert;
pub mod delivery;
pub mod glue;
pub mod http;
pub mod jq;
pub mod opensearch;
pub mod prefix;
pub mod redshift;
/// Java-style timestamp patterns live in the engine, shared with SQL.
pub use shardlab_engine::time_pattern as timestamp;
pub mod transform;

pub use api::{DeliveryStream, Firehose, FirehoseConfig, Sink, Source};
pub use bucket::{Bucket, S3Object};
pub use compression::Compression;
pub use delivery::{Accounting, Flush, MinuteMetrics, Trigger};
#[cfg(test)]
mod tests;
