//! KCL-style consumer applications: workers, a lease table, checkpoints.
//!
//! A KCL application runs on several workers (application instances).
//! Each shard has a lease in the application's lease table (DynamoDB on
//! AWS); a worker processes only the shards whose leases it holds, from
//! the lease's checkpoint. This module follows the KCL 2.x lease
//! coordinator with its defaults (`../shared/reference`, KCL section):
//!
//! - A worker renews the leases it holds every 3,308 ms by incrementing
//!   their counters. It learns it has lost one when the counter has moved.
//! - Every 20,050 ms a worker's lease taker scans the table. A lease whose
//!   counter it has not seen move for 10,000 ms (`failoverTimeMillis`) is
//!   expired, and an unowned lease is available at once. Workers are
//!   counted from the leases that are not expired; the target is
//!   `ceil(leases / workers)`. A worker below target takes expired leases
//!   at random; when there are none it steals one lease
//!   (`maxLeasesToStealAtOneTime`) from the most loaded worker.
//! - Each held lease runs a record processor: GetShardIterator at the
//!   lease's checkpoint, then GetRecords every `idleTimeBetweenReads`
//!   (the consumer's `poll_ms`). The application checkpoints the last
//!   record it processed every `checkpoint_ms`; a checkpoint by a worker
//!   that has lost the lease fails, and its processor stops.
//! - At the end of a closed shard the processor checkpoints `SHARD_END`
//!   and creates leases for the children (parents recorded); a child's
//!   processor waits, checking every 10,000 ms
//!   (`parentShardPollIntervalMillis`), until every parent's checkpoint is
//!   `SHARD_END`. Finished leases stay in the table, marked, and are not
//!   balanced (the KCL's lease cleanup deletes them later).
//!
//! A stopped worker (a crash) neither renews nor checkpoints: its leases
//! expire and other workers take them, resuming after the last checkpoint.
//! Everything processed since that checkpoint is processed again: the
//! application's at-least-once delivery, counted as duplicates.

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shardlab_engine::{shard_id, SequenceNumber};

use crate::consumer::{child_shards, Origin, ShardReader};

/// `failoverTimeMillis`: a lease not renewed for this long is expired.
pub const FAILOVER_MS: u64 = 10_000;
/// Leases are renewed every `failoverTime / 3 - 25` ms.
pub const RENEW_MS: u64 = FAILOVER_MS / 3 - 25;
/// The lease taker runs every `(failoverTime + 25) * 2` ms.
pub const TAKE_MS: u64 = (FAILOVER_MS + 25) * 2;
/// `parentShardPollIntervalMillis`: how often a child checks its parents.
pub const PARENT_POLL_MS: u64 = 10_000;
/// The most workers an application may have in the playground.
pub const MAX_WORKERS: u32 = 8;
/// Checkpoint interval bounds (a second to an hour) and default (the KCL
/// samples checkpoint once a minute).
pub const MIN_CHECKPOINT_MS: u64 = 1_000;
pub const MAX_CHECKPOINT_MS: u64 = 3_600_000;
pub const DEFAULT_CHECKPOINT_MS: u64 = 60_000;

fn default_checkpoint_ms() -> u64 {
    DEFAULT_CHECKPOINT_MS
}

/// A consumer application run as the KCL runs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KclSpec {
    /// Application instances (`worker-1` ...), all started with the stream.
    pub workers: u32,
    /// How often each record processor checkpoints what it has processed.
    #[serde(default = "default_checkpoint_ms")]
    pub checkpoint_ms: u64,
}

impl KclSpec {
    pub fn validate(&self, app: &str) -> Result<(), String> {
        if !(1..=MAX_WORKERS).contains(&self.workers) {
            return Err(format!(
                "KCL application {app} has {} workers; it needs 1 to {MAX_WORKERS}",
                self.workers
            ));
        }
        if !(MIN_CHECKPOINT_MS..=MAX_CHECKPOINT_MS).contains(&self.checkpoint_ms) {
            return Err(format!(
                "KCL application {app} checkpoints every {} ms; the interval must be \
                 {MIN_CHECKPOINT_MS} ms to {MAX_CHECKPOINT_MS} ms (an hour)",
                self.checkpoint_ms
            ));
        }
        Ok(())
    }
}

/// A lease's checkpoint: a position, or where to start without one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Checkpoint {
    Start(Origin),
    At(SequenceNumber),
    ShardEnd,
}

