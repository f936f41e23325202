//! Lambda event source mappings in whole runs: every record read is
//! processed, discarded or still waiting; resharding and host counts change
//! nothing; discarded batches reach their queue.

use shardlab_sim::consumer::ConsumerSpec;
use shardlab_sim::esm::{EsmSpec, EsmUpdate, EsmView};
use shardlab_sim::headless::parse_scenario;
use shardlab_sim::lambda::{FunctionCode, LambdaFunction};
use shardlab_sim::{open_shards, run_tick, InProcessHost, Scenario, Simulation};

fn mapping_scenario(code: FunctionCode, spec: EsmSpec) -> Scenario {
    let mut consumer = ConsumerSpec::polling("process", 1000);
    consumer.lambda = Some(spec);
    Scenario {
        stream_name: "orders".into(),
        shard_count: 4,
        seed: 3,
        rate_per_sec: 400,
        consumers: vec![consumer],
        lambda_functions: vec![LambdaFunction {
            name: "f".into(),
            code,
        }],
        ..Default::default()
    }
}

/// Runs `ticks` of 100 ms on `hosts` hosts, resharding along the way when
/// `reshard`, with the producer stopped for the last 30 s.
fn run(s: Scenario, hosts: u32, ticks: u32, reshard: bool) -> Simulation {
    let mut sim = Simulation::with_hosts(s, hosts).unwrap();
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).unwrap();
    for t in 0..ticks {
        if reshard {
            shardlab_sim::bench::split_merge_split(t, &mut sim).unwrap();
        }
        if t + 300 == ticks {
            sim.set_rate(0).unwrap();
        }
        run_tick(&mut sim, &mut host, 100).unwrap();
    }
    sim
}

fn mapping(sim: &Simulation) -> (u64, EsmView) {
    let snap = sim.snapshot();
    let c = &snap.consumers[0];
    (c.delivered, c.lambda.clone().unwrap())
}

/// Nothing read is lost: processed, discarded, expired or waiting.
fn accounted(delivered: u64, m: &EsmView) {
    let waiting: u64 = m.shards.iter().map(|s| s.waiting).sum();
    assert_eq!(
        delivered,
        m.processed + m.discarded + m.expired + m.filtered_out + waiting,
        "{m:?}"
    );
}

