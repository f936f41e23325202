//! Messages between the UI and the simulation worker.
//!
//! Small and rare (a command per click, a snapshot per display frame), so
//! they travel as plain JS objects; bulk record data never crosses here.

use serde::{Deserialize, Serialize};

use crate::{Scenario, Snapshot};

/// Speeds the clock can run at, relative to wall-clock time.
pub const MIN_SPEED: f64 = 0.25;
pub const MAX_SPEED: f64 = 1000.0;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Command {
    /// Replaces the current stream (if any) with a new one, paused.
    CreateStream {
        scenario: Scenario,
    },
    Run,
    Pause,
    /// Runs exactly one tick, then stays paused.
    Step,
    SetRate {
        rate_per_sec: u64,
    },
    SetSpeed {
        speed: f64,
    },
    /// SplitShard at the middle of the shard's hash-key range.
    SplitShard {
        shard_id: String,
    },
    /// MergeShards of two adjacent open shards.
    MergeShards {
        shard_id: String,
        adjacent_shard_id: String,
    },
    /// Terminates a shard worker abruptly, as a crash would; the
    /// coordinator must notice and restore it (the durability lesson).
    KillWorker {
        worker: u32,
    },
}

/// What the UI shows about one shard worker.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerView {
    pub index: u32,
    /// The shards it keeps, open and closed.
    pub shards: Vec<String>,
    /// Records its shards accepted during the last virtual second.
    pub records_last_second: u64,
    /// Shard operations it has run, all time.
    pub ops: u64,
    /// The coordinator's copy of it: last checkpoint and the log since.
    pub checkpoints: u64,
    pub checkpoint_bytes: u64,
    pub log_batches: u64,
    pub log_bytes: u64,
    pub recoveries: u64,
    /// Wall-clock milliseconds from posting its last batch to the reply.
    pub last_round_trip_ms: f64,
    pub last_recovery: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    /// The worker has loaded and takes commands.
    Ready,
    /// The current state of the stream and of the shard workers.
    Snapshot {
        snapshot: Snapshot,
        running: bool,
        speed: f64,
        workers: Vec<WorkerView>,
    },
    /// A command failed; the text is for the learner.
    Error { message: String },
}
