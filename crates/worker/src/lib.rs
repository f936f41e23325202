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
// on the engine's hot paths (README, Toolchain choices); counted, so the
// simulation can stop before its worker runs out of memory.
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static ALLOCATOR: Counted<talc::wasm::WasmDynamicTalc> =
    Counted(talc::wasm::new_wasm_dynamic_allocator());

static HEAP_IN_USE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Bytes this worker's heap has allocated and not freed.
pub fn heap_in_use() -> usize {
    HEAP_IN_USE.load(std::sync::atomic::Ordering::Relaxed)
}

/// An allocator that counts the bytes in use.
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
struct Counted<A>(A);

// SAFETY: every call is forwarded to the inner allocator unchanged; the
// counter is only arithmetic on the sizes.
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
unsafe impl<A: std::alloc::GlobalAlloc> std::alloc::GlobalAlloc for Counted<A> {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let p = unsafe { self.0.alloc(layout) };
        if !p.is_null() {
            HEAP_IN_USE.fetch_add(layout.size(), std::sync::atomic::Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { self.0.dealloc(ptr, layout) };
        HEAP_IN_USE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { self.0.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            HEAP_IN_USE.fetch_add(new_size, std::sync::atomic::Ordering::Relaxed);
            HEAP_IN_USE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        }
        p
    }
}

mod bench;
mod fetch;
mod lambda_worker;
mod shard_worker;
mod sim_worker;
mod worker_host;

pub use bench::{bench_barrier, bench_engine, bench_ingest_in_process, bench_ingest_on_workers};
pub use lambda_worker::LambdaRunner;
pub use shard_worker::shard_worker_start;
pub use sim_worker::simulation_worker_start;
pub use worker_host::{run_on_workers, WorkerShardHost, WorkerStats, DEFAULT_REPLY_DEADLINE_MS};
