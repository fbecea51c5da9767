//! `members`: the speakers' failure detector. A SWIM-style protocol over UDP (default
//! port 7946) with Lifeguard's refinements, written as a sans-IO state machine.
//!
//! # Why our own, and why this shape
//!
//! MetalLB uses hashicorp/memberlist with its LAN defaults (1 s probes, ~4 s
//! suspicion), which is most of its ~5 s Layer 2 failover. We want a silent node
//! detected in at most 150 ms without false failovers on a lossy network, and we want
//! the simulator to run exactly this code. So: no sockets, no clock, no threads, no
//! unseeded randomness, no hash-order iteration. Time comes in as
//! [`Instant`]; datagrams come in through
//! [`Members::handle_datagram`] and go out through [`Members::poll_transmit`]; the
//! driver arms one timer from [`Members::poll_timeout`] and calls
//! [`Members::handle_timeout`] when it fires (quinn-proto / str0m style). Every random
//! choice comes from a `ChaCha8Rng` seeded by the caller, so a seed replays exactly.
//!
//! # The protocol
//!
//! * **Direct probe.** Every `probe_interval` a member pings the next member of a
//!   shuffled round robin (every member is probed by everybody once per round; with two
//!   others the order strictly alternates). Any authenticated datagram from the target
//!   counts as an answer, not just the ack.
//! * **Indirect probe.** If no ack came within `probe_timeout`, the ping is retried
//!   directly *and* `indirect_checks` random members are asked to ping the target for us
//!   (`PingReq`); they relay the ack, or send a `Nack` if the target did not answer
//!   them either, which tells us that our own network works (Lifeguard).
//! * **Suspicion.** If nothing answered by the probe's deadline (35 ms after it started
//!   at the timeouts' ceilings, 15 ms on a LAN; see below), the target becomes
//!   *suspect* at its current incarnation. The
//!   suspicion is gossiped, and every member holding it sends it straight to the suspect
//!   every few milliseconds (two round-trip timeouts, 5 to 10 ms) and on every ping to
//!   it, so the suspect hears of it within a round trip even under loss.
//! * **Refutation.** A member that hears it is suspect (or dead, or left, at an
//!   incarnation at least its own) raises its incarnation and gossips `Alive`; it also
//!   answers the messenger directly. A member told stale news about itself answers the
//!   messenger with its current `Alive`.
//! * **Confirmation and timeout** (Lifeguard). Members hearing a new suspicion from
//!   somebody else probe the suspect at once (all of them in small clusters, about
//!   `3K` of them in large ones), and a failed probe is an independent confirmation.
//!   The suspicion timeout starts at `suspicion_max` and shrinks logarithmically with
//!   confirmations to `suspicion_min` after `K = min(suspicion_confirmations, n - 2)` of
//!   them. When it runs out the member is declared *dead*, which everybody accepts at
//!   once.
//! * **Dissemination.** Updates ride on every ping, ack, nack and ping-req (updates about
//!   the recipient first), and while any are queued a `Gossip` datagram goes to
//!   `gossip_nodes` random members every `gossip_interval` — immediately when something
//!   new arrives, so news spreads at network speed. Each update is sent
//!   `retransmit_mult · ceil(log10(n + 1))` times. A quiet cluster sends no gossip.
//! * **Graceful leave.** [`Members::leave`] sends `Leave` straight to every member and
//!   gossips it; receivers drop the member at once (event [`MemberEvent::Left`], no
//!   suspicion) and acknowledge; unacknowledged members get it again
//!   (`leave_retransmits`). [`Members::leave_complete`] tells the driver when it may
//!   stop answering.
//! * **Join and anti-entropy.** [`Members::join`] sends our full state to the seeds in
//!   `Sync` datagrams (split to fit `max_datagram_size`) asking for theirs; it is resent
//!   until one answers. Every `push_pull_interval` the same exchange runs with a random
//!   member, dead ones included, which repairs missed gossip; every
//!   `reconnect_interval` one random dead member is pinged, and a member that talks to
//!   us while we hold it dead (or do not know it) gets a full-state exchange, which
//!   heals a partition within seconds. A death in a full state is taken as a
//!   suspicion (as memberlist does), so that the other side's history cannot kill a
//!   member we can reach: it refutes instead. A
//!   restarted member (same name, incarnation starting at 0) learns its old incarnation
//!   from the reply and refutes past it; peers then report it
//!   [`UpReason::Rejoined`].
//! * **Local health** (Lifeguard). Failed probes that relays did not nack, and
//!   refutations, raise a health score (capped at `awareness_max`); successful probes
//!   lower it. Probe timeouts are scaled by `1 + score`, so a member that is itself
//!   slow or cut off accuses others less eagerly.
//! * **Authentication.** Every datagram carries an HMAC-SHA256 tag over all its bytes,
//!   keyed by the shared cluster key. A datagram with a wrong version, a bad tag or a
//!   malformed body is counted ([`Counters`]) and dropped; nothing of it is applied.
//!   The wire format is in `members/README.md` and [`wire`].
//!
//! # Choosing the defaults
//!
//! The two targets pull in opposite directions: detect a silent member in ≤ 150 ms,
//! and never declare a live one dead over an hour of 5 % independent loss and up to
//! 10 ms of uniform jitter per datagram (a round trip takes up to 20 ms there, a
//! relayed probe up to 40 ms). Fixed timeouts sized for the jittery network leave no
//! room for detection on a LAN, and timeouts sized for the LAN cause false suspicions
//! under jitter; so the probe timeouts follow the measured round trip (RFC 6298's
//! `srtt + 4·rttvar`) between a floor and a ceiling, and the minimum suspicion timeout
//! scales with them. The ceilings are what the jittery network gets, the floors what a
//! LAN gets:
//!
//! | | LAN (RTT < 1 ms) | 10 ms jitter (RTT ≤ 20 ms) |
//! |---|---|---|
//! | direct-ack wait (`probe_timeout_min` … `probe_timeout`) | 5 ms | 15 ms |
//! | probe gives up after (+ `indirect_timeout`, ≤ 20 ms) | 15 ms | 35 ms |
//! | `suspicion_min` (scaled, ≥ 4/3 of a probe) | 20 ms | 50 ms |
//! | suspicion reminders to the suspect | every 5 ms | every 10 ms |
//! | `suspicion_max` (no confirmation) | 150 ms | 150 ms |
//!
//! Write `q = 0.05` for the loss and `s = 1 - (1-q)² ≈ 0.0975` for the chance that one
//! ping/ack (or reminder/refutation) exchange fails.
//!
//! * **False suspicion per probe (jittery network).** A probe fails only if the first
//!   ping, the retry at 15 ms, every relayed probe, *and* every other datagram the
//!   target sends us within the 35 ms all fail. Both direct exchanges complete within
//!   the deadline whenever neither datagram is lost (the retry has 20 ms, the worst
//!   round trip): `s² ≈ 0.0095`. A relayed probe is four datagrams sent at 15 ms with
//!   20 ms left: lost with `1 - 0.95⁴ ≈ 0.19` and late half the time (four uniform
//!   10 ms hops summing past 20 ms), so it fails with ≈ 0.59. Hence
//!   `P1 ≤ 0.0095 · 0.59³ ≈ 2·10⁻³` with three relays (n ≥ 5) and
//!   `≤ 0.0095 · 0.59 ≈ 6·10⁻³` with one (n = 3), before counting the target's own
//!   datagrams (in a 3-node cluster it pings us every 40 ms, which removes most of the
//!   rest). At 50 probes per second per member that bounds false suspicions at ~3 600
//!   per hour for 10 members and ~3 000 for 3; the harness measures ~2 200 (n = 10) and
//!   ~330 (n = 3) per hour, every one refuted.
//! * **Refutation.** Every holder reminds the suspect every 10 ms and on every ping;
//!   each exchange fails with `s` and completes within 20 ms. With no confirmation the
//!   timeout is 150 ms, room for ≥ 13 exchanges: a refutation misses with
//!   `s¹³ ≈ 10⁻¹³`. The timeout only drops to 50 ms with `K` confirmations, leaving 4
//!   exchanges (`s⁴ ≈ 9·10⁻⁵`), and each confirmation is itself an independent failed
//!   probe of a live member. So a false death costs `P1 · P1 · s⁴ ≤ 3·10⁻⁹` per probe
//!   at n = 3 (K = 1), i.e. ≤ 2·10⁻³ per hour over 540 000 probes (~2·10⁻⁵ with the
//!   measured `P1 ≈ 6·10⁻⁴`), and `P1 · C(8,3)·P1³ · s⁴ ≈ 10⁻¹³` per probe at n = 10
//!   (K = 3). Two-member clusters have no witness (K = 0) and always wait the full
//!   150 ms. A planted suspicion is cleared everywhere within 20 ms in the harness.
//! * **Detection.** A silent member is first probed within `W`, that probe fails one
//!   probe time `D` later, the other members (who probe at once on hearing of it)
//!   confirm `D` after that, and the minimum suspicion runs from the first failure:
//!   about `W + D + max(suspicion_min, D + 2h)` with `h` the one-way delay. In a
//!   3-node cluster each peer probes the silent member every 40 ms (strict
//!   alternation), so `W < 40` ms and detection is ≤ 40 + 15 + 20 ≈ 75 ms on a LAN; in
//!   larger clusters `W` is usually shorter but has a tail (the 9 probers of a 10-node
//!   cluster may all have just probed it), measured up to 115 ms. With 10 ms jitter,
//!   `D = 35` and the confirmations need two jittered hops more: `W + ~90` ms,
//!   measured ≤ 126 ms for 3 members, but with a tail past 150 ms for 10 (1.5 % of
//!   detections, up to 178 ms) because `W` has one there.
//! * **Probe interval and indirect timeout.** 20 ms is what makes the 3-node worst case
//!   (`W ≈ 2T`) fit under jitter: 40 + 35 + 55 ≈ 130 ms; at 50 ms (`W ≈ 100` ms) the
//!   LAN would still pass but the jittery network would not. The indirect timeout
//!   ceiling of 20 ms (rather than 30) takes 10-15 ms off every detection under jitter
//!   for ~20 times more false suspicions, which the refutation arithmetic above
//!   absorbs. Measured alternatives (10 members, 5 % loss, 10 ms jitter, 100 seeds):
//!   30 ms → 2.0 % of detections over 150 ms; 20 ms → 0.7 %; a 15 ms interval on top
//!   → none (max 149 ms), but at 33 % more traffic on every network, always.
//! * **Cost.** 50 probes per second per member: ~100 datagrams and ~5.2 KB per second
//!   per member in each direction, independent of the cluster size (each member
//!   probes one member per interval and is probed once per interval on average). Only
//!   events and loss add traffic; a quiet cluster sends no gossip. (On the 10 ms-jitter
//!   network 10-20 % of pings miss the 15 ms ack wait and go indirect: ~128 datagrams
//!   per second per member for 3 members, ~218 for 10.)
//!
//! Measured figures and the commands that reproduce them are in `members/README.md`.

