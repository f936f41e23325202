//! One shard's data plane: the state a shard host (a Web Worker in the
//! browser, a plain struct natively) keeps for it.
//!
//! The coordinator has already routed each record here by its hash key; the
//! shard checks its write limits, gives accepted records increasing
//! sequence numbers, stores them, and drops what retention no longer keeps.
//! Everything depends only on the requests and the virtual times in them,
//! so the same requests give the same replies wherever the shard runs.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::made::{record_size, Made};
use crate::store::ReadResult;
use crate::{HashKeyRange, SequenceNumber, TokenBucket};

/// Per-shard write limits (AWS: 1 MiB/s or 1,000 records/s per shard).
pub const WRITE_BYTES_PER_SEC: u64 = 1024 * 1024;
pub const WRITE_RECORDS_PER_SEC: u64 = 1000;
/// Per-shard read limits for shared-throughput consumers: 5 GetRecords
/// calls/s and 2 MiB/s. One call may return up to 10 MiB, which puts the
/// shard 5 seconds in debt, during which calls are throttled.
pub const READ_CALLS_PER_SEC: u64 = 5;
pub const READ_BYTES_PER_SEC: u64 = 2 * 1024 * 1024;
pub const READ_MAX_BYTES_PER_CALL: u64 = 10 * 1024 * 1024;
pub const READ_MAX_RECORDS_PER_CALL: usize = 10_000;
/// GetShardIterator: 5 calls/s per shard.
pub const ITERATOR_CALLS_PER_SEC: u64 = 5;
/// Default retention, 24 hours.
pub const DEFAULT_RETENTION_MS: u64 = 24 * 60 * 60 * 1000;

/// The account every simulated resource belongs to (AWS's documentation
/// account id).
pub const ACCOUNT_ID: &str = "123456789012";

/// What a shard needs to know about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardConfig {
    pub stream_name: String,
    pub shard_index: u32,
    pub hash_key_range: HashKeyRange,
    pub created_ms: u64,
    pub retention_ms: u64,
}

impl ShardConfig {
    pub fn shard_id(&self) -> String {
        shard_id(self.shard_index)
    }
}

/// `shardId-` and the index as 12 zero-padded digits, as AWS names shards.
pub fn shard_id(index: u32) -> String {
    format!("shardId-{index:012}")
}

/// A record as producers send it, after routing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutEntry {
    pub partition_key: String,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    /// Virtual time the record reached the service.
    pub arrival_ms: u64,
    /// A record the shard host makes itself: `data` is empty and the
    /// recipe gives the bytes, and the key if `partition_key` is empty (see
    /// [`crate::made`]).
    pub made: Option<Made>,
}

impl PutEntry {
    /// Bytes counted against limits: data plus the partition key's UTF-8.
    pub fn size(&self) -> u64 {
        record_size(&self.partition_key, &self.data, self.made.as_ref()) as u64
    }

    pub fn as_put(&self) -> PutRef<'_> {
        PutRef {
            partition_key: &self.partition_key,
            data: &self.data,
            arrival_ms: self.arrival_ms,
            made: self.made,
        }
    }
}

/// A put as a shard stores it: borrowed, so that a shard host stores
/// records straight from the bytes of the batch it was sent (a
/// `PutEntry` decoded on its own costs two allocations per record).
/// Deserializes from a `PutEntry`'s encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct PutRef<'a> {
    pub partition_key: &'a str,
    pub data: &'a [u8],
    pub arrival_ms: u64,
    pub made: Option<Made>,
}

impl PutRef<'_> {
    /// Bytes counted against limits: data plus the partition key's UTF-8.
    pub fn size(&self) -> u64 {
        record_size(self.partition_key, self.data, self.made.as_ref()) as u64
    }
}

/// A stored record, as GetRecords will return it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRecord {
    pub sequence_number: SequenceNumber,
    pub partition_key: String,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    pub arrival_ms: u64,
}

/// The fate of one put.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PutOutcome {
    Accepted(SequenceNumber),
    /// Over the shard's write limit: AWS's
    /// `ProvisionedThroughputExceededException` for this record.
    Throttled,
}

