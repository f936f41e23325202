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
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    /// The worker has loaded and takes commands.
    Ready,
    /// The current state; `placement[i]` names where shard i lives.
    Snapshot {
        snapshot: Snapshot,
        running: bool,
        speed: f64,
        placement: Vec<String>,
    },
    /// A command failed; the text is for the learner.
    Error { message: String },
}
