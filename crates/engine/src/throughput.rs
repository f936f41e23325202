//! Per-shard throughput limits as token buckets on the virtual clock.
//!
//! AWS states the limits per second (1 MiB and 1,000 records in per shard);
//! a bucket that refills continuously and holds one second's worth admits
//! exactly that sustained rate and a one-second burst, which is how
//! throttling looks from a producer. Amounts are kept in thousandths so that
//! refilling by the millisecond is exact integer arithmetic: a rate of R per
//! second is R thousandths per millisecond.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBucket {
    rate_per_sec: u64,
    capacity_milli: u64,
    level_milli: u64,
    last_refill_ms: u64,
}

impl TokenBucket {
    /// A full bucket refilling at `rate_per_sec` and holding one second of it.
    pub fn per_second(rate_per_sec: u64, now_ms: u64) -> Self {
        let capacity_milli = rate_per_sec.saturating_mul(1000);
        TokenBucket {
            rate_per_sec,
            capacity_milli,
            level_milli: capacity_milli,
            last_refill_ms: now_ms,
        }
    }

    fn refill(&mut self, now_ms: u64) {
        let elapsed = now_ms.saturating_sub(self.last_refill_ms);
        self.level_milli = self
            .level_milli
            .saturating_add(elapsed.saturating_mul(self.rate_per_sec))
            .min(self.capacity_milli);
        self.last_refill_ms = self.last_refill_ms.max(now_ms);
    }

    /// Whether `amount` is available at `now_ms` (after refilling).
    pub fn has(&mut self, amount: u64, now_ms: u64) -> bool {
        self.refill(now_ms);
        amount.saturating_mul(1000) <= self.level_milli
    }

    /// Removes `amount`; call only after `has` said yes at the same instant.
    pub fn take(&mut self, amount: u64) {
        self.level_milli = self.level_milli.saturating_sub(amount.saturating_mul(1000));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_one_second_then_the_refill_rate() {
        let mut b = TokenBucket::per_second(1000, 0);
        let mut admitted = 0;
        for _ in 0..1500 {
            if b.has(1, 0) {
                b.take(1);
                admitted += 1;
            }
        }
        assert_eq!(admitted, 1000);
        assert!(!b.has(1, 0));
        // One millisecond refills exactly one record at 1,000/s.
        assert!(b.has(1, 1));
        b.take(1);
        assert!(!b.has(1, 1));
        // Refilling never exceeds one second's worth.
        assert!(b.has(1000, 10_000));
        assert!(!b.has(1001, 10_000));
    }
}
