//! Opaque tokens: shard iterators and ListShards `NextToken`s.
//!
//! A shard iterator starts with the 8 bytes `00 00 00 00 00 00 00 01`, as
//! AWS's do, followed by the stream's name and creation time, the shard,
//! the position (a sequence index) and the time it was issued, sealed with
//! a keyed MD5 tag so that an edited or invented iterator is refused with
//! `Invalid ShardIterator.` rather than read from. Base64, well under the
//! 512-character limit for any stream name.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use md5_many::{Digest, Md5};

const ITERATOR_MAGIC: [u8; 8] = [0, 0, 0, 0, 0, 0, 0, 1];
const TAG_LEN: usize = 8;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IteratorToken {
    pub stream_name: String,
    pub stream_created_ms: u64,
    pub shard_index: u32,
    /// The sequence index the next GetRecords starts at.
    pub position: u64,
    pub issued_ms: u64,
}

fn tag(secret: u64, payload: &[u8]) -> [u8; TAG_LEN] {
    let mut h = Md5::new();
    h.update(secret.to_be_bytes());
    h.update(payload);
    let digest = h.finalize();
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&digest[..TAG_LEN]);
    out
}

fn seal(secret: u64, payload: Vec<u8>) -> String {
    let mut bytes = payload;
    let t = tag(secret, &bytes);
    bytes.extend_from_slice(&t);
    STANDARD.encode(bytes)
}

fn open(secret: u64, token: &str) -> Option<Vec<u8>> {
    let bytes = STANDARD.decode(token).ok()?;
    if bytes.len() < TAG_LEN {
        return None;
    }
    let (payload, t) = bytes.split_at(bytes.len() - TAG_LEN);
    (tag(secret, payload) == t).then(|| payload.to_vec())
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
}

impl IteratorToken {
    pub fn encode(&self, secret: u64) -> String {
        let mut p = Vec::with_capacity(40 + self.stream_name.len());
        p.extend_from_slice(&ITERATOR_MAGIC);
        p.extend_from_slice(&self.stream_created_ms.to_be_bytes());
        p.extend_from_slice(&self.shard_index.to_be_bytes());
        p.extend_from_slice(&self.position.to_be_bytes());
        p.extend_from_slice(&self.issued_ms.to_be_bytes());
        p.extend_from_slice(self.stream_name.as_bytes());
        seal(secret, p)
    }

    pub fn decode(token: &str, secret: u64) -> Option<IteratorToken> {
        let payload = open(secret, token)?;
        let mut r = Reader(&payload);
        if r.take(8)? != ITERATOR_MAGIC {
            return None;
        }
        let stream_created_ms = r.u64()?;
        let shard_index = r.u32()?;
        let position = r.u64()?;
        let issued_ms = r.u64()?;
        let stream_name = String::from_utf8(r.0.to_vec()).ok()?;
        Some(IteratorToken {
            stream_name,
            stream_created_ms,
            shard_index,
            position,
            issued_ms,
        })
    }
}

/// A ListShards `NextToken`: where the listing goes on, for which stream,
/// and when it was issued (tokens expire after 300 seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListShardsToken {
    pub stream_name: String,
    pub stream_created_ms: u64,
    /// List shards with an index above this one.
    pub after_shard_index: u32,
    pub max_results: u32,
    pub issued_ms: u64,
}

impl ListShardsToken {
    pub fn encode(&self, secret: u64) -> String {
        let mut p = Vec::new();
        p.extend_from_slice(b"LS1");
        p.extend_from_slice(&self.stream_created_ms.to_be_bytes());
        p.extend_from_slice(&self.after_shard_index.to_be_bytes());
        p.extend_from_slice(&self.max_results.to_be_bytes());
        p.extend_from_slice(&self.issued_ms.to_be_bytes());
        p.extend_from_slice(self.stream_name.as_bytes());
        seal(secret, p)
    }

    pub fn decode(token: &str, secret: u64) -> Option<ListShardsToken> {
        let payload = open(secret, token)?;
        let mut r = Reader(&payload);
        if r.take(3)? != b"LS1" {
            return None;
        }
        let stream_created_ms = r.u64()?;
        let after_shard_index = r.u32()?;
        let max_results = r.u32()?;
        let issued_ms = r.u64()?;
        let stream_name = String::from_utf8(r.0.to_vec()).ok()?;
        Some(ListShardsToken {
            stream_name,
            stream_created_ms,
            after_shard_index,
            max_results,
            issued_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterators_round_trip_and_refuse_tampering() {
        let t = IteratorToken {
            stream_name: "clickstream".into(),
            stream_created_ms: 1_767_225_600_000,
            shard_index: 3,
            position: 42,
            issued_ms: 1_767_225_601_000,
        };
        let s = t.encode(7);
        assert!(s.len() <= 512);
        assert!(STANDARD.decode(&s).unwrap().starts_with(&ITERATOR_MAGIC));
        assert_eq!(IteratorToken::decode(&s, 7), Some(t.clone()));
        assert_eq!(IteratorToken::decode(&s, 8), None);
        let mut bytes = STANDARD.decode(&s).unwrap();
        bytes[20] ^= 1;
        assert_eq!(IteratorToken::decode(&STANDARD.encode(bytes), 7), None);
        assert_eq!(IteratorToken::decode("not an iterator", 7), None);
        let long = IteratorToken {
            stream_name: "a".repeat(128),
            ..t
        };
        assert!(long.encode(7).len() <= 512);
    }
}
