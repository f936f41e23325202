//! The simulation worker: the coordinator that runs off the UI thread.
//!
//! It owns the `Simulation` and the shard workers, takes `Command`s from the
//! UI, and paces ticks against wall-clock time: each tick advances virtual
//! time by exactly `TICK_MS`, and the speed only decides how often ticks
//! happen, so a run is the same at any speed. After each round it posts one
//! `Event::Snapshot`, which bounds what the UI receives to the display rate.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{Function, Promise};
use shardlab_sim::clock::next_fast_forward_slice;
use shardlab_sim::control::{
    browse, Command, Event, WorkerView, MAX_FAST_FORWARD_MS, MAX_SPEED, MIN_SPEED,
};
use shardlab_sim::{SimError, Simulation, TICK_MS};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::worker_host::WorkerShardHost;

/// At most this many ticks per round, so a high speed on a slow machine
/// degrades to "as fast as possible" instead of freezing the worker.
const MAX_TICKS_PER_ROUND: u32 = 50;
/// The shortest pause between rounds, in wall-clock milliseconds (about one
/// display frame).
const MIN_ROUND_MS: f64 = 16.0;
/// Ticks in the first slice of a fast-forward (20 s of virtual time); the
/// next slices take about 0.1 s each (see `next_fast_forward_slice`).
const FIRST_FAST_FORWARD_SLICE: u64 = 200;
/// While fast-forwarding, a snapshot at most this often (wall-clock ms):
/// the page's thread renders each one on the cores the workers need.
/// Measured in headless Chromium, an hour of 4 shards at 4,000 records/s:
/// 12.6 to 13.1 s with a snapshot after every slice, 10.5 to 11.6 s at
/// most every 500 ms (alternating, with the stylesheet of `95af612`).
const FAST_FORWARD_SNAPSHOT_MS: f64 = 500.0;
/// The longest pause while idle; a command ends it at once anyway.
const IDLE_ROUND_MS: f64 = 250.0;
/// The simulation worker's heap budget, and twice a shard worker's
/// records': a WebAssembly worker addresses at most 4 GiB, this worker
/// keeps every shard's journal (see `shardlab_sim::durability`) and a shard
/// worker its records (and, while it checkpoints, a copy of them), so
/// running and fast-forwarding stop here, before an allocation fails and a
/// worker dies with the stream.
pub const MEMORY_LIMIT_BYTES: u64 = 5 << 29;
/// Past the budget by this much, Start and fast-forward are refused (each
/// start runs one round before the next check). The budget counts the
/// bytes asked for; the allocator's own overhead, and the growth of a
/// checkpoint once records expire, need the rest of the 4 GiB.
const MEMORY_REFUSE_MARGIN: u64 = 256 << 20;

struct Stream {
    sim: Simulation,
    host: WorkerShardHost,
}

struct Coordinator {
    scope: DedicatedWorkerGlobalScope,
    shard_script_url: String,
    lambda_script_url: String,
    stream: Option<Stream>,
    running: bool,
    speed: f64,
    /// Virtual milliseconds owed to the clock by elapsed wall time.
    owed_ms: f64,
    /// Virtual milliseconds a fast-forward still has to run.
    fast_forward_ms: u64,
    /// Ticks in the fast-forward's next slice.
    slice_ticks: u64,
    /// When the last snapshot was posted during a fast-forward.
    snapshot_posted_ms: f64,
    /// See [`MEMORY_LIMIT_BYTES`]; tests lower it.
    memory_limit: u64,
}

impl Coordinator {
    fn post(&self, event: &Event) {
        match serde_wasm_bindgen::to_value(event) {
            Ok(value) => {
                if let Err(e) = self.scope.post_message(&value) {
                    web_sys::console::error_2(&"simulation worker could not post".into(), &e);
                }
            }
            Err(e) => web_sys::console::error_1(&format!("unserialisable event: {e}").into()),
        }
    }

    /// Runs a command on the stream's simulation, saying what went wrong
    /// (or that there is no stream yet).
    fn with_sim(&mut self, f: impl FnOnce(&mut Simulation) -> Result<(), SimError>) {
        match self.stream.as_mut().map(|s| f(&mut s.sim)) {
            Some(Ok(())) => {}
            Some(Err(e)) => self.error(e.to_string()),
            None => self.error("Create a stream first."),
        }
    }

