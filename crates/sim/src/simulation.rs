//! The coordinator: one stream, its producer, and the tick protocol.
//!
//! The stream is a real Kinesis stream of the engine's API, whose shard data
//! planes live in shard hosts. A tick is two halves so that hosts may be
//! asynchronous (Web Workers): `begin_tick` advances the clock, runs the
//! producer for the interval, plans the interval's PutRecords calls and
//! returns one batch of shard operations per host; the host delivers them
//! and collects every reply (a barrier); `finish_tick` puts each result back
//! where it belongs, finishes the calls and folds them into the metrics and
//! the run digest in request order, so the outcome never depends on which
//! host answered first.

use serde::{Deserialize, Serialize};
use shardlab_engine::api::{Planned, PutRecordsEntry, PutRecordsResult};
use shardlab_engine::protocol::{ShardBatch, ShardBatchReply};
use shardlab_engine::store::{ShardKey, ShardOp, ShardOpResult};
use shardlab_engine::{shard_id, stream_arn, HashKeyRange, Kinesis, KinesisConfig};
use std::collections::VecDeque;

use crate::clock::SCENARIO_EPOCH_MS;
use crate::producer::{Producer, MAX_RATE_PER_SEC};
use crate::rng::fnv1a64_extend;
use crate::SimError;

/// Shard counts the playground offers.
pub const MAX_SHARDS: u32 = 16;
/// At most this many shard hosts (Web Workers); beyond it shards are dealt
/// out round-robin, several per worker (16 shards: 2 per worker on 8).
pub const MAX_HOSTS: u32 = 8;
/// The region simulated resources live in.
pub const REGION: &str = "us-east-1";

/// The inputs of a run: with the same scenario, every run is identical.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    pub stream_name: String,
    pub shard_count: u32,
    pub seed: u64,
    pub rate_per_sec: u64,
}

impl Scenario {
    /// Checks the scenario with the rules and messages of CreateStream.
    pub fn validate(&self) -> Result<(), SimError> {
        let name = &self.stream_name;
        if name.is_empty()
            || name.len() > 128
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        {
            return Err(SimError::Api(shardlab_engine::ApiError::validation(
                format!(
                "1 validation error detected: Value '{name}' at 'streamName' failed to satisfy \
                 constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ \
                 and have length between 1 and 128"
            ),
            )));
        }
        if self.shard_count == 0 || self.shard_count > MAX_SHARDS {
            return Err(SimError::Api(shardlab_engine::ApiError::validation(
                format!(
                    "1 validation error detected: Value '{}' at 'shardCount' failed to satisfy \
                 constraint: Member must have value between 1 and {MAX_SHARDS} in this playground",
                    self.shard_count
                ),
            )));
        }
        if self.rate_per_sec > MAX_RATE_PER_SEC {
            return Err(SimError::Scenario(format!(
                "producer rate {} records/s is above the playground's maximum of {MAX_RATE_PER_SEC}",
                self.rate_per_sec
            )));
        }
        Ok(())
    }
}

/// What the UI shows about one shard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardView {
    pub shard_id: String,
    pub starting_hash_key: String,
    pub ending_hash_key: String,
    pub records_accepted: u64,
    pub bytes_accepted: u64,
    pub records_throttled: u64,
    /// Records accepted during the last second of virtual time.
    pub records_last_second: u64,
    pub latest_sequence_number: Option<String>,
}

/// A compact picture of the whole run, sent to the UI at display rate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub stream_name: String,
    pub stream_arn: String,
    pub seed: u64,
    pub now_ms: u64,
    pub elapsed_ms: u64,
    pub rate_per_sec: u64,
    pub records_produced: u64,
    pub shards: Vec<ShardView>,
    /// FNV-1a over every record and its outcome, in shard order per tick.
    pub digest: String,
}

/// Per-shard counters the coordinator keeps from the calls' results.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ShardCounters {
    records_accepted: u64,
    bytes_accepted: u64,
    records_throttled: u64,
    latest_sequence_number: Option<String>,
}

/// PutRecords takes at most 500 entries.
const PUT_RECORDS_MAX: usize = 500;

/// A tick in flight: its planned calls, the fingerprints and sizes of
/// their entries, and where each shard operation went.
#[derive(Default)]
struct InFlight {
    calls: Vec<(Planned, Vec<(u64, u64)>)>,
    /// Per host: (call index or None for side effects, op index) of each op sent.
    routes: Vec<Vec<(Option<usize>, usize)>>,
    /// Per call: how many operations it has.
    op_counts: Vec<usize>,
}