#[test]
fn filter_criteria_keep_unmatched_records_from_the_function() {
    // Clicks: only purchases reach the function.
    let spec = EsmSpec {
        filter_criteria: Some(serde_json::json!({"Filters": [
            {"Pattern": r#"{"data": {"action": ["purchase"]}}"#}
        ]})),
        ..EsmSpec::new("f")
    };
    let s = mapping_scenario(
        FunctionCode::FailIf {
            field: "action".into(),
            equals: serde_json::json!("view"),
            report_item_failures: false,
        },
        spec,
    );
    let sim = run(s.clone(), 2, 400, false);
    let (delivered, m) = mapping(&sim);
    // A view would fail the function: none gets there.
    assert_eq!((m.errors, m.discarded), (0, 0), "{m:?}");
    assert!(m.processed > 0 && m.filtered_out > 2 * m.processed, "{m:?}");
    accounted(delivered, &m);
    // A pattern on anything but data is refused, as Lambda refuses it.
    let mut bad = s.clone();
    bad.consumers[0].lambda.as_mut().unwrap().filter_criteria = Some(serde_json::json!({
        "Filters": [{"Pattern": r#"{"partitionKey": ["k"]}"#}]
    }));
    let e = bad.validate().unwrap_err().to_string();
    assert!(e.contains("filter only on the data key"), "{e}");
}

#[test]
fn every_record_is_processed_once_across_splits_and_merges_on_any_host_count() {
    let spec = EsmSpec {
        batch_size: 50,
        parallelization_factor: 2,
        ..EsmSpec::new("f")
    };
    let s = mapping_scenario(FunctionCode::SelectFields(vec!["x".into()]), spec);
    let mut digests = Vec::new();
    for (hosts, reshard) in [(1, true), (3, true), (2, false)] {
        let sim = run(s.clone(), hosts, 700, reshard);
        let snap = sim.snapshot();
        let accepted = snap.records_accepted();
        let (delivered, m) = mapping(&sim);
        assert!(accepted > 15_000, "{accepted}");
        assert_eq!(delivered, accepted, "hosts {hosts}, reshard {reshard}");
        assert_eq!((m.processed, m.errors, m.invoked_again), (accepted, 0, 0));
        accounted(delivered, &m);
        // Batches of at most 50 records, from one shard each.
        assert!(m.log.iter().all(|l| l.records <= 50), "{:?}", m.log);
        if reshard {
            assert!(m.shards.len() > 4, "children are processed too");
            digests.push(snap.digest);
        }
    }
    assert_eq!(digests[0], digests[1], "the host count changes nothing");
}

/// The lesson's preset with bisection, one retry and 4 batches per shard,
/// run for two virtual minutes.
fn lesson_preset_bisecting() -> Simulation {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../static/scenarios/lambda-orders.json"),
    )
    .unwrap();
    let mut sim = Simulation::new(parse_scenario(&text).unwrap()).unwrap();
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).unwrap();
    sim.update_event_source_mapping(
        "process-orders",
        &EsmUpdate {
            bisect_batch_on_function_error: Some(true),
            maximum_retry_attempts: Some(1),
            parallelization_factor: Some(4),
            ..Default::default()
        },
    )
    .unwrap();
    for _ in 0..1200 {
        run_tick(&mut sim, &mut host, 100).unwrap();
    }
    sim
}

#[test]
fn the_lesson_preset_discards_only_bad_records_once_bisecting_and_queues_them() {
    let sim = lesson_preset_bisecting();
    let (delivered, m) = mapping(&sim);
    accounted(delivered, &m);
    assert!(m.discarded >= 3, "{m:?}");
    // Bisection isolates each corrupt order: every discarded batch is one
    // record, and the queue got one message per discarded batch.
    assert!(
        m.failures.iter().all(|d| d.records == 1),
        "{:?}",
        m.failures
    );
    assert_eq!(m.discards, m.discarded);
    let snap = sim.snapshot();
    let queue = &snap.messaging.as_ref().unwrap().queues[0];
    assert_eq!(queue.counts.sent, m.discards);
    let doc: serde_json::Value = serde_json::from_str(&m.failures[0].document).unwrap();
    assert_eq!(doc["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert_eq!(doc["KinesisBatchInfo"]["batchSize"], 1);
    // The same run again gives the same digest.
    assert_eq!(lesson_preset_bisecting().snapshot().digest, snap.digest);
}

#[test]
fn a_javascript_handler_fails_clearly_where_there_is_no_javascript() {
    let spec = EsmSpec {
        maximum_retry_attempts: 0,
        ..EsmSpec::new("f")
    };
    let s = mapping_scenario(
        FunctionCode::Javascript("exports.handler = async () => {};".into()),
        spec,
    );
    let sim = run(s, 1, 320, false);
    let (delivered, m) = mapping(&sim);
    accounted(delivered, &m);
    assert!(m.errors > 0 && m.processed == 0, "{m:?}");
    assert_eq!(m.log[0].result, shardlab_sim::simulation::NO_JAVASCRIPT);
}

#[test]
fn bad_mappings_are_refused_naming_the_problem() {
    let ok = mapping_scenario(
        FunctionCode::SelectFields(vec!["x".into()]),
        EsmSpec::new("f"),
    );
    assert!(ok.validate().is_ok());
    let mut s = ok.clone();
    s.consumers[0].lambda.as_mut().unwrap().function = "missing".into();
    let e = s.validate().unwrap_err().to_string();
    assert!(e.contains("no Lambda function named 'missing'"), "{e}");
    let mut s = ok.clone();
    s.consumers[0].lambda.as_mut().unwrap().batch_size = 0;
    assert!(s.validate().unwrap_err().to_string().contains("batch_size"));
    let mut s = ok.clone();
    s.consumers[0].kcl = Some(shardlab_sim::kcl::KclSpec {
        workers: 1,
        checkpoint_ms: 1000,
    });
    assert!(s
        .validate()
        .unwrap_err()
        .to_string()
        .contains("one of them"));
    let mut sim = Simulation::new(ok).unwrap();
    let e = sim
        .update_event_source_mapping(
            "process",
            &EsmUpdate {
                parallelization_factor: Some(11),
                ..Default::default()
            },
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("parallelization_factor is 11"), "{e}");
    assert!(sim
        .update_event_source_mapping("nobody", &EsmUpdate::default())
        .is_err());
}

#[test]
fn a_run_with_a_mapping_is_planned_one_tick_at_a_time() {
    // A mapping reads a shard only when its batches have room, which
    // finishing a tick decides: planning the next tick first would change
    // the run with the host's timing.
    let s = mapping_scenario(
        FunctionCode::SelectFields(vec!["x".into()]),
        EsmSpec::new("f"),
    );
    let mut sim = Simulation::new(s.clone()).unwrap();
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).unwrap();
    assert!(!sim.can_plan_ahead());
    let mut plain = s;
    plain.consumers[0].lambda = None;
    let mut sim = Simulation::new(plain).unwrap();
    open_shards(&mut sim, &mut host).unwrap();
    assert!(sim.can_plan_ahead());
}

#[test]
fn a_mapping_cannot_be_replayed_repolled_or_moved_to_fan_out() {
    let s = mapping_scenario(
        FunctionCode::SelectFields(vec!["x".into()]),
        EsmSpec::new("f"),
    );
    let mut sim = run(s, 1, 50, false);
    let e = sim
        .replay_consumer("process", shardlab_sim::consumer::Replay::TrimHorizon)
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot be moved back"), "{e}");
    assert!(sim.set_consumer_poll("process", 200).is_err());
    assert!(sim.set_consumer_fan_out("process", true).is_err());
    let (delivered, m) = mapping(&sim);
    accounted(delivered, &m);
}

#[test]
fn a_state_over_one_mb_ends_the_window_early_and_it_goes_on_fresh() {
    // One shard, 900 random keys a second, a 60 s window: the built-in's
    // count per key outgrows 1 MB after about 25,000 keys.
    let spec = EsmSpec {
        tumbling_window_s: 60,
        batch_size: 10_000,
        ..EsmSpec::new("f")
    };
    let mut s = mapping_scenario(FunctionCode::SelectFields(vec!["x".into()]), spec);
    s.shard_count = 1;
    s.rate_per_sec = 900;
    let sim = run(s, 1, 900, false);
    let (delivered, m) = mapping(&sim);
    assert_eq!(m.errors, 0, "{m:?}");
    assert_eq!(m.processed, delivered, "every record processed: {m:?}");
    accounted(delivered, &m);
    let early: Vec<_> = m.log.iter().filter(|i| i.terminated_early).collect();
    assert!(!early.is_empty(), "{:?}", m.log);
    assert!(
        early.iter().all(|i| i.records == 0 && i.result == "Ok"),
        "{early:?}"
    );
}

#[test]
fn a_tumbling_window_run_keeps_every_record_and_ends_each_window() {
    let spec = EsmSpec {
        tumbling_window_s: 5,
        ..EsmSpec::new("f")
    };
    // The built-in counts records per partition key in the state.
    let s = mapping_scenario(FunctionCode::SelectFields(vec!["x".into()]), spec);
    let sim = run(s, 2, 400, false);
    let (delivered, m) = mapping(&sim);
    assert_eq!(m.errors, 0, "{m:?}");
    assert!(m.processed > 3_000, "{m:?}");
    assert_eq!(m.processed, delivered, "every record processed: {m:?}");
    accounted(delivered, &m);
    // Each window ends with a final invocation with no records.
    let finals = m.log.iter().filter(|i| i.records == 0).count();
    assert!(m.invocations > m.processed / 100, "{m:?}");
    assert!(finals > 0, "{:?}", m.log);
}