    /// Why the stream may not run on, if its records fill more than `limit`
    /// of this worker's heap, or of a shard worker's. A shard worker's is
    /// counted as twice the records it keeps (it says how many bytes that
    /// is with each reply): a checkpoint copies them all. (The journal
    /// here logs made records' recipes, a fifth of their bytes, so this
    /// heap no longer grows as fast as a shard worker's.)
    fn memory_full(&self, limit: u64) -> Option<String> {
        let stream = self.stream.as_ref()?;
        let in_use = crate::heap_in_use() as u64;
        let fullest = stream
            .host
            .stats()
            .iter()
            .enumerate()
            .map(|(i, w)| (i, w.journal.state_bytes.saturating_mul(2)))
            .max_by_key(|&(_, bytes)| bytes);
        let gib = |b: u64| match b {
            0..0x4000_0000 => format!("{} MiB", b >> 20),
            _ => format!("{:.1} GiB", b as f64 / f64::from(1u32 << 30)),
        };
        let what = match fullest {
            _ if in_use > limit => format!(
                "this stream's records and their journal fill {} of the simulation's memory",
                gib(in_use)
            ),
            Some((i, bytes)) if bytes > limit => format!(
                "shard worker {i}'s records, with room to checkpoint them, fill {} of its \
                 memory",
                gib(bytes)
            ),
            _ => return None,
        };
        let s = (stream.sim.now_ms() - shardlab_sim::clock::SCENARIO_EPOCH_MS) / 1000;
        Some(format!(
            "Stopped at {}:{:02}:{:02}: {what}, its limit in a browser ({}; a WebAssembly \
             worker addresses at most 4 GiB). Nothing is lost: the stream stays here to read \
             and inspect. Records leave only once they pass the retention period (24 h at \
             least), so to run further create the stream again with a lower rate, or run its \
             scenario natively with `shardlab run`.",
            s / 3600,
            s / 60 % 60,
            s % 60,
            gib(self.memory_limit)
        ))
    }

    /// Stops running or fast-forwarding, saying why, once the heap is past
    /// its budget.
    fn stop_if_memory_full(&mut self) {
        if !(self.running || self.fast_forward_ms > 0) {
            return;
        }
        if let Some(message) = self.memory_full(self.memory_limit) {
            self.running = false;
            self.fast_forward_ms = 0;
            self.error(message);
        }
    }

    /// Refuses to start when the heap is well past its budget.
    fn refuse_if_memory_full(&self) -> bool {
        match self.memory_full(self.memory_limit.saturating_add(MEMORY_REFUSE_MARGIN)) {
            Some(message) => {
                self.error(message);
                true
            }
            None => false,
        }
    }

    fn error(&self, message: impl Into<String>) {
        self.post(&Event::Error {
            message: message.into(),
        });
    }

