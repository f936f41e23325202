//! The browser half of `cargo xtask bench`: the same workloads as the
//! native run (`shardlab_sim::bench`), called from `web/bench.js`, which
//! does the timing with `performance.now()`.

use shardlab_sim::bench::{ingest_16_shards, records_accepted, run_in_process, Workload};
use shardlab_sim::{Snapshot, TICK_MS};
use wasm_bindgen::prelude::*;

use crate::worker_host::run_on_workers;

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

/// Runs the ingest workload with each shard in its own worker started
/// from `shard_script_url`.
#[wasm_bindgen]
pub async fn bench_ingest_on_workers(shard_script_url: String) -> Result<JsValue, JsValue> {
    let w = ingest_16_shards();
    let snap = run_on_workers(&shard_script_url, w.scenario.clone(), w.ticks, TICK_MS)
        .await
        .map_err(|e| JsValue::from_str(&e))?;
    Ok(summary(&w, &snap))
}
