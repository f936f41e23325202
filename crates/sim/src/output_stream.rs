//! The data streams a SQL application writes to (KDA's
//! `KinesisStreamsOutput`): real streams of the same control plane, their
//! shards on the same hosts as the source stream's, written with
//! PutRecords and readable with GetRecords (the in-page console reads
//! them). What the UI sees is bounded: per-shard counters and the newest
//! records written.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use shardlab_engine::SequenceNumber;

/// Records of each output stream the view keeps.
pub const NEWEST_RECORDS: usize = 20;
/// The most characters of a record's data the view shows.
const DATA_PREVIEW_CHARS: usize = 300;

/// One shard of an output stream, as the UI shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputShardView {
    pub shard_id: String,
    /// Records and bytes (partition key and data) the shard accepted.
    pub records: u64,
    pub bytes: u64,
    /// Records it refused, over its write limits (the application sends
    /// them again).
    pub throttled: u64,
    pub latest_sequence_number: Option<String>,
}

/// A record the application wrote, as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRecordView {
    pub shard_id: String,
    pub sequence_number: String,
    pub partition_key: String,
    /// The data as text (invalid UTF-8 replaced), cut at 300 characters.
    pub data: String,
}

/// An output stream, as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputStreamView {
    pub name: String,
    pub arn: String,
    pub shards: Vec<OutputShardView>,
    /// The newest records written, oldest first.
    pub newest: Vec<OutputRecordView>,
}

impl OutputStreamView {
    /// Records the stream accepted, all shards.
    pub fn records(&self) -> u64 {
        self.shards.iter().map(|s| s.records).sum()
    }
}

/// What the simulation keeps about one output stream: counts per shard
/// and the newest records as they were written (formatted for the view
/// only when it is taken, not per record).
pub struct OutputStreamState {
    pub name: String,
    shards: Vec<ShardCounts>,
    /// (shard index, sequence number, partition key, data).
    newest: VecDeque<(u32, SequenceNumber, String, Vec<u8>)>,
}

#[derive(Clone, Default)]
struct ShardCounts {
    open: bool,
    records: u64,
    bytes: u64,
    throttled: u64,
    latest: Option<SequenceNumber>,
}

impl OutputStreamState {
    /// A stream whose shards have these indexes (as CreateStream made them).
    pub fn new(name: &str, shard_indexes: impl IntoIterator<Item = u32>) -> Self {
        let mut shards: Vec<ShardCounts> = Vec::new();
        for i in shard_indexes {
            let i = i as usize;
            if shards.len() <= i {
                shards.resize(i + 1, ShardCounts::default());
            }
            shards[i].open = true;
        }
        OutputStreamState {
            name: name.to_string(),
            shards,
            newest: VecDeque::new(),
        }
    }

    /// A record the shard `shard_index` accepted.
    pub fn accepted(
        &mut self,
        shard_index: u32,
        sequence_number: &SequenceNumber,
        partition_key: &str,
        data: &[u8],
    ) {
        let Some(shard) = self.shards.get_mut(shard_index as usize) else {
            return;
        };
        shard.records += 1;
        shard.bytes += (partition_key.len() + data.len()) as u64;
        shard.latest = Some(*sequence_number);
        if self.newest.len() == NEWEST_RECORDS {
            self.newest.pop_front();
        }
        self.newest.push_back((
            shard_index,
            *sequence_number,
            partition_key.to_string(),
            data.to_vec(),
        ));
    }

    /// A record the shard `shard_index` refused (over its write limits).
    pub fn throttled(&mut self, shard_index: u32) {
        if let Some(shard) = self.shards.get_mut(shard_index as usize) {
            shard.throttled += 1;
        }
    }

    pub fn view(&self, region: &str) -> OutputStreamView {
        OutputStreamView {
            name: self.name.clone(),
            arn: shardlab_engine::stream_arn(region, &self.name),
            shards: self
                .shards
                .iter()
                .enumerate()
                .filter(|(_, s)| s.open)
                .map(|(i, s)| OutputShardView {
                    shard_id: shardlab_engine::shard_id(i as u32),
                    records: s.records,
                    bytes: s.bytes,
                    throttled: s.throttled,
                    latest_sequence_number: s.latest.map(|q| q.to_string()),
                })
                .collect(),
            newest: self
                .newest
                .iter()
                .map(|(shard, seq, key, data)| OutputRecordView {
                    shard_id: shardlab_engine::shard_id(*shard),
                    sequence_number: seq.to_string(),
                    partition_key: key.clone(),
                    data: String::from_utf8_lossy(data)
                        .chars()
                        .take(DATA_PREVIEW_CHARS)
                        .collect(),
                })
                .collect(),
        }
    }
}
