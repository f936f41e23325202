use super::*;

const GOOD: &str = "---
title: A small lesson
scenario: clickstream.json
summary: Two steps.
---

Some **intro**.

## Run it

Press Run.

check: elapsed_seconds >= 5 and records_accepted > 1_000
hint: The *Run* button.
hint: Or fast-forward.
do: rate 3000
do: scenario other.json
do: run 5s

## Ask with SQL

```sql
CREATE STREAM out (n INTEGER);
-- check: this line is SQL, not a directive
```

check: sql_rows_in > 0
do: sql
";

#[test]
fn reads_front_matter_steps_checks_hints_and_solutions() {
    let lesson = parse(GOOD).unwrap();
    assert_eq!(lesson.title, "A small lesson");
    assert_eq!(lesson.scenario, "clickstream.json");
    assert_eq!(lesson.summary.as_deref(), Some("Two steps."));
    assert!(lesson.intro_html.contains("<strong>intro</strong>"));
    assert_eq!(lesson.steps.len(), 2);
    let run = &lesson.steps[0];
    assert_eq!(run.title, "Run it");
    assert_eq!(run.html.trim(), "<p>Press Run.</p>");
    assert_eq!(
        run.check.text,
        "elapsed_seconds >= 5 and records_accepted > 1_000"
    );
    assert_eq!(run.hints.len(), 2);
    assert!(run.hints[0].contains("<em>Run</em>"));
    assert_eq!(
        run.solution,
        vec![
            Action::Rate { per_sec: 3000 },
            Action::Scenario {
                file: "other.json".into()
            },
            Action::Run { ms: 5000 }
        ]
    );
    let sql = &lesson.steps[1];
    assert!(sql.html.contains("-- check: this line is SQL"));
    assert_eq!(
        sql.solution,
        vec![Action::Sql {
            code: "CREATE STREAM out (n INTEGER);\n-- check: this line is SQL, not a directive\n"
                .into()
        }]
    );
}

fn snapshot(elapsed_ms: u64, accepted: &[u64], throttled: &[u64]) -> Snapshot {
    let scenario = shardlab_sim::headless::parse_scenario(&format!(
        r#"{{"stream_name": "s", "shard_count": {}, "seed": 1, "rate_per_sec": 10}}"#,
        accepted.len()
    ))
    .unwrap();
    let mut sim = shardlab_sim::Simulation::new(scenario).unwrap();
    let mut host = shardlab_sim::InProcessHost::new();
    shardlab_sim::open_shards(&mut sim, &mut host).unwrap();
    let mut snap = sim.snapshot();
    snap.elapsed_ms = elapsed_ms;
    for ((shard, a), t) in snap.shards.iter_mut().zip(accepted).zip(throttled) {
        shard.records_accepted = *a;
        shard.records_last_second = *a;
        shard.records_throttled = *t;
    }
    snap
}

#[test]
fn checks_compare_measures_of_the_snapshot() {
    let snap = snapshot(12_500, &[300, 100], &[50, 0]);
    let holds = |text: &str| Check::parse(text).unwrap().holds(&snap);
    assert!(holds("elapsed_seconds >= 12.5"));
    assert!(!holds("elapsed_seconds > 12.5"));
    assert!(holds("records_accepted == 400 and shards_open == 2"));
    assert!(!holds("records_accepted == 400 and records_throttled == 0"));
    assert!(holds("busiest_shard_percent >= 75"));
    assert!(holds("throttled_one_shard_percent == 100"));
    assert!(holds("consumers == 0 and consumer_records_min == 0"));
    assert!(holds("shards_closed != 1 and sql_rows_in < 1"));
    let progress = Check::parse("records_throttled > 60 and shards_open >= 2")
        .unwrap()
        .progress(&snap);
    assert_eq!(
        progress,
        vec![
            ("records_throttled > 60 (now 50)".to_string(), false),
            ("shards_open >= 2 (now 2)".to_string(), true),
        ]
    );
    // Nothing is busiest when nothing arrived.
    let idle = snapshot(0, &[0, 0], &[0, 0]);
    assert!(Check::parse("busiest_shard_percent == 0")
        .unwrap()
        .holds(&idle));
}

