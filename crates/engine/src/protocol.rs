//! The messages between the coordinator and a shard host, as bytes.
//!
//! In the browser shards live in Web Workers and these messages cross
//! threads as transferred `ArrayBuffer`s: one [`HostRequest::Run`] per
//! worker per tick, holding every shard operation of that tick for the
//! shards the worker hosts, in order. Natively the in-process host passes
//! the same bytes to the same [`ShardServer`]. Encoding both ways with
//! postcard means the two hosts run identical code from the bytes onward.
//!
//! Durability is snapshot + log: a host's state is a pure function of the
//! batches it ran, so the coordinator keeps the last checkpoint a host sent
//! ([`HostRequest::Run`] with `checkpoint`) and every batch acknowledged
//! since. A host that dies is replaced by a fresh one that restores the
//! checkpoint and replays the log ([`HostRequest::Restore`]); the digest of
//! the replayed replies proves it reached the state the lost host had.

use serde::{Deserialize, Serialize};
pub use serde_bytes::ByteBuf;

use crate::fnv::{fnv1a64_extend, FNV_OFFSET};
use crate::made::Made;
use crate::shard::PutOutcome;
use crate::store::{LocalShards, ShardKey, ShardOp, ShardOpIn, ShardOpResult};
use crate::SequenceNumber;

/// One tick's operations for one host, in the order they must run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardBatch {
    pub ops: Vec<(ShardKey, ShardOp)>,
}

/// A [`ShardBatch`] as a host decodes it, its puts borrowed from the bytes.
#[derive(Debug, Deserialize)]
struct ShardBatchIn<'a> {
    #[serde(borrow)]
    ops: Vec<(ShardKey, ShardOpIn<'a>)>,
}

/// A host's answer to one batch, as the simulation consumes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardBatchReply {
    /// One result per operation, in the batch's order.
    Results(Vec<ShardOpResult>),
    /// The batch could not be served; the text says why.
    Failed { reason: String },
}

/// What the coordinator sends a shard host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostRequest {
    /// Run an encoded [`ShardBatch`]. With `checkpoint`, the reply also
    /// carries a snapshot of every shard the host keeps, taken after it.
    Run {
        #[serde(with = "serde_bytes")]
        batch: Vec<u8>,
        checkpoint: bool,
    },
    /// Become the host that a checkpoint (none: an empty host) plus the
    /// encoded batches acknowledged since describe: a respawned host.
    Restore {
        #[serde(with = "serde_bytes")]
        snapshot: Option<Vec<u8>>,
        replay: Vec<ByteBuf>,
    },
    /// Fail on purpose, as a crashed machine would: the durability lesson's
    /// "kill worker" control and the tests use it.
    Crash,
}

/// A [`HostRequest`] as a host decodes it: a batch stays in the request's
/// bytes. The variants must stay in `HostRequest`'s order.
#[derive(Debug, Deserialize)]
enum HostRequestIn<'a> {
    Run {
        #[serde(borrow)]
        batch: &'a [u8],
        checkpoint: bool,
    },
    Restore {
        #[serde(with = "serde_bytes")]
        snapshot: Option<Vec<u8>>,
        replay: Vec<ByteBuf>,
    },
    Crash,
}

/// An encoded [`HostRequest::Run`], written in one pass: the batch is
/// encoded straight into the request (encoding it first and then the
/// request around it copied every batch twice more: 12% of a
/// fast-forward, profiled natively), after room for the longest length
/// prefix, which is written in front of it once its length is known (a
/// first pass to measure the batch took a third of the encoding, profiled
/// in Chromium). The journal keeps it as it is.
#[derive(Clone, Debug)]
pub struct RunRequest {
    bytes: Vec<u8>,
    /// Where the request starts in `bytes`.
    first: usize,
    /// Where the encoded batch lies in `bytes`.
    batch: std::ops::Range<usize>,
}

/// The variant index and the longest varint (a `u64`'s, 10 bytes).
const RUN_HEAD: usize = 11;

