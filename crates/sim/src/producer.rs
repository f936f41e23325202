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

use std::borrow::Cow;

use crate::rng::substream;
use crate::template::RecordTemplate;
use shardlab_engine::made::{record_size, Clickstream, Made, UuidKey, ACTIONS, PAGES};

/// Highest producer rate the simulation accepts, records per second.
pub const MAX_RATE_PER_SEC: u64 = 100_000;

/// A record a producer hands to the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducedRecord {
    /// Empty when the record is `made` with its key.
    pub partition_key: String,
    /// Empty when the record is `made`.
    pub data: Vec<u8>,
    pub arrival_ms: u64,
    /// A clickstream event (and its random UUID key) the shard host writes
    /// itself (see `shardlab_engine::made`), sent in place of its bytes.
    pub made: Option<Made>,
}

impl ProducedRecord {
    /// The record's bytes, written out if it is made.
    pub fn bytes(&self) -> Cow<'_, [u8]> {
        match &self.made {
            Some(recipe) => Cow::Owned(recipe.event.to_vec()),
            None => Cow::Borrowed(&self.data),
        }
    }

    /// The record's bytes, written out if it is made.
    pub fn into_bytes(self) -> Vec<u8> {
        match self.made {
            Some(recipe) => recipe.event.to_vec(),
            None => self.data,
        }
    }

    /// The record's partition key, written out if it is made.
    pub fn key(&self) -> Cow<'_, str> {
        match self.made.and_then(|m| m.key) {
            Some(k) => Cow::Owned(k.as_str(&mut [0; UuidKey::LEN]).to_string()),
            None => Cow::Borrowed(&self.partition_key),
        }
    }

    /// Bytes counted against limits: data plus the partition key's UTF-8.
    pub fn size(&self) -> usize {
        record_size(&self.partition_key, &self.data, self.made.as_ref())
    }
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
    /// One of these keys, chosen uniformly (stores, devices, tenants ...).
    Fixed { keys: Vec<String> },
}

/// Kinesis's longest partition key, in characters.
pub const MAX_KEY_CHARS: usize = 256;
/// At most this many keys in a fixed set.
pub const MAX_FIXED_KEYS: usize = 10_000;

/// How a producer's rate varies over time. Time is weighted: a
/// millisecond inside a burst counts `factor` times, so the records due by
/// any moment, and each record's arrival, follow from virtual time alone,
/// whatever the ticks. A pattern starts when the producer (or its latest
/// rate change) does; a weekly curve follows the calendar instead.
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
    /// From `from_percent` of the rate to `to_percent` in a straight line
    /// over `over_ms`, then `to_percent` (a launch, a load test's warm-up).
    Ramp {
        from_percent: u64,
        to_percent: u64,
        over_ms: u64,
    },
    /// Records at random moments, as independent clients send them: gaps
    /// drawn from an exponential distribution whose mean is one record's
    /// share of a second, so counts per interval vary the way real
    /// traffic's do (Poisson) around the rate.
    Poisson,
    /// A percentage of the rate for each hour of the week, Monday 00:00
    /// UTC first: 168 values, or 24 for a curve that is the same every day.
    Weekly { percent: Vec<u64> },
}

/// Highest percentage a ramp or a weekly curve may name.
pub const MAX_SHAPE_PERCENT: u64 = 10_000;
const HOUR_MS: u64 = 3_600_000;
const WEEK_MS: u64 = 168 * HOUR_MS;
/// 1970-01-01, where virtual time starts, was a Thursday: 72 hours after
/// the Monday its week began on.
const EPOCH_HOUR_OF_WEEK: u64 = 72;

