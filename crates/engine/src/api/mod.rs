//! The Kinesis Data Streams API: one service, one dispatch.
//!
//! `Kinesis::call(operation, request, now_ms)` takes an operation name as
//! in `X-Amz-Target: Kinesis_20131202.<Operation>` and a JSON 1.1 request
//! body, and answers with the JSON response body or an [`ApiError`] whose
//! name and message are AWS's. Everything that uses streams (the UI, the
//! simulation, the in-page console, the native endpoint, the tests) goes
//! through here, so what a learner sees is what AWS would say.
//!
//! Time is the caller's virtual clock in epoch milliseconds; it never goes
//! backwards (an earlier `now_ms` is treated as the latest one seen).

mod fanout;
mod output;
pub mod request;
mod token;

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::made::{record_size, Made, UuidKey};
use crate::shard::READ_MAX_RECORDS_PER_CALL;
use crate::store::{LocalShards, Position, ShardKey, ShardOp, ShardOpResult, ShardStore, StreamId};
pub use crate::time::amz_utc_string;
use crate::{
    shard_id, HashKey, HashKeyRange, PutEntry, PutOutcome, SequenceNumber, ShardConfig,
    CLOSING_SEQUENCE_INDEX, MAX_HASH_KEY,
};
pub use fanout::{SubscribeEvent, Subscription};
use output::{GetRecordsOutput, PutRecordsResponse, PutResultJson};
pub use output::{Output, RecordJson};

pub use request::Validation;
use request::{is_decimal, is_name, Body, HASH_KEY_PATTERN, SEQUENCE_NUMBER_PATTERN};
use token::{IteratorToken, ListShardsToken};

use crate::ApiError;

/// A record as a request gives it: partition key, data, explicit hash key.
type RecordInput = (String, Vec<u8>, Option<String>);

/// One entry of a typed PutRecords request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutRecordsEntry {
    pub partition_key: String,
    pub data: Vec<u8>,
    pub explicit_hash_key: Option<String>,
    /// A record the shard host makes itself from this recipe; `data` is
    /// then empty, and so is `partition_key` if the recipe has the key (the
    /// simulation's own producers; see [`crate::made`]).
    pub made: Option<Made>,
}

impl PutRecordsEntry {
    /// Bytes counted against limits: data plus the partition key's UTF-8.
    pub fn size(&self) -> usize {
        record_size(&self.partition_key, &self.data, self.made.as_ref())
    }
}

/// The fate of one PutRecords entry, in request order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PutRecordsResult {
    Accepted {
        shard_index: u32,
        sequence_number: SequenceNumber,
    },
    /// `ProvisionedThroughputExceededException` for this entry.
    Throttled { shard_index: u32 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutRecordsOutput {
    pub failed_record_count: u32,
    pub records: Vec<PutRecordsResult>,
    /// Each record's part of the run digest as its shard host made it
    /// (0 for a record sent as bytes); empty when no record was made.
    pub prints: Vec<u64>,
}

/// The operations this service answers, by their wire names.
pub const OPERATIONS: &[&str] = &[
    "AddTagsToStream",
    "CreateStream",
    "DecreaseStreamRetentionPeriod",
    "DeleteStream",
    "DeregisterStreamConsumer",
    "DescribeLimits",
    "DescribeStream",
    "DescribeStreamConsumer",
    "DescribeStreamSummary",
    "GetRecords",
    "GetShardIterator",
    "IncreaseStreamRetentionPeriod",
    "ListShards",
    "ListStreamConsumers",
    "ListStreams",
    "ListTagsForStream",
    "MergeShards",
    "PutRecord",
    "PutRecords",
    "RegisterStreamConsumer",
    "RemoveTagsFromStream",
    "SplitShard",
    "UpdateShardCount",
    "UpdateStreamMode",
];

const HOUR_MS: u64 = 3_600_000;
const MIN_RETENTION_HOURS: i64 = 24;
const MAX_RETENTION_HOURS: i64 = 8_760;
const ITERATOR_TTL_MS: u64 = 300_000;
const NEXT_TOKEN_TTL_MS: u64 = 300_000;
const MAX_RECORD_BYTES: usize = 1024 * 1024;
const MAX_TAGS_PER_STREAM: usize = 50;
const MAX_SHARDS_PER_STREAM: i64 = 10_000;
const SHARD_COUNT_UPDATES_PER_DAY: usize = 10;
const ON_DEMAND_INITIAL_SHARDS: u32 = 4;

/// How the service is set up. The defaults are AWS's, except where noted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KinesisConfig {
    pub region: String,
    pub account_id: String,
    /// Open shards allowed across the account. AWS's default is 20,000 in
    /// the largest Regions and lower elsewhere; emulators use 10–50. 500 is
    /// plenty for a browser and still lets a learner hit the limit.
    pub shard_limit: u32,
    /// How long CREATING, UPDATING and DELETING last, in virtual ms (0:
    /// changes take effect at once, as tests and the endpoint want).
    pub transition_ms: u64,
    /// PutRecords' limit on data + keys per request: 10 MiB today, 5 MiB
    /// before the 2025 large-record launch.
    pub put_records_max_bytes: usize,
    /// Throughput limits (writes, reads, GetShardIterator); off for load
    /// tests, as emulators run.
    pub enforce_limits: bool,
    /// Seals iterators and tokens so forged ones are refused.
    pub token_secret: u64,
}

