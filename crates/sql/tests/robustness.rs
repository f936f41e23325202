//! A bad query gets an error, never a panic: the golden applications with
//! random edits must compile to a clear error or run; random records and
//! bounds through a running application must never panic either.

use proptest::prelude::*;
use shardlab_sql::app::{AppConfig, InputColumn, RecordFormat, SourceSchema};
use shardlab_sql::value::SqlType;
use shardlab_sql::{Application, Record};

fn golden_apps() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut out = Vec::new();
    for e in std::fs::read_dir(root).expect("golden dir") {
        let p = e.expect("entry").path().join("app.sql");
        out.push(std::fs::read_to_string(p).expect("app.sql"));
    }
    out.sort();
    out
}

fn config() -> AppConfig {
    let col = |n: &str, ty: SqlType| InputColumn {
        name: n.into(),
        ty,
        mapping: None,
    };
    let source = |name: &str| SourceSchema {
        name: name.into(),
        columns: vec![
            col("TICKER_SYMBOL", SqlType::Varchar(Some(4))),
            col("TICKER", SqlType::Varchar(Some(4))),
            col("SECTOR", SqlType::Varchar(Some(16))),
            col("CHANGE", SqlType::Double),
            col("PRICE", SqlType::Double),
            col("EVENT_TIME", SqlType::Timestamp),
            col("CITY", SqlType::Varchar(Some(20))),
            col("TEMP", SqlType::Integer),
        ],
        format: RecordFormat::Json,
    };
    AppConfig {
        sources: vec![source("SOURCE_SQL_STREAM_001"), source("WEATHERSTREAM")],
        ..AppConfig::default()
    }
}

const WORDS: &[&str] = &[
    "SELECT",
    "STREAM",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "STEP",
    "(",
    ")",
    ",",
    "ROWTIME",
    "INTERVAL",
    "'1'",
    "SECOND",
    "MINUTE",
    "OVER",
    "WINDOW",
    "RANGE",
    "ROWS",
    "PRECEDING",
    "STAGGER",
    "WINDOWED",
    "PARTITION",
    "CURSOR",
    "TABLE",
    "TUMBLE",
    "HOP",
    "DESCRIPTOR",
    "*",
    "/",
    "-",
    "+",
    "0",
    "-1",
    "99999999999999999999",
    "'x'",
    "NULL",
    "CAST",
    "AS",
    "TIMESTAMP",
    "'9999999-01-01'",
    "FLOOR",
    "TO",
    "DAY",
    "COUNT",
    "SUM",
    ";",
    "\"",
    "ORDER",
    "HAVING",
    "JOIN",
    "ON",
    "=",
    "AND",
    "CASE",
    "WHEN",
    "THEN",
    "END",
    "INSERT",
    "INTO",
    "PUMP",
];

fn mutate(app: &str, edits: &[(usize, usize, usize)]) -> String {
    let mut tokens: Vec<String> = app.split_whitespace().map(str::to_string).collect();
    for &(kind, pos, word) in edits {
        if tokens.is_empty() {
            break;
        }
        let pos = pos % tokens.len();
        let w = WORDS[word % WORDS.len()].to_string();
        match kind % 3 {
            0 => {
                tokens.remove(pos);
            }
            1 => tokens.insert(pos, w),
            _ => tokens[pos] = w,
        }
    }
    tokens.join(" ")
}

/// Plays records and bounds; returns how many rows came out.
fn records(app: &mut Application, seed: &[(u8, i64, i64)]) -> usize {
    let mut produced = 0;
    let mut t = 1_500_000_000_000i64;
    for &(kind, a, b) in seed {
        t += (a.rem_euclid(120_000)) + 1;
        let data = match kind % 6 {
            0 => {
                serde_json::json!({"TICKER_SYMBOL": "AMZN", "TICKER": "AMZN", "CHANGE": b as f64 / 7.0, "PRICE": 0.0, "CITY": "Denver", "TEMP": b, "EVENT_TIME": "2018-01-01 00:00:00"})
            }
            1 => serde_json::json!({"PRICE": "not a number", "TEMP": 1e300}),
            2 => {
                serde_json::json!({"CHANGE": b, "PRICE": b, "TEMP": i64::MAX, "EVENT_TIME": "99999-99-99"})
            }
            3 => serde_json::json!([1, 2, 3]),
            4 => {
                serde_json::json!({"TICKER": "x".repeat((a.rem_euclid(50)) as usize), "TEMP": a % 3, "PRICE": b})
            }
            _ => {
                app.push_bound(t + b.rem_euclid(1_000_000));
                continue;
            }
        };
        for s in ["SOURCE_SQL_STREAM_001", "WEATHERSTREAM"] {
            let _ = app.push_record(s, t, t - 5, Record::Json(&data));
        }
        produced += app.take_outputs().len();
    }
    app.finish();
    produced + app.take_outputs().len()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn edited_applications_error_or_run_never_panic(
        which in 0usize..64,
        edits in prop::collection::vec((0usize..3, 0usize..400, 0usize..200), 1..4),
        input in prop::collection::vec((0u8..6, any::<i64>(), -1000i64..1000), 0..40),
    ) {
        let apps = golden_apps();
        let sql = mutate(&apps[which % apps.len()], &edits);
        match Application::compile(&sql, &config()) {
            Ok(mut app) => {
                records(&mut app, &input);
            }
            Err(e) => {
                prop_assert!(!e.message.is_empty());
                prop_assert!(e.line >= 1 || e.message.contains("Syntax"), "no position for: {e:?}");
            }
        }
    }
}

#[test]
fn every_golden_application_survives_hostile_records() {
    let (mut ran, mut produced) = (0, 0);
    for sql in golden_apps() {
        if let Ok(mut app) = Application::compile(&sql, &config()) {
            let hostile: Vec<(u8, i64, i64)> = (0..60)
                .map(|i| ((i % 6) as u8, i * 7919, (i * 31) % 2000 - 1000))
                .collect();
            ran += 1;
            produced += records(&mut app, &hostile);
        }
    }
    // Most golden applications read these columns, and rows (or error
    // rows) come out: the hostile input reached the operators.
    assert!(
        ran >= 20,
        "only {ran} golden applications compiled against the test schema"
    );
    assert!(produced > 500, "only {produced} rows came out");
}
