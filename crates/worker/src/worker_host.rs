//! The browser's shard host: shards in Web Workers (one per shard up to
//! `MAX_HOSTS`, then several per worker, dealt out round-robin).
//!
//! Each tick every worker gets exactly one message, its batch as a
//! transferred `ArrayBuffer`; all messages go out before any reply is
//! awaited, so the workers run in parallel, and the tick ends when every
//! reply is in (the barrier). Replies are returned in worker order, so
//! arrival order never matters.
//!
//! A worker that dies is detected two ways: an error inside it (its `error`
//! event, e.g. a panic), or no reply within the deadline (it was
//! terminated, or hangs). Either way it is terminated, a fresh worker is
//! spawned in its place, restored from the coordinator's journal
//! (checkpoint + log, see `shardlab_sim::durability`) and sent the batch
//! that was in flight. Nothing acknowledged is lost, and the run goes on
//! exactly as if nothing had happened.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
use js_sys::{ArrayBuffer, Function, Reflect};
use shardlab_engine::protocol::{HostRequest, ShardBatch, ShardBatchReply};
use shardlab_sim::durability::{Journal, JournalStats};
use shardlab_sim::host::{TickPipeline, MAX_RECOVERY_ATTEMPTS};
use shardlab_sim::{Scenario, SimError, Simulation, Snapshot};
use wasm_bindgen::prelude::*;

use crate::lambda_worker::LambdaRunner;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::shard_worker::{post_bytes, received_bytes};

type Reply = Result<JsValue, String>;

/// How long a worker may take to answer a batch before it is presumed
/// lost, in wall-clock milliseconds. Generous: a worker that is merely slow
/// and gets replaced costs time, never data.
pub const DEFAULT_REPLY_DEADLINE_MS: u32 = 2000;

#[derive(Default)]
struct Inbox {
    /// The reply awaited, tagged with its request number.
    pending: Option<(u64, oneshot::Sender<Reply>)>,
    /// Why the worker died, if it did while nothing was awaited.
    dead: Option<String>,
    requests: u64,
}

struct ShardWorker {
    worker: Worker,
    inbox: Rc<RefCell<Inbox>>,
    /// The buffer of the last reply, for the next request (see
    /// [`post_bytes`]).
    spare: RefCell<Option<ArrayBuffer>>,
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
        let inbox: Rc<RefCell<Inbox>> = Rc::default();
        let on_reply = inbox.clone();
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some((_, tx)) = on_reply.borrow_mut().pending.take() {
                let _ = tx.send(Ok(event.data()));
            }
        });
        let on_error = inbox.clone();
        let onerror = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            event.prevent_default();
            let reason = format!("an error inside it ({})", event.message());
            let mut inbox = on_error.borrow_mut();
            match inbox.pending.take() {
                Some((_, tx)) => {
                    let _ = tx.send(Err(reason));
                }
                None => inbox.dead = Some(reason),
            }
        });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        Ok(ShardWorker {
            worker,
            inbox,
            spare: RefCell::default(),
            _onmessage: onmessage,
            _onerror: onerror,
        })
    }

    /// Arms the reply slot; the next message or error from the worker fills
    /// it, or, with a deadline, a timer does if they take longer.
    fn expect_reply(&self, deadline_ms: Option<u32>) -> oneshot::Receiver<Reply> {
        let (tx, rx) = oneshot::channel();
        let mut inbox = self.inbox.borrow_mut();
        inbox.requests += 1;
        let request = inbox.requests;
        if let Some(reason) = inbox.dead.take() {
            let _ = tx.send(Err(reason));
            return rx;
        }
        inbox.pending = Some((request, tx));
        if let Some(ms) = deadline_ms {
            let slot = self.inbox.clone();
            let expire = Closure::once_into_js(move || {
                let mut inbox = slot.borrow_mut();
                if inbox.pending.as_ref().is_some_and(|(r, _)| *r == request) {
                    if let Some((_, tx)) = inbox.pending.take() {
                        let _ = tx.send(Err(format!("no reply within {ms} ms")));
                    }
                }
            });
            set_timeout(&expire, ms);
        }
        rx
    }

    /// Terminates the worker and detaches its handlers first, so that no
    /// event already on its way reaches closures about to be dropped.
    fn stop(&self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }

    fn post(&self, bytes: &[u8]) -> Result<(), String> {
        post_bytes(
            |msg, transfer| self.worker.post_message_with_transfer(msg, transfer),
            bytes,
            self.spare.borrow_mut().take(),
        )
        .map_err(|e| format!("could not post to it: {e:?}"))
    }
}

