//! The neighbour cache (ARP for IPv4, ND for IPv6) as a pure state machine that follows
//! Linux's `net/core/neighbour.c`, `net/ipv4/arp.c` and `net/ipv6/ndisc.c`.
//!
//! Inputs are "send this packet to that IP", "this ARP / NS / NA arrived", "the timer
//! fired" and "carrier went down", each with the current time. Outputs are packets to
//! transmit with a resolved MAC, solicitations to send, packets dropped (and why) and
//! state changes for the trace. Nothing here touches frames, clocks or the fabric, so
//! every kernel rule can be pinned by a unit test (see `tests.rs`).
//!
//! How long a real failover takes for a client is decided here: how long a dead MAC is
//! kept (REACHABLE, then DELAY, then PROBE), what a gratuitous ARP may change, and the
//! `locktime` that makes the first of two answers win.

mod input;
mod params;
#[cfg(test)]
mod tests;

pub use input::is_garp;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::net::IpAddr;

pub use params::NeighParams;

use crate::frame::Mac;
use crate::rng::SimRng;
use crate::time::{Duration, Instant};

/// Neighbour Unreachability Detection states (`NUD_*`). "No entry" (`NUD_NONE`) is the
/// absence of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NudState {
    /// `NUD_NONE`: the entry exists (created by a lookup) but nothing is known yet.
    New,
    Incomplete,
    Reachable,
    Stale,
    Delay,
    Probe,
    Failed,
    Permanent,
}

impl NudState {
    /// `NUD_VALID`: a MAC is known and may be used.
    pub fn is_valid(self) -> bool {
        matches!(
            self,
            Self::Reachable | Self::Stale | Self::Delay | Self::Probe | Self::Permanent
        )
    }
    /// `NUD_CONNECTED`: known good without probing.
    pub fn is_connected(self) -> bool {
        matches!(self, Self::Reachable | Self::Permanent)
    }
    /// `NUD_IN_TIMER`: states that run the entry timer.
    pub fn in_timer(self) -> bool {
        matches!(
            self,
            Self::Incomplete | Self::Reachable | Self::Delay | Self::Probe
        )
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::New => "NONE",
            Self::Incomplete => "INCOMPLETE",
            Self::Reachable => "REACHABLE",
            Self::Stale => "STALE",
            Self::Delay => "DELAY",
            Self::Probe => "PROBE",
            Self::Failed => "FAILED",
            Self::Permanent => "PERMANENT",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::New,
            Self::Incomplete,
            Self::Reachable,
            Self::Stale,
            Self::Delay,
            Self::Probe,
            Self::Failed,
            Self::Permanent,
        ]
        .into_iter()
        .find(|st| st.name().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for NudState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why the table dropped a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NeighDrop {
    /// Resolution failed (INCOMPLETE or PROBE ran out of probes); queued packets are
    /// dropped with an error, as `neigh_invalidate` does.
    Failed,
    /// The INCOMPLETE queue exceeded `unres_qlen_bytes`; the oldest packet goes.
    QueueOverflow,
    /// The table is at `gc_thresh3` and forced GC freed nothing.
    TableFull,
    /// Carrier loss evicted the entry while packets waited.
    NoCarrier,
}

impl NeighDrop {
    pub fn name(self) -> &'static str {
        match self {
            Self::Failed => "neighbour FAILED",
            Self::QueueOverflow => "neighbour queue overflow",
            Self::TableFull => "neighbour table full",
            Self::NoCarrier => "neighbour evicted (no carrier)",
        }
    }
}

/// What a queued packet costs against `unres_qlen_bytes`. The kernel counts
/// `skb->truesize`; for the small packets the simulator sends that is about 768 bytes
/// on x86_64, so we charge the larger of 768 and length + 576.
pub fn truesize(len: usize) -> usize {
    (len + 576).max(768)
}

/// Outputs of the state machine, in the order the kernel would produce them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NeighOut<P> {
    Transmit {
        ip: IpAddr,
        mac: Mac,
        packet: P,
    },
    /// Send a solicitation for `ip`: unicast to `unicast` in PROBE, otherwise
    /// broadcast (ARP) or to the solicited-node group (ND).
    Solicit {
        ip: IpAddr,
        unicast: Option<Mac>,
    },
    Dropped {
        ip: IpAddr,
        packet: P,
        reason: NeighDrop,
    },
    /// The entry's state or MAC changed (`None` = entry removed).
    Changed {
        ip: IpAddr,
        state: Option<NudState>,
        mac: Option<Mac>,
    },
}

