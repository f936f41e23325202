//! Seeded randomness, one independent sub-stream per named source.
//!
//! Every source of randomness (a producer, later a consumer or a fault
//! injector) draws from its own ChaCha stream chosen by `(seed, name)`, so
//! adding a source never changes what another one draws.

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

/// The generator for source `name` under scenario seed `seed`.
pub fn substream(seed: u64, name: &str) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(fnv1a64(name.as_bytes()));
    rng
}

pub use shardlab_engine::fnv::{fnv1a64, fnv1a64_extend, FNV_OFFSET};

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::RngCore;

    #[test]
    fn same_seed_and_name_same_numbers() {
        let a: Vec<u64> = (0..4).map(|_| substream(7, "p").next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(substream(7, "p").next_u64(), substream(7, "q").next_u64());
        assert_ne!(substream(7, "p").next_u64(), substream(8, "p").next_u64());
    }
}
