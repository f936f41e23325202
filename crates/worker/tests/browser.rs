//! Browser tests, in headless Chromium via wasm-bindgen-test-runner
//! (`cargo xtask test` runs them). Shard workers here run this test's own
//! wasm: the runner serves its glue at `/wasm-bindgen-test.js`, and the
//! worker script below imports it, so the workers run exactly the code
//! under test, compiled once and shared with them as a module.

#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Reflect};
use shardlab_engine::protocol::ShardBatchReply;
use shardlab_sim::{bench, InProcessHost, Scenario, Simulation, TICK_MS};
use shardlab_worker::{run_on_workers, WorkerShardHost};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;
use web_sys::{Blob, BlobPropertyBag, Url};

wasm_bindgen_test_configure!(run_in_browser);

/// A module worker script, as a Blob URL, that loads the test's wasm and
/// becomes a shard worker (the same bootstrap as `web/shard-worker.js`).
fn shard_script_url() -> String {
    let location = Reflect::get(&js_sys::global(), &"location".into()).unwrap();
    let origin = Reflect::get(&location, &"origin".into())
        .unwrap()
        .as_string()
        .unwrap();
    let source = format!(
        "import init, {{ shard_worker_start }} from '{origin}/wasm-bindgen-test.js';\n\
         self.onmessage = async (event) => {{\n\
           self.onmessage = null;\n\
           await init({{ module_or_path: event.data }});\n\
           shard_worker_start();\n\
         }};\n"
    );
    let options = BlobPropertyBag::new();
    options.set_type("text/javascript");
    let blob =
        Blob::new_with_str_sequence_and_options(&Array::of1(&JsValue::from_str(&source)), &options)
            .unwrap();
    Url::create_object_url_with_blob(&blob).unwrap()
}

fn scenario(shards: u32, rate: u64) -> Scenario {
    Scenario {
        stream_name: "browser-test".into(),
        shard_count: shards,
        seed: 42,
        rate_per_sec: rate,
    }
}

#[wasm_bindgen_test]
async fn shard_workers_start_and_answer() {
    let mut sim = Simulation::new(scenario(3, 100)).unwrap();
    let host = WorkerShardHost::spawn(&shard_script_url(), 3)
        .await
        .unwrap();
    assert_eq!(host.worker_count(), 3);
    host.open(&mut sim).await.unwrap();

    // Bytes that are not a request get a clear failure, not silence.
    let replies = host
        .exchange(vec![(1, vec![0xff, 0xff, 0xff])])
        .await
        .unwrap();
    match ShardBatchReply::decode(&replies[0]).unwrap() {
        ShardBatchReply::Failed { reason } => assert!(!reason.is_empty()),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn a_seeded_run_is_the_same_in_workers_as_in_process() {
    // 4 shards at 5,000 records/s: more than their 4,000 records/s, so the
    // run includes throttling as well as accepted records.
    let ticks = 40;
    let workload = bench::Workload {
        name: "browser-test",
        scenario: scenario(4, 5_000),
        ticks,
    };
    let in_process = bench::run_in_process(&workload).unwrap();
    let in_workers = run_on_workers(
        &shard_script_url(),
        workload.scenario.clone(),
        ticks,
        TICK_MS,
    )
    .await
    .unwrap();

    assert_eq!(in_process.records_produced, 20_000);
    assert!(in_process.shards.iter().all(|s| s.records_accepted > 0));
    assert!(in_process.shards.iter().any(|s| s.records_throttled > 0));
    for (a, b) in in_process.shards.iter().zip(&in_workers.shards) {
        assert_eq!(a.records_accepted, b.records_accepted, "{}", a.shard_id);
        assert_eq!(a.records_throttled, b.records_throttled, "{}", a.shard_id);
        assert_eq!(
            a.latest_sequence_number, b.latest_sequence_number,
            "{}",
            a.shard_id
        );
    }
    assert_eq!(in_process, in_workers);
}

#[wasm_bindgen_test]
fn wasm_reaches_the_pinned_native_figures() {
    // `pinned_run_matches_the_figures_the_browser_test_expects` in
    // crates/sim/tests/run.rs pins the same run natively; wasm must agree
    // bit for bit.
    let mut sim = Simulation::new(scenario(2, 300)).unwrap();
    let mut host = InProcessHost::new();
    shardlab_sim::open_shards(&mut sim, &mut host).unwrap();
    for _ in 0..10 {
        shardlab_sim::run_tick(&mut sim, &mut host, TICK_MS).unwrap();
    }
    let snap = sim.snapshot();
    assert_eq!(snap.records_produced, 300);
    let per_shard: Vec<u64> = snap.shards.iter().map(|s| s.records_accepted).collect();
    assert_eq!(per_shard, [147, 153]);
    assert_eq!(snap.digest, "e3a204677f4c1738");
}