/// Flags of `neigh_update` (`NEIGH_UPDATE_F_*`) that the simulator needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpdateFlags {
    pub override_: bool,
    pub weak_override: bool,
}

/// Facts about an ARP packet the table cannot know by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpContext {
    /// The frame was addressed to our MAC (`PACKET_HOST`), not broadcast.
    pub to_us_unicast: bool,
    /// The target IP is one of this host's addresses.
    pub target_is_local: bool,
    /// The sender IP is one of this host's addresses (then it is not GARP).
    pub sender_is_local: bool,
    /// The sender IP is inside a subnet configured on this interface (arp_accept=2).
    pub sender_in_subnet: bool,
}

/// What the host must do after an ARP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArpVerdict {
    /// Answer with an ARP reply (a request for one of our addresses).
    Reply,
    /// Nothing to send (the table may have changed).
    Consumed,
    /// Dropped before the table saw it (`drop_gratuitous_arp`, bogus sender).
    Dropped,
}

/// A neighbour advertisement as the table sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NaInput {
    pub target: IpAddr,
    pub tllao: Option<Mac>,
    pub solicited: bool,
    pub override_: bool,
    /// Sent to a multicast destination (ff02::1 for unsolicited NA).
    pub dst_multicast: bool,
    /// Source is in one of our subnets (accept_untracked_na=2).
    pub src_in_subnet: bool,
}

/// Anything that can wait in the INCOMPLETE queue.
pub trait Queued {
    fn truesize(&self) -> usize;
}
impl Queued for Vec<u8> {
    fn truesize(&self) -> usize {
        truesize(self.len())
    }
}
impl Queued for crate::frame::IpPacket {
    fn truesize(&self) -> usize {
        truesize(self.ip().len())
    }
}

/// Internal timestamps are signed nanoseconds because the kernel back-dates
/// `confirmed` by `2 × base_reachable_time`, which can be before the start of a run.
type Ns = i64;

fn ns(t: Instant) -> Ns {
    t.as_nanos() as Ns
}
fn dur(d: Duration) -> Ns {
    d.as_nanos() as Ns
}

#[derive(Clone, Debug)]
struct Entry<P> {
    state: NudState,
    mac: Option<Mac>,
    confirmed: Ns,
    updated: Ns,
    used: Ns,
    probes: u32,
    timer: Option<Ns>,
    queue: VecDeque<P>,
    queue_bytes: usize,
    /// The cached hardware header (`hh_cache`) is initialised: once it is, packets to a
    /// CONNECTED entry take `neigh_hh_output`, which does not refresh `used`.
    hh: bool,
}

/// The inspectable part of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryView {
    pub state: NudState,
    pub mac: Option<Mac>,
    pub probes: u32,
    pub queued: usize,
}

/// One neighbour table (one per interface and family, as Linux keeps one `neigh_parms`
/// per device).
#[derive(Clone, Debug)]
pub struct NeighTable<P> {
    params: NeighParams,
    entries: BTreeMap<IpAddr, Entry<P>>,
    timers: BTreeSet<(Ns, IpAddr)>,
    reachable_time: Duration,
    last_rand: Ns,
    next_periodic: Ns,
    rng: SimRng,
}

impl<P: Queued> NeighTable<P> {
    pub fn new(params: NeighParams, mut rng: SimRng, now: Instant) -> Self {
        let reachable_time = draw_reachable_time(&params, &mut rng);
        Self {
            params,
            entries: BTreeMap::new(),
            timers: BTreeSet::new(),
            reachable_time,
            last_rand: ns(now),
            next_periodic: ns(now) + dur(params.base_reachable_time) / 2,
            rng,
        }
    }