impl RunRequest {
    /// The request for `batch`; `checkpoint` is asked with the batch's
    /// encoded size.
    pub fn new(batch: &ShardBatch, checkpoint: impl FnOnce(usize) -> bool) -> RunRequest {
        // Room for the whole request, as a put's entries encode to their
        // bytes and at most 16 more (two lengths and a time).
        let (put_bytes, entries) = batch.puts();
        let estimate = RUN_HEAD + put_bytes as usize + 16 * entries + 32 * batch.ops.len() + 8;
        let mut bytes = Vec::with_capacity(estimate);
        bytes.resize(RUN_HEAD, 0);
        encode_batch(batch, &mut bytes);
        let end = bytes.len();
        // `HostRequest::Run`'s variant index, then the batch's length, as
        // postcard writes them (varints), just before the batch.
        let mut prefix = [0u8; RUN_HEAD];
        let len = 1 + write_varint(&mut prefix[1..], (end - RUN_HEAD) as u64);
        let first = RUN_HEAD - len;
        bytes[first..RUN_HEAD].copy_from_slice(&prefix[..len]);
        bytes.push(u8::from(checkpoint(end - RUN_HEAD)));
        RunRequest {
            bytes,
            first,
            batch: RUN_HEAD..end,
        }
    }

    /// The whole request, as sent.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[self.first..]
    }

    /// The encoded batch.
    pub fn batch(&self) -> &[u8] {
        &self.bytes[self.batch.clone()]
    }

    /// The same batch, without asking for a checkpoint (sent again to a
    /// replacement host).
    pub fn without_checkpoint(&self) -> Vec<u8> {
        let mut bytes = self.bytes().to_vec();
        if let Some(last) = bytes.last_mut() {
            *last = 0;
        }
        bytes
    }
}

/// Writes `n` as postcard's varint at the start of `out` (room for 10
/// bytes), and returns how many bytes it took.
fn write_varint(out: &mut [u8], mut n: u64) -> usize {
    let mut at = 0;
    while n >= 0x80 {
        out[at] = (n as u8) | 0x80;
        n >>= 7;
        at += 1;
    }
    out[at] = n as u8;
    at + 1
}

/// `ShardOp::Put`'s variant index, as postcard writes it.
const PUT_VARIANT: u64 = 1;

/// Appends `batch` to `out` exactly as `postcard::to_extend` would, with
/// its puts written here: through serde, postcard's serializer took a
/// seventh of the coordinator's time in a fast-forward (profiled in
/// Chromium), most of it on the entries' integers. Other operations go
/// through postcard. A test holds the bytes to postcard's.
fn encode_batch(batch: &ShardBatch, out: &mut Vec<u8>) {
    push_varint(out, batch.ops.len() as u64);
    for (key, op) in &batch.ops {
        push_varint(out, key.stream);
        push_varint(out, u64::from(key.shard_index));
        let ShardOp::Put { entries, enforce } = op else {
            *out = postcard::to_extend(op, std::mem::take(out)).unwrap_or_default();
            continue;
        };
        push_varint(out, PUT_VARIANT);
        push_varint(out, entries.len() as u64);
        for e in entries {
            push_varint(out, e.partition_key.len() as u64);
            out.extend_from_slice(e.partition_key.as_bytes());
            push_varint(out, e.data.len() as u64);
            out.extend_from_slice(&e.data);
            push_varint(out, e.arrival_ms);
            match &e.made {
                None => out.push(0),
                Some(Made { key, event: m }) => {
                    out.push(1);
                    match key {
                        None => out.push(0),
                        Some(k) => {
                            out.push(1);
                            out.extend_from_slice(&k.0);
                        }
                    }
                    push_varint(out, m.event_id);
                    push_varint(out, u64::from(m.user));
                    out.extend_from_slice(&[m.page, m.action]);
                    push_varint(out, m.event_ms);
                    push_varint(out, u64::from(m.pad_to));
                }
            }
        }
        out.push(u8::from(*enforce));
    }
}

fn push_varint(out: &mut Vec<u8>, n: u64) {
    let mut buf = [0u8; 10];
    let len = write_varint(&mut buf, n);
    out.extend_from_slice(&buf[..len]);
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostReply {
    Ran {
        /// The batch's `Vec<ShardOpResult>`, encoded once: the digest is
        /// taken over these bytes (see [`decode_results`]).
        results: ByteBuf,
        /// [`results_digest`] of `results`.
        digest: u64,
        #[serde(with = "serde_bytes")]
        checkpoint: Option<Vec<u8>>,
        /// What the host holds after the batch (bytes of its retained
        /// records): the coordinator checkpoints once its log outgrows it.
        state_bytes: u64,
    },
    Restored {
        shards: u32,
        /// [`chain_digest`] over the replayed batches' result digests.
        replay_digest: u64,
    },
    /// The request could not be served; the text says why.
    Failed { reason: String },
}

/// A [`HostReply`] as the coordinator decodes it: the results stay in the
/// reply's bytes. The variants must stay in `HostReply`'s order.
#[derive(Debug, Deserialize)]
pub enum HostReplyIn<'a> {
    Ran {
        #[serde(borrow)]
        results: &'a [u8],
        digest: u64,
        #[serde(with = "serde_bytes")]
        checkpoint: Option<Vec<u8>>,
        state_bytes: u64,
    },
    Restored {
        shards: u32,
        replay_digest: u64,
    },
    Failed {
        reason: String,
    },
}

