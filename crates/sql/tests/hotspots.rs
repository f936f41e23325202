//! HOTSPOTS in the spirit of KDA's: the developer guide's example (its SQL
//! verbatim) over its generator's points — uniform on 10 × 10, and a fifth
//! of them in a 1 × 1 square — finds the square, with a density above
//! the guide's viewer's threshold of 40, and nothing else that dense.

use shardlab_sql::run::run_jsonl;

const APP: &str = r#"
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    "x" DOUBLE,
    "y" DOUBLE,
    "is_hot" VARCHAR(4),
    HOTSPOTS_RESULT VARCHAR(10000)
);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS
    INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT "x", "y", "is_hot", "HOTSPOTS_RESULT"
    FROM TABLE (
        HOTSPOTS(
            CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"),
            1000,
            0.2,
            17)
    );
"#;

/// The hot square's corner.
const HOT: (f64, f64) = (6.25, 2.5);

fn input() -> String {
    let mut x: u64 = 11;
    let mut next = || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut s = String::new();
    for i in 0..1200 {
        let hot = next() < 0.2;
        let (px, py) = if hot {
            (HOT.0 + next(), HOT.1 + next())
        } else {
            (next() * 10.0, next() * 10.0)
        };
        let ms = 1_767_225_600_000i64 + i * 10;
        s.push_str(&format!(
            "{{\"rowtime\":{ms},\"data\":{{\"x\":{px},\"y\":{py},\"is_hot\":\"{}\"}}}}\n",
            if hot { "Y" } else { "N" }
        ));
    }
    // The end of the last timestep.
    s.push_str("{\"bound\":1767225700000}\n");
    s
}

#[test]
fn the_hot_square_is_the_densest_hotspot() {
    let out = run_jsonl(APP, &input(), &[]).expect("runs");
    assert_eq!(out.len(), 1200);
    let last: serde_json::Value = serde_json::from_str(out.last().unwrap()).unwrap();
    let result: serde_json::Value =
        serde_json::from_str(last["HOTSPOTS_RESULT"].as_str().unwrap()).unwrap();
    let spots = result["hotspots"].as_array().unwrap();
    assert!(!spots.is_empty(), "{result}");
    let top = &spots[0];
    let (lo, hi) = (&top["minValues"], &top["maxValues"]);
    // Within the square, give or take the scan radius.
    assert!(
        lo[0].as_f64().unwrap() >= HOT.0 - 0.2 && hi[0].as_f64().unwrap() <= HOT.0 + 1.2,
        "{top}"
    );
    assert!(
        lo[1].as_f64().unwrap() >= HOT.1 - 0.2 && hi[1].as_f64().unwrap() <= HOT.1 + 1.2,
        "{top}"
    );
    assert!(top["density"].as_f64().unwrap() >= 40.0, "{top}");
    for other in &spots[1..] {
        assert!(other["density"].as_f64().unwrap() < 40.0, "{result}");
    }
    // The same input, the same hotspots.
    assert_eq!(run_jsonl(APP, &input(), &[]).unwrap(), out);
}
