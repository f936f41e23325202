//! Browser tests, in headless Chromium via wasm-bindgen-test-runner
//! (`cargo xtask test` runs them). Shard workers here run this test's own
//! wasm: the runner serves its glue at `/wasm-bindgen-test.js`, and the
//! worker script below imports it, so the workers run exactly the code
//! under test, compiled once and shared with them as a module.

#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Reflect};
use shardlab_engine::protocol::{ShardBatch, ShardBatchReply};
use shardlab_engine::store::{ShardKey, ShardOp, ShardOpResult};
use shardlab_sim::{
    bench, read_back, InProcessHost, ReadBackShard, Scenario, Simulation, Snapshot, TICK_MS,
};
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
        ..Default::default()
    }
}

#[wasm_bindgen_test]
async fn shard_workers_start_and_answer() {
    let mut sim = Simulation::new(scenario(3, 100)).unwrap();
    let mut host = WorkerShardHost::spawn(&shard_script_url(), 3)
        .await
        .unwrap();
    assert_eq!(host.worker_count(), 3);
    host.open(&mut sim).await.unwrap();

    // A shard a worker does not keep is reported missing, not invented.
    let stray = ShardKey {
        stream: 99,
        shard_index: 1,
    };
    let replies = host
        .exchange(vec![(
            1,
            ShardBatch {
                ops: vec![(stray, ShardOp::Stats)],
            },
        )])
        .await
        .unwrap();
    assert_eq!(
        replies,
        vec![ShardBatchReply::Results(vec![ShardOpResult::Missing])]
    );
}

/// Runs `ticks` ticks on the in-process host and on workers, calling
/// `each(t, sim)` before tick `t` on both and `on_workers(t, host)` before
/// tick `t` on the workers only; returns both simulations' snapshots and
/// read-backs.
async fn both_ways(
    s: Scenario,
    ticks: u32,
    each: impl Fn(u32, &mut Simulation),
    on_workers: impl Fn(u32, &mut WorkerShardHost),
) -> (
    (Snapshot, Vec<ReadBackShard>),
    (Snapshot, Vec<ReadBackShard>),
    WorkerShardHost,
) {
    let mut sim = Simulation::new(s.clone()).unwrap();
    let mut local = InProcessHost::new();
    shardlab_sim::open_shards(&mut sim, &mut local).unwrap();
    for t in 0..ticks {
        each(t, &mut sim);
        shardlab_sim::run_tick(&mut sim, &mut local, TICK_MS).unwrap();
    }
    let in_process = (sim.snapshot(), read_back(&sim, &mut local).unwrap());

    let mut sim = Simulation::new(s).unwrap();
    let mut host = WorkerShardHost::spawn(&shard_script_url(), sim.host_count())
        .await
        .unwrap();
    host.open(&mut sim).await.unwrap();
    for t in 0..ticks {
        each(t, &mut sim);
        on_workers(t, &mut host);
        host.tick(&mut sim, TICK_MS).await.unwrap();
    }
    let read = host.read_back(&sim).await.unwrap();
    (in_process, (sim.snapshot(), read), host)
}

