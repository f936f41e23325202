//! Where shard data planes live, and the operations the API sends them.
//!
//! The API (`crate::api`) is the control plane: streams, shard metadata,
//! routing, validation, errors. Each shard's records, sequence numbers and
//! throughput buckets live in a [`ShardDataPlane`], reached only through
//! [`ShardOp`]s. A call is planned (control-plane work, a list of shard
//! operations), the operations run wherever the shards are, and the call
//! is finished from their results. In-process that is one function call
//! ([`LocalShards`]); in the browser the operations of a whole tick go to
//! the shard workers as one message per worker, which is why the two halves
//! are separate.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::made::{fingerprint, UuidKey};
use crate::shard::{
    PutEntry, PutOutcome, PutRef, ReadRefusal, ShardConfig, ShardDataPlane, ShardStats,
    StoredRecord,
};

/// A stream incarnation's id: a stream deleted and created again under
/// the same name gets a new one, so old shards are never confused with new.
pub type StreamId = u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ShardKey {
    pub stream: StreamId,
    pub shard_index: u32,
}

/// Where a reader starts, resolved by the shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Position {
    TrimHorizon,
    Latest,
    AtTimestamp(u64),
    /// A sequence index; the closing index means "after the last record".
    Index(u64),
}

/// One operation on one shard. The coordinator sends `PutEntry`s; a host
/// decodes the same bytes into borrowed [`ShardOpIn`]s.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardOp<E = PutEntry> {
    Open(ShardConfig),
    Put {
        entries: Vec<E>,
        enforce: bool,
    },
    Read {
        from: u64,
        limit: u32,
        now_ms: u64,
        enforce: bool,
    },
    Position {
        at: Position,
        now_ms: u64,
        charge: bool,
    },
    Close {
        now_ms: u64,
    },
    SetRetention {
        retention_ms: u64,
        now_ms: u64,
    },
    Stats,
    Drop,
    /// Drops what is past retention at `now_ms`, then counts what is left
    /// (the playground shows each shard's retained records once a second).
    Census {
        now_ms: u64,
    },
}

/// A [`ShardOp`] as a shard host decodes it from a batch's bytes: the
/// same encoding, with puts borrowed from the bytes ([`PutRef`]).
pub type ShardOpIn<'a> = ShardOp<PutRef<'a>>;

impl ShardOp {
    /// The operation as a host decodes it (tests and the in-process API).
    pub fn as_in(&self) -> ShardOpIn<'_> {
        match self {
            ShardOp::Open(c) => ShardOpIn::Open(c.clone()),
            ShardOp::Put { entries, enforce } => ShardOpIn::Put {
                entries: entries.iter().map(PutEntry::as_put).collect(),
                enforce: *enforce,
            },
            &ShardOp::Read {
                from,
                limit,
                now_ms,
                enforce,
            } => ShardOpIn::Read {
                from,
                limit,
                now_ms,
                enforce,
            },
            &ShardOp::Position { at, now_ms, charge } => ShardOpIn::Position { at, now_ms, charge },
            &ShardOp::Close { now_ms } => ShardOpIn::Close { now_ms },
            &ShardOp::SetRetention {
                retention_ms,
                now_ms,
            } => ShardOpIn::SetRetention {
                retention_ms,
                now_ms,
            },
            ShardOp::Stats => ShardOpIn::Stats,
            ShardOp::Drop => ShardOpIn::Drop,
            &ShardOp::Census { now_ms } => ShardOpIn::Census { now_ms },
        }
    }
}

/// Records read by one GetRecords (or one fan-out event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadResult {
    pub records: Vec<StoredRecord>,
    /// The sequence index to read from next.
    pub next_index: u64,
    /// Whether the reader is at the end of a closed shard (nothing after).
    pub at_shard_end: bool,
    /// Arrival time of the first record not returned (None: caught up);
    /// GetRecords' `MillisBehindLatest` is measured from it.
    pub next_arrival_ms: Option<u64>,
}