    fn post_snapshot(&self) {
        if let Some(stream) = &self.stream {
            let snapshot = stream.sim.snapshot();
            let workers = stream
                .host
                .stats()
                .into_iter()
                .enumerate()
                .map(|(i, stats)| {
                    let mine = snapshot.shards.iter().filter(|s| s.host == i as u32);
                    WorkerView {
                        index: i as u32,
                        shards: mine.clone().map(|s| s.shard_id.clone()).collect(),
                        records_last_second: mine.map(|s| s.records_last_second).sum(),
                        ops: stats.journal.ops,
                        checkpoints: stats.journal.checkpoints,
                        checkpoint_bytes: stats.journal.checkpoint_bytes,
                        log_batches: stats.journal.log_batches,
                        log_bytes: stats.journal.log_bytes,
                        recoveries: stats.journal.recoveries,
                        last_round_trip_ms: stats.last_round_trip_ms,
                        last_recovery: stats.last_recovery,
                    }
                })
                .collect();
            self.post(&Event::Snapshot {
                snapshot,
                running: self.running,
                speed: self.speed,
                workers,
                fast_forward_ms: self.fast_forward_ms,
            });
        }
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::CreateStream { scenario } => {
                // Stop the old stream's workers before starting new ones;
                // a fast-forward in progress was the old stream's.
                self.stream = None;
                self.running = false;
                self.fast_forward_ms = 0;
                self.owed_ms = 0.0;
                let mut sim = match Simulation::new(scenario) {
                    Ok(sim) => sim,
                    Err(e) => return self.error(e.to_string()),
                };
                let mut host =
                    match WorkerShardHost::spawn(&self.shard_script_url, sim.host_count()).await {
                        Ok(host) => host,
                        Err(e) => return self.error(e),
                    };
                if let Err(e) = host.open(&mut sim).await {
                    return self.error(e.to_string());
                }
                host.set_lambda_runner(crate::LambdaRunner::new(self.lambda_script_url.clone()));
                self.stream = Some(Stream { sim, host });
            }
            Command::Run => {
                if self.stream.is_none() {
                    return self.error("Create a stream first.");
                }
                if self.refuse_if_memory_full() {
                    return;
                }
                self.running = true;
                self.owed_ms = 0.0;
            }
            Command::Pause => {
                self.running = false;
                self.fast_forward_ms = 0;
            }
            Command::Step => {
                self.running = false;
                self.run_ticks(1).await;
            }
            Command::FastForward { ms } => {
                if self.stream.is_none() {
                    return self.error("Create a stream first.");
                }
                if ms == 0 || ms > MAX_FAST_FORWARD_MS {
                    return self.error(format!(
                        "Fast-forward runs 1 ms to {} h of virtual time, not {ms} ms.",
                        MAX_FAST_FORWARD_MS / 3_600_000
                    ));
                }
                if self.refuse_if_memory_full() {
                    return;
                }
                self.running = false;
                self.fast_forward_ms = ms.div_ceil(TICK_MS) * TICK_MS;
                self.slice_ticks = FIRST_FAST_FORWARD_SLICE;
            }
            Command::SetMemoryLimit { bytes } => {
                self.memory_limit = bytes;
                return;
            }
            Command::SetRate {
                rate_per_sec,
                producer,
            } => self.with_sim(|sim| sim.set_producer_rate(producer.as_deref(), rate_per_sec)),
            Command::SetSpeed { speed } => {
                if !(MIN_SPEED..=MAX_SPEED).contains(&speed) {
                    return self.error(format!(
                        "speed {speed} is outside {MIN_SPEED}x to {MAX_SPEED}x"
                    ));
                }
                self.speed = speed;
            }
            Command::SplitShard { shard_id } => self.with_sim(|sim| sim.split_shard(&shard_id)),
            Command::MergeShards {
                shard_id,
                adjacent_shard_id,
            } => self.with_sim(|sim| sim.merge_shards(&shard_id, &adjacent_shard_id)),
            Command::PackWorkspace {
                workspace,
                download,
            } => {
                let fragment = workspace.to_fragment();
                if !download && shardlab_sim::share::too_long(&fragment) {
                    self.post(&Event::WorkspaceError {
                        link: true,
                        message: "this workspace is too large for a link (its SQL or template is long): download the workspace and share the file".into(),
                    });
                } else {
                    self.post(&Event::WorkspacePacked {
                        stream_name: workspace.scenario.stream_name.clone(),
                        fragment,
                        file: workspace.to_file(),
                        download,
                    })
                }
            }
            Command::OpenWorkspaceLink { fragment } => self.post(
                &match shardlab_sim::share::Workspace::from_fragment(&fragment) {
                    Ok(workspace) => Event::WorkspaceOpened { workspace },
                    Err(message) => Event::WorkspaceError {
                        link: true,
                        message,
                    },
                },
            ),
            Command::OpenWorkspaceFile { bytes } => {
                self.post(&match shardlab_sim::share::Workspace::from_file(&bytes) {
                    Ok(workspace) => Event::WorkspaceOpened { workspace },
                    Err(message) => Event::WorkspaceError {
                        link: false,
                        message,
                    },
                })
            }
            Command::KinesisApi {
                id,
                operation,
                body,
            } => match self.stream.as_mut() {
                Some(stream) => {
                    if let Some(reply) = stream.sim.api_call(id, &operation, body.as_bytes()) {
                        self.post(&Event::ApiReplies {
                            replies: vec![reply],
                        });
                    }
                }
                None => {
                    let e = shardlab_engine::ApiError::not_found(
                        "There is no stream yet: create one in the playground first.",
                    );
                    self.post(&Event::ApiReplies {
                        replies: vec![shardlab_sim::simulation::ApiReply {
                            id,
                            status: e.http_status(),
                            body: String::from_utf8(e.body()).unwrap_or_default(),
                        }],
                    });
                }
            },
            Command::OpenExerciseLink { fragment } => {
                self.post(&match shardlab_sim::share::unpack(
                    &fragment,
                    shardlab_sim::share::EXERCISE_KEY,
                    "exercise",
                )
                .and_then(|bytes| {
                    String::from_utf8(bytes)
                        .map_err(|_| "this link is damaged: its exercise is not text".to_string())
                }) {
                    Ok(source) => Event::ExerciseOpened { source },
                    Err(message) => Event::ExerciseError { message },
                })
            }
            Command::PackExercise { source } => {
                let fragment =
                    shardlab_sim::share::pack(shardlab_sim::share::EXERCISE_KEY, source.as_bytes());
                self.post(&if shardlab_sim::share::too_long(&fragment) {
                    Event::ExerciseError {
                        message: "this exercise is too large for a link (its expected rows are many): share the file instead".into(),
                    }
                } else {
                    Event::ExercisePacked { fragment }
                })
            }
            Command::GradeExercise {
                exercise,
                student,
                scenario,
                sql,
            } => {
                use shardlab_lessons::exercise::{self, GradeResult, Submission};
                // A replay of its own (in-process shards): the learner's
                // stream goes on as it was.
                self.post(&match exercise::parse(&exercise) {
                    Ok(ex) => {
                        let submission = Submission { scenario, sql };
                        let report = exercise::grade(&ex, &submission);
                        Event::ExerciseGraded {
                            result: GradeResult::new(&ex, &student, submission, report).to_file(),
                        }
                    }
                    Err(e) => Event::ExerciseError {
                        message: format!("the exercise file, {e}"),
                    },
                })
            }
            Command::ExportAws { scenario } => {
                use shardlab_sim::export;
                let export = export::cli_script(&scenario)
                    .and_then(|script| Ok((script, export::cloudformation_text(&scenario)?)))
                    .map_err(|e| e.to_string());
                self.post(&Event::AwsExport {
                    stream_name: scenario.stream_name,
                    export,
                });
            }
            Command::SetRetention { hours } => self.with_sim(|sim| sim.set_retention(hours)),
            Command::ReplayConsumer { name, from } => {
                self.with_sim(|sim| sim.replay_consumer(&name, from))
            }
            Command::SetConsumerPoll { name, poll_ms } => {
                self.with_sim(|sim| sim.set_consumer_poll(&name, poll_ms))
            }
            Command::SetConsumerFanOut { name, fan_out } => {
                self.with_sim(|sim| sim.set_consumer_fan_out(&name, fan_out))
            }
            Command::UpdateEventSourceMapping { name, update } => {
                self.with_sim(|sim| sim.update_event_source_mapping(&name, &update))
            }
            Command::UpdateFunctionCode { function, code } => {
                self.with_sim(|sim| sim.update_function_code(&function, code))
            }
            Command::SetQueueFailures { queue, percent } => {
                self.with_sim(|sim| sim.set_queue_failures(&queue, percent))
            }
            Command::StopKclWorker { app, worker } => {
                self.with_sim(|sim| sim.stop_kcl_worker(&app, &worker))
            }
            Command::StartKclWorker { app, worker } => {
                self.with_sim(|sim| sim.start_kcl_worker(&app, &worker))
            }
            Command::KillWorker { worker } => match self.stream.as_ref() {
                Some(stream) => {
                    if let Err(e) = stream.host.terminate(worker) {
                        self.error(e);
                    }
                }
                None => self.error("Create a stream first."),
            },
            Command::SetOutage { sink, down } => {
                self.with_sim(|sim| sim.set_unavailable(&sink, down))
            }
            Command::RunRedshift { cluster, sql } => match self.stream.as_mut() {
                Some(stream) => {
                    let answer =
                        shardlab_sim::control::run_redshift(&mut stream.sim, &cluster, &sql);
                    self.post(&answer);
                }
                None => self.error("Create a stream first."),
            },
            Command::StartSql {
                code,
                start,
                reference,
            } => match self.stream.as_mut() {
                Some(stream) => {
                    if let Err(e) = stream.sim.start_sql(&code, start, reference.as_ref()) {
                        self.post(&Event::SqlError {
                            line: e.line,
                            column: e.column,
                            token: e.token,
                            message: e.message,
                        });
                        return;
                    }
                }
                None => return self.error("Create a stream first."),
            },
            Command::TranslateSql { code, start } => {
                match self
                    .stream
                    .as_ref()
                    .map(|s| s.sim.translate_sql(&code, start))
                {
                    Some(Ok(t)) => self.post(&Event::FlinkSql {
                        sql: t.sql,
                        notes: t.notes,
                    }),
                    Some(Err(e)) => self.post(&Event::SqlError {
                        line: e.line,
                        column: e.column,
                        token: e.token,
                        message: e.message,
                    }),
                    None => self.error("Create a stream first."),
                }
                return;
            }
            Command::TestTemplate { scenario } => {
                match scenario.first_records(shardlab_sim::simulation::SAMPLE_RECORDS) {
                    Ok(records) => self.post(&Event::SampleRecords {
                        records: records
                            .into_iter()
                            .map(|r| {
                                (
                                    r.partition_key,
                                    String::from_utf8_lossy(&r.data).into_owned(),
                                )
                            })
                            .collect(),
                    }),
                    Err(e) => self.post(&Event::TemplateError {
                        line: e.line as u64,
                        column: e.column as u64,
                        message: e.message,
                    }),
                }
                return;
            }
            Command::StopSql => {
                if let Some(stream) = self.stream.as_mut() {
                    stream.sim.stop_sql();
                }
            }
            command @ (Command::ListObjects { .. }
            | Command::GetObject { .. }
            | Command::DownloadObject { .. }
            | Command::SearchIndex { .. }) => {
                let answer = match self.stream.as_ref() {
                    Some(stream) => browse(&stream.sim, &command),
                    None => Some(Err("Create a stream first.".to_string())),
                };
                match answer {
                    Some(Ok(event)) => self.post(&event),
                    Some(Err(e)) => self.error(e),
                    None => {}
                }
                return;
            }
        }
        self.post_snapshot();
    }

    async fn run_ticks(&mut self, ticks: u32) {
        self.run_ticks_of(ticks, TICK_MS).await;
    }

    /// Console calls waiting while the clock stands still are answered by
    /// an empty tick (no time passes, nothing is produced).
    async fn answer_console(&mut self) {
        if self.running || self.fast_forward_ms > 0 {
            return;
        }
        if self
            .stream
            .as_ref()
            .is_some_and(|s| s.sim.api_calls_waiting())
        {
            self.run_ticks_of(1, 0).await;
            self.post_snapshot();
        }
    }

    async fn run_ticks_of(&mut self, ticks: u32, dt_ms: u64) {
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        let result = stream.host.run_ticks(&mut stream.sim, ticks, dt_ms).await;
        let replies = if result.is_ok() {
            stream.sim.take_api_replies()
        } else {
            stream.sim.abandon_api_calls()
        };
        if !replies.is_empty() {
            self.post(&Event::ApiReplies { replies });
        }
        if let Err(e) = result {
            // A failed tick leaves the workers and their journals out of
            // step with the simulation: the stream cannot go on safely.
            self.running = false;
            self.stream = None;
            self.error(format!(
                "The simulation stopped: {e}. Create the stream again to start over."
            ));
        }
    }
}