impl<'a> HostReplyIn<'a> {
    pub fn decode(bytes: &'a [u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

/// An encoded [`HostReply::Ran`], written in one pass: the results are
/// encoded straight into the reply, after room for the longest length
/// prefix (which is written once their length is known, and the room left
/// over dropped), and their digest taken there.
fn ran_reply(results: &[ShardOpResult], checkpoint: Option<Vec<u8>>, state_bytes: u64) -> Vec<u8> {
    let tail = checkpoint.as_ref().map_or(0, Vec::len) + 32;
    let mut bytes = Vec::with_capacity(RUN_HEAD + results_estimate(results) + tail);
    bytes.resize(RUN_HEAD, 0);
    write_results(results, &mut bytes);
    // `HostReply::Ran`'s variant index, then the results' length.
    let mut prefix = [0u8; RUN_HEAD];
    let len = 1 + write_varint(&mut prefix[1..], (bytes.len() - RUN_HEAD) as u64);
    bytes[RUN_HEAD - len..RUN_HEAD].copy_from_slice(&prefix[..len]);
    bytes.drain(..RUN_HEAD - len);
    let digest = results_digest(&bytes[len..]);
    let rest = (
        digest,
        checkpoint.as_deref().map(serde_bytes::Bytes::new),
        state_bytes,
    );
    postcard::to_extend(&rest, bytes).unwrap_or_default()
}

/// The digest chain's starting value (FNV-1a's offset basis).
pub const DIGEST_START: u64 = FNV_OFFSET;

/// A fingerprint of one batch's encoded results (XXH3, 64 bits): a
/// replayed host must reproduce it. Internal to the journal, so not part
/// of any run digest; XXH3 rather than FNV-1a because the results carry
/// every record consumers read (FNV-1a over them was 5% of a fast-forward).
pub fn results_digest(encoded: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(encoded)
}

/// Encodes into a buffer of the exact size, measured first: growing a Vec
/// from empty reallocates and copies a batch of records several times
/// (11% of a fast-forward, profiled natively). Encoding plain data into a
/// Vec cannot fail.
fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let size =
        postcard::serialize_with_flavor(value, postcard::ser_flavors::Size::default()).unwrap_or(0);
    postcard::to_extend(value, Vec::with_capacity(size)).unwrap_or_default()
}

fn encode_results(results: &[ShardOpResult]) -> Vec<u8> {
    let mut out = Vec::with_capacity(results_estimate(results));
    write_results(results, &mut out);
    out
}

/// About what `results` take encoded, to reserve room for them: a put
/// outcome takes about 16 bytes as sequence numbers run (up to 36), a
/// print up to 10; more than reserved only costs the vector a regrowth.
fn results_estimate(results: &[ShardOpResult]) -> usize {
    results
        .iter()
        .map(|r| match r {
            ShardOpResult::Put(o) => 8 + 26 * o.len(),
            ShardOpResult::PutMade { outcomes, .. } => 16 + 36 * outcomes.len(),
            ShardOpResult::Read(read) => 32 + read.bytes() as usize + 48 * read.records.len(),
            _ => 32,
        })
        .sum::<usize>()
        + 10
}

/// Appends `results` to `out` exactly as `postcard::to_extend` would, with
/// the puts' outcomes written here (see `decode_results`; through serde
/// they were a quarter of a shard worker's time, profiled in Chromium).
/// Other results go through postcard. A test holds the bytes to postcard's.
fn write_results(results: &[ShardOpResult], out: &mut Vec<u8>) {
    push_varint(out, results.len() as u64);
    for result in results {
        match result {
            ShardOpResult::Put(outcomes) => {
                push_varint(out, PUT_RESULT);
                write_outcomes(outcomes, out);
            }
            ShardOpResult::PutMade { outcomes, prints } => {
                push_varint(out, PUT_MADE_RESULT);
                write_outcomes(outcomes, out);
                push_varint(out, prints.len() as u64);
                for &print in prints {
                    push_varint(out, print);
                }
            }
            other => *out = postcard::to_extend(other, std::mem::take(out)).unwrap_or_default(),
        }
    }
}

/// A list of put outcomes, as postcard writes `Vec<PutOutcome>`.
fn write_outcomes(outcomes: &[PutOutcome], out: &mut Vec<u8>) {
    push_varint(out, outcomes.len() as u64);
    for outcome in outcomes {
        match outcome {
            PutOutcome::Accepted(seq) => {
                out.push(0);
                push_varint(out, seq.shard_created_secs);
                push_varint(out, u64::from(seq.shard_index));
                push_varint(out, seq.sequence_index);
                push_varint(out, seq.arrival_secs);
            }
            PutOutcome::Throttled => out.push(1),
        }
    }
}

/// The results a [`HostReply::Ran`] carries, decoded as postcard decodes
/// them (`postcard::from_bytes`), with the puts' outcomes read here: a put
/// has one per record, and through serde they took the coordinator a
/// fifteenth of a fast-forward (profiled in Chromium). Other results go
/// through postcard. A test holds this to postcard.
pub fn decode_results(encoded: &[u8]) -> Result<Vec<ShardOpResult>, postcard::Error> {
    let (n, mut rest) = take_varint(encoded)?;
    // Every result takes at least a byte.
    let mut out = Vec::with_capacity(n.min(rest.len() as u64) as usize);
    for _ in 0..n {
        let (variant, after) = take_varint(rest)?;
        let result = match variant {
            PUT_RESULT => {
                let (outcomes, after) = take_outcomes(after)?;
                rest = after;
                ShardOpResult::Put(outcomes)
            }
            PUT_MADE_RESULT => {
                let (outcomes, after) = take_outcomes(after)?;
                let (count, mut after) = take_varint(after)?;
                let mut prints = Vec::with_capacity(count.min(after.len() as u64) as usize);
                for _ in 0..count {
                    let (print, next) = take_varint(after)?;
                    prints.push(print);
                    after = next;
                }
                rest = after;
                ShardOpResult::PutMade { outcomes, prints }
            }
            _ => {
                let (result, after) = postcard::take_from_bytes(rest)?;
                rest = after;
                result
            }
        };
        out.push(result);
    }
    Ok(out)
}

/// `ShardOpResult::Put`'s and `ShardOpResult::PutMade`'s variant indexes.
const PUT_RESULT: u64 = 1;
const PUT_MADE_RESULT: u64 = 8;

/// A list of put outcomes, as postcard writes `Vec<PutOutcome>`.
fn take_outcomes(bytes: &[u8]) -> Result<(Vec<PutOutcome>, &[u8]), postcard::Error> {
    let (count, mut rest) = take_varint(bytes)?;
    let mut outcomes = Vec::with_capacity(count.min(rest.len() as u64) as usize);
    for _ in 0..count {
        let (variant, after) = take_varint(rest)?;
        rest = after;
        outcomes.push(match variant {
            0 => {
                let (shard_created_secs, after) = take_varint(rest)?;
                let (shard_index, after) = take_varint(after)?;
                let (sequence_index, after) = take_varint(after)?;
                let (arrival_secs, after) = take_varint(after)?;
                rest = after;
                PutOutcome::Accepted(SequenceNumber {
                    shard_created_secs,
                    shard_index: u32::try_from(shard_index)
                        .map_err(|_| postcard::Error::DeserializeBadVarint)?,
                    sequence_index,
                    arrival_secs,
                })
            }
            1 => PutOutcome::Throttled,
            _ => return Err(postcard::Error::DeserializeBadEnum),
        });
    }
    Ok((outcomes, rest))
}

/// A varint (a `u64`'s at most), and what follows it.
fn take_varint(bytes: &[u8]) -> Result<(u64, &[u8]), postcard::Error> {
    let mut n = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        n |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            // The tenth byte holds the top bit only.
            if i == 9 && b > 1 {
                return Err(postcard::Error::DeserializeBadVarint);
            }
            return Ok((n, &bytes[i + 1..]));
        }
    }
    Err(if bytes.len() < 10 {
        postcard::Error::DeserializeUnexpectedEnd
    } else {
        postcard::Error::DeserializeBadVarint
    })
}

