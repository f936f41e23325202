//! Enhanced fan-out consumers: registered, pushed to through
//! SubscribeToShard, each with its own read throughput.

use shardlab_sim::consumer::{ConsumerSpec, ConsumerView};
use shardlab_sim::host::{run_ticks_planning_ahead, start_in_process};
use shardlab_sim::{InProcessHost, Scenario, Simulation};

fn scenario(shards: u32, consumers: Vec<ConsumerSpec>) -> Scenario {
    Scenario {
        stream_name: "clicks".into(),
        shard_count: shards,
        seed: 3,
        rate_per_sec: 500,
        consumers,
        ..Default::default()
    }
}

fn run(sim: &mut Simulation, host: &mut InProcessHost, ms: u64) {
    run_ticks_planning_ahead(sim, host, ms.div_ceil(100) as u32, 100, |_, _| {}).unwrap();
}

fn accepted(sim: &Simulation) -> u64 {
    sim.snapshot().records_accepted()
}

fn apps(sim: &Simulation) -> Vec<ConsumerView> {
    sim.snapshot().consumers
}

#[test]
fn fan_out_consumers_do_not_share_the_five_reads() {
    let polling = (0..3)
        .map(|i| ConsumerSpec::polling(format!("poll-{i}"), 200))
        .collect();
    let (mut sim, mut host) = start_in_process(scenario(1, polling)).unwrap();
    run(&mut sim, &mut host, 10_000);
    // Three applications calling 5 times a second share 5 calls a second.
    let throttled: u64 = apps(&sim).iter().map(|c| c.throttled).sum();
    assert!(throttled > 50, "{throttled}");

    let fan_out = (0..3)
        .map(|i| ConsumerSpec::fan_out(format!("efo-{i}")))
        .collect();
    let (mut sim, mut host) = start_in_process(scenario(1, fan_out)).unwrap();
    run(&mut sim, &mut host, 10_000);
    let accepted = accepted(&sim);
    for c in apps(&sim) {
        assert!(c.fan_out);
        assert_eq!(c.throttled, 0, "{c:?}");
        // Every record but the last tick's, pushed within a tick.
        assert!(accepted - c.delivered <= 50, "{accepted} {c:?}");
        assert_eq!(c.redelivered, 0);
        assert!(c.max_lag_ms <= 100, "{c:?}");
    }
}

#[test]
fn a_polling_application_moves_to_fan_out_and_back_from_where_it_is() {
    let consumers = vec![
        ConsumerSpec::polling("dashboard", 200),
        ConsumerSpec::polling("archiver", 200),
    ];
    let (mut sim, mut host) = start_in_process(scenario(2, consumers)).unwrap();
    run(&mut sim, &mut host, 5_000);
    sim.set_consumer_fan_out("archiver", true).unwrap();
    run(&mut sim, &mut host, 10_000);
    let before = apps(&sim);
    run(&mut sim, &mut host, 5_000);
    let after = apps(&sim);
    // The archiver is registered and pushed to; the dashboard now has
    // the shards' 5 reads to itself.
    assert!(after[1].fan_out);
    assert_eq!(after[1].throttled, before[1].throttled);
    assert_eq!(after[0].throttled, before[0].throttled);
    // Nothing lost or read twice across the switch.
    let total = accepted(&sim);
    assert_eq!(after[1].redelivered, 0);
    assert!(total - after[1].delivered <= 50, "{total} {:?}", after[1]);
    // And back to GetRecords, from where it is.
    sim.set_consumer_fan_out("archiver", false).unwrap();
    run(&mut sim, &mut host, 5_000);
    let back = &apps(&sim)[1];
    assert!(!back.fan_out);
    assert_eq!(back.redelivered, 0);
    assert!(accepted(&sim) - back.delivered <= 500, "{back:?}");
    let err = sim
        .set_consumer_fan_out("nobody", true)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no consumer application named 'nobody'"),
        "{err}"
    );
}

#[test]
fn subscriptions_renew_every_five_minutes_and_follow_resharding() {
    let (mut sim, mut host) =
        start_in_process(scenario(2, vec![ConsumerSpec::fan_out("efo")])).unwrap();
    run(&mut sim, &mut host, 10_000);
    sim.split_shard("shardId-000000000000").unwrap();
    run(&mut sim, &mut host, 10_000);
    sim.merge_shards("shardId-000000000002", "shardId-000000000003")
        .unwrap();
    // Past two subscriptions' 5 minutes: each is opened again after the
    // last record delivered.
    run(&mut sim, &mut host, 11 * 60_000);
    let c = &apps(&sim)[0];
    let total = accepted(&sim);
    assert_eq!(c.redelivered, 0, "{c:?}");
    assert!(total - c.delivered <= 50, "{total} {c:?}");
    // Parents read to their ends, children after them.
    assert_eq!(c.shards.iter().filter(|s| s.done).count(), 3, "{c:?}");
}

#[test]
fn a_kcl_application_can_read_with_fan_out() {
    // KCL 2.x reads with enhanced fan-out by default.
    let mut app = ConsumerSpec::kcl("billing", 1000, 2, 10_000);
    app.fan_out = true;
    let (mut sim, mut host) = start_in_process(scenario(4, vec![app])).unwrap();
    run(&mut sim, &mut host, 30_000);
    let c = &apps(&sim)[0];
    assert!(c.fan_out);
    assert_eq!(c.throttled, 0);
    assert!(
        accepted(&sim) - (c.delivered - c.redelivered) <= 50,
        "{c:?}"
    );
}

#[test]
fn the_same_run_twice_gives_the_same_digest() {
    let digest = || {
        let s = scenario(
            2,
            vec![ConsumerSpec::fan_out("a"), ConsumerSpec::polling("b", 200)],
        );
        let (mut sim, mut host) = start_in_process(s).unwrap();
        run(&mut sim, &mut host, 20_000);
        sim.snapshot().digest
    };
    assert_eq!(digest(), digest());
}

#[test]
fn move_to_aws_registers_the_fan_out_consumers() {
    let s = scenario(
        1,
        vec![
            ConsumerSpec::fan_out("alerts"),
            ConsumerSpec::polling("b", 200),
        ],
    );
    let script = shardlab_sim::export::cli_script(&s).unwrap();
    assert!(
        script.contains(
            "aws kinesis register-stream-consumer --stream-arn \"arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/clicks\" --consumer-name alerts"
        ),
        "{script}"
    );
    assert_eq!(script.matches("register-stream-consumer").count(), 1);
    let template = shardlab_sim::export::cloudformation(&s).unwrap();
    assert_eq!(
        template["Resources"]["ConsumerAlerts"],
        serde_json::json!({
            "Type": "AWS::Kinesis::StreamConsumer",
            "Properties": {"ConsumerName": "alerts", "StreamARN": {"Fn::GetAtt": ["Stream", "Arn"]}}
        })
    );
}
