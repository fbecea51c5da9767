//! Point-to-point links: the only place frames are delayed, lost, duplicated or
//! reordered.
//!
//! Each direction has its own properties and its own random stream, so the loss pattern
//! on A→B does not depend on how much traffic flows B→A. A link that goes down drops
//! frames still in flight: the generation counter tells a delivery that was scheduled
//! before the link went down from one scheduled after it came back.

use crate::rng::SimRng;
use crate::time::{Duration, Instant};

/// Two-state bursty loss (Gilbert–Elliott): in the bad state frames are lost with
/// `loss_bad`, in the good state with `loss_good`. Transitions are drawn per frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GilbertElliott {
    pub p_good_to_bad: f64,
    pub p_bad_to_good: f64,
    pub loss_good: f64,
    pub loss_bad: f64,
}

/// What a link does to the frames that cross it in one direction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkProps {
    pub latency: Duration,
    /// Uniform extra delay in `[0, jitter)`; like netem, jitter can reorder frames.
    pub jitter: Duration,
    /// Independent loss probability per frame.
    pub loss: f64,
    pub burst: Option<GilbertElliott>,
    /// Probability that a frame is delivered twice (the copy has its own delay draw).
    pub duplicate: f64,
    /// Probability that a frame is held back by `reorder_delay`, letting later frames
    /// overtake it.
    pub reorder: f64,
    pub reorder_delay: Duration,
}

impl Default for LinkProps {
    /// A quiet LAN cable: 50 µs, nothing else.
    fn default() -> Self {
        Self {
            latency: Duration::from_micros(50),
            jitter: Duration::ZERO,
            loss: 0.0,
            burst: None,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::from_millis(1),
        }
    }
}

/// Why a link did not deliver a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LinkLoss {
    /// The link was down when the frame was sent or before it arrived.
    Down,
    /// Independent random loss.
    Random,
    /// Gilbert–Elliott loss.
    Burst,
}

/// The delivery times of a frame that crossed: one, or two if duplicated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deliveries {
    pub first: Instant,
    pub duplicate: Option<Instant>,
}

/// One direction of a link.
#[derive(Clone, Debug)]
pub struct Direction {
    pub props: LinkProps,
    bad: bool,
    rng: SimRng,
}

impl Direction {
    pub fn new(props: LinkProps, rng: SimRng) -> Self {
        Self {
            props,
            bad: false,
            rng,
        }
    }

    /// Decides the fate of one frame sent at `now`. Random draws happen in a fixed
    /// order (burst state, burst loss, loss, delay, duplicate) so a seed replays.
    pub fn transmit(&mut self, now: Instant) -> Result<Deliveries, LinkLoss> {
        if let Some(ge) = self.props.burst {
            if self.bad {
                if self.rng.chance(ge.p_bad_to_good) {
                    self.bad = false;
                }
            } else if self.rng.chance(ge.p_good_to_bad) {
                self.bad = true;
            }
            let p = if self.bad { ge.loss_bad } else { ge.loss_good };
            if self.rng.chance(p) {
                return Err(LinkLoss::Burst);
            }
        }
        if self.rng.chance(self.props.loss) {
            return Err(LinkLoss::Random);
        }
        let first = now + self.delay();
        let duplicate = self
            .rng
            .chance(self.props.duplicate)
            .then(|| now + self.delay());
        Ok(Deliveries { first, duplicate })
    }

    fn delay(&mut self) -> Duration {
        let mut d = self.props.latency;
        if !self.props.jitter.is_zero() {
            d = d + Duration::from_nanos(self.rng.below(self.props.jitter.as_nanos()));
        }
        if self.rng.chance(self.props.reorder) {
            d = d + self.props.reorder_delay;
        }
        d
    }

    /// Whether the Gilbert–Elliott chain is in its bad state (for tests and traces).
    pub fn in_burst(&self) -> bool {
        self.bad
    }
}

/// A full-duplex link with carrier state.
#[derive(Clone, Debug)]
pub struct Link {
    pub dirs: [Direction; 2],
    up: bool,
    generation: u64,
}