/// Counters a shard reports with every reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardStats {
    pub records_accepted: u64,
    pub bytes_accepted: u64,
    pub records_throttled: u64,
    /// Records currently retained.
    pub records_retained: u64,
    pub latest_sequence_number: Option<SequenceNumber>,
}

/// Why a read was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadRefusal {
    /// Over 5 calls/s or in debt after a large read.
    Throttled,
}

/// Serialisable whole, so a host can checkpoint it and a respawned host
/// restore it exactly (see `protocol`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardDataPlane {
    config: ShardConfig,
    records: RecordLog,
    next_sequence_index: u64,
    write_bytes: TokenBucket,
    write_records: TokenBucket,
    read_calls: TokenBucket,
    read_bytes: DebtBucket,
    iterator_calls: TokenBucket,
    /// Set when the shard is closed by a split or merge.
    closed_ms: Option<u64>,
    stats: ShardStats,
}

/// A bucket that may go into debt: a read is allowed while the level is
/// positive, and takes what it actually read, down to below zero, so a
/// 10 MiB read at 2 MiB/s blocks the next five seconds, as AWS documents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DebtBucket {
    rate_per_sec: i128,
    level_milli: i128,
    last_ms: u64,
}

impl DebtBucket {
    pub(crate) fn new(rate_per_sec: u64, now_ms: u64) -> Self {
        let rate = i128::from(rate_per_sec);
        DebtBucket {
            rate_per_sec: rate,
            level_milli: rate * 1000,
            last_ms: now_ms,
        }
    }

    fn refill(&mut self, now_ms: u64) {
        let elapsed = i128::from(now_ms.saturating_sub(self.last_ms));
        self.level_milli =
            (self.level_milli + elapsed * self.rate_per_sec).min(self.rate_per_sec * 1000);
        self.last_ms = self.last_ms.max(now_ms);
    }

    pub(crate) fn positive(&mut self, now_ms: u64) -> bool {
        self.refill(now_ms);
        self.level_milli > 0
    }

    pub(crate) fn take(&mut self, amount: u64) {
        self.level_milli -= i128::from(amount) * 1000;
    }
}

/// Bytes per chunk of the record log: keys and data are appended back to
/// back, so a chunk holds hundreds of typical records in one allocation.
const CHUNK_BYTES: usize = 64 * 1024;

/// One retained record: where its key and data are in its chunk, and when
/// it arrived (after the chunk's base time). Its chunk and its sequence
/// number follow from its position (see `RecordLog`). 16 bytes: the whole
/// per-record cost beyond the key and data themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Slot {
    arrival_delta_ms: u32,
    offset: u32,
    data_len: u32,
    key_len: u16,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Chunk {
    /// The position (see `RecordLog`) of the first record stored here.
    first: u64,
    /// Arrival time the records' deltas count from.
    base_ms: u64,
    #[serde(with = "serde_bytes")]
    bytes: Vec<u8>,
}

/// A shard's retained records, oldest first, compactly: keys and data back
/// to back in 64 KiB chunks, and a 16-byte slot per record. A record's
/// position counts every record ever stored (`dropped` + its place in
/// `slots`); consecutive records have consecutive sequence indexes, so no
/// sequence number is stored. Expiry drops slots from the front and frees
/// a chunk once no record in it remains.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct RecordLog {
    slots: VecDeque<Slot>,
    chunks: VecDeque<Chunk>,
    /// Records dropped from the front so far: the position of `slots[0]`.
    dropped: u64,
}

impl RecordLog {
    fn len(&self) -> usize {
        self.slots.len()
    }

    fn push(&mut self, key: &[u8], data: &[u8], arrival_ms: u64) {
        let size = key.len() + data.len();
        let fits = self.chunks.back().is_some_and(|c| {
            c.bytes.capacity() - c.bytes.len() >= size
                && arrival_ms.saturating_sub(c.base_ms) <= u64::from(u32::MAX)
        });
        if !fits {
            // A fresh chunk (exactly sized for a record above the chunk
            // size); the previous one keeps its unused tail until it is freed.
            let mut bytes = Vec::new();
            bytes.reserve_exact(size.max(CHUNK_BYTES));
            self.chunks.push_back(Chunk {
                first: self.dropped + self.slots.len() as u64,
                base_ms: arrival_ms,
                bytes,
            });
        }
        let Some(chunk) = self.chunks.back_mut() else {
            return;
        };
        let offset = chunk.bytes.len() as u32;
        chunk.bytes.extend_from_slice(key);
        chunk.bytes.extend_from_slice(data);
        self.slots.push_back(Slot {
            arrival_delta_ms: arrival_ms.saturating_sub(chunk.base_ms) as u32,
            offset,
            data_len: data.len() as u32,
            key_len: key.len() as u16,
        });
    }