/// The global `setTimeout`, in a window or a worker alike.
fn set_timeout(callback: &JsValue, ms: u32) {
    let global = js_sys::global();
    if let Ok(f) = Reflect::get(&global, &"setTimeout".into()) {
        if let Ok(f) = f.dyn_into::<Function>() {
            let _ = f.call2(&global, callback, &JsValue::from(ms));
        }
    }
}

fn now_ms() -> f64 {
    let global = js_sys::global();
    Reflect::get(&global, &"performance".into())
        .ok()
        .and_then(|p| {
            let now = Reflect::get(&p, &"now".into())
                .ok()?
                .dyn_into::<Function>()
                .ok()?;
            now.call0(&p).ok()?.as_f64()
        })
        .unwrap_or(0.0)
}

/// The reply's bytes; its buffer becomes `w`'s spare.
async fn receive(rx: oneshot::Receiver<Reply>, w: &ShardWorker) -> Result<Vec<u8>, String> {
    let data = rx.await.map_err(|_| "it went away".to_string())??;
    let (bytes, buffer) =
        received_bytes(data).map_err(|v| format!("it replied with {v:?}, not bytes"))?;
    *w.spare.borrow_mut() = Some(buffer);
    Ok(bytes)
}

/// A batch posted to a worker, its reply awaited.
struct Waiting {
    worker: usize,
    rx: oneshot::Receiver<Reply>,
    posted_ms: f64,
}

/// What the UI shows about one shard worker.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkerStats {
    pub journal: JournalStats,
    /// Wall-clock milliseconds from posting the last batch to its reply.
    pub last_round_trip_ms: f64,
    /// How the last loss was detected and repaired, for the learner.
    pub last_recovery: Option<String>,
}

pub struct WorkerShardHost {
    script_url: String,
    workers: Vec<ShardWorker>,
    journals: Vec<Journal>,
    stats: Vec<WorkerStats>,
    deadline_ms: u32,
    lambdas: Option<LambdaRunner>,
}

