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
    let names: Vec<Value> = (0..KEYS).map(|i| Value::Str(format!("T{i:05}"))).collect();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let input: Vec<Row> = (0..rows)
        .map(|i| {
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
        })
        .collect();
    let last = input.last().map_or(T0, |r| r.rowtime);
    let mut app = Application::compile(APP, &config()).expect("the benchmark application compiles");
    let mut digest = FNV_OFFSET;
    let mut outputs = 0u64;
    let started = clock();
    let mut it = input.into_iter();
    loop {
        let batch: Vec<Row> = it.by_ref().take(BATCH).collect();
        if batch.is_empty() {
            break;
        }
        app.push_rows("SOURCE_SQL_STREAM_001", batch)
            .expect("typed rows");
        for o in app.take_outputs() {
            outputs += 1;
            digest = fnv1a64_extend(digest, o.to_json_line().as_bytes());
        }
    }
    app.push_bound(last + 10_000);
    for o in app.take_outputs() {
        outputs += 1;
        digest = fnv1a64_extend(digest, o.to_json_line().as_bytes());
    }
    let millis = clock() - started;
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
    fn the_workload_emits_every_key_per_window() {
        let fig = super::tumbling_10k_keys(50_000, &|| 0.0);
        assert_eq!(fig.records, 50_000);
        assert_eq!(fig.digest.len(), 16);
    }
}