mod config;
mod gossip;
mod probe;
mod state;
pub mod wire;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use core::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use thiserror::Error;
use tracing::{debug, info, warn};

pub use config::{ConfigError, DEFAULT_PORT, MIN_DATAGRAM_SIZE, MembersConfig};
use gossip::Queue;
use probe::{Probe, Prober, Relay};
use state::{Status, SuspicionParams, Table};
use wire::{Body, Codec, MAX_META_LEN, MAX_NAME_LEN, Message, Update, WireError};

use crate::time::Instant;

/// Who we are: the name is the Kubernetes node name, the address where we listen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Unique member name (1 to 255 bytes of UTF-8).
    pub name: String,
    /// Our membership UDP address, as peers reach it.
    pub addr: SocketAddr,
}

/// A datagram for the driver to send from our membership socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Destination.
    pub to: SocketAddr,
    /// Payload, at most `max_datagram_size` bytes.
    pub data: Vec<u8>,
}

/// A change of membership, for the speaker to re-run its elections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberEvent {
    /// A member is (again) alive.
    Up {
        /// Its name.
        name: String,
        /// Where it listens.
        addr: SocketAddr,
        /// Its incarnation.
        incarnation: u32,
        /// Why.
        reason: UpReason,
    },
    /// A member failed.
    Down {
        /// Its name.
        name: String,
        /// The incarnation that died.
        incarnation: u32,
        /// Why we believe it.
        reason: DownReason,
    },
    /// A member left gracefully.
    Left {
        /// Its name.
        name: String,
        /// The incarnation that left.
        incarnation: u32,
    },
    /// A live member changed its metadata ([`Members::member_meta`]).
    Updated {
        /// Its name.
        name: String,
        /// The incarnation carrying the new metadata.
        incarnation: u32,
    },
}

