//! The producer's retries of throttled records: backoff with full jitter,
//! a last attempt, a bounded buffer.

use shardlab_sim::host::{run_ticks_planning_ahead, start_in_process};
use shardlab_sim::producer::RateShape;
use shardlab_sim::retry::Retries;
use shardlab_sim::{Scenario, Snapshot};

/// One shard, 700 records/s with 3 s at twice that every 30 s: each burst
/// goes over the shard's 1,000 records/s.
fn scenario(retries: Option<Retries>) -> Scenario {
    Scenario {
        stream_name: "checkout".into(),
        shard_count: 1,
        seed: 9,
        rate_per_sec: 700,
        rate_shape: RateShape::Bursts {
            every_ms: 30_000,
            burst_ms: 3_000,
            factor: 2,
        },
        retries,
        ..Default::default()
    }
}

fn run(s: Scenario, ms: u64) -> Snapshot {
    let (mut sim, mut host) = start_in_process(s).unwrap();
    run_ticks_planning_ahead(&mut sim, &mut host, (ms / 100) as u32, 100, |_, _| {}).unwrap();
    sim.snapshot()
}

fn throttled(s: &Snapshot) -> u64 {
    s.shards.iter().map(|x| x.records_throttled).sum()
}

#[test]
fn without_retries_a_burst_loses_what_was_throttled() {
    let s = run(scenario(None), 20_000);
    assert!(throttled(&s) > 200, "{}", throttled(&s));
    assert_eq!(s.records_accepted() + throttled(&s), s.records_produced);
    assert_eq!((s.records_retried, s.records_failed), (0, 0));
}

#[test]
fn retries_with_backoff_get_a_burst_through_after_it() {
    let retries = Retries {
        max_attempts: 10,
        base_delay_ms: 100,
        max_backoff_ms: 5_000,
        ..Retries::default()
    };
    // During the burst and just after: records wait and are sent again.
    let during = run(scenario(Some(retries.clone())), 3_000);
    assert!(during.records_awaiting_retry > 0);
    assert!(throttled(&during) > 0);
    // Well after: every record produced was accepted, some after several
    // sends (each throttled send is counted on the shard).
    let s = run(scenario(Some(retries)), 20_000);
    assert_eq!(s.records_failed, 0);
    assert_eq!(s.records_awaiting_retry, 0);
    assert_eq!(s.records_accepted(), s.records_produced);
    assert!(s.records_retried >= throttled(&s) - s.records_awaiting_retry);
    assert!(s.records_retried > 200, "{}", s.records_retried);
}

#[test]
fn a_record_is_given_up_after_its_last_attempt_or_when_the_buffer_is_full() {
    // One send only: every throttled record fails at once.
    let once = Retries {
        max_attempts: 1,
        ..Retries::default()
    };
    let s = run(scenario(Some(once)), 20_000);
    assert_eq!(s.records_failed, throttled(&s));
    assert_eq!(s.records_retried, 0);
    // A buffer of 50: the rest of the burst's throttled records fail.
    let small = Retries {
        max_attempts: 10,
        max_in_flight: 50,
        ..Retries::default()
    };
    let s = run(scenario(Some(small)), 20_000);
    assert!(s.records_failed > 100, "{}", s.records_failed);
    assert_eq!(s.records_accepted() + s.records_failed, s.records_produced);
}

#[test]
fn a_run_with_retries_is_reproducible() {
    let r = Some(Retries {
        max_attempts: 10,
        ..Retries::default()
    });
    assert_eq!(
        run(scenario(r.clone()), 10_000).digest,
        run(scenario(r), 10_000).digest
    );
}

#[test]
fn a_bad_policy_names_the_field() {
    let bad = Retries {
        max_attempts: 0,
        ..Retries::default()
    };
    let err = shardlab_sim::Simulation::new(scenario(Some(bad)))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("retries: max_attempts is 0"), "{err}");
}

#[test]
fn planning_ticks_ahead_does_not_change_when_a_retry_is_sent() {
    // A record throttled in one tick may be due in the next: that tick must
    // not be planned before this one's results are in.
    let s = scenario(Some(Retries {
        max_attempts: 10,
        ..Retries::default()
    }));
    let (mut one_by_one, mut host) = start_in_process(s.clone()).unwrap();
    for _ in 0..100 {
        shardlab_sim::run_tick(&mut one_by_one, &mut host, 100).unwrap();
    }
    let ahead = run(s, 10_000);
    assert!(ahead.records_retried > 0);
    assert_eq!(ahead, one_by_one.snapshot());
}