/// The durability lesson's promise: kill shard workers mid-run, from the
/// inside (a panic) and from the outside (terminate), and every
/// acknowledged record is still there, in order, with the same sequence
/// numbers, and the run goes on as if nothing had happened.
#[wasm_bindgen_test]
async fn killed_workers_are_restored_and_nothing_acknowledged_is_lost() {
    // 20,000 records/s per shard against a limit of 1,000: the throttled
    // puts fill the journals' logs faster than the shards fill (though
    // the logs hold the records' recipes, a fifth of their bytes), so the
    // workers checkpoint (a log that only mirrors the state needs none).
    let (calm, hurt, host) = both_ways(
        scenario(4, 80_000),
        80,
        |_, _| {},
        |t, host| match t {
            // An error inside worker 1 just before its batch: the batch in
            // flight dies with it and is sent again to the replacement.
            15 => host.crash(1).unwrap(),
            // Worker 2 vanishes: only its missed deadline tells. (A shorter
            // deadline for this one tick keeps the test quick; a worker
            // merely slow past it would be replaced, costing time only.)
            50 => {
                host.set_reply_deadline_ms(1000);
                host.terminate(2).unwrap();
            }
            51 => host.set_reply_deadline_ms(shardlab_worker::DEFAULT_REPLY_DEADLINE_MS),
            // Worker 1 again, after it has checkpointed.
            70 => host.crash(1).unwrap(),
            _ => {}
        },
    )
    .await;
    assert_eq!(hurt.0, calm.0);
    assert_eq!(hurt.1, calm.1);
    // Per shard: a full bucket of 1,000, then 1,000 a second for 7.9 s.
    assert_eq!(hurt.1.iter().map(|s| s.records).sum::<u64>(), 35_600);
    let stats = host.stats();
    assert_eq!(stats[1].journal.recoveries, 2);
    assert_eq!(stats[2].journal.recoveries, 1);
    assert_eq!(stats[0].journal.recoveries, 0);
    assert!(stats[1].journal.checkpoints >= 1, "{:?}", stats[1]);
    let note = stats[2].last_recovery.clone().unwrap();
    assert!(note.contains("no reply within 1000 ms"), "{note}");
    assert!(stats[1]
        .last_recovery
        .clone()
        .unwrap()
        .contains("error inside it"));
}

/// Splits and merges while records flow and two consumers read: the same
/// in workers as in process (children placed on workers by shard index,
/// parents readable, consumers following parents into children).
#[wasm_bindgen_test]
async fn resharding_is_the_same_in_workers_as_in_process() {
    // With two consumer applications reading through it all.
    let mut s = scenario(4, 2_500);
    s.consumers = [200, 1000]
        .iter()
        .enumerate()
        .map(|(i, &poll_ms)| {
            shardlab_sim::consumer::ConsumerSpec::polling(format!("app-{i}"), poll_ms)
        })
        .collect();
    let (calm, workers, _host) = both_ways(
        s,
        50,
        |t, sim| bench::split_merge_split(t, sim).unwrap(),
        |_, _| {},
    )
    .await;
    assert_eq!(calm.0.shards.len(), 9);
    assert_eq!(calm.0.shards.iter().filter(|s| s.open).count(), 5);
    assert!(calm.1[0].records > 0, "closed parents stay readable");
    assert!(
        calm.0.consumers.iter().all(|c| c.delivered > 5_000),
        "{:?}",
        calm.0.consumers
    );
    assert_eq!(workers.0, calm.0);
    assert_eq!(workers.1, calm.1);
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
    assert_eq!(snap.digest, "b49fd91bee01fe06");

    // Poisson gaps and Zipf weights (floating-point maths): the same bits
    // as `pinned_poisson_zipf_run` natively.
    let mut s = scenario(2, 2_000);
    s.rate_shape = shardlab_sim::producer::RateShape::Poisson;
    s.keys = shardlab_sim::producer::KeyStrategy::Zipf {
        count: 1000,
        exponent: 1.2,
    };
    let mut sim = Simulation::new(s).unwrap();
    let mut host = InProcessHost::new();
    shardlab_sim::open_shards(&mut sim, &mut host).unwrap();
    for _ in 0..20 {
        shardlab_sim::run_tick(&mut sim, &mut host, TICK_MS).unwrap();
    }
    let snap = sim.snapshot();
    assert_eq!(snap.records_produced, 3993);
    assert_eq!(snap.digest, "9805b84e09c2a605");
}

/// The wasm build hashes a PutRecords' partition keys in `simd128` lanes;
/// they must route exactly as one-at-a-time MD5 does (the native tests
/// check that against `md-5`), for every length around the one-block
/// limit, multi-byte characters and all.
#[wasm_bindgen_test]
fn batched_partition_key_hashing_matches_one_at_a_time() {
    use shardlab_engine::HashKey;
    let keys: Vec<String> = (0..300)
        .map(|n| {
            (0..n)
                .map(|i| ['a', 'é', '7', '€', '-'][(i * 7 + n) % 5])
                .collect()
        })
        .collect();
    let bytes: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
    let batched = HashKey::from_partition_keys(&bytes);
    assert_eq!(batched.len(), keys.len());
    for (k, h) in keys.iter().zip(batched) {
        assert_eq!(
            h,
            HashKey::from_partition_key(k),
            "key of {} bytes",
            k.len()
        );
    }
    // And a value from the reference: MD5("a") as an unsigned integer.
    assert_eq!(
        HashKey::from_partition_keys(&[b"a"])[0].0,
        16955237001963240173058271559858726497u128
    );
}

