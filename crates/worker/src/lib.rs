//! Shardlab's Web Worker entry points.
//!
//! `shard_worker_start` turns a worker into one shard's data plane: it
//! answers encoded `ShardRequest`s with encoded `ShardReply`s, both as
//! transferred `ArrayBuffer`s. `simulation_worker_start` turns a worker into
//! the coordinator: it takes commands from the UI, spawns one shard worker
//! per shard, runs the tick loop with a barrier per tick, and posts compact
//! snapshots back. This is the only crate that knows about workers; the
//! engine and the simulation stay pure.

// Talc instead of Rust's default dlmalloc: faster frees and allocations
// on the engine's hot paths (README, Toolchain choices).
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

mod bench;
mod lambda_worker;
mod shard_worker;
mod sim_worker;
mod worker_host;

pub use bench::{bench_barrier, bench_engine, bench_ingest_in_process, bench_ingest_on_workers};
pub use lambda_worker::LambdaRunner;
pub use shard_worker::shard_worker_start;
pub use sim_worker::simulation_worker_start;
pub use worker_host::{run_on_workers, WorkerShardHost, WorkerStats, DEFAULT_REPLY_DEADLINE_MS};
