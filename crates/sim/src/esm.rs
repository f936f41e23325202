//! Lambda event source mappings: a function invoked with batches of a
//! stream's records, the way AWS Lambda's Kinesis poller does it.
//!
//! A mapping is a consumer application (it reads every shard with
//! GetRecords once a second, or with enhanced fan-out, through the same
//! API as anyone) whose deliveries go into a buffer per shard instead of
//! being counted as processed. From the buffer it makes batches and invokes
//! the function synchronously, with AWS's rules (see the reference's
//! section 7.2):
//! - a batch holds records of one shard, at most `batch_size`, and is sent
//!   when it is full, when `maximum_batching_window_s` has passed since its
//!   first record was read, or at once with a window of 0;
//! - `parallelization_factor` batches of a shard run at once, records with
//!   the same partition key always in the same one, in order;
//! - a function error retries the whole batch (a second later), splitting
//!   it in two first with `bisect_batch_on_function_error` (a split is not
//!   a retry), until `maximum_retry_attempts` retries or the records are
//!   older than `maximum_record_age_s`; then the batch is discarded and
//!   its description goes to the `on_failure` destination. Meanwhile the
//!   shard (its part of the keys) waits: a bad record blocks it;
//! - with `report_batch_item_failures`, a response
//!   `{"batchItemFailures":[{"itemIdentifier":"<seq>"}]}` makes Lambda
//!   keep the records before the lowest failed sequence number and retry
//!   from there; an item it cannot match fails the whole batch;
//! - children of a split or merge are processed after their parents.
//!
//! The function's own duration is simulated (`invocation_ms` plus
//! `ms_per_record` per record, cut at `timeout_s`), so a run is the same
//! whichever host answers the invocation and however fast (short of the
//! browser stopping a JavaScript handler that runs 3 s of real time).

use std::collections::{BTreeMap, VecDeque};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shardlab_engine::api::RecordJson;
use shardlab_engine::time::iso8601;
use shardlab_engine::{shard_id, SequenceNumber, ACCOUNT_ID};

use crate::rng::{fnv1a64, fnv1a64_extend};

/// An event source mapping's settings, named as CreateEventSourceMapping
/// names them (in snake case), with AWS's defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EsmSpec {
    /// The function invoked: one of the scenario's `lambda_functions`.
    pub function: String,
    #[serde(default = "default_batch_size")]
    pub batch_size: u32,
    #[serde(default)]
    pub maximum_batching_window_s: u32,
    #[serde(default = "one")]
    pub parallelization_factor: u32,
    #[serde(default)]
    pub bisect_batch_on_function_error: bool,
    /// −1: retry until the records expire.
    #[serde(default = "minus_one")]
    pub maximum_retry_attempts: i32,
    /// −1: no limit but the stream's retention.
    #[serde(default = "minus_one")]
    pub maximum_record_age_s: i32,
    /// `FunctionResponseTypes: ["ReportBatchItemFailures"]`.
    #[serde(default)]
    pub report_batch_item_failures: bool,
    /// Where descriptions of discarded batches go: the name of one of the
    /// scenario's SQS queues (then each is a message in it), or any other
    /// destination name (then they are only listed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<String>,
    /// Simulated time each invocation takes, plus `ms_per_record` for each
    /// record in its batch.
    #[serde(default = "default_invocation_ms")]
    pub invocation_ms: u64,
    #[serde(default)]
    pub ms_per_record: u64,
    /// The function's timeout (AWS's default is 3 s; 1–900).
    #[serde(default = "default_timeout_s")]
    pub timeout_s: u32,
    /// `FilterCriteria` as the API takes it: `{"Filters": [{"Pattern":
    /// "{\"data\": {...}}"}]}`; records matching no pattern never reach
    /// the function (see [`crate::filter`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_criteria: Option<Value>,
    /// TumblingWindowInSeconds (0: none; 1–900): records are grouped in
    /// windows of their arrival time; each invocation gets the window and
    /// the state the last one returned, and after the window's last batch
    /// a final invocation gets the state with `isFinalInvokeForWindow`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tumbling_window_s: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn default_batch_size() -> u32 {
    100
}
fn one() -> u32 {
    1
}
fn minus_one() -> i32 {
    -1
}
fn default_invocation_ms() -> u64 {
    20
}
fn default_timeout_s() -> u32 {
    3
}

/// UpdateEventSourceMapping's settings: what is left out stays as it was.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EsmUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_batching_window_s: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelization_factor: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bisect_batch_on_function_error: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_retry_attempts: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_record_age_s: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_batch_item_failures: Option<bool>,
}

impl EsmUpdate {
    /// `spec` with this update's settings.
    pub fn apply(&self, spec: &EsmSpec) -> EsmSpec {
        EsmSpec {
            batch_size: self.batch_size.unwrap_or(spec.batch_size),
            maximum_batching_window_s: self
                .maximum_batching_window_s
                .unwrap_or(spec.maximum_batching_window_s),
            parallelization_factor: self
                .parallelization_factor
                .unwrap_or(spec.parallelization_factor),
            bisect_batch_on_function_error: self
                .bisect_batch_on_function_error
                .unwrap_or(spec.bisect_batch_on_function_error),
            maximum_retry_attempts: self
                .maximum_retry_attempts
                .unwrap_or(spec.maximum_retry_attempts),
            maximum_record_age_s: self
                .maximum_record_age_s
                .unwrap_or(spec.maximum_record_age_s),
            report_batch_item_failures: self
                .report_batch_item_failures
                .unwrap_or(spec.report_batch_item_failures),
            ..spec.clone()
        }
    }
}

