//! The messages between the coordinator and a shard host, as bytes.
//!
//! In the browser a shard lives in a Web Worker and these messages cross
//! threads as transferred `ArrayBuffer`s, one per shard per tick; natively
//! the in-process host passes the same bytes to the same `ShardServer`.
//! Encoding both ways with postcard means the two hosts run identical code
//! from the bytes onward.

use serde::{Deserialize, Serialize};

use crate::shard::{PutEntry, PutOutcome, ShardConfig, ShardDataPlane, ShardStats};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardRequest {
    /// Creates the shard's data plane (first message to a host).
    Open(ShardConfig),
    /// One tick's records for the shard, in the order they arrived, and the
    /// virtual time at the end of the tick (for retention).
    Put { now_ms: u64, entries: Vec<PutEntry> },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardReply {
    Opened {
        shard_index: u32,
    },
    Put {
        shard_index: u32,
        outcomes: Vec<PutOutcome>,
        stats: ShardStats,
    },
    /// The request could not be served; the text says why.
    Failed {
        reason: String,
    },
}

impl ShardRequest {
    pub fn encode(&self) -> Vec<u8> {
        // Encoding plain data into a Vec cannot fail.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

impl ShardReply {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

/// Serves encoded requests for one shard: what runs inside a shard worker.
#[derive(Default)]
pub struct ShardServer {
    plane: Option<ShardDataPlane>,
}

impl ShardServer {
    pub fn new() -> Self {
        ShardServer::default()
    }

    pub fn plane(&self) -> Option<&ShardDataPlane> {
        self.plane.as_ref()
    }

    pub fn handle_bytes(&mut self, request: &[u8]) -> Vec<u8> {
        let reply = match ShardRequest::decode(request) {
            Ok(request) => self.handle(request),
            Err(e) => ShardReply::Failed {
                reason: format!("undecodable shard request: {e}"),
            },
        };
        reply.encode()
    }

    pub fn handle(&mut self, request: ShardRequest) -> ShardReply {
        match request {
            ShardRequest::Open(config) => {
                let shard_index = config.shard_index;
                self.plane = Some(ShardDataPlane::new(config));
                ShardReply::Opened { shard_index }
            }
            ShardRequest::Put { now_ms, entries } => match self.plane.as_mut() {
                None => ShardReply::Failed {
                    reason: "Put before Open".into(),
                },
                Some(plane) => {
                    let outcomes = entries.into_iter().map(|e| plane.put(e)).collect();
                    plane.expire(now_ms);
                    ShardReply::Put {
                        shard_index: plane.config().shard_index,
                        outcomes,
                        stats: plane.stats().clone(),
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HashKeyRange, DEFAULT_RETENTION_MS};

    #[test]
    fn serves_encoded_requests() {
        let mut server = ShardServer::new();
        let open = ShardRequest::Open(ShardConfig {
            stream_name: "s".into(),
            shard_index: 1,
            hash_key_range: HashKeyRange::even_split(2)[1],
            created_ms: 0,
            retention_ms: DEFAULT_RETENTION_MS,
        });
        let reply = ShardReply::decode(&server.handle_bytes(&open.encode())).unwrap();
        assert_eq!(reply, ShardReply::Opened { shard_index: 1 });
        let put = ShardRequest::Put {
            now_ms: 5,
            entries: vec![PutEntry {
                partition_key: "k".into(),
                data: b"hello".to_vec(),
                arrival_ms: 5,
            }],
        };
        match ShardReply::decode(&server.handle_bytes(&put.encode())).unwrap() {
            ShardReply::Put {
                outcomes, stats, ..
            } => {
                assert!(matches!(outcomes[..], [PutOutcome::Accepted(_)]));
                assert_eq!(stats.records_accepted, 1);
                assert_eq!(stats.bytes_accepted, 6);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bad_bytes_get_a_failure_reply_not_a_panic() {
        let mut server = ShardServer::new();
        let reply = ShardReply::decode(&server.handle_bytes(&[0xff, 0xff, 0xff])).unwrap();
        assert!(matches!(reply, ShardReply::Failed { .. }));
        let put = ShardRequest::Put {
            now_ms: 0,
            entries: vec![],
        };
        let reply = ShardReply::decode(&server.handle_bytes(&put.encode())).unwrap();
        assert!(matches!(reply, ShardReply::Failed { .. }));
    }
}
