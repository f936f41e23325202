//! KCL applications: leases balanced over workers, failover after a
//! worker stops, checkpoints and the duplicates they bound, resharding
//! with parents before children.

use shardlab_sim::consumer::{ConsumerSpec, ConsumerView};
use shardlab_sim::host::{run_ticks_planning_ahead, start_in_process};
use shardlab_sim::kcl::{KclView, TAKE_MS};
use shardlab_sim::{InProcessHost, Scenario, Simulation};

fn scenario(shards: u32, workers: u32, checkpoint_ms: u64) -> Scenario {
    Scenario {
        stream_name: "orders".into(),
        shard_count: shards,
        seed: 11,
        rate_per_sec: 400,
        consumers: vec![ConsumerSpec::kcl("billing", 1000, workers, checkpoint_ms)],
        ..Default::default()
    }
}

fn run(sim: &mut Simulation, host: &mut InProcessHost, ms: u64) {
    run_ticks_planning_ahead(sim, host, ms.div_ceil(100) as u32, 100, |_, _| {}).unwrap();
}

fn app(sim: &Simulation) -> ConsumerView {
    sim.snapshot().consumers[0].clone()
}

fn kcl(sim: &Simulation) -> KclView {
    app(sim).kcl.expect("a KCL application")
}

/// Leases the lease table gives each worker, in worker order.
fn spread(sim: &Simulation) -> Vec<u32> {
    kcl(sim).workers.iter().map(|w| w.leases).collect()
}

fn accepted(sim: &Simulation) -> u64 {
    sim.snapshot().records_accepted()
}

/// Records processed at least once.
fn unique(c: &ConsumerView) -> u64 {
    c.delivered - c.redelivered
}

#[test]
fn leases_are_balanced_by_taking_then_stealing_one_at_a_time() {
    let (mut sim, mut host) = start_in_process(scenario(4, 2, 60_000)).unwrap();
    run(&mut sim, &mut host, 100);
    // worker-1's taker ran first and took all four unowned leases;
    // worker-2's, in the same tick, found none expired and stole one.
    let view = kcl(&sim);
    assert_eq!(spread(&sim), [3, 1], "{view:#?}");
    assert_eq!((view.counts.taken, view.counts.stolen), (4, 1));
    // worker-1 still processes the stolen shard until its next renewal
    // (3.3 s) finds the counter moved.
    assert_eq!(view.workers[0].processing.len(), 4);
    run(&mut sim, &mut host, 4_000);
    let view = kcl(&sim);
    assert_eq!(view.workers[0].processing.len(), 3);
    assert_eq!(view.counts.lost, 1);
    // The takers run again 20.05 s after the first: worker-2 steals one
    // more, and the load is even.
    run(&mut sim, &mut host, TAKE_MS - 4_000);
    assert_eq!(spread(&sim), [2, 2]);
    assert_eq!(kcl(&sim).counts.stolen, 2);
    // Everything is read: records up to the last poll, once or more.
    run(&mut sim, &mut host, 10_000);
    let c = app(&sim);
    assert!(accepted(&sim) - unique(&c) <= 400, "{c:#?}");
    assert!(c.max_lag_ms <= 1_000, "{}", c.max_lag_ms);
    assert_eq!(
        kcl(&sim)
            .workers
            .iter()
            .map(|w| w.processing.len())
            .sum::<usize>(),
        4
    );
}

