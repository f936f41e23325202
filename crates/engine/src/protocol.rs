//! The messages between the coordinator and a shard host, as bytes.
//!
//! In the browser shards live in Web Workers and these messages cross
//! threads as transferred `ArrayBuffer`s: one [`ShardBatch`] per worker per
//! tick, holding every shard operation of that tick for the shards the
//! worker hosts, in order. Natively the in-process host passes the same
//! bytes to the same [`ShardServer`]. Encoding both ways with postcard means
//! the two hosts run identical code from the bytes onward.

use serde::{Deserialize, Serialize};

use crate::store::{LocalShards, ShardKey, ShardOp, ShardOpResult, ShardStore};

/// One tick's operations for one host, in the order they must run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardBatch {
    pub ops: Vec<(ShardKey, ShardOp)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardBatchReply {
    /// One result per operation, in the batch's order.
    Results(Vec<ShardOpResult>),
    /// The batch could not be served; the text says why.
    Failed { reason: String },
}

impl ShardBatch {
    pub fn encode(&self) -> Vec<u8> {
        // Encoding plain data into a Vec cannot fail.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

impl ShardBatchReply {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

/// Serves encoded batches for the shards one host keeps: what runs inside
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

    pub fn handle_bytes(&mut self, request: &[u8]) -> Vec<u8> {
        let reply = match ShardBatch::decode(request) {
            Ok(batch) => ShardBatchReply::Results(self.shards.run(batch.ops)),
            Err(e) => ShardBatchReply::Failed {
                reason: format!("undecodable shard batch: {e}"),
            },
        };
        reply.encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::{PutEntry, PutOutcome, ShardConfig};
    use crate::{HashKeyRange, DEFAULT_RETENTION_MS};

    #[test]
    fn serves_encoded_batches() {
        let mut server = ShardServer::new();
        let key = ShardKey {
            stream: 1,
            shard_index: 1,
        };
        let batch = ShardBatch {
            ops: vec![
                (
                    key,
                    ShardOp::Open(ShardConfig {
                        stream_name: "s".into(),
                        shard_index: 1,
                        hash_key_range: HashKeyRange::even_split(2)[1],
                        created_ms: 0,
                        retention_ms: DEFAULT_RETENTION_MS,
                    }),
                ),
                (
                    key,
                    ShardOp::Put {
                        entries: vec![PutEntry {
                            partition_key: "k".into(),
                            data: b"hello".to_vec(),
                            arrival_ms: 5,
                        }],
                        enforce: true,
                    },
                ),
                (
                    ShardKey {
                        stream: 9,
                        shard_index: 9,
                    },
                    ShardOp::Stats,
                ),
            ],
        };
        let reply = ShardBatchReply::decode(&server.handle_bytes(&batch.encode())).unwrap();
        match reply {
            ShardBatchReply::Results(r) => {
                assert_eq!(r[0], ShardOpResult::Done);
                assert!(
                    matches!(&r[1], ShardOpResult::Put(o) if matches!(o[..], [PutOutcome::Accepted(_)]))
                );
                assert_eq!(r[2], ShardOpResult::Missing);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(server.shards().get(&key).unwrap().stats().bytes_accepted, 6);
    }

    #[test]
    fn bad_bytes_get_a_failure_reply_not_a_panic() {
        let mut server = ShardServer::new();
        let reply = ShardBatchReply::decode(&server.handle_bytes(&[0xff, 0xff, 0xff])).unwrap();
        assert!(matches!(reply, ShardBatchReply::Failed { .. }));
    }
}
