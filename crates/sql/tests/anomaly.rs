//! RANDOM_CUT_FOREST in the spirit of KDA's: the developer guide's
//! heart-rate application (its SQL verbatim), over a steady heart rate with
//! a few spikes: the spikes score far above the rest, the output is sorted
//! within each second by score, and the same input gives the same scores.

use shardlab_sql::run::run_jsonl;

const APP: &str = r#"
CREATE OR REPLACE STREAM "TEMP_STREAM" (
        "heartRate"        INTEGER,
        "rateType"         varchar(20),
        "ANOMALY_SCORE"    DOUBLE);
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
        "heartRate"        INTEGER,
        "rateType"         varchar(20),
        "ANOMALY_SCORE"    DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS
   INSERT INTO "TEMP_STREAM"
      SELECT STREAM "heartRate", "rateType", ANOMALY_SCORE
      FROM TABLE(RANDOM_CUT_FOREST(
              CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001")));
CREATE OR REPLACE PUMP "OUTPUT_PUMP" AS
   INSERT INTO "DESTINATION_SQL_STREAM"
      SELECT STREAM * FROM "TEMP_STREAM"
      ORDER BY FLOOR("TEMP_STREAM".ROWTIME TO SECOND), ANOMALY_SCORE DESC;
"#;

const SPIKES: [usize; 4] = [420, 505, 633, 777];

fn input() -> String {
    let mut x: u64 = 7;
    let mut s = String::new();
    for i in 0..900 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let (rate, kind) = if SPIKES.contains(&i) {
            (150 + (x >> 60) as i64, "high")
        } else {
            (60 + ((x >> 33) % 21) as i64, "normal")
        };
        // Four readings a second.
        let ms = 1_767_225_600_000i64 + i as i64 * 250;
        s.push_str(&format!(
            "{{\"rowtime\":{ms},\"data\":{{\"heartRate\":{rate},\"rateType\":\"{kind}\"}}}}\n"
        ));
    }
    s.push_str("{\"bound\":1767225900000}\n");
    s
}

#[test]
fn spikes_score_far_above_the_steady_rate() {
    let out = run_jsonl(APP, &input(), &[]).expect("runs");
    let rows: Vec<serde_json::Value> = out
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .filter(|v| v["stream"] == "DESTINATION_SQL_STREAM")
        .collect();
    assert_eq!(rows.len(), 900);
    let score = |v: &serde_json::Value| v["ANOMALY_SCORE"].as_f64().expect("a score");
    let mut normal: Vec<f64> = rows
        .iter()
        .skip(300)
        .filter(|v| v["rateType"] == "normal")
        .map(score)
        .collect();
    normal.sort_by(f64::total_cmp);
    let median = normal[normal.len() / 2];
    let p99 = normal[normal.len() * 99 / 100];
    let spikes: Vec<f64> = rows
        .iter()
        .filter(|v| v["rateType"] == "high")
        .map(score)
        .collect();
    assert_eq!(spikes.len(), SPIKES.len());
    for s in &spikes {
        assert!(
            *s > 3.0 * median && *s > p99,
            "spike {s} vs median {median}, p99 {p99}"
        );
    }
    // Within each second, the highest score first.
    for pair in rows.windows(2) {
        if pair[0]["ROWTIME"] == pair[1]["ROWTIME"] {
            assert!(score(&pair[0]) >= score(&pair[1]));
        }
    }
    assert_eq!(out, run_jsonl(APP, &input(), &[]).expect("runs again"));
}