/// A delivery stream reading the stream: its objects (GZIP bytes, seeded
/// names) are in the digest, which must be the same in wasm as natively
/// (`pinned_firehose_run` in crates/sim/tests/run.rs) and the same with the
/// shards in workers as in process.
#[wasm_bindgen_test]
async fn firehose_objects_are_the_same_in_wasm_and_in_workers() {
    let mut s = scenario(2, 1_000);
    s.delivery_streams = vec![serde_json::json!({
        "DeliveryStreamName": "to-s3",
        "ExtendedS3DestinationConfiguration": {
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": "arn:aws:s3:::shardlab-lab",
            "Prefix": "clicks/",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1},
            "CompressionFormat": "GZIP",
            "ProcessingConfiguration": {"Enabled": true, "Processors": [{"Type": "AppendDelimiterToRecord"}]}
        }
    })];
    let workload = bench::Workload {
        name: "browser-test",
        scenario: s,
        ticks: 30,
    };
    let in_process = bench::run_in_process(&workload).unwrap();
    let ds = &in_process.delivery_streams[0];
    assert_eq!(
        (ds.bucket_objects, ds.accounting.delivered_records),
        (1, 1200)
    );
    assert_eq!(in_process.digest, "75f024b0b304f43a");
    let in_workers = run_on_workers(&shard_script_url(), workload.scenario.clone(), 30, TICK_MS)
        .await
        .unwrap();
    assert_eq!(in_process, in_workers);
}

fn lambda_script_url() -> String {
    let options = BlobPropertyBag::new();
    options.set_type("text/javascript");
    // A blob URL has no folder to import from: the Buffer module goes in
    // inline.
    let source = include_str!("../../../web/lambda-worker.js").replace(
        "import { Buffer } from './node-buffer.js';",
        &include_str!("../../../web/node-buffer.js").replace("export class", "class"),
    );
    assert!(source.contains("class Buffer extends Uint8Array"));
    let source = source.as_str();
    let blob =
        Blob::new_with_str_sequence_and_options(&Array::of1(&JsValue::from_str(source)), &options)
            .unwrap();
    Url::create_object_url_with_blob(&blob).unwrap()
}

fn js_call(source: &str, event: &str) -> shardlab_sim::lambda::JsInvocation {
    shardlab_sim::lambda::JsInvocation {
        caller: "d".into(),
        id: 1,
        function: "f".into(),
        source: source.into(),
        event: event.into(),
    }
}

#[wasm_bindgen_test]
async fn javascript_transforms_run_in_their_own_worker_with_a_time_limit() {
    let mut runner = shardlab_worker::LambdaRunner::new(lambda_script_url());
    // AWS's blueprint style: Buffer, exports.handler, async.
    let echo = "exports.handler = async (event) => ({ records: event.records.map((r) => ({ \
                recordId: r.recordId, result: 'Ok', \
                data: Buffer.from(Buffer.from(r.data, 'base64').toString('utf8').toUpperCase()).toString('base64') })) });";
    let out = runner
        .invoke(&js_call(
            echo,
            r#"{"records":[{"recordId":"a","data":"aGk="}]}"#,
        ))
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["records"][0]["data"], "SEk=");
    // ES module style works too.
    let esm = "export const handler = async (event) => ({ records: [] });";
    assert_eq!(
        runner.invoke(&js_call(esm, "{}")).await.unwrap(),
        br#"{"records":[]}"#
    );
    // Errors come back as text: a throw, a syntax error, no handler.
    let e = runner
        .invoke(&js_call(
            "exports.handler = () => { throw new Error('bad record') }",
            "{}",
        ))
        .await
        .unwrap_err();
    assert!(e.contains("bad record"), "{e}");
    assert!(runner
        .invoke(&js_call("exports.handler = (", "{}"))
        .await
        .is_err());
    let e = runner
        .invoke(&js_call("const x = 1;", "{}"))
        .await
        .unwrap_err();
    assert!(e.contains("defines no handler"), "{e}");
    // A function that never returns is cut off at the time limit, and the
    // next invocation gets a fresh worker.
    let e = runner
        .invoke(&js_call(
            "exports.handler = () => { while (true) {} }",
            "{}",
        ))
        .await
        .unwrap_err();
    assert_eq!(e, "Task timed out after 3.00 seconds");
    assert!(runner.invoke(&js_call(esm, "{}")).await.is_ok());
}