impl Default for KinesisConfig {
    fn default() -> Self {
        KinesisConfig {
            region: "us-east-1".into(),
            account_id: crate::ACCOUNT_ID.into(),
            shard_limit: 500,
            transition_ms: 0,
            put_records_max_bytes: 10 * 1024 * 1024,
            enforce_limits: true,
            token_secret: 0x5348_4152_444c_4142,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamStatus {
    Creating,
    Active,
    Updating,
    Deleting,
}

impl StreamStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamStatus::Creating => "CREATING",
            StreamStatus::Active => "ACTIVE",
            StreamStatus::Updating => "UPDATING",
            StreamStatus::Deleting => "DELETING",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamMode {
    Provisioned,
    OnDemand,
}

impl StreamMode {
    fn as_str(self) -> &'static str {
        match self {
            StreamMode::Provisioned => "PROVISIONED",
            StreamMode::OnDemand => "ON_DEMAND",
        }
    }
}

/// A change that takes effect when its transition ends.
#[derive(Clone, Debug)]
enum Change {
    Create,
    Delete,
    Split { parent: u32, new_start: u128 },
    Merge { a: u32, b: u32 },
    UniformScale { target: u32 },
    Mode(StreamMode),
}

/// What the control plane knows of a shard; its records live in a
/// `ShardDataPlane` in the shard store.
struct Shard {
    parent: Option<u32>,
    adjacent_parent: Option<u32>,
    range: HashKeyRange,
    created_ms: u64,
    closed_ms: Option<u64>,
}

impl Shard {
    fn starting_sequence_number(&self, index: u32) -> SequenceNumber {
        let created_secs = self.created_ms / 1000;
        SequenceNumber {
            shard_created_secs: created_secs,
            shard_index: index,
            sequence_index: 0,
            arrival_secs: created_secs,
        }
    }

    fn ending_sequence_number(&self, index: u32) -> Option<SequenceNumber> {
        self.closed_ms.map(|closed| SequenceNumber {
            shard_created_secs: self.created_ms / 1000,
            shard_index: index,
            sequence_index: CLOSING_SEQUENCE_INDEX,
            arrival_secs: closed / 1000,
        })
    }

    /// A closed shard expires once all its data has aged out.
    fn is_expired(&self, now_ms: u64, retention_ms: u64) -> bool {
        self.closed_ms
            .is_some_and(|closed| now_ms > closed.saturating_add(retention_ms))
    }
}

struct Stream {
    id: StreamId,
    /// Records offered to PutRecord(s) since `take_key_histogram`, by the
    /// top 8 bits of their hash key: where in the hash-key space records
    /// land (a hot key is one tall bucket).
    key_histogram: Box<[u64; KEY_BUCKETS]>,
    /// Operations for this stream's shards, waiting to be planned into a call.
    ops: Vec<(ShardKey, ShardOp)>,
    name: String,
    arn: String,
    created_ms: u64,
    status: StreamStatus,
    pending: Option<(u64, Change)>,
    mode: StreamMode,
    retention_hours: u32,
    shards: BTreeMap<u32, Shard>,
    /// Open shards sorted by hash range, for routing.
    open: Vec<(HashKeyRange, u32)>,
    next_shard_index: u32,
    tags: BTreeMap<String, String>,
    shard_count_updates: Vec<u64>,
    consumers: BTreeMap<String, fanout::Consumer>,
    /// On-demand scaling: bytes offered to each open shard (accepted or
    /// throttled) in the minute of virtual time starting at `demand_since`.
    demand: BTreeMap<u32, u64>,
    demand_since: u64,
}

impl Stream {
    fn open_count(&self) -> u32 {
        self.open.len() as u32
    }

    fn reindex_open(&mut self) {
        self.open = self
            .shards
            .iter()
            .filter(|(_, s)| s.closed_ms.is_none())
            .map(|(i, s)| (s.range, *i))
            .collect();
        self.open.sort_by_key(|(r, _)| r.starting_hash_key);
    }

    fn route(&self, key: HashKey) -> Option<u32> {
        self.route_open(key).map(|(_, index)| index)
    }

    /// The open shard whose range holds `key`: its place in `open` and its
    /// index.
    fn route_open(&self, key: HashKey) -> Option<(usize, u32)> {
        let pos = self
            .open
            .partition_point(|(r, _)| r.starting_hash_key <= key)
            .checked_sub(1)?;
        let (range, index) = self.open.get(pos)?;
        range.contains(key).then_some((pos, *index))
    }

    fn add_shard(
        &mut self,
        range: HashKeyRange,
        parent: Option<u32>,
        adjacent_parent: Option<u32>,
        now_ms: u64,
    ) -> u32 {
        let index = self.next_shard_index;
        self.next_shard_index += 1;
        self.ops.push((
            self.key(index),
            ShardOp::Open(ShardConfig {
                stream_name: self.name.clone(),
                shard_index: index,
                hash_key_range: range,
                created_ms: now_ms,
                retention_ms: self.retention_ms(),
            }),
        ));
        self.shards.insert(
            index,
            Shard {
                parent,
                adjacent_parent,
                range,
                created_ms: now_ms,
                closed_ms: None,
            },
        );
        index
    }

    fn key(&self, shard_index: u32) -> ShardKey {
        ShardKey {
            stream: self.id,
            shard_index,
        }
    }

    fn retention_ms(&self) -> u64 {
        u64::from(self.retention_hours) * HOUR_MS
    }

    fn close(&mut self, index: u32, now_ms: u64) {
        if let Some(p) = self.shards.get_mut(&index) {
            p.closed_ms.get_or_insert(now_ms);
            let key = self.key(index);
            self.ops.push((key, ShardOp::Close { now_ms }));
        }
    }

    fn split(&mut self, parent: u32, new_start: u128, now_ms: u64) -> (u32, u32) {
        let range = self.shards[&parent].range;
        self.close(parent, now_ms);
        let lower = HashKeyRange {
            starting_hash_key: range.starting_hash_key,
            ending_hash_key: HashKey(new_start - 1),
        };
        let upper = HashKeyRange {
            starting_hash_key: HashKey(new_start),
            ending_hash_key: range.ending_hash_key,
        };
        let a = self.add_shard(lower, Some(parent), None, now_ms);
        let b = self.add_shard(upper, Some(parent), None, now_ms);
        self.reindex_open();
        (a, b)
    }

    fn merge(&mut self, a: u32, b: u32, now_ms: u64) -> u32 {
        let range = HashKeyRange {
            starting_hash_key: self.shards[&a].range.starting_hash_key,
            ending_hash_key: self.shards[&b].range.ending_hash_key,
        };
        self.close(a, now_ms);
        self.close(b, now_ms);
        let child = self.add_shard(range, Some(a), Some(b), now_ms);
        self.reindex_open();
        child
    }

    /// UNIFORM_SCALING the way AWS does it: pairwise splits at the target's
    /// even boundaries, then pairwise merges of the pieces between them, so
    /// every new shard has exact parent links (intermediate shards close
    /// at once, as AWS's short-lived intermediate shards do).
    fn uniform_scale(&mut self, target: u32, now_ms: u64) {
        let goal = HashKeyRange::even_split(target);
        for boundary in goal.iter().skip(1).map(|r| r.starting_hash_key) {
            if let Some(i) = self.route(boundary) {
                if self.shards[&i].range.starting_hash_key != boundary {
                    self.split(i, boundary.0, now_ms);
                }
            }
        }
        for want in &goal {
            loop {
                let pieces: Vec<u32> = self
                    .open
                    .iter()
                    .filter(|(r, _)| {
                        r.starting_hash_key >= want.starting_hash_key
                            && r.ending_hash_key <= want.ending_hash_key
                    })
                    .map(|(_, i)| *i)
                    .collect();
                match pieces.as_slice() {
                    [a, b, ..] => {
                        self.merge(*a, *b, now_ms);
                    }
                    _ => break,
                }
            }
        }
    }

    /// Drops closed shards whose data has all aged out.
    fn expire_shards(&mut self, now_ms: u64) {
        let retention = self.retention_ms();
        let expired: Vec<u32> = self
            .shards
            .iter()
            .filter(|(_, s)| s.is_expired(now_ms, retention))
            .map(|(i, _)| *i)
            .collect();
        for i in expired {
            self.shards.remove(&i);
            let key = self.key(i);
            self.ops.push((key, ShardOp::Drop));
        }
    }

    /// Drops every shard (the stream is being deleted).
    fn drop_all(&mut self) {
        let keys: Vec<ShardKey> = self.shards.keys().map(|i| self.key(*i)).collect();
        self.shards.clear();
        self.ops
            .extend(keys.into_iter().map(|k| (k, ShardOp::Drop)));
    }
}

/// On-demand streams are measured over windows of this much virtual time.
const ON_DEMAND_WINDOW_MS: u64 = 60_000;
/// An on-demand shard offered more than this on average over a window is
/// split.
const ON_DEMAND_SPLIT_BYTES_PER_SEC: u64 = 500 * 1024;

/// A shard as the control plane describes it (typed DescribeStream), for
/// hosts and views that place and show shards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardInfo {
    pub key: ShardKey,
    pub shard_id: String,
    pub range: HashKeyRange,
    pub parent_shard_id: Option<String>,
    pub adjacent_parent_shard_id: Option<String>,
    pub closed_ms: Option<u64>,
}

/// Buckets of `Kinesis::take_key_histogram`: the hash-key space in 256
/// equal parts.
pub const KEY_BUCKETS: usize = 1 << KEY_BUCKET_BITS;
const KEY_BUCKET_BITS: u32 = 8;

/// The service: every stream of the simulated account.
pub struct Kinesis {
    config: KinesisConfig,
    streams: BTreeMap<String, Stream>,
    now_ms: u64,
    /// When each (consumer, shard) last subscribed successfully.
    subscriptions: BTreeMap<(String, u32), u64>,
    next_stream_id: StreamId,
    /// Shard operations of streams that no longer exist (their drops).
    orphan_ops: Vec<(ShardKey, ShardOp)>,
    /// The shard operations of the call being planned.
    own_ops: Vec<(ShardKey, ShardOp)>,
    /// The shards of `call`; empty when a caller runs shards elsewhere
    /// through `plan` and `finish`.
    local: LocalShards,
}

/// A planned call: the shard operations to run, in order, and how to
/// finish the call from their results.
#[derive(Debug)]
pub struct Planned {
    pub ops: Vec<(ShardKey, ShardOp)>,
    /// Index in `ops` where the call's own operations begin (before it:
    /// due side effects such as opening a created stream's shards).
    own: usize,
    finish: Finish,
}

impl Planned {
    /// Shard operations that are not an API call (the playground's census
    /// of retained records): finished by whoever planned them, from the
    /// results alone.
    pub fn raw(ops: Vec<(ShardKey, ShardOp)>) -> Planned {
        Planned {
            ops,
            own: 0,
            finish: Finish::Ready(Value::Null),
        }
    }

    /// The operations to run, moved out (the plan keeps what `finish` needs).
    pub fn take_ops(&mut self) -> Vec<(ShardKey, ShardOp)> {
        std::mem::take(&mut self.ops)
    }

    /// The results of the call's own operations (after the side effects).
    fn own_results(&self, results: Vec<ShardOpResult>) -> impl Iterator<Item = ShardOpResult> {
        results.into_iter().skip(self.own)
    }
}

/// How to turn shard results into the response.
#[derive(Debug)]
enum Finish {
    Ready(Value),
    Put {
        stream: String,
        single: bool,
        /// Per request entry: (own op index, position in its outcomes, shard).
        slots: Vec<(usize, usize, u32)>,
    },
    Iterator {
        stream: String,
        created_ms: u64,
        shard_index: u32,
    },
    Records {
        it: IteratorToken,
    },
}

fn epoch_secs(ms: u64) -> Value {
    // Epoch seconds with millisecond precision, as the JSON protocol sends
    // timestamps.
    json!(ms as f64 / 1000.0)
}

fn string_member(v: &Value) -> Option<&str> {
    v.as_str()
}

impl Kinesis {
    pub fn new(config: KinesisConfig) -> Self {
        Kinesis {
            config,
            streams: BTreeMap::new(),
            now_ms: 0,
            subscriptions: BTreeMap::new(),
            next_stream_id: 1,
            orphan_ops: Vec::new(),
            own_ops: Vec::new(),
            local: LocalShards::new(),
        }
    }

    /// Every shard of a stream that has not expired, open and closed, by
    /// shard index; None when there is no such stream.
    pub fn shard_infos(&self, stream_name: &str) -> Option<Vec<ShardInfo>> {
        let stream = self.streams.get(stream_name)?;
        Some(
            stream
                .shards
                .iter()
                .map(|(i, s)| ShardInfo {
                    key: ShardKey {
                        stream: stream.id,
                        shard_index: *i,
                    },
                    shard_id: crate::shard_id(*i),
                    range: s.range,
                    parent_shard_id: s.parent.map(crate::shard_id),
                    adjacent_parent_shard_id: s.adjacent_parent.map(crate::shard_id),
                    closed_ms: s.closed_ms,
                })
                .collect(),
        )
    }

    /// The in-process shards `call` uses.
    pub fn local_shards(&self) -> &LocalShards {
        &self.local
    }

    /// Plans one call: control-plane work now, shard operations to run.
    /// A failed plan leaves due side effects queued for the next plan.
    pub fn plan(
        &mut self,
        operation: &str,
        request: &Value,
        now_ms: u64,
    ) -> Result<Planned, ApiError> {
        self.set_now(now_ms);
        self.own_ops.clear();
        let body = Body::new(request)?;
        let finish = self.dispatch(operation, &body);
        let finish = match finish {
            Ok(f) => f,
            Err(e) => {
                self.own_ops.clear();
                return Err(e);
            }
        };
        Ok(self.planned(finish))
    }

    fn planned(&mut self, finish: Finish) -> Planned {
        let mut ops = self.take_side_ops();
        let own = ops.len();
        ops.append(&mut self.own_ops);
        Planned { ops, own, finish }
    }

    /// Side-effect operations due now (opening, closing, dropping shards,
    /// retention changes), for hosts that run them outside a call.
    pub fn take_side_ops(&mut self) -> Vec<(ShardKey, ShardOp)> {
        let mut ops = std::mem::take(&mut self.orphan_ops);
        for s in self.streams.values_mut() {
            ops.append(&mut s.ops);
        }
        ops
    }

    /// Finishes a planned call from the results of its operations.
    pub fn finish(
        &mut self,
        planned: Planned,
        results: Vec<ShardOpResult>,
    ) -> Result<Value, ApiError> {
        self.finish_output(planned, results).map(Output::into_value)
    }

    /// Finishes a planned call; the response typed where that is cheaper.
    pub fn finish_output(
        &mut self,
        planned: Planned,
        results: Vec<ShardOpResult>,
    ) -> Result<Output, ApiError> {
        let own: Vec<ShardOpResult> = results.into_iter().skip(planned.own).collect();
        match planned.finish {
            Finish::Ready(v) => Ok(Output::Value(v)),
            Finish::Put {
                stream,
                single,
                slots,
            } => {
                let out = Self::put_output(&slots, &own)?;
                self.put_response(&stream, single, out)
            }
            Finish::Iterator {
                stream,
                created_ms,
                shard_index,
            } => match own.first() {
                Some(ShardOpResult::Position(position)) => {
                    let token = IteratorToken {
                        stream_name: stream,
                        stream_created_ms: created_ms,
                        shard_index,
                        position: *position,
                        issued_ms: self.now_ms,
                    };
                    Ok(Output::Value(
                        json!({ "ShardIterator": token.encode(self.config.token_secret) }),
                    ))
                }
                Some(ShardOpResult::Throttled) => {
                    Err(ApiError::ProvisionedThroughputExceeded(format!(
                        "Rate exceeded for Shard - {}/{stream}/{}",
                        self.account(),
                        shard_id(shard_index)
                    )))
                }
                _ => Err(ApiError::InternalFailure("Internal Service Failure".into())),
            },
            Finish::Records { it } => self.records_response(it, own.into_iter().next()),
        }
    }

