//! A simulated producer: records at a steady rate, partition keys chosen by
//! a [`KeyStrategy`].
//!
//! Record k of a producer arrives at `anchor + k / rate` seconds, so the
//! number of records in any interval depends only on virtual time, never on
//! how the interval was cut into ticks. By default keys are random UUIDs,
//! the way the AWS SDK examples and the Kinesis Data Generator spread load;
//! the other strategies show what skewed keys do to shards. Each record is
//! a small clickstream event in JSON.

use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;

use serde::{Deserialize, Serialize};

use crate::clock::iso8601;
use crate::rng::substream;

/// Highest producer rate the simulation accepts, records per second.
pub const MAX_RATE_PER_SEC: u64 = 100_000;

/// A record a producer hands to the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducedRecord {
    pub partition_key: String,
    pub data: Vec<u8>,
    pub arrival_ms: u64,
}

/// How a producer picks partition keys.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum KeyStrategy {
    /// A random UUID per record: load spreads evenly over the hash space.
    #[default]
    Random,
    /// One key per entity, `user-0` … `user-{count-1}`, chosen uniformly:
    /// each entity's records stay in order on one shard.
    Entities { count: u32 },
    /// `count` keys where key i is chosen with weight 1/(i+1)^exponent, as
    /// real traffic often is: a few keys carry most records.
    Zipf { count: u32, exponent: f64 },
    /// `percent` of records carry the one key `hot-key`, the rest random
    /// UUIDs: that key's shard runs hot.
    HotKey { percent: u32 },
}

/// How a producer's rate varies over time. Time is weighted: a
/// millisecond inside a burst counts `factor` times, so the records due by
/// any moment, and each record's arrival, follow from virtual time alone,
/// whatever the ticks. The pattern starts when the producer (or its latest
/// rate change) does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum RateShape {
    /// The rate, all the time.
    #[default]
    Constant,
    /// Every `every_ms`, `burst_ms` at `factor` times the rate (a flash
    /// sale, a batch job, a reconnecting fleet).
    Bursts {
        every_ms: u64,
        burst_ms: u64,
        factor: u64,
    },
}

impl RateShape {
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            RateShape::Constant => Ok(()),
            RateShape::Bursts {
                every_ms,
                burst_ms,
                factor,
            } => {
                if every_ms == 0 || burst_ms > every_ms {
                    Err(format!(
                        "bursts of {burst_ms} ms every {every_ms} ms: a burst must fit in its period"
                    ))
                } else if !(1..=100).contains(&factor) {
                    Err(format!("a burst factor runs from 1 to 100, not {factor}"))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// (every, burst, factor, weighted ms per period) of a burst pattern.
    fn bursts(&self) -> Option<(u64, u64, u64, u64)> {
        match *self {
            RateShape::Constant => None,
            RateShape::Bursts {
                every_ms,
                burst_ms,
                factor,
            } => Some((
                every_ms,
                burst_ms,
                factor,
                burst_ms * factor + (every_ms - burst_ms),
            )),
        }
    }

    /// Weighted milliseconds in `[0, elapsed]`.
    fn weighted(&self, elapsed: u64) -> u64 {
        let ms = elapsed + 1;
        match self.bursts() {
            None => ms,
            Some((every_ms, burst_ms, factor, period)) => {
                let (full, rem) = (ms / every_ms, ms % every_ms);
                full * period + rem.min(burst_ms) * factor + rem.saturating_sub(burst_ms)
            }
        }
    }

    /// The first elapsed millisecond by which `target` (>= 1) weighted
    /// milliseconds have passed: the inverse of `weighted`.
    fn elapsed_for(&self, target: u64) -> u64 {
        match self.bursts() {
            None => target - 1,
            Some((every_ms, burst_ms, factor, period)) => {
                let full = (target - 1) / period;
                let r = target - full * period;
                let offset = if r <= burst_ms * factor {
                    r.div_ceil(factor) - 1
                } else {
                    burst_ms + (r - burst_ms * factor) - 1
                };
                full * every_ms + offset
            }
        }
    }
}

/// The most keys a key strategy may name.
pub const MAX_KEYS: u32 = 100_000;

impl Eq for KeyStrategy {}

impl KeyStrategy {
    /// Checks the strategy's parameters; the text is for the learner.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            KeyStrategy::Random => Ok(()),
            KeyStrategy::Entities { count } | KeyStrategy::Zipf { count, .. }
                if count == 0 || count > MAX_KEYS =>
            {
                Err(format!(
                    "a key strategy needs 1 to {MAX_KEYS} keys, not {count}"
                ))
            }
            KeyStrategy::Zipf { exponent, .. } if !(0.0..=10.0).contains(&exponent) => {
                Err(format!("a Zipf exponent runs from 0 to 10, not {exponent}"))
            }
            KeyStrategy::HotKey { percent } if percent > 100 => Err(format!(
                "a hot key carries 0 to 100 percent of the records, not {percent}"
            )),
            _ => Ok(()),
        }
    }
}