impl RateShape {
    /// The shape in a few words, for people.
    pub fn describe(&self) -> String {
        match self {
            RateShape::Constant => "a constant rate".into(),
            RateShape::Bursts {
                every_ms,
                burst_ms,
                factor,
            } => format!("every {every_ms} ms, {burst_ms} ms at {factor}× the rate"),
            RateShape::Ramp {
                from_percent,
                to_percent,
                over_ms,
            } => format!(
                "a ramp from {from_percent}% to {to_percent}% of the rate over {over_ms} ms"
            ),
            RateShape::Poisson => "Poisson arrivals around the rate".into(),
            RateShape::Weekly { percent } => format!(
                "an hour-of-{} curve",
                if percent.len() == 24 { "day" } else { "week" }
            ),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        match self {
            RateShape::Constant | RateShape::Poisson => Ok(()),
            &RateShape::Bursts {
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
            &RateShape::Ramp {
                from_percent,
                to_percent,
                over_ms,
            } => {
                if over_ms == 0 || over_ms > WEEK_MS * 52 {
                    Err(format!("a ramp lasts 1 ms to 52 weeks, not {over_ms} ms"))
                } else if from_percent > MAX_SHAPE_PERCENT
                    || !(1..=MAX_SHAPE_PERCENT).contains(&to_percent)
                {
                    Err(format!(
                        "a ramp runs from 0 to {MAX_SHAPE_PERCENT} percent of the rate and ends above 0; \
                         not {from_percent} to {to_percent}"
                    ))
                } else {
                    Ok(())
                }
            }
            RateShape::Weekly { percent } => {
                if percent.len() != 168 && percent.len() != 24 {
                    Err(format!(
                        "a weekly curve has 168 hourly percentages (or 24, the same every day), not {}",
                        percent.len()
                    ))
                } else if let Some(p) = percent.iter().find(|p| **p > MAX_SHAPE_PERCENT) {
                    Err(format!(
                        "a weekly curve's percentages run from 0 to {MAX_SHAPE_PERCENT}, not {p}"
                    ))
                } else if percent.iter().all(|p| *p == 0) {
                    Err("a weekly curve needs at least one hour above 0 percent".into())
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Weight units per millisecond at the plain rate: weights are whole
    /// numbers, so a ramp counts in (percent × its length) per ms and a
    /// weekly curve in percent.
    fn unit(&self) -> u128 {
        match self {
            RateShape::Constant | RateShape::Bursts { .. } | RateShape::Poisson => 1,
            RateShape::Ramp { over_ms, .. } => 100 * u128::from(*over_ms),
            RateShape::Weekly { .. } => 100,
        }
    }

    /// (every, burst, factor, weighted ms per period) of a burst pattern.
    fn bursts(&self) -> Option<(u64, u64, u64, u64)> {
        match *self {
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
            _ => None,
        }
    }

    /// Weight of the milliseconds `[0, elapsed]` after `anchor`; a weekly
    /// shape uses `curve`, its table, when given (built here otherwise).
    fn weighted(&self, curve: Option<&WeeklyCurve>, anchor: u64, elapsed: u64) -> u128 {
        let ms = elapsed + 1;
        match self {
            RateShape::Constant | RateShape::Poisson => u128::from(ms),
            RateShape::Bursts { .. } => {
                let (every_ms, burst_ms, factor, period) = self.bursts().unwrap_or((1, 0, 1, 1));
                let (full, rem) = (ms / every_ms, ms % every_ms);
                u128::from(
                    full * period + rem.min(burst_ms) * factor + rem.saturating_sub(burst_ms),
                )
            }
            &RateShape::Ramp {
                from_percent,
                to_percent,
                over_ms,
            } => {
                // Millisecond i of the ramp weighs from·over + (to − from)·i.
                let (from, to, over) = (
                    i128::from(from_percent),
                    i128::from(to_percent),
                    i128::from(over_ms),
                );
                let n = i128::from(ms.min(over_ms));
                let ramp = from * over * n + (to - from) * n * (n - 1) / 2;
                let after = i128::from(ms.saturating_sub(over_ms)) * to * over;
                (ramp + after) as u128
            }
            RateShape::Weekly { percent } => match curve {
                Some(c) => c.weighted(anchor, ms),
                None => WeeklyCurve::new(percent).weighted(anchor, ms),
            },
        }
    }

    /// The first elapsed millisecond by which `target` (>= 1) weight has
    /// passed: the inverse of `weighted`.
    fn elapsed_for(&self, curve: Option<&WeeklyCurve>, anchor: u64, target: u128) -> u64 {
        match self {
            RateShape::Constant | RateShape::Poisson => (target - 1) as u64,
            RateShape::Bursts { .. } => {
                let (every_ms, burst_ms, factor, period) = self.bursts().unwrap_or((1, 0, 1, 1));
                let target = target as u64;
                let full = (target - 1) / period;
                let r = target - full * period;
                let offset = if r <= burst_ms * factor {
                    r.div_ceil(factor) - 1
                } else {
                    burst_ms + (r - burst_ms * factor) - 1
                };
                full * every_ms + offset
            }
            RateShape::Weekly { percent } => match curve {
                Some(c) => c.elapsed_for(anchor, target),
                None => WeeklyCurve::new(percent).elapsed_for(anchor, target),
            },
            RateShape::Ramp { .. } => {
                // Weight only grows (validation keeps some of it ahead), so
                // gallop to a bound and search below it.
                let mut hi: u64 = 1;
                while self.weighted(curve, anchor, hi) < target {
                    hi = hi.saturating_mul(2);
                }
                let mut lo: u64 = 0;
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if self.weighted(curve, anchor, mid) >= target {
                        hi = mid;
                    } else {
                        lo = mid + 1;
                    }
                }
                lo
            }
        }
    }
}

/// A weekly curve's table: the percentages of the 168 hours (a daily
/// curve repeated) and their running sums, so a weight or its inverse
/// costs a lookup and a search, not a walk over the week.
#[derive(Clone, Debug)]
pub struct WeeklyCurve {
    percent: [u64; 168],
    /// `prefix[h]`: the weight of the hours before hour `h`, Monday 00:00
    /// first, in percent-hours.
    prefix: [u128; 169],
}

impl WeeklyCurve {
    fn new(percent: &[u64]) -> WeeklyCurve {
        let percent: [u64; 168] =
            std::array::from_fn(|h| percent.get(h % percent.len().max(1)).copied().unwrap_or(0));
        let mut prefix = [0u128; 169];
        for h in 0..168 {
            prefix[h + 1] = prefix[h] + u128::from(percent[h]);
        }
        WeeklyCurve { percent, prefix }
    }

    /// Weight of the time from the Monday 00:00 UTC before the epoch to
    /// `u` ms after that Monday.
    fn since_monday(&self, u: u64) -> u128 {
        let (weeks, in_week) = (u / WEEK_MS, u % WEEK_MS);
        let (hour, in_hour) = ((in_week / HOUR_MS) as usize, in_week % HOUR_MS);
        (u128::from(weeks) * self.prefix[168] + self.prefix[hour]) * u128::from(HOUR_MS)
            + u128::from(self.percent[hour]) * u128::from(in_hour)
    }

    /// Weight of absolute virtual time `[0, t)`.
    fn until(&self, t: u64) -> u128 {
        let offset = EPOCH_HOUR_OF_WEEK * HOUR_MS;
        self.since_monday(t + offset) - self.since_monday(offset)
    }

    fn weighted(&self, anchor: u64, ms: u64) -> u128 {
        self.until(anchor + ms) - self.until(anchor)
    }

    /// The first elapsed ms after `anchor` by which `target` weight has
    /// passed: whole weeks, then the hour (a search of the running sums),
    /// then the millisecond.
    fn elapsed_for(&self, anchor: u64, target: u128) -> u64 {
        let offset = EPOCH_HOUR_OF_WEEK * HOUR_MS;
        let hour_ms = u128::from(HOUR_MS);
        let goal = self.since_monday(anchor + offset) + target;
        let week = self.prefix[168] * hour_ms;
        let weeks = (goal - 1) / week;
        let rest = goal - weeks * week;
        // The hour in which the running weight reaches `rest`.
        let hour = self.prefix[1..].partition_point(|p| p * hour_ms < rest);
        let into = rest - self.prefix[hour] * hour_ms;
        let u = weeks as u64 * WEEK_MS
            + hour as u64 * HOUR_MS
            + into.div_ceil(u128::from(self.percent[hour])) as u64;
        // u is the end of the first ms by which the goal is reached.
        u - offset - anchor - 1
    }
}

/// The most keys a key strategy may name.
pub const MAX_KEYS: u32 = 100_000;

impl Eq for KeyStrategy {}

impl KeyStrategy {
    /// The strategy in a few words, for people.
    pub fn describe(&self) -> String {
        match self {
            KeyStrategy::Random => "a random UUID per record".into(),
            KeyStrategy::Entities { count } => {
                format!(
                    "{count} entities (user-0 … user-{})",
                    count.saturating_sub(1)
                )
            }
            KeyStrategy::Zipf { count, exponent } => {
                format!("Zipf-skewed over {count} keys (exponent {exponent})")
            }
            KeyStrategy::HotKey { percent } => {
                format!("one hot key in {percent}% of records, the rest random")
            }
            KeyStrategy::Fixed { keys } => {
                let shown: Vec<&str> = keys.iter().take(3).map(String::as_str).collect();
                format!(
                    "{} fixed keys ({}{})",
                    keys.len(),
                    shown.join(", "),
                    if keys.len() > 3 { ", …" } else { "" }
                )
            }
        }
    }

    /// Checks the strategy's parameters; the text is for the learner.
    pub fn validate(&self) -> Result<(), String> {
        if let KeyStrategy::Fixed { keys } = self {
            if keys.is_empty() || keys.len() > MAX_FIXED_KEYS {
                return Err(format!(
                    "a fixed set needs 1 to {MAX_FIXED_KEYS} keys, not {}",
                    keys.len()
                ));
            }
            if let Some(bad) = keys
                .iter()
                .find(|k| k.is_empty() || k.chars().count() > MAX_KEY_CHARS)
            {
                return Err(format!(
                    "the partition key '{bad}' has {} characters; Kinesis takes 1 to \
                     {MAX_KEY_CHARS}",
                    bad.chars().count()
                ));
            }
            return Ok(());
        }
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
    Fixed(Vec<String>),
}

impl Keys {
    fn new(strategy: &KeyStrategy) -> Keys {
        if let KeyStrategy::Fixed { keys } = strategy {
            return Keys::Fixed(keys.clone());
        }
        match *strategy {
            KeyStrategy::Random => Keys::Random,
            KeyStrategy::Entities { count } => Keys::Entities(count.max(1)),
            KeyStrategy::HotKey { percent } => Keys::HotKey(percent.min(100)),
            KeyStrategy::Fixed { .. } => Keys::Random,
            KeyStrategy::Zipf { count, exponent } => {
                let weights: Vec<f64> = (1..=count.max(1))
                    .map(|i| 1.0 / libm::pow(f64::from(i), exponent))
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

    /// The next key; with `made`, a random UUID comes as its bytes for the
    /// shard host to write (the key's text is then empty), drawn from the
    /// same numbers.
    fn next_made(&self, rng: &mut ChaCha8Rng, made: bool) -> (String, Option<UuidKey>) {
        let uuid = |rng: &mut ChaCha8Rng| match made {
            true => (String::new(), Some(random_uuid(rng))),
            false => (uuid_v4(rng), None),
        };
        match self {
            Keys::Random => uuid(rng),
            Keys::Entities(count) => (numbered("user-", rng.next_u32() % count), None),
            Keys::Zipf(cdf) => {
                let x = rng.next_u64();
                let i = cdf.partition_point(|&c| c < x).min(cdf.len() - 1);
                (numbered("key-", i), None)
            }
            Keys::Fixed(keys) if !keys.is_empty() => {
                (keys[rng.next_u32() as usize % keys.len()].clone(), None)
            }
            Keys::Fixed(_) => uuid(rng),
            Keys::HotKey(percent) => {
                if rng.next_u32() % 100 < *percent {
                    ("hot-key".to_string(), None)
                } else {
                    uuid(rng)
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
    /// Gaps between Poisson arrivals, drawn from their own stream so the
    /// records themselves do not depend on the shape.
    gaps: ChaCha8Rng,
    /// The next Poisson arrival, in microseconds of virtual time.
    next_arrival_us: Option<u64>,
    /// A weekly shape's table.
    curve: Option<WeeklyCurve>,
    /// The learner's record template; without one, clickstream events.
    template: Option<RecordTemplate>,
    /// An agent's file: its records in order, and whether to start again
    /// after the last (see `agent`).
    lines: Option<(Vec<Vec<u8>>, bool)>,
    /// Clickstream events padded to this many bytes (see `RECORD_SIZES`).
    pad_to: Option<usize>,
    /// Whether clickstream events go to the shard hosts as recipes, to be
    /// written there (see `set_made`).
    made: bool,
}

/// The record sizes a producer of clickstream events may be set to: from
/// above the longest event to a Kinesis record's 1 MiB less the longest
/// partition key.
pub const RECORD_SIZES: std::ops::RangeInclusive<u32> = 200..=1_048_320;

impl Producer {
    pub fn new(seed: u64, name: &str, rate_per_sec: u64, start_ms: u64) -> Self {
        Producer::with_keys(seed, name, rate_per_sec, start_ms, &KeyStrategy::Random)
    }

    /// Shapes the rate from now on (see [`RateShape`]).
    pub fn set_shape(&mut self, shape: RateShape) {
        self.curve = match &shape {
            RateShape::Weekly { percent } => Some(WeeklyCurve::new(percent)),
            _ => None,
        };
        self.shape = shape;
        self.next_arrival_us = None;
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
            gaps: substream(seed, &format!("{name}/arrivals")),
            next_arrival_us: None,
            curve: None,
            template: None,
            lines: None,
            pad_to: None,
            made: false,
        }
    }

    /// Pads each clickstream event to `bytes` from now on, with a `pad`
    /// field of `x`s before its closing brace (None: their own size).
    pub fn set_record_size(&mut self, bytes: Option<u32>) {
        self.pad_to = bytes.map(|b| b as usize);
    }

    /// Sends these records in order from now on (the agent's file), from
    /// the first again after the last when `repeat`, else no more.
    pub fn set_lines(&mut self, lines: Option<(Vec<Vec<u8>>, bool)>) {
        self.lines = lines.filter(|(l, _)| !l.is_empty());
    }

    /// Makes records from `template` from now on (clickstream events
    /// without one). Keys are drawn first, then the template's values, from
    /// the same stream.
    /// Sends clickstream events as recipes the shard hosts write out
    /// (`ProducedRecord::made`), rather than as bytes: the same records,
    /// drawn from the same numbers. Templates and agent files are always
    /// sent as bytes.
    pub fn set_made(&mut self, made: bool) {
        self.made = made;
    }

    pub fn set_template(&mut self, template: Option<RecordTemplate>) {
        self.template = template;
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
        self.next_arrival_us = None;
    }

    /// Virtual time at which record number `k` (counted from the anchor) arrives.
    fn arrival_of(&self, k: u64) -> u64 {
        // Record k is due once k * 1000 / rate weighted ms have passed.
        let target =
            u128::from(k) * 1000 * self.shape.unit() / u128::from(self.rate_per_sec.max(1)) + 1;
        self.anchor_ms
            + self
                .shape
                .elapsed_for(self.curve.as_ref(), self.anchor_ms, target)
    }

    /// A gap between Poisson arrivals in microseconds: exponential with a
    /// mean of 1/rate seconds (inverse transform of a uniform draw).
    fn poisson_gap_us(&mut self) -> u64 {
        let u = ((self.gaps.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let mean_us = 1e6 / self.rate_per_sec.max(1) as f64;
        (-libm::log(u) * mean_us).round() as u64
    }

    fn produce_poisson(&mut self, until_ms: u64) -> Vec<ProducedRecord> {
        let mut out = Vec::new();
        loop {
            let next = match self.next_arrival_us {
                Some(t) => t,
                None => {
                    let t = self.anchor_ms * 1000 + self.poisson_gap_us();
                    self.next_arrival_us = Some(t);
                    t
                }
            };
            let arrival_ms = next / 1000;
            let file_done =
                matches!(&self.lines, Some((lines, false)) if self.produced >= lines.len() as u64);
            if arrival_ms > until_ms || file_done {
                return out;
            }
            out.push(self.next_record(arrival_ms));
            self.produced += 1;
            self.next_arrival_us = Some(next + self.poisson_gap_us());
        }
    }

    /// The records that arrive in `(.., until_ms]`, in arrival order.
    pub fn produce_until(&mut self, until_ms: u64) -> Vec<ProducedRecord> {
        if self.rate_per_sec == 0 || until_ms < self.anchor_ms {
            return Vec::new();
        }
        if self.shape == RateShape::Poisson {
            return self.produce_poisson(until_ms);
        }
        // Record k is due by `elapsed` exactly when k < weighted(elapsed) *
        // rate / (1000 * unit) (weighted ms are plain ms at a constant
        // rate), so the ceiling of that many are due.
        let elapsed = until_ms - self.anchor_ms;
        let weighted = self
            .shape
            .weighted(self.curve.as_ref(), self.anchor_ms, elapsed);
        let mut due = self.produced_at_anchor
            + (weighted * u128::from(self.rate_per_sec)).div_ceil(1000 * self.shape.unit()) as u64;
        if let Some((lines, false)) = &self.lines {
            // The file once: no more after its last record.
            due = due.min(lines.len() as u64);
        }
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
        let made = self.made && self.lines.is_none() && self.template.is_none();
        let (partition_key, key) = self.keys.next_made(&mut self.rng, made);
        if let Some((lines, _)) = &self.lines {
            return ProducedRecord {
                partition_key,
                data: lines[(self.produced % lines.len() as u64) as usize].clone(),
                arrival_ms,
                made: None,
            };
        }
        if let Some(template) = &self.template {
            return ProducedRecord {
                partition_key,
                data: template.render(&mut self.rng, arrival_ms).into_bytes(),
                arrival_ms,
                made: None,
            };
        }
        let user = self.rng.next_u32() % 5000;
        let page = (self.rng.next_u32() as usize) % PAGES.len();
        let action = (self.rng.next_u32() as usize) % ACTIONS.len();
        let recipe = Clickstream {
            event_id: self.produced,
            user,
            page: page as u8,
            action: action as u8,
            event_ms: arrival_ms,
            pad_to: self.pad_to.map_or(0, |p| p as u32),
        };
        if made {
            return ProducedRecord {
                partition_key,
                data: Vec::new(),
                arrival_ms,
                made: Some(Made { key, event: recipe }),
            };
        }
        ProducedRecord {
            partition_key,
            data: recipe.to_vec(),
            arrival_ms,
            made: None,
        }
    }
}

/// `prefix` followed by `n` in decimal (a partition key per entity).
fn numbered(prefix: &str, n: impl itoa::Integer) -> String {
    let mut digits = itoa::Buffer::new();
    let n = digits.format(n);
    let mut out = String::with_capacity(prefix.len() + n.len());
    out.push_str(prefix);
    out.push_str(n);
    out
}

/// A random (version 4) UUID in its usual text form.
pub(crate) fn uuid_v4(rng: &mut ChaCha8Rng) -> String {
    random_uuid(rng).as_str(&mut [0; UuidKey::LEN]).to_string()
}

/// A random (version 4) UUID.
fn random_uuid(rng: &mut ChaCha8Rng) -> UuidKey {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    UuidKey::from_random(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4_in_the_usual_text_form() {
        use rand_chacha::rand_core::SeedableRng;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut same = rng.clone();
        for _ in 0..100 {
            let uuid = uuid_v4(&mut rng);
            let mut b = [0u8; 16];
            same.fill_bytes(&mut b);
            b[6] = (b[6] & 0x0f) | 0x40;
            b[8] = (b[8] & 0x3f) | 0x80;
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            let want = [
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..],
            ]
            .join("-");
            assert_eq!(uuid, want);
        }
    }

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
            RateShape::Ramp {
                from_percent: 10,
                to_percent: 300,
                over_ms: 50,
            },
            RateShape::Ramp {
                from_percent: 200,
                to_percent: 1,
                over_ms: 3,
            },
            RateShape::Weekly {
                percent: (0..24).map(|h| h % 3 * 50).collect(),
            },
        ] {
            // Around an hour boundary too, where a weekly curve changes.
            for anchor in [0, HOUR_MS - 100, 5 * WEEK_MS + 12_345] {
                for e in 0..200 {
                    let w = shape.weighted(None, anchor, e);
                    if w == 0 || e > 0 && w == shape.weighted(None, anchor, e - 1) {
                        continue; // a millisecond that weighs nothing
                    }
                    assert_eq!(
                        shape.elapsed_for(None, anchor, w),
                        e,
                        "{shape:?} at {anchor}+{e}"
                    );
                    if e > 0 {
                        let before = shape.weighted(None, anchor, e - 1);
                        assert_eq!(
                            shape.elapsed_for(None, anchor, before + 1),
                            e,
                            "{shape:?} at {anchor}+{e}"
                        );
                    }
                }
            }
        }
    }

    /// Records produced in pieces, cut at every `step` ms up to `until`.
    fn in_pieces(
        shape: &RateShape,
        rate: u64,
        start: u64,
        until: u64,
        step: u64,
    ) -> Vec<ProducedRecord> {
        let mut p = Producer::new(7, "p", rate, start);
        p.set_shape(shape.clone());
        let mut out = Vec::new();
        for t in (start..until).step_by(step as usize).chain([until]) {
            out.extend(p.produce_until(t));
        }
        out
    }

    #[test]
    fn ramp_climbs_in_a_straight_line_whatever_the_ticks() {
        let shape = RateShape::Ramp {
            from_percent: 0,
            to_percent: 100,
            over_ms: 10_000,
        };
        let all = in_pieces(&shape, 1000, 0, 19_999, 20_000);
        assert_eq!(all, in_pieces(&shape, 1000, 0, 19_999, 37));
        // Half the rate on average during the ramp, then the full rate.
        let during = all.iter().filter(|r| r.arrival_ms < 10_000).count();
        assert!((4_990..=5_010).contains(&during), "{during}");
        assert_eq!(all.len() - during, 10_000);
        // The second half of the ramp carries three times the first.
        let first = all.iter().filter(|r| r.arrival_ms < 5_000).count();
        assert!((1_240..=1_260).contains(&first), "{first}");
        assert!(all.windows(2).all(|w| w[0].arrival_ms <= w[1].arrival_ms));
    }

    #[test]
    fn weekly_curve_follows_the_calendar() {
        // 1970-01-01 was a Thursday: only Thursdays 00:00-01:00 UTC carry
        // records, at twice the rate.
        let mut percent = vec![0; 168];
        percent[72] = 200;
        let shape = RateShape::Weekly { percent };
        assert!(shape.validate().is_ok());
        let start = 30 * 60_000; // half past midnight
        let all = in_pieces(&shape, 10, start, WEEK_MS + 2 * HOUR_MS, HOUR_MS);
        let first_hour = all.iter().filter(|r| r.arrival_ms < HOUR_MS).count();
        assert_eq!(first_hour, 30 * 60 * 20);
        assert_eq!(all.len(), 30 * 60 * 20 + 3600 * 20);
        assert!(all[first_hour..]
            .iter()
            .all(|r| (WEEK_MS..WEEK_MS + HOUR_MS).contains(&r.arrival_ms)));
        assert_eq!(
            all,
            in_pieces(&shape, 10, start, WEEK_MS + 2 * HOUR_MS, 777_777)
        );
        assert!(RateShape::Weekly {
            percent: vec![0; 24]
        }
        .validate()
        .is_err());
        assert!(RateShape::Weekly {
            percent: vec![5; 23]
        }
        .validate()
        .is_err());
    }

    #[test]
    fn poisson_arrivals_vary_around_the_rate_whatever_the_ticks() {
        let all = in_pieces(&RateShape::Poisson, 1000, 0, 99_999, 100_000);
        assert_eq!(all, in_pieces(&RateShape::Poisson, 1000, 0, 99_999, 13));
        // 100,000 expected; the standard deviation is 316.
        assert!((98_500..=101_500).contains(&all.len()), "{}", all.len());
        let mut per_second = vec![0u32; 100];
        for r in &all {
            per_second[(r.arrival_ms / 1000) as usize] += 1;
        }
        let (lo, hi) = (
            per_second.iter().min().unwrap(),
            per_second.iter().max().unwrap(),
        );
        assert!(hi - lo > 40 && *lo > 850 && *hi < 1150, "{lo}..{hi}");
        assert!(all.windows(2).all(|w| w[0].arrival_ms <= w[1].arrival_ms));
    }
}
