//! SQS queues and an SNS topic next to the stream, fed by its producer.

use shardlab_sim::host::{run_ticks_planning_ahead, start_in_process};
use shardlab_sim::{Scenario, Snapshot};

fn preset() -> Scenario {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../static/scenarios/kinesis-sqs-sns.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn run(s: Scenario, ms: u64, failures: Option<(&str, u32)>) -> Snapshot {
    let (mut sim, mut host) = start_in_process(s).unwrap();
    run_ticks_planning_ahead(&mut sim, &mut host, 100, 100, |_, _| {}).unwrap();
    if let Some((queue, percent)) = failures {
        sim.set_queue_failures(queue, percent).unwrap();
    }
    run_ticks_planning_ahead(&mut sim, &mut host, (ms / 100) as u32, 100, |_, _| {}).unwrap();
    sim.snapshot()
}

#[test]
fn the_producer_feeds_the_stream_the_queues_and_the_topic() {
    let s = run(preset(), 20_000, None);
    let m = s.messaging.as_ref().unwrap();
    let produced = s.records_produced;
    assert_eq!(m.published, produced);
    for q in &m.queues {
        assert_eq!(q.counts.sent, produced, "{q:?}");
    }
    // Consumed and deleted from the queues; kept in the stream.
    let work = &m.queues[0];
    assert!(work.counts.deleted + 20 >= produced, "{work:?}");
    assert_eq!(s.records_accepted(), produced);
    let fifo = &m.queues[1];
    assert!(fifo.fifo && fifo.counts.out_of_order == 0);
    assert!(work.counts.out_of_order > 0);
    // The delayed queue holds the last 5 s of messages back.
    let reminders = &m.queues[2];
    assert!((450..=520).contains(&reminders.delayed), "{reminders:?}");
}

#[test]
fn failed_messages_come_back_after_the_visibility_timeout_and_runs_repeat() {
    let s = run(preset(), 40_000, Some(("work", 30)));
    let work = &s.messaging.as_ref().unwrap().queues[0];
    assert_eq!(work.fail_percent, 30);
    assert!(work.counts.redelivered > 100, "{work:?}");
    let again = run(preset(), 40_000, Some(("work", 30)));
    assert_eq!(s.digest, again.digest);
}

#[test]
fn bad_queue_settings_are_refused() {
    let (mut sim, _) = start_in_process(preset()).unwrap();
    let err = sim.set_queue_failures("nope", 5).unwrap_err().to_string();
    assert!(err.contains("no queue named 'nope'"), "{err}");
    let err = sim.set_queue_failures("work", 101).unwrap_err().to_string();
    assert!(err.contains("not a percentage"), "{err}");
    let mut s = preset();
    s.messaging = None;
    let (mut sim, _) = start_in_process(s).unwrap();
    let err = sim.set_queue_failures("work", 5).unwrap_err().to_string();
    assert!(err.contains("has no queues"), "{err}");
}
