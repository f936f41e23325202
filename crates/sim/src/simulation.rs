//! The coordinator: one stream, its producer, and the tick protocol.
//!
//! A tick is two halves so that shard hosts may be asynchronous (Web
//! Workers): `begin_tick` advances the clock, runs the producer for the
//! interval, routes every record by its hash key and returns one request per
//! shard; the host delivers them and collects every reply (a barrier);
//! `finish_tick` takes the replies, orders them by shard index and folds them
//! into the metrics and the run digest. Because replies are merged in a
//! fixed order, the outcome never depends on which shard answered first.

use serde::{Deserialize, Serialize};
use shardlab_engine::protocol::{ShardReply, ShardRequest};
use shardlab_engine::{
    route, shard_id, stream_arn, HashKey, HashKeyRange, PutEntry, PutOutcome, ShardConfig,
    ShardStats, DEFAULT_RETENTION_MS,
};
use std::collections::VecDeque;

use crate::clock::SCENARIO_EPOCH_MS;
use crate::producer::{Producer, MAX_RATE_PER_SEC};
use crate::rng::fnv1a64_extend;
use crate::SimError;

/// Shard counts the playground offers.
pub const MAX_SHARDS: u32 = 16;
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

pub struct Simulation {
    scenario: Scenario,
    ranges: Vec<HashKeyRange>,
    now_ms: u64,
    producer: Producer,
    stats: Vec<ShardStats>,
    /// Fingerprints of the records sent to each shard this tick, awaiting
    /// their outcomes.
    in_flight: Vec<Vec<u64>>,
    /// (virtual time, accepted per shard) over the last second.
    history: VecDeque<(u64, Vec<u64>)>,
    digest: u64,
}

