//! The 128-bit hash-key space and how records are routed across it.
//!
//! Kinesis maps every record to an unsigned 128-bit integer: the MD5 of the
//! partition key's UTF-8 bytes read big-endian, or the `ExplicitHashKey` when
//! the producer gives one. Each open shard owns a contiguous, inclusive range
//! of that space; a new stream of N shards splits it evenly, the last shard
//! taking the remainder.

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
use md5_many::Md5Many;
use serde::{Deserialize, Serialize};
use std::fmt;
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
use std::sync::OnceLock;

use crate::ApiError;

/// The largest hash key, 2^128 - 1.
pub const MAX_HASH_KEY: u128 = u128::MAX;

/// A position in the hash-key space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HashKey(pub u128);

impl HashKey {
    /// The hash key Kinesis derives from a partition key: MD5 of its UTF-8
    /// bytes as a big-endian unsigned integer.
    pub fn from_partition_key(partition_key: &str) -> HashKey {
        HashKey(u128::from_be_bytes(md5_many::md5(partition_key.as_bytes())))
    }

    /// The hash keys of many partition keys (as UTF-8 bytes) at once, in
    /// order. MD5s of independent keys run side by side in SIMD lanes (8 or
    /// 16 wide natively with `md5-many`, 2 × 4 in wasm with
    /// [`crate::md5_lanes`]), several times faster per key than one at a
    /// time: what a PutRecords of up to 500 entries needs.
    pub fn from_partition_keys(partition_keys: &[&[u8]]) -> Vec<HashKey> {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        let digests = {
            use crate::md5_lanes::{hash_many, Two, V};
            hash_many::<Two<V>>(partition_keys)
        };
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        let digests = {
            static ENGINE: OnceLock<Md5Many> = OnceLock::new();
            let engine = *ENGINE.get_or_init(Md5Many::new);
            let mut digests = vec![[0u8; 16]; partition_keys.len()];
            engine.hash_many(partition_keys, &mut digests);
            digests
        };
        digests
            .into_iter()
            .map(|d| HashKey(u128::from_be_bytes(d)))
            .collect()
    }

    /// Parses an `ExplicitHashKey`: a decimal string matching `0|([1-9]\d{0,38})`
    /// whose value is below 2^128, with AWS's error otherwise.
    pub fn parse_explicit(value: &str) -> Result<HashKey, ApiError> {
        let well_formed = !value.is_empty()
            && value.len() <= 39
            && value.bytes().all(|b| b.is_ascii_digit())
            && (value == "0" || !value.starts_with('0'));
        if !well_formed {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{value}' at 'explicitHashKey' failed to \
                 satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{{0,38}})"
            )));
        }
        value.parse::<u128>().map(HashKey).map_err(|_| {
            ApiError::invalid_argument(format!(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. \
                 Specified value was {value}"
            ))
        })
    }
}

impl fmt::Display for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An inclusive range of hash keys owned by one shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashKeyRange {
    pub starting_hash_key: HashKey,
    pub ending_hash_key: HashKey,
}

impl HashKeyRange {
    pub fn contains(&self, key: HashKey) -> bool {
        self.starting_hash_key <= key && key <= self.ending_hash_key
    }

    /// The ranges CreateStream gives N shards: width `floor(2^128 / N)`, the
    /// last shard ending at 2^128 - 1. `shard_count` must be at least 1.
    pub fn even_split(shard_count: u32) -> Vec<HashKeyRange> {
        let n = u128::from(shard_count.max(1));
        if n == 1 {
            // floor(2^128 / 1) does not fit in 128 bits.
            return vec![HashKeyRange {
                starting_hash_key: HashKey(0),
                ending_hash_key: HashKey(MAX_HASH_KEY),
            }];
        }
        // floor(2^128 / n) computed without 2^128: (2^128 - 1) / n, plus one
        // when n divides 2^128 exactly (n is a power of two).
        let width = MAX_HASH_KEY / n + u128::from(MAX_HASH_KEY % n == n - 1);
        (0..n)
            .map(|i| HashKeyRange {
                starting_hash_key: HashKey(i * width),
                ending_hash_key: HashKey(if i == n - 1 {
                    MAX_HASH_KEY
                } else {
                    (i + 1) * width - 1
                }),
            })
            .collect()
    }
}

