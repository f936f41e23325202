//! CloudWatch-like metrics at 1-second resolution, for the last minute.
//!
//! Once per virtual second the simulation samples its counters and the
//! consumers' positions, and keeps one datapoint per metric, named as
//! Kinesis Data Streams names them in CloudWatch:
//! - per stream and per shard (shard-level "enhanced" metrics):
//!   `IncomingRecords` and `IncomingBytes` (what was put successfully),
//!   `WriteProvisionedThroughputExceeded` (records refused),
//!   `GetRecords.IteratorAgeMilliseconds` (the oldest position a reader is
//!   at: how far behind the newest record, the largest over readers);
//! - per stream, `ReadProvisionedThroughputExceeded` (read calls refused);
//! - per consumer application: records processed, duplicates,
//!   `MillisBehindLatest` (the KCL's metric; for a Lambda event source
//!   mapping, Lambda's `IteratorAge`) and reads refused.
//!
//! Counts are sums over the second; ages are the value at its end (the
//! Maximum statistic of a gauge sampled once a second). What is kept is
//! bounded: 60 datapoints per metric.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

/// Datapoints kept per metric (one a second).
pub const METRIC_SECONDS: usize = 60;

/// Cumulative counts and current ages, as sampled at a second's end.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// Per shard (by index): records and bytes accepted, records throttled,
    /// and the largest iterator age of the readers on it.
    pub shards: BTreeMap<u32, (String, [u64; 3], u64)>,
    /// Per consumer (in order): name, records processed, duplicates, reads
    /// refused, and how far behind it is.
    pub consumers: Vec<(String, [u64; 3], u64)>,
    /// What the open shards may take in a second: records and bytes.
    pub limits: (u64, u64),
}

#[derive(Clone, Debug, Default)]
struct Second {
    /// Per shard: the second's increments and the age.
    shards: BTreeMap<u32, ([u64; 3], u64)>,
    /// Per consumer index: increments and the age.
    consumers: Vec<([u64; 3], u64)>,
    limits: (u64, u64),
}

/// The last minute of datapoints.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    seconds: VecDeque<Second>,
    /// The elapsed second the newest datapoint ends at.
    end_s: u64,
    last: Sample,
    /// Names of the shards and consumers seen, for the view.
    shard_ids: BTreeMap<u32, String>,
    consumer_names: Vec<String>,
}

/// One metric's datapoints, oldest first, one a second.
pub type Points = Vec<u64>;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardMetrics {
    pub shard_id: String,
    pub incoming_records: Points,
    pub incoming_bytes: Points,
    pub write_throttled: Points,
    pub iterator_age_ms: Points,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerMetrics {
    pub name: String,
    pub records: Points,
    pub duplicates: Points,
    pub read_throttled: Points,
    pub behind_ms: Points,
}

/// What the UI charts: the stream's metrics, each shard's and each
/// consumer's, over the same seconds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsView {
    /// Elapsed virtual seconds at the end of the newest datapoint.
    pub end_s: u64,
    pub incoming_records: Points,
    pub incoming_bytes: Points,
    pub write_throttled: Points,
    pub read_throttled: Points,
    pub iterator_age_ms: Points,
    /// What the stream's open shards could take each second (1,000
    /// records and 1 MiB per shard).
    pub records_limit: Points,
    pub bytes_limit: Points,
    pub shards: Vec<ShardMetrics>,
    pub consumers: Vec<ConsumerMetrics>,
}

impl Metrics {
    /// Records the second ending at elapsed second `end_s`, from the
    /// counters as they are now.
    pub fn record(&mut self, end_s: u64, sample: Sample) {
        let mut second = Second {
            limits: sample.limits,
            ..Second::default()
        };
        for (i, (id, counts, age)) in &sample.shards {
            let before = self.last.shards.get(i).map_or([0; 3], |s| s.1);
            second.shards.insert(*i, (delta(counts, &before), *age));
            self.shard_ids.insert(*i, id.clone());
        }
        for (i, (name, counts, age)) in sample.consumers.iter().enumerate() {
            // A consumer that took another's place (a SQL application
            // restarted) starts from zero.
            let before = self
                .last
                .consumers
                .get(i)
                .filter(|c| c.0 == *name)
                .map_or([0; 3], |c| c.1);
            second.consumers.push((delta(counts, &before), *age));
            if self.consumer_names.len() <= i {
                self.consumer_names.push(name.clone());
            } else {
                self.consumer_names[i] = name.clone();
            }
        }
        self.consumer_names.truncate(sample.consumers.len());
        self.seconds.push_back(second);
        while self.seconds.len() > METRIC_SECONDS {
            self.seconds.pop_front();
        }
        self.end_s = end_s;
        self.last = sample;
    }