/// Draws keys for one producer.
enum Keys {
    Random,
    Entities(u32),
    /// Cumulative weights, normalised to u64::MAX.
    Zipf(Vec<u64>),
    HotKey(u32),
}

impl Keys {
    fn new(strategy: &KeyStrategy) -> Keys {
        match *strategy {
            KeyStrategy::Random => Keys::Random,
            KeyStrategy::Entities { count } => Keys::Entities(count.max(1)),
            KeyStrategy::HotKey { percent } => Keys::HotKey(percent.min(100)),
            KeyStrategy::Zipf { count, exponent } => {
                let weights: Vec<f64> = (1..=count.max(1))
                    .map(|i| 1.0 / f64::from(i).powf(exponent))
                    .collect();
                let total: f64 = weights.iter().sum();
                let mut acc = 0.0;
                Keys::Zipf(
                    weights
                        .iter()
                        .map(|w| {
                            acc += w / total;
                            (acc.min(1.0) * u64::MAX as f64) as u64
                        })
                        .collect(),
                )
            }
        }
    }

    fn next(&self, rng: &mut ChaCha8Rng) -> String {
        match self {
            Keys::Random => uuid_v4(rng),
            Keys::Entities(count) => format!("user-{}", rng.next_u32() % count),
            Keys::Zipf(cdf) => {
                let x = rng.next_u64();
                let i = cdf.partition_point(|&c| c < x).min(cdf.len() - 1);
                format!("key-{i}")
            }
            Keys::HotKey(percent) => {
                if rng.next_u32() % 100 < *percent {
                    "hot-key".to_string()
                } else {
                    uuid_v4(rng)
                }
            }
        }
    }
}

pub struct Producer {
    rng: ChaCha8Rng,
    keys: Keys,
    shape: RateShape,
    rate_per_sec: u64,
    /// Virtual time from which the current rate applies...
    anchor_ms: u64,
    /// ...and how many records had been produced by then.
    produced_at_anchor: u64,
    produced: u64,
}

const PAGES: [&str; 6] = [
    "/",
    "/products",
    "/products/42",
    "/cart",
    "/checkout",
    "/search",
];
const ACTIONS: [&str; 4] = ["view", "click", "add_to_cart", "purchase"];

impl Producer {
    pub fn new(seed: u64, name: &str, rate_per_sec: u64, start_ms: u64) -> Self {
        Producer::with_keys(seed, name, rate_per_sec, start_ms, &KeyStrategy::Random)
    }

    /// Shapes the rate from now on (see [`RateShape`]).
    pub fn set_shape(&mut self, shape: RateShape) {
        self.shape = shape;
    }

    pub fn with_keys(
        seed: u64,
        name: &str,
        rate_per_sec: u64,
        start_ms: u64,
        keys: &KeyStrategy,
    ) -> Self {
        Producer {
            rng: substream(seed, name),
            keys: Keys::new(keys),
            shape: RateShape::Constant,
            rate_per_sec: rate_per_sec.min(MAX_RATE_PER_SEC),
            anchor_ms: start_ms,
            produced_at_anchor: 0,
            produced: 0,
        }
    }

    pub fn rate_per_sec(&self) -> u64 {
        self.rate_per_sec
    }

    pub fn produced(&self) -> u64 {
        self.produced
    }

    /// Changes the rate from virtual time `now_ms` on.
    pub fn set_rate(&mut self, rate_per_sec: u64, now_ms: u64) {
        self.anchor_ms = now_ms;
        self.produced_at_anchor = self.produced;
        self.rate_per_sec = rate_per_sec.min(MAX_RATE_PER_SEC);
    }

    /// Virtual time at which record number `k` (counted from the anchor) arrives.
    fn arrival_of(&self, k: u64) -> u64 {
        // Record k is due once k * 1000 / rate weighted ms have passed.
        let target = u128::from(k) * 1000 / u128::from(self.rate_per_sec.max(1)) + 1;
        self.anchor_ms + self.shape.elapsed_for(target as u64)
    }

    /// The records that arrive in `(.., until_ms]`, in arrival order.
    pub fn produce_until(&mut self, until_ms: u64) -> Vec<ProducedRecord> {
        if self.rate_per_sec == 0 || until_ms < self.anchor_ms {
            return Vec::new();
        }
        // Record k is due by `elapsed` exactly when k < weighted(elapsed) *
        // rate / 1000 (weighted ms are plain ms at a constant rate), so the
        // ceiling of that many are due.
        let elapsed = until_ms - self.anchor_ms;
        let weighted = u128::from(self.shape.weighted(elapsed));
        let due = self.produced_at_anchor
            + (weighted * u128::from(self.rate_per_sec)).div_ceil(1000) as u64;
        let mut out = Vec::with_capacity(due.saturating_sub(self.produced) as usize);
        while self.produced < due {
            let k = self.produced - self.produced_at_anchor;
            let arrival_ms = self.arrival_of(k);
            out.push(self.next_record(arrival_ms));
            self.produced += 1;
        }
        out
    }