/// Lambda's poller reads each shard once a second.
pub const POLL_MS: u64 = 1000;

/// A synchronous invocation's payload limit (6 MB).
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
/// A Kinesis event record's JSON besides its data and partition key: about
/// 530 bytes with a short stream name (its ARN, a role ARN, a 56-digit
/// sequence number twice, the field names); rounded up for stream names up
/// to 128 characters.
const EVENT_RECORD_BYTES: usize = 700;

impl EsmSpec {
    /// A mapping of `function` with AWS's defaults.
    pub fn new(function: impl Into<String>) -> Self {
        EsmSpec {
            function: function.into(),
            batch_size: default_batch_size(),
            maximum_batching_window_s: 0,
            parallelization_factor: 1,
            bisect_batch_on_function_error: false,
            maximum_retry_attempts: -1,
            maximum_record_age_s: -1,
            report_batch_item_failures: false,
            on_failure: None,
            invocation_ms: default_invocation_ms(),
            ms_per_record: 0,
            timeout_s: default_timeout_s(),
            filter_criteria: None,
            tumbling_window_s: 0,
        }
    }

    /// Its filters (none when it has no `filter_criteria`, or bad ones,
    /// which `validate` refuses).
    pub fn filters(&self) -> crate::filter::Filters {
        self.filter_criteria
            .as_ref()
            .and_then(|c| crate::filter::Filters::parse(c).ok())
            .unwrap_or_default()
    }

    /// Checks the ranges CreateEventSourceMapping checks, with its
    /// messages' wording.
    pub fn validate(&self, consumer: &str) -> Result<(), String> {
        let bad = |field: &str, value: String, range: &str| {
            Err(format!(
                "event source mapping {consumer}: {field} is {value}; it must be {range}"
            ))
        };
        if !(1..=10_000).contains(&self.batch_size) {
            return bad("batch_size", self.batch_size.to_string(), "1–10,000");
        }
        if self.maximum_batching_window_s > 300 {
            return bad(
                "maximum_batching_window_s",
                self.maximum_batching_window_s.to_string(),
                "0–300",
            );
        }
        if !(1..=10).contains(&self.parallelization_factor) {
            return bad(
                "parallelization_factor",
                self.parallelization_factor.to_string(),
                "1–10",
            );
        }
        if !(-1..=10_000).contains(&self.maximum_retry_attempts) {
            return bad(
                "maximum_retry_attempts",
                self.maximum_retry_attempts.to_string(),
                "-1 (until the records expire) or 0–10,000",
            );
        }
        let age = self.maximum_record_age_s;
        if age != -1 && !(60..=604_800).contains(&age) {
            return bad(
                "maximum_record_age_s",
                age.to_string(),
                "-1 (no limit) or 60–604,800 (7 days)",
            );
        }
        if !(1..=900).contains(&self.timeout_s) {
            return bad("timeout_s", self.timeout_s.to_string(), "1–900");
        }
        if self.tumbling_window_s > 900 {
            return bad(
                "tumbling_window_s",
                self.tumbling_window_s.to_string(),
                "0 (none) or 1–900",
            );
        }
        if self.tumbling_window_s > 0 && self.parallelization_factor > 1 {
            return Err(format!(
                "event source mapping {consumer}: a tumbling window keeps one state per shard, \
                 so it takes parallelization_factor 1"
            ));
        }
        if let Some(c) = &self.filter_criteria {
            crate::filter::Filters::parse(c)
                .map_err(|e| format!("event source mapping {consumer}: filter_criteria: {e}"))?;
        }
        if self.invocation_ms > 900_000 || self.ms_per_record > 900_000 {
            return Err(format!(
                "event source mapping {consumer}: invocation_ms and ms_per_record are at most \
                 900,000 (15 minutes)"
            ));
        }
        Ok(())
    }

    fn function_arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{ACCOUNT_ID}:function:{}",
            crate::simulation::REGION,
            self.function
        )
    }
}

/// A record waiting in a mapping, as GetRecords returned it.
#[derive(Clone, Debug)]
struct Rec {
    seq: SequenceNumber,
    key: String,
    data: Vec<u8>,
    arrival_ms: u64,
    /// When the mapping read it (the batching window counts from here).
    read_ms: u64,
    /// Times it was in an invocation.
    invoked: u32,
}

impl Rec {
    /// What it adds to an invocation's payload: its data in base64 and its
    /// record's JSON around it (the event's ARNs, ids and names).
    fn payload_bytes(&self) -> usize {
        self.data.len().div_ceil(3) * 4 + self.key.len() + EVENT_RECORD_BYTES
    }
}