    /// Runs a planned call on the in-process shards.
    fn run_local(&mut self, mut planned: Planned) -> Result<Output, ApiError> {
        let results = self.local.run(planned.take_ops());
        self.finish_output(planned, results)
    }

    pub fn config(&self) -> &KinesisConfig {
        &self.config
    }

    /// Answers one API call. `request` is the JSON request body.
    pub fn call(
        &mut self,
        operation: &str,
        request: &Value,
        now_ms: u64,
    ) -> Result<Value, ApiError> {
        self.call_output(operation, request, now_ms)
            .map(Output::into_value)
    }

    /// `call`, with the response as an [`Output`].
    pub fn call_output(
        &mut self,
        operation: &str,
        request: &Value,
        now_ms: u64,
    ) -> Result<Output, ApiError> {
        let planned = match self.plan(operation, request, now_ms) {
            Ok(p) => p,
            Err(e) => {
                // Side effects due before the failure still happen.
                let ops = self.take_side_ops();
                self.local.run(ops);
                return Err(e);
            }
        };
        self.run_local(planned)
    }

    fn dispatch(&mut self, operation: &str, body: &Body) -> Result<Finish, ApiError> {
        match operation {
            "AddTagsToStream" => self.add_tags_to_stream(body).map(Finish::Ready),
            "CreateStream" => self.create_stream(body).map(Finish::Ready),
            "DecreaseStreamRetentionPeriod" => {
                self.change_retention(body, false).map(Finish::Ready)
            }
            "DeleteStream" => self.delete_stream(body).map(Finish::Ready),
            "DeregisterStreamConsumer" => self.deregister_stream_consumer(body).map(Finish::Ready),
            "DescribeLimits" => self.describe_limits().map(Finish::Ready),
            "DescribeStream" => self.describe_stream(body).map(Finish::Ready),
            "DescribeStreamConsumer" => self.describe_stream_consumer(body).map(Finish::Ready),
            "DescribeStreamSummary" => self.describe_stream_summary(body).map(Finish::Ready),
            "GetRecords" => self.get_records(body),
            "GetShardIterator" => self.get_shard_iterator(body),
            "IncreaseStreamRetentionPeriod" => self.change_retention(body, true).map(Finish::Ready),
            "ListShards" => self.list_shards(body).map(Finish::Ready),
            "ListStreamConsumers" => self.list_stream_consumers(body).map(Finish::Ready),
            "ListStreams" => self.list_streams(body).map(Finish::Ready),
            "ListTagsForStream" => self.list_tags_for_stream(body).map(Finish::Ready),
            "MergeShards" => self.merge_shards(body).map(Finish::Ready),
            "PutRecord" => self.put_record(body),
            "PutRecords" => self.put_records(body),
            "RegisterStreamConsumer" => self.register_stream_consumer(body).map(Finish::Ready),
            "RemoveTagsFromStream" => self.remove_tags_from_stream(body).map(Finish::Ready),
            "SplitShard" => self.split_shard(body).map(Finish::Ready),
            "UpdateShardCount" => self.update_shard_count(body).map(Finish::Ready),
            "UpdateStreamMode" => self.update_stream_mode(body).map(Finish::Ready),
            other => Err(ApiError::UnknownOperation(format!(
                "Kinesis has no operation named {other}"
            ))),
        }
    }

    /// `call` with the request as JSON text (what arrives over HTTP).
    pub fn call_bytes(
        &mut self,
        operation: &str,
        body: &[u8],
        now_ms: u64,
    ) -> Result<Value, ApiError> {
        self.serve(operation, body, now_ms).map(Output::into_value)
    }

    /// Request body in, response body out: what the endpoint serves
    /// (empty for calls that answer with no body).
    pub fn serve_bytes(
        &mut self,
        operation: &str,
        body: &[u8],
        now_ms: u64,
    ) -> Result<Vec<u8>, ApiError> {
        self.serve(operation, body, now_ms).map(|o| o.to_bytes())
    }

    fn serve(&mut self, operation: &str, body: &[u8], now_ms: u64) -> Result<Output, ApiError> {
        let value = request::parse_json(body)?;
        self.call_output(operation, &value, now_ms)
    }

    /// Finishes transitions that are due.
    fn advance(&mut self) {
        let now = self.now_ms;
        let mut deleted = Vec::new();
        for (name, s) in self.streams.iter_mut() {
            if let Some((at, change)) = s.pending.clone() {
                if now >= at {
                    s.pending = None;
                    s.status = StreamStatus::Active;
                    match change {
                        Change::Create => {
                            let count = s.next_shard_index;
                            s.next_shard_index = 0;
                            for range in HashKeyRange::even_split(count) {
                                s.add_shard(range, None, None, at);
                            }
                            s.reindex_open();
                        }
                        Change::Delete => deleted.push(name.clone()),
                        Change::Split { parent, new_start } => {
                            s.split(parent, new_start, at);
                        }
                        Change::Merge { a, b } => {
                            s.merge(a, b, at);
                        }
                        Change::UniformScale { target } => s.uniform_scale(target, at),
                        Change::Mode(mode) => {
                            s.mode = mode;
                            // On-demand measuring starts with the switch.
                            s.demand.clear();
                            s.demand_since = at;
                        }
                    }
                }
            }
        }
        for name in deleted {
            if let Some(mut s) = self.streams.remove(&name) {
                s.drop_all();
                self.orphan_ops.append(&mut s.ops);
            }
        }
        self.scale_on_demand();
        self.advance_consumers();
    }

    /// On-demand capacity: at the end of each minute of virtual time, every
    /// open shard of an ACTIVE on-demand stream that was offered more than
    /// 500 KiB/s on average during it is split at the middle of its
    /// hash-key range (AWS: "a shard whose ingress goes over 500 KB/s is
    /// split within 15 minutes"), as far as the account's shard limit
    /// allows. The children then take the load, so a stream grows with its
    /// traffic; a single hot key still cannot go beyond one shard.
    fn scale_on_demand(&mut self) {
        let now = self.now_ms;
        let mut open = self.open_shards_in_account();
        let limit = self.config.shard_limit;
        for s in self.streams.values_mut() {
            if s.mode != StreamMode::OnDemand
                || s.status != StreamStatus::Active
                || now < s.demand_since + ON_DEMAND_WINDOW_MS
            {
                continue;
            }
            // Whole minutes only: an idle stretch counts as idle minutes.
            let minutes = (now - s.demand_since) / ON_DEMAND_WINDOW_MS;
            let hot: Vec<u32> = std::mem::take(&mut s.demand)
                .into_iter()
                .filter(|(i, bytes)| {
                    *bytes > ON_DEMAND_SPLIT_BYTES_PER_SEC * ON_DEMAND_WINDOW_MS / 1000
                        && s.shards.get(i).is_some_and(|sh| sh.closed_ms.is_none())
                })
                .map(|(i, _)| i)
                .collect();
            s.demand_since += minutes * ON_DEMAND_WINDOW_MS;
            for parent in hot {
                if open + 1 > limit {
                    break;
                }
                let range = s.shards[&parent].range;
                let (lo, hi) = (range.starting_hash_key.0, range.ending_hash_key.0);
                if lo == hi {
                    continue;
                }
                // Now, never back in time: the parent took writes until now.
                s.split(parent, lo + (hi - lo) / 2 + 1, now);
                open += 1;
            }
        }
    }

    /// Starts `change` on `name`: at once when transitions take no time,
    /// otherwise in `status` until the transition ends.
    fn begin(&mut self, name: &str, status: StreamStatus, change: Change) {
        let at = self.now_ms + self.config.transition_ms;
        if let Some(s) = self.streams.get_mut(name) {
            s.status = status;
            s.pending = Some((at, change));
        }
        self.advance();
    }

    // ---- naming and lookup -------------------------------------------------

    fn account(&self) -> &str {
        &self.config.account_id
    }

    fn arn(&self, name: &str) -> String {
        format!(
            "arn:aws:kinesis:{}:{}:stream/{name}",
            self.config.region, self.config.account_id
        )
    }

    fn stream_not_found(&self, name: &str) -> ApiError {
        ApiError::not_found(format!(
            "Stream {name} under account {} not found.",
            self.account()
        ))
    }

    fn not_active(&self, s: &Stream) -> ApiError {
        ApiError::in_use(format!(
            "Stream {} under account {} not ACTIVE, instead in state {}",
            s.name,
            self.account(),
            s.status.as_str()
        ))
    }

    /// Validates and resolves `StreamName` / `StreamARN` (either, or both
    /// naming the same stream), adding constraint violations to `v`.
    fn stream_name_from(
        &self,
        body: &Body,
        v: &mut Validation,
        required: bool,
    ) -> Result<Option<String>, ApiError> {
        let name = body.str("StreamName")?;
        let arn = body.str("StreamARN")?;
        v.name(name, "streamName");
        if let Some(a) = arn {
            v.length(Some(a), "streamARN", 1, 2048);
        }
        let from_arn = match arn {
            Some(a) => Some(self.parse_arn(a)?),
            None => None,
        };
        match (name, from_arn) {
            (Some(n), Some(a)) if n != a => Err(ApiError::invalid_argument(format!(
                "StreamARN {} and StreamName {n} name different streams.",
                arn.unwrap_or_default()
            ))),
            (Some(n), _) => Ok(Some(n.to_string())),
            (None, Some(a)) => Ok(Some(a)),
            (None, None) => {
                if required {
                    v.required::<()>(&None, "streamName");
                }
                Ok(None)
            }
        }
    }

    fn parse_arn(&self, arn: &str) -> Result<String, ApiError> {
        let prefix = format!(
            "arn:aws:kinesis:{}:{}:stream/",
            self.config.region, self.config.account_id
        );
        match arn.strip_prefix(&prefix) {
            Some(name) if is_name(name) && name.len() <= 128 => Ok(name.to_string()),
            _ if arn.starts_with("arn:aws") && arn.contains(":stream/") => {
                // A well-formed ARN of another account or Region: no such stream here.
                let name = arn.rsplit(":stream/").next().unwrap_or(arn);
                Err(self.stream_not_found(name))
            }
            _ => Err(ApiError::validation(format!(
                "1 validation error detected: Value '{arn}' at 'streamARN' failed to satisfy \
                 constraint: Member must satisfy regular expression pattern: \
                 arn:aws.*:kinesis:.*:\\d{{12}}:stream/\\S+"
            ))),
        }
    }

    fn stream(&self, name: &str) -> Result<&Stream, ApiError> {
        self.streams
            .get(name)
            .ok_or_else(|| self.stream_not_found(name))
    }

    fn stream_mut(&mut self, name: &str) -> Result<&mut Stream, ApiError> {
        let missing = self.stream_not_found(name);
        self.streams.get_mut(name).ok_or(missing)
    }

