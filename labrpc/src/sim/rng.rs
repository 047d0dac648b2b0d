//! Seeded random numbers: the only randomness a simulation may use.

use rand::TryRng;
use std::convert::Infallible;

/// A small, fast, seeded generator (xoshiro256**, seeded by SplitMix64).
///
/// Written here rather than taken from `rand` so that its output can never change with a
/// dependency upgrade: a seed must replay the same run for as long as the course uses it.
#[derive(Clone, Debug)]
pub struct DetRng {
    s: [u64; 4],
}

/// One step of SplitMix64: a good 64-bit mixer, used for seeding and for hashing seeds.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl DetRng {
    /// A generator whose whole output is a function of `seed`.
    pub fn new(seed: u64) -> DetRng {
        let mut state = seed;
        DetRng {
            s: std::array::from_fn(|_| splitmix64(&mut state)),
        }
    }

    /// A generator for a named sub-stream, independent of the parent's later draws.
    pub fn derive(seed: u64, stream: &[u64]) -> DetRng {
        let mut state = seed;
        for &part in stream {
            state = splitmix64(&mut state) ^ part;
        }
        DetRng::new(splitmix64(&mut state))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A uniform number in `0..n` (0 when `n` is 0), without modulo bias worth noticing.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

impl TryRng for DetRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.next_u64() >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = DetRng::new(42);
        let mut b = DetRng::new(42);
        let mut c = DetRng::new(43);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        assert_eq!(xs, (0..8).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(xs, (0..8).map(|_| c.next_u64()).collect::<Vec<_>>());
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = DetRng::new(7);
        assert!((0..10_000).all(|_| r.below(26) < 26));
        assert_eq!(r.below(0), 0);
    }
}
