//! KPL-style aggregation in the simulated producer.
//!
//! With aggregation on, the producer does what the Kinesis Producer
//! Library does with its defaults: it buffers a tick's user records (the
//! tick is the KPL's default `RecordMaxBufferedTime`, 100 ms), groups them
//! by the shard it predicts from the shard map, and packs each group into
//! aggregated records of up to `AggregationMaxSize` bytes (51,200 by
//! default). A container of one user record goes as it is, with its own
//! partition key; a container of several goes with partition key `"a"`
//! and an `ExplicitHashKey` equal to its first user record's hash key, so
//! it lands where each of its records would have. The PutRecords calls
//! then carry up to 500 Kinesis records each, as before: the point, seen in
//! the shard table, is that a shard's 1,000 records/s stops binding small
//! records.

use serde::{Deserialize, Serialize};
use shardlab_engine::api::{PutRecordsEntry, ShardInfo};
use shardlab_engine::kpl::{aggregate, aggregated_len_bound, AGGREGATION_OVERHEAD};
use shardlab_engine::{route, HashKey, HashKeyRange};

use crate::producer::ProducedRecord;

/// The KPL's default `AggregationMaxSize`.
pub const DEFAULT_MAX_SIZE: u64 = 51_200;
/// The KPL's range for it.
pub const MAX_SIZE_RANGE: std::ops::RangeInclusive<u64> = 64..=1_048_576;

/// The KPL's default `RecordTtl`: a record not sent within it fails.
pub const DEFAULT_RECORD_TTL_MS: u64 = 30_000;
/// The range taken here (the KPL's minimum is 100 ms).
pub const RECORD_TTL_RANGE: std::ops::RangeInclusive<u64> = 100..=604_800_000;
/// The KPL's default `RateLimit`, in percent of a shard's write limits.
pub const DEFAULT_RATE_LIMIT: u64 = 150;
/// The range taken here (the KPL's minimum is 1).
pub const RATE_LIMIT_RANGE: std::ops::RangeInclusive<u64> = 1..=100_000;

/// The producer's KPL settings, named as the KPL names them: aggregation,
/// the rate limit per shard, and how long a record may wait to be sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aggregation {
    #[serde(rename = "AggregationMaxSize", default = "default_max_size")]
    pub max_size: u64,
    /// A user record not sent within this many milliseconds of its
    /// arrival fails (the KPL's `RecordTtl`).
    #[serde(
        rename = "RecordTtl",
        default = "default_record_ttl",
        skip_serializing_if = "is_default_record_ttl"
    )]
    pub record_ttl_ms: u64,
    /// The most the producer sends to one shard, in percent of its write
    /// limits (1,000 records/s and 1 MiB/s), each counted on its own (the
    /// KPL's `RateLimit`).
    #[serde(
        rename = "RateLimit",
        default = "default_rate_limit",
        skip_serializing_if = "is_default_rate_limit"
    )]
    pub rate_limit: u64,
    /// Throttled records fail at once instead of being sent again (the
    /// KPL's `FailIfThrottled`).
    #[serde(
        rename = "FailIfThrottled",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub fail_if_throttled: bool,
}

fn default_max_size() -> u64 {
    DEFAULT_MAX_SIZE
}
fn default_record_ttl() -> u64 {
    DEFAULT_RECORD_TTL_MS
}
fn is_default_record_ttl(ms: &u64) -> bool {
    *ms == DEFAULT_RECORD_TTL_MS
}
fn default_rate_limit() -> u64 {
    DEFAULT_RATE_LIMIT
}
fn is_default_rate_limit(percent: &u64) -> bool {
    *percent == DEFAULT_RATE_LIMIT
}

impl Default for Aggregation {
    fn default() -> Self {
        Aggregation {
            max_size: DEFAULT_MAX_SIZE,
            record_ttl_ms: DEFAULT_RECORD_TTL_MS,
            rate_limit: DEFAULT_RATE_LIMIT,
            fail_if_throttled: false,
        }
    }
}

impl Aggregation {
    pub fn validate(&self) -> Result<(), String> {
        for (name, value, range, unit) in [
            (
                "AggregationMaxSize",
                self.max_size,
                MAX_SIZE_RANGE,
                " bytes",
            ),
            ("RecordTtl", self.record_ttl_ms, RECORD_TTL_RANGE, " ms"),
            (
                "RateLimit",
                self.rate_limit,
                RATE_LIMIT_RANGE,
                " (percent of a shard's limits)",
            ),
        ] {
            if !range.contains(&value) {
                return Err(format!(
                    "aggregation's {name} runs from {} to {}{unit}, not {value}",
                    range.start(),
                    range.end(),
                ));
            }
        }
        Ok(())
    }
}

/// A shard's write limits, as the KPL's limiter knows them.
const SHARD_RECORDS_PER_SEC: u64 = 1_000;
const SHARD_BYTES_PER_SEC: u64 = 1_048_576;

/// One predicted shard's two token buckets (records and bytes), counted
/// in hundred-thousandths of a record and of a byte, so that each
/// millisecond adds a whole number: `limit per second × RateLimit %` of
/// them. Full, a bucket holds one second's worth.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    records: u64,
    bytes: u64,
    at_ms: u64,
}

