//! Every lesson in `static/lessons/` is read and played natively: before a
//! step's solution its check must not hold yet (a check that cannot fail
//! teaches nothing), and after it, it must. The playground runs the same
//! tick loop with its shards in workers, and gets the same snapshots.

use std::path::PathBuf;

use serde_json::Value;
use shardlab_lessons::{parse, Action, Lesson};
use shardlab_sim::control::Command;
use shardlab_sim::headless::parse_scenario;
use shardlab_sim::host::{run_ticks_planning_ahead, start_in_process};
use shardlab_sim::sql::SqlStart;
use shardlab_sim::{InProcessHost, Simulation, TICK_MS};

fn static_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../static")
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The index's (file, title) pairs.
fn index() -> Vec<(String, String)> {
    let list: Value = serde_json::from_str(&read(static_dir().join("lessons/index.json")))
        .expect("lessons/index.json is JSON");
    list.as_array()
        .expect("lessons/index.json is a list")
        .iter()
        .map(|e| {
            (
                e["file"].as_str().expect("a file").to_string(),
                e["title"].as_str().expect("a title").to_string(),
            )
        })
        .collect()
}

fn lesson(file: &str) -> Lesson {
    parse(&read(static_dir().join("lessons").join(file)))
        .unwrap_or_else(|e| panic!("lessons/{file}: {e}"))
}

/// A stream created from a scenario file, as the playground creates it.
fn create(lesson_file: &str, scenario: &str) -> (Simulation, InProcessHost) {
    let scenario = parse_scenario(&read(static_dir().join("scenarios").join(scenario)))
        .unwrap_or_else(|e| panic!("{lesson_file}: {e}"));
    start_in_process(scenario).unwrap()
}

/// Plays `lesson` from its scenario, step by step, as "Do it for me" does.
fn play(file: &str, lesson: &Lesson) {
    let (mut sim, mut host) = create(file, &lesson.scenario);
    for step in &lesson.steps {
        let before = sim.snapshot();
        assert!(
            !step.check.holds(&before),
            "{file}, step \"{}\": `{}` holds before the step's solution: {:?}",
            step.title,
            step.check.text,
            step.check.progress(&before)
        );
        for action in &step.solution {
            match action {
                Action::Run { ms } => {
                    let ticks = u32::try_from(ms.div_ceil(TICK_MS)).unwrap();
                    run_ticks_planning_ahead(&mut sim, &mut host, ticks, TICK_MS, |_, _| {})
                        .unwrap();
                }
                Action::Rate { per_sec } => sim.set_rate(*per_sec).unwrap(),
                Action::Split { shard_id } => sim.split_shard(shard_id).unwrap(),
                Action::Merge {
                    shard_id,
                    adjacent_shard_id,
                } => sim.merge_shards(shard_id, adjacent_shard_id).unwrap(),
                Action::Sql { code } => sim
                    .start_sql(code, SqlStart::TrimHorizon, None)
                    .unwrap_or_else(|e| panic!("{file}, step \"{}\": {e}", step.title)),
                Action::KillWorker { worker } => host.kill(*worker),
                Action::Scenario { file: scenario } => (sim, host) = create(file, scenario),
                Action::Retention { hours } => sim.set_retention(*hours).unwrap(),
                Action::Poll { consumer, ms } => sim.set_consumer_poll(consumer, *ms).unwrap(),
                Action::FanOut { consumer, on } => sim.set_consumer_fan_out(consumer, *on).unwrap(),
                Action::QueueFailures { queue, percent } => {
                    sim.set_queue_failures(queue, *percent).unwrap()
                }
                Action::Mapping { consumer, update } => {
                    sim.update_event_source_mapping(consumer, update).unwrap()
                }
                Action::KclWorker { app, worker, start } => if *start {
                    sim.start_kcl_worker(app, worker)
                } else {
                    sim.stop_kcl_worker(app, worker)
                }
                .unwrap(),
                Action::Replay { .. } => match action.command() {
                    Some(Command::ReplayConsumer { name, from }) => {
                        sim.replay_consumer(&name, from).unwrap()
                    }
                    other => panic!("a replay is sent as {other:?}"),
                },
            }
        }
        let after = sim.snapshot();
        assert!(
            step.check.holds(&after),
            "{file}, step \"{}\": `{}` does not hold after the step's solution: {:?}",
            step.title,
            step.check.text,
            step.check.progress(&after)
        );
    }
}

#[test]
fn every_lesson_is_listed_reads_and_can_be_completed() {
    let index = index();
    assert!(index.len() >= 12, "{} lessons", index.len());
    let mut files: Vec<String> = std::fs::read_dir(static_dir().join("lessons"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".md"))
        .collect();
    files.sort();
    let mut listed: Vec<String> = index.iter().map(|(f, _)| f.clone()).collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "every lesson file is in index.json, and only those"
    );
    for (file, title) in &index {
        let lesson = lesson(file);
        assert_eq!(
            &lesson.title, title,
            "{file}: the index's title is the lesson's"
        );
        assert!(lesson.steps.len() >= 2, "{file}: a lesson has steps");
        play(file, &lesson);
    }
}

#[test]
fn the_readme_lists_every_measure() {
    let readme = read(static_dir().join("../README.md"));
    for (name, meaning) in shardlab_lessons::MEASURES {
        assert!(
            readme.contains(&format!("| `{name}` | {meaning} |")),
            "README.md's table of measures lacks {name}"
        );
    }
}