impl MemberEvent {
    /// The member this event is about.
    pub fn name(&self) -> &str {
        match self {
            Self::Up { name, .. }
            | Self::Down { name, .. }
            | Self::Left { name, .. }
            | Self::Updated { name, .. } => name,
        }
    }
}

/// Why a member is up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpReason {
    /// First heard of.
    Joined,
    /// Was dead or had left, and came back with a newer incarnation (a restart).
    Rejoined,
    /// Still alive, now at another address.
    AddressChanged,
}

/// Why a member is down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DownReason {
    /// Our own suspicion timer ran out, after this many independent confirmations.
    SuspicionExpired {
        /// Accusers besides the first.
        confirmations: u32,
    },
    /// Another member's timer ran out first, and it told us.
    DeclaredBy {
        /// That member.
        by: String,
    },
}

/// Counters for metrics; they only ever increase.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Datagrams handed to the driver.
    pub datagrams_sent: u64,
    /// Their bytes.
    pub bytes_sent: u64,
    /// Datagrams received.
    pub datagrams_received: u64,
    /// Their bytes.
    pub bytes_received: u64,
    /// Dropped: wrong or missing HMAC tag.
    pub bad_mac: u64,
    /// Dropped: unknown protocol version.
    pub bad_version: u64,
    /// Dropped: too short, or authenticated but not well-formed.
    pub malformed: u64,
    /// Dropped: a ping or ping-req meant for another name at our address, or a
    /// datagram that claims to come from us.
    pub misdirected: u64,
    /// Pings sent (direct probes, retries and relayed pings).
    pub pings_sent: u64,
    /// Acks sent.
    pub acks_sent: u64,
    /// Ping-reqs sent.
    pub ping_reqs_sent: u64,
    /// Nacks sent.
    pub nacks_sent: u64,
    /// Gossip datagrams sent (including suspicion reminders and refutations).
    pub gossip_sent: u64,
    /// Full-state sync datagrams sent.
    pub syncs_sent: u64,
    /// Leave datagrams sent.
    pub leaves_sent: u64,
    /// Probes started.
    pub probes: u64,
    /// Probes that failed (target became or stayed suspect).
    pub probes_failed: u64,
    /// Times we refuted news of our own suspicion or death.
    pub refutations: u64,
}

/// Why [`Members::new`] refused.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum MembersError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An empty key would authenticate nothing.
    #[error("the membership key is empty")]
    EmptyKey,
    /// The member name is empty or longer than 255 bytes.
    #[error("member name must be 1 to {MAX_NAME_LEN} bytes, got {0}")]
    BadName(usize),
    /// Metadata longer than fits in one `Alive`.
    #[error("member metadata must be at most {MAX_META_LEN} bytes, got {0}")]
    MetaTooLong(usize),
}

#[derive(Clone, Debug)]
struct Joining {
    seeds: Vec<SocketAddr>,
    attempts_left: u32,
    next: Instant,
}

#[derive(Clone, Debug)]
struct Leaving {
    seq: u32,
    pending: BTreeMap<String, SocketAddr>,
    retries_left: u32,
    next: Instant,
}

/// One member's view of the cluster and its side of the protocol.
#[derive(Debug)]
pub struct Members {
    cfg: MembersConfig,
    me: Member,
    incarnation: u32,
    codec: Codec,
    rng: ChaCha8Rng,
    table: Table,
    prober: Prober,
    queue: Queue,
    out: VecDeque<Transmit>,
    events: VecDeque<MemberEvent>,
    counters: Counters,
    seq: u32,
    started: bool,
    next_probe: Option<Instant>,
    next_gossip: Option<Instant>,
    next_push_pull: Option<Instant>,
    next_reconnect: Option<Instant>,
    joining: Option<Joining>,
    leaving: Option<Leaving>,
    /// When we last synced with a member that talked to us while we did not hold it
    /// live, so that a burst of its datagrams costs one exchange.
    stranger_syncs: BTreeMap<String, Instant>,
    /// Our own metadata, sent in every `Alive` of ours.
    meta: Vec<u8>,
}

impl Members {
    /// A member that knows nobody yet. Timers start with the first call that brings a
    /// time (normally [`join`](Self::join)). `key` is the shared cluster secret; `seed`
    /// seeds every random choice.
    pub fn new(
        config: MembersConfig,
        me: Member,
        key: &[u8],
        seed: u64,
    ) -> Result<Self, MembersError> {
        config.validate()?;
        if key.is_empty() {
            return Err(MembersError::EmptyKey);
        }
        if me.name.is_empty() || me.name.len() > MAX_NAME_LEN {
            return Err(MembersError::BadName(me.name.len()));
        }
        Ok(Self {
            cfg: config,
            me,
            incarnation: 0,
            codec: Codec::new(key),
            rng: ChaCha8Rng::seed_from_u64(seed),
            table: Table::default(),
            prober: Prober::default(),
            queue: Queue::default(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            counters: Counters::default(),
            seq: 0,
            started: false,
            next_probe: None,
            next_gossip: None,
            next_push_pull: None,
            next_reconnect: None,
            joining: None,
            leaving: None,
            stranger_syncs: BTreeMap::new(),
            meta: Vec::new(),
        })
    }

    /// Our name.
    pub fn name(&self) -> &str {
        &self.me.name
    }

    /// Our current incarnation (raised by every refutation).
    pub fn incarnation(&self) -> u32 {
        self.incarnation
    }

    /// Live members (alive or suspect), ourselves included unless we left, sorted by
    /// name: what the election runs over.
    pub fn members(&self) -> impl Iterator<Item = &str> + '_ {
        let mut v: Vec<&str> = self.table.live_names().collect();
        if self.leaving.is_none() {
            let at = v
                .binary_search(&self.me.name.as_str())
                .unwrap_or_else(|i| i);
            v.insert(at, &self.me.name);
        }
        v.into_iter()
    }

    /// Where a live member listens.
    pub fn member_addr(&self, name: &str) -> Option<SocketAddr> {
        self.table.get(name).filter(|n| n.is_live()).map(|n| n.addr)
    }