/// Extends a chain of result digests by one batch's.
pub fn chain_digest(chain: u64, digest: u64) -> u64 {
    fnv1a64_extend(chain, &digest.to_le_bytes())
}

impl ShardBatch {
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes(bytes)
    }

    /// Bytes of the records it puts as they travel: keys and data, or
    /// keys and recipes for records the host makes.
    pub fn put_bytes(&self) -> u64 {
        self.puts().0
    }

    /// Bytes of the records it puts as they travel, and how many.
    fn puts(&self) -> (u64, usize) {
        let mut total = (0, 0);
        for (_, op) in &self.ops {
            if let ShardOp::Put { entries, .. } = op {
                total.0 += entries
                    .iter()
                    .map(|e| {
                        let recipe = e.made.as_ref().map_or(0, |m| m.encoded_len());
                        (e.partition_key.len() + e.data.len() + recipe) as u64
                    })
                    .sum::<u64>();
                total.1 += entries.len();
            }
        }
        total
    }
}

impl ShardBatchReply {
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

impl HostRequest {
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

impl HostReply {
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

/// A host was asked to crash ([`HostRequest::Crash`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrashRequested;

/// Serves encoded requests for the shards one host keeps: what runs inside
/// a shard worker.
#[derive(Default)]
pub struct ShardServer {
    shards: LocalShards,
}

impl ShardServer {
    pub fn new() -> Self {
        ShardServer::default()
    }