/// A batch being worked through: invoked, retried, split.
#[derive(Clone, Debug)]
struct Piece {
    records: Vec<Rec>,
    /// Retries so far (a split keeps the count).
    retries: u32,
    /// Invocations so far, splits included.
    invocations: u32,
    /// Not before this time (a retry waits a second).
    not_before_ms: u64,
    /// The final invocation of the lane's tumbling window (no records).
    final_window: bool,
    /// That final invocation ends the window's state early (it outgrew
    /// 1 MB); the window goes on with a fresh state.
    terminated_early: bool,
}

/// The most a tumbling window's state may hold per shard (its JSON);
/// past it Lambda terminates the window early.
pub const MAX_WINDOW_STATE_BYTES: usize = 1024 * 1024;

/// A lane's open tumbling window: its start and the state its last
/// invocation returned.
#[derive(Clone, Debug)]
struct TumblingWindow {
    start_ms: u64,
    state: Value,
}

#[derive(Clone, Debug)]
struct InFlight {
    id: u64,
    piece: Piece,
    started_ms: u64,
    done_ms: u64,
    /// The function's answer (its response, or its error) once it came.
    outcome: Option<Result<Vec<u8>, String>>,
    /// It ran past the timeout: whatever it answers, it failed.
    timed_out: bool,
}

/// One of a shard's `parallelization_factor` concurrent batches.
#[derive(Clone, Debug, Default)]
struct Lane {
    pending: VecDeque<Rec>,
    pending_bytes: usize,
    /// Batches formed and not yet done, oldest first (a split puts both
    /// halves here).
    work: VecDeque<Piece>,
    in_flight: Option<InFlight>,
    window: Option<TumblingWindow>,
}

impl Lane {
    fn push(&mut self, r: Rec) {
        self.pending_bytes += r.payload_bytes();
        self.pending.push_back(r);
    }

    fn records(&self) -> usize {
        self.pending.len()
            + self.work.iter().map(|p| p.records.len()).sum::<usize>()
            + self.in_flight.as_ref().map_or(0, |f| f.piece.records.len())
    }
}

#[derive(Clone, Debug, Default)]
struct ShardState {
    lanes: Vec<Lane>,
    /// Parents that must be processed to their end first.
    parents: Vec<u32>,
    /// Read to its end (GetRecords returned its children).
    ended: bool,
    processed: u64,
    /// IteratorAge of the shard's newest invocation.
    iterator_age_ms: u64,
    /// How far the shard has been read: the reads' time less their
    /// MillisBehindLatest. A tumbling window is over once this passes its
    /// end.
    read_through_ms: u64,
}

impl ShardState {
    /// A new parallelization factor, once no batch of the shard is
    /// running: its waiting records are spread over `lanes` lanes by
    /// partition key, in sequence order, so each key stays in order.
    fn relane(&mut self, lanes: usize) {
        let mut waiting: Vec<Rec> = self.lanes.drain(..).flat_map(|l| l.pending).collect();
        waiting.sort_by_key(|r| r.seq.sequence_index);
        self.lanes = vec![Lane::default(); lanes];
        for r in waiting {
            self.lanes[lane_of(&r.key, lanes)].push(r);
        }
    }
}

/// The lane of a partition key among `lanes`.
fn lane_of(key: &str, lanes: usize) -> usize {
    (fnv1a64(key.as_bytes()) % lanes as u64) as usize
}

/// An invocation for the host to run: the function, and the event as
/// JSON text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EsmInvocation {
    pub id: u64,
    pub function: String,
    pub event: String,
}

/// A discarded batch's description, for the on-failure destination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discard {
    pub at_ms: u64,
    pub condition: String,
    pub shard_id: String,
    pub records: u64,
    /// The invocation record AWS sends, as JSON text.
    pub document: String,
}

/// One invocation in the mapping's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvocationView {
    pub at_ms: u64,
    pub shard_id: String,
    pub records: u64,
    pub duration_ms: u64,
    /// `Ok`, `Partial: n reported, retrying m`, or the error.
    pub result: String,
    /// Which try of these records it was (1 the first).
    pub attempt: u32,
    /// A final invocation that ended a window's state early (over 1 MB).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub terminated_early: bool,
}

/// What the UI shows about a shard of a mapping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EsmShardView {
    pub shard_id: String,
    /// Records read and not yet processed or discarded.
    pub waiting: u64,
    pub in_flight: u32,
    /// The highest retry count among its batches (a blocked shard).
    pub retries: u32,
    pub processed: u64,
}