/// Sleeps for `ms` of wall time or until `wake` is called, whichever is first.
async fn sleep(scope: &DedicatedWorkerGlobalScope, wake: &RefCell<Option<Function>>, ms: f64) {
    let promise = Promise::new(&mut |resolve: Function, _reject: Function| {
        let _ = scope.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        *wake.borrow_mut() = Some(resolve);
    });
    let _ = JsFuture::from(promise).await;
    wake.borrow_mut().take();
}

/// Makes this worker the simulation coordinator. The JS bootstrap calls it
/// after initialising the wasm module; it posts `Ready` and then serves
/// commands until the page closes.
#[wasm_bindgen]
pub fn simulation_worker_start() -> Result<(), JsValue> {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().dyn_into()?;
    // Shard workers sit beside this worker's script; resolving against its
    // own URL keeps the site working under any sub-path.
    let shard_script_url =
        web_sys::Url::new_with_base("./shard-worker.js", &scope.location().href())?.href();
    let lambda_script_url =
        web_sys::Url::new_with_base("./lambda-worker.js", &scope.location().href())?.href();
    let inbox: Rc<RefCell<VecDeque<Command>>> = Rc::default();
    let wake: Rc<RefCell<Option<Function>>> = Rc::default();

    let (inbox_in, wake_in, scope_in) = (inbox.clone(), wake.clone(), scope.clone());
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        match serde_wasm_bindgen::from_value::<Command>(event.data()) {
            Ok(command) => inbox_in.borrow_mut().push_back(command),
            Err(e) => {
                let event = Event::Error {
                    message: format!("The simulation did not understand a command: {e}"),
                };
                if let Ok(v) = serde_wasm_bindgen::to_value(&event) {
                    let _ = scope_in.post_message(&v);
                }
            }
        }
        if let Some(resolve) = wake_in.borrow_mut().take() {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();

    let mut coordinator = Coordinator {
        scope: scope.clone(),
        shard_script_url,
        lambda_script_url,
        stream: None,
        running: false,
        speed: 1.0,
        owed_ms: 0.0,
        fast_forward_ms: 0,
        slice_ticks: FIRST_FAST_FORWARD_SLICE,
        snapshot_posted_ms: 0.0,
        memory_limit: MEMORY_LIMIT_BYTES,
    };
    coordinator.post(&Event::Ready);
    wasm_bindgen_futures::spawn_local(async move {
        let performance = coordinator.scope.performance();
        let now = || performance.as_ref().map_or(0.0, |p| p.now());
        let mut last = now();
        loop {
            let commands: Vec<Command> = inbox.borrow_mut().drain(..).collect();
            for command in commands {
                coordinator.handle(command).await;
            }
            coordinator.answer_console().await;
            let t = now();
            let pause_ms = if coordinator.fast_forward_ms > 0 {
                // As fast as possible, a slice at a time: commands (Pause)
                // and snapshots get through between slices.
                let ticks = (coordinator.fast_forward_ms / TICK_MS).min(coordinator.slice_ticks);
                coordinator.fast_forward_ms -= ticks * TICK_MS;
                coordinator.run_ticks(ticks as u32).await;
                coordinator.slice_ticks = next_fast_forward_slice(ticks, now() - t);
                if coordinator.stream.is_none() {
                    coordinator.fast_forward_ms = 0;
                }
                coordinator.stop_if_memory_full();
                // The page renders each snapshot on the same cores the
                // workers run on: a few a second while fast-forwarding.
                let t = now();
                if coordinator.fast_forward_ms == 0
                    || t - coordinator.snapshot_posted_ms >= FAST_FORWARD_SNAPSHOT_MS
                {
                    coordinator.post_snapshot();
                    coordinator.snapshot_posted_ms = t;
                }
                0.0
            } else if coordinator.running {
                coordinator.owed_ms += (t - last) * coordinator.speed;
                let due = (coordinator.owed_ms / TICK_MS as f64).floor() as u32;
                let ticks = due.min(MAX_TICKS_PER_ROUND);
                // Time the machine could not keep up with is dropped, not owed.
                coordinator.owed_ms =
                    (coordinator.owed_ms - f64::from(ticks) * TICK_MS as f64).min(TICK_MS as f64);
                if ticks > 0 {
                    coordinator.run_ticks(ticks).await;
                    coordinator.stop_if_memory_full();
                    coordinator.post_snapshot();
                }
                let until_next = (TICK_MS as f64 - coordinator.owed_ms) / coordinator.speed;
                until_next.clamp(MIN_ROUND_MS, IDLE_ROUND_MS)
            } else {
                IDLE_ROUND_MS
            };
            last = t;
            sleep(&coordinator.scope, &wake, pause_ms).await;
        }
    });
    Ok(())
}
