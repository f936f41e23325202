//! Polling consumer applications: shared-throughput readers, as the KCL
//! or a Lambda event source mapping read a stream.
//!
//! A consumer reads every shard of the stream. On each shard it gets an
//! iterator (GetShardIterator at its starting position), then calls
//! GetRecords every `poll_ms` with the iterator the previous call returned.
//! All its calls go through the Kinesis API like anyone's: they count
//! against the shard's 5 reads/s and 2 MiB/s, and are throttled beyond.
//! When a shard has been read to its end (a split or merge closed it,
//! GetRecords returns `ChildShards` and no next iterator), the consumer
//! moves on to its children from TRIM_HORIZON, each child once all its
//! parents are done, so records are delivered in order along every lineage.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shardlab_engine::api::{Output, SubscribeEvent, Subscription};
use shardlab_engine::{shard_id, ApiError, SequenceNumber};

use crate::esm::{Esm, EsmSpec, EsmView};
pub use crate::kcl::{Kcl, KclSpec, KclView};
use crate::rng::substream;

/// Where a consumer starts on the shards that are open when it starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartAt {
    #[default]
    TrimHorizon,
    Latest,
}

/// A consumer application in a scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerSpec {
    pub name: String,
    /// Milliseconds of virtual time between GetRecords calls on a shard
    /// (1,000, the KCL's default, when left out).
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    #[serde(default)]
    pub start: StartAt,
    /// After a throttled call, try again this soon instead of a whole poll
    /// later (a SQL application's reader retries as KDA's does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_throttled_ms: Option<u64>,
    /// Run as a KCL application on several workers sharing the shards
    /// through a lease table (see `kcl`); `poll_ms` is then the KCL's
    /// `idleTimeBetweenReadsInMillis`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kcl: Option<KclSpec>,
    /// An enhanced fan-out consumer: registered with
    /// RegisterStreamConsumer, it gets records pushed through
    /// SubscribeToShard with its own 2 MiB/s per shard, and does not share
    /// the shards' 5 GetRecords calls per second (`poll_ms` is then unused).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fan_out: bool,
    /// A Lambda event source mapping: what it reads goes to a function in
    /// batches (see `esm`); `poll_ms` is then Lambda's once a second, and
    /// `start` its StartingPosition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda: Option<EsmSpec>,
}

fn default_poll_ms() -> u64 {
    1000
}

impl ConsumerSpec {
    /// A consumer reading from TRIM_HORIZON every `poll_ms`.
    pub fn polling(name: impl Into<String>, poll_ms: u64) -> Self {
        ConsumerSpec {
            name: name.into(),
            poll_ms,
            start: StartAt::TrimHorizon,
            retry_throttled_ms: None,
            kcl: None,
            fan_out: false,
            lambda: None,
        }
    }

    /// An enhanced fan-out consumer reading from TRIM_HORIZON.
    pub fn fan_out(name: impl Into<String>) -> Self {
        ConsumerSpec {
            fan_out: true,
            ..ConsumerSpec::polling(name, default_poll_ms())
        }
    }

    /// A KCL application on `workers` workers, reading from TRIM_HORIZON
    /// every `poll_ms` and checkpointing every `checkpoint_ms`.
    pub fn kcl(name: impl Into<String>, poll_ms: u64, workers: u32, checkpoint_ms: u64) -> Self {
        ConsumerSpec {
            kcl: Some(KclSpec {
                workers,
                checkpoint_ms,
            }),
            ..ConsumerSpec::polling(name, poll_ms)
        }
    }
}

/// The fewest milliseconds between polls the playground allows (AWS:
/// 5 reads/s per shard, so 200 ms is the fastest sustainable rate).
pub const MIN_POLL_MS: u64 = 100;
/// The most: an hour. (Beyond 5 minutes each poll finds its iterator
/// expired and gets a new one first, as a real consumer would.)
pub const MAX_POLL_MS: u64 = 3_600_000;

