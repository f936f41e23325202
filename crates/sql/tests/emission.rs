//! When windows emit: a KDA GROUP BY window closes only when a later row or
//! a rowtime bound at or past its end arrives (the SQL reference's
//! WEATHERSTREAM example); a Flink window when the watermark passes its end.

use shardlab_sql::run::run_jsonl;

const SQL: &str = "SELECT STREAM FLOOR(W.ROWTIME TO DAY) AS D, MIN(TEMP) AS LO FROM W GROUP BY FLOOR(W.ROWTIME TO DAY)";

fn input(bound: Option<&str>) -> String {
    let mut s = String::new();
    for (t, temp) in [
        ("2018-11-01 01:00:00", 29),
        ("2018-11-02 01:00:00", 39),
        ("2018-11-03 01:00:00", 36),
    ] {
        s.push_str(&format!(
            "{{\"rowtime\":\"{t}\",\"stream\":\"W\",\"data\":{{\"TEMP\":{temp}}}}}\n"
        ));
    }
    if let Some(b) = bound {
        s.push_str(&format!("{{\"bound\":\"{b}\"}}\n"));
    }
    s
}

#[test]
fn the_last_window_waits_for_a_bound_at_its_end() {
    let days = |bound| -> Vec<String> {
        run_jsonl(SQL, &input(bound), &[])
            .expect("runs")
            .iter()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).expect("json")["D"]
                    .as_str()
                    .unwrap_or_default()[..10]
                    .to_string()
            })
            .collect()
    };
    assert_eq!(days(None), ["2018-11-01", "2018-11-02"]);
    assert_eq!(
        days(Some("2018-11-03 23:59:59.999")),
        ["2018-11-01", "2018-11-02"]
    );
    assert_eq!(
        days(Some("2018-11-04 00:00:00")),
        ["2018-11-01", "2018-11-02", "2018-11-03"]
    );
}

#[test]
fn a_flink_window_fires_when_the_watermark_passes_its_end() {
    let sql = "CREATE TABLE T (ts TIMESTAMP(3), v INT, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH ('connector' = 'kinesis');
        SELECT window_end, SUM(v) AS s FROM TABLE(TUMBLE(TABLE T, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end;";
    let line = |arrival: &str, ts: &str, v: i32| {
        format!("{{\"arrival\":\"{arrival}\",\"stream\":\"T\",\"data\":{{\"ts\":\"{ts}\",\"v\":{v}}}}}\n")
    };
    // 00:00:14 puts the watermark at 00:00:09: [0, 10) is still open.
    let mut input = line("2026-01-01 00:00:01", "2026-01-01 00:00:01", 1)
        + &line("2026-01-01 00:00:14", "2026-01-01 00:00:14", 2);
    // A late row for [0, 10): it still counts, the window has not fired.
    input += &line("2026-01-01 00:00:15", "2026-01-01 00:00:08", 4);
    // 00:00:15 moves the watermark to 00:00:10: [0, 10) fires with 1 + 4.
    input += &line("2026-01-01 00:00:16", "2026-01-01 00:00:15", 8);
    // Too late for [0, 10): dropped, as Flink drops it.
    input += &line("2026-01-01 00:00:17", "2026-01-01 00:00:03", 16);
    let out = run_jsonl(sql, &input, &[]).expect("runs");
    let sums: Vec<(String, i64)> = out
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            (
                v["window_end"].as_str().unwrap_or_default()[11..19].to_string(),
                v["s"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    // The end of the input fires the rest, as a bounded Flink source does.
    assert_eq!(
        sums,
        [("00:00:10".to_string(), 5), ("00:00:20".to_string(), 10)]
    );
    let first: serde_json::Value = serde_json::from_str(&out[0]).expect("json");
    assert_eq!(
        first["ROWTIME"], "2026-01-01 00:00:16.000",
        "emitted when the watermark passed, on arrival of the 00:00:15 row"
    );
}