    pub fn params(&self) -> &NeighParams {
        &self.params
    }
    /// The current `reachable_time` (re-drawn every 300 s, as the kernel does per parms).
    pub fn reachable_time(&self) -> Duration {
        self.reachable_time
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn get(&self, ip: IpAddr) -> Option<EntryView> {
        self.entries.get(&ip).map(|e| EntryView {
            state: e.state,
            mac: e.mac,
            probes: e.probes,
            queued: e.queue.len(),
        })
    }
    /// Packets waiting for resolution, per neighbour (INCOMPLETE entries).
    pub fn queued(&self) -> impl Iterator<Item = (IpAddr, &P)> {
        self.entries
            .iter()
            .flat_map(|(ip, e)| e.queue.iter().map(move |p| (*ip, p)))
    }

    /// The earliest time `on_timer` has work to do.
    pub fn next_wakeup(&self) -> Instant {
        let t = self
            .timers
            .first()
            .map_or(self.next_periodic, |(t, _)| (*t).min(self.next_periodic));
        Instant::from_nanos(t.max(0) as u64)
    }

    /// A static entry (`ip neigh replace … nud permanent`): never changed by traffic.
    pub fn add_permanent(
        &mut self,
        now: Instant,
        ip: IpAddr,
        mac: Mac,
        out: &mut Vec<NeighOut<P>>,
    ) {
        let n = ns(now);
        self.set_timer(ip, None);
        self.entries.insert(
            ip,
            Entry {
                state: NudState::Permanent,
                mac: Some(mac),
                confirmed: n,
                updated: n,
                used: n,
                probes: 0,
                timer: None,
                queue: VecDeque::new(),
                queue_bytes: 0,
                hh: false,
            },
        );
        out.push(NeighOut::Changed {
            ip,
            state: Some(NudState::Permanent),
            mac: Some(mac),
        });
    }

    /// Upper-layer confirmation (`neigh_confirm`, e.g. TCP forward progress or
    /// `MSG_CONFIRM`): refreshes `confirmed` without any packet on the wire.
    pub fn confirm(&mut self, now: Instant, ip: IpAddr) {
        if let Some(e) = self.entries.get_mut(&ip) {
            e.confirmed = ns(now);
        }
    }

    fn new_entry(&self, now: Ns) -> Entry<P> {
        Entry {
            state: NudState::New,
            mac: None,
            // ___neigh_create back-dates `confirmed` so a new entry is never
            // "recently confirmed".
            confirmed: now - 2 * dur(self.params.base_reachable_time),
            updated: now,
            used: now,
            probes: 0,
            timer: None,
            queue: VecDeque::new(),
            queue_bytes: 0,
            hh: false,
        }
    }

    /// Creates an entry (in a placeholder state the caller overwrites), running forced
    /// GC at the hard limit. Returns false if the table is full.
    fn create(&mut self, now: Ns, ip: IpAddr) -> bool {
        if self.entries.contains_key(&ip) {
            return true;
        }
        if self.entries.len() >= self.params.gc_thresh3 {
            self.forced_gc(now);
            if self.entries.len() >= self.params.gc_thresh3 {
                return false;
            }
        }
        let e = self.new_entry(now);
        self.entries.insert(ip, e);
        true
    }

    /// `neigh_forced_gc`: removes unreferenced entries that are FAILED or were not
    /// updated in the last 5 s.
    fn forced_gc(&mut self, now: Ns) {
        let five = dur(Duration::from_secs(5));
        self.entries.retain(|_, e| {
            e.state == NudState::Permanent
                || e.state.in_timer()
                || !(e.state == NudState::Failed || now - e.updated > five)
        });
    }

    fn set_timer(&mut self, ip: IpAddr, at: Option<Ns>) {
        if let Some(e) = self.entries.get_mut(&ip) {
            if let Some(old) = e.timer.take() {
                self.timers.remove(&(old, ip));
            }
            if let Some(t) = at {
                e.timer = Some(t);
                self.timers.insert((t, ip));
            }
        }
    }

    fn retrans(&self) -> Ns {
        // The kernel never re-arms faster than HZ/100.
        dur(self.params.retrans_time).max(dur(Duration::from_millis(10)))
    }

    /// A packet for `ip` leaves the host: `neigh_resolve_output` / `__neigh_event_send`.
    pub fn send(&mut self, now: Instant, ip: IpAddr, packet: P, out: &mut Vec<NeighOut<P>>) {
        let n = ns(now);
        if !self.entries.contains_key(&ip) && !self.create(n, ip) {
            out.push(NeighOut::Dropped {
                ip,
                packet,
                reason: NeighDrop::TableFull,
            });
            return;
        }
        let retrans = self.retrans();
        let delay = dur(self.params.delay_first_probe_time);
        let solicit_budget = self.params.mcast_solicit;
        let ucast = self.params.ucast_solicit;
        let Some(e) = self.entries.get_mut(&ip) else {
            return;
        };
        // ip_finish_output2 → neigh_output: a CONNECTED entry with an initialised header
        // cache goes straight out (neigh_hh_output) without touching `used`; everything
        // else takes neigh_resolve_output → neigh_event_send, which refreshes it.
        if !(e.state.is_connected() && e.hh) {
            e.used = n;
        }
        match e.state {
            NudState::Reachable | NudState::Delay | NudState::Probe | NudState::Permanent => {
                if let Some(mac) = e.mac {
                    e.hh = true;
                    out.push(NeighOut::Transmit { ip, mac, packet });
                }
            }
            NudState::Stale => {
                e.state = NudState::Delay;
                e.updated = n;
                e.hh = true;
                let mac = e.mac;
                self.set_timer(ip, Some(n + delay));
                out.push(NeighOut::Changed {
                    ip,
                    state: Some(NudState::Delay),
                    mac,
                });
                if let Some(mac) = mac {
                    out.push(NeighOut::Transmit { ip, mac, packet });
                }
            }
            NudState::Incomplete => self.enqueue(ip, packet, out),
            NudState::New | NudState::Failed => {
                // NUD_NONE and NUD_FAILED both restart resolution from scratch.
                if solicit_budget == 0 {
                    e.state = NudState::Failed;
                    out.push(NeighOut::Dropped {
                        ip,
                        packet,
                        reason: NeighDrop::Failed,
                    });
                    return;
                }
                e.state = NudState::Incomplete;
                e.updated = n;
                e.probes = ucast;
                let mac = e.mac;
                self.set_timer(ip, Some(n + retrans));
                out.push(NeighOut::Changed {
                    ip,
                    state: Some(NudState::Incomplete),
                    mac,
                });
                self.enqueue(ip, packet, out);
                self.probe(ip, out);
            }
        }
    }

    fn enqueue(&mut self, ip: IpAddr, packet: P, out: &mut Vec<NeighOut<P>>) {
        let limit = self.params.unres_qlen_bytes;
        let Some(e) = self.entries.get_mut(&ip) else {
            return;
        };
        let size = packet.truesize();
        while e.queue_bytes + size > limit {
            let Some(old) = e.queue.pop_front() else {
                break;
            };
            e.queue_bytes -= old.truesize();
            out.push(NeighOut::Dropped {
                ip,
                packet: old,
                reason: NeighDrop::QueueOverflow,
            });
        }
        if size > limit {
            out.push(NeighOut::Dropped {
                ip,
                packet,
                reason: NeighDrop::QueueOverflow,
            });
            return;
        }
        e.queue_bytes += size;
        e.queue.push_back(packet);
    }

    /// `neigh_probe` + `arp_solicit`/`ndisc_solicit`: which solicitation the current
    /// probe count asks for, then counts it.
    fn probe(&mut self, ip: IpAddr, out: &mut Vec<NeighOut<P>>) {
        let ucast = self.params.ucast_solicit;
        let Some(e) = self.entries.get_mut(&ip) else {
            return;
        };
        let unicast = if e.probes < ucast { e.mac } else { None };
        e.probes += 1;
        out.push(NeighOut::Solicit { ip, unicast });
    }

    fn max_probes(&self, state: NudState) -> u32 {
        let p = &self.params;
        p.ucast_solicit
            + if state == NudState::Probe {
                p.mcast_resolicit
            } else {
                p.mcast_solicit
            }
    }

    /// Runs every timer due at `now`: entry timers (`neigh_timer_handler`) and the
    /// periodic work (reachable_time re-draw and GC).
    pub fn on_timer(&mut self, now: Instant, out: &mut Vec<NeighOut<P>>) {
        let n = ns(now);
        while let Some(&(t, ip)) = self.timers.first() {
            if t > n {
                break;
            }
            self.timers.remove(&(t, ip));
            if let Some(e) = self.entries.get_mut(&ip) {
                e.timer = None;
            }
            self.entry_timer(n, ip, out);
        }
        if n >= self.next_periodic {
            self.periodic(n, out);
        }
    }

    fn entry_timer(&mut self, now: Ns, ip: IpAddr, out: &mut Vec<NeighOut<P>>) {
        let reach = dur(self.reachable_time);
        let delay = dur(self.params.delay_first_probe_time);
        let retrans = self.retrans();
        let max_incomplete = self.max_probes(NudState::Incomplete);
        let max_probe = self.max_probes(NudState::Probe);
        let Some(e) = self.entries.get_mut(&ip) else {
            return;
        };
        let before = e.state;
        let mut next: Option<Ns> = None;
        match e.state {
            NudState::Reachable => {
                if now <= e.confirmed + reach {
                    next = Some(e.confirmed + reach);
                } else if now <= e.used + delay {
                    e.state = NudState::Delay;
                    e.updated = now;
                    next = Some(now + delay);
                } else {
                    e.state = NudState::Stale;
                    e.updated = now;
                }
            }
            NudState::Delay => {
                if now <= e.confirmed + delay {
                    e.state = NudState::Reachable;
                    e.updated = now;
                    next = Some(e.confirmed + reach);
                } else {
                    e.state = NudState::Probe;
                    e.updated = now;
                    e.probes = 0;
                    next = Some(now + retrans);
                }
            }
            NudState::Incomplete | NudState::Probe => next = Some(now + retrans),
            _ => {}
        }
        let state = e.state;
        let mac = e.mac;
        let max = if state == NudState::Probe {
            max_probe
        } else {
            max_incomplete
        };
        if matches!(state, NudState::Incomplete | NudState::Probe) && e.probes >= max {
            e.state = NudState::Failed;
            let dropped: Vec<P> = e.queue.drain(..).collect();
            e.queue_bytes = 0;
            out.push(NeighOut::Changed {
                ip,
                state: Some(NudState::Failed),
                mac,
            });
            for packet in dropped {
                out.push(NeighOut::Dropped {
                    ip,
                    packet,
                    reason: NeighDrop::Failed,
                });
            }
            return;
        }
        if state != before {
            out.push(NeighOut::Changed {
                ip,
                state: Some(state),
                mac,
            });
        }
        if state.in_timer() {
            let min = now + dur(Duration::from_millis(10));
            self.set_timer(ip, next.map(|t| t.max(min)));
        }
        if matches!(state, NudState::Incomplete | NudState::Probe) {
            self.probe(ip, out);
        }
    }

    /// `neigh_periodic_work`: every `base_reachable_time/2`, re-draw reachable_time if
    /// 300 s passed, then — only when the table holds at least `gc_thresh1` entries —
    /// remove unreferenced entries that are FAILED or unused for `gc_stale_time`.
    fn periodic(&mut self, now: Ns, out: &mut Vec<NeighOut<P>>) {
        if now - self.last_rand > dur(Duration::from_secs(300)) {
            self.last_rand = now;
            self.reachable_time = draw_reachable_time(&self.params, &mut self.rng);
        }
        if self.entries.len() >= self.params.gc_thresh1 {
            let stale = dur(self.params.gc_stale_time);
            let mut gone = vec![];
            for (ip, e) in &mut self.entries {
                if e.state == NudState::Permanent || e.state.in_timer() {
                    continue;
                }
                if e.used < e.confirmed && e.confirmed <= now {
                    e.used = e.confirmed;
                }
                if e.state == NudState::Failed || !(e.used <= now && now < e.used + stale) {
                    gone.push(*ip);
                }
            }
            for ip in gone {
                self.remove(ip, NeighDrop::Failed, out);
            }
        }
        self.next_periodic = now + (dur(self.params.base_reachable_time) / 2).max(1);
    }

    fn remove(&mut self, ip: IpAddr, reason: NeighDrop, out: &mut Vec<NeighOut<P>>) {
        self.set_timer(ip, None);
        if let Some(e) = self.entries.remove(&ip) {
            for packet in e.queue {
                out.push(NeighOut::Dropped { ip, packet, reason });
            }
            out.push(NeighOut::Changed {
                ip,
                state: None,
                mac: None,
            });
        }
    }

    /// Carrier loss: `neigh_carrier_down` flushes every non-permanent entry of the
    /// device when `*_evict_nocarrier` is set (the default).
    pub fn carrier_down(&mut self, out: &mut Vec<NeighOut<P>>) {
        if !self.params.evict_nocarrier {
            return;
        }
        let ips: Vec<IpAddr> = self
            .entries
            .iter()
            .filter(|(_, e)| e.state != NudState::Permanent)
            .map(|(ip, _)| *ip)
            .collect();
        for ip in ips {
            self.remove(ip, NeighDrop::NoCarrier, out);
        }
    }

    /// `__neigh_update`: the one place an entry's MAC and state change in response to
    /// the network. Returns false when the update was refused.
    pub fn update(
        &mut self,
        now: Instant,
        ip: IpAddr,
        lladdr: Option<Mac>,
        mut new: NudState,
        flags: UpdateFlags,
        out: &mut Vec<NeighOut<P>>,
    ) -> bool {
        let n = ns(now);
        let base = dur(self.params.base_reachable_time);
        let reach = dur(self.reachable_time);
        let Some(e) = self.entries.get_mut(&ip) else {
            return false;
        };
        let old = e.state;
        if old == NudState::Permanent {
            return false;
        }
        let mut lladdr = match lladdr {
            Some(m) => m,
            None => match e.mac {
                Some(m) if old.is_valid() => m,
                _ => return false,
            },
        };
        if new.is_connected() {
            e.confirmed = n;
        }
        if old.is_valid() {
            let cached = e.mac.unwrap_or(Mac::ZERO);
            if lladdr != cached && !flags.override_ {
                if flags.weak_override && old.is_connected() {
                    lladdr = cached;
                    new = NudState::Stale;
                } else {
                    return false;
                }
            } else if lladdr == cached && new == NudState::Stale {
                new = old;
            }
        }
        let mac_changed = e.mac != Some(lladdr);
        if new != old || mac_changed {
            e.updated = n;
        }
        if mac_changed {
            e.mac = Some(lladdr);
            if !new.is_connected() {
                e.confirmed = n - 2 * base;
            }
        }
        let queued: Vec<P> = if new != old {
            e.state = new;
            if new == NudState::Probe {
                e.probes = 0;
            }
            if !old.is_valid() {
                // Queued packets leave through neigh_resolve_output: `used` is
                // refreshed and the header cache initialised.
                e.queue_bytes = 0;
                if !e.queue.is_empty() {
                    e.used = n;
                    e.hh = true;
                }
                e.queue.drain(..).collect()
            } else {
                vec![]
            }
        } else {
            vec![]
        };
        if new != old {
            let at = new
                .in_timer()
                .then(|| n + if new == NudState::Reachable { reach } else { 0 });
            self.set_timer(ip, at);
        }
        if new != old || mac_changed {
            out.push(NeighOut::Changed {
                ip,
                state: Some(new),
                mac: Some(lladdr),
            });
        }
        for packet in queued {
            out.push(NeighOut::Transmit {
                ip,
                mac: lladdr,
                packet,
            });
        }
        true
    }
}

/// `neigh_rand_reach_time`: uniform in `[base/2, 3·base/2)`.
fn draw_reachable_time(p: &NeighParams, rng: &mut SimRng) -> Duration {
    let base = p.base_reachable_time.as_nanos();
    if !p.randomize_reachable_time || base == 0 {
        return p.base_reachable_time;
    }
    Duration::from_nanos(rng.below(base) + base / 2)
}
