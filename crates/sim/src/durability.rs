//! Durability of shard hosts: snapshot + log, kept by the coordinator.
//!
//! AWS keeps every acknowledged record in three availability zones, so a
//! lost machine loses nothing. Here a shard host (a Web Worker) may die:
//! terminated, or an error inside it. A host's state is a pure function of
//! the batches it ran, so the coordinator keeps, per host, a [`Journal`]:
//! the last checkpoint the host sent and every non-empty batch acknowledged
//! since. A replacement host restores the checkpoint, replays the log, and
//! proves it reached the lost host's state by the digest of the replayed
//! results; then the batch that was in flight is sent again. A record is
//! acknowledged only after its batch's reply, so every acknowledged record
//! is in the checkpoint or the log.
//!
//! A checkpoint is requested once the log holds twice what the host keeps
//! (and at least [`MIN_CHECKPOINT_BYTES`]). While nothing expires the log
//! is about the host's state, so no checkpoint is taken at all and each
//! acknowledged byte is copied once, into the log. Once retention drops
//! records (or throttled puts and reads fill the log), a checkpoint
//! replaces the log: the journal stays within about three times the host's
//! state, and each logged byte costs at most half a byte of checkpoint.
//! (Checkpointing whenever the log reached the last checkpoint's size cost
//! 45% of the shard workers' ingest rate, measured in Chromium.)

use shardlab_engine::protocol::{
    chain_digest, decode_results, ByteBuf, HostReply, HostReplyIn, HostRequest, RunRequest,
    ShardBatch, ShardBatchReply, DIGEST_START,
};

use crate::SimError;

/// No checkpoint is requested before the log holds this many bytes.
pub const MIN_CHECKPOINT_BYTES: usize = 256 * 1024;

/// Counters the UI shows per host.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JournalStats {
    pub checkpoints: u64,
    pub checkpoint_bytes: u64,
    pub log_batches: u64,
    pub log_bytes: u64,
    pub recoveries: u64,
    /// Operations this host ran, all time (its load).
    pub ops: u64,
    /// What the host holds, as it last said (bytes of its records).
    pub state_bytes: u64,
}

/// What the coordinator keeps to rebuild one shard host.
#[derive(Default)]
pub struct Journal {
    checkpoint: Option<Vec<u8>>,
    /// The requests acknowledged since, each holding its encoded batch.
    log: Vec<RunRequest>,
    log_bytes: usize,
    /// Chain of the logged batches' result digests.
    chain: u64,
    /// The request sent and not yet acknowledged, and its op count.
    in_flight: Option<(RunRequest, usize)>,
    /// What the host said it holds, in its last reply.
    state_bytes: u64,
    checkpoints: u64,
    recoveries: u64,
    ops: u64,
}

impl Journal {
    pub fn new() -> Self {
        Journal {
            chain: DIGEST_START,
            ..Journal::default()
        }
    }

    /// Keeps the request that runs `batch` on the host until its reply is
    /// accepted, and returns its bytes to send (also
    /// [`Journal::in_flight`]).
    pub fn run_request(&mut self, batch: &ShardBatch) -> &[u8] {
        let ops = batch.ops.len();
        let wanted = usize::try_from(self.state_bytes.saturating_mul(2))
            .unwrap_or(usize::MAX)
            .max(MIN_CHECKPOINT_BYTES);
        let log_bytes = self.log_bytes;
        let request = RunRequest::new(batch, |size| ops > 0 && log_bytes + size >= wanted);
        self.in_flight.insert((request, ops)).0.bytes()
    }

    /// The request sent and not yet acknowledged.
    pub fn in_flight(&self) -> Option<&[u8]> {
        self.in_flight.as_ref().map(|(r, _)| r.bytes())
    }

    /// The in-flight request again, for a replacement host.
    pub fn resend_request(&self) -> Option<Vec<u8>> {
        self.in_flight
            .as_ref()
            .map(|(request, _)| request.without_checkpoint())
    }

    /// Accepts the host's reply to the in-flight batch: the batch is now
    /// acknowledged and logged (or covered by the checkpoint it brought).
    pub fn accept(&mut self, reply: &[u8]) -> Result<ShardBatchReply, SimError> {
        let reply = HostReplyIn::decode(reply)
            .map_err(|e| SimError::Host(format!("undecodable shard host reply: {e}")))?;
        let (request, ops) = self
            .in_flight
            .take()
            .ok_or_else(|| SimError::Host("a shard host replied to nothing".into()))?;
        match reply {
            HostReplyIn::Ran {
                results,
                digest,
                checkpoint,
                state_bytes,
            } => {
                self.state_bytes = state_bytes;
                let results = decode_results(results)
                    .map_err(|e| SimError::Host(format!("undecodable shard results: {e}")))?;
                self.ops += ops as u64;
                if let Some(snapshot) = checkpoint {
                    self.checkpoint = Some(snapshot);
                    self.log.clear();
                    self.log_bytes = 0;
                    self.chain = DIGEST_START;
                    self.checkpoints += 1;
                } else if ops > 0 {
                    self.chain = chain_digest(self.chain, digest);
                    self.log_bytes += request.batch().len();
                    self.log.push(request);
                }
                Ok(ShardBatchReply::Results(results))
            }
            HostReplyIn::Failed { reason } => Ok(ShardBatchReply::Failed { reason }),
            HostReplyIn::Restored { .. } => Err(SimError::Host(
                "a shard host answered a batch with a restore".into(),
            )),
        }
    }

    /// The request that turns a fresh host into the lost one.
    pub fn restore_request(&self) -> Vec<u8> {
        HostRequest::Restore {
            snapshot: self.checkpoint.clone(),
            replay: self
                .log
                .iter()
                .map(|r| ByteBuf::from(r.batch().to_vec()))
                .collect(),
        }
        .encode()
    }

    /// Checks a replacement host's answer to `restore_request`.
    pub fn check_restored(&mut self, reply: &[u8]) -> Result<(), SimError> {
        match HostReply::decode(reply) {
            Ok(HostReply::Restored { replay_digest, .. }) if replay_digest == self.chain => {
                self.recoveries += 1;
                Ok(())
            }
            Ok(HostReply::Restored { .. }) => Err(SimError::Host(
                "a restored shard host replayed its log to a different state".into(),
            )),
            Ok(HostReply::Failed { reason }) => Err(SimError::Host(format!(
                "a shard host could not be restored: {reason}"
            ))),
            Ok(other) => Err(SimError::Host(format!(
                "unexpected answer to a restore: {other:?}"
            ))),
            Err(e) => Err(SimError::Host(format!("undecodable restore reply: {e}"))),
        }
    }

    pub fn stats(&self) -> JournalStats {
        JournalStats {
            checkpoints: self.checkpoints,
            checkpoint_bytes: self.checkpoint.as_ref().map_or(0, Vec::len) as u64,
            log_batches: self.log.len() as u64,
            log_bytes: self.log_bytes as u64,
            recoveries: self.recoveries,
            ops: self.ops,
            state_bytes: self.state_bytes,
        }
    }
}
