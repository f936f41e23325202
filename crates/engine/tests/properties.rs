//! Properties of the API under random sequences of operations: no
//! acknowledged record is lost or reordered within a shard lineage, and the
//! open shards always tile the whole hash-key space.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use proptest::prelude::*;
use serde_json::{json, Value};
use shardlab_engine::{Kinesis, KinesisConfig};

const T0: u64 = 1_767_225_600_000;

#[derive(Clone, Debug)]
enum Op {
    Put { key: u8, count: u8 },
    Split { pick: u8, at_permille: u16 },
    Merge { pick: u8 },
    Scale { up: bool },
    Retention { hours: u16 },
    Advance { ms: u32 },
    Jump { hours: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (any::<u8>(), 1u8..20).prop_map(|(key, count)| Op::Put { key, count }),
        2 => (any::<u8>(), 1u16..999).prop_map(|(pick, at_permille)| Op::Split { pick, at_permille }),
        2 => any::<u8>().prop_map(|pick| Op::Merge { pick }),
        1 => any::<bool>().prop_map(|up| Op::Scale { up }),
        1 => (24u16..100).prop_map(|hours| Op::Retention { hours }),
        2 => (1u32..600_000).prop_map(|ms| Op::Advance { ms }),
        1 => (1u8..30).prop_map(|hours| Op::Jump { hours }),
    ]
}

fn open_shards(k: &mut Kinesis, now: u64) -> Vec<(String, u128, u128)> {
    let r = k
        .call(
            "ListShards",
            &json!({"StreamName": "p", "ShardFilter": {"Type": "AT_LATEST"}}),
            now,
        )
        .unwrap();
    let mut v: Vec<(String, u128, u128)> = r["Shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["ShardId"].as_str().unwrap().to_string(),
                s["HashKeyRange"]["StartingHashKey"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap(),
                s["HashKeyRange"]["EndingHashKey"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap(),
            )
        })
        .collect();
    v.sort_by_key(|s| s.1);
    v
}

