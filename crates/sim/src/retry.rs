//! The producer's retries of throttled records, with exponential backoff
//! and full jitter.
//!
//! PutRecords is not refused as a whole when a shard is over its limits:
//! each record over them comes back with `ProvisionedThroughputExceeded`,
//! and the producer must send those records again. The KPL does (unless
//! `FailIfThrottled`), and so do applications following AWS's advice: wait
//! a random time between 0 and `min(max_backoff, base × 2^(n−1))` before
//! the n-th retry ("full jitter", as the AWS SDKs' standard retry mode
//! waits), and give up after `max_attempts` sends. A retried record is a
//! new put: it gets a new sequence number, after records sent since, so
//! retries can reorder records of one partition key.

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use crate::aggregation::Outgoing;

/// How a producer retries throttled records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retries {
    /// Sends of a record at most, the first included (the AWS SDKs: 3).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The first retry waits up to this long; each further one twice as
    /// long, up to `max_backoff_ms`.
    #[serde(default = "default_base_delay_ms")]
    pub base_delay_ms: u64,
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// Records waiting for a retry at most; a throttled record beyond it
    /// fails at once (the producer's buffer is full).
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: u64,
}

fn default_max_attempts() -> u32 {
    3
}
fn default_base_delay_ms() -> u64 {
    100
}
fn default_max_backoff_ms() -> u64 {
    20_000
}
fn default_max_in_flight() -> u64 {
    100_000
}

impl Default for Retries {
    fn default() -> Self {
        Retries {
            max_attempts: default_max_attempts(),
            base_delay_ms: default_base_delay_ms(),
            max_backoff_ms: default_max_backoff_ms(),
            max_in_flight: default_max_in_flight(),
        }
    }
}

impl Retries {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=100).contains(&self.max_attempts) {
            return Err(format!(
                "retries: max_attempts is {}; it must be 1 (no retry) to 100",
                self.max_attempts
            ));
        }
        if !(1..=60_000).contains(&self.base_delay_ms) {
            return Err(format!(
                "retries: base_delay_ms is {}; it must be 1 to 60000",
                self.base_delay_ms
            ));
        }
        if self.max_backoff_ms < self.base_delay_ms || self.max_backoff_ms > 600_000 {
            return Err(format!(
                "retries: max_backoff_ms is {}; it must be at least base_delay_ms ({}) and at most 600000",
                self.max_backoff_ms, self.base_delay_ms
            ));
        }
        if !(1..=10_000_000).contains(&self.max_in_flight) {
            return Err(format!(
                "retries: max_in_flight is {}; it must be 1 to 10000000",
                self.max_in_flight
            ));
        }
        Ok(())
    }

    /// How long to wait before send number `attempt + 1`, after `attempt`
    /// sends: uniform in [0, min(max_backoff, base × 2^(attempt−1))].
    pub fn delay_ms(&self, attempt: u32, rng: &mut ChaCha8Rng) -> u64 {
        let cap = self
            .base_delay_ms
            .saturating_mul(1u64 << (attempt.saturating_sub(1)).min(40))
            .min(self.max_backoff_ms);
        rng.next_u64() % (cap + 1)
    }
}

/// Records waiting to be sent again, by when.
#[derive(Default)]
pub struct RetryQueue {
    /// (due time, order of scheduling) -> (record, sends so far).
    waiting: BTreeMap<(u64, u64), (Outgoing, u32)>,
    scheduled: u64,
    /// Records sent again, and records given up, all time.
    pub retried: u64,
    pub failed: u64,
}

impl RetryQueue {
    /// A throttled record, after `attempt` sends: waits for its next send,
    /// or fails (too many sends, or the queue is full).
    pub fn throttled(
        &mut self,
        policy: &Retries,
        record: Outgoing,
        attempt: u32,
        now_ms: u64,
        rng: &mut ChaCha8Rng,
    ) {
        if attempt >= policy.max_attempts || self.waiting.len() as u64 >= policy.max_in_flight {
            self.failed += 1;
            return;
        }
        let due = now_ms + policy.delay_ms(attempt, rng);
        self.waiting
            .insert((due, self.scheduled), (record, attempt));
        self.scheduled += 1;
    }

    /// The records due by `now_ms`, oldest due first, with their sends so
    /// far.
    pub fn due(&mut self, now_ms: u64) -> Vec<(Outgoing, u32)> {
        let later = self.waiting.split_off(&(now_ms + 1, 0));
        let due = std::mem::replace(&mut self.waiting, later);
        self.retried += due.len() as u64;
        due.into_values().collect()
    }

    /// Records waiting for a retry now.
    pub fn waiting(&self) -> u64 {
        self.waiting.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::substream;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_full_jitter() {
        let policy = Retries {
            base_delay_ms: 100,
            max_backoff_ms: 1_000,
            ..Retries::default()
        };
        let mut rng = substream(1, "retries");
        for (attempt, cap) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1_000),
            (30, 1_000),
        ] {
            let delays: Vec<u64> = (0..2_000)
                .map(|_| policy.delay_ms(attempt, &mut rng))
                .collect();
            assert!(delays.iter().all(|d| *d <= cap), "attempt {attempt}");
            // Full jitter: spread over the whole range.
            let max = *delays.iter().max().unwrap();
            let min = *delays.iter().min().unwrap();
            assert!(
                max > cap * 9 / 10 && min < cap / 10,
                "attempt {attempt}: {min}..{max}"
            );
        }
    }

    #[test]
    fn records_wait_their_turn_and_give_up_after_the_last_attempt() {
        let policy = Retries {
            max_attempts: 2,
            max_in_flight: 2,
            ..Retries::default()
        };
        let mut rng = substream(1, "retries");
        let mut q = RetryQueue::default();
        let rec = |k: &str| {
            Outgoing::plain(crate::producer::ProducedRecord {
                partition_key: k.into(),
                data: vec![1],
                arrival_ms: 0,
                made: None,
            })
        };
        q.throttled(&policy, rec("a"), 1, 1_000, &mut rng);
        q.throttled(&policy, rec("b"), 1, 1_000, &mut rng);
        // The queue is full: a third fails at once, as does a record
        // already sent twice.
        q.throttled(&policy, rec("c"), 1, 1_000, &mut rng);
        q.throttled(&policy, rec("d"), 2, 1_000, &mut rng);
        assert_eq!((q.waiting(), q.failed), (2, 2));
        assert!(q.due(999).is_empty());
        let due = q.due(1_100);
        assert_eq!(due.len(), 2);
        assert!(due.iter().all(|(_, attempt)| *attempt == 1));
        assert_eq!((q.waiting(), q.retried), (0, 2));
    }

    #[test]
    fn bad_policies_are_refused() {
        for (policy, message) in [
            (
                Retries {
                    max_attempts: 0,
                    ..Retries::default()
                },
                "max_attempts is 0",
            ),
            (
                Retries {
                    base_delay_ms: 0,
                    ..Retries::default()
                },
                "base_delay_ms is 0",
            ),
            (
                Retries {
                    max_backoff_ms: 50,
                    ..Retries::default()
                },
                "max_backoff_ms is 50",
            ),
            (
                Retries {
                    max_in_flight: 0,
                    ..Retries::default()
                },
                "max_in_flight is 0",
            ),
        ] {
            assert!(policy.validate().unwrap_err().contains(message));
        }
        assert!(Retries::default().validate().is_ok());
    }
}