pub struct Simulation {
    scenario: Scenario,
    kinesis: Kinesis,
    ranges: Vec<HashKeyRange>,
    now_ms: u64,
    producer: Producer,
    hosts: u32,
    counters: Vec<ShardCounters>,
    in_flight: InFlight,
    /// (virtual time, accepted per shard) over the last second.
    history: VecDeque<(u64, Vec<u64>)>,
    digest: u64,
}

impl Simulation {
    pub fn new(scenario: Scenario) -> Result<Self, SimError> {
        let hosts = scenario.shard_count.min(MAX_HOSTS);
        Simulation::with_hosts(scenario, hosts)
    }

    /// A simulation whose shards are spread over `hosts` hosts (1 or more;
    /// benchmarks compare host counts).
    pub fn with_hosts(scenario: Scenario, hosts: u32) -> Result<Self, SimError> {
        scenario.validate()?;
        if hosts == 0 {
            return Err(SimError::Scenario(
                "a stream needs at least one shard host".into(),
            ));
        }
        let n = scenario.shard_count as usize;
        let mut kinesis = Kinesis::new(KinesisConfig {
            region: REGION.into(),
            ..KinesisConfig::default()
        });
        // Creating the stream only plans its shards' Open operations; they
        // go to the hosts with `open_requests`.
        let planned = kinesis.plan(
            "CreateStream",
            &serde_json::json!({
                "StreamName": scenario.stream_name,
                "ShardCount": scenario.shard_count,
            }),
            SCENARIO_EPOCH_MS,
        )?;
        let mut sim = Simulation {
            ranges: HashKeyRange::even_split(scenario.shard_count),
            now_ms: SCENARIO_EPOCH_MS,
            producer: Producer::new(
                scenario.seed,
                "producer-0",
                scenario.rate_per_sec,
                SCENARIO_EPOCH_MS,
            ),
            hosts,
            counters: vec![ShardCounters::default(); n],
            in_flight: InFlight::default(),
            history: VecDeque::new(),
            digest: 0xcbf2_9ce4_8422_2325,
            kinesis,
            scenario,
        };
        sim.in_flight.calls.push((planned, Vec::new()));
        Ok(sim)
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    pub fn shard_count(&self) -> u32 {
        self.scenario.shard_count
    }

    /// How many shard hosts (workers) the shards are spread over.
    pub fn host_count(&self) -> u32 {
        self.hosts
    }

    /// The host that keeps a shard: shards are dealt out round-robin.
    pub fn host_of(&self, shard_index: u32) -> u32 {
        shard_index % self.hosts
    }

    pub fn set_rate(&mut self, rate_per_sec: u64) -> Result<(), SimError> {
        if rate_per_sec > MAX_RATE_PER_SEC {
            return Err(SimError::Scenario(format!(
                "producer rate {rate_per_sec} records/s is above the playground's maximum of {MAX_RATE_PER_SEC}"
            )));
        }
        // Records up to now were produced at the old rate; the new one
        // applies from the next millisecond.
        self.producer.set_rate(rate_per_sec, self.now_ms + 1);
        self.scenario.rate_per_sec = rate_per_sec;
        Ok(())
    }

    /// Splits the in-flight calls' operations into one batch per host.
    fn batches(&mut self) -> Vec<(u32, ShardBatch)> {
        let hosts = self.hosts as usize;
        let mut batches: Vec<ShardBatch> = vec![ShardBatch::default(); hosts];
        let mut routes: Vec<Vec<(Option<usize>, usize)>> = vec![Vec::new(); hosts];
        let mut send = |call: Option<usize>, i: usize, key: ShardKey, op: ShardOp| {
            let h = key.shard_index as usize % hosts;
            batches[h].ops.push((key, op));
            routes[h].push((call, i));
        };
        for (i, (key, op)) in self.kinesis.take_side_ops().into_iter().enumerate() {
            send(None, i, key, op);
        }
        let mut op_counts = Vec::with_capacity(self.in_flight.calls.len());
        for (c, (planned, _)) in self.in_flight.calls.iter_mut().enumerate() {
            let ops = planned.take_ops();
            op_counts.push(ops.len());
            for (i, (key, op)) in ops.into_iter().enumerate() {
                send(Some(c), i, key, op);
            }
        }
        self.in_flight.routes = routes;
        self.in_flight.op_counts = op_counts;
        batches
            .into_iter()
            .enumerate()
            .map(|(h, b)| (h as u32, b))
            .collect()
    }

    /// The batches that open every shard (the stream's creation), one per host.
    pub fn open_requests(&mut self) -> Vec<(u32, ShardBatch)> {
        self.batches()
    }

    /// Advances virtual time by `dt_ms`, produces that interval's records,
    /// plans them as PutRecords calls of up to 500 entries at the end of the
    /// interval, and returns one batch per host (every host gets one, even
    /// empty, so every tick has the same barrier).
    pub fn begin_tick(&mut self, dt_ms: u64) -> Result<Vec<(u32, ShardBatch)>, SimError> {
        let from = self.now_ms;
        self.now_ms += dt_ms;
        let records = if dt_ms == 0 {
            Vec::new()
        } else {
            self.producer
                .produce_until(self.now_ms.saturating_sub(1).max(from))
        };
        self.in_flight.calls.clear();
        let mut records = records.into_iter().peekable();
        while records.peek().is_some() {
            let mut entries = Vec::with_capacity(PUT_RECORDS_MAX);
            let mut prints = Vec::with_capacity(PUT_RECORDS_MAX);
            for r in records.by_ref().take(PUT_RECORDS_MAX) {
                let mut fp = fnv1a64_extend(0xcbf2_9ce4_8422_2325, r.partition_key.as_bytes());
                fp = fnv1a64_extend(fp, &r.data);
                fp = fnv1a64_extend(fp, &r.arrival_ms.to_le_bytes());
                prints.push((fp, (r.partition_key.len() + r.data.len()) as u64));
                entries.push(PutRecordsEntry {
                    partition_key: r.partition_key,
                    data: r.data,
                    explicit_hash_key: None,
                });
            }
            let planned =
                self.kinesis
                    .plan_put_records(&self.scenario.stream_name, entries, self.now_ms)?;
            self.in_flight.calls.push((planned, prints));
        }
        self.kinesis.set_now(self.now_ms);
        Ok(self.batches())
    }

    /// Puts every host's results back in each call's operation order.
    fn results_per_call(
        &mut self,
        replies: Vec<ShardBatchReply>,
    ) -> Result<Vec<Vec<ShardOpResult>>, SimError> {
        if replies.len() != self.in_flight.routes.len() {
            return Err(SimError::Host(format!(
                "expected {} replies, one per host, got {}",
                self.in_flight.routes.len(),
                replies.len()
            )));
        }
        let mut per_call: Vec<Vec<Option<ShardOpResult>>> = self
            .in_flight
            .op_counts
            .iter()
            .map(|n| vec![None; *n])
            .collect();
        for (h, (reply, routes)) in replies.into_iter().zip(&self.in_flight.routes).enumerate() {
            let results = match reply {
                ShardBatchReply::Results(r) => r,
                ShardBatchReply::Failed { reason } => return Err(SimError::Host(reason)),
            };
            if results.len() != routes.len() {
                return Err(SimError::Host(format!(
                    "host {h} answered {} results for {} operations",
                    results.len(),
                    routes.len()
                )));
            }
            for (result, (call, i)) in results.into_iter().zip(routes) {
                match call {
                    Some(c) => per_call[*c][*i] = Some(result),
                    None if matches!(result, ShardOpResult::Done) => {}
                    None => {
                        return Err(SimError::Host(format!(
                            "host {h} failed a shard operation: {result:?}"
                        )))
                    }
                }
            }
        }
        per_call
            .into_iter()
            .map(|results| {
                results
                    .into_iter()
                    .map(|r| r.ok_or_else(|| SimError::Host("a shard result is missing".into())))
                    .collect()
            })
            .collect()
    }

    /// Checks the replies to `open_requests`: every shard opened.
    pub fn check_opened_replies(&mut self, replies: Vec<ShardBatchReply>) -> Result<(), SimError> {
        let results = self.results_per_call(replies)?;
        let calls = std::mem::take(&mut self.in_flight.calls);
        for ((planned, _), results) in calls.into_iter().zip(results) {
            if let Some(bad) = results.iter().find(|r| !matches!(r, ShardOpResult::Done)) {
                return Err(SimError::Host(format!("a shard did not open: {bad:?}")));
            }
            self.kinesis.finish(planned, results)?;
        }
        Ok(())
    }

    /// Takes every host's reply to this tick's batches, in host order.
    pub fn finish_tick(&mut self, replies: Vec<ShardBatchReply>) -> Result<(), SimError> {
        let results = self.results_per_call(replies)?;
        let calls = std::mem::take(&mut self.in_flight.calls);
        for ((planned, prints), results) in calls.into_iter().zip(results) {
            let out = self.kinesis.finish_put_records(planned, results)?;
            if out.records.len() != prints.len() {
                return Err(SimError::Host(format!(
                    "{} results for {} records",
                    out.records.len(),
                    prints.len()
                )));
            }
            for (r, (fp, size)) in out.records.iter().zip(prints) {
                self.digest = fnv1a64_extend(self.digest, &fp.to_le_bytes());
                match r {
                    PutRecordsResult::Accepted {
                        shard_index,
                        sequence_number,
                    } => {
                        let seq = sequence_number.to_string();
                        self.digest = fnv1a64_extend(self.digest, &shard_index.to_le_bytes());
                        self.digest = fnv1a64_extend(self.digest, seq.as_bytes());
                        if let Some(c) = self.counters.get_mut(*shard_index as usize) {
                            c.records_accepted += 1;
                            c.bytes_accepted += size;
                            c.latest_sequence_number = Some(seq);
                        }
                    }
                    PutRecordsResult::Throttled { shard_index } => {
                        self.digest = fnv1a64_extend(self.digest, &shard_index.to_le_bytes());
                        self.digest = fnv1a64_extend(self.digest, b"throttled");
                        if let Some(c) = self.counters.get_mut(*shard_index as usize) {
                            c.records_throttled += 1;
                        }
                    }
                }
            }
        }
        self.history.push_back((
            self.now_ms,
            self.counters.iter().map(|s| s.records_accepted).collect(),
        ));
        // Keep the newest entry at least a second old: the baseline for
        // records_last_second.
        while self
            .history
            .get(1)
            .is_some_and(|(t, _)| *t + 1000 <= self.now_ms)
        {
            self.history.pop_front();
        }
        Ok(())
    }

    pub fn snapshot(&self) -> Snapshot {
        // Before the first second has passed the baseline is the start, zero.
        let second_ago = self
            .history
            .iter()
            .rev()
            .find(|(t, _)| *t + 1000 <= self.now_ms)
            .map(|(_, counts)| counts.clone());
        let shards = self
            .ranges
            .iter()
            .zip(&self.counters)
            .enumerate()
            .map(|(i, (range, stats))| ShardView {
                shard_id: shard_id(i as u32),
                starting_hash_key: range.starting_hash_key.to_string(),
                ending_hash_key: range.ending_hash_key.to_string(),
                records_accepted: stats.records_accepted,
                bytes_accepted: stats.bytes_accepted,
                records_throttled: stats.records_throttled,
                records_last_second: stats.records_accepted
                    - second_ago
                        .as_ref()
                        .map_or(0, |c| c[i].min(stats.records_accepted)),
                latest_sequence_number: stats.latest_sequence_number.clone(),
            })
            .collect();
        Snapshot {
            stream_name: self.scenario.stream_name.clone(),
            stream_arn: stream_arn(REGION, &self.scenario.stream_name),
            seed: self.scenario.seed,
            now_ms: self.now_ms,
            elapsed_ms: self.now_ms - SCENARIO_EPOCH_MS,
            rate_per_sec: self.scenario.rate_per_sec,
            records_produced: self.producer.produced(),
            shards,
            digest: format!("{:016x}", self.digest),
        }
    }
}

/// The tick protocol in bytes, as every shard host sees it.
impl Simulation {
    pub fn open_requests_encoded(&mut self) -> Vec<(u32, Vec<u8>)> {
        encode_all(self.open_requests())
    }

    /// Checks the replies to `open_requests_encoded`: every shard opened.
    pub fn check_opened(&mut self, replies: &[Vec<u8>]) -> Result<(), SimError> {
        let replies = decode_all(replies)?;
        self.check_opened_replies(replies)
    }

    pub fn begin_tick_encoded(&mut self, dt_ms: u64) -> Result<Vec<(u32, Vec<u8>)>, SimError> {
        Ok(encode_all(self.begin_tick(dt_ms)?))
    }

    pub fn finish_tick_encoded(&mut self, replies: &[Vec<u8>]) -> Result<(), SimError> {
        let replies = decode_all(replies)?;
        self.finish_tick(replies)
    }
}

fn encode_all(batches: Vec<(u32, ShardBatch)>) -> Vec<(u32, Vec<u8>)> {
    batches.into_iter().map(|(i, b)| (i, b.encode())).collect()
}

fn decode_all(replies: &[Vec<u8>]) -> Result<Vec<ShardBatchReply>, SimError> {
    replies
        .iter()
        .map(|b| {
            ShardBatchReply::decode(b)
                .map_err(|e| SimError::Host(format!("undecodable shard reply: {e}")))
        })
        .collect()
}
