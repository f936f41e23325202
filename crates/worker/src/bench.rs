//! The browser half of `cargo xtask bench`: the same workloads as the
//! native run (`shardlab_sim::bench`), called from `web/bench.js`, which
//! does the timing with `performance.now()`.

use shardlab_engine::bench::{get_records_json, put_records_json, put_records_typed, Figure};
use shardlab_sim::bench::{ingest_16_shards, records_accepted, run_in_process, Workload};
use shardlab_sim::{Scenario, Simulation, Snapshot, TICK_MS};
use wasm_bindgen::prelude::*;

use crate::worker_host::WorkerShardHost;

fn summary(workload: &Workload, snap: &Snapshot) -> JsValue {
    let o = js_sys::Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = js_sys::Reflect::set(&o, &k.into(), &v);
    };
    set("name", workload.name.into());
    set("records", (records_accepted(snap) as f64).into());
    set("digest", snap.digest.clone().into());
    o.into()
}

/// Runs the ingest workload with every shard in this thread.
#[wasm_bindgen]
pub fn bench_ingest_in_process() -> Result<JsValue, JsValue> {
    let w = ingest_16_shards();
    let snap = run_in_process(&w).map_err(|e| JsValue::from_str(&e.to_string()))?;
    Ok(summary(&w, &snap))
}

/// Runs the ingest workload with its 16 shards spread over `workers`
/// workers (1 to 16) started from `shard_script_url`.
#[wasm_bindgen]
pub async fn bench_ingest_on_workers(
    shard_script_url: String,
    workers: u32,
) -> Result<JsValue, JsValue> {
    let w = ingest_16_shards();
    let fail = |e: String| JsValue::from_str(&e);
    let mut sim =
        Simulation::with_hosts(w.scenario.clone(), workers).map_err(|e| fail(e.to_string()))?;
    let mut host = WorkerShardHost::spawn(&shard_script_url, workers)
        .await
        .map_err(fail)?;
    host.open(&mut sim).await.map_err(|e| fail(e.to_string()))?;
    host.run_ticks(&mut sim, w.ticks, TICK_MS)
        .await
        .map_err(|e| fail(e.to_string()))?;
    Ok(summary(&w, &sim.snapshot()))
}

/// The cost of the tick barrier alone: `workers` shards on as many
/// workers, no records, `ticks` ticks; returns microseconds per tick,
/// timed inside wasm after the workers have started.
#[wasm_bindgen]
pub async fn bench_barrier(
    shard_script_url: String,
    workers: u32,
    ticks: u32,
) -> Result<JsValue, JsValue> {
    let fail = |e: String| JsValue::from_str(&e);
    let scenario = Scenario {
        stream_name: "barrier".into(),
        shard_count: workers,
        seed: 1,
        rate_per_sec: 0,
        ..Default::default()
    };
    let mut sim = Simulation::with_hosts(scenario, workers).map_err(|e| fail(e.to_string()))?;
    let mut host = WorkerShardHost::spawn(&shard_script_url, workers)
        .await
        .map_err(fail)?;
    host.open(&mut sim).await.map_err(|e| fail(e.to_string()))?;
    // Warm up, then time.
    for _ in 0..50 {
        host.tick(&mut sim, TICK_MS)
            .await
            .map_err(|e| fail(e.to_string()))?;
    }
    let started = now_ms();
    for _ in 0..ticks {
        host.tick(&mut sim, TICK_MS)
            .await
            .map_err(|e| fail(e.to_string()))?;
    }
    let micros = (now_ms() - started) * 1000.0 / f64::from(ticks.max(1));
    Ok(JsValue::from_f64(micros))
}

/// `performance.now()` of whatever global this runs in (page or worker).
fn now_ms() -> f64 {
    let performance = js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| p.dyn_into::<js_sys::Object>().ok());
    performance
        .and_then(|p| {
            let now = js_sys::Reflect::get(&p, &"now".into()).ok()?;
            now.dyn_into::<js_sys::Function>()
                .ok()?
                .call0(&p)
                .ok()?
                .as_f64()
        })
        .unwrap_or(0.0)
}

/// Runs one engine workload (`put-records-typed`, `put-records-json`,
/// `get-records-json` or Firehose's `firehose-gzip-s3`)
/// over `records` records; returns `{name, records, seconds, digest}`, timed
/// inside wasm around the measured phase only.
#[wasm_bindgen]
pub fn bench_engine(name: &str, records: u32) -> Result<JsValue, JsValue> {
    let clock = || now_ms();
    let figure: Figure = match name {
        "put-records-typed" => put_records_typed(records as usize, &clock),
        "put-records-json" => put_records_json(records as usize, &clock),
        "get-records-json" => get_records_json(records as usize, &clock),
        "firehose-gzip-s3" => {
            shardlab_firehose::bench::buffer_gzip_deliver(records as usize, &clock)
        }
        "sql-tumbling-10k-keys" => shardlab_sql::bench::tumbling_10k_keys(records as usize, &clock),
        other => {
            return Err(JsValue::from_str(&format!(
                "no engine workload named {other}"
            )))
        }
    };
    let o = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&o, &"name".into(), &figure.name.into());
    let _ = js_sys::Reflect::set(&o, &"records".into(), &(figure.records as f64).into());
    let _ = js_sys::Reflect::set(&o, &"seconds".into(), &(figure.millis / 1000.0).into());
    let _ = js_sys::Reflect::set(&o, &"digest".into(), &figure.digest.into());
    Ok(o.into())
}