    /// The chunk holding the record at `slots[i]`.
    fn chunk_of(&self, i: usize) -> Option<&Chunk> {
        let position = self.dropped + i as u64;
        let after = self.chunks.partition_point(|c| c.first <= position);
        self.chunks.get(after.checked_sub(1)?)
    }

    fn arrival(&self, i: usize) -> Option<u64> {
        let slot = self.slots.get(i)?;
        Some(self.chunk_of(i)?.base_ms + u64::from(slot.arrival_delta_ms))
    }

    /// Key, data and arrival time of the record at `slots[i]`; empty bytes
    /// if the slot points nowhere (a checkpoint that does not hang together
    /// is refused by `check`).
    fn get(&self, i: usize) -> Option<(&[u8], &[u8], u64)> {
        let slot = self.slots.get(i)?;
        let chunk = self.chunk_of(i);
        let start = slot.offset as usize;
        let mid = start + slot.key_len as usize;
        let end = mid + slot.data_len as usize;
        let arrival = chunk.map_or(0, |c| c.base_ms) + u64::from(slot.arrival_delta_ms);
        Some(match chunk.and_then(|c| c.bytes.get(start..end)) {
            Some(all) => {
                let (key, data) = all.split_at(mid - start);
                (key, data, arrival)
            }
            None => (&[], &[], arrival),
        })
    }