#[test]
fn a_stopped_workers_leases_expire_and_are_taken_from_the_checkpoint() {
    let (mut sim, mut host) = start_in_process(scenario(4, 2, 10_000)).unwrap();
    run(&mut sim, &mut host, 45_000);
    assert_eq!(spread(&sim), [2, 2]);
    let before = app(&sim);

    // worker-1 crashes.
    sim.stop_kcl_worker("billing", "worker-1").unwrap();
    run(&mut sim, &mut host, 5_000);
    let view = kcl(&sim);
    assert!(!view.workers[0].alive);
    // Its leases still name it: nobody reads those shards.
    assert_eq!(spread(&sim), [2, 2]);
    assert!(view.workers[0].processing.is_empty());
    let stalled = app(&sim);
    assert!(stalled.max_lag_ms >= 4_000, "{}", stalled.max_lag_ms);

    // worker-2's taker sees a lease expire once its counter has not moved
    // for the failover time between two of its scans: the scan after the
    // crash still sees the counter moved since the scan before, so the
    // leases go at the scan after that, 20-40 s after the crash.
    run(&mut sim, &mut host, 2 * TAKE_MS);
    let view = kcl(&sim);
    assert_eq!(spread(&sim), [0, 4]);
    assert_eq!(view.workers[1].processing.len(), 4);
    for lease in &view.leases {
        assert_eq!(lease.lease_owner.as_deref(), Some("worker-2"));
    }
    // What worker-1 processed after its last checkpoints is processed
    // again: duplicates, at most 10 s (the checkpoint interval) of its two
    // shards' 400 records/s.
    let c = app(&sim);
    let duplicates = c.redelivered - before.redelivered;
    assert!((1..=4_000).contains(&duplicates), "{duplicates} duplicates");
    // Nothing is lost, and the backlog is caught up.
    run(&mut sim, &mut host, 5_000);
    let c = app(&sim);
    assert!(accepted(&sim) - unique(&c) <= 400);
    assert!(c.max_lag_ms <= 1_000);

    // Started again, worker-1 steals its way back to an even load.
    sim.start_kcl_worker("billing", "worker-1").unwrap();
    run(&mut sim, &mut host, 100);
    assert_eq!(spread(&sim), [1, 3]);
    run(&mut sim, &mut host, TAKE_MS + 4_000);
    assert_eq!(spread(&sim), [2, 2]);
}

#[test]
fn children_wait_for_their_parents_shard_end() {
    let (mut sim, mut host) = start_in_process(scenario(2, 2, 10_000)).unwrap();
    run(&mut sim, &mut host, 25_000);
    sim.split_shard("shardId-000000000000").unwrap();
    run(&mut sim, &mut host, 2_000);
    // The parent was read to its end: SHARD_END, and its children's
    // leases exist, waiting for a taker.
    let view = kcl(&sim);
    let parent = &view.leases[0];
    assert_eq!(parent.checkpoint, "SHARD_END");
    assert_eq!(parent.lease_owner, None);
    let children: Vec<_> = view
        .leases
        .iter()
        .filter(|l| l.parent_shard_ids == ["shardId-000000000000"])
        .collect();
    assert_eq!(children.len(), 2);
    assert!(children.iter().all(|c| c.checkpoint == "TRIM_HORIZON"));

    // Then merge the two children back: the merged shard's lease names
    // both, and it is read only after both reach SHARD_END.
    run(&mut sim, &mut host, TAKE_MS);
    let view = kcl(&sim);
    assert!(view
        .leases
        .iter()
        .all(|l| l.lease_owner.is_some() || l.checkpoint == "SHARD_END"));
    sim.merge_shards("shardId-000000000002", "shardId-000000000003")
        .unwrap();
    run(&mut sim, &mut host, TAKE_MS + 2_000);
    let view = kcl(&sim);
    let merged = view
        .leases
        .iter()
        .find(|l| l.lease_key == "shardId-000000000004")
        .expect("the merged shard's lease");
    assert_eq!(
        merged.parent_shard_ids,
        ["shardId-000000000002", "shardId-000000000003"]
    );
    assert!(merged.processed > 0);
    // Every record was processed, in order along each lineage: nothing
    // from a child before its parent's end.
    run(&mut sim, &mut host, 5_000);
    let c = app(&sim);
    assert!(accepted(&sim) - unique(&c) <= 400, "{c:#?}");
}

#[test]
fn a_child_waits_while_a_parent_is_unfinished() {
    // Two workers, a shard each; worker-2 crashes, then the shards merge.
    let (mut sim, mut host) = start_in_process(scenario(2, 2, 10_000)).unwrap();
    run(&mut sim, &mut host, 5_000);
    assert_eq!(spread(&sim), [1, 1]);
    sim.stop_kcl_worker("billing", "worker-2").unwrap();
    sim.merge_shards("shardId-000000000000", "shardId-000000000001")
        .unwrap();
    // worker-1 reads its parent to the end and creates the merged shard's
    // lease; its taker takes it at 20 s, but worker-2's parent is not
    // finished: the child's processor waits.
    run(&mut sim, &mut host, 25_000);
    let view = kcl(&sim);
    let child = view.leases.last().unwrap();
    assert_eq!(child.lease_key, "shardId-000000000002");
    assert_eq!(child.lease_owner.as_deref(), Some("worker-1"));
    assert_eq!(child.parent_shard_ids.len(), 2);
    assert!(child.blocked_on_parents, "{view:#?}");
    assert_eq!(child.processed, 0);
    assert_eq!(
        view.leases
            .iter()
            .filter(|l| l.checkpoint == "SHARD_END")
            .count(),
        1
    );
    // At 40 s worker-1 takes the crashed worker's expired parent lease,
    // reads it to SHARD_END, and within a parent poll (10 s) the child
    // starts; every record is read.
    run(&mut sim, &mut host, 25_000);
    let view = kcl(&sim);
    let child = view.leases.last().unwrap();
    assert!(!child.blocked_on_parents);
    assert!(child.processed > 0);
    assert!(view.leases[..2].iter().all(|l| l.checkpoint == "SHARD_END"));
    let c = app(&sim);
    assert!(accepted(&sim) - unique(&c) <= 400, "{c:#?}");
}