    pub fn shards(&self) -> &LocalShards {
        &self.shards
    }

    /// Runs one encoded batch and returns its results.
    fn run_batch(&mut self, batch: &[u8]) -> Result<Vec<ShardOpResult>, String> {
        let batch: ShardBatchIn =
            postcard::from_bytes(batch).map_err(|e| format!("undecodable shard batch: {e}"))?;
        Ok(self.shards.run_in(batch.ops))
    }

    /// Serves one encoded [`HostRequest`] and returns the encoded
    /// [`HostReply`]; bad bytes get a `Failed` reply, never a panic.
    pub fn handle_bytes(&mut self, request: &[u8]) -> Result<Vec<u8>, CrashRequested> {
        let reply = match postcard::from_bytes::<HostRequestIn>(request) {
            Err(e) => HostReply::Failed {
                reason: format!("undecodable host request: {e}"),
            },
            Ok(HostRequestIn::Crash) => return Err(CrashRequested),
            Ok(HostRequestIn::Run { batch, checkpoint }) => match self.run_batch(batch) {
                Ok(results) => {
                    return Ok(ran_reply(
                        &results,
                        checkpoint.then(|| encode(&self.shards)),
                        self.shards.record_bytes(),
                    ))
                }
                Err(reason) => HostReply::Failed { reason },
            },
            Ok(HostRequestIn::Restore { snapshot, replay }) => self.restore(snapshot, &replay),
        };
        Ok(reply.encode())
    }