impl Checkpoint {
    fn label(&self) -> String {
        match self {
            Checkpoint::Start(Origin::TrimHorizon) => "TRIM_HORIZON".into(),
            Checkpoint::Start(Origin::Latest) => "LATEST".into(),
            Checkpoint::Start(Origin::AtTimestamp(_)) => "AT_TIMESTAMP".into(),
            Checkpoint::At(seq) => seq.to_string(),
            Checkpoint::ShardEnd => "SHARD_END".into(),
        }
    }
}

#[derive(Clone, Debug)]
struct Lease {
    owner: Option<u32>,
    counter: u64,
    checkpoint: Checkpoint,
    parents: Vec<u32>,
    owner_switches_since_checkpoint: u64,
}

#[derive(Clone, Debug, Default)]
struct Worker {
    alive: bool,
    next_renew_ms: u64,
    next_take_ms: u64,
    /// The leases it holds, with the counter it last wrote.
    held: BTreeMap<u32, u64>,
    /// The lease taker's memory: each lease's counter as last seen, and
    /// since when.
    seen: BTreeMap<u32, (u64, u64)>,
}

/// A record processor: one shard on one worker.
#[derive(Clone, Debug)]
pub(crate) struct Processor {
    pub(crate) reader: ShardReader,
    /// When it last checkpointed (or started).
    checkpointed_ms: u64,
    /// Waiting for its parents' `SHARD_END`; checks again at this time.
    blocked_until: Option<u64>,
}

/// What happened to the application's leases, all time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseCounts {
    /// Leases taken after they expired (or before anyone held them).
    pub taken: u64,
    /// Leases stolen from a busier worker to balance the load.
    pub stolen: u64,
    /// Leases a worker found it had lost (at a renewal or checkpoint).
    pub lost: u64,
    pub checkpoints: u64,
}

/// The lease coordinator of one application and its record processors.
pub struct Kcl {
    spec: KclSpec,
    leases: BTreeMap<u32, Lease>,
    workers: Vec<Worker>,
    pub(crate) processors: BTreeMap<(u32, u32), Processor>,
    rng: ChaCha8Rng,
    counts: LeaseCounts,
    /// Where leases of shards that appear later (children) start.
    children_from: Origin,
    /// Per shard, records processed by any worker.
    processed: BTreeMap<u32, u64>,
    /// Per shard, the last MillisBehindLatest read and when.
    lag: BTreeMap<u32, (u64, u64)>,
    /// The time of the last `advance`.
    now_ms: u64,
}

/// A worker's name as the UI and lessons write it (1-based).
pub fn worker_name(w: u32) -> String {
    format!("worker-{}", w + 1)
}

/// A worker's index from its name (`worker-2` or `2`).
pub fn worker_index(name: &str) -> Option<u32> {
    let n: u32 = name.strip_prefix("worker-").unwrap_or(name).parse().ok()?;
    n.checked_sub(1)
}

impl Kcl {
    /// An application whose lease table is created with a lease per shard
    /// in `open`, checkpoint `start`, and whose workers all start at
    /// `now_ms`.
    pub(crate) fn new(
        spec: KclSpec,
        open: impl IntoIterator<Item = u32>,
        start: Origin,
        now_ms: u64,
        rng: ChaCha8Rng,
    ) -> Self {
        let leases = open
            .into_iter()
            .map(|s| (s, Lease::new(Checkpoint::Start(start), Vec::new())))
            .collect();
        let workers = (0..spec.workers).map(|_| Worker::started(now_ms)).collect();
        Kcl {
            spec,
            leases,
            workers,
            processors: BTreeMap::new(),
            rng,
            counts: LeaseCounts::default(),
            children_from: Origin::TrimHorizon,
            processed: BTreeMap::new(),
            lag: BTreeMap::new(),
            now_ms,
        }
    }

    /// Runs the workers' lease renewals, lease takers and checkpoints due
    /// by `now_ms`, in worker order.
    pub(crate) fn advance(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        for w in 0..self.workers.len() as u32 {
            if !self.workers[w as usize].alive {
                continue;
            }
            while self.workers[w as usize].next_renew_ms <= now_ms {
                self.workers[w as usize].next_renew_ms += RENEW_MS;
                self.renew(w);
            }
            if self.workers[w as usize].next_take_ms <= now_ms {
                self.workers[w as usize].next_take_ms = now_ms + TAKE_MS;
                self.take(w, now_ms);
            }
        }
        let keys: Vec<(u32, u32)> = self.processors.keys().copied().collect();
        for (w, s) in keys {
            let Some(p) = self.processors.get(&(w, s)) else {
                continue;
            };
            if let Some(until) = p.blocked_until {
                if until <= now_ms {
                    self.check_parents(w, s, now_ms);
                }
            } else if p.checkpointed_ms + self.spec.checkpoint_ms <= now_ms {
                let last = p.reader.last;
                if let Some(p) = self.processors.get_mut(&(w, s)) {
                    p.checkpointed_ms = now_ms;
                }
                if let Some(seq) = last {
                    self.checkpoint(w, s, Checkpoint::At(seq));
                }
            }
        }
    }