    /// Is `name` suspect right now (alive for the election, but under suspicion)?
    pub fn is_suspect(&self, name: &str) -> bool {
        matches!(
            self.table.get(name).map(|n| &n.status),
            Some(Status::Suspect(_))
        )
    }

    /// Counters for metrics.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Local health score (0 = healthy); probe timeouts are scaled by `1 + score`.
    pub fn local_health(&self) -> u32 {
        self.prober.awareness
    }

    /// After [`leave`](Self::leave): every member acknowledged, or we gave up
    /// retrying. The driver may stop answering then.
    pub fn leave_complete(&self) -> bool {
        self.leaving
            .as_ref()
            .is_some_and(|l| l.pending.is_empty() || l.retries_left == 0)
    }

    /// What a live member last said about itself (empty if it said nothing); our own
    /// for our name.
    pub fn member_meta(&self, name: &str) -> Option<&[u8]> {
        if name == self.me.name {
            return Some(&self.meta);
        }
        self.table
            .get(name)
            .filter(|n| n.is_live())
            .map(|n| n.meta.as_slice())
    }

    /// Replaces our metadata. A change takes a new incarnation, so that it overrides
    /// what members already hold, and is gossiped at once. Metadata longer than
    /// [`MAX_META_LEN`] is refused.
    pub fn set_meta(&mut self, now: Instant, meta: Vec<u8>) -> Result<(), MembersError> {
        if meta.len() > MAX_META_LEN {
            return Err(MembersError::MetaTooLong(meta.len()));
        }
        if meta == self.meta {
            return Ok(());
        }
        self.meta = meta;
        if !self.started || self.leaving.is_some() {
            // Not gossiping yet (the first Alive will carry it), or on our way out.
            return Ok(());
        }
        let Some(next) = self.incarnation.checked_add(1) else {
            warn!(member = %self.me.name, "incarnation space exhausted; metadata not spread");
            return Ok(());
        };
        self.incarnation = next;
        self.queue.push(self.my_alive());
        self.gossip_soon(now);
        self.drive(now);
        Ok(())
    }

    /// Contacts `seeds` (our own address is skipped) with a full-state exchange,
    /// retried until one answers. With no seeds this just starts the timers: the
    /// first member of a cluster joins nobody.
    pub fn join(&mut self, now: Instant, seeds: &[SocketAddr]) {
        if self.leaving.is_some() {
            return;
        }
        self.start(now);
        let seeds: Vec<SocketAddr> = seeds
            .iter()
            .copied()
            .filter(|s| *s != self.me.addr)
            .collect();
        if seeds.is_empty() {
            return;
        }
        for s in &seeds {
            self.send_sync(*s, true);
        }
        self.joining = Some(Joining {
            seeds,
            attempts_left: self.cfg.join_attempts.saturating_sub(1),
            next: now + self.cfg.join_retry_interval,
        });
        self.drive(now);
    }

    /// Leaves gracefully: everybody drops us at once instead of suspecting us. We stop
    /// probing; we keep answering until [`leave_complete`](Self::leave_complete).
    pub fn leave(&mut self, now: Instant) {
        if self.leaving.is_some() {
            return;
        }
        self.start(now);
        let left = Update::Left {
            name: self.me.name.clone(),
            incarnation: self.incarnation,
        };
        let pending: BTreeMap<String, SocketAddr> = self
            .table
            .nodes
            .iter()
            .filter(|(_, n)| n.is_live())
            .map(|(k, n)| (k.clone(), n.addr))
            .collect();
        let seq = self.next_seq();
        for (name, addr) in &pending {
            self.send(*addr, Body::Leave { seq }, Some(name), vec![left.clone()]);
        }
        info!(member = %self.me.name, peers = pending.len(), "leaving the membership");
        self.queue.push(left);
        self.gossip_soon(now);
        self.leaving = Some(Leaving {
            seq,
            pending,
            retries_left: self.cfg.leave_retransmits,
            next: now + self.cfg.probe_timeout,
        });
        self.prober.probes.clear();
        self.prober.relays.clear();
        self.next_probe = None;
        self.next_push_pull = None;
        self.next_reconnect = None;
        self.joining = None;
        self.drive(now);
    }