/// What the UI shows about a mapping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EsmView {
    pub spec: EsmSpec,
    pub invocations: u64,
    /// Invocations that failed (an error, a timeout, a partial failure).
    pub errors: u64,
    /// Records the function processed successfully.
    pub processed: u64,
    /// Records sent to the function more than once (at-least-once: a retry
    /// repeats what the failed try may already have done).
    pub invoked_again: u64,
    /// Records discarded (retries exhausted, too old), and how many
    /// descriptions went to the destination.
    pub discarded: u64,
    pub discards: u64,
    /// Records that expired from the stream before they were processed.
    pub expired: u64,
    /// Records its filters kept from the function.
    #[serde(default)]
    pub filtered_out: u64,
    /// IteratorAge: how old the last record of an invocation's batch was
    /// when the function was invoked (ms); the largest over the shards'
    /// newest invocations, and the largest so far.
    pub iterator_age_ms: u64,
    pub max_iterator_age_ms: u64,
    pub concurrent: u32,
    pub shards: Vec<EsmShardView>,
    /// The newest invocations, newest last.
    pub log: Vec<InvocationView>,
    /// The newest discarded batches' descriptions, newest last.
    pub failures: Vec<Discard>,
}

/// The newest invocations and discards a view keeps.
const LOG_LEN: usize = 12;
const FAILURES_LEN: usize = 5;
/// A failed batch is tried again this much later.
const RETRY_DELAY_MS: u64 = 1000;

/// A running event source mapping.
pub struct Esm {
    spec: EsmSpec,
    /// The consumer (mapping) name, for the on-failure records.
    name: String,
    stream_arn: String,
    shards: BTreeMap<u32, ShardState>,
    next_id: u64,
    outbox: Vec<EsmInvocation>,
    discards_out: Vec<Discard>,
    invocations: u64,
    errors: u64,
    processed: u64,
    invoked_again: u64,
    filters: crate::filter::Filters,
    filtered_out: u64,
    discarded: u64,
    discards: u64,
    expired: u64,
    max_iterator_age_ms: u64,
    log: VecDeque<InvocationView>,
    failures: VecDeque<Discard>,
    failures_total: u64,
    /// Folded with every invocation's outcome, for the run digest.
    digest: u64,
}

impl Esm {
    pub fn new(spec: EsmSpec, name: &str, stream_arn: &str) -> Self {
        Esm {
            filters: spec.filters(),
            spec,
            name: name.to_string(),
            stream_arn: stream_arn.to_string(),
            shards: BTreeMap::new(),
            next_id: 1,
            outbox: Vec::new(),
            discards_out: Vec::new(),
            invocations: 0,
            errors: 0,
            processed: 0,
            invoked_again: 0,
            filtered_out: 0,
            discarded: 0,
            discards: 0,
            expired: 0,
            max_iterator_age_ms: 0,
            log: VecDeque::new(),
            failures: VecDeque::new(),
            failures_total: 0,
            digest: 0,
        }
    }

    pub fn spec(&self) -> &EsmSpec {
        &self.spec
    }

    /// UpdateEventSourceMapping: the new settings apply to the next
    /// batches (and to the retries of those in flight); a new
    /// parallelization factor applies to a shard once none of its batches
    /// is running or waiting for a retry.
    pub fn update(&mut self, spec: EsmSpec) {
        self.filters = spec.filters();
        self.spec = spec;
    }

    fn shard(&mut self, shard: u32) -> &mut ShardState {
        let lanes = self.spec.parallelization_factor.max(1) as usize;
        self.shards.entry(shard).or_insert_with(|| ShardState {
            lanes: vec![Lane::default(); lanes],
            ..ShardState::default()
        })
    }

    /// Whether the poller should read `shard` now: it holds fewer records
    /// than its concurrent batches can take, and its parents are done.
    pub fn wants(&self, shard: u32) -> bool {
        let parents_done = |s: &ShardState| {
            s.parents.iter().all(|p| {
                self.shards
                    .get(p)
                    // Its tumbling windows' final invocations included.
                    .is_none_or(|ps| {
                        ps.ended
                            && ps.lanes.iter().all(|l| {
                                l.records() == 0
                                    && l.window.is_none()
                                    && l.work.is_empty()
                                    && l.in_flight.is_none()
                            })
                    })
            })
        };
        match self.shards.get(&shard) {
            None => true,
            Some(s) => {
                let held: usize = s.lanes.iter().map(Lane::records).sum();
                let room = (self.spec.batch_size as usize) * s.lanes.len();
                held < room && parents_done(s)
            }
        }
    }

    /// Records GetRecords (or a subscription) returned for `shard` at
    /// `now_ms`.
    pub fn received(&mut self, shard: u32, records: &[RecordJson], now_ms: u64) {
        let filters = std::mem::take(&mut self.filters);
        let mut filtered = 0;
        let s = self.shard(shard);
        let lanes = s.lanes.len();
        for r in records {
            if !filters.passes(&r.data) {
                filtered += 1;
                continue;
            }
            s.lanes[lane_of(&r.partition_key, lanes)].push(Rec {
                seq: r.sequence_number,
                key: r.partition_key.clone(),
                data: r.data.clone(),
                arrival_ms: (r.approximate_arrival_timestamp * 1000.0).round() as u64,
                read_ms: now_ms,
                invoked: 0,
            });
        }
        self.filtered_out += filtered;
        self.filters = filters;
    }

    /// A read of `shard` at `now_ms` was `lag_ms` behind the stream's tip
    /// (MillisBehindLatest): everything that arrived before `now_ms -
    /// lag_ms` has been read.
    pub fn caught_up(&mut self, shard: u32, lag_ms: u64, now_ms: u64) {
        let s = self.shard(shard);
        s.read_through_ms = s.read_through_ms.max(now_ms.saturating_sub(lag_ms));
    }

