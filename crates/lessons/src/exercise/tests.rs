use super::*;

const SCENARIO: &str = r#"```json scenario
{ "stream_name": "s", "shard_count": 1, "seed": 1, "rate_per_sec": 100 }
```"#;

fn file(front: &str, body: &str) -> String {
    format!("---\n{front}\n---\n\nThe task.\n\n{SCENARIO}\n\n{body}\n")
}

#[test]
fn an_exercise_reads_its_parts() {
    let text = file(
        "title: T\nseed: 9\nrun: 30s\nsubmit: stream\nchange: shard_count, keys",
        "```sql\nSELECT 1;\n```\n\ngrade: records_throttled == 0",
    );
    let ex = parse(&text).unwrap();
    assert_eq!(ex.title, "T");
    assert_eq!(ex.seed, 9);
    // The exercise's seed replaces the scenario's.
    assert_eq!(ex.scenario.seed, 9);
    assert_eq!(ex.run_ms, 30_000);
    assert_eq!(ex.submit, Submit::Stream);
    assert_eq!(ex.change, ["shard_count", "keys"]);
    assert_eq!(ex.grades.len(), 1);
    // The scenario and grades are not in the task; other code blocks are.
    let html = ex.task_html();
    assert!(html.contains("The task."));
    assert!(html.contains("SELECT 1;"));
    assert!(!html.contains("stream_name"));
    assert!(!html.contains("grade:"));
    assert!(ex.validate().is_ok());
    assert_eq!(ex.digest, digest(&text));
    assert_ne!(ex.digest, digest(&text.replace("30s", "31s")));
}

#[test]
fn bad_exercises_name_their_line() {
    let err = |t: &str| parse(t).unwrap_err();
    let front = "title: T\nseed: 9\nrun: 30s\nsubmit: sql";
    assert!(err("title: T").message.contains("front matter"));
    let e = err(&file(
        "title: T\nseed: x\nrun: 30s\nsubmit: sql",
        "grade: sql_rows_in > 0",
    ));
    assert_eq!(
        (e.line, e.message.contains("not a whole number")),
        (3, true)
    );
    let e = err(&file(
        "title: T\nseed: 1\nrun: 11m\nsubmit: sql",
        "grade: sql_rows_in > 0",
    ));
    assert!(e.message.contains("10 minutes"), "{e}");
    let e = err(&file(
        "title: T\nseed: 1\nrun: 1m\nsubmit: csv",
        "grade: sql_rows_in > 0",
    ));
    assert!(e.message.contains("`stream` or `sql`"), "{e}");
    let e = err(&file(
        "title: T\nseed: 1\nrun: 1m\nsubmit: stream",
        "grade: sql_rows_in > 0",
    ));
    assert!(e.message.contains("needs `change:`"), "{e}");
    let e = err(&file(
        "title: T\nseed: 1\nrun: 1m\nsubmit: stream\nchange: seed",
        "grade: sql_rows_in > 0",
    ));
    assert!(e.message.contains("the seed is the exercise's"), "{e}");
    let e = err(&file(front, ""));
    assert!(e.message.contains("grades nothing"), "{e}");
    let e = err(&file(front, "grade: nonsense > 1"));
    assert!(e.message.contains("no measure `nonsense`"), "{e}");
    let e = err(&file(front, "expect: OUT"));
    assert!(e.message.contains("```jsonl expected"), "{e}");
    // An author writing the rows may leave the block out for now.
    let ex = parse_for_authoring(&file(front, "expect: OUT")).unwrap();
    assert_eq!(
        ex.expect.map(|e| (e.stream, e.rows.len())),
        Some(("OUT".into(), 0))
    );
    let e = err(&file(
        "title: T\nseed: 1\nrun: 10m\nsubmit: sql",
        "grade: sql_rows_in > 0",
    )
    .replace("\"rate_per_sec\": 100", "\"rate_per_sec\": 5000"));
    assert!(e.message.contains("a grade replays at most 2000000"), "{e}");
    let e = err(&file(
        front,
        "expect: OUT\n```jsonl expected\n{\"A\": 1}\n[1]\n```",
    ));
    assert!(e.message.contains("JSON object"), "{e}");
    assert_eq!(e.line, 17);
    let e = err("---\ntitle: T\nseed: 1\nrun: 1m\nsubmit: sql\n---\ngrade: sql_rows_in > 0\n");
    assert!(e.message.contains("no ```json scenario"), "{e}");
    let e = err(&file(
        front,
        "```json scenario\n{\"stream_name\": \"s\"}\n```\ngrade: sql_rows_in > 0",
    ));
    assert!(e.message.contains("second scenario"), "{e}");
}