impl WorkerShardHost {
    /// Starts `count` shard workers from `script_url` and waits until each
    /// has loaded the wasm module (passed to it, so it is compiled once).
    pub async fn spawn(script_url: &str, count: u32) -> Result<WorkerShardHost, String> {
        let mut workers = Vec::with_capacity(count as usize);
        let mut ready = Vec::with_capacity(count as usize);
        for i in 0..count {
            let (w, rx) = start_worker(script_url, i)?;
            workers.push(w);
            ready.push(rx);
        }
        for (i, rx) in ready.into_iter().enumerate() {
            await_ready(i, rx).await?;
        }
        Ok(WorkerShardHost {
            script_url: script_url.to_string(),
            journals: (0..count).map(|_| Journal::new()).collect(),
            stats: vec![WorkerStats::default(); count as usize],
            workers,
            deadline_ms: DEFAULT_REPLY_DEADLINE_MS,
            lambdas: None,
        })
    }

    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }

    /// Sets how long a worker may take to answer a batch.
    pub fn set_reply_deadline_ms(&mut self, ms: u32) {
        self.deadline_ms = ms;
    }

    pub fn stats(&self) -> Vec<WorkerStats> {
        self.journals
            .iter()
            .zip(&self.stats)
            .map(|(j, s)| WorkerStats {
                journal: j.stats(),
                ..s.clone()
            })
            .collect()
    }

    /// Terminates worker `index` without telling anyone, as the browser or
    /// a crash would: it is found missing when it misses its next deadline.
    pub fn terminate(&self, index: u32) -> Result<(), String> {
        let w = self.worker(index)?;
        w.worker.terminate();
        Ok(())
    }

    /// Makes worker `index` fail from the inside (a panic in its wasm): it
    /// is found dead by its error event.
    pub fn crash(&self, index: u32) -> Result<(), String> {
        self.worker(index)?.post(&HostRequest::Crash.encode())
    }

    fn worker(&self, index: u32) -> Result<&ShardWorker, String> {
        self.workers
            .get(index as usize)
            .ok_or_else(|| format!("there is no shard worker {index}"))
    }

    /// Replaces worker `index` by a fresh one restored from its journal.
    async fn replace(&mut self, index: usize) -> Result<(), String> {
        self.workers[index].stop();
        let (fresh, ready) = start_worker(&self.script_url, index as u32)?;
        self.workers[index] = fresh;
        await_ready(index, ready).await?;
        let w = &self.workers[index];
        let rx = w.expect_reply(None);
        w.post(&self.journals[index].restore_request())?;
        let reply = receive(rx, w)
            .await
            .map_err(|e| format!("shard worker {index} failed while restoring: {e}"))?;
        self.journals[index]
            .check_restored(&reply)
            .map_err(|e| e.to_string())
    }

    /// Runs one batch per worker (in worker order) and returns their
    /// replies in the same order, replacing any worker found lost.
    pub async fn exchange(
        &mut self,
        batches: Vec<(u32, ShardBatch)>,
    ) -> Result<Vec<ShardBatchReply>, String> {
        let waiting = self.send(batches)?;
        self.collect(waiting).await
    }

    /// Posts one batch per worker; `collect` awaits the replies.
    fn send(&mut self, batches: Vec<(u32, ShardBatch)>) -> Result<Vec<Waiting>, String> {
        let mut waiting = Vec::with_capacity(batches.len());
        for (i, batch) in batches {
            let i = i as usize;
            if i >= self.workers.len() {
                return Err(format!("there is no shard worker {i}"));
            }
            let request = self.journals[i].run_request(&batch);
            let w = &self.workers[i];
            let rx = w.expect_reply(Some(self.deadline_ms));
            // A failed post shows up as a missed deadline and is repaired.
            let _ = w.post(request);
            waiting.push(Waiting {
                worker: i,
                rx,
                posted_ms: now_ms(),
            });
        }
        Ok(waiting)
    }

    /// Awaits every reply to `send` (the barrier), replacing lost workers.
    async fn collect(&mut self, waiting: Vec<Waiting>) -> Result<Vec<ShardBatchReply>, String> {
        let mut replies = Vec::with_capacity(waiting.len());
        for Waiting {
            worker: i,
            rx,
            posted_ms,
        } in waiting
        {
            let mut outcome = receive(rx, &self.workers[i]).await;
            let mut attempts = 0;
            let reply = loop {
                match outcome {
                    Ok(bytes) => {
                        self.stats[i].last_round_trip_ms = now_ms() - posted_ms;
                        break self.journals[i].accept(&bytes).map_err(|e| e.to_string())?;
                    }
                    Err(reason) => {
                        attempts += 1;
                        if attempts > MAX_RECOVERY_ATTEMPTS {
                            return Err(format!(
                                "shard worker {i} was lost {attempts} times in a row, last: {reason}"
                            ));
                        }
                        let before = self.journals[i].stats();
                        self.replace(i).await?;
                        self.stats[i].last_recovery = Some(format!(
                            "lost ({reason}); replaced and restored from {} checkpoint bytes + {} logged batches",
                            before.checkpoint_bytes, before.log_batches
                        ));
                        let w = &self.workers[i];
                        let rx = w.expect_reply(Some(self.deadline_ms));
                        if let Some(again) = self.journals[i].resend_request() {
                            let _ = w.post(&again);
                        }
                        outcome = receive(rx, w).await;
                    }
                }
            };
            replies.push(reply);
        }
        Ok(replies)
    }

    /// Runs `ticks` ticks of `dt_ms` through a `TickPipeline`: ticks that
    /// may be planned ahead (see `Simulation::can_plan_ahead`) go to the
    /// workers together, one message per worker for up to
    /// `MAX_TICKS_PER_EXCHANGE` ticks, and while the workers run them the
    /// coordinator plans the next group, so its work overlaps theirs. The
    /// results are exactly those of `tick` in a loop.
    pub async fn run_ticks(
        &mut self,
        sim: &mut Simulation,
        ticks: u32,
        dt_ms: u64,
    ) -> Result<(), SimError> {
        let mut before = |_: u32, _: &mut Simulation| {};
        let mut pipeline = TickPipeline::new(ticks, dt_ms);
        pipeline.plan(sim, true, &mut before)?;
        while let Some(group) = pipeline.take() {
            let waiting = self.send(group.batches).map_err(SimError::Host)?;
            pipeline.plan(sim, false, &mut before)?;
            let replies = self.collect(waiting).await.map_err(SimError::Host)?;
            for replies in group.split.split(replies)? {
                sim.finish_tick(replies)?;
                self.run_lambdas(sim).await;
            }
            let must = pipeline.is_empty();
            pipeline.plan(sim, must, &mut before)?;
        }
        Ok(())
    }

    /// Opens `sim`'s shards on the workers.
    pub async fn open(&mut self, sim: &mut Simulation) -> Result<(), SimError> {
        let replies = self
            .exchange(sim.open_requests())
            .await
            .map_err(SimError::Host)?;
        sim.check_opened(replies)
    }

    /// One tick of `dt_ms` with the shards in the workers.
    pub async fn tick(&mut self, sim: &mut Simulation, dt_ms: u64) -> Result<(), SimError> {
        let batches = sim.begin_tick(dt_ms)?;
        let replies = self.exchange(batches).await.map_err(SimError::Host)?;
        sim.finish_tick(replies)?;
        self.run_lambdas(sim).await;
        Ok(())
    }

    /// Where JavaScript transformation functions run (none: they fail
    /// with `NO_JAVASCRIPT`).
    pub fn set_lambda_runner(&mut self, runner: LambdaRunner) {
        self.lambdas = Some(runner);
    }

    /// Answers the tick's JavaScript invocations before the next tick
    /// finishes, which applies them.
    async fn run_lambdas(&mut self, sim: &mut Simulation) {
        // HTTP endpoint destinations' requests: sent with fetch, answered
        // before the next tick (the virtual clock waits for them).
        for call in sim.take_http_requests() {
            let outcome = crate::fetch::send(&call.request).await;
            sim.provide_http_outcome(&call.stream, call.request.id, outcome);
        }
        for call in sim.take_js_invocations() {
            let outcome = match self.lambdas.as_mut() {
                Some(runner) => runner.invoke(&call).await,
                None => Err(shardlab_sim::simulation::NO_JAVASCRIPT.to_string()),
            };
            sim.provide_js_outcome(&call.caller, call.id, outcome);
        }
    }

    /// Reads every shard back and checks it holds exactly what was
    /// acknowledged (see `shardlab_sim::read_back`).
    pub async fn read_back(
        &mut self,
        sim: &Simulation,
    ) -> Result<Vec<shardlab_sim::ReadBackShard>, SimError> {
        let mut reading = sim.read_back();
        while let Some(batches) = reading.requests() {
            let replies = self.exchange(batches).await.map_err(SimError::Host)?;
            reading.absorb(replies)?;
        }
        let shards = reading.shards().to_vec();
        sim.verify_read_back(&shards)?;
        Ok(shards)
    }
}