    /// `shard` was read to its end; `children` are (child, parents).
    pub fn shard_ended(&mut self, shard: u32, children: &[(u32, Vec<u32>)]) {
        self.shard(shard).ended = true;
        for (child, parents) in children {
            let c = self.shard(*child);
            for p in parents {
                if !c.parents.contains(p) {
                    c.parents.push(*p);
                }
            }
        }
    }

    /// Applies what has finished by `now_ms` and invokes what is due:
    /// the invocations to run are then in `take_invocations`.
    /// `retention_ms` is how long the stream keeps records.
    pub fn advance(&mut self, now_ms: u64, retention_ms: u64) {
        let shards: Vec<u32> = self.shards.keys().copied().collect();
        let factor = self.spec.parallelization_factor.max(1) as usize;
        for shard in shards {
            let lanes = self.shards[&shard].lanes.len();
            for lane in 0..lanes {
                self.finish_lane(shard, lane, now_ms);
            }
            let s = self.shards.get_mut(&shard).expect("shard");
            // A new factor waits for the shard's batches to finish; none
            // starts meanwhile, so it cannot be put off for ever.
            let relaning = s.lanes.len() != factor;
            if relaning
                && s.lanes
                    .iter()
                    .all(|l| l.in_flight.is_none() && l.work.is_empty())
            {
                s.relane(factor);
            }
            let form = s.lanes.len() == factor;
            for lane in 0..s.lanes.len() {
                self.start_lane(shard, lane, now_ms, retention_ms, form);
            }
            // A shard with nothing waiting is not behind (AWS reports no
            // IteratorAge for it).
            let s = self.shards.get_mut(&shard).expect("shard");
            if s.lanes.iter().all(|l| l.records() == 0) {
                s.iterator_age_ms = 0;
            }
        }
    }

    /// The invocations issued since the last call, for the host to run;
    /// each is answered with `complete`.
    pub fn take_invocations(&mut self) -> Vec<EsmInvocation> {
        std::mem::take(&mut self.outbox)
    }

    /// How many of the discarded batches' descriptions the destination
    /// took (a full queue refuses them).
    pub fn sent_to_destination(&mut self, n: u64) {
        self.discards += n;
    }

    /// Batches discarded since the last call, for the destination.
    pub fn take_discards(&mut self) -> Vec<Discard> {
        std::mem::take(&mut self.discards_out)
    }

    /// The function's answer to invocation `id`: its response (JSON text;
    /// empty for none) or its error. It applies once the invocation's
    /// simulated duration is over.
    pub fn complete(&mut self, id: u64, outcome: Result<Vec<u8>, String>) {
        for s in self.shards.values_mut() {
            for l in &mut s.lanes {
                if let Some(f) = l.in_flight.as_mut().filter(|f| f.id == id) {
                    f.outcome = Some(outcome);
                    return;
                }
            }
        }
    }

