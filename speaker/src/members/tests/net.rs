//! A seeded, in-test network for N `Members` instances: independent loss and uniform
//! jitter per datagram, virtual time advanced event by event (the earliest delivery or
//! timer next), no sockets, no sleeps. The same seed replays the same run.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::SocketAddr;

use core::time::Duration;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

use super::super::{Member, MemberEvent, Members, MembersConfig};
use crate::time::Instant;

pub(crate) const KEY: &[u8] = b"ferrolb-test-cluster-key";

/// Link model applied to every datagram independently.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Link {
    /// Fixed one-way delay.
    pub(crate) latency: Duration,
    /// Extra one-way delay, uniform in `[0, jitter]`.
    pub(crate) jitter: Duration,
    /// Probability that a datagram is lost.
    pub(crate) loss: f64,
}

impl Link {
    /// A quiet bare-metal LAN: 0.1 to 0.5 ms one way, no loss.
    pub(crate) const LAN: Self = Self {
        latency: Duration::from_micros(100),
        jitter: Duration::from_micros(400),
        loss: 0.0,
    };
    /// The bad network of target (b): 5 % loss, 10 ms of jitter on every datagram.
    pub(crate) const LOSSY: Self = Self {
        latency: Duration::from_micros(100),
        jitter: Duration::from_millis(10),
        loss: 0.05,
    };

    /// The longest one-way delay this link produces.
    pub(crate) fn max_one_way(&self) -> Duration {
        self.latency + self.jitter
    }
}

struct Delivery {
    at: Instant,
    seq: u64,
    to: usize,
    from: SocketAddr,
    data: Vec<u8>,
}

impl PartialEq for Delivery {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Delivery {}
impl PartialOrd for Delivery {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Delivery {
    // Reversed: BinaryHeap is a max-heap and we want the earliest first.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

pub(crate) struct Node {
    pub(crate) m: Members,
    pub(crate) addr: SocketAddr,
    /// Sends nothing, answers nothing, runs no timers (power off, link down, hang).
    pub(crate) silent: bool,
    wake: Option<Instant>,
}

/// One logged membership event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Logged {
    pub(crate) at: Instant,
    /// Index of the node that emitted it.
    pub(crate) node: usize,
    pub(crate) event: MemberEvent,
}

pub(crate) struct Net {
    pub(crate) nodes: Vec<Node>,
    pub(crate) link: Link,
    pub(crate) now: Instant,
    pub(crate) log: Vec<Logged>,
    /// Datagrams put on the wire (after the sender, before loss).
    pub(crate) wire_datagrams: u64,
    /// Extra loss on everything a node sends or receives (a bad NIC or cable).
    pub(crate) node_loss: BTreeMap<usize, f64>,
    /// A partition: datagrams between nodes of different groups are dropped.
    pub(crate) groups: Option<Vec<u8>>,
    rng: ChaCha8Rng,
    heap: BinaryHeap<Delivery>,
    by_addr: BTreeMap<SocketAddr, usize>,
    seq: u64,
    seed: u64,
    cfg: MembersConfig,
}

pub(crate) fn name(i: usize) -> String {
    format!("node-{i:02}")
}

pub(crate) fn addr(i: usize) -> SocketAddr {
    let i = u16::try_from(i).expect("small cluster");
    SocketAddr::from((
        [10, 0, (i >> 8) as u8, (i & 0xff) as u8 + 1],
        super::super::DEFAULT_PORT,
    ))
}

pub(crate) fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

impl Net {
    /// `n` members with default settings; node 0 starts alone, the others join it at
    /// random moments of the first 50 ms.
    pub(crate) fn cluster(n: usize, link: Link, seed: u64) -> Self {
        Self::cluster_with(n, link, seed, MembersConfig::default())
    }

    pub(crate) fn cluster_with(n: usize, link: Link, seed: u64, cfg: MembersConfig) -> Self {
        let mut net = Self {
            nodes: Vec::new(),
            link,
            now: Instant::ZERO,
            log: Vec::new(),
            wire_datagrams: 0,
            node_loss: BTreeMap::new(),
            groups: None,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_0000_0000),
            heap: BinaryHeap::new(),
            by_addr: BTreeMap::new(),
            seq: 0,
            seed,
            cfg,
        };
        for i in 0..n {
            let m = net.instance(i, 0, addr(i));
            net.by_addr.insert(addr(i), i);
            net.nodes.push(Node {
                m,
                addr: addr(i),
                silent: false,
                wake: None,
            });
        }
        net.nodes[0].m.join(net.now, &[]);
        net.flush(0);
        let mut starts: Vec<(Instant, usize)> = (1..n)
            .map(|i| (Instant::from_nanos(net.rng.next_u64() % 50_000_000), i))
            .collect();
        starts.sort();
        for (at, i) in starts {
            net.run_until(at);
            net.nodes[i].m.join(at, &[addr(0)]);
            net.flush(i);
        }
        net
    }

    fn instance(&self, i: usize, generation: u64, at: SocketAddr) -> Members {
        let me = Member {
            name: name(i),
            addr: at,
        };
        let seed = self
            .seed
            .wrapping_mul(1_000_003)
            .wrapping_add(((i as u64) << 16) | generation);
        Members::new(self.cfg.clone(), me, KEY, seed).expect("valid config")
    }

