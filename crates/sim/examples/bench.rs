//! The native half of `cargo xtask bench` (run in release). Prints one
//! `name records seconds digest` line per workload.

use std::time::Instant;

use shardlab_sim::bench::{ingest_16_shards, records_accepted, run_in_process};

fn main() {
    let workload = ingest_16_shards();
    // One warm-up run, then the best of three.
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..4 {
        let started = Instant::now();
        let snap = run_in_process(&workload).expect("the benchmark scenario is valid");
        let secs = started.elapsed().as_secs_f64();
        if last.is_some() {
            best = best.min(secs);
        }
        last = Some(snap);
    }
    let snap = last.expect("ran");
    println!(
        "{} {} {:.6} {}",
        workload.name,
        records_accepted(&snap),
        best,
        snap.digest
    );
}
