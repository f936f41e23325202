use super::*;
use crate::rng::substream;

fn queue(name: &str, consumers: u32) -> QueueSpec {
    QueueSpec {
        name: name.into(),
        source: QueueSource::Producer,
        visibility_timeout_ms: 30_000,
        delay_ms: 0,
        consumers,
        receive_every_ms: 1_000,
        fail_percent: 0,
    }
}

/// Sends `n` records a second for `seconds`, keys cycling over `keys`, and
/// runs the consumers each 100 ms.
fn run(q: &mut Queue, n: u64, keys: u64, seconds: u64, rng: &mut ChaCha8Rng, record: &mut u64) {
    for tick in 0..seconds * 10 {
        let now = tick * 100 + 100;
        for _ in 0..n / 10 {
            q.send(*record, &format!("k{}", *record % keys), now);
            *record += 1;
        }
        q.tick(now, rng);
    }
}

#[test]
fn competing_consumers_split_the_messages_and_delete_them() {
    let mut rng = substream(1, "queues");
    let mut q = Queue::new(queue("work", 2), 0);
    let mut record = 0;
    run(&mut q, 20, 4, 10, &mut rng, &mut record);
    let v = q.view(10_000);
    // Each message went to one consumer; together they received them all.
    let per: Vec<u64> = v.processed_per_consumer.clone();
    assert_eq!(per.len(), 2);
    assert!(per.iter().all(|n| *n > 40), "{per:?}");
    assert_eq!(v.counts.received, per.iter().sum::<u64>());
    assert_eq!(
        v.counts.deleted + v.visible + v.in_flight,
        v.counts.sent + v.counts.duplicates
    );
    assert!(v.visible <= 20, "{v:?}");
}

#[test]
fn a_message_not_deleted_comes_back_after_the_visibility_timeout() {
    let mut rng = substream(1, "queues");
    let mut spec = queue("work", 1);
    spec.fail_percent = 100;
    spec.visibility_timeout_ms = 5_000;
    let mut q = Queue::new(spec, 0);
    q.send(0, "k", 0);
    q.tick(100, &mut rng);
    assert_eq!(q.view(100).in_flight, 1);
    // Hidden for 5 s: the consumer's receives in between get nothing.
    q.tick(4_000, &mut rng);
    assert_eq!(q.view(4_000).counts.received, 1);
    q.tick(5_200, &mut rng);
    let v = q.view(5_200);
    assert_eq!((v.counts.received, v.counts.redelivered), (2, 1));
    // Processed at last: deleted, gone.
    q.set_fail_percent(0).unwrap();
    q.tick(10_300, &mut rng);
    let v = q.view(10_300);
    assert_eq!((v.counts.deleted, v.visible + v.in_flight), (1, 0));
}

#[test]
fn a_delay_hides_new_messages() {
    let mut rng = substream(1, "queues");
    let mut spec = queue("slow", 1);
    spec.delay_ms = 3_000;
    let mut q = Queue::new(spec, 0);
    q.send(0, "k", 0);
    q.tick(1_000, &mut rng);
    assert_eq!(
        (q.view(1_000).delayed, q.view(1_000).counts.received),
        (1, 0)
    );
    q.tick(3_000, &mut rng);
    assert_eq!(q.view(3_000).counts.deleted, 1);
}

#[test]
fn fifo_keeps_each_group_in_order_and_standard_does_not() {
    let mut rng = substream(1, "queues");
    let mut record = 0;
    let mut std_q = Queue::new(queue("work", 3), 0);
    run(&mut std_q, 100, 8, 20, &mut rng, &mut record);
    let v = std_q.view(20_000);
    assert!(v.counts.out_of_order > 0, "{v:?}");
    assert!(v.counts.duplicates > 0, "{v:?}");

    let mut record = 0;
    let mut spec = queue("work.fifo", 3);
    spec.fail_percent = 10;
    spec.visibility_timeout_ms = 2_000;
    let mut fifo = Queue::new(spec, 0);
    run(&mut fifo, 100, 8, 20, &mut rng, &mut record);
    let v = fifo.view(20_000);
    // Failures are received again (in order: the group waited for them).
    assert!(v.counts.redelivered > 0);
    assert_eq!(
        (v.counts.out_of_order, v.counts.duplicates),
        (0, 0),
        "{v:?}"
    );
}

#[test]
fn a_topic_copies_each_message_to_every_subscribed_queue() {
    let mut a = queue("email", 1);
    a.source = QueueSource::Topic;
    let mut b = queue("billing", 1);
    b.source = QueueSource::Topic;
    let spec = Messaging {
        queues: vec![a, b, queue("work", 1)],
        topic: Some("orders".into()),
    };
    spec.validate().unwrap();
    let mut qs = Queues::new(&spec, 0, substream(1, "queues"));
    qs.produce(["a", "b", "c"], 0);
    qs.tick(1_000);
    let v = qs.view(1_000);
    assert_eq!(v.published, 3);
    assert!(v
        .queues
        .iter()
        .all(|q| q.counts.sent == 3 && q.counts.deleted == 3));
}

#[test]
fn bad_specs_are_refused() {
    let mut bad = queue("no spaces", 1);
    assert!(bad.validate().unwrap_err().contains("alphanumeric"));
    bad = queue("q", 9);
    assert!(bad.validate().unwrap_err().contains("0 to 8 consumers"));
    assert!(queue("dead-letters", 0).validate().is_ok());
    bad = queue("q", 1);
    bad.delay_ms = 901_000;
    assert!(bad.validate().unwrap_err().contains("DelaySeconds"));
    let mut t = queue("t", 1);
    t.source = QueueSource::Topic;
    let m = Messaging {
        queues: vec![t],
        topic: None,
    };
    assert!(m.validate().unwrap_err().contains("no `topic`"));
    let mut f = queue("f.fifo", 1);
    f.source = QueueSource::Topic;
    let m = Messaging {
        queues: vec![f],
        topic: Some("t".into()),
    };
    assert!(m.validate().unwrap_err().contains("only a FIFO topic"));
    let mut qs = Queues::new(&Messaging::default(), 0, substream(1, "q"));
    assert!(qs
        .set_fail_percent("x", 5)
        .unwrap_err()
        .contains("no queue named 'x'"));
}

#[test]
fn copies_are_received_and_deleted_once_the_consumers_have_time() {
    let mut rng = substream(1, "queues");
    let mut spec = queue("work", 1);
    spec.receive_every_ms = 100;
    let mut q = Queue::new(spec, 0);
    let mut record = 0;
    run(&mut q, 100, 4, 20, &mut rng, &mut record);
    for t in 0..100 {
        q.tick(20_000 + t * 100, &mut rng);
    }
    let v = q.view(40_000);
    assert!(v.counts.duplicates > 0);
    assert_eq!(v.visible + v.in_flight, 0);
    assert_eq!(v.counts.deleted, v.counts.sent + v.counts.duplicates);
}
