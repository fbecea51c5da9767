//! Per-host clocks. The world runs on one true virtual time; each host's applications
//! read their own clock, which may be offset and may run fast or slow. That is how a
//! skewed node behaves: its timers fire early or late in true time, and the timestamps
//! it reports disagree with everyone else's.

use crate::time::Instant;

/// `local = true + offset + true × drift_ppm / 10⁶`, never below zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostClock {
    pub offset_ns: i64,
    pub drift_ppm: i64,
}

impl HostClock {
    pub fn is_exact(&self) -> bool {
        self.offset_ns == 0 && self.drift_ppm == 0
    }

    /// What the host reads at true time `t`.
    pub fn local(&self, t: Instant) -> Instant {
        if self.is_exact() {
            return t;
        }
        let t = i128::from(t.as_nanos());
        let v = t + i128::from(self.offset_ns) + t * i128::from(self.drift_ppm) / 1_000_000;
        Instant::from_nanos(v.clamp(0, i128::from(u64::MAX)) as u64)
    }

    /// The true time at which the host's clock reads `local` (the inverse of
    /// [`HostClock::local`], rounded up so a timer never fires before its time).
    pub fn true_time(&self, local: Instant) -> Instant {
        if self.is_exact() {
            return local;
        }
        let l = i128::from(local.as_nanos()) - i128::from(self.offset_ns);
        let scale = 1_000_000 + i128::from(self.drift_ppm);
        if scale <= 0 {
            return Instant::MAX;
        }
        let t = (l * 1_000_000 + scale - 1).div_euclid(scale);
        Instant::from_nanos(t.clamp(0, i128::from(u64::MAX)) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    fn s(v: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(v)
    }

    #[test]
    fn exact_clock_is_the_identity() {
        let c = HostClock::default();
        assert_eq!(c.local(s(5)), s(5));
        assert_eq!(c.true_time(s(5)), s(5));
    }

    #[test]
    fn offset_and_drift_apply_and_invert() {
        let c = HostClock {
            offset_ns: 2_000_000_000,
            drift_ppm: 100,
        };
        // 100 s true → 100 s + 2 s + 10 ms local.
        assert_eq!(c.local(s(100)), Instant::from_nanos(102_010_000_000));
        let back = c.true_time(c.local(s(100)));
        assert!(back >= s(100) && back.saturating_since(s(100)) <= Duration::from_nanos(1));
    }

    #[test]
    fn a_clock_behind_true_time_never_reads_negative() {
        let c = HostClock {
            offset_ns: -5_000_000_000,
            drift_ppm: 0,
        };
        assert_eq!(c.local(s(1)), Instant::ZERO);
        assert_eq!(c.true_time(s(1)), s(6));
    }
}
