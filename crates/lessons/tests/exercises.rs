//! The site's classroom exercises (`static/exercises/`), graded natively as
//! the playground grades them: each reference solution (kept in
//! `tests/exercises/`, not on the site) passes, and the exercise's own
//! starting point and typical wrong answers do not.

use std::path::PathBuf;

use serde_json::Value;
use shardlab_lessons::exercise::{grade, parse, Exercise, GradeResult, Submission, Submit};
use shardlab_sim::headless::parse_scenario;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn exercise(file: &str) -> Exercise {
    parse(&read(root().join("static/exercises").join(file)))
        .unwrap_or_else(|e| panic!("exercises/{file}: {e}"))
}

fn sql(code: &str) -> Submission {
    Submission {
        scenario: None,
        sql: Some(code.to_string()),
    }
}

#[test]
fn every_exercise_is_listed_reads_and_its_solution_passes() {
    let index: Value =
        serde_json::from_str(&read(root().join("static/exercises/index.json"))).unwrap();
    let listed: Vec<&str> = index
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["file"].as_str().unwrap())
        .collect();
    let mut files: Vec<String> = std::fs::read_dir(root().join("static/exercises"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".md"))
        .collect();
    files.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(
        files, sorted,
        "every exercise is in index.json, and only those"
    );
    for (entry, file) in index.as_array().unwrap().iter().zip(&listed) {
        let ex = exercise(file);
        ex.validate().unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(entry["title"].as_str(), Some(ex.title.as_str()), "{file}");
        let stem = file.trim_end_matches(".md");
        let solution = match ex.submit {
            Submit::Sql => sql(&read(
                root().join(format!("tests/exercises/{stem}.solution.sql")),
            )),
            Submit::Stream => Submission {
                scenario: Some(
                    parse_scenario(&read(
                        root().join(format!("tests/exercises/{stem}.solution.json")),
                    ))
                    .unwrap(),
                ),
                sql: None,
            },
        };
        let report = grade(&ex, &solution);
        assert!(
            report.passed,
            "{file}: the reference solution fails: {report:?}"
        );
        // What the student starts from never passes.
        let start = grade(&ex, &ex.starting_submission());
        assert!(
            !start.passed,
            "{file}: passes without a solution: {start:?}"
        );
        // A collected result re-grades to the same report.
        let result = GradeResult::new(&ex, "Ada", solution, report.clone());
        let back = GradeResult::from_file(&result.to_file()).unwrap();
        assert_eq!(back.regrade(&ex).unwrap(), (report, true), "{file}");
    }
}

#[test]
fn no_throttling_fails_too_few_or_too_many_shards_and_takes_the_kpl_way() {
    let ex = exercise("no-throttling.md");
    let stream = |f: &dyn Fn(&mut shardlab_sim::Scenario)| {
        let mut s = ex.scenario.clone();
        f(&mut s);
        grade(
            &ex,
            &Submission {
                scenario: Some(s),
                sql: None,
            },
        )
    };
    // Two shards take 2,000 records/s: a third is throttled.
    let two = stream(&|s| s.shard_count = 2);
    assert!(!two.items[0].passed && two.items[1].passed, "{two:?}");
    // Four shards do not throttle, but cost more than needed.
    let four = stream(&|s| s.shard_count = 4);
    assert!(four.items[0].passed && !four.items[1].passed, "{four:?}");
    // A hot key (half the records on one key) throttles even on three.
    let hot = stream(&|s| {
        s.shard_count = 3;
        s.keys =
            serde_json::from_value(serde_json::json!({"type": "HotKey", "percent": 50})).unwrap();
    });
    assert!(!hot.items[0].passed, "{hot:?}");
    // One shard with KPL aggregation: 3,000 user records in a few dozen
    // Kinesis records a second, none throttled.
    let kpl =
        stream(&|s| s.aggregation = Some(serde_json::from_value(serde_json::json!({})).unwrap()));
    assert!(kpl.passed, "{kpl:?}");
    assert_eq!(kpl.items[1].detail, "now 1");
}

#[test]
fn ticker_averages_fails_other_windows_and_columns() {
    let ex = exercise("ticker-averages.md");
    let solution = read(root().join("tests/exercises/ticker-averages.solution.sql"));
    // Five-second windows: twice the rows, none of them expected.
    let r = grade(&ex, &sql(&solution.replace("'10' SECOND", "'5' SECOND")));
    assert!(
        !r.passed && r.items[1].detail.starts_with("0 of 42"),
        "{r:?}"
    );
    // The sum instead of the average.
    let r = grade(&ex, &sql(&solution.replace("AVG(price)", "SUM(price)")));
    assert!(!r.passed, "{r:?}");
    // A column named otherwise.
    let r = grade(
        &ex,
        &sql(&solution.replace("avg_price DOUBLE", "mean DOUBLE")),
    );
    assert!(
        r.items[1].detail.contains("has no column AVG_PRICE"),
        "{r:?}"
    );
    // Written another way (a FLOOR window, columns in another order): passes.
    let floor = r#"CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (trades INTEGER, avg_price DOUBLE, ticker_symbol VARCHAR(4));
CREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM COUNT(*), SUM(price) / COUNT(*), ticker_symbol
  FROM "SOURCE_SQL_STREAM_001"
  GROUP BY ticker_symbol,
    FLOOR(("SOURCE_SQL_STREAM_001".ROWTIME - TIMESTAMP '1970-01-01 00:00:00') SECOND / 10 TO SECOND);"#;
    let r = grade(&ex, &sql(floor));
    assert!(r.passed, "{r:?}");
}