fn stream_exercise() -> Exercise {
    parse(&file(
        "title: T\nseed: 5\nrun: 5s\nsubmit: stream\nchange: shard_count",
        "grade: records_throttled == 0\ngrade: shards_open <= 2",
    ))
    .unwrap()
    .with_rate(1500)
}

impl Exercise {
    fn with_rate(mut self, rate: u64) -> Self {
        self.scenario.rate_per_sec = rate;
        self
    }
}

#[test]
fn a_stream_submission_changes_only_what_the_exercise_allows() {
    let ex = stream_exercise();
    let mut theirs = ex.scenario.clone();
    // One shard throttles 1,500 records/s.
    let r = grade(
        &ex,
        &Submission {
            scenario: Some(theirs.clone()),
            sql: None,
        },
    );
    assert!(!r.passed);
    assert_eq!(r.score, 1);
    assert!(
        !r.items[0].passed && r.items[0].detail.starts_with("now "),
        "{r:?}"
    );
    // Lowering the rate is not the student's to change: still throttled.
    theirs.rate_per_sec = 10;
    theirs.seed = 77;
    let r2 = grade(
        &ex,
        &Submission {
            scenario: Some(theirs.clone()),
            sql: None,
        },
    );
    assert_eq!(r2, r, "the rate and the seed are the exercise's");
    theirs.shard_count = 2;
    let r = grade(
        &ex,
        &Submission {
            scenario: Some(theirs.clone()),
            sql: None,
        },
    );
    assert!(r.passed, "{r:?}");
    assert_eq!(r.score, 2);
    assert_eq!(r.virtual_ms, 5_000);
    // The same solution, the same run.
    assert_eq!(
        grade(
            &ex,
            &Submission {
                scenario: Some(theirs.clone()),
                sql: None
            }
        ),
        r
    );
    theirs.shard_count = 3;
    let r = grade(
        &ex,
        &Submission {
            scenario: Some(theirs.clone()),
            sql: None,
        },
    );
    assert!(
        !r.passed && r.items[0].passed && !r.items[1].passed,
        "{r:?}"
    );
    // A rate the student may change is bounded too.
    let mut open = stream_exercise();
    open.change.push("rate_per_sec".into());
    let mut fast = ex.scenario.clone();
    fast.rate_per_sec = 100_000;
    fast.shard_count = 2;
    open.run_ms = 60_000;
    let r = grade(
        &open,
        &Submission {
            scenario: Some(fast),
            sql: None,
        },
    );
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .contains("a grade replays at most"),
        "{r:?}"
    );
    theirs.shard_count = 99;
    let r = grade(
        &ex,
        &Submission {
            scenario: Some(theirs),
            sql: None,
        },
    );
    assert!(r.error.as_deref().unwrap().contains("shardCount"), "{r:?}");
    let r = grade(&ex, &Submission::default());
    assert!(
        r.error.as_deref().unwrap().contains("create your stream"),
        "{r:?}"
    );
}

const APP: &str = r#"CREATE OR REPLACE STREAM "OUT" (n INTEGER);
CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT"
SELECT STREAM COUNT(*) FROM "SOURCE_SQL_STREAM_001"
GROUP BY STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' SECOND);"#;

fn sql_exercise(expected: &str) -> Exercise {
    parse(&file(
        "title: T\nseed: 5\nrun: 3s\nsubmit: sql",
        &format!("expect: OUT\n```jsonl expected\n{expected}\n```"),
    ))
    .unwrap()
}

