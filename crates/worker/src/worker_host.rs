//! The browser's shard host: one Web Worker per shard.
//!
//! Each tick every worker gets exactly one message, its batch as a
//! transferred `ArrayBuffer`; all messages go out before any reply is
//! awaited, so the shards work in parallel, and the tick ends when every
//! reply is in (the barrier). Replies are returned in shard order; the
//! simulation sorts them again anyway, so arrival order never matters.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
use js_sys::{ArrayBuffer, Uint8Array};
use shardlab_sim::{Scenario, SimError, Simulation, Snapshot};
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::shard_worker::post_bytes;

type Reply = Result<JsValue, String>;

struct ShardWorker {
    worker: Worker,
    pending: Rc<RefCell<Option<oneshot::Sender<Reply>>>>,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
    _onerror: Closure<dyn FnMut(ErrorEvent)>,
}

impl ShardWorker {
    fn spawn(script_url: &str, index: u32) -> Result<ShardWorker, String> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        options.set_name(&format!("shard-worker-{index}"));
        let worker = Worker::new_with_options(script_url, &options).map_err(|e| {
            format!("could not start shard worker {index} from {script_url}: {e:?}")
        })?;
        let pending: Rc<RefCell<Option<oneshot::Sender<Reply>>>> = Rc::default();
        let on_reply = pending.clone();
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(tx) = on_reply.borrow_mut().take() {
                let _ = tx.send(Ok(event.data()));
            }
        });
        let on_error = pending.clone();
        let onerror = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            event.prevent_default();
            if let Some(tx) = on_error.borrow_mut().take() {
                let _ = tx.send(Err(format!(
                    "shard worker {index} failed: {}",
                    event.message()
                )));
            }
        });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        Ok(ShardWorker {
            worker,
            pending,
            _onmessage: onmessage,
            _onerror: onerror,
        })
    }

    /// Arms the reply slot; the next message or error from the worker fills it.
    fn expect_reply(&self) -> oneshot::Receiver<Reply> {
        let (tx, rx) = oneshot::channel();
        *self.pending.borrow_mut() = Some(tx);
        rx
    }
}

async fn receive(index: usize, rx: oneshot::Receiver<Reply>) -> Result<JsValue, String> {
    rx.await
        .map_err(|_| format!("shard worker {index} went away"))?
}

pub struct WorkerShardHost {
    workers: Vec<ShardWorker>,
}

impl WorkerShardHost {
    /// Starts `count` shard workers from `script_url` and waits until each
    /// has loaded the wasm module (passed to it, so it is compiled once).
    pub async fn spawn(script_url: &str, count: u32) -> Result<WorkerShardHost, String> {
        let module = wasm_bindgen::module();
        let mut workers = Vec::with_capacity(count as usize);
        let mut ready = Vec::with_capacity(count as usize);
        for i in 0..count {
            let w = ShardWorker::spawn(script_url, i)?;
            ready.push(w.expect_reply());
            w.worker
                .post_message(&module)
                .map_err(|e| format!("could not send the module to shard worker {i}: {e:?}"))?;
            workers.push(w);
        }
        let host = WorkerShardHost { workers };
        for (i, rx) in ready.into_iter().enumerate() {
            let answer = receive(i, rx).await?;
            if answer.as_string().as_deref() != Some("ready") {
                return Err(format!(
                    "shard worker {i} answered {answer:?} instead of ready"
                ));
            }
        }
        Ok(host)
    }

    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }

    /// Delivers one request per shard and waits for every reply.
    pub async fn exchange(&self, requests: Vec<(u32, Vec<u8>)>) -> Result<Vec<Vec<u8>>, String> {
        let mut waiting = Vec::with_capacity(requests.len());
        for (i, bytes) in requests {
            let w = self
                .workers
                .get(i as usize)
                .ok_or_else(|| format!("no worker for shard index {i}"))?;
            let rx = w.expect_reply();
            post_bytes(
                |msg, transfer| w.worker.post_message_with_transfer(msg, transfer),
                &bytes,
            )
            .map_err(|e| format!("could not post to shard worker {i}: {e:?}"))?;
            waiting.push((i as usize, rx));
        }
        let mut replies = Vec::with_capacity(waiting.len());
        for (i, rx) in waiting {
            let data = receive(i, rx).await?;
            let buffer: ArrayBuffer = data
                .dyn_into()
                .map_err(|v| format!("shard worker {i} replied with {v:?}, not bytes"))?;
            replies.push(Uint8Array::new(&buffer).to_vec());
        }
        Ok(replies)
    }

    /// Opens `sim`'s shards, one per worker.
    pub async fn open(&self, sim: &mut Simulation) -> Result<(), SimError> {
        let replies = self
            .exchange(sim.open_requests_encoded())
            .await
            .map_err(SimError::Host)?;
        sim.check_opened(&replies)
    }

    /// One tick of `dt_ms` with the shards in the workers.
    pub async fn tick(&self, sim: &mut Simulation, dt_ms: u64) -> Result<(), SimError> {
        let requests = sim.begin_tick_encoded(dt_ms)?;
        let replies = self.exchange(requests).await.map_err(SimError::Host)?;
        sim.finish_tick_encoded(&replies)
    }
}

impl Drop for WorkerShardHost {
    fn drop(&mut self) {
        for w in &self.workers {
            w.worker.terminate();
        }
    }
}

/// Runs `scenario` for `ticks` ticks with every shard in its own worker
/// started from `script_url`, and returns the final snapshot. Used by the
/// browser tests and benchmarks to compare against the in-process host.
pub async fn run_on_workers(
    script_url: &str,
    scenario: Scenario,
    ticks: u32,
    tick_ms: u64,
) -> Result<Snapshot, String> {
    let mut sim = Simulation::new(scenario).map_err(|e| e.to_string())?;
    let host = WorkerShardHost::spawn(script_url, sim.host_count()).await?;
    host.open(&mut sim).await.map_err(|e| e.to_string())?;
    for _ in 0..ticks {
        host.tick(&mut sim, tick_ms)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(sim.snapshot())
}
