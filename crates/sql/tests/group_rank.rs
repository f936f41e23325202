//! GROUP_RANK's settings: when a group is released (maxIdle), the order it
//! goes out in (outputOrder) and how much of it (outputMax).

use std::path::Path;

/// The golden case's application with other GROUP_RANK arguments, run over
/// its input: the ranked rows as (second, ticker, count, rank).
fn ranked(args: &str) -> Vec<(String, String, i64, i64)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/kda-group-rank");
    let app = std::fs::read_to_string(dir.join("app.sql"))
        .unwrap()
        .replace("'desc', 'asc', 5, 0", args);
    let input = std::fs::read_to_string(dir.join("input.jsonl")).unwrap();
    shardlab_sql::run::run_jsonl(&app, &input, &[])
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["stream"] == "destination_sql_stream")
        .map(|v| {
            (
                v["group_time"].as_str().unwrap()[17..19].to_string(),
                v["ticker"].as_str().unwrap().to_string(),
                v["ticker_count"].as_i64().unwrap(),
                v["group_rank"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn row(s: &str, t: &str, count: i64, rank: i64) -> (String, String, i64, i64) {
    (s.into(), t.into(), count, rank)
}

#[test]
fn without_an_idle_timeout_the_last_group_waits_for_a_new_rowtime() {
    // The bound passes the second group's ROWTIME, but no row with another
    // ROWTIME comes: with maxIdle 0 it is held.
    assert_eq!(
        ranked("'desc', 'asc', 0, 0"),
        vec![
            row("00", "AMZN", 2, 1),
            row("00", "TBV", 2, 1),
            row("00", "NFLX", 1, 3)
        ]
    );
    // The bound is 1,000 ms past that ROWTIME: an idle timeout up to that
    // releases it, a longer one holds it too.
    assert_eq!(ranked("'desc', 'asc', 1000, 0").len(), 5);
    assert_eq!(ranked("'desc', 'asc', 1001, 0").len(), 3);
}

#[test]
fn ascending_ranks_descending_output_and_a_cap() {
    // Lowest count first for rank 1; output from the last rank back; rows
    // of one rank in their order of arrival.
    assert_eq!(
        ranked("'asc', 'desc', 5, 0"),
        vec![
            row("00", "AMZN", 2, 2),
            row("00", "TBV", 2, 2),
            row("00", "NFLX", 1, 1),
            row("01", "NFLX", 2, 2),
            row("01", "AMZN", 1, 1),
        ]
    );
    // outputMax: the first rows of each group in output order.
    assert_eq!(
        ranked("'desc', 'asc', 5, 1"),
        vec![row("00", "AMZN", 2, 1), row("01", "NFLX", 2, 1)]
    );
}