    /// Renews every lease `w` holds; a lease whose counter moved was taken
    /// by another worker: its processor stops (leaseLost, no checkpoint).
    fn renew(&mut self, w: u32) {
        let held: Vec<(u32, u64)> = self.workers[w as usize]
            .held
            .iter()
            .map(|(s, c)| (*s, *c))
            .collect();
        for (s, counter) in held {
            match self.leases.get_mut(&s) {
                Some(lease) if lease.owner == Some(w) && lease.counter == counter => {
                    lease.counter += 1;
                    self.workers[w as usize].held.insert(s, lease.counter);
                }
                _ => self.lose(w, s),
            }
        }
    }

    fn lose(&mut self, w: u32, s: u32) {
        self.workers[w as usize].held.remove(&s);
        self.processors.remove(&(w, s));
        self.counts.lost += 1;
    }

    /// Writes a checkpoint, conditionally on `w` still holding the lease
    /// (as the KCL's conditional update does); otherwise the lease is lost.
    fn checkpoint(&mut self, w: u32, s: u32, at: Checkpoint) -> bool {
        let counter = self.workers[w as usize].held.get(&s).copied();
        match self.leases.get_mut(&s) {
            Some(lease)
                if counter.is_some()
                    && lease.owner == Some(w)
                    && Some(lease.counter) == counter =>
            {
                if lease.checkpoint != at {
                    lease.checkpoint = at;
                    lease.owner_switches_since_checkpoint = 0;
                    self.counts.checkpoints += 1;
                }
                lease.counter += 1;
                self.workers[w as usize].held.insert(s, lease.counter);
                true
            }
            _ => {
                if counter.is_some() {
                    self.lose(w, s);
                } else {
                    self.processors.remove(&(w, s));
                }
                false
            }
        }
    }

    /// The lease taker of worker `w` (see the module's comment).
    fn take(&mut self, w: u32, now_ms: u64) {
        // Scan: note counters that moved; unowned leases are expired.
        let mut expired = Vec::new();
        let mut load: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        let worker = &mut self.workers[w as usize];
        let mut active = 0usize;
        for (&s, lease) in &self.leases {
            if lease.checkpoint == Checkpoint::ShardEnd {
                continue;
            }
            active += 1;
            let since = match worker.seen.get(&s) {
                Some(&(c, since)) if c == lease.counter => since,
                _ => {
                    worker.seen.insert(s, (lease.counter, now_ms));
                    now_ms
                }
            };
            match lease.owner {
                // A worker started again finds leases that still name it
                // but that it no longer holds: they are its to take.
                Some(o) if o == w && !worker.held.contains_key(&s) => expired.push(s),
                Some(o) if now_ms.saturating_sub(since) <= FAILOVER_MS => {
                    load.entry(o).or_default().push(s)
                }
                _ => expired.push(s),
            }
        }
        if active == 0 {
            return;
        }
        let mine = load.get(&w).map_or(0, Vec::len);
        load.entry(w).or_default();
        let workers = load.len();
        let target = if workers >= active {
            1
        } else {
            active.div_ceil(workers)
        };
        if mine >= target {
            return;
        }
        let needed = target - mine;
        if !expired.is_empty() {
            // At random (a Fisher-Yates shuffle's first `needed`).
            for i in 0..needed.min(expired.len()) {
                let j = i + (self.rng.next_u64() % (expired.len() - i) as u64) as usize;
                expired.swap(i, j);
            }
            for s in expired.into_iter().take(needed) {
                self.counts.taken += 1;
                self.acquire(w, s, now_ms);
            }
            return;
        }
        // Steal one lease from the most loaded worker (lowest index on a
        // tie), if it is above target, or at target while we need more
        // than one.
        let Some((_, leases)) = load
            .iter()
            .filter(|(o, _)| **o != w)
            .max_by_key(|(o, l)| (l.len(), std::cmp::Reverse(**o)))
        else {
            return;
        };
        if leases.len() > target || (needed > 1 && leases.len() == target) {
            let s = leases[(self.rng.next_u64() % leases.len() as u64) as usize];
            self.counts.stolen += 1;
            self.acquire(w, s, now_ms);
        }
    }