    fn restore(&mut self, snapshot: Option<Vec<u8>>, replay: &[ByteBuf]) -> HostReply {
        self.shards = match snapshot {
            None => LocalShards::new(),
            Some(bytes) => match postcard::from_bytes::<LocalShards>(&bytes) {
                Ok(shards) if shards.check() => shards,
                Ok(_) => {
                    return HostReply::Failed {
                        reason: "the checkpoint does not hang together".into(),
                    }
                }
                Err(e) => {
                    return HostReply::Failed {
                        reason: format!("undecodable checkpoint: {e}"),
                    }
                }
            },
        };
        let mut replay_digest = DIGEST_START;
        for batch in replay {
            match self.run_batch(batch) {
                Ok(results) => {
                    replay_digest =
                        chain_digest(replay_digest, results_digest(&encode_results(&results)))
                }
                Err(reason) => return HostReply::Failed { reason },
            }
        }
        HostReply::Restored {
            shards: self.shards.len() as u32,
            replay_digest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::{PutEntry, PutOutcome, ShardConfig};
    use crate::{HashKeyRange, DEFAULT_RETENTION_MS};

    fn key(i: u32) -> ShardKey {
        ShardKey {
            stream: 1,
            shard_index: i,
        }
    }

    fn open(i: u32) -> (ShardKey, ShardOp) {
        (
            key(i),
            ShardOp::Open(ShardConfig {
                stream_name: "s".into(),
                shard_index: i,
                hash_key_range: HashKeyRange::even_split(2)[i as usize],
                created_ms: 0,
                retention_ms: DEFAULT_RETENTION_MS,
            }),
        )
    }

    fn put(i: u32, data: &str, at: u64) -> (ShardKey, ShardOp) {
        (
            key(i),
            ShardOp::Put {
                entries: vec![PutEntry {
                    partition_key: "k".into(),
                    data: data.as_bytes().to_vec(),
                    arrival_ms: at,
                    made: None,
                }],
                enforce: true,
            },
        )
    }

    fn run(server: &mut ShardServer, ops: Vec<(ShardKey, ShardOp)>, checkpoint: bool) -> HostReply {
        let request = HostRequest::Run {
            batch: ShardBatch { ops }.encode(),
            checkpoint,
        };
        HostReply::decode(&server.handle_bytes(&request.encode()).unwrap()).unwrap()
    }

    /// Every kind of operation, with a put big enough for multi-byte
    /// lengths.
    fn every_op() -> Vec<(ShardKey, ShardOp)> {
        let mut big = put(1, &"x".repeat(70_000), 7);
        if let ShardOp::Put { entries, .. } = &mut big.1 {
            entries.push(PutEntry {
                partition_key: "ключ".into(),
                data: vec![0, 255, 1],
                arrival_ms: 8,
                made: None,
            });
        }
        vec![
            open(1),
            big,
            (
                key(1),
                ShardOp::Read {
                    from: 3,
                    limit: 10,
                    now_ms: 9,
                    enforce: true,
                },
            ),
            (
                key(1),
                ShardOp::Position {
                    at: crate::store::Position::AtTimestamp(4),
                    now_ms: 9,
                    charge: false,
                },
            ),
            (key(1), ShardOp::Close { now_ms: 10 }),
            (
                key(1),
                ShardOp::SetRetention {
                    retention_ms: 5,
                    now_ms: 11,
                },
            ),
            (key(1), ShardOp::Stats),
            (key(1), ShardOp::Census { now_ms: 12 }),
            (key(1), ShardOp::Drop),
        ]
    }

    /// The one-pass reply is the reply encoded the plain way, and the
    /// coordinator's borrowed decoding reads it.
    #[test]
    fn one_pass_replies_match_the_plain_encoding() {
        let mut server = ShardServer::new();
        let results = server
            .shards
            .run_in(every_op().iter().map(|(k, op)| (*k, op.as_in())).collect());
        for checkpoint in [None, Some(vec![1, 2, 3]), Some(vec![9; 300])] {
            let encoded = encode_results(&results);
            let plain = HostReply::Ran {
                digest: results_digest(&encoded),
                results: ByteBuf::from(encoded.clone()),
                checkpoint: checkpoint.clone(),
                state_bytes: 70_123,
            }
            .encode();
            let one_pass = ran_reply(&results, checkpoint.clone(), 70_123);
            assert_eq!(one_pass, plain);
            match HostReplyIn::decode(&one_pass).unwrap() {
                HostReplyIn::Ran {
                    results: r,
                    digest,
                    checkpoint: c,
                    state_bytes,
                } => {
                    assert_eq!(r, &encoded[..]);
                    assert_eq!(digest, results_digest(&encoded));
                    assert_eq!(c, checkpoint);
                    assert_eq!(state_bytes, 70_123);
                }
                other => panic!("{other:?}"),
            }
        }
        let restored = HostReply::Restored {
            shards: 3,
            replay_digest: 77,
        }
        .encode();
        assert!(matches!(
            HostReplyIn::decode(&restored).unwrap(),
            HostReplyIn::Restored {
                shards: 3,
                replay_digest: 77
            }
        ));
        let failed = HostReply::Failed {
            reason: "why".into(),
        }
        .encode();
        assert!(
            matches!(HostReplyIn::decode(&failed).unwrap(), HostReplyIn::Failed { reason } if reason == "why")
        );
    }

    /// A host decodes what the coordinator encodes: the one-pass request
    /// is the request encoded the plain way, and the borrowed operations
    /// are the operations sent.
    #[test]
    fn one_pass_requests_and_borrowed_operations_match_the_plain_encoding() {
        let batch = ShardBatch { ops: every_op() };
        for checkpoint in [false, true] {
            let mut asked = None;
            let request = RunRequest::new(&batch, |size| {
                asked = Some(size);
                checkpoint
            });
            let plain = HostRequest::Run {
                batch: batch.encode(),
                checkpoint,
            }
            .encode();
            assert_eq!(request.bytes(), &plain[..]);
            assert_eq!(request.batch(), &batch.encode()[..]);
            assert_eq!(asked, Some(batch.encode().len()));
            assert_eq!(request.bytes().last(), Some(&u8::from(checkpoint)));
            assert_eq!(
                request.without_checkpoint(),
                HostRequest::Run {
                    batch: batch.encode(),
                    checkpoint: false
                }
                .encode()
            );
        }
        let bytes = batch.encode();
        let decoded: ShardBatchIn = postcard::from_bytes(&bytes).unwrap();
        let sent: Vec<(ShardKey, ShardOpIn)> =
            batch.ops.iter().map(|(k, op)| (*k, op.as_in())).collect();
        assert_eq!(decoded.ops, sent);
    }

    /// Results are written and read by hand as postcard writes and reads
    /// them: every kind of result, puts' outcomes with numbers of every
    /// length; and bad bytes are refused, not misread.
    #[test]
    fn results_are_written_and_read_as_postcard_does() {
        let mut server = ShardServer::new();
        let mut results = server
            .shards
            .run_in(every_op().iter().map(|(k, op)| (*k, op.as_in())).collect());
        let seq = |n: u64| SequenceNumber {
            shard_created_secs: n,
            shard_index: n as u32,
            sequence_index: n / 7,
            arrival_secs: u64::MAX - n,
        };
        let numbers = [0u64, 127, 128, 16_384, u32::MAX as u64, u64::MAX];
        results.push(ShardOpResult::PutMade {
            outcomes: numbers
                .iter()
                .map(|&n| PutOutcome::Accepted(seq(n)))
                .chain([PutOutcome::Throttled])
                .collect(),
            prints: numbers.iter().copied().chain([0]).collect(),
        });
        results.push(ShardOpResult::Put(vec![
            PutOutcome::Throttled,
            PutOutcome::Accepted(seq(300)),
        ]));
        results.push(ShardOpResult::Missing);
        assert!(results.iter().any(|r| matches!(r, ShardOpResult::Read(_))));
        let encoded = encode_results(&results);
        assert_eq!(encoded, postcard::to_allocvec(&results).unwrap());
        assert_eq!(decode_results(&encoded).unwrap(), results);
        assert_eq!(
            decode_results(&encoded).unwrap(),
            postcard::from_bytes::<Vec<ShardOpResult>>(&encoded).unwrap()
        );
        // Cut anywhere, the bytes are refused.
        for cut in 0..encoded.len() {
            assert!(decode_results(&encoded[..cut]).is_err(), "cut at {cut}");
        }
        // A varint too long for a u64, and a put outcome that is neither.
        let mut long = vec![1, 1, 1, 0x80];
        long.extend([0xff; 8]);
        long.push(0x7f);
        assert!(decode_results(&long).is_err());
        assert!(decode_results(&[1, 1, 1, 2]).is_err());
    }

    /// Batches are written by hand as postcard writes them: every kind of
    /// operation, puts of bytes and of recipes, numbers of every length.
    #[test]
    fn batches_are_encoded_as_postcard_encodes_them() {
        let mut ops = every_op();
        let mut made = put(2, "", u64::MAX);
        if let ShardOp::Put { entries, enforce } = &mut made.1 {
            *enforce = false;
            for (i, n) in [0u64, 127, 128, 16_383, 16_384, u64::MAX]
                .into_iter()
                .enumerate()
            {
                entries.push(PutEntry {
                    partition_key: "k".repeat(i * 60),
                    data: Vec::new(),
                    arrival_ms: n,
                    made: Some(Made {
                        key: (i % 2 == 1).then_some(crate::made::UuidKey([i as u8; 16])),
                        event: crate::made::Clickstream {
                            event_id: n,
                            user: n as u32,
                            page: i as u8,
                            action: 255,
                            event_ms: n / 3,
                            pad_to: (n >> 40) as u32,
                        },
                    }),
                });
            }
        }
        ops.push(made);
        ops.push((
            ShardKey {
                stream: u64::MAX,
                shard_index: u32::MAX,
            },
            ShardOp::Stats,
        ));
        let batch = ShardBatch { ops };
        let mut mine = vec![9];
        encode_batch(&batch, &mut mine);
        assert_eq!(mine[0], 9);
        assert_eq!(mine[1..], postcard::to_allocvec(&batch).unwrap()[..]);
    }

    /// A request is written into the room reserved for it: no copy as it
    /// grows, and little to spare, as the journal keeps it.
    #[test]
    fn a_run_request_fits_the_room_it_reserves() {
        // Records sent as bytes, then records the host makes (whose
        // recipes travel, not the bytes they stand for).
        for made in [false, true] {
            let entries: Vec<PutEntry> = (0..1_000u64)
                .map(|i| PutEntry {
                    partition_key: format!("{i:036}"),
                    data: if made {
                        Vec::new()
                    } else {
                        vec![b'x'; 100 + (i % 50) as usize]
                    },
                    arrival_ms: 1_764_000_000_000 + i,
                    made: made.then_some(Made {
                        key: None,
                        event: crate::made::Clickstream {
                            event_id: i * 1_000_000_007,
                            user: (i % 5_000) as u32,
                            page: (i % 6) as u8,
                            action: (i % 4) as u8,
                            event_ms: 1_764_000_000_000 + i,
                            pad_to: 0,
                        },
                    }),
                })
                .collect();
            let batch = ShardBatch {
                ops: vec![(
                    key(1),
                    ShardOp::Put {
                        entries,
                        enforce: true,
                    },
                )],
            };
            let request = RunRequest::new(&batch, |_| false);
            // Had it outgrown the room, the vector would have doubled; and
            // little room is left over (the estimate allows 16 bytes for
            // an entry's lengths and time), as the journal keeps it.
            let room = request.bytes.capacity();
            assert!(
                request.bytes.len() * 100 >= room * 85,
                "{} of {room} (made: {made})",
                request.bytes.len()
            );
        }
    }

    #[test]
    fn serves_encoded_batches() {
        let mut server = ShardServer::new();
        let missing = ShardKey {
            stream: 9,
            shard_index: 9,
        };
        let reply = run(
            &mut server,
            vec![open(1), put(1, "hello", 5), (missing, ShardOp::Stats)],
            false,
        );
        match reply {
            HostReply::Ran {
                results,
                digest,
                checkpoint,
                ..
            } => {
                assert_eq!(digest, results_digest(&results));
                let results = decode_results(&results).unwrap();
                assert_eq!(results[0], ShardOpResult::Done);
                assert!(
                    matches!(&results[1], ShardOpResult::Put(o) if matches!(o[..], [PutOutcome::Accepted(_)]))
                );
                assert_eq!(results[2], ShardOpResult::Missing);
                assert_eq!(checkpoint, None);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            server.shards().get(&key(1)).unwrap().stats().bytes_accepted,
            6
        );
    }

    #[test]
    fn a_restored_host_equals_the_lost_one() {
        // The lost host: a checkpoint after the second batch, two more after.
        let mut lost = ShardServer::new();
        run(&mut lost, vec![open(0), open(1), put(0, "a", 10)], false);
        let checkpoint = match run(&mut lost, vec![put(1, "b", 20)], true) {
            HostReply::Ran {
                checkpoint: Some(c),
                ..
            } => c,
            other => panic!("no checkpoint: {other:?}"),
        };
        let mut log = Vec::new();
        let mut chain = DIGEST_START;
        for ops in [
            vec![put(0, "c", 30), put(1, "d", 30)],
            vec![
                put(0, "e", 40),
                (
                    key(1),
                    ShardOp::Read {
                        from: 0,
                        limit: 10,
                        now_ms: 40,
                        enforce: true,
                    },
                ),
            ],
        ] {
            let batch = ShardBatch { ops }.encode();
            let request = HostRequest::Run {
                batch: batch.clone(),
                checkpoint: false,
            };
            match HostReply::decode(&lost.handle_bytes(&request.encode()).unwrap()).unwrap() {
                HostReply::Ran { digest, .. } => chain = chain_digest(chain, digest),
                other => panic!("unexpected {other:?}"),
            }
            log.push(batch);
        }
        let mut fresh = ShardServer::new();
        let restore = HostRequest::Restore {
            snapshot: Some(checkpoint),
            replay: log.into_iter().map(ByteBuf::from).collect(),
        };
        let reply = HostReply::decode(&fresh.handle_bytes(&restore.encode()).unwrap()).unwrap();
        assert_eq!(
            reply,
            HostReply::Restored {
                shards: 2,
                replay_digest: chain
            }
        );
        // Every record, sequence number and throughput bucket is back.
        assert_eq!(fresh.shards(), lost.shards());
        // And both answer the next batch identically.
        let next = vec![put(0, "f", 50), put(1, "g", 50)];
        assert_eq!(
            run(&mut fresh, next.clone(), false),
            run(&mut lost, next, false)
        );
    }

    #[test]
    fn crash_is_reported_to_the_worker() {
        let mut server = ShardServer::new();
        assert_eq!(
            server.handle_bytes(&HostRequest::Crash.encode()),
            Err(CrashRequested)
        );
    }

    #[test]
    fn bad_bytes_get_a_failure_reply_not_a_panic() {
        let mut server = ShardServer::new();
        for bad in [
            vec![0xff, 0xff, 0xff],
            HostRequest::Run {
                batch: vec![0xff, 0xff],
                checkpoint: true,
            }
            .encode(),
            HostRequest::Restore {
                snapshot: Some(vec![0xff, 0x01]),
                replay: vec![],
            }
            .encode(),
        ] {
            let reply = HostReply::decode(&server.handle_bytes(&bad).unwrap()).unwrap();
            assert!(matches!(reply, HostReply::Failed { .. }), "{reply:?}");
        }
    }
}