#[wasm_bindgen_test]
async fn a_delivery_stream_transforms_with_javascript_the_same_way_every_run() {
    let mut s = scenario(2, 2_000);
    s.lambda_functions = vec![shardlab_sim::lambda::LambdaFunction {
        name: "slim".into(),
        code: shardlab_sim::lambda::FunctionCode::Javascript(
            "exports.handler = async (event) => ({ records: event.records.map((r) => { \
               const e = JSON.parse(Buffer.from(r.data, 'base64').toString('utf8')); \
               if (e.action === 'view') return { recordId: r.recordId, result: 'Dropped', data: r.data }; \
               return { recordId: r.recordId, result: 'Ok', \
                        data: Buffer.from(JSON.stringify({ user: e.user_id, action: e.action })).toString('base64') }; \
             }) });"
                .into(),
        ),
    }];
    s.delivery_streams = vec![serde_json::json!({
        "DeliveryStreamName": "to-s3",
        "ExtendedS3DestinationConfiguration": {
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": "arn:aws:s3:::shardlab-lab",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
            "ProcessingConfiguration": {"Enabled": true, "Processors": [
                {"Type": "Lambda", "Parameters": [
                    {"ParameterName": "LambdaArn", "ParameterValue": "arn:aws:lambda:us-east-1:123456789012:function:slim"},
                    {"ParameterName": "BufferSizeInMBs", "ParameterValue": "0.2"}
                ]},
                {"Type": "AppendDelimiterToRecord"}
            ]}
        }
    })];
    let mut runs = Vec::new();
    for _ in 0..2 {
        let mut sim = Simulation::new(s.clone()).unwrap();
        let mut host = WorkerShardHost::spawn(&shard_script_url(), sim.host_count())
            .await
            .unwrap();
        host.set_lambda_runner(shardlab_worker::LambdaRunner::new(lambda_script_url()));
        host.open(&mut sim).await.unwrap();
        host.run_ticks(&mut sim, 40, TICK_MS).await.unwrap();
        let snap = sim.snapshot();
        let a = &snap.delivery_streams[0].accounting;
        assert!(a.transformed_records > 0 && a.dropped_records > 0, "{a:?}");
        assert_eq!(a.transform_failed, 0, "{a:?}");
        assert!(a.balanced());
        let key = &snap.delivery_streams[0].newest_objects[0].key;
        let text = shardlab_sim::firehose_source::preview(sim.firehose(), "shardlab-lab", key)
            .unwrap()
            .text;
        assert!(text.starts_with("{\"user\":\"user-"), "{text}");
        assert!(!text.contains("\"view\""), "{text}");
        runs.push(snap);
    }
    assert_eq!(runs[0], runs[1]);
}

#[wasm_bindgen_test]
fn the_firehose_benchmark_is_the_same_in_wasm() {
    // Record generation, buffering, GZIP and object names must not depend
    // on the host (usize is 32 bits here): the native test pins this.
    let clock = || 0.0;
    let fig = shardlab_firehose::bench::buffer_gzip_deliver(12_000, &clock);
    assert_eq!(fig.records, 12_000);
    assert_eq!(fig.digest, shardlab_firehose::bench::PINNED_12K_DIGEST);
}