/// Where a consumer application is moved back to, to read again
/// (replay): as a KCL application whose checkpoints are reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Replay {
    /// The oldest record each shard retains.
    TrimHorizon,
    /// The first record that arrived at or after this time (epoch ms).
    AtTimestamp(u64),
}

/// Where a shard reader starts when it has no iterator and has delivered
/// nothing yet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Origin {
    #[default]
    TrimHorizon,
    Latest,
    AtTimestamp(u64),
}

impl From<StartAt> for Origin {
    fn from(s: StartAt) -> Self {
        match s {
            StartAt::TrimHorizon => Origin::TrimHorizon,
            StartAt::Latest => Origin::Latest,
        }
    }
}

/// What a consumer call was, for finishing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    Iterator,
    Records,
    /// SubscribeToShard (enhanced fan-out).
    Subscribe,
    /// The next event of a subscription.
    Event,
}

impl Read {
    /// The API operation, for the calls that are one.
    pub fn operation(self) -> &'static str {
        match self {
            Read::Iterator => "GetShardIterator",
            Read::Records => "GetRecords",
            Read::Subscribe | Read::Event => "SubscribeToShard",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct ShardReader {
    iterator: Option<String>,
    pub(crate) next_poll_ms: u64,
    /// The last sequence number delivered, to resume after it.
    pub(crate) last: Option<SequenceNumber>,
    delivered: u64,
    lag_ms: u64,
    done: bool,
    /// Where to start when there is no iterator and nothing delivered yet.
    pub(crate) start: Origin,
    /// When a call of this consumer on this shard last succeeded.
    served_ms: u64,
    /// An enhanced fan-out consumer's open subscription (taken out while
    /// its next event is being read).
    subscription: Option<Subscription>,
}

impl ShardReader {
    /// The call that reads on: GetRecords with the iterator, or
    /// GetShardIterator after the last record delivered (or at the start);
    /// for an enhanced fan-out consumer (`arn`), the subscription's next
    /// event, or SubscribeToShard from the same position.
    fn call(&self, stream: &str, shard: u32, arn: Option<&str>) -> (Read, Value) {
        if let Some(arn) = arn {
            if self.subscription.is_some() {
                return (Read::Event, Value::Null);
            }
            let mut position = json!({});
            self.position(&mut position, "Type", "SequenceNumber");
            return (
                Read::Subscribe,
                json!({"ConsumerARN": arn, "ShardId": shard_id(shard), "StartingPosition": position}),
            );
        }
        if let Some(it) = &self.iterator {
            return (Read::Records, json!({"ShardIterator": it, "Limit": 10_000}));
        }
        let mut request = json!({"StreamName": stream, "ShardId": shard_id(shard)});
        self.position(&mut request, "ShardIteratorType", "StartingSequenceNumber");
        (Read::Iterator, request)
    }

    /// Writes where to read from into `request`: after the last record
    /// delivered, or at the start.
    fn position(&self, request: &mut Value, kind: &str, sequence: &str) {
        match (self.last, self.start) {
            (Some(seq), _) => {
                request[kind] = json!("AFTER_SEQUENCE_NUMBER");
                request[sequence] = json!(seq.to_string());
            }
            (None, Origin::TrimHorizon) => request[kind] = json!("TRIM_HORIZON"),
            (None, Origin::Latest) => request[kind] = json!("LATEST"),
            (None, Origin::AtTimestamp(t)) => {
                request[kind] = json!("AT_TIMESTAMP");
                // Epoch seconds, as the SDKs send a Date.
                request["Timestamp"] = json!(t as f64 / 1000.0);
            }
        }
    }
}

/// Which reader of a consumer a call is for: a shard, and for a KCL
/// application the worker whose record processor reads it (0 otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReaderId {
    pub worker: u32,
    pub shard: u32,
}

/// A call due: the reader, the operation, its request, and when a call on
/// the shard last succeeded (consumers served longest ago go first).
pub struct Due {
    pub reader: ReaderId,
    pub read: Read,
    pub request: Value,
    pub served_ms: u64,
}

/// One consumer application's progress.
pub struct Consumer {
    spec: ConsumerSpec,
    readers: BTreeMap<u32, ShardReader>,
    /// Children waiting for all their parents to be read to the end.
    waiting: BTreeMap<u32, Vec<u32>>,
    delivered: u64,
    user_records: u64,
    throttled: u64,
    /// Per shard, one past the highest sequence index ever delivered: a
    /// record below it is delivered again (after a replay).
    high: BTreeMap<u32, u64>,
    redelivered: u64,
    /// The latest arrival time among records delivered so far, and how many
    /// records were delivered after one that arrived later than them.
    newest_arrival_ms: u64,
    out_of_order: u64,
    /// Where children of ended shards start: TRIM_HORIZON, or the replay's
    /// timestamp.
    children_from: Origin,
    /// Counts replays: a call planned before one is not applied after it.
    generation: u64,
    /// For a KCL application: its lease table, workers and record
    /// processors (then `readers` and `waiting` stay empty).
    kcl: Option<Kcl>,
    /// For an enhanced fan-out consumer: its consumer ARN, once registered.
    arn: Option<String>,
    /// For a Lambda event source mapping: its batches and invocations.
    esm: Option<Esm>,
}

/// What the UI shows about one consumer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerView {
    pub name: String,
    pub poll_ms: u64,
    pub delivered: u64,
    /// User records in what was delivered, KPL aggregated records unpacked
    /// as the KCL unpacks them (the same as `delivered` without them).
    #[serde(default)]
    pub user_records: u64,
    /// Calls refused by the shards' read limits.
    pub throttled: u64,
    /// The largest MillisBehindLatest over the shards it reads.
    pub max_lag_ms: u64,
    /// Records delivered again: read once before, then again after a
    /// replay moved the application back.
    #[serde(default)]
    pub redelivered: u64,
    /// Records delivered after a record that reached the stream later
    /// than they did (from another shard: each shard is read in order,
    /// the shards independently). Re-deliveries are not counted.
    #[serde(default)]
    pub out_of_order: u64,
    pub shards: Vec<ConsumerShardView>,
    /// Reading with enhanced fan-out (SubscribeToShard).
    #[serde(default)]
    pub fan_out: bool,
    /// A KCL application's workers and lease table (`redelivered` then
    /// counts its duplicates: records processed again after a failover or
    /// a lease moving, from the last checkpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kcl: Option<KclView>,
    /// A Lambda event source mapping's batches, invocations and failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda: Option<EsmView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerShardView {
    pub shard_id: String,
    pub delivered: u64,
    pub lag_ms: u64,
    /// Read to the end of a closed shard.
    pub done: bool,
}

