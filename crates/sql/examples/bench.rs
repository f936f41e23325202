//! Quick look at the SQL workload's speed: `cargo run --release -p shardlab-sql --example bench`.
fn main() {
    let origin = std::time::Instant::now();
    let clock = move || origin.elapsed().as_secs_f64() * 1000.0;
    for _ in 0..3 {
        let f = shardlab_sql::bench::tumbling_10k_keys(2_000_000, &clock);
        println!(
            "{} {} rows in {:.3} s = {:.2} M rows/s, digest {}",
            f.name,
            f.records,
            f.millis / 1000.0,
            f.records as f64 / f.millis / 1000.0,
            f.digest
        );
    }
}