    /// A datagram arrived on the membership socket from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        self.start(now);
        self.counters.datagrams_received += 1;
        self.counters.bytes_received += data.len() as u64;
        let msg = match self.codec.decode(data) {
            Ok(m) => m,
            Err(e) => {
                match e {
                    WireError::BadMac => self.counters.bad_mac += 1,
                    WireError::BadVersion(_) => self.counters.bad_version += 1,
                    WireError::TooShort(_) | WireError::Malformed(_) => {
                        self.counters.malformed += 1
                    }
                }
                debug!(%from, error = %e, "dropped membership datagram");
                return;
            }
        };
        if msg.sender == self.me.name {
            self.counters.misdirected += 1;
            debug!(%from, "dropped datagram claiming to be from us");
            return;
        }
        if self.leaving.is_some() {
            self.handle_while_leaving(from, msg);
            self.drive(now);
            return;
        }
        // A direct ack to a ping that was not retried is a clean round-trip sample
        // (Karn's rule); take it before the probe is resolved below.
        if let Body::Ack { seq } = &msg.body
            && let Some(p) = self.prober.probes.get(seq)
            && !p.indirect_sent
            && p.target == msg.sender
        {
            let rtt = now.since(p.started);
            self.prober.sample(rtt);
        }
        // Any authenticated word from a member is proof of life for our probes of it.
        if self.prober.heard_from(&msg.sender) > 0 {
            self.prober.adjust(-1, self.cfg.awareness_max);
        }
        // Updates first: an ack carrying a refutation must clear the suspicion before
        // anything else looks at it.
        let is_sync = matches!(msg.body, Body::Sync { .. });
        for u in &msg.updates {
            match u {
                // A full state is history, not an observation: a member that another
                // side of a healed partition holds dead may be alive and well here.
                // As memberlist does, take a remote death as a suspicion, which the
                // member refutes within a round trip if it is alive.
                Update::Dead {
                    name, incarnation, ..
                } if is_sync && *name != self.me.name && self.member_addr(name).is_some() => {
                    let u = Update::Suspect {
                        name: name.clone(),
                        incarnation: *incarnation,
                        from: msg.sender.clone(),
                    };
                    self.apply(now, &u, Some(from));
                }
                _ => self.apply(now, u, Some(from)),
            }
        }
        let says_goodbye = msg
            .updates
            .iter()
            .any(|u| matches!(u, Update::Left { name, .. } if *name == msg.sender));
        if !matches!(msg.body, Body::Sync { .. })
            && !says_goodbye
            && self.member_addr(&msg.sender).is_none()
        {
            self.sync_with_stranger(now, &msg.sender, from);
        }
        match msg.body {
            Body::Ping { seq, target } => {
                if target == self.me.name {
                    self.send(from, Body::Ack { seq }, Some(&msg.sender), vec![]);
                } else {
                    self.counters.misdirected += 1;
                    debug!(%from, %target, "ping for another member at our address");
                }
            }
            Body::Ack { seq } => {
                if self.prober.probes.remove(&seq).is_some() {
                    self.prober.adjust(-1, self.cfg.awareness_max);
                } else if let Some(r) = self.prober.relays.remove(&seq) {
                    self.send(
                        r.requester,
                        Body::Ack {
                            seq: r.requester_seq,
                        },
                        None,
                        vec![],
                    );
                }
            }
            Body::Nack { seq } => {
                if let Some(p) = self.prober.probes.get_mut(&seq) {
                    p.nacks += 1;
                }
            }
            Body::PingReq { seq, target, addr } => {
                if target == self.me.name {
                    self.send(from, Body::Ack { seq }, Some(&msg.sender), vec![]);
                } else {
                    let relay_seq = self.next_seq();
                    let nack_after = self.prober.scale(self.timeouts().1) * 4 / 5;
                    self.prober.relays.insert(
                        relay_seq,
                        Relay {
                            requester: from,
                            requester_seq: seq,
                            nack_at: now + nack_after,
                        },
                    );
                    let extra = self.suspicion_reminder(&target).into_iter().collect();
                    self.send(
                        addr,
                        Body::Ping {
                            seq: relay_seq,
                            target: target.clone(),
                        },
                        Some(&target),
                        extra,
                    );
                }
            }
            Body::Gossip => {}
            Body::Sync { reply } => {
                if self.joining.take().is_some() {
                    info!(member = %self.me.name, via = %msg.sender, "joined the membership");
                }
                if reply {
                    self.send_sync(from, false);
                }
            }
            Body::Leave { seq } => self.send(from, Body::Ack { seq }, Some(&msg.sender), vec![]),
        }
        self.drive(now);
    }

    /// The timer from [`poll_timeout`](Self::poll_timeout) fired (calling it early or
    /// late is harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.start(now);
        self.drive(now);
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    /// The next membership event.
    pub fn poll_event(&mut self) -> Option<MemberEvent> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next; `None` until
    /// started, or once there is nothing left to do after leaving.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut at = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        at(self.next_probe);
        at(self.prober.next_deadline());
        if !self.queue.is_empty() {
            at(self.next_gossip);
        }
        at(self.next_push_pull);
        if self.has_dead() {
            at(self.next_reconnect);
        }
        at(self.joining.as_ref().map(|j| j.next));
        at(self
            .leaving
            .as_ref()
            .filter(|l| l.retries_left > 0 && !l.pending.is_empty())
            .map(|l| l.next));
        if self.leaving.is_none() {
            for n in self.table.nodes.values() {
                if let Status::Suspect(s) = &n.status {
                    at(Some(s.deadline.min(s.next_nudge)));
                }
            }
        }
        t
    }

    // ---- internals -------------------------------------------------------------------

    fn start(&mut self, now: Instant) {
        if self.started {
            return;
        }
        self.started = true;
        // Random phases, so that members started together do not probe in lockstep
        // nor push-pull at the same moment.
        let phase = |rng: &mut ChaCha8Rng, d: Duration| {
            let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1);
            Duration::from_nanos(rng.next_u64() % nanos)
        };
        let p = phase(&mut self.rng, self.cfg.probe_interval);
        self.next_probe = Some(now + p);
        let half = self.cfg.push_pull_interval / 2;
        let pp = phase(&mut self.rng, half);
        self.next_push_pull = Some(now + half + pp);
        // Reuses the probe phase: no extra draw, so runs without deaths are unchanged.
        self.next_reconnect = Some(now + self.cfg.reconnect_interval + p);
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn n(&self) -> usize {
        self.table.live_count() + 1
    }

    fn params(&self) -> SuspicionParams {
        SuspicionParams {
            min: self.suspicion_min(),
            max: self.cfg.suspicion_max,
            confirmations: self.cfg.suspicion_confirmations,
        }
    }

    /// Probe and indirect timeouts before local-health scaling: RFC 6298's
    /// `srtt + 4·rttvar` over measured direct round trips, clamped between
    /// `probe_timeout_min` and `probe_timeout` (twice that, up to `indirect_timeout`,
    /// for the four-hop relayed path). Before any measurement, the maxima.
    fn timeouts(&self) -> (Duration, Duration) {
        let max = self.cfg.probe_timeout;
        let min = self.cfg.probe_timeout_min.min(max);
        let rto = self.prober.rto().unwrap_or(max);
        let pt = rto.clamp(min, max);
        let it = (rto * 2).clamp(
            (min * 2).min(self.cfg.indirect_timeout),
            self.cfg.indirect_timeout,
        );
        (pt, it)
    }

    /// `suspicion_min` holds at the maximal probe timeout; on a faster network it
    /// shrinks in proportion, but never below the time a confirming probe takes (plus a
    /// third), or confirmations could not arrive in time to matter.
    fn suspicion_min(&self) -> Duration {
        let (pt, it) = self.timeouts();
        let max = self.cfg.probe_timeout.as_nanos().max(1);
        let scaled = self.cfg.suspicion_min.as_nanos() * pt.as_nanos() / max;
        let scaled = Duration::from_nanos(u64::try_from(scaled).unwrap_or(u64::MAX));
        scaled.max((pt + it) * 4 / 3).min(self.cfg.suspicion_min)
    }

    /// Reminders to a suspect go out every two round-trip timeouts, between
    /// `probe_timeout_min` (so that a dead member is not flooded by every holder on a
    /// fast LAN) and `suspicion_nudge_interval`.
    fn nudge_interval(&self) -> Duration {
        let max = self.cfg.suspicion_nudge_interval;
        let min = self.cfg.probe_timeout_min.min(max);
        let rto = self.prober.rto().unwrap_or(max);
        (rto * 2).clamp(min, max)
    }

    fn gossip_soon(&mut self, now: Instant) {
        self.next_gossip = Some(self.next_gossip.map_or(now, |g| g.min(now)));
    }

    fn my_alive(&self) -> Update {
        Update::Alive {
            name: self.me.name.clone(),
            incarnation: self.incarnation,
            addr: self.me.addr,
            meta: self.meta.clone(),
        }
    }

    /// The suspicion about `name` we hold, phrased as a message to send it.
    fn suspicion_reminder(&self, name: &str) -> Option<Update> {
        let n = self.table.get(name)?;
        let Status::Suspect(s) = &n.status else {
            return None;
        };
        let from = if s.accusers.contains(&self.me.name) {
            self.me.name.clone()
        } else {
            s.accusers.iter().next()?.clone()
        };
        Some(Update::Suspect {
            name: name.to_owned(),
            incarnation: n.incarnation,
            from,
        })
    }

    /// Builds, authenticates and queues one datagram: `extra` first, then queued
    /// updates (those about `about` first) while they fit.
    fn send(&mut self, to: SocketAddr, body: Body, about: Option<&str>, extra: Vec<Update>) {
        let mut budget = self
            .cfg
            .max_datagram_size
            .saturating_sub(Message::overhead(&self.me.name, &body));
        let mut updates = Vec::with_capacity(extra.len());
        for u in extra {
            let len = u.encoded_len();
            if len <= budget {
                budget -= len;
                updates.push(u);
            }
        }
        let limit = self.cfg.retransmit_limit(self.n());
        updates.extend(self.queue.take(budget, about, limit));
        if matches!(body, Body::Gossip) && updates.is_empty() {
            return;
        }
        match body {
            Body::Ping { .. } => self.counters.pings_sent += 1,
            Body::Ack { .. } => self.counters.acks_sent += 1,
            Body::Nack { .. } => self.counters.nacks_sent += 1,
            Body::PingReq { .. } => self.counters.ping_reqs_sent += 1,
            Body::Gossip => self.counters.gossip_sent += 1,
            Body::Sync { .. } => self.counters.syncs_sent += 1,
            Body::Leave { .. } => self.counters.leaves_sent += 1,
        }
        let msg = Message {
            sender: self.me.name.clone(),
            body,
            updates,
        };
        self.emit(to, &msg);
    }

    fn emit(&mut self, to: SocketAddr, msg: &Message) {
        let data = self.codec.encode(msg);
        self.counters.datagrams_sent += 1;
        self.counters.bytes_sent += data.len() as u64;
        self.out.push_back(Transmit { to, data });
    }

    /// Our full state, split into as many datagrams as it takes; only the first asks
    /// for a reply, so a split state is answered once.
    fn send_sync(&mut self, to: SocketAddr, reply: bool) {
        let mut entries = vec![self.my_alive()];
        entries.extend(self.table.snapshot(&self.me.name));
        let mut first = true;
        let mut it = entries.into_iter().peekable();
        while it.peek().is_some() {
            let body = Body::Sync {
                reply: reply && first,
            };
            let mut budget = self.cfg.max_datagram_size - Message::overhead(&self.me.name, &body);
            let mut chunk = Vec::new();
            while let Some(u) = it.peek() {
                let len = u.encoded_len();
                if len > budget && !chunk.is_empty() {
                    break;
                }
                budget = budget.saturating_sub(len);
                chunk.extend(it.next());
            }
            first = false;
            self.counters.syncs_sent += 1;
            let msg = Message {
                sender: self.me.name.clone(),
                body,
                updates: chunk,
            };
            self.emit(to, &msg);
        }
    }

    /// A member we do not hold live is talking to us: it knows us, we missed its
    /// join (gossip is probabilistic) or hold it dead (it may not know yet, and must
    /// refute). A full-state exchange settles both, at most once per second per name.
    fn sync_with_stranger(&mut self, now: Instant, name: &str, from: SocketAddr) {
        const HOLD_OFF: Duration = Duration::from_secs(1);
        if let Some(at) = self.stranger_syncs.get(name)
            && now.since(*at) < HOLD_OFF
        {
            return;
        }
        self.stranger_syncs
            .retain(|_, at| now.since(*at) < HOLD_OFF);
        self.stranger_syncs.insert(name.to_owned(), now);
        debug!(member = %name, %from, "datagram from a member we do not hold live; syncing");
        self.send_sync(from, true);
    }

    fn apply(&mut self, now: Instant, u: &Update, from: Option<SocketAddr>) {
        if u.name() == self.me.name {
            self.apply_about_me(now, u, from);
            return;
        }
        let name = u.name().to_owned();
        let params = self.params();
        let a = self.table.apply(u, now, &self.me.name, params);
        if a.rebroadcast {
            self.queue.push(u.clone());
            self.gossip_soon(now);
        }
        if a.went_down {
            self.prober.cancel(&name);
        }
        if let Some(ev) = a.event {
            match &ev {
                MemberEvent::Up {
                    addr,
                    reason,
                    incarnation,
                    ..
                } => {
                    info!(member = %name, %addr, incarnation, ?reason, "member up");
                    self.prober.insert(&name, &mut self.rng);
                }
                MemberEvent::Down {
                    reason,
                    incarnation,
                    ..
                } => {
                    info!(member = %name, incarnation, ?reason, "member down");
                }
                MemberEvent::Left { incarnation, .. } => {
                    info!(member = %name, incarnation, "member left")
                }
                MemberEvent::Updated { incarnation, .. } => {
                    debug!(member = %name, incarnation, "member metadata changed")
                }
            }
            self.events.push_back(ev);
        }
        if a.suspicion_started {
            debug!(member = %name, "suspicion received");
            self.maybe_confirm(now, &name);
        }
    }

    /// Somebody else suspects `name`: probe it ourselves right away, so that a real
    /// failure is confirmed within one probe instead of one round. In large clusters
    /// only about `3K` members do, which is plenty and bounds the burst at the suspect.
    fn maybe_confirm(&mut self, now: Instant, name: &str) {
        let Some(Status::Suspect(s)) = self.table.get(name).map(|n| &n.status) else {
            return;
        };
        let k = u64::from(s.expected);
        let others = self.n().saturating_sub(2) as u64;
        if k == 0 || others == 0 || self.prober.probing(name) {
            return;
        }
        if self.rng.next_u64() % others < 3 * k {
            self.start_probe(now, name.to_owned());
        }
    }

    fn apply_about_me(&mut self, now: Instant, u: &Update, from: Option<SocketAddr>) {
        if self.leaving.is_some() {
            return;
        }
        let inc = u.incarnation();
        let must_refute = match u {
            Update::Alive { addr, .. } => {
                inc > self.incarnation || (inc == self.incarnation && *addr != self.me.addr)
            }
            Update::Suspect { .. } | Update::Dead { .. } | Update::Left { .. } => {
                inc >= self.incarnation
            }
        };
        if must_refute {
            let Some(next) = inc.checked_add(1) else {
                warn!(member = %self.me.name, "incarnation space exhausted; cannot refute");
                return;
            };
            self.incarnation = next;
            self.counters.refutations += 1;
            if matches!(u, Update::Suspect { .. }) {
                // Being suspected hints that we are the slow one (Lifeguard).
                self.prober.adjust(1, self.cfg.awareness_max);
            }
            info!(member = %self.me.name, incarnation = next, news = ?u, "refuting");
            let alive = self.my_alive();
            self.queue.push(alive.clone());
            self.gossip_soon(now);
            if let Some(from) = from {
                self.send(from, Body::Gossip, None, vec![alive]);
            }
        } else if !matches!(u, Update::Alive { .. })
            && let Some(from) = from
        {
            // Stale bad news about us: correct the messenger directly.
            let alive = self.my_alive();
            self.send(from, Body::Gossip, None, vec![alive]);
        }
    }

    fn handle_while_leaving(&mut self, from: SocketAddr, msg: Message) {
        let left = Update::Left {
            name: self.me.name.clone(),
            incarnation: self.incarnation,
        };
        match msg.body {
            Body::Ack { seq } => {
                if let Some(l) = self.leaving.as_mut()
                    && l.seq == seq
                {
                    l.pending.remove(&msg.sender);
                }
            }
            // Requests get our goodbye instead of an answer.
            Body::Ping { .. } | Body::PingReq { .. } | Body::Sync { .. } => {
                self.send(from, Body::Gossip, None, vec![left]);
            }
            Body::Leave { seq } => self.send(from, Body::Ack { seq }, None, vec![]),
            Body::Gossip | Body::Nack { .. } => {}
        }
    }

    /// Runs every timer that is due.
    fn drive(&mut self, now: Instant) {
        if !self.started {
            return;
        }
        self.drive_join(now);
        self.drive_leave(now);
        if self.leaving.is_none() {
            self.drive_probes(now);
            self.drive_suspicions(now);
            self.drive_push_pull(now);
            self.drive_reconnect(now);
        }
        self.drive_gossip(now);
    }

    fn drive_join(&mut self, now: Instant) {
        let Some(j) = self.joining.as_mut() else {
            return;
        };
        if j.next > now {
            return;
        }
        if j.attempts_left == 0 {
            warn!(member = %self.me.name, seeds = ?j.seeds, "no seed answered; giving up joining");
            self.joining = None;
            return;
        }
        j.attempts_left -= 1;
        j.next = now + self.cfg.join_retry_interval;
        let seeds = j.seeds.clone();
        for s in seeds {
            self.send_sync(s, true);
        }
    }

    fn drive_leave(&mut self, now: Instant) {
        let Some(l) = self.leaving.as_mut() else {
            return;
        };
        if l.next > now || l.retries_left == 0 || l.pending.is_empty() {
            return;
        }
        l.retries_left -= 1;
        l.next = now + self.cfg.probe_timeout;
        let (seq, pending) = (l.seq, l.pending.clone());
        let left = Update::Left {
            name: self.me.name.clone(),
            incarnation: self.incarnation,
        };
        for (name, addr) in pending {
            self.send(addr, Body::Leave { seq }, Some(&name), vec![left.clone()]);
        }
    }

    fn drive_probes(&mut self, now: Instant) {
        // New probe.
        if let Some(at) = self.next_probe
            && at <= now
        {
            let mut next = at + self.cfg.probe_interval;
            if next <= now {
                next = now + self.cfg.probe_interval;
            }
            self.next_probe = Some(next);
            let live: Vec<String> = self.table.live_names().map(str::to_owned).collect();
            let live_ref: Vec<&str> = live.iter().map(String::as_str).collect();
            if let Some(target) = self.prober.next_target(&live_ref, &mut self.rng) {
                self.start_probe(now, target);
            }
        }
        // Relays whose target did not answer us: nack.
        let due: Vec<u32> = self
            .prober
            .relays
            .iter()
            .filter(|(_, r)| r.nack_at <= now)
            .map(|(s, _)| *s)
            .collect();
        for s in due {
            if let Some(r) = self.prober.relays.remove(&s) {
                self.send(
                    r.requester,
                    Body::Nack {
                        seq: r.requester_seq,
                    },
                    None,
                    vec![],
                );
            }
        }
        // Probes: go indirect, or fail.
        let seqs: Vec<u32> = self.prober.probes.keys().copied().collect();
        for seq in seqs {
            let Some(p) = self.prober.probes.get(&seq).cloned() else {
                continue;
            };
            if p.indirect_sent {
                if p.deadline <= now {
                    self.prober.probes.remove(&seq);
                    self.probe_failed(now, &p);
                }
            } else if p.ack_deadline <= now {
                self.go_indirect(seq, &p);
                if p.deadline <= now {
                    self.prober.probes.remove(&seq);
                    self.probe_failed(now, &p);
                }
            }
        }
    }

    fn start_probe(&mut self, now: Instant, target: String) {
        let Some(addr) = self
            .table
            .get(&target)
            .filter(|n| n.is_live())
            .map(|n| n.addr)
        else {
            return;
        };
        let seq = self.next_seq();
        let (pt, it) = self.timeouts();
        let (pt, it) = (self.prober.scale(pt), self.prober.scale(it));
        self.prober.probes.insert(
            seq,
            Probe {
                target: target.clone(),
                addr,
                started: now,
                ack_deadline: now + pt,
                deadline: now + pt + it,
                indirect_sent: false,
                expected_nacks: 0,
                nacks: 0,
            },
        );
        self.counters.probes += 1;
        let extra = self.suspicion_reminder(&target).into_iter().collect();
        self.send(
            addr,
            Body::Ping {
                seq,
                target: target.clone(),
            },
            Some(&target),
            extra,
        );
    }

    fn go_indirect(&mut self, seq: u32, p: &Probe) {
        let mut relays: Vec<(String, SocketAddr)> = self
            .table
            .nodes
            .iter()
            .filter(|(k, n)| n.is_live() && **k != p.target)
            .map(|(k, n)| (k.clone(), n.addr))
            .collect();
        // Partial Fisher-Yates: the first k are a uniform random choice.
        let k = self.cfg.indirect_checks.min(relays.len());
        for i in 0..k {
            let j = i + (self.rng.next_u64() % (relays.len() - i) as u64) as usize;
            relays.swap(i, j);
        }
        relays.truncate(k);
        for (name, addr) in &relays {
            let body = Body::PingReq {
                seq,
                target: p.target.clone(),
                addr: p.addr,
            };
            self.send(*addr, body, Some(name), vec![]);
        }
        // And one more direct try: at 5 % loss a single retry halves the
        // suspicion rate on its own.
        let extra = self.suspicion_reminder(&p.target).into_iter().collect();
        self.send(
            p.addr,
            Body::Ping {
                seq,
                target: p.target.clone(),
            },
            Some(&p.target),
            extra,
        );
        if let Some(live) = self.prober.probes.get_mut(&seq) {
            live.indirect_sent = true;
            live.expected_nacks = u32::try_from(k).unwrap_or(u32::MAX);
        }
    }

    fn probe_failed(&mut self, now: Instant, p: &Probe) {
        self.counters.probes_failed += 1;
        let delta = if p.expected_nacks > 0 {
            i64::from(p.expected_nacks.saturating_sub(p.nacks))
        } else {
            1
        };
        self.prober.adjust(delta, self.cfg.awareness_max);
        let Some(node) = self.table.get(&p.target).filter(|n| n.is_live()) else {
            return;
        };
        debug!(member = %p.target, nacks = p.nacks, expected = p.expected_nacks, "probe failed");
        let u = Update::Suspect {
            name: p.target.clone(),
            incarnation: node.incarnation,
            from: self.me.name.clone(),
        };
        self.apply(now, &u, None);
    }

    fn drive_suspicions(&mut self, now: Instant) {
        let nudge_interval = self.nudge_interval();
        let mut expired = Vec::new();
        let mut nudge = Vec::new();
        for (name, n) in &mut self.table.nodes {
            if let Status::Suspect(s) = &mut n.status {
                if s.deadline <= now {
                    expired.push((name.clone(), n.incarnation));
                } else if s.next_nudge <= now {
                    s.next_nudge = now + nudge_interval;
                    nudge.push((name.clone(), n.addr));
                }
            }
        }
        for (name, inc) in expired {
            let u = Update::Dead {
                name,
                incarnation: inc,
                from: self.me.name.clone(),
            };
            self.apply(now, &u, None);
        }
        for (name, addr) in nudge {
            let extra = self.suspicion_reminder(&name).into_iter().collect();
            self.send(addr, Body::Gossip, Some(&name), extra);
        }
    }

    fn drive_push_pull(&mut self, now: Instant) {
        let Some(at) = self.next_push_pull else {
            return;
        };
        if at > now {
            return;
        }
        self.next_push_pull = Some(now + self.cfg.push_pull_interval);
        let reaped = self.table.reap(now, self.cfg.tombstone_ttl);
        for name in &reaped {
            self.queue.forget(name);
        }
        if !reaped.is_empty() {
            debug!(reaped = reaped.len(), "forgot old tombstones");
        }
        // Live members and remembered dead ones (to heal partitions); not those that left.
        let candidates: Vec<SocketAddr> = self
            .table
            .nodes
            .values()
            .filter(|n| n.is_live() || (n.status == Status::Dead && n.addr.port() != 0))
            .map(|n| n.addr)
            .collect();
        if candidates.is_empty() {
            return;
        }
        let to = candidates[(self.rng.next_u64() % candidates.len() as u64) as usize];
        self.send_sync(to, true);
    }

    /// Dead members we could still reach (their address is known).
    fn has_dead(&self) -> bool {
        self.table
            .nodes
            .values()
            .any(|n| n.status == Status::Dead && n.addr.port() != 0)
    }

    /// Pings one random dead member: if it is alive after all (a healed partition, a
    /// process that was only paused), it answers, each side sees a member it holds
    /// dead talking to it, and the full-state exchange that triggers makes both refute.
    /// One small datagram per `reconnect_interval`, only while dead members are
    /// remembered.
    fn drive_reconnect(&mut self, now: Instant) {
        let Some(at) = self.next_reconnect else {
            return;
        };
        if at > now {
            return;
        }
        self.next_reconnect = Some(now + self.cfg.reconnect_interval);
        let dead: Vec<(String, SocketAddr)> = self
            .table
            .nodes
            .iter()
            .filter(|(_, n)| n.status == Status::Dead && n.addr.port() != 0)
            .map(|(k, n)| (k.clone(), n.addr))
            .collect();
        if dead.is_empty() {
            return;
        }
        let (name, addr) = dead[(self.rng.next_u64() % dead.len() as u64) as usize].clone();
        let seq = self.next_seq();
        self.send(
            addr,
            Body::Ping {
                seq,
                target: name.clone(),
            },
            Some(&name),
            vec![],
        );
    }

    fn drive_gossip(&mut self, now: Instant) {
        let Some(at) = self.next_gossip else { return };
        if at > now {
            return;
        }
        if self.queue.is_empty() {
            self.next_gossip = None;
            return;
        }
        let mut targets: Vec<(String, SocketAddr)> = self
            .table
            .nodes
            .iter()
            .filter(|(_, n)| n.is_live())
            .map(|(k, n)| (k.clone(), n.addr))
            .collect();
        if targets.is_empty() {
            // Nobody to tell; the queue still rides on whatever we send later.
            self.next_gossip = None;
            return;
        }
        let k = self.cfg.gossip_nodes.min(targets.len());
        for i in 0..k {
            let j = i + (self.rng.next_u64() % (targets.len() - i) as u64) as usize;
            targets.swap(i, j);
        }
        targets.truncate(k);
        for (name, addr) in targets {
            self.send(addr, Body::Gossip, Some(&name), vec![]);
        }
        self.next_gossip = if self.queue.is_empty() {
            None
        } else {
            Some(now + self.cfg.gossip_interval)
        };
    }
}