    /// The place in `slots` of the first record that arrived at or after
    /// `at_ms` (`len` if none did); arrivals never decrease.
    fn first_arrived_at(&self, at_ms: u64) -> usize {
        let (mut lo, mut hi) = (0, self.slots.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.arrival(mid).is_some_and(|a| a < at_ms) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Drops the records that arrived before `horizon_ms`, and every chunk
    /// no remaining record is in (the newest stays, for the next record).
    fn expire_before(&mut self, horizon_ms: u64) {
        // Usually nothing has expired: one look at the oldest record.
        if self.arrival(0).is_none_or(|a| a >= horizon_ms) {
            return;
        }
        let n = self.first_arrived_at(horizon_ms);
        self.slots.drain(..n);
        self.dropped += n as u64;
        while self.chunks.len() > 1 && self.chunks[1].first <= self.dropped {
            self.chunks.pop_front();
        }
    }

    fn stored_bytes(&self) -> u64 {
        let chunks: usize = self.chunks.iter().map(|c| c.bytes.len()).sum();
        (chunks + self.slots.len() * std::mem::size_of::<Slot>()) as u64
    }

    fn heap_bytes(&self) -> u64 {
        let slots = self.slots.capacity() * std::mem::size_of::<Slot>();
        let chunks: usize = self.chunks.iter().map(|c| c.bytes.capacity()).sum();
        (slots + chunks + self.chunks.capacity() * std::mem::size_of::<Chunk>()) as u64
    }

    /// Whether every record lies inside its chunk and arrivals never
    /// decrease (a restored checkpoint).
    fn check(&self) -> bool {
        let chunks_ordered = self
            .chunks
            .iter()
            .zip(self.chunks.iter().skip(1))
            .all(|(a, b)| a.first < b.first);
        let first_covered =
            self.slots.is_empty() || self.chunks.front().is_some_and(|c| c.first <= self.dropped);
        let in_bounds = (0..self.slots.len()).all(|i| {
            let s = self.slots[i];
            self.chunk_of(i).is_some_and(|c| {
                s.offset as usize + s.key_len as usize + s.data_len as usize <= c.bytes.len()
            })
        });
        let ordered = (1..self.slots.len()).all(|i| self.arrival(i - 1) <= self.arrival(i));
        chunks_ordered && first_covered && in_bounds && ordered
    }
}

/// Two logs are equal when they hold the same records, however chunked.
impl PartialEq for RecordLog {
    fn eq(&self, other: &Self) -> bool {
        self.dropped == other.dropped
            && self.len() == other.len()
            && (0..self.len()).all(|i| self.get(i) == other.get(i))
    }
}

impl Eq for RecordLog {}

impl ShardDataPlane {
    pub fn new(config: ShardConfig) -> Self {
        let now = config.created_ms;
        ShardDataPlane {
            config,
            records: RecordLog::default(),
            // Index 0 is the shard's StartingSequenceNumber; records start at
            // 1, so AFTER_SEQUENCE_NUMBER of the starting number reads the
            // first record.
            next_sequence_index: 1,
            write_bytes: TokenBucket::per_second(WRITE_BYTES_PER_SEC, now),
            write_records: TokenBucket::per_second(WRITE_RECORDS_PER_SEC, now),
            read_calls: TokenBucket::per_second(READ_CALLS_PER_SEC, now),
            read_bytes: DebtBucket::new(READ_BYTES_PER_SEC, now),
            iterator_calls: TokenBucket::per_second(ITERATOR_CALLS_PER_SEC, now),
            closed_ms: None,
            stats: ShardStats::default(),
        }
    }

    pub fn shard_index(&self) -> u32 {
        self.config.shard_index
    }

    /// The sequence index of the oldest retained record (the trim horizon);
    /// equal to `next_index` when nothing is retained.
    pub fn first_index(&self) -> u64 {
        self.next_sequence_index - self.records.len() as u64
    }

    /// The sequence index the next accepted record will get (LATEST).
    pub fn next_index(&self) -> u64 {
        self.next_sequence_index
    }

    pub fn closed_ms(&self) -> Option<u64> {
        self.closed_ms
    }

    pub fn retention_ms(&self) -> u64 {
        self.config.retention_ms
    }

    /// Closes the shard at `now_ms` (after a split or merge): it takes no
    /// more writes, and readers reach its end. Returns the
    /// `EndingSequenceNumber`.
    pub fn close(&mut self, now_ms: u64) -> SequenceNumber {
        self.closed_ms.get_or_insert(now_ms);
        self.ending_sequence_number()
            .unwrap_or_else(|| self.starting_sequence_number())
    }

    /// AWS's `EndingSequenceNumber` of a closed shard: the closing index
    /// with the closing time.
    pub fn ending_sequence_number(&self) -> Option<SequenceNumber> {
        self.closed_ms
            .map(|closed| self.sequence_number(crate::CLOSING_SEQUENCE_INDEX, closed))
    }

    /// A closed shard expires once its newest data has aged out: then it is
    /// no longer listed or readable.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        match self.closed_ms {
            Some(closed) => now_ms > closed.saturating_add(self.config.retention_ms),
            None => false,
        }
    }

    /// Changes the retention period. Records already past the old period
    /// stay gone (AWS: an increase does not bring data back); a decrease
    /// trims at once.
    pub fn set_retention(&mut self, retention_ms: u64, now_ms: u64) {
        self.expire(now_ms);
        self.config.retention_ms = retention_ms;
        self.expire(now_ms);
    }

    /// The sequence index of the first retained record that arrived at or
    /// after `at_ms`, or `next_index` if none has.
    pub fn index_at_timestamp(&self, at_ms: u64) -> u64 {
        self.first_index() + self.records.first_arrived_at(at_ms) as u64
    }

    /// Takes one GetShardIterator call from the shard's 5 calls/s.
    pub fn admit_iterator_call(&mut self, now_ms: u64) -> bool {
        if self.iterator_calls.has(1, now_ms) {
            self.iterator_calls.take(1);
            true
        } else {
            false
        }
    }

    /// One GetRecords call from sequence index `from`: at most `limit`
    /// records and 10 MiB, within the shard's read limits at `now_ms`.
    /// Records trimmed by retention are skipped (the position moves up to
    /// the trim horizon).
    pub fn read(
        &mut self,
        from: u64,
        limit: usize,
        now_ms: u64,
    ) -> Result<ReadResult, ReadRefusal> {
        if !(self.read_calls.has(1, now_ms) && self.read_bytes.positive(now_ms)) {
            return Err(ReadRefusal::Throttled);
        }
        self.read_calls.take(1);
        let batch = self.read_unlimited(from, limit, now_ms)?;
        self.read_bytes.take(batch.bytes());
        Ok(batch)
    }