#[test]
fn runs_are_reproducible_and_the_seed_picks_the_leases() {
    let digest = |seed| {
        let mut s = scenario(8, 3, 10_000);
        s.seed = seed;
        let (mut sim, mut host) = start_in_process(s).unwrap();
        run(&mut sim, &mut host, 30_000);
        sim.stop_kcl_worker("billing", "worker-2").unwrap();
        run(&mut sim, &mut host, 40_000);
        let owners: Vec<Option<String>> = kcl(&sim)
            .leases
            .iter()
            .map(|l| l.lease_owner.clone())
            .collect();
        (sim.snapshot().digest, owners)
    };
    assert_eq!(digest(11), digest(11));
    let seeds: std::collections::BTreeSet<_> = (1..6).map(|s| digest(s).1).collect();
    assert!(seeds.len() > 1, "the seed never changed which leases moved");
}

#[test]
fn bad_applications_and_worker_names_are_refused() {
    for (workers, checkpoint, message) in [
        (0, 60_000, "has 0 workers; it needs 1 to 8"),
        (9, 60_000, "has 9 workers; it needs 1 to 8"),
        (
            2,
            500,
            "checkpoints every 500 ms; the interval must be 1000 ms",
        ),
    ] {
        let err = Simulation::new(scenario(2, workers, checkpoint))
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains(message), "{err}");
    }
    let mut s = scenario(2, 2, 60_000);
    s.consumers.push(ConsumerSpec::polling("dashboard", 1000));
    let (mut sim, _) = start_in_process(s).unwrap();
    let err = |r: Result<(), shardlab_sim::SimError>| r.unwrap_err().to_string();
    assert!(err(sim.stop_kcl_worker("billing", "worker-3")).contains("no worker-3"));
    assert!(err(sim.stop_kcl_worker("billing", "w1")).contains("not a worker's name"));
    assert!(err(sim.stop_kcl_worker("dashboard", "worker-1")).contains("not a KCL application"));
    assert!(err(sim.stop_kcl_worker("nobody", "worker-1")).contains("no consumer application"));
    sim.stop_kcl_worker("billing", "worker-1").unwrap();
    assert!(err(sim.stop_kcl_worker("billing", "worker-1")).contains("already stopped"));
    assert!(err(sim.start_kcl_worker("billing", "worker-2")).contains("already running"));
    // The next name adds a worker.
    sim.start_kcl_worker("billing", "worker-3").unwrap();
    assert_eq!(kcl(&sim).workers.len(), 3);
    assert!(err(sim.start_kcl_worker("billing", "worker-5")).contains("no worker-5"));
}

#[test]
fn move_to_aws_says_how_to_run_the_application() {
    let script = shardlab_sim::export::cli_script(&scenario(4, 3, 20_000)).unwrap();
    // The script wraps its notes as comments: read them as one line.
    let text = script
        .lines()
        .map(|l| l.trim_start_matches('#').trim())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("name the application 'billing'")
            && text.contains(
                "Run it on 3 instances (each a KCL worker) and checkpoint every 20000 ms"
            ),
        "{script}"
    );
}

#[test]
fn a_worker_started_again_at_once_takes_back_the_leases_that_still_name_it() {
    let (mut sim, mut host) = start_in_process(scenario(4, 2, 10_000)).unwrap();
    run(&mut sim, &mut host, 45_000);
    assert_eq!(spread(&sim), [2, 2]);
    sim.stop_kcl_worker("billing", "worker-1").unwrap();
    run(&mut sim, &mut host, 2_000);
    sim.start_kcl_worker("billing", "worker-1").unwrap();
    run(&mut sim, &mut host, 100);
    // Its taker ran at once: the leases that still named it are its again,
    // and its processors read them (from their checkpoints).
    let view = kcl(&sim);
    assert_eq!(spread(&sim), [2, 2]);
    assert_eq!(view.workers[0].processing.len(), 2, "{view:#?}");
    run(&mut sim, &mut host, 3_000);
    assert!(app(&sim).max_lag_ms <= 1_000);
}