const UNITS: u64 = 100_000;

/// The KPL's rate limiter: per predicted shard, at most `RateLimit` % of
/// its records/s and bytes/s. A Kinesis record over either waits in the
/// producer (after any earlier one for the same shard, so a shard's
/// records keep their order) until the buckets have refilled, or until its
/// `RecordTtl` has passed and it fails.
#[derive(Debug, Default)]
pub struct Limiter {
    /// By the predicted shard's starting hash key.
    buckets: std::collections::BTreeMap<u128, Bucket>,
    /// Kinesis records held back, oldest first, with their sends so far.
    pub held: Vec<(Outgoing, u32)>,
    /// Throttled Kinesis records, to be sent again with the next tick's.
    pub retry: Vec<(Outgoing, u32)>,
}

impl Limiter {
    /// Which of `candidates` (oldest first) go out now; the rest are held,
    /// and those past their `RecordTtl` are returned as expired.
    pub fn admit(
        &mut self,
        settings: &Aggregation,
        candidates: Vec<(Outgoing, u32)>,
        shards: &[ShardInfo],
        now_ms: u64,
    ) -> Admitted {
        let open = open_ranges(shards);
        let rate = settings.rate_limit;
        let records_full = SHARD_RECORDS_PER_SEC * rate * 1_000;
        let bytes_full = SHARD_BYTES_PER_SEC * rate * 1_000;
        let mut out = Admitted::default();
        let mut blocked: std::collections::BTreeSet<u128> = Default::default();
        for (o, attempts) in candidates {
            if now_ms.saturating_sub(o.oldest_ms) > settings.record_ttl_ms {
                out.expired += 1;
                continue;
            }
            let hash = match &o.entry.explicit_hash_key {
                Some(ehk) => ehk.parse().map(HashKey).ok(),
                None => None,
            }
            .unwrap_or_else(|| HashKey::from_partition_key(&o.entry.partition_key));
            let shard = route(&open, hash)
                .and_then(|i| open.get(i))
                .map_or(0, |r| r.starting_hash_key.0);
            let size = o.entry.size() as u64;
            let bucket = self.buckets.entry(shard).or_insert(Bucket {
                records: records_full,
                bytes: bytes_full,
                at_ms: now_ms,
            });
            // Full after a second, whatever the wait.
            let dt = now_ms.saturating_sub(bucket.at_ms).min(1_000);
            bucket.records = (bucket.records + dt * SHARD_RECORDS_PER_SEC * rate).min(records_full);
            bucket.bytes = (bucket.bytes + dt * SHARD_BYTES_PER_SEC * rate).min(bytes_full);
            bucket.at_ms = now_ms;
            let (need_records, need_bytes) = (UNITS, size * UNITS);
            if blocked.contains(&shard)
                || bucket.records < need_records
                || bucket.bytes < need_bytes.min(bytes_full)
            {
                blocked.insert(shard);
                self.held.push((o, attempts));
                continue;
            }
            bucket.records -= need_records;
            bucket.bytes -= need_bytes.min(bucket.bytes);
            out.send.push((o, attempts));
        }
        out
    }
}

/// What the limiter lets out now, and how many records expired waiting.
#[derive(Debug, Default)]
pub struct Admitted {
    pub send: Vec<(Outgoing, u32)>,
    pub expired: u64,
}

/// One Kinesis record for a PutRecords call.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub entry: PutRecordsEntry,
    /// The newest arrival among its user records.
    pub arrival_ms: u64,
    /// The oldest (its `RecordTtl` counts from it).
    pub oldest_ms: u64,
    pub user_records: u64,
}

impl Outgoing {
    pub fn plain(r: ProducedRecord) -> Outgoing {
        Outgoing {
            entry: PutRecordsEntry {
                partition_key: r.partition_key,
                data: r.data,
                explicit_hash_key: None,
                made: r.made,
            },
            arrival_ms: r.arrival_ms,
            oldest_ms: r.arrival_ms,
            user_records: 1,
        }
    }
}

/// The open shards' hash-key ranges in key order: the producer's shard map.
fn open_ranges(shards: &[ShardInfo]) -> Vec<HashKeyRange> {
    let mut open: Vec<HashKeyRange> = shards
        .iter()
        .filter(|s| s.closed_ms.is_none())
        .map(|s| s.range)
        .collect();
    open.sort_by_key(|r| r.starting_hash_key);
    open
}