    fn next_record(&mut self, arrival_ms: u64) -> ProducedRecord {
        let partition_key = self.keys.next(&mut self.rng);
        let user = self.rng.next_u32() % 5000;
        let page = PAGES[(self.rng.next_u32() as usize) % PAGES.len()];
        let action = ACTIONS[(self.rng.next_u32() as usize) % ACTIONS.len()];
        let data = format!(
            r#"{{"event_id":{},"user_id":"user-{user}","page":"{page}","action":"{action}","event_time":"{}"}}"#,
            self.produced,
            iso8601(arrival_ms)
        );
        ProducedRecord {
            partition_key,
            data: data.into_bytes(),
            arrival_ms,
        }
    }
}

/// A random (version 4) UUID in its usual text form.
fn uuid_v4(rng: &mut ChaCha8Rng) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    // 8-4-4-4-12 lowercase hex digits, written straight into one string.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX[usize::from(x >> 4)] as char);
        out.push(HEX[usize::from(x & 0x0f)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_exact_whatever_the_ticks() {
        let mut one = Producer::new(1, "p", 1000, 0);
        let all = one.produce_until(999);
        assert_eq!(all.len(), 1000);
        let mut many = Producer::new(1, "p", 1000, 0);
        let mut pieces = Vec::new();
        for t in (7..1000).step_by(7).chain([999]) {
            pieces.extend(many.produce_until(t));
        }
        assert_eq!(pieces, all);
        assert!(all.windows(2).all(|w| w[0].arrival_ms <= w[1].arrival_ms));
    }

    #[test]
    fn rate_change_applies_from_then_on() {
        let mut p = Producer::new(1, "p", 10, 0);
        assert_eq!(p.produce_until(999).len(), 10);
        p.set_rate(100, 1000);
        assert_eq!(p.produce_until(1999).len(), 100);
        p.set_rate(0, 2000);
        assert!(p.produce_until(5000).is_empty());
    }

    #[test]
    fn records_look_like_clickstream_events() {
        let mut p = Producer::new(42, "p", 5, 0);
        let r = &p.produce_until(0)[0];
        assert_eq!(r.partition_key.len(), 36);
        assert_eq!(&r.partition_key[14..15], "4");
        let text = String::from_utf8(r.data.clone()).unwrap();
        assert!(
            text.starts_with(r#"{"event_id":0,"user_id":"user-"#),
            "{text}"
        );
        assert!(
            text.ends_with(r#""event_time":"1970-01-01T00:00:00.000Z"}"#),
            "{text}"
        );
    }

    #[test]
    fn bursts_follow_virtual_time_whatever_the_ticks() {
        let shape = RateShape::Bursts {
            every_ms: 10_000,
            burst_ms: 2_000,
            factor: 5,
        };
        let mut one = Producer::new(1, "p", 100, 0);
        one.set_shape(shape.clone());
        let all = one.produce_until(9_999);
        // 2 s at 500/s and 8 s at 100/s.
        assert_eq!(all.len(), 1_800);
        assert_eq!(all.iter().filter(|r| r.arrival_ms < 2_000).count(), 1_000);
        let mut many = Producer::new(1, "p", 100, 0);
        many.set_shape(shape.clone());
        let mut pieces = Vec::new();
        for t in (13..10_000).step_by(13).chain([9_999]) {
            pieces.extend(many.produce_until(t));
        }
        assert_eq!(pieces, all);
        assert!(all.windows(2).all(|w| w[0].arrival_ms <= w[1].arrival_ms));
        // The next period bursts again.
        assert_eq!(one.produce_until(11_999).len(), 1_000);
    }

    #[test]
    fn weighted_time_and_its_inverse_agree() {
        for shape in [
            RateShape::Constant,
            RateShape::Bursts {
                every_ms: 7,
                burst_ms: 3,
                factor: 4,
            },
            RateShape::Bursts {
                every_ms: 5,
                burst_ms: 5,
                factor: 2,
            },
        ] {
            for e in 0..200 {
                let w = shape.weighted(e);
                assert_eq!(shape.elapsed_for(w), e, "{shape:?} at {e}");
                if e > 0 {
                    assert!(
                        shape.elapsed_for(shape.weighted(e - 1) + 1) == e,
                        "{shape:?} at {e}"
                    );
                }
            }
        }
    }
}