fn all_shard_ids(k: &mut Kinesis, now: u64) -> Vec<String> {
    let r = k
        .call("ListShards", &json!({"StreamName": "p"}), now)
        .unwrap();
    r["Shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["ShardId"].as_str().unwrap().to_string())
        .collect()
}

fn read_shard(k: &mut Kinesis, shard: &str, now: &mut u64) -> Vec<(String, String)> {
    let mut it = k
        .call(
            "GetShardIterator",
            &json!({"StreamName": "p", "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
            *now,
        )
        .unwrap()["ShardIterator"]
        .as_str()
        .unwrap()
        .to_string();
    let mut out = Vec::new();
    loop {
        let r: Value = k
            .call(
                "GetRecords",
                &json!({"ShardIterator": it, "Limit": 7}),
                *now,
            )
            .unwrap();
        let recs = r["Records"].as_array().unwrap();
        for rec in recs {
            let data =
                String::from_utf8(BASE64.decode(rec["Data"].as_str().unwrap()).unwrap()).unwrap();
            out.push((rec["SequenceNumber"].as_str().unwrap().to_string(), data));
        }
        match r["NextShardIterator"].as_str() {
            Some(next) if !recs.is_empty() => it = next.to_string(),
            _ => return out,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn acknowledged_records_survive_in_order(ops in prop::collection::vec(op(), 1..60)) {
        let mut k = Kinesis::new(KinesisConfig { enforce_limits: false, ..KinesisConfig::default() });
        let mut now = T0;
        k.call("CreateStream", &json!({"StreamName": "p", "ShardCount": 2}), now).unwrap();
        // Every acknowledged record: (partition key, payload, arrival time).
        let mut acked: Vec<(String, String, u64)> = Vec::new();
        let mut retention_ms = 24 * 3_600_000u64;
        // Data older than this has been past retention at some moment, and
        // stays gone even if retention grows later.
        let mut horizon = 0u64;
        let mut n = 0u64;
        for op in ops {
            match op {
                Op::Put { key, count } => {
                    let records: Vec<Value> = (0..count).map(|i| {
                        n += 1;
                        json!({"PartitionKey": format!("key{}", (key as u64 + i as u64) % 9), "Data": BASE64.encode(format!("r{n}"))})
                    }).collect();
                    let r = k.call("PutRecords", &json!({"StreamName": "p", "Records": records.clone()}), now).unwrap();
                    for (req, res) in records.iter().zip(r["Records"].as_array().unwrap()) {
                        if res.get("SequenceNumber").is_some() {
                            let data = String::from_utf8(BASE64.decode(req["Data"].as_str().unwrap()).unwrap()).unwrap();
                            acked.push((req["PartitionKey"].as_str().unwrap().into(), data, now));
                        }
                    }
                }
                Op::Split { pick, at_permille } => {
                    let open = open_shards(&mut k, now);
                    let (id, start, end) = open[pick as usize % open.len()].clone();
                    let at = start + (end - start) / 1000 * at_permille as u128;
                    // Splits AWS refuses are fine too: they must change nothing.
                    let _ = k.call("SplitShard", &json!({"StreamName": "p", "ShardToSplit": id, "NewStartingHashKey": at.to_string()}), now);
                }
                Op::Merge { pick } => {
                    let open = open_shards(&mut k, now);
                    if open.len() >= 2 {
                        let i = pick as usize % (open.len() - 1);
                        k.call("MergeShards", &json!({"StreamName": "p", "ShardToMerge": open[i].0, "AdjacentShardToMerge": open[i + 1].0}), now).unwrap();
                    }
                }
                Op::Scale { up } => {
                    let count = open_shards(&mut k, now).len() as i64;
                    let target = if up { (count + 1).min(2 * count) } else { (count - 1).max((count + 1) / 2).max(1) };
                    let _ = k.call("UpdateShardCount", &json!({"StreamName": "p", "TargetShardCount": target, "ScalingType": "UNIFORM_SCALING"}), now);
                }
                Op::Retention { hours } => {
                    horizon = horizon.max(now.saturating_sub(retention_ms));
                    let current = retention_ms / 3_600_000;
                    let op = if u64::from(hours) >= current { "IncreaseStreamRetentionPeriod" } else { "DecreaseStreamRetentionPeriod" };
                    k.call(op, &json!({"StreamName": "p", "RetentionPeriodHours": hours}), now).unwrap();
                    retention_ms = u64::from(hours) * 3_600_000;
                }
                Op::Advance { ms } => now += u64::from(ms),
                Op::Jump { hours } => now += u64::from(hours) * 3_600_000,
            }
            horizon = horizon.max(now.saturating_sub(retention_ms));
            // The open shards tile the hash-key space: no gap, no overlap.
            let open = open_shards(&mut k, now);
            prop_assert_eq!(open[0].1, 0);
            prop_assert_eq!(open.last().unwrap().2, u128::MAX);
            for w in open.windows(2) {
                prop_assert_eq!(w[0].2 + 1, w[1].1);
            }
        }
        // Read every shard, parents before children (shard ids grow with age).
        let mut ids = all_shard_ids(&mut k, now);
        ids.sort();
        let mut read: Vec<(String, String)> = Vec::new();
        for id in ids {
            let recs = read_shard(&mut k, &id, &mut now);
            // Sequence numbers increase within a shard.
            for w in recs.windows(2) {
                prop_assert!(w[0].0.len() == 56 && w[0].0 < w[1].0);
            }
            read.extend(recs.into_iter().map(|(_, d)| (id.clone(), d)));
        }
        // Everything acknowledged and still within retention was read, once.
        let horizon = horizon.max(now.saturating_sub(retention_ms));
        let expected: Vec<&(String, String, u64)> = acked.iter().filter(|a| a.2 >= horizon).collect();
        // ... and nothing past retention is readable.
        let expired: std::collections::HashSet<&str> = acked.iter().filter(|a| a.2 < horizon).map(|a| a.1.as_str()).collect();
        for (_, d) in &read {
            prop_assert!(!expired.contains(d.as_str()), "record {} past retention was readable", d);
        }
        let got: std::collections::HashMap<&str, usize> = read.iter().enumerate().map(|(i, (_, d))| (d.as_str(), i)).collect();
        prop_assert_eq!(got.len(), read.len(), "a record was read twice");
        for a in &expected {
            prop_assert!(got.contains_key(a.1.as_str()), "lost acknowledged record {}", a.1);
        }
        // Per partition key, reading parents before children gives put order.
        let mut last_pos: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for a in &expected {
            let pos = got[a.1.as_str()];
            if let Some(prev) = last_pos.insert(a.0.as_str(), pos) {
                prop_assert!(prev < pos, "key {} reordered", a.0);
            }
        }
    }
}