pub(crate) fn shard_index(id: &str) -> Option<u32> {
    id.strip_prefix("shardId-")?.parse().ok()
}

/// GetRecords' `ChildShards` as (child, parents) shard indexes.
pub(crate) fn child_shards(children: &[Value]) -> Vec<(u32, Vec<u32>)> {
    children
        .iter()
        .filter_map(|child| {
            let c = child["ShardId"].as_str().and_then(shard_index)?;
            let parents = child["ParentShards"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter_map(|p| p.as_str().and_then(shard_index))
                        .collect()
                })
                .unwrap_or_default();
            Some((c, parents))
        })
        .collect()
}

impl Consumer {
    /// A consumer that starts at `now_ms` on the shards `open`; a KCL
    /// application's random choices come from `seed`.
    pub fn new(
        spec: ConsumerSpec,
        open: impl IntoIterator<Item = u32>,
        now_ms: u64,
        seed: u64,
    ) -> Self {
        let (readers, kcl) = match &spec.kcl {
            Some(k) => (
                BTreeMap::new(),
                Some(Kcl::new(
                    k.clone(),
                    open,
                    spec.start.into(),
                    now_ms,
                    substream(seed, &format!("kcl/{}", spec.name)),
                )),
            ),
            None => (
                open.into_iter()
                    .map(|i| {
                        (
                            i,
                            ShardReader {
                                next_poll_ms: now_ms,
                                start: spec.start.into(),
                                ..ShardReader::default()
                            },
                        )
                    })
                    .collect(),
                None,
            ),
        };
        Consumer {
            arn: None,
            esm: None,
            kcl,
            spec,
            readers,
            waiting: BTreeMap::new(),
            delivered: 0,
            user_records: 0,
            throttled: 0,
            high: BTreeMap::new(),
            redelivered: 0,
            newest_arrival_ms: 0,
            out_of_order: 0,
            children_from: Origin::TrimHorizon,
            generation: 0,
        }
    }