/// Finds which of `ranges` holds `key`. The open shards of a stream cover the
/// whole space without overlap, so exactly one matches.
pub fn route(ranges: &[HashKeyRange], key: HashKey) -> Option<usize> {
    // Ranges are sorted by starting key; binary search keeps routing
    // O(log shards) for the large streams of later lessons.
    let idx = ranges.partition_point(|r| r.starting_hash_key <= key);
    idx.checked_sub(1).filter(|&i| ranges[i].contains(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> u128 {
        s.parse().unwrap()
    }

    #[test]
    fn three_shards_split_like_aws() {
        // Values from the AWS-verified kinesalite CreateStream test.
        let r = HashKeyRange::even_split(3);
        assert_eq!(r[0].starting_hash_key.0, 0);
        assert_eq!(
            r[0].ending_hash_key.0,
            dec("113427455640312821154458202477256070484")
        );
        assert_eq!(
            r[1].starting_hash_key.0,
            dec("113427455640312821154458202477256070485")
        );
        assert_eq!(
            r[1].ending_hash_key.0,
            dec("226854911280625642308916404954512140969")
        );
        assert_eq!(
            r[2].starting_hash_key.0,
            dec("226854911280625642308916404954512140970")
        );
        assert_eq!(r[2].ending_hash_key.0, MAX_HASH_KEY);
    }

    #[test]
    fn power_of_two_split_is_exact() {
        let r = HashKeyRange::even_split(4);
        assert_eq!(r[1].starting_hash_key.0, 1u128 << 126);
        assert_eq!(r[3].starting_hash_key.0, 3u128 << 126);
        let one = HashKeyRange::even_split(1);
        assert_eq!(one[0].starting_hash_key.0, 0);
        assert_eq!(one[0].ending_hash_key.0, MAX_HASH_KEY);
    }

    #[test]
    fn splits_cover_the_space_without_gaps() {
        for n in 1..=64 {
            let r = HashKeyRange::even_split(n);
            assert_eq!(r.len(), n as usize);
            assert_eq!(r[0].starting_hash_key.0, 0);
            assert_eq!(r.last().unwrap().ending_hash_key.0, MAX_HASH_KEY);
            for w in r.windows(2) {
                assert_eq!(w[0].ending_hash_key.0 + 1, w[1].starting_hash_key.0);
            }
        }
    }

    #[test]
    fn md5_of_partition_key() {
        assert_eq!(
            HashKey::from_partition_key("a").0,
            dec("16955237001963240173058271559858726497")
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// The batched, SIMD hashing agrees with RustCrypto's `md-5`, one
        /// key at a time, for batches of every size up to a PutRecords' 500
        /// and keys of every length up to 256 characters, multi-byte too.
        #[test]
        fn batched_md5_matches_md5_one_at_a_time(
            keys in proptest::collection::vec("\\PC{1,256}|[0-9a-f]{1,40}", 0..500)
        ) {
            use md5::{Digest, Md5};
            let bytes: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
            let batched = HashKey::from_partition_keys(&bytes);
            proptest::prop_assert_eq!(batched.len(), keys.len());
            for (k, h) in keys.iter().zip(&batched) {
                let mut want = [0u8; 16];
                want.copy_from_slice(&Md5::digest(k.as_bytes()));
                proptest::prop_assert_eq!(h.0, u128::from_be_bytes(want));
                proptest::prop_assert_eq!(HashKey::from_partition_key(k), *h);
            }
        }
    }

    #[test]
    fn routes_reference_keys_on_three_shards() {
        let r = HashKeyRange::even_split(3);
        let shard = |k: &str| route(&r, HashKey::from_partition_key(k)).unwrap();
        assert_eq!(shard("a"), 0);
        assert_eq!(shard("b"), 1);
        assert_eq!(shard("e"), 2);
        assert_eq!(shard("f"), 1);
    }

    #[test]
    fn routes_explicit_hash_key_boundaries() {
        let r = HashKeyRange::even_split(3);
        let w = MAX_HASH_KEY / 3;
        assert_eq!(route(&r, HashKey(MAX_HASH_KEY)), Some(2));
        assert_eq!(route(&r, HashKey(2 * w - 1)), Some(1));
        assert_eq!(route(&r, HashKey(2 * w)), Some(2));
        assert_eq!(route(&r, HashKey(0)), Some(0));
    }

    #[test]
    fn explicit_hash_key_validation() {
        assert_eq!(HashKey::parse_explicit("0").unwrap().0, 0);
        assert_eq!(
            HashKey::parse_explicit("340282366920938463463374607431768211455")
                .unwrap()
                .0,
            MAX_HASH_KEY
        );
        let too_big =
            HashKey::parse_explicit("340282366920938463463374607431768211456").unwrap_err();
        assert_eq!(too_big.name(), "InvalidArgumentException");
        assert_eq!(
            too_big.message(),
            "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. \
             Specified value was 340282366920938463463374607431768211456"
        );
        for bad in [
            "",
            "01",
            "-1",
            "1a",
            "9999999999999999999999999999999999999999",
        ] {
            assert_eq!(
                HashKey::parse_explicit(bad).unwrap_err().name(),
                "ValidationException",
                "{bad:?}"
            );
        }
    }
}
