//! Probe bookkeeping: which member to probe next (shuffled round robin, SWIM §4.3, so
//! that every member is probed by everybody once per round and detection time has a
//! worst case, not just a mean), the probes and relayed probes in flight, and local
//! health (Lifeguard's awareness).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use core::time::Duration;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::Rng;

use crate::time::Instant;

/// A probe we started.
#[derive(Clone, Debug)]
pub(crate) struct Probe {
    pub(crate) target: String,
    pub(crate) addr: SocketAddr,
    pub(crate) started: Instant,
    /// When indirect probes go out (and the direct ping is retried).
    pub(crate) ack_deadline: Instant,
    /// When the target becomes suspect if nothing answered.
    pub(crate) deadline: Instant,
    pub(crate) indirect_sent: bool,
    pub(crate) expected_nacks: u32,
    pub(crate) nacks: u32,
}

/// A ping we send on someone else's behalf (we are the relay of an indirect probe).
#[derive(Clone, Debug)]
pub(crate) struct Relay {
    pub(crate) requester: SocketAddr,
    pub(crate) requester_seq: u32,
    /// When we tell the requester that the target did not answer us.
    pub(crate) nack_at: Instant,
}

/// Round-robin order plus everything in flight.
#[derive(Clone, Debug, Default)]
pub(crate) struct Prober {
    order: Vec<String>,
    pos: usize,
    last: Option<String>,
    /// Our probes, by sequence number.
    pub(crate) probes: BTreeMap<u32, Probe>,
    /// Pings we relay, by the sequence number of our ping to the target.
    pub(crate) relays: BTreeMap<u32, Relay>,
    /// Local health multiplier: 0 is healthy; timeouts scale by `1 + awareness`.
    pub(crate) awareness: u32,
    /// Smoothed round trip and its mean deviation (RFC 6298), over all members: the
    /// speakers of one cluster share a LAN, and one estimate converges fastest.
    srtt: Option<Duration>,
    rttvar: Duration,
}

impl Prober {
    /// The next member to probe, given the currently probeable members (sorted).
    /// Starts a new shuffled round when the current one is exhausted, never probing
    /// the same member twice in a row across rounds (with two members that makes the
    /// order strictly alternate, halving the worst-case gap).
    pub(crate) fn next_target(&mut self, live: &[&str], rng: &mut ChaCha8Rng) -> Option<String> {
        if live.is_empty() {
            return None;
        }
        loop {
            while self.pos < self.order.len() {
                let cand = &self.order[self.pos];
                self.pos += 1;
                if live.binary_search(&cand.as_str()).is_ok() {
                    let t = cand.clone();
                    self.last = Some(t.clone());
                    return Some(t);
                }
            }
            self.order = live.iter().map(|s| (*s).to_owned()).collect();
            self.order.shuffle(rng);
            if self.order.len() > 1 && self.last.as_ref() == self.order.first() {
                let j = 1 + (rng.next_u32() as usize) % (self.order.len() - 1);
                self.order.swap(0, j);
            }
            self.pos = 0;
        }
    }

    /// A member that just appeared goes to a random place in the rest of this round,
    /// so that it is probed soon rather than only from the next round on.
    pub(crate) fn insert(&mut self, name: &str, rng: &mut ChaCha8Rng) {
        if self.order.iter().any(|n| n == name) {
            return;
        }
        let span = self.order.len() - self.pos.min(self.order.len()) + 1;
        let at = self.pos.min(self.order.len()) + (rng.next_u32() as usize) % span;
        self.order.insert(at, name.to_owned());
    }

    /// Is a probe of `target` in flight?
    pub(crate) fn probing(&self, target: &str) -> bool {
        self.probes.values().any(|p| p.target == target)
    }

    /// `target` showed a sign of life: every probe of it succeeded.
    pub(crate) fn heard_from(&mut self, target: &str) -> usize {
        let before = self.probes.len();
        self.probes.retain(|_, p| p.target != target);
        before - self.probes.len()
    }

