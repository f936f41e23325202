//! FNV-1a, 64-bit: a stable, dependency-free hash for names, run digests
//! and the durability digest chain, the same on every host; and XXH3 folds
//! for the per-record parts of a run digest.

/// FNV-1a's offset basis: the hash of nothing.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a of `bytes`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    fnv1a64_extend(FNV_OFFSET, bytes)
}

/// Folds bytes into a run digest: XXH3 of them, seeded with the digest so
/// far (so the order counts). For the per-record folds of a run, where
/// FNV-1a's byte-at-a-time multiply chain cost a fifth of a fast-forward.
pub fn fold_bytes(digest: u64, bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(bytes, digest)
}

/// Folds one number into a run digest (see `fold_bytes`).
pub fn fold64(digest: u64, v: u64) -> u64 {
    fold_bytes(digest, &v.to_le_bytes())
}

/// Continues an FNV-1a hash with more bytes.
pub fn fnv1a64_extend(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    #[test]
    fn reference_value() {
        assert_eq!(super::fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