#[test]
fn every_measure_has_a_value() {
    let snap = snapshot(1, &[1], &[1]);
    for (name, _) in MEASURES {
        assert!(measure(name, &snap).is_some(), "{name}");
    }
    assert_eq!(measure("nonsense", &snap), None);
}

fn error(text: &str) -> LessonError {
    parse(text).unwrap_err()
}

#[test]
fn mistakes_are_named_with_their_line() {
    let front = "---\ntitle: T\nscenario: clickstream.json\n---\n";
    assert_eq!(error("# no front matter").line, 1);
    assert!(error("---\ntitle: T\n").message.contains("closing"));
    assert!(error("---\nscenario: a.json\n---\n## S\n")
        .message
        .contains("title"));
    assert!(error("---\ntitle: T\n---\n").message.contains("scenario"));
    assert!(error("---\ntitle: T\nscenario: ../x.json\n---\n")
        .message
        .contains("static/scenarios"));
    let e = error("---\ntitle: T\ncolour: red\nscenario: a.json\n---\n");
    assert_eq!((e.line, e.message.contains("colour")), (3, true));
    assert!(error(front).message.contains("no steps"));
    let e = error(&format!("{front}check: shards_open > 1\n"));
    assert_eq!(e.line, 5);
    assert!(e.message.contains("inside a step"));
    let e = error(&format!("{front}## S\ndo: run 1s\n"));
    assert_eq!((e.line, e.message.contains("no `check:`")), (5, true));
    let e = error(&format!("{front}## S\ncheck: shards_open > 1\n"));
    assert!(e.message.contains("no `do:`"));
    let e = error(&format!(
        "{front}## S\ncheck: shard_count > 1\ndo: run 1s\n"
    ));
    assert_eq!(e.line, 6);
    assert!(e.message.contains("no measure `shard_count`"));
    assert!(e.message.contains("shards_open"));
    let e = error(&format!(
        "{front}## S\ncheck: shards_open => 1\ndo: run 1s\n"
    ));
    assert!(e.message.contains("`=>` is not a comparison"));
    let e = error(&format!(
        "{front}## S\ncheck: shards_open > many\ndo: run 1s\n"
    ));
    assert!(e.message.contains("`many` is not a number"));
    let e = error(&format!("{front}## S\ncheck: shards_open\ndo: run 1s\n"));
    assert!(e.message.contains("measure op number"));
    let e = error(&format!(
        "{front}## S\ncheck: shards_open > 1\ncheck: shards_open < 9\ndo: run 1s\n"
    ));
    assert!(e.message.contains("second `check:`"));
    let e = error(&format!(
        "{front}## S\ncheck: shards_open > 1\ndo: run 1s\ndo: rate 5\n"
    ));
    assert_eq!((e.line, e.message.contains("comes last")), (7, true));
    let e = error(&format!("{front}## S\ncheck: shards_open > 1\ndo: jump\n"));
    assert!(e.message.contains("not an action"));
    let e = error(&format!(
        "{front}## S\ncheck: shards_open > 1\ndo: scenario ../x.json\n"
    ));
    assert!(e.message.contains("not an action"));
    let e = error(&format!(
        "{front}## S\ncheck: shards_open > 1\ndo: run soon\n"
    ));
    assert!(e.message.contains("not a duration"));
    let e = error(&format!("{front}## S\ncheck: shards_open > 1\ndo: sql\n"));
    assert!(e.message.contains("has none"));
    let e = error(&format!("{front}## S\n```sql\nSELECT 1\n"));
    assert!(e.message.contains("never closed"));
}

#[test]
fn actions_are_the_playgrounds_commands() {
    assert_eq!(
        Action::Run { ms: 10_000 }.command(),
        Some(Command::FastForward { ms: 10_000 })
    );
    assert_eq!(
        Action::Scenario {
            file: "a.json".into()
        }
        .command(),
        None
    );
    assert_eq!(
        Action::Merge {
            shard_id: "a".into(),
            adjacent_shard_id: "b".into()
        }
        .command(),
        Some(Command::MergeShards {
            shard_id: "a".into(),
            adjacent_shard_id: "b".into()
        })
    );
    assert_eq!(
        Action::KillWorker { worker: 2 }.command(),
        Some(Command::KillWorker { worker: 2 })
    );
}