    /// Invokes the lane's next batch if it is idle: a retry or a half of a
    /// split, or (when `form`) a new batch from what waits.
    fn start_lane(&mut self, shard: u32, lane: usize, now_ms: u64, retention_ms: u64, form: bool) {
        // The settings this needs, copied (not the spec: this runs for
        // every lane every tick).
        let batch_size = self.spec.batch_size as usize;
        let window_ms = u64::from(self.spec.maximum_batching_window_s) * 1000;
        let max_age_s = self.spec.maximum_record_age_s;
        let (invocation_ms, ms_per_record) = (self.spec.invocation_ms, self.spec.ms_per_record);
        let timeout_ms = u64::from(self.spec.timeout_s) * 1000;
        let tumbling_ms = u64::from(self.spec.tumbling_window_s) * 1000;
        let window_of = |r: &Rec| r.arrival_ms - r.arrival_ms % tumbling_ms.max(1);
        let s = self.shards.get_mut(&shard).expect("shard");
        let (ended, read_through) = (s.ended, s.read_through_ms);
        let l = &mut s.lanes[lane];
        if l.in_flight.is_some() {
            return;
        }
        // A tumbling window closes once its records are done and the
        // shard has been read past its end (or a later window's records
        // wait, or the shard ended): a final invocation gets its state.
        if tumbling_ms > 0 && l.work.is_empty() {
            if let Some(w) = &l.window {
                let later = l
                    .pending
                    .front()
                    .is_some_and(|r| window_of(r) != w.start_ms);
                let over = read_through >= w.start_ms + tumbling_ms || ended;
                if later || (l.pending.is_empty() && over) {
                    l.work.push_back(Piece {
                        records: Vec::new(),
                        retries: 0,
                        invocations: 0,
                        not_before_ms: now_ms,
                        final_window: true,
                        terminated_early: false,
                    });
                }
            }
        }
        if l.work.is_empty() {
            if !form {
                return;
            }
            let Some(first) = l.pending.front() else {
                return;
            };
            let first_window = window_of(first);
            let full = l.pending.len() >= batch_size || l.pending_bytes >= MAX_PAYLOAD_BYTES;
            let window_over = now_ms >= first.read_ms + window_ms;
            if !full && !window_over {
                return;
            }
            let mut records = Vec::new();
            let mut bytes = 0;
            while let Some(r) = l.pending.front() {
                let size = r.payload_bytes();
                // A batch never spans two tumbling windows.
                if records.len() == batch_size
                    || (!records.is_empty() && bytes + size > MAX_PAYLOAD_BYTES)
                    || (tumbling_ms > 0 && window_of(r) != first_window)
                {
                    break;
                }
                bytes += size;
                l.pending_bytes -= size;
                records.push(l.pending.pop_front().expect("front"));
            }
            if tumbling_ms > 0 && l.window.is_none() {
                l.window = Some(TumblingWindow {
                    start_ms: first_window,
                    state: json!({}),
                });
            }
            l.work.push_back(Piece {
                records,
                retries: 0,
                invocations: 0,
                not_before_ms: now_ms,
                final_window: false,
                terminated_early: false,
            });
        }
        let Some(piece) = l.work.front() else {
            return;
        };
        if piece.not_before_ms > now_ms {
            return;
        }
        let mut piece = l.work.pop_front().expect("front");
        // Records past the retention are gone from the stream; those past
        // the maximum age are discarded with a description.
        let expired = piece
            .records
            .iter()
            .take_while(|r| r.arrival_ms + retention_ms <= now_ms)
            .count();
        if expired > 0 {
            piece.records.drain(..expired);
            self.expired += expired as u64;
        }
        if max_age_s >= 0 {
            let max_age = max_age_s as u64 * 1000;
            let old = piece
                .records
                .iter()
                .take_while(|r| r.arrival_ms + max_age < now_ms)
                .count();
            if old > 0 {
                let gone: Vec<Rec> = piece.records.drain(..old).collect();
                self.discard(
                    shard,
                    &gone,
                    "RecordAgeExceeded",
                    piece.invocations,
                    None,
                    now_ms,
                );
            }
        }
        if piece.records.is_empty() && !piece.final_window {
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        let window = self.shards[&shard].lanes[lane].window.as_ref().map(|w| {
            let last = piece.final_window.then_some(piece.terminated_early);
            (w.start_ms, tumbling_ms, w.state.clone(), last)
        });
        let event = self.event(shard, &piece.records, window);
        let records = piece.records.len() as u64;
        let run_ms = invocation_ms + ms_per_record * records;
        // A final invocation has no records, and no age of its own.
        if let Some(last) = piece.records.last() {
            let age = now_ms.saturating_sub(last.arrival_ms);
            self.shards.get_mut(&shard).expect("shard").iterator_age_ms = age;
            self.max_iterator_age_ms = self.max_iterator_age_ms.max(age);
        }
        self.invocations += 1;
        for r in &mut piece.records {
            if r.invoked == 1 {
                self.invoked_again += 1;
            }
            r.invoked += 1;
        }
        piece.invocations += 1;
        self.outbox.push(EsmInvocation {
            id,
            function: self.spec.function.clone(),
            event,
        });
        let l = &mut self.shards.get_mut(&shard).expect("shard").lanes[lane];
        l.in_flight = Some(InFlight {
            id,
            piece,
            started_ms: now_ms,
            done_ms: now_ms + run_ms.min(timeout_ms),
            outcome: None,
            timed_out: run_ms > timeout_ms,
        });
    }

    fn finish_lane(&mut self, shard: u32, lane: usize, now_ms: u64) {
        let l = &mut self.shards.get_mut(&shard).expect("shard").lanes[lane];
        let ready = l
            .in_flight
            .as_ref()
            .is_some_and(|f| f.done_ms <= now_ms && (f.outcome.is_some() || f.timed_out));
        if !ready {
            return;
        }
        let f = l.in_flight.take().expect("in flight");
        let duration = f.done_ms - f.started_ms;
        let outcome = if f.timed_out {
            Err(format!(
                "Task timed out after {}.00 seconds",
                self.spec.timeout_s
            ))
        } else {
            f.outcome.expect("outcome")
        };
        let mut piece = f.piece;
        // Which try of these records this was (a split's halves were in
        // the batch before).
        let attempt = if piece.final_window {
            piece.invocations
        } else {
            piece.records.iter().map(|r| r.invoked).max().unwrap_or(1)
        };
        let total = piece.records.len();
        // How many records at the front succeeded, and whether the whole
        // invocation failed (an error, or a response Lambda cannot use);
        // without ReportBatchItemFailures the response is not read.
        let (ok, result, failed) = match &outcome {
            Err(e) => (0, e.clone(), true),
            Ok(bytes) if self.spec.report_batch_item_failures => {
                match failed_from(bytes, &piece.records) {
                    Ok(None) => (total, "Ok".to_string(), false),
                    Ok(Some((i, reported))) => (
                        i,
                        format!("Partial: {reported} reported, retrying {}", total - i),
                        false,
                    ),
                    Err(e) => (0, e, true),
                }
            }
            Ok(_) => (total, "Ok".to_string(), false),
        };
        // With a tumbling window the response must carry the state.
        let (ok, result, failed) = match (&outcome, self.spec.tumbling_window_s > 0, failed) {
            (Ok(bytes), true, false) => match serde_json::from_slice::<Value>(bytes)
                .ok()
                .and_then(|v| v.get("state").cloned())
            {
                Some(state) => {
                    let l = &mut self.shards.get_mut(&shard).expect("shard").lanes[lane];
                    if piece.final_window && piece.terminated_early {
                        // The window goes on, with a fresh state.
                        if let Some(w) = l.window.as_mut() {
                            w.state = json!({});
                        }
                    } else if piece.final_window {
                        // The window is done: its state is dropped.
                        l.window = None;
                    } else if let Some(w) = l.window.as_mut() {
                        // A state over 1 MB ends the window early: a final
                        // invocation gets it next, flagged so.
                        let too_big = state.to_string().len() > MAX_WINDOW_STATE_BYTES;
                        w.state = state;
                        if too_big {
                            l.work.push_front(Piece {
                                records: Vec::new(),
                                retries: 0,
                                invocations: 0,
                                not_before_ms: now_ms,
                                final_window: true,
                                terminated_early: true,
                            });
                        }
                    }
                    (ok, result, false)
                }
                None => (
                    0,
                    "the response has no state: with a tumbling window Lambda counts that as a \
                     failed invocation"
                        .to_string(),
                    true,
                ),
            },
            _ => (ok, result, failed),
        };
        for n in [f.id, ok as u64, total as u64] {
            self.digest = fnv1a64_extend(self.digest, &n.to_le_bytes());
        }
        self.log.push_back(InvocationView {
            at_ms: f.started_ms,
            shard_id: shard_id(shard),
            records: total as u64,
            duration_ms: duration,
            result,
            attempt,
            terminated_early: piece.terminated_early,
        });
        if self.log.len() > LOG_LEN {
            self.log.pop_front();
        }
        let done: Vec<Rec> = piece.records.drain(..ok).collect();
        self.processed += done.len() as u64;
        self.shards.get_mut(&shard).expect("shard").processed += done.len() as u64;
        if piece.records.is_empty() && !(piece.final_window && failed) {
            return;
        }
        // AWS's Errors metric counts function errors, not partial batch
        // responses; a partial response is retried from its lowest failed
        // record, never bisected.
        if failed {
            self.errors += 1;
        }
        let bisect = self.spec.bisect_batch_on_function_error && failed && piece.records.len() > 1;
        let l = &mut self.shards.get_mut(&shard).expect("shard").lanes[lane];
        if bisect {
            let second = piece.records.split_off(piece.records.len() / 2);
            let half = |records| Piece {
                records,
                retries: piece.retries,
                invocations: piece.invocations,
                not_before_ms: now_ms,
                final_window: false,
                terminated_early: false,
            };
            l.work.push_front(half(second));
            l.work.push_front(half(piece.records));
            return;
        }
        piece.retries += 1;
        let max = self.spec.maximum_retry_attempts;
        // A failed final invocation holds the shard until it succeeds,
        // whatever MaximumRetryAttempts says (AWS: Lambda "suspends further
        // processing until a successful invocation").
        if max >= 0 && piece.retries > max as u32 && !piece.final_window {
            let error = outcome.err();
            self.discard(
                shard,
                &piece.records,
                "RetryAttemptsExhausted",
                piece.invocations,
                error,
                now_ms,
            );
            return;
        }
        piece.not_before_ms = now_ms + RETRY_DELAY_MS;
        l.work.push_front(piece);
    }

    fn discard(
        &mut self,
        shard: u32,
        records: &[Rec],
        condition: &str,
        invocations: u32,
        error: Option<String>,
        now_ms: u64,
    ) {
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return;
        };
        self.discarded += records.len() as u64;
        let mut response = json!({"statusCode": 200, "executedVersion": "$LATEST"});
        if error.is_some() {
            response["functionError"] = json!("Unhandled");
        }
        let request_id = uuid_like(fnv1a64_extend(
            fnv1a64(self.name.as_bytes()),
            &(self.failures_total + 1).to_le_bytes(),
        ));
        self.failures_total += 1;
        let document = json!({
            "requestContext": {
                "requestId": request_id,
                "functionArn": self.spec.function_arn(),
                "condition": condition,
                "approximateInvokeCount": invocations,
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": iso8601(now_ms),
            "KinesisBatchInfo": {
                "shardId": shard_id(shard),
                "startSequenceNumber": first.seq.to_string(),
                "endSequenceNumber": last.seq.to_string(),
                "approximateArrivalOfFirstRecord": iso8601(first.arrival_ms),
                "approximateArrivalOfLastRecord": iso8601(last.arrival_ms),
                "batchSize": records.len(),
                "streamArn": self.stream_arn,
            }
        });
        let discard = Discard {
            at_ms: now_ms,
            condition: condition.to_string(),
            shard_id: shard_id(shard),
            records: records.len() as u64,
            document: serde_json::to_string_pretty(&document).unwrap_or_default(),
        };
        if self.spec.on_failure.is_some() {
            self.discards_out.push(discard.clone());
        }
        self.failures.push_back(discard);
        if self.failures.len() > FAILURES_LEN {
            self.failures.pop_front();
        }
    }

    /// The Kinesis event Lambda invokes the function with; with a tumbling
    /// window (start, size, state, final) its window fields too.
    fn event(
        &self,
        shard: u32,
        records: &[Rec],
        window: Option<(u64, u64, Value, Option<bool>)>,
    ) -> String {
        let region = crate::simulation::REGION;
        let role = format!("arn:aws:iam::{ACCOUNT_ID}:role/lambda-kinesis-role");
        let records: Vec<Value> = records
            .iter()
            .map(|r| {
                let seq = r.seq.to_string();
                json!({
                    "kinesis": {
                        "kinesisSchemaVersion": "1.0",
                        "partitionKey": r.key,
                        "sequenceNumber": seq,
                        "data": BASE64.encode(&r.data),
                        "approximateArrivalTimestamp": r.arrival_ms as f64 / 1000.0,
                    },
                    "eventSource": "aws:kinesis",
                    "eventVersion": "1.0",
                    "eventID": format!("{}:{seq}", shard_id(shard)),
                    "eventName": "aws:kinesis:record",
                    "invokeIdentityArn": role,
                    "awsRegion": region,
                    "eventSourceARN": self.stream_arn,
                })
            })
            .collect();
        let mut event = json!({ "Records": records });
        if let Some((start, size, state, last)) = window {
            // `last`: Some(terminated early) for a final invocation.
            let at = |ms: u64| {
                let t = iso8601(ms);
                // Whole seconds, as Lambda writes them.
                format!(
                    "{}Z",
                    t.split('.').next().unwrap_or(&t).trim_end_matches('Z')
                )
            };
            event["window"] = json!({"start": at(start), "end": at(start + size)});
            event["state"] = state;
            event["shardId"] = json!(shard_id(shard));
            event["eventSourceARN"] = json!(self.stream_arn);
            event["isFinalInvokeForWindow"] = json!(last.is_some());
            event["isWindowTerminatedEarly"] = json!(last == Some(true));
        }
        event.to_string()
    }

    /// Folds the invocations' outcomes so far, for the run digest.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    pub fn view(&self) -> EsmView {
        EsmView {
            spec: self.spec.clone(),
            invocations: self.invocations,
            errors: self.errors,
            processed: self.processed,
            invoked_again: self.invoked_again,
            filtered_out: self.filtered_out,
            discarded: self.discarded,
            discards: self.discards,
            expired: self.expired,
            iterator_age_ms: self
                .shards
                .values()
                .map(|s| s.iterator_age_ms)
                .max()
                .unwrap_or(0),
            max_iterator_age_ms: self.max_iterator_age_ms,
            concurrent: self
                .shards
                .values()
                .flat_map(|s| &s.lanes)
                .filter(|l| l.in_flight.is_some())
                .count() as u32,
            shards: self
                .shards
                .iter()
                .map(|(i, s)| EsmShardView {
                    shard_id: shard_id(*i),
                    waiting: s.lanes.iter().map(Lane::records).sum::<usize>() as u64,
                    in_flight: s.lanes.iter().filter(|l| l.in_flight.is_some()).count() as u32,
                    retries: s
                        .lanes
                        .iter()
                        .flat_map(|l| l.in_flight.iter().map(|f| &f.piece).chain(&l.work))
                        .map(|p| p.retries)
                        .max()
                        .unwrap_or(0),
                    processed: s.processed,
                })
                .collect(),
            log: self.log.iter().cloned().collect(),
            failures: self.failures.iter().cloned().collect(),
        }
    }
}

