//! `shardlab run`: scenario files played headless, as a user runs them.

use std::process::Command;

fn shardlab(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_shardlab"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn preset(name: &str) -> String {
    format!(
        "{}/../../static/scenarios/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn the_presets_run_and_report() {
    // The browser's fast-forward of this preset by a minute reaches the
    // same digest (web/e2e/site.test.mjs).
    let (ok, out, err) = shardlab(&["run", &preset("clickstream.json"), "--for", "1m"]);
    assert!(ok, "{err}");
    assert!(out.ends_with("digest 962298fdc969d0dc\n"), "{out}");

    let (ok, out, err) = shardlab(&["run", &preset("over-the-limit.json"), "--for", "30s"]);
    assert!(ok, "{err}");
    // One shard at 1,500 records/s: a third refused by its 1,000/s limit,
    // and two consumers polling 10 times a second share its 5 reads/s.
    assert!(out.contains("produced 45000, accepted 30900"), "{out}");
    let dashboard = out
        .lines()
        .find(|l| {
            l.trim_start()
                .starts_with("dashboard: GetRecords every 100 ms")
        })
        .unwrap_or_else(|| panic!("no dashboard line: {out}"));
    let throttled: u64 = dashboard
        .rsplit(", ")
        .next()
        .and_then(|t| t.strip_suffix(" reads throttled"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no throttled reads count: {dashboard}"));
    assert!(throttled > 0, "{dashboard}");
    assert!(out.lines().last().unwrap().starts_with("digest "), "{out}");
    // Same scenario, same report.
    let (_, again, _) = shardlab(&["run", &preset("over-the-limit.json"), "--for", "30s"]);
    assert_eq!(out, again);

    // A KCL application's leases after 30 s; the KCL lesson's first step
    // reaches the same digest in the browser (web/e2e/site.test.mjs).
    let (ok, out, err) = shardlab(&["run", &preset("kcl-app.json"), "--for", "30s"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("KCL on 2 workers: leases worker-1 2, worker-2 2; 4 taken, 2 stolen, 2 lost"),
        "{out}"
    );
    assert!(out.ends_with("digest 5d29060099735a54\n"), "{out}");

    // A Lambda event source mapping blocked by a bad record after 30 s;
    // the Lambda lesson's first step reaches the same digest in the browser.
    let (ok, out, err) = shardlab(&["run", &preset("lambda-orders.json"), "--for", "30s"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("Lambda process-order (batch 100, parallelization 1)"),
        "{out}"
    );
    assert!(out.ends_with("digest b6c481a3ab7cf303\n"), "{out}");

    // The agent's CSV file as JSON records; the agent's end-to-end test
    // reaches the same digest in the browser.
    let (ok, out, err) = shardlab(&["run", &preset("agent-orders.json"), "--for", "5s"]);
    assert!(ok, "{err}");
    assert!(out.contains("produced 100, accepted 100"), "{out}");
    assert!(out.ends_with("digest e9f095c251aa2cb8\n"), "{out}");

    let (ok, out, err) = shardlab(&["run", &preset("clickstream.json"), "--for", "5s"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("stream clickstream (4 shards, seed 42)"),
        "{out}"
    );
    assert!(
        out.contains("analytics: GetRecords every 200 ms; 10000 records delivered"),
        "{out}"
    );
    // The end-to-end test (web/e2e/site.test.mjs) loads this preset in the
    // built site, steps 5 s and expects this digest: the browser, with its
    // shards in workers, computes what this native run computes.
    assert!(out.ends_with("digest 29b4a1ffaeac05b7\n"), "{out}");
}

#[test]
fn the_rate_shape_presets_play_their_shapes() {
    // 1,600 records/s ramping from 10% to 200% over 60 s (105% on
    // average), then 200% for 30 s: 100,800 + 96,000 records, and once the
    // ramp passes 2,000 records/s the two shards refuse the excess.
    let (ok, out, err) = shardlab(&["run", &preset("launch-ramp.json"), "--for", "90s"]);
    assert!(ok, "{err}");
    assert!(out.contains("produced 196799, accepted 148339"), "{out}");
    // Poisson arrivals around 1,800 records/s from 500 sensors.
    let (ok, out, err) = shardlab(&["run", &preset("iot-sensors.json"), "--for", "90s"]);
    assert!(ok, "{err}");
    let produced: u64 = out
        .split("produced ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!((160_000..=164_000).contains(&produced), "{out}");
}

#[test]
fn the_template_presets_run_and_the_ticker_is_pinned() {
    for file in [
        "stock-ticker.json",
        "app-logs.json",
        "orders.json",
        "game-events.json",
        "iot-sensors.json",
    ] {
        let (ok, out, err) = shardlab(&["run", &preset(file), "--for", "3s"]);
        assert!(ok, "{file}: {err}");
        assert!(out.lines().last().unwrap().starts_with("digest "), "{out}");
    }
    // The end-to-end test (web/e2e/site.test.mjs) runs this preset 5 s in
    // the browser, its record template rendered by the fake-data crate in
    // wasm, and expects this digest.
    let (ok, out, err) = shardlab(&["run", &preset("stock-ticker.json"), "--for", "5s"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("produced 1000, accepted 1000 (115495 bytes)"),
        "{out}"
    );
    assert!(out.ends_with("digest 3037e8f62943bcbc\n"), "{out}");
    // A template with a mistake is refused with its line and column.
    let dir = std::env::temp_dir().join(format!("shardlab-template-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.json");
    std::fs::write(
        &file,
        r#"{"stream_name": "s", "shard_count": 1, "seed": 1, "rate_per_sec": 10,
            "record_template": "{\"t\": {{random.number({\"min\":9,\"max\":1})}}}"}"#,
    )
    .unwrap();
    let (ok, _, err) = shardlab(&["run", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("record template, line 1, column 9: random.number: the minimum 9 is above the maximum 1"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_noisy_neighbour_preset_throttles_one_shard_for_both_producers() {
    let (ok, out, err) = shardlab(&["run", &preset("noisy-neighbour.json"), "--for", "30s"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("producers: producer-0 12000, batch-importer 75000"),
        "{out}"
    );
    let throttled = throttled_per_shard(&out);
    assert_eq!(throttled.len(), 4, "{out}");
    assert_eq!(throttled.iter().filter(|&&t| t > 0).count(), 1, "{out}");
}

/// Each shard's throttled records, from the report's shard lines.
fn throttled_per_shard(out: &str) -> Vec<u64> {
    out.lines()
        .filter(|l| l.trim_start().starts_with("shardId-"))
        .map(|l| {
            let (_, after) = l.split_once("accepted, ").unwrap();
            after.split_whitespace().next().unwrap().parse().unwrap()
        })
        .collect()
}

#[test]
fn the_aggregation_preset_packs_small_records() {
    let (ok, out, err) = shardlab(&["run", &preset("kpl-aggregation.json"), "--for", "10s"]);
    assert!(ok, "{err}");
    // 300 user records of about 160 bytes per tick: one 48 KB aggregated
    // record each, well inside the shard's 1,000 records/s and 1 MiB/s.
    assert!(out.contains("produced 30000, accepted 100 ("), "{out}");
    assert!(out.contains("throttled 0\n"), "{out}");
    assert!(
        out.contains("aggregated (KPL): 30000 user records in 100 Kinesis records"),
        "{out}"
    );
    assert!(
        out.contains(
            "kcl-app: GetRecords every 200 ms; 100 records delivered (30000 user records)"
        ),
        "{out}"
    );
    // The end-to-end test steps the same preset 2 s in the browser.
    let (ok, out, err) = shardlab(&["run", &preset("kpl-aggregation.json"), "--for", "2s"]);
    assert!(ok, "{err}");
    assert!(out.ends_with("digest 443860b4524a6fa5\n"), "{out}");
}

#[test]
fn the_hot_key_preset_throttles_one_shard() {
    let (ok, out, err) = shardlab(&["run", &preset("hot-key.json"), "--for", "20s"]);
    assert!(ok, "{err}");
    let throttled = throttled_per_shard(&out);
    assert_eq!(throttled.len(), 4, "{out}");
    assert_eq!(throttled.iter().filter(|&&t| t > 0).count(), 1, "{out}");
}

#[test]
fn bad_scenarios_and_arguments_get_clear_errors() {
    let dir = std::env::temp_dir().join(format!("shardlab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("typo.json");
    std::fs::write(
        &file,
        r#"{"stream_name": "s", "shards": 2, "seed": 1, "rate_per_sec": 10}"#,
    )
    .unwrap();
    let (ok, _, err) = shardlab(&["run", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("unknown field `shards`"), "{err}");
    let (ok, _, err) = shardlab(&["run", &preset("clickstream.json"), "--for", "ten minutes"]);
    assert!(!ok);
    assert!(err.contains("is not a duration"), "{err}");
    let (ok, _, err) = shardlab(&["run", "no-such-file.json"]);
    assert!(!ok);
    assert!(err.contains("could not read no-such-file.json"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_firehose_preset_delivers_on_its_interval() {
    let (ok, out, err) = shardlab(&["run", &preset("clicks-to-s3.json"), "--for", "3m"]);
    assert!(ok, "{err}");
    // 100 records/s, about 15 KB/s: the 60-second interval seals the
    // buffer long before its 1 MiB size hint would.
    assert!(
        out.contains("17920 records in, 12120 delivered in 2 objects"),
        "{out}"
    );
    assert!(
        out.contains("clicks/year=2026/month=01/day=01/clicks-to-s3-1-2026-01-01-00-01-00-"),
        "{out}"
    );
    assert!(
        out.contains("(interval trigger, 60900 ms after its oldest record arrived)"),
        "{out}"
    );
    // Firehose reads the stream once a second like any consumer: with the
    // dashboard's 5 reads/s the shards' limit is exceeded.
    assert!(
        out.contains("firehose/clicks-to-s3: GetRecords every 1000 ms"),
        "{out}"
    );
}

#[test]
fn the_lambda_preset_keeps_only_purchases() {
    let (ok, out, err) = shardlab(&["run", &preset("purchases-to-s3.json"), "--for", "3m"]);
    assert!(ok, "{err}");
    // Two buffers in a row: 60 s in the transform's, then 60 s in the
    // destination's; the first object lands about 78 s after its oldest
    // record arrived.
    assert!(
        out.contains("89600 records in, 17392 delivered in 2 objects"),
        "{out}"
    );
    assert!(
        out.contains(
            "Lambda purchases-only: 21710 Ok, 64640 dropped, 0 failed, 3250 in the transform"
        ),
        "{out}"
    );
    assert!(
        out.contains("(interval trigger, 77900 ms after its oldest record arrived)"),
        "{out}"
    );
}

#[test]
fn the_dynamic_partitioning_preset_makes_a_folder_per_action() {
    let (ok, out, err) = shardlab(&["run", &preset("clicks-by-action.json"), "--for", "2m"]);
    assert!(ok, "{err}");
    // Four actions, four partitions, each sealed by its own 60 s interval.
    assert!(
        out.contains("23840 records in, 12040 delivered in 4 objects"),
        "{out}"
    );
    assert!(
        out.contains("last delivery clicks/action=view/year=2026/month=01/clicks-by-action-1-"),
        "{out}"
    );
}

#[test]
fn the_opensearch_preset_indexes_into_hourly_indices() {
    let (ok, out, err) = shardlab(&["run", &preset("clicks-to-opensearch.json"), "--for", "3m"]);
    assert!(ok, "{err}");
    assert!(
        out.contains(
            "clicks-to-opensearch -> OpenSearch domain clicks (backup s3://shardlab-backup/): \
             35840 records in, 24240 indexed in clicks-2026-01-01-00 (24240 documents), \
             11600 waiting, 0 to the error output"
        ),
        "{out}"
    );
}

fn repo(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn exercises_are_graded_and_result_files_regraded() {
    let ex = repo("static/exercises/no-throttling.md");
    let solution = repo("tests/exercises/no-throttling.solution.json");
    let (ok, out, err) = shardlab(&["exercise", "grade", &ex, "--stream", &solution]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("pass: shards_open <= 3 (now 3)\n"), "{out}");
    assert!(
        out.ends_with("PASSED: 3 of 3, run digest 254dfd33be938a9f\n"),
        "{out}"
    );
    // The exercise's own stream fails, and the command says so by its code.
    let (ok, out, _) = shardlab(&[
        "exercise",
        "grade",
        &ex,
        "--stream",
        &preset("over-the-limit.json"),
    ]);
    assert!(!ok);
    assert!(
        out.contains("FAIL: records_throttled == 0 (now 119100)"),
        "{out}"
    );

    // A student's result file, as the playground writes it.
    use shardlab_lessons::exercise::{grade, parse, GradeResult, Submission};
    let exercise = parse(&std::fs::read_to_string(&ex).unwrap()).unwrap();
    let scenario =
        shardlab_sim::headless::parse_scenario(&std::fs::read_to_string(&solution).unwrap())
            .unwrap();
    let submission = Submission {
        scenario: Some(scenario),
        sql: None,
    };
    let report = grade(&exercise, &submission);
    let result = GradeResult::new(&exercise, "Ada Lovelace", submission, report);
    let dir = std::env::temp_dir().join(format!("shardlab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ada.result.json");
    std::fs::write(&file, result.to_file()).unwrap();
    let (ok, out, err) = shardlab(&["exercise", "grade", &ex, file.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(
        out.starts_with("No throttling at 3,000 records per second by Ada Lovelace\n"),
        "{out}"
    );
    assert!(
        out.ends_with("the result file's grade is the replay's\n"),
        "{out}"
    );
    // A grade edited by hand is caught.
    let mut forged = result.clone();
    forged.submission.scenario.as_mut().unwrap().shard_count = 1;
    std::fs::write(&file, forged.to_file()).unwrap();
    let (ok, out, _) = shardlab(&["exercise", "grade", &ex, file.to_str().unwrap()]);
    assert!(!ok);
    assert!(out.contains("is NOT the replay's"), "{out}");
    std::fs::write(&file, "{\"format\": \"something else\"}").unwrap();
    let (ok, _, err) = shardlab(&["exercise", "grade", &ex, file.to_str().unwrap()]);
    assert!(
        !ok && err.contains("not a Shardlab exercise result"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_sql_exercises_expected_rows_are_what_its_solution_emits() {
    let ex = repo("static/exercises/ticker-averages.md");
    let (ok, out, err) = shardlab(&[
        "exercise",
        "expect",
        &ex,
        "--sql",
        &repo("tests/exercises/ticker-averages.solution.sql"),
    ]);
    assert!(ok, "{err}");
    assert!(out.starts_with("```jsonl expected\n{\"ROWTIME\":\"2026-01-01 00:00:10.000\",\"TICKER_SYMBOL\":\"AAPL\","), "{out}");
    // The block in the file is exactly that, and an author's file without
    // the block yet gets the same.
    let text = std::fs::read_to_string(&ex).unwrap();
    assert!(text.contains(&out), "{out}");
    let draft = std::env::temp_dir().join(format!("shardlab-draft-{}.md", std::process::id()));
    std::fs::write(&draft, text.replace(&out, "")).unwrap();
    let (ok, again, err) = shardlab(&[
        "exercise",
        "expect",
        draft.to_str().unwrap(),
        "--sql",
        &repo("tests/exercises/ticker-averages.solution.sql"),
    ]);
    let _ = std::fs::remove_file(&draft);
    assert!(ok, "{err}");
    assert_eq!(again, out);
    let (ok, _, err) = shardlab(&[
        "exercise",
        "expect",
        &repo("static/exercises/no-throttling.md"),
    ]);
    assert!(!ok && err.contains("has no `expect:` line"), "{err}");
    let (ok, _, err) = shardlab(&["exercise", "grade", &repo("static/lessons/hot-shards.md")]);
    assert!(!ok && err.contains("front matter key `scenario`"), "{err}");
}

#[test]
fn the_parquet_preset_converts_every_tick_with_its_glue_table() {
    let (ok, out, err) = shardlab(&["run", &preset("ticks-to-parquet.json"), "--for", "3m"]);
    assert!(ok, "{err}");
    // 200 ticks/s, far below 64 MiB a minute: the 60-second interval
    // seals each buffer; every record fits the table, none fails.
    assert!(
        out.contains("Apache Parquet (SNAPPY) with AWS Glue table analytics.stock_ticks"),
        "{out}"
    );
    assert!(out.contains(", 0 to the error output"), "{out}");
    assert!(
        out.contains("ticks/year=2026/month=01/day=01/ticks-to-parquet-1-2026-01-01-00-0"),
        "{out}"
    );
    assert!(out.contains(".parquet"), "{out}");
}

#[test]
fn the_redshift_preset_stages_objects_then_copies_them_into_its_table() {
    // The browser's run of the same two minutes reaches the same digest
    // (web/e2e/site.test.mjs), which folds in the objects and manifests.
    let (ok, out, err) = shardlab(&["run", &preset("clicks-to-redshift.json"), "--for", "2m"]);
    assert!(ok, "{err}");
    assert!(
        out.contains(
            "clicks-to-redshift -> Redshift lab.dev.clicks (via s3://shardlab-staging/clicks/): \
             11920 records in, 6020 in the intermediate bucket; COPY loaded 6020 rows from 6020 \
             records, 0 records waiting for COPY, 0 skipped; the table has 6020 rows"
        ),
        "{out}"
    );
    assert!(out.ends_with("digest bf7a933d78f6ab02\n"), "{out}");
}