    /// Starts the Lambda event source mapping its spec declares, on the
    /// stream `stream_arn` (nothing for other consumers).
    pub fn start_mapping(&mut self, stream_arn: &str) {
        if let Some(l) = &self.spec.lambda {
            self.esm = Some(Esm::new(l.clone(), &self.spec.name, stream_arn));
        }
    }

    /// New settings for its event source mapping.
    pub fn update_mapping(&mut self, spec: EsmSpec) {
        if let Some(esm) = &mut self.esm {
            esm.update(spec.clone());
            self.spec.lambda = Some(spec);
        }
    }

    /// The event source mapping, if it is one.
    pub fn esm_mut(&mut self) -> Option<&mut Esm> {
        self.esm.as_mut()
    }

    /// Calls refused by the read limits, and records delivered out of
    /// arrival order, all time.
    pub fn read_counts(&self) -> (u64, u64) {
        (self.throttled, self.out_of_order)
    }

    /// Changes with every replay (see `CallKind::Consume`).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Moves the application back to read again from `from`, on `roots`:
    /// the shards it must start on (those whose parents are gone), each
    /// read before its children as at the start. Its counts carry on;
    /// what it reads a second time counts as redelivered.
    pub fn replay(&mut self, from: Replay, roots: impl IntoIterator<Item = u32>, now_ms: u64) {
        let origin = match from {
            Replay::TrimHorizon => Origin::TrimHorizon,
            Replay::AtTimestamp(t) => Origin::AtTimestamp(t),
        };
        self.children_from = origin;
        self.generation += 1;
        self.waiting.clear();
        if let Some(kcl) = &mut self.kcl {
            kcl.reset(origin, roots, now_ms);
            return;
        }
        // Served times carry over, so consumers sharing a shard stay fair.
        let served: BTreeMap<u32, u64> = self
            .readers
            .iter()
            .map(|(i, r)| (*i, r.served_ms))
            .collect();
        self.readers = roots
            .into_iter()
            .map(|i| {
                (
                    i,
                    ShardReader {
                        next_poll_ms: now_ms,
                        start: origin,
                        served_ms: served.get(&i).copied().unwrap_or(0),
                        ..ShardReader::default()
                    },
                )
            })
            .collect();
    }

    /// Polls each shard every `poll_ms` from now on.
    pub fn set_poll_ms(&mut self, poll_ms: u64) {
        self.spec.poll_ms = poll_ms;
        for r in self.readers_mut() {
            r.next_poll_ms = r.next_poll_ms.min(r.served_ms + poll_ms);
        }
    }

    /// The KCL application's lease coordinator, if it is one.
    pub fn kcl_mut(&mut self) -> Option<&mut Kcl> {
        self.kcl.as_mut()
    }

    /// Runs what is due by `now_ms` besides reading: a KCL application's
    /// lease renewals, lease takers and checkpoints.
    pub fn advance(&mut self, now_ms: u64) {
        if let Some(kcl) = &mut self.kcl {
            kcl.advance(now_ms);
        }
    }