    /// A read outside the shared read limits, and not charged to them: an
    /// enhanced fan-out consumer's (which has its own 2 MiB/s), or any read
    /// with limits switched off (load tests).
    pub fn read_unlimited(
        &mut self,
        from: u64,
        limit: usize,
        now_ms: u64,
    ) -> Result<ReadResult, ReadRefusal> {
        self.expire(now_ms);
        let first = self.first_index();
        let start = from.max(first);
        let offset = usize::try_from(start - first).unwrap_or(usize::MAX);
        let mut bytes = 0u64;
        let mut next_index = start.min(self.next_sequence_index);
        let mut records = Vec::new();
        for i in offset..self.records.len() {
            let Some((key, data, arrival_ms)) = self.records.get(i) else {
                break;
            };
            let size = (key.len() + data.len()) as u64;
            if records.len() >= limit.min(READ_MAX_RECORDS_PER_CALL)
                || (bytes + size > READ_MAX_BYTES_PER_CALL && !records.is_empty())
            {
                break;
            }
            bytes += size;
            next_index = first + i as u64 + 1;
            records.push(self.stored(first + i as u64, key, data, arrival_ms));
        }
        Ok(ReadResult {
            records,
            next_index,
            at_shard_end: self.closed_ms.is_some() && next_index >= self.next_sequence_index,
            next_arrival_ms: self.arrival_at(next_index),
        })
    }

    /// The record with sequence index `index`.
    fn stored(&self, index: u64, key: &[u8], data: &[u8], arrival_ms: u64) -> StoredRecord {
        StoredRecord {
            sequence_number: self.sequence_number(index, arrival_ms),
            // Keys were UTF-8 when stored.
            partition_key: String::from_utf8_lossy(key).into_owned(),
            data: data.to_vec(),
            arrival_ms,
        }
    }

    /// Arrival time of the record with sequence index `index`, if retained.
    pub fn arrival_at(&self, index: u64) -> Option<u64> {
        let offset = usize::try_from(index.checked_sub(self.first_index())?).ok()?;
        self.records.arrival(offset)
    }

    /// The stored record with sequence index `index`, if retained.
    pub fn record_at(&self, index: u64) -> Option<StoredRecord> {
        let offset = usize::try_from(index.checked_sub(self.first_index())?).ok()?;
        let (key, data, arrival_ms) = self.records.get(offset)?;
        Some(self.stored(index, key, data, arrival_ms))
    }

    pub fn config(&self) -> &ShardConfig {
        &self.config
    }

    pub fn stats(&self) -> &ShardStats {
        &self.stats
    }