    /// `target` is gone: stop probing it without counting failures.
    pub(crate) fn cancel(&mut self, target: &str) {
        self.probes.retain(|_, p| p.target != target);
    }

    /// Feeds one round-trip measurement.
    pub(crate) fn sample(&mut self, rtt: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                let dev = srtt.abs_diff(rtt);
                self.rttvar = (self.rttvar * 3 + dev) / 4;
                self.srtt = Some((srtt * 7 + rtt) / 8);
            }
        }
    }

    /// `srtt + 4·rttvar`, once anything was measured.
    pub(crate) fn rto(&self) -> Option<Duration> {
        self.srtt.map(|s| s + self.rttvar * 4)
    }

    pub(crate) fn scale(&self, d: Duration) -> Duration {
        d * (1 + self.awareness)
    }

    pub(crate) fn adjust(&mut self, delta: i64, max: u32) {
        let v = i64::from(self.awareness) + delta;
        self.awareness = u32::try_from(v.clamp(0, i64::from(max))).unwrap_or(0);
    }

    /// The earliest deadline among probes and relays.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let p = self.probes.values().map(|p| {
            if p.indirect_sent {
                p.deadline
            } else {
                p.ack_deadline
            }
        });
        let r = self.relays.values().map(|r| r.nack_at);
        p.chain(r).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn every_member_once_per_round_and_no_repeat_across_rounds() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut p = Prober::default();
        let live = ["a", "b", "c", "d", "e"];
        let mut prev: Option<String> = None;
        for _round in 0..50 {
            let mut seen: Vec<String> = (0..5)
                .map(|_| p.next_target(&live, &mut rng).unwrap())
                .collect();
            assert_ne!(prev.as_ref(), seen.first(), "no back-to-back repeat");
            prev = seen.last().cloned();
            seen.sort();
            assert_eq!(seen, live, "one round probes everybody once");
        }
        // Two members strictly alternate.
        let two = ["a", "b"];
        let mut p = Prober::default();
        let seq: Vec<String> = (0..40)
            .map(|_| p.next_target(&two, &mut rng).unwrap())
            .collect();
        assert!(seq.windows(2).all(|w| w[0] != w[1]), "{seq:?}");
    }

    #[test]
    fn departed_members_are_skipped_and_new_ones_probed_this_round() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut p = Prober::default();
        let first = p.next_target(&["a", "b", "c"], &mut rng).unwrap();
        p.insert("d", &mut rng);
        let rest: Vec<String> = (0..3)
            .map(|_| p.next_target(&["a", "b", "c", "d"], &mut rng).unwrap())
            .collect();
        assert!(rest.iter().any(|n| n == "d"), "{rest:?}");
        assert!(!rest.contains(&first));
        let only: Vec<String> = (0..4)
            .map(|_| p.next_target(&["c"], &mut rng).unwrap())
            .collect();
        assert!(only.iter().all(|n| n == "c"));
        assert_eq!(p.next_target(&[], &mut rng), None);
    }

    #[test]
    fn round_trip_estimate_follows_rfc6298() {
        let mut p = Prober::default();
        assert_eq!(p.rto(), None);
        p.sample(Duration::from_millis(8));
        assert_eq!(p.rto(), Some(Duration::from_millis(8 + 16)));
        for _ in 0..200 {
            p.sample(Duration::from_micros(500));
        }
        let rto = p.rto().unwrap();
        assert!(
            rto >= Duration::from_micros(500) && rto < Duration::from_micros(510),
            "{rto:?}"
        );
        p.sample(Duration::from_millis(20));
        assert!(
            p.rto().unwrap() > Duration::from_millis(10),
            "a spike widens it at once"
        );
    }

    #[test]
    fn awareness_is_clamped_and_scales_timeouts() {
        let mut p = Prober::default();
        p.adjust(-1, 8);
        assert_eq!(p.awareness, 0);
        p.adjust(20, 8);
        assert_eq!(p.awareness, 8);
        assert_eq!(
            p.scale(Duration::from_millis(10)),
            Duration::from_millis(90)
        );
    }
}