impl Simulation {
    pub fn new(scenario: Scenario) -> Result<Self, SimError> {
        scenario.validate()?;
        let n = scenario.shard_count as usize;
        Ok(Simulation {
            ranges: HashKeyRange::even_split(scenario.shard_count),
            now_ms: SCENARIO_EPOCH_MS,
            producer: Producer::new(
                scenario.seed,
                "producer-0",
                scenario.rate_per_sec,
                SCENARIO_EPOCH_MS,
            ),
            stats: vec![ShardStats::default(); n],
            in_flight: vec![Vec::new(); n],
            history: VecDeque::new(),
            digest: 0xcbf2_9ce4_8422_2325,
            scenario,
        })
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

    /// The requests that open every shard, one per shard index.
    pub fn open_requests(&self) -> Vec<(u32, ShardRequest)> {
        self.ranges
            .iter()
            .enumerate()
            .map(|(i, range)| {
                let shard_index = i as u32;
                (
                    shard_index,
                    ShardRequest::Open(ShardConfig {
                        stream_name: self.scenario.stream_name.clone(),
                        shard_index,
                        hash_key_range: *range,
                        created_ms: SCENARIO_EPOCH_MS,
                        retention_ms: DEFAULT_RETENTION_MS,
                    }),
                )
            })
            .collect()
    }

    /// Advances virtual time by `dt_ms`, produces and routes that interval's
    /// records, and returns one request per shard (every shard gets one, even
    /// empty, so every shard sees the same clock).
    pub fn begin_tick(&mut self, dt_ms: u64) -> Vec<(u32, ShardRequest)> {
        let from = self.now_ms;
        self.now_ms += dt_ms;
        let records = if dt_ms == 0 {
            Vec::new()
        } else {
            self.producer
                .produce_until(self.now_ms.saturating_sub(1).max(from))
        };
        let mut batches: Vec<Vec<PutEntry>> = vec![Vec::new(); self.ranges.len()];
        for f in &mut self.in_flight {
            f.clear();
        }
        for r in records {
            let key = HashKey::from_partition_key(&r.partition_key);
            // The ranges cover the whole key space, so a shard always matches.
            let Some(shard) = route(&self.ranges, key) else {
                continue;
            };
            let mut fp = fnv1a64_extend(0xcbf2_9ce4_8422_2325, r.partition_key.as_bytes());
            fp = fnv1a64_extend(fp, &r.data);
            fp = fnv1a64_extend(fp, &r.arrival_ms.to_le_bytes());
            self.in_flight[shard].push(fp);
            batches[shard].push(PutEntry {
                partition_key: r.partition_key,
                data: r.data,
                arrival_ms: r.arrival_ms,
            });
        }
        batches
            .into_iter()
            .enumerate()
            .map(|(i, entries)| {
                (
                    i as u32,
                    ShardRequest::Put {
                        now_ms: self.now_ms,
                        entries,
                    },
                )
            })
            .collect()
    }

    /// Takes every shard's reply to this tick's requests, in any order.
    pub fn finish_tick(&mut self, mut replies: Vec<ShardReply>) -> Result<(), SimError> {
        let mut puts = Vec::with_capacity(replies.len());
        for reply in replies.drain(..) {
            match reply {
                ShardReply::Put {
                    shard_index,
                    outcomes,
                    stats,
                } => puts.push((shard_index, outcomes, stats)),
                ShardReply::Opened { shard_index } => {
                    return Err(SimError::Host(format!(
                        "{} answered Opened to a put",
                        shard_id(shard_index)
                    )))
                }
                ShardReply::Failed { reason } => return Err(SimError::Host(reason)),
            }
        }
        puts.sort_by_key(|(i, _, _)| *i);
        let indexes: Vec<u32> = puts.iter().map(|(i, _, _)| *i).collect();
        if indexes != (0..self.scenario.shard_count).collect::<Vec<_>>() {
            return Err(SimError::Host(format!(
                "expected one reply per shard, got replies for shard indexes {indexes:?}"
            )));
        }
        for (i, outcomes, stats) in puts {
            let i = i as usize;
            if outcomes.len() != self.in_flight[i].len() {
                return Err(SimError::Host(format!(
                    "{} answered {} outcomes for {} records",
                    shard_id(i as u32),
                    outcomes.len(),
                    self.in_flight[i].len()
                )));
            }
            for (fp, outcome) in self.in_flight[i].iter().zip(&outcomes) {
                self.digest = fnv1a64_extend(self.digest, &(i as u32).to_le_bytes());
                self.digest = fnv1a64_extend(self.digest, &fp.to_le_bytes());
                self.digest = match outcome {
                    PutOutcome::Accepted(seq) => {
                        fnv1a64_extend(self.digest, seq.to_string().as_bytes())
                    }
                    PutOutcome::Throttled => fnv1a64_extend(self.digest, b"throttled"),
                };
            }
            self.stats[i] = stats;
        }
        self.history.push_back((
            self.now_ms,
            self.stats.iter().map(|s| s.records_accepted).collect(),
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
            .zip(&self.stats)
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
                latest_sequence_number: stats.latest_sequence_number.map(|s| s.to_string()),
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
    pub fn open_requests_encoded(&self) -> Vec<(u32, Vec<u8>)> {
        encode_all(self.open_requests())
    }

    /// Checks the replies to `open_requests_encoded`: every shard opened.
    pub fn check_opened(&self, replies: &[Vec<u8>]) -> Result<(), SimError> {
        let mut opened = Vec::with_capacity(replies.len());
        for reply in decode_all(replies)? {
            match reply {
                ShardReply::Opened { shard_index } => opened.push(shard_index),
                ShardReply::Failed { reason } => return Err(SimError::Host(reason)),
                other => {
                    return Err(SimError::Host(format!(
                        "unexpected reply to Open: {other:?}"
                    )))
                }
            }
        }
        opened.sort_unstable();
        if opened != (0..self.shard_count()).collect::<Vec<_>>() {
            return Err(SimError::Host(format!("shards opened: {opened:?}")));
        }
        Ok(())
    }

    pub fn begin_tick_encoded(&mut self, dt_ms: u64) -> Vec<(u32, Vec<u8>)> {
        encode_all(self.begin_tick(dt_ms))
    }

    pub fn finish_tick_encoded(&mut self, replies: &[Vec<u8>]) -> Result<(), SimError> {
        let replies = decode_all(replies)?;
        self.finish_tick(replies)
    }
}

fn encode_all(requests: Vec<(u32, ShardRequest)>) -> Vec<(u32, Vec<u8>)> {
    requests.into_iter().map(|(i, r)| (i, r.encode())).collect()
}

fn decode_all(replies: &[Vec<u8>]) -> Result<Vec<ShardReply>, SimError> {
    replies
        .iter()
        .map(|b| {
            ShardReply::decode(b)
                .map_err(|e| SimError::Host(format!("undecodable shard reply: {e}")))
        })
        .collect()
}