    fn open_shards_in_account(&self) -> u32 {
        self.streams.values().map(Stream::open_count).sum::<u32>()
            + self
                .streams
                .values()
                .filter(|s| matches!(s.pending, Some((_, Change::Create))))
                .map(|s| s.next_shard_index)
                .sum::<u32>()
    }

    fn shard_limit_error(&self, additional: u32) -> ApiError {
        ApiError::limit_exceeded(format!(
            "This request would exceed the shard limit for the account {} in {}. Current shard \
             count for the account: {}. Limit: {}. Number of additional shards that would have \
             resulted from this request: {additional}. Refer to the AWS Service Limits page \
             (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current \
             limits and how to request higher limits.",
            self.account(),
            self.config.region,
            self.open_shards_in_account(),
            self.config.shard_limit
        ))
    }

    /// Resolves a `ShardId` the way AWS's parser does: the digits after
    /// the first `-` (or the whole value), as a non-negative 32-bit index.
    fn parse_shard_id(raw: &str) -> Option<u32> {
        let digits = raw.split_once('-').map_or(raw, |(_, rest)| rest);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits
            .parse::<u64>()
            .ok()
            .filter(|&i| i <= i32::MAX as u64)
            .map(|i| i as u32)
    }

    fn validate_shard_id(v: &mut Validation, value: Option<&str>, path: &str) {
        if let Some(s) = value {
            v.pattern(Some(s), path, is_name(s), request::STREAM_NAME_PATTERN);
            v.length(Some(s), path, 1, 128);
        }
    }

    // ---- stream lifecycle --------------------------------------------------

    fn create_stream(&mut self, body: &Body) -> Result<Value, ApiError> {
        let mut v = Validation::new();
        let name = body.str("StreamName")?;
        v.required(&name, "streamName");
        v.name(name, "streamName");
        let count = body.int("ShardCount")?;
        v.range(count, "shardCount", 1, 100_000);
        let mode = match body.object("StreamModeDetails")? {
            Some(d) => {
                let m = d.str("StreamMode")?;
                v.required(&m, "streamModeDetails.streamMode");
                v.one_of(
                    m,
                    "streamModeDetails.streamMode",
                    &["PROVISIONED", "ON_DEMAND"],
                );
                if m == Some("ON_DEMAND") {
                    StreamMode::OnDemand
                } else {
                    StreamMode::Provisioned
                }
            }
            None => StreamMode::Provisioned,
        };
        if mode == StreamMode::Provisioned {
            v.required(&count, "shardCount");
        }
        let tags = body.string_map("Tags")?.unwrap_or_default();
        v.finish()?;
        let name = name.unwrap_or_default().to_string();
        let count = match (mode, count) {
            (_, Some(c)) => c as u32,
            (StreamMode::OnDemand, None) => ON_DEMAND_INITIAL_SHARDS,
            (StreamMode::Provisioned, None) => {
                return Err(ApiError::InternalFailure("Internal Service Failure".into()))
            }
        };
        self.check_tags(&name, &tags, 0)?;
        if self.streams.contains_key(&name) {
            return Err(ApiError::in_use(format!(
                "Stream {name} under account {} already exists.",
                self.account()
            )));
        }
        if self.open_shards_in_account() + count > self.config.shard_limit {
            return Err(self.shard_limit_error(count));
        }
        let id = self.next_stream_id;
        self.next_stream_id += 1;
        let stream = Stream {
            key_histogram: Box::new([0; KEY_BUCKETS]),
            id,
            ops: Vec::new(),
            arn: self.arn(&name),
            name: name.clone(),
            created_ms: self.now_ms,
            status: StreamStatus::Creating,
            pending: None,
            mode,
            retention_hours: MIN_RETENTION_HOURS as u32,
            shards: BTreeMap::new(),
            open: Vec::new(),
            // Holds the shard count until creation completes.
            next_shard_index: count,
            tags: tags.into_iter().collect(),
            shard_count_updates: Vec::new(),
            consumers: BTreeMap::new(),
            demand: BTreeMap::new(),
            demand_since: self.now_ms,
        };
        self.streams.insert(name.clone(), stream);
        self.begin(&name, StreamStatus::Creating, Change::Create);
        Ok(Value::Null)
    }

    fn delete_stream(&mut self, body: &Body) -> Result<Value, ApiError> {
        let mut v = Validation::new();
        let name = self.stream_name_from(body, &mut v, true)?;
        let enforce = body.bool("EnforceConsumerDeletion")?.unwrap_or(false);
        v.finish()?;
        let name = name.unwrap_or_default();
        let s = self.stream(&name)?;
        if s.status == StreamStatus::Deleting {
            return Ok(Value::Null);
        }
        if !s.consumers.is_empty() && !enforce {
            return Err(ApiError::in_use(format!(
                "Stream {name} under account {} has {} registered consumers; deregister them or \
                 set EnforceConsumerDeletion to delete the stream with its consumers.",
                self.account(),
                s.consumers.len()
            )));
        }
        self.begin(&name, StreamStatus::Deleting, Change::Delete);
        Ok(Value::Null)
    }

    fn describe_limits(&mut self) -> Result<Value, ApiError> {
        let on_demand = self
            .streams
            .values()
            .filter(|s| s.mode == StreamMode::OnDemand)
            .count();
        Ok(json!({
            "ShardLimit": self.config.shard_limit,
            "OpenShardCount": self.open_shards_in_account(),
            "OnDemandStreamCount": on_demand,
            "OnDemandStreamCountLimit": 50,
        }))
    }

    fn shard_json(&self, index: u32, s: &Shard) -> Value {
        let mut o = Map::new();
        o.insert("ShardId".into(), json!(shard_id(index)));
        if let Some(p) = s.parent {
            o.insert("ParentShardId".into(), json!(shard_id(p)));
        }
        if let Some(p) = s.adjacent_parent {
            o.insert("AdjacentParentShardId".into(), json!(shard_id(p)));
        }
        o.insert(
            "HashKeyRange".into(),
            json!({
                "StartingHashKey": s.range.starting_hash_key.to_string(),
                "EndingHashKey": s.range.ending_hash_key.to_string(),
            }),
        );
        let mut seq = Map::new();
        seq.insert(
            "StartingSequenceNumber".into(),
            json!(s.starting_sequence_number(index).to_string()),
        );
        if let Some(end) = s.ending_sequence_number(index) {
            seq.insert("EndingSequenceNumber".into(), json!(end.to_string()));
        }
        o.insert("SequenceNumberRange".into(), Value::Object(seq));
        Value::Object(o)
    }

    fn mode_json(s: &Stream) -> Value {
        json!({ "StreamMode": s.mode.as_str() })
    }

    fn describe_stream(&mut self, body: &Body) -> Result<Value, ApiError> {
        let mut v = Validation::new();
        let name = self.stream_name_from(body, &mut v, true)?;
        let limit = body.int("Limit")?;
        v.range(limit, "limit", 1, 10_000);
        let start = body.str("ExclusiveStartShardId")?;
        Self::validate_shard_id(&mut v, start, "exclusiveStartShardId");
        v.finish()?;
        let name = name.unwrap_or_default();
        let now = self.now_ms;
        self.stream_mut(&name)?.expire_shards(now);
        let s = self.stream(&name)?;
        let after = start.and_then(Self::parse_shard_id);
        let limit = limit.unwrap_or(100).min(100) as usize;
        let listed: Vec<(&u32, &Shard)> = s
            .shards
            .iter()
            .filter(|(i, _)| after.is_none_or(|a| **i > a))
            .collect();
        let shards: Vec<Value> = listed
            .iter()
            .take(limit)
            .map(|(i, sh)| self.shard_json(**i, sh))
            .collect();
        Ok(json!({
            "StreamDescription": {
                "StreamName": s.name,
                "StreamARN": s.arn,
                "StreamStatus": s.status.as_str(),
                "StreamModeDetails": Self::mode_json(s),
                "Shards": shards,
                "HasMoreShards": listed.len() > limit,
                "RetentionPeriodHours": s.retention_hours,
                "StreamCreationTimestamp": epoch_secs(s.created_ms),
                "EnhancedMonitoring": [{ "ShardLevelMetrics": [] }],
                "EncryptionType": "NONE",
            }
        }))
    }

    fn describe_stream_summary(&mut self, body: &Body) -> Result<Value, ApiError> {
        let mut v = Validation::new();
        let name = self.stream_name_from(body, &mut v, true)?;
        v.finish()?;
        let s = self.stream(&name.unwrap_or_default())?;
        Ok(json!({
            "StreamDescriptionSummary": {
                "StreamName": s.name,
                "StreamARN": s.arn,
                "StreamStatus": s.status.as_str(),
                "StreamModeDetails": Self::mode_json(s),
                "RetentionPeriodHours": s.retention_hours,
                "StreamCreationTimestamp": epoch_secs(s.created_ms),
                "EnhancedMonitoring": [{ "ShardLevelMetrics": [] }],
                "EncryptionType": "NONE",
                "OpenShardCount": s.open_count(),
                "ConsumerCount": s.consumers.len(),
                "MaxRecordSizeInKiB": MAX_RECORD_BYTES / 1024,
            }
        }))
    }

    fn list_streams(&mut self, body: &Body) -> Result<Value, ApiError> {
        let mut v = Validation::new();
        let limit = body.int("Limit")?;
        v.range(limit, "limit", 1, 10_000);
        let start = body.str("ExclusiveStartStreamName")?;
        v.name(start, "exclusiveStartStreamName");
        let token = body.str("NextToken")?;
        v.length(token, "nextToken", 1, 1_048_576);
        v.finish()?;
        // NextToken is the last name listed, base64-encoded.
        let after = match token {
            Some(t) => Some(
                BASE64
                    .decode(t)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| ApiError::invalid_argument("Invalid NextToken."))?,
            ),
            None => start.map(str::to_string),
        };
        let limit = limit.unwrap_or(100).min(100) as usize;
        let names: Vec<&Stream> = self
            .streams
            .values()
            .filter(|s| after.as_ref().is_none_or(|a| s.name > *a))
            .collect();
        let page = &names[..names.len().min(limit)];
        let more = names.len() > page.len();
        let mut out = json!({
            "StreamNames": page.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
            "HasMoreStreams": more,
            "StreamSummaries": page.iter().map(|s| json!({
                "StreamName": s.name,
                "StreamARN": s.arn,
                "StreamStatus": s.status.as_str(),
                "StreamModeDetails": Self::mode_json(s),
                "StreamCreationTimestamp": epoch_secs(s.created_ms),
            })).collect::<Vec<_>>(),
        });
        if more {
            if let Some(last) = page.last() {
                out["NextToken"] = json!(BASE64.encode(last.name.as_bytes()));
            }
        }
        Ok(out)
    }

