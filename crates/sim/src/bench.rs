//! The benchmark workloads, shared by the native run (`cargo xtask bench`
//! runs `examples/bench.rs` in release) and the browser run (the worker
//! crate's `bench_*` exports), so both measure exactly the same work.
//! Timing is the caller's: this crate has no clock.

use crate::host::{run_tick, start_in_process};
use crate::{Scenario, SimError, Simulation, Snapshot, TICK_MS};

/// A named workload: a seeded scenario run for a number of ticks.
#[derive(Clone, Debug)]
pub struct Workload {
    pub name: &'static str,
    pub scenario: Scenario,
    pub ticks: u32,
}

/// Ingest at the write limit of every shard: 16 shards, 16,000 records/s,
/// 60 virtual seconds, so 960,000 records routed, sequenced and stored.
pub fn ingest_16_shards() -> Workload {
    Workload {
        name: "ingest-16-shards",
        scenario: Scenario {
            stream_name: "bench".into(),
            shard_count: 16,
            seed: 7,
            rate_per_sec: 16_000,
            ..Default::default()
        },
        ticks: 600,
    }
}

/// Runs `workload` with every shard in this thread and returns the final
/// snapshot (its digest lets runs on other hosts be compared).
pub fn run_in_process(workload: &Workload) -> Result<Snapshot, SimError> {
    let (mut sim, mut host) = start_in_process(workload.scenario.clone())?;
    for _ in 0..workload.ticks {
        run_tick(&mut sim, &mut host, TICK_MS)?;
    }
    Ok(sim.snapshot())
}

/// A resharding script for a 4-shard stream, run before each tick `t`:
/// split shard 0 at tick 10, merge shards 2 and 3 at tick 20, split the
/// first child of the first split (shard 5) at tick 30. The native and
/// browser tests run it on every host so they reshard identically.
pub fn split_merge_split(t: u32, sim: &mut Simulation) -> Result<(), SimError> {
    match t {
        10 => sim.split_shard("shardId-000000000000"),
        20 => sim.merge_shards("shardId-000000000002", "shardId-000000000003"),
        30 => sim.split_shard("shardId-000000000005"),
        _ => Ok(()),
    }
}

/// Records the shards accepted, summed.
pub fn records_accepted(snapshot: &Snapshot) -> u64 {
    snapshot.records_accepted()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ingest_workload_stays_within_the_write_limits() {
        let mut w = ingest_16_shards();
        w.ticks = 20;
        let snap = run_in_process(&w).unwrap();
        assert_eq!(snap.records_produced, 32_000);
        // Random keys spread the load about evenly and each shard's bucket
        // holds one second of capacity, so (almost) everything gets in.
        let accepted = records_accepted(&snap);
        assert!(accepted > 30_000 && accepted <= 32_000, "{accepted}");
    }
}