    /// Every retained record, oldest first.
    pub fn records(&self) -> impl Iterator<Item = StoredRecord> + '_ {
        let first = self.first_index();
        (0..self.records.len()).filter_map(move |i| {
            let (key, data, arrival_ms) = self.records.get(i)?;
            Some(self.stored(first + i as u64, key, data, arrival_ms))
        })
    }

    /// Whether a restored shard hangs together: every record where its
    /// slot says, in arrival order, with room for its sequence indexes.
    pub fn check(&self) -> bool {
        self.records.check() && self.next_sequence_index > self.records.len() as u64
    }

    /// Heap bytes the retained records take: their keys and data, plus a
    /// fixed-size slot each and the unused tails of the byte chunks.
    pub fn record_heap_bytes(&self) -> u64 {
        self.records.heap_bytes()
    }

    /// Bytes of the retained records as stored: keys, data and slots,
    /// without spare capacity (so the same after a restore).
    pub fn record_bytes(&self) -> u64 {
        self.records.stored_bytes()
    }

    /// The sequence number of the record at `index` that arrived at
    /// `arrival_ms`.
    fn sequence_number(&self, index: u64, arrival_ms: u64) -> SequenceNumber {
        SequenceNumber {
            shard_created_secs: self.config.created_ms / 1000,
            shard_index: self.config.shard_index,
            sequence_index: index,
            arrival_secs: arrival_ms / 1000,
        }
    }

    /// The sequence number the shard's first record would get; AWS reports
    /// it as the shard's `StartingSequenceNumber`.
    pub fn starting_sequence_number(&self) -> SequenceNumber {
        let created_secs = self.config.created_ms / 1000;
        SequenceNumber {
            shard_created_secs: created_secs,
            shard_index: self.config.shard_index,
            sequence_index: 0,
            arrival_secs: created_secs,
        }
    }

    /// Applies one put, entry by entry: each record takes from the byte and
    /// record buckets at its arrival time or is throttled, as AWS does within
    /// a PutRecords request.
    pub fn put(&mut self, entry: PutRef<'_>) -> PutOutcome {
        let size = entry.size();
        let now = entry.arrival_ms;
        if !(self.write_records.has(1, now) && self.write_bytes.has(size, now)) {
            self.stats.records_throttled += 1;
            return PutOutcome::Throttled;
        }
        self.write_records.take(1);
        self.write_bytes.take(size);
        self.put_unlimited(entry)
    }

    /// A put without write limits (for load tests, with limits switched off).
    pub fn put_unlimited(&mut self, entry: PutRef<'_>) -> PutOutcome {
        let now = entry.arrival_ms;
        let size = entry.size();
        let sequence_number = self.sequence_number(self.next_sequence_index, now);
        self.next_sequence_index += 1;
        self.stats.records_accepted += 1;
        self.stats.bytes_accepted += size;
        self.stats.latest_sequence_number = Some(sequence_number);
        self.records
            .push(entry.partition_key.as_bytes(), entry.data, now);
        PutOutcome::Accepted(sequence_number)
    }

    /// Drops records older than the retention period at `now_ms`.
    pub fn expire(&mut self, now_ms: u64) {
        let horizon = now_ms.saturating_sub(self.config.retention_ms);
        self.records.expire_before(horizon);
        self.stats.records_retained = self.records.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane() -> ShardDataPlane {
        ShardDataPlane::new(ShardConfig {
            stream_name: "s".into(),
            shard_index: 2,
            hash_key_range: HashKeyRange::even_split(4)[2],
            created_ms: 1_000_000,
            retention_ms: DEFAULT_RETENTION_MS,
        })
    }

    fn entry(key: &str, len: usize, at: u64) -> PutEntry {
        PutEntry {
            partition_key: key.into(),
            data: vec![7; len],
            arrival_ms: at,
            made: None,
        }
    }

    #[test]
    fn sequence_numbers_increase_and_name_the_shard() {
        let mut p = plane();
        let mut last = p.starting_sequence_number();
        for i in 0..10 {
            match p.put(entry("k", 10, 1_000_000 + i * 300).as_put()) {
                PutOutcome::Accepted(seq) => {
                    assert!(seq >= last);
                    assert_eq!(seq.shard_index, 2);
                    last = seq;
                }
                PutOutcome::Throttled => panic!("not over the limit"),
            }
        }
        assert_eq!(p.stats().records_accepted, 10);
        assert_eq!(p.stats().latest_sequence_number, Some(last));
    }

    #[test]
    fn throttles_past_a_thousand_records_per_second() {
        let mut p = plane();
        let outcomes: Vec<_> = (0..1200)
            .map(|_| p.put(entry("k", 1, 1_000_000).as_put()))
            .collect();
        let accepted = outcomes
            .iter()
            .filter(|o| matches!(o, PutOutcome::Accepted(_)))
            .count();
        assert_eq!(accepted, 1000);
        assert!(matches!(outcomes[1000], PutOutcome::Throttled));
        assert_eq!(p.stats().records_throttled, 200);
    }

    #[test]
    fn throttles_past_a_mebibyte_per_second() {
        let mut p = plane();
        // 1 MiB including the one-byte key fits; the next byte does not.
        assert!(matches!(
            p.put(entry("k", 1024 * 1024 - 1, 1_000_000).as_put()),
            PutOutcome::Accepted(_)
        ));
        assert_eq!(
            p.put(entry("k", 0, 1_000_000).as_put()),
            PutOutcome::Throttled
        );
        // Half a second later half a mebibyte has come back.
        assert!(matches!(
            p.put(entry("k", 512 * 1024 - 1, 1_000_500).as_put()),
            PutOutcome::Accepted(_)
        ));
    }

    #[test]
    fn retention_drops_old_records() {
        let mut p = plane();
        p.put(entry("a", 1, 1_000_000).as_put());
        p.put(entry("b", 1, 1_000_000 + DEFAULT_RETENTION_MS).as_put());
        p.expire(1_000_001 + DEFAULT_RETENTION_MS);
        assert_eq!(p.records().count(), 1);
        assert_eq!(p.stats().records_retained, 1);
        assert_eq!(p.stats().records_accepted, 2);
    }

    #[test]
    fn shard_ids_are_twelve_digits() {
        assert_eq!(shard_id(0), "shardId-000000000000");
        assert_eq!(shard_id(17), "shardId-000000000017");
    }

    #[test]
    fn records_are_stored_compactly_and_read_back_whole() {
        let mut p = plane();
        // Small records share chunks; one bigger than a chunk gets its own.
        for i in 0..2000u64 {
            p.put_unlimited(entry(&format!("key-{i}"), 100, 1_000_000 + i).as_put());
        }
        p.put_unlimited(entry("big", 200 * 1024, 1_003_000).as_put());
        p.put_unlimited(entry("after", 3, 1_003_001).as_put());
        let all: Vec<StoredRecord> = p.records().collect();
        assert_eq!(all.len(), 2002);
        assert_eq!(all[7].partition_key, "key-7");
        assert_eq!(all[7].data, vec![7; 100]);
        assert_eq!(all[7].sequence_number.sequence_index, 8);
        assert_eq!(all[2000].data.len(), 200 * 1024);
        assert_eq!(all[2001].partition_key, "after");
        assert_eq!(p.record_at(2002).unwrap(), all[2001]);
        assert_eq!(p.arrival_at(2002), Some(1_003_001));
        assert!(p.check());
    }

    #[test]
    fn a_record_costs_at_most_32_bytes_beyond_its_key_and_data() {
        assert_eq!(std::mem::size_of::<Slot>(), 16);
        // The benchmark's records: 16-byte keys, 100-byte data. The slot
        // deque's spare capacity and the chunks' unused tails come on top
        // of the 16-byte slot.
        let mut p = plane();
        for n in [10_000u64, 100_000, 300_000] {
            while p.next_index() <= n {
                let i = p.next_index();
                p.put_unlimited(entry(&format!("{i:016}"), 100, 1_000_000 + i / 1000).as_put());
            }
            let overhead = (p.record_heap_bytes() - n * 116) as f64 / n as f64;
            assert!(
                overhead <= 32.0,
                "{overhead} bytes per record at {n} records"
            );
        }
    }

    #[test]
    fn expiry_frees_whole_chunks() {
        let mut p = plane();
        for i in 0..5000u64 {
            p.put_unlimited(entry("k", 100, 1_000_000 + i).as_put());
        }
        let full = p.record_heap_bytes();
        // Keep the last 1,000 records.
        p.expire(1_004_000 + DEFAULT_RETENTION_MS);
        assert_eq!(p.records().count(), 1000);
        assert_eq!(p.first_index(), 4001);
        assert!(
            p.record_heap_bytes() < full / 2,
            "{} of {full}",
            p.record_heap_bytes()
        );
        // Everything gone: the newest chunk stays for the next record.
        p.expire(2_000_000 + DEFAULT_RETENTION_MS);
        assert_eq!(p.records().count(), 0);
        assert_eq!(p.first_index(), p.next_index());
        p.put_unlimited(entry("again", 1, 2_000_000 + DEFAULT_RETENTION_MS).as_put());
        assert_eq!(p.records().next().unwrap().partition_key, "again");
        assert!(p.check());
    }

    #[test]
    fn a_shard_that_does_not_hang_together_is_refused() {
        let mut p = plane();
        p.put_unlimited(entry("k", 10, 1_000_000).as_put());
        let mut bad = p.clone();
        bad.records.slots[0].offset = 1 << 30;
        assert!(!bad.check());
        // Reading it gives nothing rather than a panic.
        assert_eq!(bad.records().next().unwrap().data, Vec::<u8>::new());
        let mut bad = p.clone();
        bad.next_sequence_index = 0;
        assert!(!bad.check());
    }
}