    fn list_shards(&mut self, body: &Body) -> Result<Value, ApiError> {
        let mut v = Validation::new();
        let token = body.str("NextToken")?;
        let name = self.stream_name_from(body, &mut v, false)?;
        let max = body.int("MaxResults")?;
        v.range(max, "maxResults", 1, 10_000);
        let start = body.str("ExclusiveStartShardId")?;
        Self::validate_shard_id(&mut v, start, "exclusiveStartShardId");
        let filter = body.object("ShardFilter")?;
        let (filter_type, filter_shard, filter_ts) = match &filter {
            Some(f) => {
                let t = f.str("Type")?;
                v.required(&t, "shardFilter.type");
                v.one_of(
                    t,
                    "shardFilter.type",
                    &[
                        "AFTER_SHARD_ID",
                        "AT_TRIM_HORIZON",
                        "FROM_TRIM_HORIZON",
                        "AT_LATEST",
                        "AT_TIMESTAMP",
                        "FROM_TIMESTAMP",
                    ],
                );
                (t, f.str("ShardId")?, f.timestamp_ms("Timestamp")?)
            }
            None => (None, None, None),
        };
        v.finish()?;
        let secret = self.config.token_secret;
        let now = self.now_ms;
        let (name, after, max) = match (token, name) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid_argument(
                    "NextToken and StreamName cannot be provided together.",
                ))
            }
            (None, None) => {
                return Err(ApiError::invalid_argument(
                    "Either NextToken or StreamName should be provided.",
                ))
            }
            (Some(t), None) => {
                let t = ListShardsToken::decode(t, secret)
                    .ok_or_else(|| ApiError::invalid_argument("Invalid NextToken."))?;
                if now.saturating_sub(t.issued_ms) > NEXT_TOKEN_TTL_MS {
                    return Err(ApiError::ExpiredNextToken(format!(
                        "The NextToken has expired: it was issued at {} and is valid for 300 seconds.",
                        amz_utc_string(t.issued_ms)
                    )));
                }
                let s = self.stream(&t.stream_name)?;
                if s.created_ms != t.stream_created_ms {
                    return Err(self.stream_not_found(&t.stream_name));
                }
                let max = max.map_or(t.max_results, |m| m as u32);
                (t.stream_name, Some(t.after_shard_index), max)
            }
            (None, Some(n)) => {
                let mut after = start.and_then(Self::parse_shard_id);
                if filter_type == Some("AFTER_SHARD_ID") {
                    match filter_shard {
                        Some(id) => after = Self::parse_shard_id(id),
                        None => {
                            return Err(ApiError::invalid_argument(
                                "ShardFilter of type AFTER_SHARD_ID requires a ShardId.",
                            ))
                        }
                    }
                }
                (n, after, max.map_or(1000, |m| m as u32))
            }
        };
        if matches!(filter_type, Some("AT_TIMESTAMP" | "FROM_TIMESTAMP")) && filter_ts.is_none() {
            return Err(ApiError::invalid_argument(format!(
                "ShardFilter of type {} requires a Timestamp.",
                filter_type.unwrap_or_default()
            )));
        }
        self.stream_mut(&name)?.expire_shards(now);
        let s = self.stream(&name)?;
        if s.status == StreamStatus::Creating {
            return Err(self.not_active(s));
        }
        let horizon = now.saturating_sub(u64::from(s.retention_hours) * HOUR_MS);
        let keep = |sh: &Shard| -> bool {
            let created = sh.created_ms;
            let closed = sh.closed_ms;
            match filter_type {
                Some("AT_LATEST") => closed.is_none(),
                Some("AT_TRIM_HORIZON") => {
                    created <= horizon && closed.is_none_or(|c| c >= horizon)
                }
                Some("AT_TIMESTAMP") => {
                    let t = filter_ts.unwrap_or(now);
                    created <= t && closed.is_none_or(|c| c >= t)
                }
                Some("FROM_TIMESTAMP") => {
                    let t = filter_ts.unwrap_or(now).max(horizon);
                    closed.is_none_or(|c| c >= t)
                }
                _ => true,
            }
        };
        let listed: Vec<(u32, &Shard)> = s
            .shards
            .iter()
            .filter(|(i, sh)| after.is_none_or(|a| **i > a) && keep(sh))
            .map(|(i, sh)| (*i, sh))
            .collect();
        let max = (max as usize).min(1000);
        let page = &listed[..listed.len().min(max)];
        let mut out = json!({
            "Shards": page.iter().map(|(i, sh)| self.shard_json(*i, sh)).collect::<Vec<_>>(),
        });
        if listed.len() > page.len() {
            if let Some((last, _)) = page.last() {
                out["NextToken"] = json!(ListShardsToken {
                    stream_name: s.name.clone(),
                    stream_created_ms: s.created_ms,
                    after_shard_index: *last,
                    max_results: max as u32,
                    issued_ms: now,
                }
                .encode(secret));
            }
        }
        Ok(out)
    }

    // ---- tags --------------------------------------------------------------

    fn check_tags(
        &self,
        stream: &str,
        tags: &[(String, String)],
        existing: usize,
    ) -> Result<(), ApiError> {
        for (k, val) in tags {
            let ok = |s: &str| {
                s.chars()
                    .all(|c| c.is_alphanumeric() || c == ' ' || "_./=+-%@:".contains(c))
            };
            if k.is_empty() || k.chars().count() > 128 || val.chars().count() > 256 {
                return Err(ApiError::invalid_argument(
                    "Tag keys must be 1 to 128 characters and tag values at most 256 characters.",
                ));
            }
            if !ok(k) || !ok(val) {
                return Err(ApiError::invalid_argument(
                    "Some tags contain invalid characters. Valid characters: Unicode letters, \
                     digits, white space, _ . / = + - % @.",
                ));
            }
            if k.contains('%') || val.contains('%') {
                return Err(ApiError::invalid_argument(format!(
                    "Failed to add tags to stream {stream} under account {} because some tags \
                     contained illegal characters. The allowed characters are Unicode letters, \
                     white-spaces, '_',',','/','=','+','-','@'.",
                    self.account()
                )));
            }
        }
        if existing + tags.len() > MAX_TAGS_PER_STREAM {
            return Err(ApiError::limit_exceeded(format!(
                "Failed to add tags to stream {stream} under account {} because a given stream \
                 cannot have more than {MAX_TAGS_PER_STREAM} tags.",
                self.account()
            )));
        }
        Ok(())
    }

    fn add_tags_to_stream(&mut self, body: &Body) -> Result<Value, ApiError> {
        let mut v = Validation::new();
        let name = self.stream_name_from(body, &mut v, true)?;
        let tags = body.string_map("Tags")?;
        v.required(&tags, "tags");
        if let Some(t) = &tags {
            if t.is_empty() || t.len() > 200 {
                v.fail(Some("{...}"), "tags", "have length between 1 and 200");
            }
        }
        v.finish()?;
        let name = name.unwrap_or_default();
        let tags = tags.unwrap_or_default();
        let s = self.stream(&name)?;
        let new_keys = tags.iter().filter(|(k, _)| !s.tags.contains_key(k)).count();
        // Overwriting an existing key does not add a tag.
        let existing = (s.tags.len() + new_keys).saturating_sub(tags.len());
        self.check_tags(&name, &tags, existing)?;
        self.stream_mut(&name)?.tags.extend(tags);
        Ok(Value::Null)
    }

    fn remove_tags_from_stream(&mut self, body: &Body) -> Result<Value, ApiError> {
        let mut v = Validation::new();
        let name = self.stream_name_from(body, &mut v, true)?;
        let keys = body.array("TagKeys")?;
        v.required(&keys, "tagKeys");
        v.finish()?;
        let keys: Vec<String> = keys
            .map(|k| {
                k.iter()
                    .filter_map(string_member)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let s = self.stream_mut(&name.unwrap_or_default())?;
        for k in keys {
            s.tags.remove(&k);
        }
        Ok(Value::Null)
    }

    fn list_tags_for_stream(&mut self, body: &Body) -> Result<Value, ApiError> {
        let mut v = Validation::new();
        let name = self.stream_name_from(body, &mut v, true)?;
        let limit = body.int("Limit")?;
        v.range(limit, "limit", 1, 50);
        let start = body.str("ExclusiveStartTagKey")?;
        v.length(start, "exclusiveStartTagKey", 1, 128);
        v.finish()?;
        let s = self.stream(&name.unwrap_or_default())?;
        Ok(request::tag_page(
            &s.tags,
            start,
            limit.unwrap_or(50) as usize,
        ))
    }

    // ---- retention ---------------------------------------------------------

    fn change_retention(&mut self, body: &Body, increase: bool) -> Result<Value, ApiError> {
        let mut v = Validation::new();
        let name = self.stream_name_from(body, &mut v, true)?;
        let hours = body.int("RetentionPeriodHours")?;
        v.required(&hours, "retentionPeriodHours");
        v.finish()?;
        let name = name.unwrap_or_default();
        let hours = hours.unwrap_or_default();
        let s = self.stream(&name)?;
        if hours < MIN_RETENTION_HOURS {
            return Err(ApiError::invalid_argument(format!(
                "Minimum allowed retention period is 24 hours. Requested retention period ({hours} hours) is too short."
            )));
        }
        if hours > MAX_RETENTION_HOURS {
            return Err(ApiError::invalid_argument(format!(
                "Maximum allowed retention period is 8760 hours. Requested retention period ({hours} hours) is too long."
            )));
        }
        let current = i64::from(s.retention_hours);
        if increase && hours < current {
            return Err(ApiError::invalid_argument(format!(
                "Requested retention period ({hours} hours) for stream {name} can not be shorter than existing retention period ({current} hours). Use DecreaseRetentionPeriod API."
            )));
        }
        if !increase && hours > current {
            return Err(ApiError::invalid_argument(format!(
                "Requested retention period ({hours} hours) for stream {name} can not be longer than existing retention period ({current} hours). Use IncreaseRetentionPeriod API."
            )));
        }
        if s.status != StreamStatus::Active {
            return Err(self.not_active(s));
        }
        let now = self.now_ms;
        let s = self.stream_mut(&name)?;
        // Shards and records past the old period are gone before it changes.
        s.expire_shards(now);
        s.retention_hours = hours as u32;
        let ops: Vec<(ShardKey, ShardOp)> = s
            .shards
            .keys()
            .map(|i| {
                (
                    s.key(*i),
                    ShardOp::SetRetention {
                        retention_ms: hours as u64 * HOUR_MS,
                        now_ms: now,
                    },
                )
            })
            .collect();
        s.ops.extend(ops);
        s.expire_shards(now);
        Ok(Value::Null)
    }

    // ---- writes ------------------------------------------------------------

    /// Validates one record's members; `path` is `""` for PutRecord and
    /// `records.N.member.` for PutRecords.
    fn validate_entry(
        v: &mut Validation,
        entry: &Body,
        path: &str,
    ) -> Result<Option<RecordInput>, ApiError> {
        let key = entry.str("PartitionKey")?;
        let data = entry.str("Data")?;
        let ehk = entry.str("ExplicitHashKey")?;
        let p = |m: &str| format!("{path}{m}");
        v.required(&data, &p("data"));
        v.required(&key, &p("partitionKey"));
        v.length(key, &p("partitionKey"), 1, 256);
        if let Some(e) = ehk {
            v.pattern(
                Some(e),
                &p("explicitHashKey"),
                is_decimal(e, 38),
                HASH_KEY_PATTERN,
            );
        }
        let bytes = match data {
            Some(d) => Some(BASE64.decode(d).map_err(|_| {
                ApiError::Serialization(format!("{}Data is not valid base64", path))
            })?),
            None => None,
        };
        if let Some(b) = &bytes {
            if b.len() > MAX_RECORD_BYTES {
                v.fail(
                    Some(&format!(
                        "java.nio.HeapByteBuffer[pos=0 lim={0} cap={0}]",
                        b.len()
                    )),
                    &p("data"),
                    &format!("have length less than or equal to {MAX_RECORD_BYTES}"),
                );
            }
        }
        Ok(match (key, bytes) {
            (Some(k), Some(b)) => Some((k.to_string(), b, ehk.map(str::to_string))),
            _ => None,
        })
    }

    fn writable(&self, name: &str) -> Result<&Stream, ApiError> {
        let s = self.stream(name)?;
        if s.status == StreamStatus::Creating {
            return Err(self.stream_not_found(name));
        }
        Ok(s)
    }

    fn throttled_message(&self, stream: &str, index: u32) -> String {
        format!(
            "Rate exceeded for shard {} in stream {stream} under account {}.",
            shard_id(index),
            self.account()
        )
    }

    fn put_record(&mut self, body: &Body) -> Result<Finish, ApiError> {
        let mut v = Validation::new();
        let name = self.stream_name_from(body, &mut v, true)?;
        let entry = Self::validate_entry(&mut v, body, "")?;
        let ordering = body.str("SequenceNumberForOrdering")?;
        if let Some(o) = ordering {
            v.pattern(
                Some(o),
                "sequenceNumberForOrdering",
                is_decimal(o, 128),
                SEQUENCE_NUMBER_PATTERN,
            );
        }
        v.finish()?;
        let name = name.unwrap_or_default();
        let Some((partition_key, data, ehk)) = entry else {
            return Err(ApiError::InternalFailure("Internal Service Failure".into()));
        };
        self.writable(&name)?;
        if let Some(o) = ordering {
            // Our sequence numbers increase strictly within a shard, so any
            // well-formed earlier number is already satisfied; a malformed
            // one is refused as AWS refuses it.
            if o != "0" && SequenceNumber::parse(o).is_none() {
                return Err(ApiError::invalid_argument(format!(
                    "ExclusiveMinimumSequenceNumber {o} used in PutRecord on stream {name} under account {} is invalid.",
                    self.account()
                )));
            }
        }
        self.plan_put(
            &name,
            vec![PutRecordsEntry {
                partition_key,
                data,
                explicit_hash_key: ehk,
                made: None,
            }],
            true,
        )
    }

    fn put_records(&mut self, body: &Body) -> Result<Finish, ApiError> {
        let mut v = Validation::new();
        let name = self.stream_name_from(body, &mut v, true)?;
        let records = body.array("Records")?;
        v.required(&records, "records");
        let mut entries = Vec::new();
        if let Some(list) = records {
            v.items(
                list.len(),
                "records",
                1,
                500,
                Some("[com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry]"),
            );
            for (i, r) in list.iter().enumerate() {
                let entry = Body::new(r)?;
                let path = format!("records.{}.member.", i + 1);
                entries.push(Self::validate_entry(&mut v, &entry, &path)?);
            }
        }
        v.finish()?;
        let name = name.unwrap_or_default();
        let entries = entries
            .into_iter()
            .flatten()
            .map(|(partition_key, data, explicit_hash_key)| PutRecordsEntry {
                partition_key,
                data,
                explicit_hash_key,
                made: None,
            })
            .collect();
        self.plan_put(&name, entries, false)
    }

    fn put_response(
        &self,
        name: &str,
        single: bool,
        out: PutRecordsOutput,
    ) -> Result<Output, ApiError> {
        if single {
            return match out.records.first() {
                Some(PutRecordsResult::Accepted {
                    shard_index,
                    sequence_number,
                }) => Ok(Output::Value(json!({
                    "ShardId": shard_id(*shard_index),
                    "SequenceNumber": sequence_number.to_string(),
                    "EncryptionType": "NONE",
                }))),
                Some(PutRecordsResult::Throttled { shard_index }) => {
                    Err(ApiError::ProvisionedThroughputExceeded(
                        self.throttled_message(name, *shard_index),
                    ))
                }
                None => Err(ApiError::InternalFailure("Internal Service Failure".into())),
            };
        }
        let records = out
            .records
            .iter()
            .map(|r| match r {
                PutRecordsResult::Accepted {
                    shard_index,
                    sequence_number,
                } => PutResultJson::Accepted {
                    sequence_number: *sequence_number,
                    shard_id: shard_id(*shard_index),
                },
                PutRecordsResult::Throttled { shard_index } => PutResultJson::Failed {
                    error_code: "ProvisionedThroughputExceededException",
                    error_message: self.throttled_message(name, *shard_index),
                },
            })
            .collect();
        Ok(Output::Puts(PutRecordsResponse {
            encryption_type: "NONE",
            failed_record_count: u64::from(out.failed_record_count),
            records,
        }))
    }

    /// PutRecords without JSON, on the in-process shards, at the
    /// service's current time (see [`Kinesis::set_now`]).
    pub fn put_records_typed(
        &mut self,
        stream: &str,
        entries: Vec<PutRecordsEntry>,
    ) -> Result<PutRecordsOutput, ApiError> {
        let now = self.now_ms;
        let mut planned = self.plan_put_records(stream, entries, now)?;
        let results = self.local.run(planned.take_ops());
        self.finish_put_records(planned, results)
    }

    /// Plans a typed PutRecords (what the simulation calls): the entries
    /// must satisfy the request's shape constraints (1–500 entries, keys of
    /// 1–256 characters); sizes, explicit hash keys and the stream's state
    /// are checked here, and a malformed entry fails the whole request
    /// before anything is written.
    /// Records offered to `stream`'s PutRecord(s) since the last call, by
    /// where their hash keys fall: bucket `i` holds the keys whose top 8
    /// bits are `i` (1/256 of the hash-key space each). Clears the counts.
    pub fn take_key_histogram(&mut self, stream: &str) -> [u64; KEY_BUCKETS] {
        self.streams.get_mut(stream).map_or([0; KEY_BUCKETS], |s| {
            std::mem::replace(&mut *s.key_histogram, [0; KEY_BUCKETS])
        })
    }

    pub fn plan_put_records(
        &mut self,
        stream: &str,
        entries: Vec<PutRecordsEntry>,
        now_ms: u64,
    ) -> Result<Planned, ApiError> {
        self.set_now(now_ms);
        self.own_ops.clear();
        let finish = self
            .plan_put(stream, entries, false)
            .inspect_err(|_| self.own_ops.clear())?;
        Ok(self.planned(finish))
    }

    /// Finishes a typed PutRecords.
    pub fn finish_put_records(
        &mut self,
        planned: Planned,
        results: Vec<ShardOpResult>,
    ) -> Result<PutRecordsOutput, ApiError> {
        match planned.finish {
            Finish::Put { slots, .. } => {
                let own: Vec<ShardOpResult> = results.into_iter().skip(planned.own).collect();
                Self::put_output(&slots, &own)
            }
            _ => Err(ApiError::InternalFailure("not a PutRecords plan".into())),
        }
    }

    fn put_output(
        slots: &[(usize, usize, u32)],
        own: &[ShardOpResult],
    ) -> Result<PutRecordsOutput, ApiError> {
        let mut failed_record_count = 0;
        let mut records = Vec::with_capacity(slots.len());
        let made = own
            .iter()
            .any(|r| matches!(r, ShardOpResult::PutMade { .. }));
        let mut prints = Vec::with_capacity(if made { slots.len() } else { 0 });
        for &(op, pos, shard_index) in slots {
            let outcome = match own.get(op) {
                Some(ShardOpResult::Put(outcomes)) => {
                    if made {
                        prints.push(0);
                    }
                    outcomes.get(pos).copied()
                }
                Some(ShardOpResult::PutMade {
                    outcomes,
                    prints: p,
                }) => {
                    prints.push(p.get(pos).copied().unwrap_or_default());
                    outcomes.get(pos).copied()
                }
                _ => None,
            };
            records.push(match outcome {
                Some(PutOutcome::Accepted(sequence_number)) => PutRecordsResult::Accepted {
                    shard_index,
                    sequence_number,
                },
                Some(PutOutcome::Throttled) => {
                    failed_record_count += 1;
                    PutRecordsResult::Throttled { shard_index }
                }
                None => return Err(ApiError::InternalFailure("Internal Service Failure".into())),
            });
        }
        Ok(PutRecordsOutput {
            failed_record_count,
            records,
            prints,
        })
    }

    /// Routes the entries and queues one Put per shard touched (entries in
    /// request order within each shard).
    fn plan_put(
        &mut self,
        stream: &str,
        entries: Vec<PutRecordsEntry>,
        single: bool,
    ) -> Result<Finish, ApiError> {
        self.writable(stream)?;
        let total: usize = entries.iter().map(PutRecordsEntry::size).sum();
        if !single && total > self.config.put_records_max_bytes {
            return Err(ApiError::invalid_argument(format!(
                "Records size exceeds {} MB limit",
                self.config.put_records_max_bytes / (1024 * 1024)
            )));
        }
        // Sizes and explicit hash keys are checked in request order, so the
        // first bad entry names the error; the partition keys of the rest
        // are hashed together (independent MD5s share SIMD lanes).
        let mut keys = vec![HashKey(0); entries.len()];
        // The text of the keys that travel as UUIDs' bytes, to hash.
        let uuid_texts: Vec<[u8; UuidKey::LEN]> = entries
            .iter()
            .filter(|e| e.explicit_hash_key.is_none())
            .filter_map(|e| Some(e.made?.key?.text()))
            .collect();
        let mut uuid_texts_left = uuid_texts.iter();
        let mut hashed: Vec<&[u8]> = Vec::with_capacity(entries.len());
        for (e, key) in entries.iter().zip(keys.iter_mut()) {
            let size = e.size();
            if size > MAX_RECORD_BYTES {
                return Err(ApiError::invalid_argument(format!(
                    "Record size of {size} bytes (data plus partition key) exceeds the maximum record size of {MAX_RECORD_BYTES} bytes."
                )));
            }
            match (&e.explicit_hash_key, e.made.and_then(|m| m.key)) {
                (Some(ehk), _) => *key = HashKey::parse_explicit(ehk)?,
                (None, Some(_)) => hashed.push(uuid_texts_left.next().map_or(&[], |t| &t[..])),
                (None, None) => hashed.push(e.partition_key.as_bytes()),
            }
        }
        let digests = HashKey::from_partition_keys(&hashed);
        drop(hashed);
        let mut digests = digests.into_iter();
        for (e, key) in entries.iter().zip(keys.iter_mut()) {
            if e.explicit_hash_key.is_none() {
                *key = digests.next().unwrap_or(HashKey(0));
            }
        }
        let now = self.now_ms;
        let enforce = self.config.enforce_limits;
        let missing = self.stream_not_found(stream);
        let s = self.streams.get_mut(stream).ok_or(missing)?;
        // Route first and count per shard, so each shard's Put is allocated
        // once at its size. One Put per shard touched, in first-touch
        // order (its own op): (shard index, entries, bytes).
        let mut per_shard: Vec<(u32, usize, u64)> = Vec::new();
        // The op of each open shard touched so far, by its place in `open`.
        let mut op_of_open = vec![usize::MAX; s.open.len()];
        let mut shard_of = Vec::with_capacity(keys.len());
        for (key, e) in keys.iter().zip(&entries) {
            // Where the keys land is counted in the routing loop: one pass.
            s.key_histogram[(key.0 >> (128 - KEY_BUCKET_BITS)) as usize & (KEY_BUCKETS - 1)] += 1;
            let (pos, shard_index) = s
                .route_open(*key)
                .ok_or_else(|| ApiError::InternalFailure("Internal Service Failure".into()))?;
            let op = match op_of_open[pos] {
                usize::MAX => {
                    op_of_open[pos] = per_shard.len();
                    per_shard.push((shard_index, 0, 0));
                    per_shard.len() - 1
                }
                op => op,
            };
            per_shard[op].1 += 1;
            per_shard[op].2 += e.size() as u64;
            shard_of.push((shard_index, op));
        }
        if s.mode == StreamMode::OnDemand {
            for (shard_index, _, bytes) in &per_shard {
                *s.demand.entry(*shard_index).or_default() += bytes;
            }
        }
        let mut puts: Vec<(ShardKey, Vec<PutEntry>)> = per_shard
            .iter()
            .map(|(i, count, _)| (s.key(*i), Vec::with_capacity(*count)))
            .collect();
        let mut slots = Vec::with_capacity(keys.len());
        for (e, (shard_index, op)) in entries.into_iter().zip(shard_of) {
            slots.push((op, puts[op].1.len(), shard_index));
            puts[op].1.push(PutEntry {
                partition_key: e.partition_key,
                data: e.data,
                arrival_ms: now,
                made: e.made,
            });
        }
        let base = self.own_ops.len();
        for (key, entries) in puts {
            self.own_ops.push((key, ShardOp::Put { entries, enforce }));
        }
        for slot in &mut slots {
            slot.0 += base;
        }
        Ok(Finish::Put {
            stream: stream.to_string(),
            single,
            slots,
        })
    }

    /// Moves the service's clock to `now_ms` (never backwards) and
    /// finishes due transitions; `call` does this itself, typed calls
    /// rely on it.
    pub fn set_now(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        self.advance();
    }

    // ---- reads -------------------------------------------------------------

    fn shard_missing(&self, stream: &str, index: u32) -> ApiError {
        ApiError::not_found(format!(
            "Shard {} in stream {stream} under account {} does not exist",
            shard_id(index),
            self.account()
        ))
    }

    fn get_shard_iterator(&mut self, body: &Body) -> Result<Finish, ApiError> {
        let (name, shard_index, at) = self.resolve_position(body)?;
        let s = self.stream(&name)?;
        let key = s.key(shard_index);
        let created_ms = s.created_ms;
        self.own_ops.push((
            key,
            ShardOp::Position {
                at,
                now_ms: self.now_ms,
                charge: self.config.enforce_limits,
            },
        ));
        Ok(Finish::Iterator {
            stream: name,
            created_ms,
            shard_index,
        })
    }

    /// Validates a GetShardIterator-shaped request and resolves it to a
    /// stream, a shard and a position the shard turns into a sequence index.
    fn resolve_position(&mut self, body: &Body) -> Result<(String, u32, Position), ApiError> {
        const TYPES: [&str; 5] = [
            "AFTER_SEQUENCE_NUMBER",
            "LATEST",
            "AT_TIMESTAMP",
            "AT_SEQUENCE_NUMBER",
            "TRIM_HORIZON",
        ];
        let mut v = Validation::new();
        let name = self.stream_name_from(body, &mut v, true)?;
        let raw_shard = body.str("ShardId")?;
        v.required(&raw_shard, "shardId");
        Self::validate_shard_id(&mut v, raw_shard, "shardId");
        let kind = body.str("ShardIteratorType")?;
        v.required(&kind, "shardIteratorType");
        v.one_of(kind, "shardIteratorType", &TYPES);
        let seq = body.str("StartingSequenceNumber")?;
        if let Some(sq) = seq {
            v.pattern(
                Some(sq),
                "startingSequenceNumber",
                is_decimal(sq, 128),
                SEQUENCE_NUMBER_PATTERN,
            );
        }
        let ts = body.timestamp_ms("Timestamp")?;
        v.finish()?;
        let name = name.unwrap_or_default();
        let raw_shard = raw_shard.unwrap_or_default();
        let kind = kind.unwrap_or_default();
        let account = self.account().to_string();
        let index = Self::parse_shard_id(raw_shard).ok_or_else(|| {
            ApiError::not_found(format!(
                "Could not find shard {raw_shard} in stream {name} under account {account}."
            ))
        })?;
        let now = self.now_ms;
        let s = self
            .streams
            .get(&name)
            .ok_or_else(|| self.shard_missing(&name, index))?;
        if s.status == StreamStatus::Creating {
            return Err(self.shard_missing(&name, index));
        }
        let needs_seq = matches!(kind, "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER");
        match (needs_seq, seq) {
            (true, None) | (false, Some(_)) if kind != "AT_TIMESTAMP" => {
                return Err(ApiError::invalid_argument(format!(
                    "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and \
                     StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no \
                     StartingSequenceNumber. Request specified {kind} and {}.",
                    if seq.is_some() {
                        "also a StartingSequenceNumber"
                    } else {
                        "no StartingSequenceNumber"
                    }
                )))
            }
            _ => {}
        }
        let shard = self.streams.get(&name).and_then(|s| {
            s.shards
                .get(&index)
                .filter(|sh| !sh.is_expired(now, s.retention_ms()))
        });
        let Some(shard) = shard else {
            return Err(self.shard_missing(&name, index));
        };
        let position = match kind {
            "TRIM_HORIZON" => Position::TrimHorizon,
            "LATEST" => Position::Latest,
            "AT_TIMESTAMP" => {
                let Some(t) = ts else {
                    return Err(ApiError::invalid_argument(
                        "Must specify timestampInMillis parameter for iterator of type \
                         AT_TIMESTAMP. Current request has no timestamp parameter.",
                    ));
                };
                if t > now {
                    return Err(ApiError::invalid_argument(format!(
                        "The timestampInMillis parameter cannot be greater than the \
                         currentTimestampInMillis. timestampInMillis: {t}, \
                         currentTimestampInMillis: {now}"
                    )));
                }
                Position::AtTimestamp(t)
            }
            _ => {
                let raw = seq.unwrap_or_default();
                if raw == "0" {
                    return Err(ApiError::InternalFailure(String::new()));
                }
                let invalid = |why: &str| {
                    ApiError::invalid_argument(format!(
                        "StartingSequenceNumber {raw} used in GetShardIterator on shard {} in \
                         stream {name} under account {account} is invalid{why}.",
                        shard_id(index)
                    ))
                };
                let parsed = SequenceNumber::parse(raw).ok_or_else(|| invalid(""))?;
                if parsed.shard_index != index {
                    return Err(ApiError::invalid_argument(format!(
                        "Invalid StartingSequenceNumber. It encodes {}, while it was used in a \
                         call to a shard with {}",
                        shard_id(parsed.shard_index),
                        shard_id(index)
                    )));
                }
                if parsed.shard_created_secs != shard.created_ms / 1000 {
                    return Err(invalid(" because it did not come from this stream"));
                }
                if parsed.sequence_index == CLOSING_SEQUENCE_INDEX || kind == "AT_SEQUENCE_NUMBER" {
                    Position::Index(parsed.sequence_index)
                } else {
                    Position::Index(parsed.sequence_index + 1)
                }
            }
        };
        Ok((name, index, position))
    }

    fn child_shards(s: &Stream, parent: u32) -> Vec<Value> {
        s.shards
            .iter()
            .filter(|(_, c)| c.parent == Some(parent) || c.adjacent_parent == Some(parent))
            .map(|(i, c)| {
                let parents: Vec<String> = c
                    .parent
                    .into_iter()
                    .chain(c.adjacent_parent)
                    .map(shard_id)
                    .collect();
                json!({
                    "ShardId": shard_id(*i),
                    "ParentShards": parents,
                    "HashKeyRange": {
                        "StartingHashKey": c.range.starting_hash_key.to_string(),
                        "EndingHashKey": c.range.ending_hash_key.to_string(),
                    },
                })
            })
            .collect()
    }

    fn get_records(&mut self, body: &Body) -> Result<Finish, ApiError> {
        let mut v = Validation::new();
        let token = body.str("ShardIterator")?;
        v.required(&token, "shardIterator");
        v.length(token, "shardIterator", 1, 512);
        let limit = body.int("Limit")?;
        v.range(limit, "limit", 1, 10_000);
        v.finish()?;
        let secret = self.config.token_secret;
        let it = IteratorToken::decode(token.unwrap_or_default(), secret)
            .ok_or_else(|| ApiError::invalid_argument("Invalid ShardIterator."))?;
        let now = self.now_ms;
        if now.saturating_sub(it.issued_ms) > ITERATOR_TTL_MS {
            return Err(ApiError::ExpiredIterator(format!(
                "Iterator expired. The iterator was created at time {} while right now it is {} \
                 which is further in the future than the tolerated delay of {ITERATOR_TTL_MS} \
                 milliseconds.",
                amz_utc_string(it.issued_ms),
                amz_utc_string(now)
            )));
        }
        let missing = self.shard_missing(&it.stream_name, it.shard_index);
        let enforce = self.config.enforce_limits;
        let s = self
            .streams
            .get_mut(&it.stream_name)
            .filter(|s| s.created_ms == it.stream_created_ms)
            .ok_or_else(|| missing.clone())?;
        s.expire_shards(now);
        if !s.shards.contains_key(&it.shard_index) {
            return Err(missing);
        }
        let key = s.key(it.shard_index);
        let limit = limit.map_or(READ_MAX_RECORDS_PER_CALL, |l| l as usize) as u32;
        self.own_ops.push((
            key,
            ShardOp::Read {
                from: it.position,
                limit,
                now_ms: now,
                enforce,
            },
        ));
        Ok(Finish::Records { it })
    }

    fn records_response(
        &mut self,
        it: IteratorToken,
        result: Option<ShardOpResult>,
    ) -> Result<Output, ApiError> {
        let now = self.now_ms;
        let batch = match result {
            Some(ShardOpResult::Read(batch)) => batch,
            Some(ShardOpResult::Throttled) => {
                return Err(ApiError::ProvisionedThroughputExceeded(format!(
                    "Rate exceeded for Shard - {}/{}/{}",
                    self.account(),
                    it.stream_name,
                    shard_id(it.shard_index)
                )))
            }
            _ => return Err(ApiError::InternalFailure("Internal Service Failure".into())),
        };
        let behind = batch
            .next_arrival_ms
            .map_or(0, |arrival| now.saturating_sub(arrival));
        let (child_shards, next_shard_iterator) = if batch.at_shard_end {
            let children = self
                .streams
                .get(&it.stream_name)
                .map(|s| Self::child_shards(s, it.shard_index))
                .unwrap_or_default();
            (Some(children), None)
        } else {
            let next = IteratorToken {
                position: batch.next_index,
                issued_ms: now,
                ..it
            };
            (None, Some(next.encode(self.config.token_secret)))
        };
        Ok(Output::Records(GetRecordsOutput {
            child_shards,
            millis_behind_latest: behind,
            next_shard_iterator,
            records: batch.records.into_iter().map(RecordJson::from).collect(),
        }))
    }

    // ---- resharding --------------------------------------------------------

    fn reshardable(&self, name: &str) -> Result<(), ApiError> {
        let s = self.stream(name)?;
        if s.mode == StreamMode::OnDemand {
            return Err(ApiError::validation(format!(
                "Stream {name} under account {} is in ON_DEMAND mode; SplitShard, MergeShards \
                 and UpdateShardCount are only for PROVISIONED streams.",
                self.account()
            )));
        }
        if s.status != StreamStatus::Active {
            return Err(self.not_active(s));
        }
        Ok(())
    }

    fn find_shard(&self, name: &str, raw: &str) -> Result<u32, ApiError> {
        let not_found = |id: &str| {
            ApiError::not_found(format!(
                "Could not find shard {id} in stream {name} under account {}.",
                self.account()
            ))
        };
        let index = Self::parse_shard_id(raw).ok_or_else(|| not_found(raw))?;
        let s = self.stream(name)?;
        match s.shards.get(&index) {
            Some(sh) if sh.closed_ms.is_none() => Ok(index),
            Some(_) => Err(ApiError::in_use(format!(
                "Shard {} in stream {name} under account {} has already been merged or split, \
                 and thus is not eligible for merging or splitting.",
                shard_id(index),
                self.account()
            ))),
            None => Err(not_found(&shard_id(index))),
        }
    }

    fn split_shard(&mut self, body: &Body) -> Result<Value, ApiError> {
        let mut v = Validation::new();
        let name = self.stream_name_from(body, &mut v, true)?;
        let shard = body.str("ShardToSplit")?;
        v.required(&shard, "shardToSplit");
        Self::validate_shard_id(&mut v, shard, "shardToSplit");
        let key = body.str("NewStartingHashKey")?;
        v.required(&key, "newStartingHashKey");
        if let Some(k) = key {
            v.pattern(
                Some(k),
                "newStartingHashKey",
                is_decimal(k, 38),
                HASH_KEY_PATTERN,
            );
        }
        v.finish()?;
        let name = name.unwrap_or_default();
        let raw = shard.unwrap_or_default();
        let key = key.unwrap_or_default();
        if !self.streams.contains_key(&name) {
            return match Self::parse_shard_id(raw) {
                Some(_) => Err(self.stream_not_found(&name)),
                None => Err(ApiError::not_found(format!(
                    "Could not find shard {raw} in stream {name} under account {}.",
                    self.account()
                ))),
            };
        }
        self.reshardable(&name)?;
        let index = self.find_shard(&name, raw)?;
        let range = self.stream(&name)?.shards[&index].range;
        let start = range.starting_hash_key.0;
        let end = range.ending_hash_key.0;
        let new_start = key.parse::<u128>().ok();
        match new_start {
            Some(k) if start.checked_add(1).is_some_and(|s1| k > s1) && k < end => {}
            _ => {
                return Err(ApiError::invalid_argument(format!(
                    "NewStartingHashKey {key} used in SplitShard() on shard {} in stream {name} \
                     under account {} is not both greater than one plus the shard's \
                     StartingHashKey {start} and less than the shard's EndingHashKey {end}.",
                    shard_id(index),
                    self.account()
                )))
            }
        }
        if self.open_shards_in_account() + 1 > self.config.shard_limit {
            return Err(self.shard_limit_error(1));
        }
        let new_start = new_start.unwrap_or(MAX_HASH_KEY);
        self.begin(
            &name,
            StreamStatus::Updating,
            Change::Split {
                parent: index,
                new_start,
            },
        );
        Ok(Value::Null)
    }

    fn merge_shards(&mut self, body: &Body) -> Result<Value, ApiError> {
        let mut v = Validation::new();
        let name = self.stream_name_from(body, &mut v, true)?;
        let a = body.str("ShardToMerge")?;
        v.required(&a, "shardToMerge");
        Self::validate_shard_id(&mut v, a, "shardToMerge");
        let b = body.str("AdjacentShardToMerge")?;
        v.required(&b, "adjacentShardToMerge");
        Self::validate_shard_id(&mut v, b, "adjacentShardToMerge");
        v.finish()?;
        let name = name.unwrap_or_default();
        self.stream(&name)?;
        self.reshardable(&name)?;
        let a = self.find_shard(&name, a.unwrap_or_default())?;
        let b = self.find_shard(&name, b.unwrap_or_default())?;
        let s = self.stream(&name)?;
        let adjacent = s.shards[&a]
            .range
            .ending_hash_key
            .0
            .checked_add(1)
            .is_some_and(|next| next == s.shards[&b].range.starting_hash_key.0);
        if !adjacent {
            return Err(ApiError::invalid_argument(format!(
                "Shards {} and {} in stream {name} under account {} are not an adjacent pair of \
                 shards eligible for merging",
                shard_id(a),
                shard_id(b),
                self.account()
            )));
        }
        self.begin(&name, StreamStatus::Updating, Change::Merge { a, b });
        Ok(Value::Null)
    }

    fn update_shard_count(&mut self, body: &Body) -> Result<Value, ApiError> {
        let mut v = Validation::new();
        let name = self.stream_name_from(body, &mut v, true)?;
        let target = body.int("TargetShardCount")?;
        v.required(&target, "targetShardCount");
        v.range(target, "targetShardCount", 1, 100_000);
        let scaling = body.str("ScalingType")?;
        v.required(&scaling, "scalingType");
        v.one_of(scaling, "scalingType", &["UNIFORM_SCALING"]);
        v.finish()?;
        let name = name.unwrap_or_default();
        let target = target.unwrap_or_default();
        self.reshardable(&name)?;
        let now = self.now_ms;
        let s = self.stream(&name)?;
        let open = i64::from(s.open_count());
        if target > open * 2 {
            return Err(ApiError::limit_exceeded(format!(
                "UpdateShardCount cannot scale up over double your current open shard count. \
                 Current open shard count: {open} Target shard count: {target}"
            )));
        }
        if target * 2 < open {
            return Err(ApiError::limit_exceeded(format!(
                "UpdateShardCount cannot scale down below half your current open shard count. \
                 Current open shard count: {open} Target shard count: {target}"
            )));
        }
        if target > MAX_SHARDS_PER_STREAM {
            return Err(ApiError::limit_exceeded(format!(
                "UpdateShardCount cannot scale a stream above {MAX_SHARDS_PER_STREAM} shards. \
                 Target shard count: {target}"
            )));
        }
        let recent = s
            .shard_count_updates
            .iter()
            .filter(|&&t| now.saturating_sub(t) < 24 * HOUR_MS)
            .count();
        if recent >= SHARD_COUNT_UPDATES_PER_DAY {
            return Err(ApiError::limit_exceeded(format!(
                "UpdateShardCount was already called {recent} times on stream {name} in the last \
                 24 hours; the limit is {SHARD_COUNT_UPDATES_PER_DAY} per rolling 24 hours."
            )));
        }
        let grow = u32::try_from(target - open).unwrap_or(0);
        if grow > 0 && self.open_shards_in_account() + grow > self.config.shard_limit {
            return Err(self.shard_limit_error(grow));
        }
        let arn = s.arn.clone();
        let s = self.stream_mut(&name)?;
        s.shard_count_updates
            .retain(|&t| now.saturating_sub(t) < 24 * HOUR_MS);
        s.shard_count_updates.push(now);
        if target != open {
            self.begin(
                &name,
                StreamStatus::Updating,
                Change::UniformScale {
                    target: target as u32,
                },
            );
        }
        Ok(json!({
            "StreamName": name,
            "CurrentShardCount": open,
            "TargetShardCount": target,
            "StreamARN": arn,
        }))
    }

    fn update_stream_mode(&mut self, body: &Body) -> Result<Value, ApiError> {
        let mut v = Validation::new();
        let arn = body.str("StreamARN")?;
        v.required(&arn, "streamARN");
        let details = body.object("StreamModeDetails")?;
        v.required(&details.as_ref().map(|_| ()), "streamModeDetails");
        let mode = match &details {
            Some(d) => d.str("StreamMode")?,
            None => None,
        };
        if details.is_some() {
            v.required(&mode, "streamModeDetails.streamMode");
            v.one_of(
                mode,
                "streamModeDetails.streamMode",
                &["PROVISIONED", "ON_DEMAND"],
            );
        }
        v.finish()?;
        let name = self.parse_arn(arn.unwrap_or_default())?;
        let s = self.stream(&name)?;
        if s.status != StreamStatus::Active {
            return Err(self.not_active(s));
        }
        let mode = if mode == Some("ON_DEMAND") {
            StreamMode::OnDemand
        } else {
            StreamMode::Provisioned
        };
        self.begin(&name, StreamStatus::Updating, Change::Mode(mode));
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests;