/// Packs a tick's user records into Kinesis records, per predicted shard.
/// Containers come out in the order they fill, then the rest in shard
/// order, so a shard's records keep their order.
pub fn pack(records: Vec<ProducedRecord>, shards: &[ShardInfo], max_size: u64) -> Vec<Outgoing> {
    let max_size = max_size as usize;
    let open = open_ranges(shards);
    let keys: Vec<&[u8]> = records.iter().map(|r| r.partition_key.as_bytes()).collect();
    let hashes = HashKey::from_partition_keys(&keys);
    // Per predicted shard: the user records of its filling container and
    // their size bound.
    let mut filling: std::collections::BTreeMap<usize, (Vec<usize>, usize)> = Default::default();
    let mut containers: Vec<Vec<usize>> = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let cost = aggregated_len_bound(r.partition_key.len(), r.size() - r.partition_key.len());
        if AGGREGATION_OVERHEAD + cost > max_size {
            // Too big to share a container: the KPL sends it alone.
            containers.push(vec![i]);
            continue;
        }
        let shard = route(&open, hashes[i]).unwrap_or(0);
        let (members, size) = filling.entry(shard).or_default();
        if !members.is_empty() && AGGREGATION_OVERHEAD + *size + cost > max_size {
            containers.push(std::mem::take(members));
            *size = 0;
        }
        members.push(i);
        *size += cost;
    }
    containers.extend(
        filling
            .into_values()
            .map(|(m, _)| m)
            .filter(|m| !m.is_empty()),
    );
    let mut records: Vec<Option<ProducedRecord>> = records.into_iter().map(Some).collect();
    containers
        .into_iter()
        .filter_map(|members| {
            if let [only] = members[..] {
                return records[only].take().map(Outgoing::plain);
            }
            let users: Vec<ProducedRecord> =
                members.iter().filter_map(|&i| records[i].take()).collect();
            let arrival_ms = users.iter().map(|u| u.arrival_ms).max().unwrap_or(0);
            let oldest_ms = users.iter().map(|u| u.arrival_ms).min().unwrap_or(0);
            let user_records = users.len() as u64;
            let first = *members.first()?;
            Some(Outgoing {
                entry: PutRecordsEntry {
                    partition_key: "a".into(),
                    explicit_hash_key: Some(hashes[first].0.to_string()),
                    data: aggregate(users.into_iter().map(|mut u| {
                        let key = std::mem::take(&mut u.partition_key);
                        (key, u.into_bytes())
                    })),
                    made: None,
                },
                arrival_ms,
                oldest_ms,
                user_records,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shardlab_engine::kpl::deaggregate;
    use shardlab_engine::store::ShardKey;

    fn shards(n: u32) -> Vec<ShardInfo> {
        HashKeyRange::even_split(n)
            .into_iter()
            .enumerate()
            .map(|(i, range)| ShardInfo {
                key: ShardKey {
                    stream: 0,
                    shard_index: i as u32,
                },
                shard_id: format!("shardId-{i:012}"),
                range,
                parent_shard_id: None,
                adjacent_parent_shard_id: None,
                closed_ms: None,
            })
            .collect()
    }

    fn produced(n: usize, data_len: usize) -> Vec<ProducedRecord> {
        (0..n)
            .map(|i| ProducedRecord {
                partition_key: format!("key-{i}"),
                data: vec![b'x'; data_len],
                arrival_ms: i as u64,
                made: None,
            })
            .collect()
    }

    #[test]
    fn containers_hold_one_shards_records_in_order_within_the_size() {
        let map = shards(4);
        let out = pack(produced(3_000, 100), &map, DEFAULT_MAX_SIZE);
        let total: u64 = out.iter().map(|o| o.user_records).sum();
        assert_eq!(total, 3_000);
        // About 140 bytes per record in a 51,200-byte container: ~360 each,
        // so a handful per shard.
        assert!(out.len() <= 16, "{}", out.len());
        let ranges: Vec<HashKeyRange> = map.iter().map(|s| s.range).collect();
        let mut last_seen: std::collections::BTreeMap<usize, usize> = Default::default();
        for o in &out {
            assert!(o.entry.data.len() <= DEFAULT_MAX_SIZE as usize);
            assert_eq!(o.entry.partition_key, "a");
            let ehk = HashKey(o.entry.explicit_hash_key.as_ref().unwrap().parse().unwrap());
            let shard = route(&ranges, ehk).unwrap();
            for u in deaggregate(&o.entry.data).unwrap().unwrap() {
                // Every user record belongs to the container's shard ...
                let own = route(&ranges, HashKey::from_partition_key(&u.partition_key));
                assert_eq!(own, Some(shard));
                // ... and a shard's records come in production order.
                let i: usize = u.partition_key[4..].parse().unwrap();
                let before = last_seen.insert(shard, i);
                assert!(before.is_none_or(|b| b < i), "{before:?} then {i}");
            }
        }
    }

    #[test]
    fn a_lone_or_oversized_record_goes_as_it_is() {
        let map = shards(2);
        let mut records = produced(1, 10);
        records.push(ProducedRecord {
            partition_key: "big".into(),
            data: vec![0; 60_000],
            arrival_ms: 5,
            made: None,
        });
        let out = pack(records, &map, DEFAULT_MAX_SIZE);
        assert_eq!(out.len(), 2);
        assert!(out
            .iter()
            .all(|o| o.user_records == 1 && o.entry.explicit_hash_key.is_none()));
        assert!(out.iter().any(|o| o.entry.partition_key == "key-0"));
        assert!(out.iter().any(|o| o.entry.partition_key == "big"));
        assert!(Aggregation {
            max_size: 63,
            ..Default::default()
        }
        .validate()
        .is_err());
        assert!(Aggregation::default().validate().is_ok());
    }
}
