//! The SQL benchmark workload, shared by the native and the browser run of
//! `cargo xtask bench`: a 10-second tumbling GROUP BY over 10,000 keys.
//! Rows enter typed (no record decoding), so the figure is the operators'
//! own throughput: grouping, window closing, aggregation and output.

use shardlab_engine::bench::Figure;
use shardlab_engine::fnv::{fnv1a64_extend, FNV_OFFSET};

use crate::app::{AppConfig, InputColumn, RecordFormat, SourceSchema};
use crate::expr::Row;
use crate::value::{SqlType, Value};
use crate::Application;

const T0: i64 = 1_767_225_600_000;
/// Distinct grouping keys.
pub const KEYS: usize = 10_000;
/// Rows per second of ROWTIME: each 10 s window holds 200,000 rows.
const ROWS_PER_SECOND: usize = 20_000;
const BATCH: usize = 1_000;

pub const APP: &str = "
CREATE OR REPLACE STREAM \"DESTINATION_SQL_STREAM\" (ticker VARCHAR(8), n BIGINT, total BIGINT, low INTEGER, high INTEGER);
CREATE OR REPLACE PUMP \"STREAM_PUMP\" AS INSERT INTO \"DESTINATION_SQL_STREAM\"
    SELECT STREAM ticker, COUNT(*), SUM(price), MIN(price), MAX(price)
    FROM \"SOURCE_SQL_STREAM_001\"
    GROUP BY ticker, STEP(\"SOURCE_SQL_STREAM_001\".ROWTIME BY INTERVAL '10' SECOND);";

fn config() -> AppConfig {
    let col = |n: &str, ty| InputColumn {
        name: n.into(),
        ty,
        mapping: None,
    };
    AppConfig {
        sources: vec![SourceSchema {
            name: "SOURCE_SQL_STREAM_001".into(),
            columns: vec![
                col("TICKER", SqlType::Varchar(Some(8))),
                col("PRICE", SqlType::Integer),
            ],
            format: RecordFormat::Json,
        }],
        ..AppConfig::default()
    }
}

/// `rows` rows over 10,000 tickers (a fixed pseudo-random sequence), then
/// a bound that closes the last window; the digest covers every output row.
pub fn tumbling_10k_keys(rows: usize, clock: &dyn Fn() -> f64) -> Figure {
    let names: Vec<Value> = (0..KEYS)
        .map(|i| Value::Str((format!("T{i:05}")).into()))
        .collect();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next_row = |i: usize| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let t = T0 + (i as i64 * 1000) / ROWS_PER_SECOND as i64;
        Row {
            rowtime: t,
            values: vec![
                names[((x >> 33) % KEYS as u64) as usize].clone(),
                Value::Int(((x >> 20) % 1000) as i64),
                Value::Timestamp(t),
            ],
        }
    };
    let mut app = Application::compile(APP, &config()).expect("the benchmark application compiles");
    let mut digest = FNV_OFFSET;
    let mut outputs = 0u64;
    let mut millis = 0.0;
    let mut last = T0;
    let mut i = 0;
    while i < rows {
        // Rows are made a batch at a time, outside the timed part, so the
        // input never has to fit in memory at once (wasm has 4 GiB).
        let n = BATCH.min(rows - i);
        let batch: Vec<Row> = (i..i + n).map(&mut next_row).collect();
        i += n;
        last = batch.last().map_or(last, |r| r.rowtime);
        let started = clock();
        app.push_rows("SOURCE_SQL_STREAM_001", batch)
            .expect("typed rows");
        let out = app.take_outputs();
        millis += clock() - started;
        for o in out {
            outputs += 1;
            digest = fnv1a64_extend(digest, o.to_json_line().as_bytes());
        }
    }
    let started = clock();
    app.push_bound(last + 10_000);
    let out = app.take_outputs();
    millis += clock() - started;
    for o in out {
        outputs += 1;
        digest = fnv1a64_extend(digest, o.to_json_line().as_bytes());
    }
    assert!(outputs > 0, "the benchmark produced no rows");
    Figure {
        name: "sql-tumbling-10k-keys",
        records: rows as u64,
        millis,
        digest: format!("{digest:016x}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_workload_is_reproducible_and_sensitive_to_its_input() {
        // 250,000 rows span 12.5 s of ROWTIME: two windows.
        let a = super::tumbling_10k_keys(250_000, &|| 0.0);
        assert_eq!(a, super::tumbling_10k_keys(250_000, &|| 0.0));
        // One row fewer changes a window's counts, so the digest.
        assert_ne!(a.digest, super::tumbling_10k_keys(249_999, &|| 0.0).digest);
    }
}
