//! The native half of `cargo xtask bench` (run in release). Prints one
//! `name records seconds digest` line per workload: the best of three runs
//! after one warm-up, as the browser half does.

use std::time::Instant;

use shardlab_engine::bench::{
    get_records_json, memory_per_record, put_records_json, put_records_typed, Figure,
};
use shardlab_sim::bench::{ingest_16_shards, records_accepted, run_in_process};

/// Records per engine workload (the browser runs the same number).
const ENGINE_RECORDS: usize = 500_000;
/// Records of 1,000 bytes through Firehose (web/bench.js runs as many).
const FIREHOSE_RECORDS: usize = 50_000;
/// Rows through the SQL tumbling window (web/bench.js runs as many).
const SQL_ROWS: usize = 2_000_000;

fn best(run: impl Fn(&dyn Fn() -> f64) -> Figure) -> Figure {
    let origin = Instant::now();
    let clock = move || origin.elapsed().as_secs_f64() * 1000.0;
    run(&clock);
    (0..3)
        .map(|_| run(&clock))
        .min_by(|a, b| a.millis.total_cmp(&b.millis))
        .expect("three runs")
}

fn print(f: &Figure) {
    println!(
        "{} {} {:.6} {}",
        f.name,
        f.records,
        f.millis / 1000.0,
        f.digest
    );
}

fn main() {
    print(&best(|clock| put_records_typed(ENGINE_RECORDS, clock)));
    print(&best(|clock| put_records_json(ENGINE_RECORDS, clock)));
    print(&best(|clock| get_records_json(ENGINE_RECORDS, clock)));
    print(&best(|clock| {
        shardlab_firehose::bench::buffer_gzip_deliver(FIREHOSE_RECORDS, clock)
    }));
    print(&best(|clock| {
        shardlab_sql::bench::tumbling_10k_keys(SQL_ROWS, clock)
    }));
    // Not a timing: bytes per record beyond key and data, after 1 M records.
    println!(
        "memory-per-record 1000000 {:.2}",
        memory_per_record(1_000_000)
    );

    let workload = ingest_16_shards();
    let sim = best(|clock| {
        let started = clock();
        let snap = run_in_process(&workload).expect("the benchmark scenario is valid");
        Figure {
            name: workload.name,
            records: records_accepted(&snap),
            millis: clock() - started,
            digest: snap.digest,
        }
    });
    print(&sim);
}