    /// Every reader, by id: the shards, or a KCL application's record
    /// processors that are not waiting for their parents.
    fn readers(&self) -> Vec<(ReaderId, &ShardReader)> {
        match &self.kcl {
            Some(kcl) => kcl
                .processors
                .iter()
                .filter(|(_, p)| p.reading())
                .map(|(&(worker, shard), p)| (ReaderId { worker, shard }, &p.reader))
                .collect(),
            None => self
                .readers
                .iter()
                .map(|(&shard, r)| (ReaderId { worker: 0, shard }, r))
                .collect(),
        }
    }

    /// Every reader, those waiting for their parents too.
    fn readers_mut(&mut self) -> Box<dyn Iterator<Item = &mut ShardReader> + '_> {
        match &mut self.kcl {
            Some(kcl) => Box::new(kcl.processors.values_mut().map(|p| &mut p.reader)),
            None => Box::new(self.readers.values_mut()),
        }
    }

    fn reader_mut(&mut self, id: ReaderId) -> Option<&mut ShardReader> {
        match &mut self.kcl {
            Some(kcl) => kcl
                .processors
                .get_mut(&(id.worker, id.shard))
                .map(|p| &mut p.reader),
            None => self.readers.get_mut(&id.shard),
        }
    }

    pub fn spec(&self) -> &ConsumerSpec {
        &self.spec
    }

    /// The calls due by `now_ms`.
    pub fn due(&self, stream: &str, now_ms: u64) -> Vec<Due> {
        self.readers()
            .into_iter()
            .filter(|(_, r)| !r.done && r.next_poll_ms <= now_ms)
            .filter(|(id, _)| self.esm.as_ref().is_none_or(|e| e.wants(id.shard)))
            .map(|(reader, r)| {
                let (read, request) = r.call(stream, reader.shard, self.arn.as_deref());
                Due {
                    reader,
                    read,
                    request,
                    served_ms: r.served_ms,
                }
            })
            .collect()
    }

    /// A call is being planned: the next poll on the shard is one interval
    /// later (unless its outcome says sooner).
    pub fn polled(&mut self, reader: ReaderId, now_ms: u64) {
        // Records are pushed to a subscription as they arrive: its next
        // event is read at the next tick. A refused SubscribeToShard is
        // tried again a second later.
        let poll_ms = if self.arn.is_some() {
            0
        } else {
            self.spec.poll_ms
        };
        if let Some(r) = self.reader_mut(reader) {
            r.next_poll_ms = now_ms + poll_ms;
        }
    }

    /// Takes a call's outcome; returns the records delivered, as
    /// (shard, sequence number) in order, for the run digest.
    pub fn finish(
        &mut self,
        id: ReaderId,
        read: Read,
        outcome: Result<Output, ApiError>,
        now_ms: u64,
    ) -> Vec<SequenceNumber> {
        let retry_throttled_ms = self.spec.retry_throttled_ms;
        let Some(reader) = self.reader_mut(id) else {
            // A KCL processor that has stopped since (its lease was lost).
            return Vec::new();
        };
        if outcome.is_ok() {
            reader.served_ms = now_ms;
        }
        let out = match (read, outcome) {
            (Read::Iterator, Ok(Output::Value(v))) => {
                reader.iterator = v["ShardIterator"].as_str().map(str::to_string);
                // Records follow at once (the next tick), not a whole poll
                // interval later: an iterator lives only 5 minutes.
                reader.next_poll_ms = now_ms;
                return Vec::new();
            }
            (Read::Records, Ok(Output::Records(out))) => out,
            (_, Err(ApiError::ProvisionedThroughputExceeded(_))) => {
                if let Some(retry) = retry_throttled_ms {
                    reader.next_poll_ms = now_ms + retry;
                }
                self.throttled += 1;
                return Vec::new();
            }
            (_, Err(ApiError::ExpiredIterator(_))) => {
                // Start again after the last record delivered, at once.
                reader.iterator = None;
                reader.next_poll_ms = now_ms;
                return Vec::new();
            }
            // A shard that expired before it was read is gone; anything
            // else is a bug the run digest would show.
            (_, Err(_)) | (_, Ok(_)) => return Vec::new(),
        };
        reader.iterator = out.next_shard_iterator;
        self.delivered_from(
            id,
            &out.records,
            out.millis_behind_latest,
            out.child_shards,
            now_ms,
        )
    }

    /// Records delivered to reader `id`, how far behind it is, and the
    /// shard's children when it has read to the shard's end.
    fn delivered_from(
        &mut self,
        id: ReaderId,
        records: &[shardlab_engine::api::RecordJson],
        lag_ms: u64,
        child_shards: Option<Vec<Value>>,
        now_ms: u64,
    ) -> Vec<SequenceNumber> {
        let seqs: Vec<SequenceNumber> = records.iter().map(|r| r.sequence_number).collect();
        if let Some(reader) = self.reader_mut(id) {
            reader.delivered += seqs.len() as u64;
            if let Some(last) = seqs.last() {
                reader.last = Some(*last);
            }
            reader.lag_ms = lag_ms;
            if child_shards.is_some() {
                reader.done = true;
                reader.lag_ms = 0;
            }
        }
        self.count_delivered(id.shard, records);
        if let Some(esm) = &mut self.esm {
            esm.received(id.shard, records, now_ms);
            esm.caught_up(id.shard, lag_ms, now_ms);
            if let Some(children) = &child_shards {
                esm.shard_ended(id.shard, &self::child_shards(children));
            }
        }
        if let Some(kcl) = &mut self.kcl {
            kcl.processed(id.shard, seqs.len() as u64, lag_ms, now_ms);
        }
        if let Some(children) = child_shards {
            match &mut self.kcl {
                Some(kcl) => kcl.shard_ended(id.worker, id.shard, &children),
                None => self.shard_ended(id.shard, &children),
            }
        }
        seqs
    }

    /// The open subscription of an enhanced fan-out reader, taken out to
    /// read its next event (given back by `finish_event`).
    pub fn take_subscription(&mut self, id: ReaderId) -> Option<Subscription> {
        self.reader_mut(id)?.subscription.take()
    }

    /// A SubscribeToShard's outcome: the subscription, whose events are
    /// read from the next tick on.
    pub fn subscribed(
        &mut self,
        id: ReaderId,
        outcome: Result<Subscription, ApiError>,
        now_ms: u64,
    ) {
        let Some(reader) = self.reader_mut(id) else {
            return;
        };
        match outcome {
            Ok(sub) => {
                reader.served_ms = now_ms;
                reader.subscription = Some(sub);
                reader.next_poll_ms = now_ms;
            }
            // Refused (not ACTIVE yet, subscribed again too soon, a shard
            // gone): it tries again a second later.
            Err(_) => reader.next_poll_ms = now_ms + 1000,
        }
    }

    /// An event's outcome: the records delivered; the subscription goes
    /// back unless it is over (5 minutes, the shard's end, an error), and
    /// the reader then subscribes again after the last record delivered.
    pub fn finish_event(
        &mut self,
        id: ReaderId,
        mut sub: Option<Subscription>,
        outcome: Option<Result<SubscribeEvent, ApiError>>,
        now_ms: u64,
    ) -> Vec<SequenceNumber> {
        let event = match outcome {
            Some(Ok(event)) => event,
            // Over, or refused: subscribe again.
            Some(Err(_)) | None => return Vec::new(),
        };
        if event.child_shards.is_some() {
            sub = None;
        }
        let fan_out = self.arn.is_some();
        let Some(reader) = self.reader_mut(id) else {
            // A KCL processor that has stopped since (its lease was lost).
            return Vec::new();
        };
        reader.served_ms = now_ms;
        if fan_out {
            reader.subscription = sub;
        }
        self.delivered_from(
            id,
            &event.records,
            event.millis_behind_latest,
            event.child_shards,
            now_ms,
        )
    }

    /// Switches between shared-throughput polling and enhanced fan-out
    /// (`arn`: the registered consumer's ARN), keeping each shard's
    /// position: the next read starts after the last record delivered.
    pub fn set_fan_out(&mut self, arn: Option<String>) {
        self.arn = arn;
        self.spec.fan_out = self.arn.is_some();
        self.generation += 1;
        for r in self.readers_mut() {
            r.iterator = None;
            r.subscription = None;
        }
    }

    /// The consumer ARN it reads with, when it uses enhanced fan-out.
    pub fn fan_out_arn(&self) -> Option<&str> {
        self.arn.as_deref()
    }

    /// Counts records delivered from `shard`: again (below its high-water
    /// mark), out of arrival order, and the user records in them.
    fn count_delivered(&mut self, shard: u32, records: &[shardlab_engine::api::RecordJson]) {
        self.delivered += records.len() as u64;
        let next = self.high.entry(shard).or_insert(0);
        for r in records {
            let index = r.sequence_number.sequence_index;
            if index < *next {
                self.redelivered += 1;
                continue;
            }
            *next = index + 1;
            let arrival = (r.approximate_arrival_timestamp * 1000.0).round() as u64;
            if arrival < self.newest_arrival_ms {
                self.out_of_order += 1;
            } else {
                self.newest_arrival_ms = arrival;
            }
        }
        self.user_records += records
            .iter()
            .map(|r| shardlab_engine::kpl::user_record_count(&r.data))
            .sum::<u64>();
    }

    /// How far behind the newest records it is, at most over its shards
    /// (for a KCL application, shards nobody processes fall further behind
    /// as time passes).
    fn max_lag_ms(&self) -> u64 {
        match &self.kcl {
            Some(kcl) => kcl.max_lag_ms(),
            None => self.readers.values().map(|r| r.lag_ms).max().unwrap_or(0),
        }
    }

    /// `shard` was read to its end: its children start once all their
    /// parents are done.
    fn shard_ended(&mut self, shard: u32, children: &[Value]) {
        for (c, parents) in child_shards(children) {
            self.waiting.entry(c).or_insert(parents);
        }
        let done: BTreeSet<u32> = self
            .readers
            .iter()
            .filter(|(_, r)| r.done)
            .map(|(i, _)| *i)
            .collect();
        let ready: Vec<u32> = self
            .waiting
            .iter()
            .filter(|(_, parents)| parents.iter().all(|p| done.contains(p)))
            .map(|(c, _)| *c)
            .collect();
        let next_poll_ms = self.readers.get(&shard).map_or(0, |r| r.next_poll_ms);
        for c in ready {
            self.waiting.remove(&c);
            self.readers.entry(c).or_insert(ShardReader {
                next_poll_ms,
                start: self.children_from,
                ..ShardReader::default()
            });
        }
    }

    pub fn view(&self) -> ConsumerView {
        ConsumerView {
            name: self.spec.name.clone(),
            poll_ms: self.spec.poll_ms,
            delivered: self.delivered,
            user_records: self.user_records,
            throttled: self.throttled,
            max_lag_ms: self.max_lag_ms(),
            redelivered: self.redelivered,
            out_of_order: self.out_of_order,
            shards: self
                .readers()
                .into_iter()
                .map(|(id, r)| ConsumerShardView {
                    shard_id: shard_id(id.shard),
                    delivered: r.delivered,
                    lag_ms: r.lag_ms,
                    done: r.done,
                })
                .collect(),
            kcl: self.kcl.as_ref().map(Kcl::view),
            lambda: self.esm.as_ref().map(Esm::view),
            fan_out: self.arn.is_some(),
        }
    }
}
