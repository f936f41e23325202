//! MD5 of many short partition keys side by side, for WebAssembly.
//!
//! Natively, `md5-many` hashes a PutRecords' keys in AVX2/AVX-512 lanes.
//! In the browser its portable path was slower than hashing one key at a
//! time (137 vs 105 ns per 16-byte key in V8, measured), so wasm uses this
//! kernel instead: keys of up to 55 bytes fit one padded 64-byte block,
//! and eight of them run as two interleaved 4-lane `simd128` vectors
//! (49 ns per key, measured the same way). Longer keys take the scalar
//! path. The kernel is generic over its lanes, so native tests run the
//! same code on plain arrays and check it against `md-5`.

/// The sines table of RFC 1321.
const K: [u32; 64] = [
    0xd76a_a478,
    0xe8c7_b756,
    0x2420_70db,
    0xc1bd_ceee,
    0xf57c_0faf,
    0x4787_c62a,
    0xa830_4613,
    0xfd46_9501,
    0x6980_98d8,
    0x8b44_f7af,
    0xffff_5bb1,
    0x895c_d7be,
    0x6b90_1122,
    0xfd98_7193,
    0xa679_438e,
    0x49b4_0821,
    0xf61e_2562,
    0xc040_b340,
    0x265e_5a51,
    0xe9b6_c7aa,
    0xd62f_105d,
    0x0244_1453,
    0xd8a1_e681,
    0xe7d3_fbc8,
    0x21e1_cde6,
    0xc337_07d6,
    0xf4d5_0d87,
    0x455a_14ed,
    0xa9e3_e905,
    0xfcef_a3f8,
    0x676f_02d9,
    0x8d2a_4c8a,
    0xfffa_3942,
    0x8771_f681,
    0x6d9d_6122,
    0xfde5_380c,
    0xa4be_ea44,
    0x4bde_cfa9,
    0xf6bb_4b60,
    0xbebf_bc70,
    0x289b_7ec6,
    0xeaa1_27fa,
    0xd4ef_3085,
    0x0488_1d05,
    0xd9d4_d039,
    0xe6db_99e5,
    0x1fa2_7cf8,
    0xc4ac_5665,
    0xf429_2244,
    0x432a_ff97,
    0xab94_23a7,
    0xfc93_a039,
    0x655b_59c3,
    0x8f0c_cc92,
    0xffef_f47d,
    0x8584_5dd1,
    0x6fa8_7e4f,
    0xfe2c_e6e0,
    0xa301_4314,
    0x4e08_11a1,
    0xf753_7e82,
    0xbd3a_f235,
    0x2ad7_d2bb,
    0xeb86_d391,
];
/// Rotation per step, four per round.
const S: [u32; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
/// The longest message that fits one block with its padding.
pub const MAX_ONE_BLOCK: usize = 55;

/// A vector of `N` independent 32-bit words.
pub trait Lanes: Copy {
    const N: usize;
    fn splat(x: u32) -> Self;
    fn from_lanes(x: &[u32]) -> Self;
    fn store(self, out: &mut [u32]);
    fn add(self, o: Self) -> Self;
    fn and(self, o: Self) -> Self;
    fn or(self, o: Self) -> Self;
    fn xor(self, o: Self) -> Self;
    fn not(self) -> Self;
    fn rotl(self, s: u32) -> Self;
}

/// Plain words: the reference lanes the tests run.
impl Lanes for [u32; 4] {
    const N: usize = 4;
    fn splat(x: u32) -> Self {
        [x; 4]
    }
    fn from_lanes(x: &[u32]) -> Self {
        [x[0], x[1], x[2], x[3]]
    }
    fn store(self, out: &mut [u32]) {
        out[..4].copy_from_slice(&self);
    }
    fn add(self, o: Self) -> Self {
        std::array::from_fn(|i| self[i].wrapping_add(o[i]))
    }
    fn and(self, o: Self) -> Self {
        std::array::from_fn(|i| self[i] & o[i])
    }
    fn or(self, o: Self) -> Self {
        std::array::from_fn(|i| self[i] | o[i])
    }
    fn xor(self, o: Self) -> Self {
        std::array::from_fn(|i| self[i] ^ o[i])
    }
    fn not(self) -> Self {
        self.map(|x| !x)
    }
    fn rotl(self, s: u32) -> Self {
        self.map(|x| x.rotate_left(s))
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    use core::arch::wasm32::*;

    /// Four lanes in one `v128`.
    #[derive(Clone, Copy)]
    pub struct V(v128);

    impl super::Lanes for V {
        const N: usize = 4;
        #[inline(always)]
        fn splat(x: u32) -> Self {
            V(u32x4_splat(x))
        }
        #[inline(always)]
        fn from_lanes(x: &[u32]) -> Self {
            V(u32x4(x[0], x[1], x[2], x[3]))
        }
        #[inline(always)]
        fn store(self, out: &mut [u32]) {
            out[0] = u32x4_extract_lane::<0>(self.0);
            out[1] = u32x4_extract_lane::<1>(self.0);
            out[2] = u32x4_extract_lane::<2>(self.0);
            out[3] = u32x4_extract_lane::<3>(self.0);
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            V(u32x4_add(self.0, o.0))
        }
        #[inline(always)]
        fn and(self, o: Self) -> Self {
            V(v128_and(self.0, o.0))
        }
        #[inline(always)]
        fn or(self, o: Self) -> Self {
            V(v128_or(self.0, o.0))
        }
        #[inline(always)]
        fn xor(self, o: Self) -> Self {
            V(v128_xor(self.0, o.0))
        }
        #[inline(always)]
        fn not(self) -> Self {
            V(v128_not(self.0))
        }
        #[inline(always)]
        fn rotl(self, s: u32) -> Self {
            V(v128_or(u32x4_shl(self.0, s), u32x4_shr(self.0, 32 - s)))
        }
    }
}
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use simd128::V;

/// Two vectors interleaved: independent dependency chains the CPU can
/// overlap.
#[derive(Clone, Copy)]
pub struct Two<L>(L, L);

impl<L: Lanes> Lanes for Two<L> {
    const N: usize = 2 * L::N;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        Two(L::splat(x), L::splat(x))
    }
    #[inline(always)]
    fn from_lanes(x: &[u32]) -> Self {
        Two(L::from_lanes(&x[..L::N]), L::from_lanes(&x[L::N..]))
    }
    #[inline(always)]
    fn store(self, out: &mut [u32]) {
        self.0.store(&mut out[..L::N]);
        self.1.store(&mut out[L::N..]);
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Two(self.0.add(o.0), self.1.add(o.1))
    }
    #[inline(always)]
    fn and(self, o: Self) -> Self {
        Two(self.0.and(o.0), self.1.and(o.1))
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        Two(self.0.or(o.0), self.1.or(o.1))
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        Two(self.0.xor(o.0), self.1.xor(o.1))
    }
    #[inline(always)]
    fn not(self) -> Self {
        Two(self.0.not(), self.1.not())
    }
    #[inline(always)]
    fn rotl(self, s: u32) -> Self {
        Two(self.0.rotl(s), self.1.rotl(s))
    }
}

/// A message of at most [`MAX_ONE_BLOCK`] bytes, padded as MD5 pads it, as
/// sixteen little-endian words.
fn block(message: &[u8]) -> [u32; 16] {
    let mut bytes = [0u8; 64];
    bytes[..message.len()].copy_from_slice(message);
    bytes[message.len()] = 0x80;
    bytes[56..].copy_from_slice(&((message.len() as u64) * 8).to_le_bytes());
    std::array::from_fn(|i| {
        u32::from_le_bytes([
            bytes[4 * i],
            bytes[4 * i + 1],
            bytes[4 * i + 2],
            bytes[4 * i + 3],
        ])
    })
}

/// The digests of `L::N` one-block messages, one per lane.
#[inline(always)]
fn compress<L: Lanes>(blocks: &[[u32; 16]], out: &mut [[u8; 16]]) {
    let mut column = [0u32; 16];
    let m: [L; 16] = std::array::from_fn(|w| {
        for (lane, b) in blocks.iter().enumerate() {
            column[lane] = b[w];
        }
        L::from_lanes(&column[..L::N])
    });
    let [mut a, mut b, mut c, mut d] = INIT.map(L::splat);
    macro_rules! step {
        ($i:expr, $f:expr, $word:expr) => {{
            let t = a
                .add($f)
                .add(L::splat(K[$i]))
                .add(m[$word])
                .rotl(S[($i / 16) * 4 + $i % 4]);
            a = d;
            d = c;
            c = b;
            b = b.add(t);
        }};
    }
    for i in 0..16 {
        step!(i, d.xor(b.and(c.xor(d))), i);
    }
    for i in 16..32 {
        step!(i, c.xor(d.and(b.xor(c))), (5 * i + 1) % 16);
    }
    for i in 32..48 {
        step!(i, b.xor(c).xor(d), (3 * i + 5) % 16);
    }
    for i in 48..64 {
        step!(i, c.xor(b.or(d.not())), (7 * i) % 16);
    }
    let mut words = [[0u32; 16]; 4];
    for (w, (v, init)) in [a, b, c, d].into_iter().zip(INIT).enumerate() {
        v.add(L::splat(init)).store(&mut words[w][..L::N]);
    }
    for (lane, digest) in out.iter_mut().enumerate() {
        for (w, word) in words.iter().enumerate() {
            digest[4 * w..4 * w + 4].copy_from_slice(&word[lane].to_le_bytes());
        }
    }
}

/// The MD5 of every message, in order: one-block messages `L::N` at a
/// time in the lanes, longer ones one by one with `md5-many`'s scalar code.
pub fn hash_many<L: Lanes>(messages: &[&[u8]]) -> Vec<[u8; 16]> {
    let mut out = vec![[0u8; 16]; messages.len()];
    let mut blocks = [[0u32; 16]; 16];
    let mut waiting = [0usize; 16];
    let mut digests = [[0u8; 16]; 16];
    let mut filled = 0;
    let mut flush = |blocks: &[[u32; 16]], waiting: &[usize], out: &mut [[u8; 16]]| {
        compress::<L>(&blocks[..L::N], &mut digests[..L::N]);
        for (i, d) in waiting.iter().zip(&digests) {
            out[*i] = *d;
        }
    };
    for (i, m) in messages.iter().enumerate() {
        if m.len() > MAX_ONE_BLOCK {
            out[i] = md5_many::md5(m);
            continue;
        }
        blocks[filled] = block(m);
        waiting[filled] = i;
        filled += 1;
        if filled == L::N {
            flush(&blocks, &waiting[..filled], &mut out);
            filled = 0;
        }
    }
    if filled > 0 {
        // The unused lanes hash whatever they hold; nothing reads them.
        flush(&blocks, &waiting[..filled], &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::{Digest, Md5};

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// Against RustCrypto's `md-5`: batches of every size up to a
        /// PutRecords' 500, keys on both sides of the one-block limit.
        #[test]
        fn lanes_match_md5(
            keys in proptest::collection::vec(
                proptest::collection::vec(proptest::num::u8::ANY, 0..=120), 0..500)
        ) {
            let messages: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
            let four = hash_many::<[u32; 4]>(&messages);
            let eight = hash_many::<Two<[u32; 4]>>(&messages);
            for (k, (a, b)) in keys.iter().zip(four.iter().zip(&eight)) {
                let want: [u8; 16] = Md5::digest(k).into();
                proptest::prop_assert_eq!(*a, want);
                proptest::prop_assert_eq!(*b, want);
            }
        }
    }

    #[test]
    fn every_length_around_the_block_limit() {
        let bytes: Vec<u8> = (0..=70u8).collect();
        let messages: Vec<&[u8]> = (0..=70).map(|n| &bytes[..n]).collect();
        let got = hash_many::<Two<[u32; 4]>>(&messages);
        for (m, d) in messages.iter().zip(got) {
            let want: [u8; 16] = Md5::digest(m).into();
            assert_eq!(d, want, "length {}", m.len());
        }
    }
}