    /// The elapsed second the newest datapoint ends at (0 before any).
    pub fn end_s(&self) -> u64 {
        self.end_s
    }

    pub fn view(&self) -> MetricsView {
        let series =
            |f: &dyn Fn(&Second) -> u64| -> Points { self.seconds.iter().map(f).collect() };
        let shards: Vec<ShardMetrics> = self
            .shard_ids
            .iter()
            .filter(|(i, _)| self.seconds.iter().any(|s| s.shards.contains_key(i)))
            .map(|(i, id)| {
                let get = |s: &Second| s.shards.get(i).copied().unwrap_or_default();
                ShardMetrics {
                    shard_id: id.clone(),
                    incoming_records: series(&|s| get(s).0[0]),
                    incoming_bytes: series(&|s| get(s).0[1]),
                    write_throttled: series(&|s| get(s).0[2]),
                    iterator_age_ms: series(&|s| get(s).1),
                }
            })
            .collect();
        let consumers = self
            .consumer_names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let get = |s: &Second| s.consumers.get(i).copied().unwrap_or_default();
                ConsumerMetrics {
                    name: name.clone(),
                    records: series(&|s| get(s).0[0]),
                    duplicates: series(&|s| get(s).0[1]),
                    read_throttled: series(&|s| get(s).0[2]),
                    behind_ms: series(&|s| get(s).1),
                }
            })
            .collect();
        let total = |k: usize| series(&|s| s.shards.values().map(|v| v.0[k]).sum());
        MetricsView {
            end_s: self.end_s,
            incoming_records: total(0),
            incoming_bytes: total(1),
            write_throttled: total(2),
            read_throttled: series(&|s| s.consumers.iter().map(|c| c.0[2]).sum()),
            iterator_age_ms: series(&|s| s.shards.values().map(|v| v.1).max().unwrap_or(0)),
            records_limit: series(&|s| s.limits.0),
            bytes_limit: series(&|s| s.limits.1),
            shards,
            consumers,
        }
    }
}

fn delta(now: &[u64; 3], before: &[u64; 3]) -> [u64; 3] {
    [
        now[0].saturating_sub(before[0]),
        now[1].saturating_sub(before[1]),
        now[2].saturating_sub(before[2]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(accepted: u64, throttled: u64, delivered: u64, lag: u64) -> Sample {
        let mut shards = BTreeMap::new();
        shards.insert(
            0,
            (
                "shardId-000000000000".to_string(),
                [accepted, accepted * 10, throttled],
                lag,
            ),
        );
        Sample {
            shards,
            consumers: vec![("app".into(), [delivered, 0, 1], lag)],
            limits: (1000, 1 << 20),
        }
    }

    #[test]
    fn counts_are_per_second_and_ages_as_sampled_for_the_last_minute() {
        let mut m = Metrics::default();
        m.record(1, sample(900, 0, 800, 200));
        m.record(2, sample(1900, 300, 1700, 1200));
        let v = m.view();
        assert_eq!(v.end_s, 2);
        assert_eq!(v.incoming_records, [900, 1000]);
        assert_eq!(v.incoming_bytes, [9000, 10000]);
        assert_eq!(v.write_throttled, [0, 300]);
        assert_eq!(v.iterator_age_ms, [200, 1200]);
        assert_eq!(v.records_limit, [1000, 1000]);
        assert_eq!(v.consumers[0].records, [800, 900]);
        assert_eq!(v.consumers[0].read_throttled, [1, 0]);
        assert_eq!(v.read_throttled, [1, 0]);
        assert_eq!(v.shards[0].shard_id, "shardId-000000000000");
        for s in 3..200 {
            m.record(s, sample(1900 + s, 300, 1700, 0));
        }
        let v = m.view();
        assert_eq!(v.incoming_records.len(), METRIC_SECONDS);
        assert_eq!(v.end_s, 199);
        assert!(v.incoming_records.iter().all(|n| *n == 1));
    }
}