/// Spawns a worker and sends it the module; the receiver gets its "ready".
fn start_worker(
    script_url: &str,
    index: u32,
) -> Result<(ShardWorker, oneshot::Receiver<Reply>), String> {
    let w = ShardWorker::spawn(script_url, index)?;
    let rx = w.expect_reply(None);
    w.worker
        .post_message(&wasm_bindgen::module())
        .map_err(|e| format!("could not send the module to shard worker {index}: {e:?}"))?;
    Ok((w, rx))
}

async fn await_ready(index: usize, rx: oneshot::Receiver<Reply>) -> Result<(), String> {
    let answer = rx
        .await
        .map_err(|_| format!("shard worker {index} went away"))?
        .map_err(|e| format!("shard worker {index} failed to start: {e}"))?;
    if answer.as_string().as_deref() != Some("ready") {
        return Err(format!(
            "shard worker {index} answered {answer:?} instead of ready"
        ));
    }
    Ok(())
}

impl Drop for WorkerShardHost {
    fn drop(&mut self) {
        for w in &self.workers {
            w.stop();
        }
    }
}

/// Runs `scenario` for `ticks` ticks with its shards in workers started
/// from `script_url`, and returns the final snapshot. Used by the browser
/// tests and benchmarks to compare against the in-process host.
pub async fn run_on_workers(
    script_url: &str,
    scenario: Scenario,
    ticks: u32,
    tick_ms: u64,
) -> Result<Snapshot, String> {
    let mut sim = Simulation::new(scenario).map_err(|e| e.to_string())?;
    let mut host = WorkerShardHost::spawn(script_url, sim.host_count()).await?;
    host.open(&mut sim).await.map_err(|e| e.to_string())?;
    host.run_ticks(&mut sim, ticks, tick_ms)
        .await
        .map_err(|e| e.to_string())?;
    Ok(sim.snapshot())
}