impl ReadResult {
    /// Bytes of data and partition keys read: what read throughput counts.
    pub fn bytes(&self) -> u64 {
        self.records
            .iter()
            .map(|r| (r.partition_key.len() + r.data.len()) as u64)
            .sum()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardOpResult {
    Done,
    Put(Vec<PutOutcome>),
    Read(ReadResult),
    Position(u64),
    Stats(ShardStats),
    /// Over the shard's read or GetShardIterator limit.
    Throttled,
    /// No such shard in this store (a bug or a lost worker, never input).
    Missing,
    /// What a shard retains: records, and the oldest one's arrival time.
    Census {
        records: u64,
        oldest_arrival_ms: Option<u64>,
    },
    /// A Put with records the host made (see [`crate::made`]): each
    /// entry's outcome, and each made record's part of the run digest
    /// ([`crate::made::fingerprint`]; 0 for entries sent as bytes).
    PutMade {
        outcomes: Vec<PutOutcome>,
        prints: Vec<u64>,
    },
}

impl ShardDataPlane {
    /// Applies one operation (other than `Open` and `Drop`, which the store
    /// handles).
    pub fn apply(&mut self, op: ShardOpIn<'_>) -> ShardOpResult {
        match op {
            ShardOpIn::Open(_) | ShardOpIn::Drop => ShardOpResult::Done,
            ShardOpIn::Put { entries, enforce } => {
                if let Some(now) = entries.last().map(|e| e.arrival_ms) {
                    self.expire(now);
                }
                let any_made = entries.iter().any(|e| e.made.is_some());
                let mut outcomes = Vec::with_capacity(entries.len());
                let mut prints = Vec::with_capacity(if any_made { entries.len() } else { 0 });
                // The bytes of a record made here, one at a time: the
                // store copies them in.
                let mut bytes = Vec::new();
                for e in entries {
                    let mut key = [0; UuidKey::LEN];
                    let e = match e.made {
                        Some(recipe) => {
                            bytes.clear();
                            recipe.event.write(&mut bytes);
                            let partition_key = match &recipe.key {
                                Some(k) => k.as_str(&mut key),
                                None => e.partition_key,
                            };
                            let at = recipe.event.event_ms;
                            prints.push(fingerprint(at, partition_key, &bytes));
                            PutRef {
                                partition_key,
                                data: &bytes,
                                made: None,
                                ..e
                            }
                        }
                        None => {
                            if any_made {
                                prints.push(0);
                            }
                            e
                        }
                    };
                    outcomes.push(if enforce {
                        self.put(e)
                    } else {
                        self.put_unlimited(e)
                    });
                }
                if any_made {
                    ShardOpResult::PutMade { outcomes, prints }
                } else {
                    ShardOpResult::Put(outcomes)
                }
            }
            ShardOpIn::Read {
                from,
                limit,
                now_ms,
                enforce,
            } => {
                let batch = if enforce {
                    self.read(from, limit as usize, now_ms)
                } else {
                    self.read_unlimited(from, limit as usize, now_ms)
                };
                match batch {
                    Ok(b) => ShardOpResult::Read(b),
                    Err(ReadRefusal::Throttled) => ShardOpResult::Throttled,
                }
            }
            ShardOpIn::Position { at, now_ms, charge } => {
                if charge && !self.admit_iterator_call(now_ms) {
                    return ShardOpResult::Throttled;
                }
                self.expire(now_ms);
                ShardOpResult::Position(match at {
                    Position::TrimHorizon => self.first_index(),
                    Position::Latest => self.next_index(),
                    Position::AtTimestamp(t) => self.index_at_timestamp(t),
                    Position::Index(i) if i == crate::CLOSING_SEQUENCE_INDEX => self.next_index(),
                    Position::Index(i) => i,
                })
            }
            ShardOpIn::Close { now_ms } => {
                self.close(now_ms);
                ShardOpResult::Done
            }
            ShardOpIn::SetRetention {
                retention_ms,
                now_ms,
            } => {
                self.set_retention(retention_ms, now_ms);
                ShardOpResult::Done
            }
            ShardOpIn::Stats => ShardOpResult::Stats(self.stats().clone()),
            ShardOpIn::Census { now_ms } => {
                self.expire(now_ms);
                ShardOpResult::Census {
                    records: self.stats().records_retained,
                    oldest_arrival_ms: self.arrival_at(self.first_index()),
                }
            }
        }
    }
}

/// Runs shard operations and returns one result per operation, in order.
pub trait ShardStore {
    fn run(&mut self, ops: Vec<(ShardKey, ShardOp)>) -> Vec<ShardOpResult>;
}

/// Every shard in this thread.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalShards {
    planes: BTreeMap<ShardKey, ShardDataPlane>,
}

impl LocalShards {
    pub fn new() -> Self {
        LocalShards::default()
    }

    pub fn len(&self) -> usize {
        self.planes.len()
    }

    /// Whether every shard hangs together (see `ShardDataPlane::check`).
    pub fn check(&self) -> bool {
        self.planes.values().all(ShardDataPlane::check)
    }

    /// Bytes of every shard's retained records (about what a checkpoint
    /// of this store takes).
    pub fn record_bytes(&self) -> u64 {
        self.planes.values().map(|p| p.record_bytes()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.planes.is_empty()
    }

    pub fn get(&self, key: &ShardKey) -> Option<&ShardDataPlane> {
        self.planes.get(key)
    }

    pub fn run_one(&mut self, key: ShardKey, op: ShardOpIn<'_>) -> ShardOpResult {
        match op {
            ShardOpIn::Open(config) => {
                self.planes.insert(key, ShardDataPlane::new(config));
                ShardOpResult::Done
            }
            ShardOpIn::Drop => {
                self.planes.remove(&key);
                ShardOpResult::Done
            }
            op => match self.planes.get_mut(&key) {
                Some(plane) => plane.apply(op),
                None => ShardOpResult::Missing,
            },
        }
    }

    /// Runs operations decoded from a batch's bytes, in order.
    pub fn run_in(&mut self, ops: Vec<(ShardKey, ShardOpIn<'_>)>) -> Vec<ShardOpResult> {
        ops.into_iter().map(|(k, op)| self.run_one(k, op)).collect()
    }
}

impl ShardStore for LocalShards {
    fn run(&mut self, ops: Vec<(ShardKey, ShardOp)>) -> Vec<ShardOpResult> {
        ops.iter()
            .map(|(k, op)| self.run_one(*k, op.as_in()))
            .collect()
    }
}
