//! Shardlab's simulation: the scenario, the virtual clock, seeded producers,
//! and the tick loop that drives a stream's shards wherever they live.
//!
//! Pure like the engine: time comes in as a value, randomness from seeded
//! ChaCha sub-streams, and shards are reached through the byte protocol of
//! `shardlab_engine::protocol`. It must never depend on wasm-bindgen,
//! web-sys or any platform crate; the browser's worker host lives in the
//! `worker` crate and drives the same two-step tick.

pub mod agent;
pub mod aggregation;
pub mod bench;
pub mod clock;
pub mod consumer;
pub mod control;
pub mod durability;
pub mod esm;
pub mod export;
pub mod filter;
pub mod firehose_source;
pub mod headless;
pub mod host;
pub mod kcl;
pub mod lambda;
pub mod metrics;
pub mod output_stream;
pub mod producer;
pub mod queues;
pub mod retry;
pub mod rng;
pub mod share;
pub mod simulation;
pub mod sql;
pub mod template;

pub use host::{open_shards, read_back, run_tick, InProcessHost, ShardHost};
pub use shardlab_engine::{stream_arn, ACCOUNT_ID};
/// Bucket or domain, for the outage switch.
pub use shardlab_firehose::Sink;
pub use simulation::{
    ReadBack, ReadBackShard, Scenario, ShardView, Simulation, Snapshot, MAX_HOSTS, MAX_SHARDS,
};

/// Tick length the playground uses, in virtual milliseconds.
pub const TICK_MS: u64 = 100;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Api(#[from] shardlab_engine::ApiError),
    #[error("invalid scenario: {0}")]
    Scenario(String),
    #[error("shard host failed: {0}")]
    Host(String),
}
