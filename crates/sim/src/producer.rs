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
        self.anchor_ms + k * 1000 / self.rate_per_sec.max(1)
    }

    /// The records that arrive in `(.., until_ms]`, in arrival order.
    pub fn produce_until(&mut self, until_ms: u64) -> Vec<ProducedRecord> {
        if self.rate_per_sec == 0 || until_ms < self.anchor_ms {
            return Vec::new();
        }
        // Record k arrives at floor(k * 1000 / rate) <= elapsed exactly when
        // k < (elapsed + 1) * rate / 1000, so ceil of that many are due.
        let elapsed = until_ms - self.anchor_ms;
        let due = self.produced_at_anchor + ((elapsed + 1) * self.rate_per_sec).div_ceil(1000);
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
}