#[test]
fn expected_rows_are_compared_as_a_multiset_on_the_named_columns() {
    let ex = sql_exercise("");
    let run = run(
        &ex,
        &Submission {
            scenario: None,
            sql: Some(APP.into()),
        },
    )
    .unwrap();
    let capture = run.capture.unwrap();
    assert!(!capture.rows.is_empty());
    let lines = expected_lines(&capture);
    assert!(lines[0].starts_with("{\"ROWTIME\":\""), "{}", lines[0]);
    // Its own rows, reversed, pass.
    let mut reversed = lines.clone();
    reversed.reverse();
    let ex = sql_exercise(&reversed.join("\n"));
    let sub = Submission {
        scenario: None,
        sql: Some(APP.into()),
    };
    let r = grade(&ex, &sub);
    assert!(r.passed, "{r:?}");
    assert!(
        r.items[0]
            .detail
            .starts_with(&format!("all {} rows", lines.len())),
        "{r:?}"
    );
    // Without ROWTIME, only N is compared; lowercase names match.
    let only_n: Vec<String> = lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            format!("{{\"n\": {}}}", v["N"])
        })
        .collect();
    assert!(grade(&sql_exercise(&only_n.join("\n")), &sub).passed);
    // A row too many, a row too few, a different value.
    let r = grade(&sql_exercise(&only_n[1..].join("\n")), &sub);
    assert!(
        !r.passed && r.items[0].detail.contains("1 rows not expected"),
        "{r:?}"
    );
    let mut more = only_n.clone();
    more.push("{\"N\": 1}".into());
    let r = grade(&sql_exercise(&more.join("\n")), &sub);
    assert!(
        r.items[0].detail.contains("missing e.g. {\"N\":1}"),
        "{r:?}"
    );
    // A millionth is the tolerance.
    let v: f64 = serde_json::from_str::<Value>(&lines[0]).unwrap()["N"]
        .as_f64()
        .unwrap();
    let mut near = only_n.clone();
    near[0] = format!("{{\"N\": {}}}", v * (1.0 + 1e-8));
    assert!(grade(&sql_exercise(&near.join("\n")), &sub).passed);
    near[0] = format!("{{\"N\": {}}}", v * 1.01);
    assert!(!grade(&sql_exercise(&near.join("\n")), &sub).passed);
    // A column the stream does not have; a stream the application lacks.
    let r = grade(&sql_exercise("{\"AVG\": 1}"), &sub);
    assert!(
        r.items[0]
            .detail
            .contains("OUT has no column AVG; its columns are N"),
        "{r:?}"
    );
    let other = APP.replace("\"OUT\"", "\"ELSEWHERE\"");
    let r = grade(
        &ex,
        &Submission {
            scenario: None,
            sql: Some(other),
        },
    );
    assert!(
        r.items[0]
            .detail
            .contains("no stream OUT; it has ELSEWHERE"),
        "{r:?}"
    );
    // SQL that does not compile, or none.
    let r = grade(
        &ex,
        &Submission {
            scenario: None,
            sql: Some("SELECT FROM".into()),
        },
    );
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .starts_with("your SQL does not compile"),
        "{r:?}"
    );
    let r = grade(
        &ex,
        &Submission {
            scenario: None,
            sql: Some(" ".into()),
        },
    );
    assert!(r.error.as_deref().unwrap().contains("SQL panel"), "{r:?}");
}

#[test]
fn a_result_file_round_trips_and_a_changed_grade_is_caught() {
    let ex = stream_exercise();
    let mut theirs = ex.scenario.clone();
    theirs.shard_count = 2;
    let sub = Submission {
        scenario: Some(theirs),
        sql: None,
    };
    let report = grade(&ex, &sub);
    let result = GradeResult::new(&ex, " Ada ", sub, report.clone());
    assert_eq!(result.student, "Ada");
    let back = GradeResult::from_file(&result.to_file()).unwrap();
    assert_eq!(back, result);
    assert_eq!(back.regrade(&ex).unwrap(), (report.clone(), true));
    // A student who edits the file to claim a pass is found out.
    let failing = stream_exercise();
    let mut forged = GradeResult::new(
        &failing,
        "Bob",
        failing.starting_submission(),
        report.clone(),
    );
    forged.report.passed = true;
    let (fresh, agrees) = forged.regrade(&failing).unwrap();
    assert!(!fresh.passed && !agrees);
    // Another version of the exercise.
    let mut changed = ex.clone();
    changed.digest = "0".repeat(16);
    assert!(result
        .regrade(&changed)
        .unwrap_err()
        .contains("another version"));
    assert!(GradeResult::from_file("{}")
        .unwrap_err()
        .contains("not a Shardlab exercise result"));
    assert!(GradeResult::from_file("[")
        .unwrap_err()
        .contains("not JSON"));
}

#[test]
fn a_task_from_anyone_renders_as_text_and_formatting_only() {
    let html = crate::markdown_html_untrusted(
        "**Bold** <script>alert(1)</script> <img src=x onerror=alert(1)>\n\n\
         [ok](https://aws.amazon.com/kinesis/) [rel](lessons/x.md#a:b) \
         [bad](javascript:alert(1)) ![img](data:text/html,x) [mail](mailto:a@b.c)",
    );
    assert!(html.contains("<strong>Bold</strong>"), "{html}");
    assert!(
        !html.contains("<script") && html.contains("&lt;script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<img"), "{html}");
    assert!(
        html.contains("href=\"https://aws.amazon.com/kinesis/\""),
        "{html}"
    );
    assert!(html.contains("href=\"lessons/x.md#a:b\""), "{html}");
    assert!(html.contains("href=\"mailto:a@b.c\""), "{html}");
    // The bad link's text stays, without its address.
    assert!(!html.contains("href=\"javascript"), "{html}");
    assert!(html.contains(" bad "), "{html}");
    assert!(!html.contains("data:text"), "{html}");
}
