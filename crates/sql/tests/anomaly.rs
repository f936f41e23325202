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

/// RANDOM_CUT_FOREST_WITH_EXPLANATION: the developer guide's blood
/// pressure application (its SQL verbatim) over readings with a few high
/// ones: each column's ATTRIBUTION_SCORE, and their sum is the score; a
/// high reading is HIGH in both columns; during the learning phase the
/// score is 0 and the directions LOW, as AWS documents.
#[test]
fn the_explanation_attributes_the_score_to_the_columns() {
    const APP: &str = r#"
--Creates a temporary stream.
CREATE OR REPLACE STREAM "TEMP_STREAM" (
	        "Systolic"                  INTEGER,
	        "Diastolic"                 INTEGER,
	        "BloodPressureLevel"        varchar(20),
	        "ANOMALY_SCORE"             DOUBLE,
	        "ANOMALY_EXPLANATION"       varchar(512));

--Creates another stream for application output.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
	        "Systolic"                  INTEGER,
	        "Diastolic"                 INTEGER,
	        "BloodPressureLevel"        varchar(20),
	        "ANOMALY_SCORE"             DOUBLE,
	        "ANOMALY_EXPLANATION"       varchar(512));

-- Compute an anomaly score with explanation for each record in the input stream
-- using RANDOM_CUT_FOREST_WITH_EXPLANATION
CREATE OR REPLACE PUMP "STREAM_PUMP" AS
   INSERT INTO "TEMP_STREAM"
      SELECT STREAM "Systolic", "Diastolic", "BloodPressureLevel", ANOMALY_SCORE, ANOMALY_EXPLANATION
      FROM TABLE(RANDOM_CUT_FOREST_WITH_EXPLANATION(
              CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"), 100, 256, 100000, 1, true));

-- Sort records by descending anomaly score, insert into output stream
CREATE OR REPLACE PUMP "OUTPUT_PUMP" AS
   INSERT INTO "DESTINATION_SQL_STREAM"
      SELECT STREAM * FROM "TEMP_STREAM"
      ORDER BY FLOOR("TEMP_STREAM".ROWTIME TO SECOND), ANOMALY_SCORE DESC;
"#;
    let mut x: u64 = 3;
    let mut next = |n: u64| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) % n
    };
    let mut input = String::new();
    for i in 0..700i64 {
        let (s, d, level) = if i % 97 == 96 {
            (130 + next(70), 90 + next(60), "HIGH")
        } else {
            (90 + next(31), 60 + next(21), "NORMAL")
        };
        let ms = 1_767_225_600_000i64 + i * 100;
        input.push_str(&format!(
            "{{\"rowtime\":{ms},\"data\":{{\"Systolic\":{s},\"Diastolic\":{d},\"BloodPressureLevel\":\"{level}\"}}}}\n"
        ));
    }
    input.push_str("{\"bound\":1767225700000}\n");
    let rows: Vec<serde_json::Value> = run_jsonl(APP, &input, &[])
        .expect("runs")
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["stream"] == "DESTINATION_SQL_STREAM")
        .collect();
    assert_eq!(rows.len(), 700);
    let explanation = |r: &serde_json::Value| -> serde_json::Value {
        serde_json::from_str(r["ANOMALY_EXPLANATION"].as_str().unwrap()).unwrap()
    };
    let num = |v: &serde_json::Value| v.as_str().unwrap().parse::<f64>().unwrap();
    // AWS's shape: the columns by name, DIRECTION, STRENGTH and
    // ATTRIBUTION_SCORE as text with 4 decimals.
    let first = rows[0]["ANOMALY_EXPLANATION"].as_str().unwrap();
    assert_eq!(
        first,
        r#"{"Systolic":{"DIRECTION":"LOW","STRENGTH":"0.0000","ATTRIBUTION_SCORE":"0.0000"},"Diastolic":{"DIRECTION":"LOW","STRENGTH":"0.0000","ATTRIBUTION_SCORE":"0.0000"}}"#
    );
    for r in &rows {
        let e = explanation(r);
        let sum =
            num(&e["Systolic"]["ATTRIBUTION_SCORE"]) + num(&e["Diastolic"]["ATTRIBUTION_SCORE"]);
        assert!(
            (sum - r["ANOMALY_SCORE"].as_f64().unwrap()).abs() < 0.0002,
            "{r}"
        );
    }
    // After the learning phase, the high readings score highest, HIGH in
    // both columns.
    let learned: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| r["ANOMALY_SCORE"].as_f64().unwrap() > 0.0)
        .collect();
    let top = learned
        .iter()
        .max_by(|a, b| {
            a["ANOMALY_SCORE"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["ANOMALY_SCORE"].as_f64().unwrap())
        })
        .unwrap();
    assert_eq!(
        top["BLOODPRESSURELEVEL"]
            .as_str()
            .or(top["BloodPressureLevel"].as_str()),
        Some("HIGH"),
        "{top}"
    );
    let e = explanation(top);
    assert_eq!(
        (
            e["Systolic"]["DIRECTION"].as_str(),
            e["Diastolic"]["DIRECTION"].as_str()
        ),
        (Some("HIGH"), Some("HIGH")),
        "{top}"
    );
}