    /// `w` writes itself as the lease's owner and starts its processor.
    fn acquire(&mut self, w: u32, s: u32, now_ms: u64) {
        let Some(lease) = self.leases.get_mut(&s) else {
            return;
        };
        if lease.owner != Some(w) {
            lease.owner_switches_since_checkpoint += 1;
        }
        lease.owner = Some(w);
        lease.counter += 1;
        let checkpoint = lease.checkpoint;
        let worker = &mut self.workers[w as usize];
        worker.held.insert(s, lease.counter);
        worker.seen.insert(s, (lease.counter, now_ms));
        let mut reader = ShardReader::default();
        reader.next_poll_ms = now_ms;
        match checkpoint {
            Checkpoint::Start(origin) => reader.start = origin,
            Checkpoint::At(seq) => reader.last = Some(seq),
            Checkpoint::ShardEnd => return,
        }
        self.processors.insert(
            (w, s),
            Processor {
                reader,
                checkpointed_ms: now_ms,
                blocked_until: None,
            },
        );
        self.check_parents(w, s, now_ms);
    }

    /// A processor may read once every parent's lease is at `SHARD_END`
    /// (or gone); until then it checks every `PARENT_POLL_MS`.
    fn check_parents(&mut self, w: u32, s: u32, now_ms: u64) {
        let blocked = self.leases.get(&s).is_some_and(|l| {
            l.parents.iter().any(|p| {
                self.leases
                    .get(p)
                    .is_some_and(|pl| pl.checkpoint != Checkpoint::ShardEnd)
            })
        });
        if let Some(p) = self.processors.get_mut(&(w, s)) {
            p.blocked_until = blocked.then_some(now_ms + PARENT_POLL_MS);
            p.reader.next_poll_ms = now_ms;
            p.checkpointed_ms = now_ms;
        }
    }

    /// `w`'s processor read shard `s` to its end: it checkpoints
    /// `SHARD_END` and creates its children's leases.
    pub(crate) fn shard_ended(&mut self, w: u32, s: u32, children: &[Value]) {
        if !self.checkpoint(w, s, Checkpoint::ShardEnd) {
            return;
        }
        self.processors.remove(&(w, s));
        self.workers[w as usize].held.remove(&s);
        if let Some(lease) = self.leases.get_mut(&s) {
            lease.owner = None;
        }
        for (c, parents) in child_shards(children) {
            let from = self.children_from;
            self.leases
                .entry(c)
                .or_insert_with(|| Lease::new(Checkpoint::Start(from), parents));
        }
    }

    /// Counts records processed on `s`, and how far behind they were.
    pub(crate) fn processed(&mut self, s: u32, n: u64, lag_ms: u64, now_ms: u64) {
        *self.processed.entry(s).or_default() += n;
        self.lag.insert(s, (lag_ms, now_ms));
    }

    /// The largest lag over unfinished shards: the last MillisBehindLatest
    /// read, plus the time since while no processor reads the shard (its
    /// lease held by a stopped worker, or not yet taken).
    pub(crate) fn max_lag_ms(&self) -> u64 {
        self.leases
            .iter()
            .filter(|(_, l)| l.checkpoint != Checkpoint::ShardEnd)
            .map(|(s, _)| {
                let (lag, at) = self.lag.get(s).copied().unwrap_or((0, self.now_ms));
                let reading = self
                    .processors
                    .iter()
                    .any(|((_, ps), p)| ps == s && p.reading());
                if reading {
                    lag
                } else {
                    lag + self.now_ms.saturating_sub(at)
                }
            })
            .max()
            .unwrap_or(0)
    }

    /// Stops worker `w` abruptly (a crash): nothing is checkpointed or
    /// released; its leases expire and others take them.
    pub fn stop_worker(&mut self, w: u32) -> Result<(), String> {
        let worker = self.worker_mut(w)?;
        if !worker.alive {
            return Err(format!("{} is already stopped", worker_name(w)));
        }
        worker.alive = false;
        worker.held.clear();
        worker.seen.clear();
        self.processors.retain(|(pw, _), _| *pw != w);
        Ok(())
    }

