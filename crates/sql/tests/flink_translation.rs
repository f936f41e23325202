//! "Show as Flink SQL" says the same thing as the KDA application: each
//! translatable golden application's translation, run through the engine
//! over the same input, gives the same rows in every stream (values; the
//! ROWTIME of an aggregate row is its window's end in KDA and the moment
//! it fired in Flink, so that is not compared).

use std::path::Path;

use shardlab_sql::run::{run_jsonl, to_flink};

fn rows(lines: &[String], stream: &str) -> Vec<Vec<serde_json::Value>> {
    lines
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(l).expect("json")
        })
        .filter(|m| m["stream"] == stream)
        .map(|m| {
            m.into_iter()
                .filter(|(k, _)| k != "stream" && k != "ROWTIME")
                .map(|(_, v)| v)
                .collect()
        })
        .collect()
}

#[test]
fn translations_give_the_same_rows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let cases = [
        ("kda-07-continuous-filter", "DESTINATION_SQL_STREAM"),
        ("kda-08-tumbling-step-rowtime", "DESTINATION_SQL_STREAM"),
        ("kda-11-sliding-range-minute", "DESTINATION_SQL_STREAM"),
        ("kda-11-sliding-rows-crossover", ""),
        ("kda-12-throttled-alerts", "TRIGGER_COUNT_STREAM"),
        ("kda-14-two-record-types", "DESTINATION_SQL_STREAM"),
        ("kda-stream-join-inner", "DESTINATION_SQL_STREAM"),
        ("kda-lag-price-change", "DESTINATION_SQL_STREAM"),
    ];
    let mut compared = 0;
    for (case, stream) in cases {
        let dir = root.join(case);
        let sql = std::fs::read_to_string(dir.join("app.sql")).expect("app.sql");
        let input = std::fs::read_to_string(dir.join("input.jsonl")).expect("input");
        let t = to_flink(&sql, &input, "input").unwrap_or_else(|e| panic!("{case}: {e}"));
        if stream.is_empty() {
            // Two OVER windows in one SELECT: no translation, and a note says why.
            assert!(
                t.notes
                    .iter()
                    .any(|n| n.contains("two different OVER windows")),
                "{case}: {:?}",
                t.notes
            );
            continue;
        }
        assert!(
            t.notes.iter().all(|n| !n.contains("is left out")),
            "{case}: {:?}\n{}",
            t.notes,
            t.sql
        );
        let kda = run_jsonl(&sql, &input, &[]).unwrap_or_else(|e| panic!("{case}: {e}"));
        let flink = run_jsonl(&t.sql, &input, &[])
            .unwrap_or_else(|e| panic!("{case} as Flink SQL: {e}\n{}", t.sql));
        let (a, b) = (rows(&kda, stream), rows(&flink, stream));
        assert!(!a.is_empty(), "{case}: no rows to compare");
        assert_eq!(a, b, "{case}: the Flink translation differs\n{}", t.sql);
        compared += 1;
    }
    assert_eq!(compared, 7);
}

/// A Firehose output becomes a Firehose table only when no query reads
/// its stream back (names compared as KDA compares them, whole words),
/// and only when it is the stream's one Firehose output.
#[test]
fn firehose_outputs_become_firehose_tables_only_where_flink_can_write_them() {
    use shardlab_sql::flink::{translate, FlinkOutput, FlinkSource};
    use shardlab_sql::value::SqlType;
    let source = |outputs: Vec<FlinkOutput>| FlinkSource {
        kinesis_stream: "ticker".into(),
        initial_position: "LATEST".into(),
        columns: vec![("PRICE".into(), SqlType::Double)],
        outputs,
    };
    let to = |ds: &str| FlinkOutput {
        stream: "ALERTS".into(),
        delivery_stream: Some(ds.into()),
        function: None,
        data_stream: None,
        format: "json".into(),
    };
    let app = |extra: &str| {
        format!(
            "CREATE OR REPLACE STREAM alerts (price DOUBLE);
             CREATE OR REPLACE STREAM alerts_raw (price DOUBLE);
             CREATE OR REPLACE PUMP p AS INSERT INTO alerts SELECT STREAM price FROM SOURCE_SQL_STREAM_001;
             {extra}"
        )
    };
    let firehose_table = "'connector' = 'firehose',\n    'delivery-stream' = 'out'";
    // A stream whose name starts the same is not a read.
    let t = translate(
        &app("CREATE OR REPLACE PUMP q AS INSERT INTO alerts_raw SELECT STREAM price FROM SOURCE_SQL_STREAM_001;"),
        &source(vec![to("out")]),
    )
    .unwrap();
    assert!(t.sql.contains(firehose_table), "{}", t.sql);
    // A pump or a query reading it back (lower-case, unquoted) keeps it a stream.
    for extra in [
        "CREATE OR REPLACE PUMP q AS INSERT INTO alerts_raw SELECT STREAM price FROM alerts;",
        "SELECT STREAM * FROM alerts;",
    ] {
        let t = translate(&app(extra), &source(vec![to("out")])).unwrap();
        assert!(
            !t.sql.contains("'connector' = 'firehose'"),
            "{extra}: {}",
            t.sql
        );
        assert!(
            t.notes.iter().any(|n| n.contains("delivery stream out")),
            "{:?}",
            t.notes
        );
    }
    // Two outputs: both noted, neither lost.
    let t = translate(&app(""), &source(vec![to("a"), to("b")])).unwrap();
    assert!(!t.sql.contains("'connector' = 'firehose'"), "{}", t.sql);
    for ds in ["delivery stream a", "delivery stream b"] {
        assert!(t.notes.iter().any(|n| n.contains(ds)), "{:?}", t.notes);
    }
    // A Kinesis output: the table is the output stream, in its format,
    // whether or not a query reads it back; a Firehose output beside it is
    // noted.
    let kinesis = FlinkOutput {
        data_stream: Some("alerts-out".into()),
        delivery_stream: None,
        format: "csv".into(),
        ..to("unused")
    };
    for extra in ["", "SELECT STREAM * FROM alerts;"] {
        let t = translate(&app(extra), &source(vec![kinesis.clone(), to("out")])).unwrap();
        assert!(
            t.sql.contains(
                "-- KDA's application output: its rows go to the Kinesis data stream alerts-out.\nCREATE TABLE `ALERTS` (\n    `PRICE` DOUBLE,\n    `proc_time` AS PROCTIME()\n) WITH (\n    'connector' = 'kinesis',\n    'stream' = 'alerts-out',\n    'aws.region' = 'us-east-1',\n    'format' = 'csv'\n);"
            ),
            "{}",
            t.sql
        );
        assert!(!t.sql.contains("'connector' = 'firehose'"), "{}", t.sql);
        assert!(
            t.notes.iter().any(|n| n.contains("delivery stream out")),
            "{:?}",
            t.notes
        );
        assert!(
            !t.notes.iter().any(|n| n.contains("Lambda")),
            "{:?}",
            t.notes
        );
    }
    // A second Kinesis output is noted, not dropped.
    let other = FlinkOutput {
        data_stream: Some("alerts-copy".into()),
        ..kinesis.clone()
    };
    let t = translate(&app(""), &source(vec![kinesis, other])).unwrap();
    assert!(t.sql.contains("'stream' = 'alerts-out'"), "{}", t.sql);
    assert!(
        t.notes
            .iter()
            .any(|n| n.contains("Kinesis data stream alerts-copy")),
        "{:?}",
        t.notes
    );
}