/// Reads a ReportBatchItemFailures response: `None` when every record
/// succeeded, else the index of the lowest failed record and how many were
/// reported; an item that names no record of the batch, or a response that
/// is not JSON, fails the whole batch, as on AWS.
fn failed_from(bytes: &[u8], records: &[Rec]) -> Result<Option<(usize, usize)>, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let response: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("the response is not JSON: {e}"))?;
    let items = match &response {
        Value::Null => return Ok(None),
        Value::Object(o) => match o.get("batchItemFailures") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(_) => return Err("batchItemFailures is not a list: the whole batch failed".into()),
        },
        _ => return Ok(None),
    };
    let mut lowest: Option<usize> = None;
    for item in items {
        let id = item
            .get("itemIdentifier")
            .and_then(Value::as_str)
            .unwrap_or("");
        let Some(i) = records.iter().position(|r| r.seq.to_string() == id) else {
            return Err(format!(
                "itemIdentifier '{id}' is not a sequence number of the batch: the whole batch failed"
            ));
        };
        lowest = Some(lowest.map_or(i, |l| l.min(i)));
    }
    Ok(lowest.map(|i| (i, items.len())))
}

/// A request id in UUID form from 64 bits.
fn uuid_like(h: u64) -> String {
    let h2 = h.rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15;
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        h2 >> 52,
        h2 & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests;