    /// Replaces node `i` by a fresh process (same name, state lost, incarnation 0)
    /// that joins via `seed`, optionally at a new address.
    pub(crate) fn restart(
        &mut self,
        i: usize,
        generation: u64,
        new_addr: Option<SocketAddr>,
        seed: SocketAddr,
    ) {
        let at = new_addr.unwrap_or(self.nodes[i].addr);
        self.by_addr.remove(&self.nodes[i].addr);
        self.by_addr.insert(at, i);
        self.nodes[i].addr = at;
        self.nodes[i].m = self.instance(i, generation, at);
        self.nodes[i].silent = false;
        self.nodes[i].m.join(self.now, &[seed]);
        self.flush(i);
    }

    /// Everybody sees everybody (`expected` live members each, themselves included).
    pub(crate) fn converged(&self, expected: usize) -> bool {
        self.nodes
            .iter()
            .filter(|n| !n.silent)
            .all(|n| n.m.members().count() == expected)
    }

    /// Runs until `converged(n)` or `limit`, returning when it converged.
    pub(crate) fn run_until_converged(
        &mut self,
        expected: usize,
        limit: Instant,
    ) -> Option<Instant> {
        while self.now < limit {
            if self.converged(expected) {
                return Some(self.now);
            }
            if !self.step(limit) {
                break;
            }
        }
        self.converged(expected).then_some(self.now)
    }

    /// Advances to `t`, processing every delivery and timer on the way.
    pub(crate) fn run_until(&mut self, t: Instant) {
        while self.step(t) {}
        self.now = self.now.max(t);
    }

    pub(crate) fn run_for(&mut self, d: Duration) {
        let t = self.now + d;
        self.run_until(t);
    }

    /// Processes the earliest event at or before `limit`; false if there is none.
    fn step(&mut self, limit: Instant) -> bool {
        let timer = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| !n.silent)
            .filter_map(|(i, n)| n.wake.map(|w| (w, i)))
            .min();
        let delivery = self.heap.peek().map(|d| d.at);
        let take_delivery = match (delivery, timer) {
            (Some(d), Some((t, _))) => d <= t,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return false,
        };
        if take_delivery {
            let at = delivery.unwrap_or(limit);
            if at > limit {
                return false;
            }
            let Some(d) = self.heap.pop() else {
                return false;
            };
            self.now = self.now.max(d.at);
            if !self.nodes[d.to].silent {
                self.nodes[d.to]
                    .m
                    .handle_datagram(self.now, d.from, &d.data);
                self.flush(d.to);
            }
        } else {
            let Some((at, i)) = timer else { return false };
            if at > limit {
                return false;
            }
            self.now = self.now.max(at);
            self.nodes[i].m.handle_timeout(self.now);
            self.flush(i);
        }
        true
    }

    /// Moves node `i`'s outputs onto the wire and into the log, and re-arms its timer.
    pub(crate) fn flush(&mut self, i: usize) {
        for _ in 0..4 {
            while let Some(t) = self.nodes[i].m.poll_transmit() {
                if self.nodes[i].silent {
                    continue;
                }
                self.wire_datagrams += 1;
                let Some(&to) = self.by_addr.get(&t.to) else {
                    continue;
                };
                if let Some(g) = &self.groups
                    && g[i] != g[to]
                {
                    continue;
                }
                let loss = if self.node_loss.is_empty() {
                    self.link.loss
                } else {
                    let ok = |k: usize| 1.0 - self.node_loss.get(&k).copied().unwrap_or(0.0);
                    1.0 - (1.0 - self.link.loss) * ok(i) * ok(to)
                };
                if loss > 0.0 && (self.rng.next_u64() as f64 / u64::MAX as f64) < loss {
                    continue;
                }
                let jitter_ns = u64::try_from(self.link.jitter.as_nanos()).unwrap_or(0);
                let j = if jitter_ns == 0 {
                    0
                } else {
                    self.rng.next_u64() % (jitter_ns + 1)
                };
                let at = self.now + self.link.latency + Duration::from_nanos(j);
                self.seq += 1;
                self.heap.push(Delivery {
                    at,
                    seq: self.seq,
                    to,
                    from: self.nodes[i].addr,
                    data: t.data,
                });
            }
            while let Some(e) = self.nodes[i].m.poll_event() {
                self.log.push(Logged {
                    at: self.now,
                    node: i,
                    event: e,
                });
            }
            let wake = self.nodes[i].m.poll_timeout();
            self.nodes[i].wake = wake;
            // A timer that is already due runs now, as a driver would.
            match wake {
                Some(w) if w <= self.now => self.nodes[i].m.handle_timeout(self.now),
                _ => return,
            }
        }
    }

    /// Events logged at or after `since`.
    pub(crate) fn events_since(&self, since: Instant) -> impl Iterator<Item = &Logged> {
        self.log.iter().filter(move |l| l.at >= since)
    }

    pub(crate) fn downs_since(&self, since: Instant) -> Vec<&Logged> {
        self.events_since(since)
            .filter(|l| matches!(l.event, MemberEvent::Down { .. }))
            .collect()
    }
}

/// Percentile (nearest rank) of a sorted slice.
pub(crate) fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub(crate) fn summary(label: &str, v: &mut [Duration]) -> String {
    v.sort();
    let mean = v.iter().sum::<Duration>() / u32::try_from(v.len().max(1)).unwrap_or(1);
    format!(
        "{label}: n={} min={:.1}ms p50={:.1}ms mean={:.1}ms p90={:.1}ms p99={:.1}ms max={:.1}ms",
        v.len(),
        ms_f(pct(v, 0.0)),
        ms_f(pct(v, 50.0)),
        ms_f(mean),
        ms_f(pct(v, 90.0)),
        ms_f(pct(v, 99.0)),
        ms_f(pct(v, 100.0)),
    )
}

pub(crate) fn ms_f(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
