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
use shardlab_engine::api::Output;
use shardlab_engine::{shard_id, ApiError, SequenceNumber};

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
    /// Milliseconds of virtual time between GetRecords calls on a shard.
    pub poll_ms: u64,
    #[serde(default)]
    pub start: StartAt,
    /// After a throttled call, try again this soon instead of a whole poll
    /// later (a SQL application's reader retries as KDA's does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_throttled_ms: Option<u64>,
}

impl ConsumerSpec {
    /// A consumer reading from TRIM_HORIZON every `poll_ms`.
    pub fn polling(name: impl Into<String>, poll_ms: u64) -> Self {
        ConsumerSpec {
            name: name.into(),
            poll_ms,
            start: StartAt::TrimHorizon,
            retry_throttled_ms: None,
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
enum Origin {
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
}

#[derive(Clone, Debug, Default)]
struct ShardReader {
    iterator: Option<String>,
    next_poll_ms: u64,
    /// The last sequence number delivered, to resume after it.
    last: Option<SequenceNumber>,
    delivered: u64,
    lag_ms: u64,
    done: bool,
    /// Where to start when there is no iterator and nothing delivered yet.
    start: Origin,
    /// When a call of this consumer on this shard last succeeded.
    served_ms: u64,
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

impl Consumer {
    /// A consumer that starts at `now_ms` on the shards `open`.
    pub fn new(spec: ConsumerSpec, open: impl IntoIterator<Item = u32>, now_ms: u64) -> Self {
        let readers = open
            .into_iter()
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
            .collect();
        Consumer {
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
        for r in self.readers.values_mut() {
            r.next_poll_ms = r.next_poll_ms.min(r.served_ms + poll_ms);
        }
    }

    pub fn spec(&self) -> &ConsumerSpec {
        &self.spec
    }

    /// The calls due by `now_ms`: (shard index, operation, request, when
    /// a call on the shard last succeeded).
    pub fn due(&self, stream: &str, now_ms: u64) -> Vec<(u32, Read, Value, u64)> {
        self.readers
            .iter()
            .filter(|(_, r)| !r.done && r.next_poll_ms <= now_ms)
            .map(|(&i, r)| match &r.iterator {
                Some(it) => (
                    i,
                    Read::Records,
                    json!({"ShardIterator": it, "Limit": 10_000}),
                    r.served_ms,
                ),
                None => {
                    let mut request = json!({"StreamName": stream, "ShardId": shard_id(i)});
                    match (r.last, r.start) {
                        (Some(seq), _) => {
                            request["ShardIteratorType"] = json!("AFTER_SEQUENCE_NUMBER");
                            request["StartingSequenceNumber"] = json!(seq.to_string());
                        }
                        (None, Origin::TrimHorizon) => {
                            request["ShardIteratorType"] = json!("TRIM_HORIZON")
                        }
                        (None, Origin::Latest) => request["ShardIteratorType"] = json!("LATEST"),
                        (None, Origin::AtTimestamp(t)) => {
                            request["ShardIteratorType"] = json!("AT_TIMESTAMP");
                            // Epoch seconds, as the SDKs send a Date.
                            request["Timestamp"] = json!(t as f64 / 1000.0);
                        }
                    }
                    (i, Read::Iterator, request, r.served_ms)
                }
            })
            .collect()
    }

    /// A call is being planned: the next poll on the shard is one interval
    /// later (unless its outcome says sooner).
    pub fn polled(&mut self, shard: u32, now_ms: u64) {
        if let Some(r) = self.readers.get_mut(&shard) {
            r.next_poll_ms = now_ms + self.spec.poll_ms;
        }
    }

    /// Takes a call's outcome; returns the records delivered, as
    /// (shard, sequence number) in order, for the run digest.
    pub fn finish(
        &mut self,
        shard: u32,
        read: Read,
        outcome: Result<Output, ApiError>,
        now_ms: u64,
    ) -> Vec<SequenceNumber> {
        let Some(reader) = self.readers.get_mut(&shard) else {
            return Vec::new();
        };
        if outcome.is_ok() {
            reader.served_ms = now_ms;
        }
        match (read, outcome) {
            (Read::Iterator, Ok(Output::Value(v))) => {
                reader.iterator = v["ShardIterator"].as_str().map(str::to_string);
                // Records follow at once (the next tick), not a whole poll
                // interval later: an iterator lives only 5 minutes.
                reader.next_poll_ms = now_ms;
                Vec::new()
            }
            (Read::Records, Ok(Output::Records(out))) => {
                let seqs: Vec<SequenceNumber> =
                    out.records.iter().map(|r| r.sequence_number).collect();
                reader.delivered += seqs.len() as u64;
                self.delivered += seqs.len() as u64;
                let next = self.high.entry(shard).or_insert(0);
                for r in &out.records {
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
                self.user_records += out
                    .records
                    .iter()
                    .map(|r| shardlab_engine::kpl::user_record_count(&r.data))
                    .sum::<u64>();
                if let Some(last) = seqs.last() {
                    reader.last = Some(*last);
                }
                reader.lag_ms = out.millis_behind_latest;
                reader.iterator = out.next_shard_iterator;
                if let Some(children) = out.child_shards {
                    reader.done = true;
                    reader.lag_ms = 0;
                    self.shard_ended(shard, &children);
                }
                seqs
            }
            (_, Err(ApiError::ProvisionedThroughputExceeded(_))) => {
                self.throttled += 1;
                if let Some(retry) = self.spec.retry_throttled_ms {
                    reader.next_poll_ms = now_ms + retry;
                }
                Vec::new()
            }
            (_, Err(ApiError::ExpiredIterator(_))) => {
                // Start again after the last record delivered, at once.
                reader.iterator = None;
                reader.next_poll_ms = now_ms;
                Vec::new()
            }
            // A shard that expired before it was read is gone; anything
            // else is a bug the run digest would show.
            (_, Err(_)) | (_, Ok(_)) => Vec::new(),
        }
    }

    /// `shard` was read to its end: its children start once all their
    /// parents are done.
    fn shard_ended(&mut self, shard: u32, children: &[Value]) {
        for child in children {
            let Some(c) = child["ShardId"].as_str().and_then(shard_index) else {
                continue;
            };
            let parents: Vec<u32> = child["ParentShards"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter_map(|p| p.as_str().and_then(shard_index))
                        .collect()
                })
                .unwrap_or_default();
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
            max_lag_ms: self.readers.values().map(|r| r.lag_ms).max().unwrap_or(0),
            redelivered: self.redelivered,
            out_of_order: self.out_of_order,
            shards: self
                .readers
                .iter()
                .map(|(i, r)| ConsumerShardView {
                    shard_id: shard_id(*i),
                    delivered: r.delivered,
                    lag_ms: r.lag_ms,
                    done: r.done,
                })
                .collect(),
        }
    }
}