impl Link {
    pub fn new(a_to_b: Direction, b_to_a: Direction) -> Self {
        Self {
            dirs: [a_to_b, b_to_a],
            up: true,
            generation: 0,
        }
    }
    pub fn is_up(&self) -> bool {
        self.up
    }
    /// Changes carrier; returns true if it changed. Going down bumps the generation so
    /// that frames in flight are lost.
    pub fn set_up(&mut self, up: bool) -> bool {
        if self.up == up {
            return false;
        }
        self.up = up;
        if !up {
            self.generation += 1;
        }
        true
    }
    pub fn generation(&self) -> u64 {
        self.generation
    }
    /// Sends a frame in direction `dir` (0 = a→b, 1 = b→a).
    pub fn transmit(&mut self, dir: usize, now: Instant) -> Result<Deliveries, LinkLoss> {
        if !self.up {
            return Err(LinkLoss::Down);
        }
        self.dirs[dir].transmit(now)
    }
    /// Whether a frame sent in `generation` may still arrive now.
    pub fn delivers(&self, generation: u64) -> bool {
        self.up && self.generation == generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::RngTree;

    fn dir(props: LinkProps, seed: u64) -> Direction {
        Direction::new(props, RngTree::new(seed).stream("link"))
    }

    #[test]
    fn latency_without_jitter_is_exact() {
        let mut d = dir(LinkProps::default(), 1);
        let t = Instant::from_nanos(1000);
        let got = d.transmit(t).unwrap();
        assert_eq!(got.first, t + Duration::from_micros(50));
        assert_eq!(got.duplicate, None);
    }

    #[test]
    fn jitter_stays_within_bounds_and_varies() {
        let props = LinkProps {
            latency: Duration::from_micros(100),
            jitter: Duration::from_micros(20),
            ..LinkProps::default()
        };
        let mut d = dir(props, 2);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            let at = d.transmit(Instant::ZERO).unwrap().first.as_nanos();
            assert!((100_000..120_000).contains(&at));
            seen.insert(at);
        }
        assert!(seen.len() > 100);
    }

    #[test]
    fn independent_loss_rate_matches_probability() {
        let props = LinkProps {
            loss: 0.1,
            ..LinkProps::default()
        };
        let mut d = dir(props, 3);
        let lost = (0..20_000)
            .filter(|_| d.transmit(Instant::ZERO) == Err(LinkLoss::Random))
            .count();
        assert!((1_700..2_300).contains(&lost), "{lost}");
    }

    #[test]
    fn gilbert_elliott_losses_come_in_bursts() {
        let ge = GilbertElliott {
            p_good_to_bad: 0.01,
            p_bad_to_good: 0.2,
            loss_good: 0.0,
            loss_bad: 1.0,
        };
        let props = LinkProps {
            burst: Some(ge),
            ..LinkProps::default()
        };
        let mut d = dir(props, 4);
        let outcomes: Vec<bool> = (0..50_000)
            .map(|_| d.transmit(Instant::ZERO).is_err())
            .collect();
        let lost = outcomes.iter().filter(|l| **l).count();
        let runs = outcomes.windows(2).filter(|w| !w[0] && w[1]).count();
        // Stationary bad fraction = 0.01/(0.01+0.2) ≈ 4.8 %; mean burst length 5.
        assert!((1_800..3_000).contains(&lost), "{lost}");
        let mean_burst = lost as f64 / runs as f64;
        assert!(mean_burst > 3.0, "bursty, mean run {mean_burst}");
    }

    #[test]
    fn duplication_delivers_a_second_copy() {
        let props = LinkProps {
            duplicate: 1.0,
            ..LinkProps::default()
        };
        let got = dir(props, 5).transmit(Instant::ZERO).unwrap();
        assert!(got.duplicate.is_some());
    }

    #[test]
    fn reordering_holds_frames_back_so_later_ones_overtake() {
        let props = LinkProps {
            reorder: 0.5,
            reorder_delay: Duration::from_millis(1),
            ..LinkProps::default()
        };
        let mut d = dir(props, 6);
        let arrivals: Vec<u64> = (0..100)
            .map(|i| {
                d.transmit(Instant::from_nanos(i * 10_000))
                    .unwrap()
                    .first
                    .as_nanos()
            })
            .collect();
        assert!(arrivals.windows(2).any(|w| w[1] < w[0]), "some overtaking");
    }

    #[test]
    fn down_link_drops_and_in_flight_frames_are_lost() {
        let mut l = Link::new(dir(LinkProps::default(), 7), dir(LinkProps::default(), 8));
        let g = l.generation();
        assert!(l.transmit(0, Instant::ZERO).is_ok());
        assert!(l.set_up(false));
        assert!(!l.set_up(false), "no change, no carrier event");
        assert_eq!(l.transmit(1, Instant::ZERO), Err(LinkLoss::Down));
        l.set_up(true);
        assert!(!l.delivers(g), "sent before the flap");
        assert!(l.delivers(l.generation()));
    }

    #[test]
    fn a_lossless_link_draws_no_randomness_for_loss() {
        // Two directions with the same seed: one lossless, one with zero-probability
        // burst config absent. Their delay draws stay aligned.
        let props = LinkProps {
            jitter: Duration::from_micros(10),
            ..LinkProps::default()
        };
        let mut a = dir(props, 9);
        let mut b = dir(props, 9);
        for _ in 0..10 {
            assert_eq!(a.transmit(Instant::ZERO), b.transmit(Instant::ZERO));
        }
    }
}
