//! Seeded randomness.
//!
//! One scenario seed is the root of every random choice. Each component (a link
//! direction, a host's neighbour table, a flow's port choice) gets its own ChaCha8 stream
//! whose key is `blake3(seed, component name)`. Streams are therefore independent of each
//! other and of creation order: adding a host or a link to a scenario does not change the
//! random draws of any component that was already there.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The root of a run's randomness: a seed and a way to derive named streams from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RngTree {
    seed: u64,
}

impl RngTree {
    pub const fn new(seed: u64) -> Self {
        Self { seed }
    }
    pub const fn seed(&self) -> u64 {
        self.seed
    }
    /// The stream for one component, e.g. `"link:client1-sw1:a>b"`. The same name always
    /// gives the same stream for a seed.
    pub fn stream(&self, name: &str) -> SimRng {
        let mut h = blake3::Hasher::new();
        h.update(b"ferrolb-sim stream v1\0");
        h.update(&self.seed.to_le_bytes());
        h.update(name.as_bytes());
        SimRng {
            inner: ChaCha8Rng::from_seed(*h.finalize().as_bytes()),
        }
    }
}

/// One component's random stream. The helpers are written on top of `next_u64` by hand
/// so that the draws do not change if the `rand` crate changes its distribution code.
#[derive(Clone, Debug)]
pub struct SimRng {
    inner: ChaCha8Rng,
}

impl SimRng {
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }
    /// Uniform in `[0, n)`; `n == 0` gives 0. Rejection sampling keeps it unbiased.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % n;
            }
        }
    }
    /// Uniform in `[lo, hi)`; `hi <= lo` gives `lo`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.below(hi - lo)
        }
    }
    /// Uniform in `[0, 1)` with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// True with probability `p` (clamped to `[0, 1]`). `p == 0` draws nothing, so a
    /// lossless link does not consume randomness and stays aligned with a lossy twin.
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            self.unit() < p
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_name_give_the_same_stream() {
        let a: Vec<u64> = (0..8)
            .map({
                let mut r = RngTree::new(7).stream("link:a-b");
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..8)
            .map({
                let mut r = RngTree::new(7).stream("link:a-b");
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
    }

    #[test]
    fn streams_differ_by_name_and_by_seed() {
        let x = RngTree::new(7).stream("host:n1").next_u64();
        let y = RngTree::new(7).stream("host:n2").next_u64();
        let z = RngTree::new(8).stream("host:n1").next_u64();
        assert_ne!(x, y);
        assert_ne!(x, z);
    }

    #[test]
    fn deriving_other_streams_does_not_disturb_a_stream() {
        let tree = RngTree::new(42);
        let alone = tree.stream("host:client").next_u64();
        let _other = tree.stream("host:new-one").next_u64();
        let again = tree.stream("host:client").next_u64();
        assert_eq!(alone, again);
    }

    #[test]
    fn below_and_range_stay_in_bounds() {
        let mut r = RngTree::new(1).stream("t");
        for _ in 0..10_000 {
            assert!(r.below(3) < 3);
            let v = r.range(15, 45);
            assert!((15..45).contains(&v));
        }
        assert_eq!(r.below(0), 0);
        assert_eq!(r.range(5, 5), 5);
    }

    #[test]
    fn chance_extremes_are_exact_and_middle_is_roughly_right() {
        let mut r = RngTree::new(3).stream("t");
        assert!(!r.chance(0.0));
        assert!(r.chance(1.0));
        let hits = (0..100_000).filter(|_| r.chance(0.25)).count();
        assert!((23_000..27_000).contains(&hits), "{hits}");
    }
}