    /// Starts worker `w` again, or a new worker when `w` is the next
    /// index; it joins with no leases and runs its lease taker at once.
    pub fn start_worker(&mut self, w: u32, now_ms: u64) -> Result<(), String> {
        if w as usize == self.workers.len() {
            if self.workers.len() as u32 >= MAX_WORKERS {
                return Err(format!(
                    "an application has at most {MAX_WORKERS} workers in the playground"
                ));
            }
            self.workers.push(Worker::started(now_ms));
            self.spec.workers += 1;
            return Ok(());
        }
        let worker = self.worker_mut(w)?;
        if worker.alive {
            return Err(format!("{} is already running", worker_name(w)));
        }
        *worker = Worker::started(now_ms);
        Ok(())
    }

    fn worker_mut(&mut self, w: u32) -> Result<&mut Worker, String> {
        let n = self.workers.len();
        self.workers
            .get_mut(w as usize)
            .ok_or_else(|| format!("no {}: the application has {n} workers", worker_name(w)))
    }

    /// Resets the lease table to read again from `from` on `roots`, as
    /// deleting a KCL application's lease table and starting it again
    /// does; every running worker takes leases at once.
    pub(crate) fn reset(
        &mut self,
        from: Origin,
        roots: impl IntoIterator<Item = u32>,
        now_ms: u64,
    ) {
        self.children_from = from;
        self.leases = roots
            .into_iter()
            .map(|s| (s, Lease::new(Checkpoint::Start(from), Vec::new())))
            .collect();
        self.processors.clear();
        self.lag.clear();
        for worker in self.workers.iter_mut().filter(|w| w.alive) {
            *worker = Worker::started(now_ms);
        }
    }

    pub fn view(&self) -> KclView {
        KclView {
            checkpoint_ms: self.spec.checkpoint_ms,
            workers: self
                .workers
                .iter()
                .enumerate()
                .map(|(w, worker)| KclWorkerView {
                    worker_id: worker_name(w as u32),
                    alive: worker.alive,
                    leases: self
                        .leases
                        .values()
                        .filter(|l| l.owner == Some(w as u32))
                        .count() as u32,
                    processing: self
                        .processors
                        .iter()
                        .filter(|((pw, _), p)| *pw == w as u32 && p.blocked_until.is_none())
                        .map(|((_, s), _)| shard_id(*s))
                        .collect(),
                })
                .collect(),
            leases: self
                .leases
                .iter()
                .map(|(&s, l)| LeaseView {
                    lease_key: shard_id(s),
                    lease_owner: l.owner.map(worker_name),
                    lease_counter: l.counter,
                    checkpoint: l.checkpoint.label(),
                    owner_switches_since_checkpoint: l.owner_switches_since_checkpoint,
                    parent_shard_ids: l.parents.iter().map(|p| shard_id(*p)).collect(),
                    processed: self.processed.get(&s).copied().unwrap_or(0),
                    blocked_on_parents: self
                        .processors
                        .iter()
                        .any(|((_, ps), p)| *ps == s && p.blocked_until.is_some()),
                })
                .collect(),
            counts: self.counts,
        }
    }
}

impl Processor {
    /// Not waiting for its parents.
    pub(crate) fn reading(&self) -> bool {
        self.blocked_until.is_none()
    }
}

impl Lease {
    fn new(checkpoint: Checkpoint, parents: Vec<u32>) -> Self {
        Lease {
            owner: None,
            counter: 0,
            checkpoint,
            parents,
            owner_switches_since_checkpoint: 0,
        }
    }
}

impl Worker {
    fn started(now_ms: u64) -> Self {
        Worker {
            alive: true,
            next_renew_ms: now_ms + RENEW_MS,
            next_take_ms: now_ms,
            ..Worker::default()
        }
    }
}

/// The lease table and workers, for the UI and lessons.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KclView {
    pub checkpoint_ms: u64,
    pub workers: Vec<KclWorkerView>,
    /// The lease table, one item per shard, with the KCL's attribute names.
    pub leases: Vec<LeaseView>,
    pub counts: LeaseCounts,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KclWorkerView {
    pub worker_id: String,
    pub alive: bool,
    /// Leases the table says it owns.
    pub leases: u32,
    /// Shards its record processors are reading.
    pub processing: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseView {
    pub lease_key: String,
    pub lease_owner: Option<String>,
    pub lease_counter: u64,
    pub checkpoint: String,
    pub owner_switches_since_checkpoint: u64,
    pub parent_shard_ids: Vec<String>,
    /// Records processed from the shard, duplicates included.
    pub processed: u64,
    /// Its processor waits for a parent to reach SHARD_END.
    pub blocked_on_parents: bool,
}
