//! Per-address announcing state on one node.
//!
//! * **Takeover** (the address was announced by another node before): announce at once
//!   with a burst — a gratuitous ARP request and reply, or an unsolicited NA with
//!   Override — then repeat it. The repeats exist because Linux ignores a second update
//!   of a neighbour entry within `locktime` (1 s) of the previous one: if the old owner
//!   refreshed a client's entry just before dying, the first burst is swallowed, and
//!   the repeat 1.1 s later is not. Five bursts over 4.4 s also ride out loss.
//! * **New address** (nobody announced it before): first check that no other host uses
//!   it (RFC 5227 ARP probes / RFC 4862 DAD), with short intervals since a Service being
//!   created can wait half a second; a reply from a host that is not a speaker is a
//!   conflict, and the address is then not announced until the configuration changes.
//! * Requests are answered only for addresses past their probe and not in conflict.
//!
//! Nothing is sent on withdrawal: the new owner's announcements move clients.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use core::time::Duration;

use crate::time::Instant;

/// Timing of announcements and probes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnouncerConfig {
    /// Bursts sent on takeover, the first at once.
    pub bursts: u32,
    /// Time between bursts; above Linux's 1 s locktime.
    pub burst_interval: Duration,
    /// Conflict probes sent before a new address is announced (0 disables the check).
    pub probes: u32,
    /// Time between probes, and the wait after the last one.
    pub probe_interval: Duration,
    /// After a conflict, probe again this much later: a persistent conflict is found
    /// (and reported) again, a transient one (another speaker announcing during a
    /// membership change) clears by itself.
    pub conflict_retry: Duration,
}

impl Default for AnnouncerConfig {
    fn default() -> Self {
        Self {
            bursts: 5,
            burst_interval: Duration::from_millis(1100),
            probes: 3,
            probe_interval: Duration::from_millis(100),
            conflict_retry: Duration::from_secs(10),
        }
    }
}

/// Something to put on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Gratuitous ARP request and reply (IPv4) or unsolicited NA with Override (IPv6)
    /// for `ip` on `iface`.
    Announce {
        /// The address.
        ip: IpAddr,
        /// The interface.
        iface: String,
    },
    /// An RFC 5227 ARP probe (sender IP 0.0.0.0) or a DAD neighbour solicitation.
    Probe {
        /// The address.
        ip: IpAddr,
        /// The interface.
        iface: String,
    },
}

/// A host that is not a speaker answered for an address this node was about to take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The address.
    pub ip: IpAddr,
    /// The answering MAC.
    pub mac: [u8; 6],
    /// The interface it was seen on.
    pub iface: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Probing: `sent` probes so far; next step at `next`.
    Probing { sent: u32, next: Instant },
    /// Announcing: `left` bursts to go; next at `next`.
    Bursting { left: u32, next: Instant },
    /// Announced; answering requests.
    Steady,
    /// Someone else has it; probe again at `retry`.
    Conflict(Conflict, Instant),
    /// Lost to a node that just joined: still answering requests, but not its
    /// conflict probes, until `until`, so the newcomer can settle and probe without
    /// clients finding nobody at the address.
    Yielding { until: Instant },
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    interfaces: BTreeSet<String>,
    phase: Phase,
}

/// The announcing state of every address this node announces.
#[derive(Clone, Debug, Default)]
pub struct Announcer {
    cfg: AnnouncerConfig,
    entries: BTreeMap<IpAddr, Entry>,
    actions: Vec<Action>,
    conflicts: Vec<Conflict>,
}

impl Announcer {
    /// An announcer with nothing to announce.
    pub fn new(cfg: AnnouncerConfig) -> Self {
        Self {
            cfg,
            ..Self::default()
        }
    }

    /// Makes this node announce exactly `want` (address -> interfaces). An address new to
    /// this node starts with a burst if `announced_elsewhere(ip)` (a takeover), else with
    /// the conflict probe. Changed interfaces get a fresh burst on the added ones.
    pub fn set(
        &mut self,
        now: Instant,
        want: &BTreeMap<IpAddr, BTreeSet<String>>,
        announced_elsewhere: impl Fn(IpAddr) -> bool,
    ) {
        self.entries
            .retain(|ip, e| want.contains_key(ip) || matches!(e.phase, Phase::Yielding { .. }));
        for (ip, ifaces) in want {
            match self.entries.get_mut(ip) {
                Some(e) if matches!(e.phase, Phase::Yielding { .. }) => {
                    // Won back while yielding: announce again at once.
                    e.interfaces = ifaces.clone();
                    e.phase = Phase::Bursting {
                        left: self.cfg.bursts,
                        next: now,
                    };
                }
                Some(e) if e.interfaces == *ifaces => {}
                Some(e) => {
                    let added: Vec<String> = ifaces.difference(&e.interfaces).cloned().collect();
                    e.interfaces = ifaces.clone();
                    if matches!(e.phase, Phase::Steady | Phase::Bursting { .. })
                        && !added.is_empty()
                    {
                        e.phase = Phase::Bursting {
                            left: self.cfg.bursts,
                            next: now,
                        };
                    }
                }
                None => {
                    let phase = if announced_elsewhere(*ip) || self.cfg.probes == 0 {
                        Phase::Bursting {
                            left: self.cfg.bursts,
                            next: now,
                        }
                    } else {
                        Phase::Probing { sent: 0, next: now }
                    };
                    self.entries.insert(
                        *ip,
                        Entry {
                            interfaces: ifaces.clone(),
                            phase,
                        },
                    );
                }
            }
        }
        self.handle_timeout(now);
    }

    /// Stops every pending burst and probe (a planned shutdown: a successor is taking
    /// over, and our own gratuitous ARP would pull clients back). Announced addresses
    /// keep being answered; addresses still probing are dropped.
    pub fn quiesce(&mut self) {
        self.entries
            .retain(|_, e| !matches!(e.phase, Phase::Probing { .. } | Phase::Conflict(..)));
        for e in self.entries.values_mut() {
            e.phase = Phase::Steady;
        }
    }

    /// Starts a fresh burst for every address announced steadily. For when a member
    /// comes back after a partition: while apart, the other side elected its own
    /// announcer and its gratuitous ARP moved clients there; that node withdraws now,
    /// and without a new burst from us clients would keep its MAC until their
    /// neighbour entry fails, tens of seconds later. Addresses mid-burst or probing are
    /// left alone (their own schedule already announces).
    pub fn reassert(&mut self, now: Instant) {
        for e in self.entries.values_mut() {
            if matches!(e.phase, Phase::Steady) {
                e.phase = Phase::Bursting {
                    left: self.cfg.bursts,
                    next: now,
                };
            }
        }
        self.handle_timeout(now);
    }

    /// Hands `ip` to a node that has just joined, make-before-break: it is answered
    /// for `for_` more (no bursts, no answers to probes) and then dropped, unless a
    /// later [`set`](Self::set) wants it again. Does nothing for an address we do not
    /// answer for.
    pub fn yield_to_newcomer(&mut self, now: Instant, ip: IpAddr, for_: Duration) {
        if let Some(e) = self.entries.get_mut(&ip)
            && matches!(e.phase, Phase::Bursting { .. } | Phase::Steady)
        {
            e.phase = Phase::Yielding { until: now + for_ };
        }
    }

    /// Whether to answer an RFC 5227 probe for `ip` on `iface` (sender 0.0.0.0): as
    /// [`answers`](Self::answers), except while yielding, when a newcomer probing the
    /// address must not mistake us for a conflict.
    pub fn answers_probe(&self, ip: IpAddr, iface: &str) -> bool {
        self.answers(ip, iface)
            && !self
                .entries
                .get(&ip)
                .is_some_and(|e| matches!(e.phase, Phase::Yielding { .. }))
    }

    /// Whether to answer an ARP request / neighbour solicitation for `ip` on `iface`.
    pub fn answers(&self, ip: IpAddr, iface: &str) -> bool {
        self.entries.get(&ip).is_some_and(|e| {
            e.interfaces.contains(iface)
                && matches!(
                    e.phase,
                    Phase::Bursting { .. } | Phase::Steady | Phase::Yielding { .. }
                )
        })
    }

    /// Addresses currently announced (past the probe, not in conflict).
    pub fn announced(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.entries
            .iter()
            .filter(|(_, e)| {
                matches!(
                    e.phase,
                    Phase::Bursting { .. } | Phase::Steady | Phase::Yielding { .. }
                )
            })
            .map(|(ip, _)| *ip)
    }

    /// Some host claimed `ip` (an ARP reply or request with it as sender, an NA for
    /// it). `is_speaker` tells whether the MAC belongs to a speaker node (those may
    /// still answer during a takeover and are not conflicts).
    pub fn observe_claim(
        &mut self,
        now: Instant,
        ip: IpAddr,
        mac: [u8; 6],
        iface: &str,
        is_speaker: bool,
    ) {
        if is_speaker {
            return;
        }
        if let Some(e) = self.entries.get_mut(&ip)
            && matches!(e.phase, Phase::Probing { .. })
        {
            let c = Conflict {
                ip,
                mac,
                iface: iface.to_owned(),
            };
            tracing::warn!(%ip, mac = ?mac, iface, "address conflict: another host answers for a load-balancer address; not announcing it");
            self.conflicts.push(c.clone());
            e.phase = Phase::Conflict(c, now + self.cfg.conflict_retry);
        }
    }

    /// Advances probes and bursts.
    pub fn handle_timeout(&mut self, now: Instant) {
        let cfg = self.cfg.clone();
        for (ip, e) in &mut self.entries {
            loop {
                match e.phase {
                    Phase::Probing { sent, next } if next <= now => {
                        if sent < cfg.probes {
                            for iface in &e.interfaces {
                                self.actions.push(Action::Probe {
                                    ip: *ip,
                                    iface: iface.clone(),
                                });
                            }
                            e.phase = Phase::Probing {
                                sent: sent + 1,
                                next: next + cfg.probe_interval,
                            };
                        } else {
                            // The wait after the last probe passed with no answer.
                            e.phase = Phase::Bursting {
                                left: cfg.bursts,
                                next,
                            };
                        }
                    }
                    Phase::Conflict(_, retry) if retry <= now => {
                        e.phase = Phase::Probing {
                            sent: 0,
                            next: retry,
                        };
                    }
                    Phase::Bursting { left, next } if next <= now => {
                        if left == 0 {
                            e.phase = Phase::Steady;
                            continue;
                        }
                        for iface in &e.interfaces {
                            self.actions.push(Action::Announce {
                                ip: *ip,
                                iface: iface.clone(),
                            });
                        }
                        e.phase = if left > 1 {
                            Phase::Bursting {
                                left: left - 1,
                                next: next + cfg.burst_interval,
                            }
                        } else {
                            Phase::Steady
                        };
                    }
                    _ => break,
                }
            }
        }
        self.entries
            .retain(|_, e| !matches!(e.phase, Phase::Yielding { until } if until <= now));
    }

    /// When [`Announcer::handle_timeout`] has work next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.entries
            .values()
            .filter_map(|e| match e.phase {
                Phase::Probing { next, .. }
                | Phase::Bursting { next, .. }
                | Phase::Conflict(_, next)
                | Phase::Yielding { until: next } => Some(next),
                Phase::Steady => None,
            })
            .min()
    }

    /// Frames to send, in order.
    pub fn drain_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.actions)
    }

    /// Conflicts found since the last call (for logs, metrics and events).
    pub fn drain_conflicts(&mut self) -> Vec<Conflict> {
        std::mem::take(&mut self.conflicts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn at(ms: u64) -> Instant {
        Instant::from_nanos(ms * 1_000_000)
    }

    fn want(list: &[(&str, &[&str])]) -> BTreeMap<IpAddr, BTreeSet<String>> {
        list.iter()
            .map(|(a, ifs)| (ip(a), ifs.iter().map(|s| (*s).to_owned()).collect()))
            .collect()
    }

    /// Runs the announcer to `until`, returning (time, action) pairs.
    fn run(a: &mut Announcer, until: Instant) -> Vec<(u64, Action)> {
        let mut out: Vec<(u64, Action)> = Vec::new();
        let mut now = Instant::ZERO;
        out.extend(a.drain_actions().into_iter().map(|x| (0, x)));
        while let Some(t) = a.poll_timeout().filter(|t| *t <= until) {
            now = t;
            a.handle_timeout(now);
            out.extend(
                a.drain_actions()
                    .into_iter()
                    .map(|x| (now.as_nanos() / 1_000_000, x)),
            );
        }
        let _ = now;
        out
    }

    #[test]
    fn takeover_bursts_at_once_and_repeats_past_the_linux_locktime() {
        let mut a = Announcer::new(AnnouncerConfig::default());
        a.set(Instant::ZERO, &want(&[("192.0.2.10", &["eth0"])]), |_| true);
        assert!(
            a.answers(ip("192.0.2.10"), "eth0"),
            "answers from the first instant"
        );
        let times: Vec<u64> = run(&mut a, at(10_000))
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        assert_eq!(times, [0, 1100, 2200, 3300, 4400]);
        assert!(
            times.windows(2).all(|w| w[1] - w[0] > 1000),
            "each repeat lands after locktime"
        );
        assert_eq!(a.poll_timeout(), None);
        assert!(a.answers(ip("192.0.2.10"), "eth0"));
        assert!(
            !a.answers(ip("192.0.2.10"), "eth1"),
            "only on the announcing interfaces"
        );
    }

    #[test]
    fn reassert_bursts_again_for_steady_addresses_only() {
        let mut a = Announcer::new(AnnouncerConfig::default());
        a.set(Instant::ZERO, &want(&[("192.0.2.10", &["eth0"])]), |_| true);
        assert_eq!(run(&mut a, at(10_000)).len(), 5);
        // A new address still probing is not announced early by a reassert.
        a.set(
            at(20_000),
            &want(&[("192.0.2.10", &["eth0"]), ("192.0.2.11", &["eth0"])]),
            |_| false,
        );
        a.drain_actions();
        a.reassert(at(20_000));
        let now: Vec<Action> = a.drain_actions();
        assert_eq!(
            now,
            [Action::Announce {
                ip: ip("192.0.2.10"),
                iface: "eth0".into()
            }],
            "the steady address bursts at once, the probing one does not"
        );
        assert!(!a.answers(ip("192.0.2.11"), "eth0"));
        let again = run(&mut a, at(30_000))
            .into_iter()
            .filter(|(_, x)| matches!(x, Action::Announce { ip: i, .. } if *i == ip("192.0.2.10")))
            .count();
        assert_eq!(again, 4, "the rest of a full burst follows");
    }

    #[test]
    fn new_address_is_probed_before_it_is_announced() {
        let mut a = Announcer::new(AnnouncerConfig::default());
        a.set(Instant::ZERO, &want(&[("192.0.2.20", &["eth0"])]), |_| {
            false
        });
        assert!(!a.answers(ip("192.0.2.20"), "eth0"), "silent while probing");
        let acts = run(&mut a, at(400));
        let probes: Vec<u64> = acts
            .iter()
            .filter(|(_, x)| matches!(x, Action::Probe { .. }))
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(probes, [0, 100, 200]);
        let first_announce = acts
            .iter()
            .find(|(_, x)| matches!(x, Action::Announce { .. }))
            .unwrap()
            .0;
        assert_eq!(first_announce, 300);
        assert!(a.answers(ip("192.0.2.20"), "eth0"));
    }

    #[test]
    fn a_non_speaker_answering_the_probe_is_a_conflict() {
        let mut a = Announcer::new(AnnouncerConfig::default());
        a.set(Instant::ZERO, &want(&[("192.0.2.30", &["eth0"])]), |_| {
            false
        });
        a.observe_claim(
            Instant::ZERO,
            ip("192.0.2.30"),
            [2, 0, 0, 0, 0, 9],
            "eth0",
            true,
        );
        assert!(a.drain_conflicts().is_empty(), "speakers are not conflicts");
        a.observe_claim(
            Instant::ZERO,
            ip("192.0.2.30"),
            [0xaa, 0, 0, 0, 0, 1],
            "eth0",
            false,
        );
        let c = a.drain_conflicts();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].mac, [0xaa, 0, 0, 0, 0, 1]);
        let acts = run(&mut a, at(5000));
        assert!(
            acts.iter()
                .all(|(_, x)| !matches!(x, Action::Announce { .. })),
            "{acts:?}"
        );
        assert!(!a.answers(ip("192.0.2.30"), "eth0"));
        assert_eq!(a.announced().count(), 0);
        // Once announced, a claim is no longer a conflict here (the election decides).
        let mut b = Announcer::new(AnnouncerConfig::default());
        b.set(Instant::ZERO, &want(&[("192.0.2.31", &["eth0"])]), |_| true);
        b.observe_claim(
            Instant::ZERO,
            ip("192.0.2.31"),
            [0xaa, 0, 0, 0, 0, 1],
            "eth0",
            false,
        );
        assert!(b.drain_conflicts().is_empty());
    }

    #[test]
    fn withdrawn_addresses_stop_at_once_and_added_interfaces_get_a_burst() {
        let mut a = Announcer::new(AnnouncerConfig::default());
        a.set(
            Instant::ZERO,
            &want(&[("192.0.2.40", &["eth0"]), ("192.0.2.41", &["eth0"])]),
            |_| true,
        );
        a.drain_actions();
        a.set(at(10), &want(&[("192.0.2.40", &["eth0", "eth1"])]), |_| {
            true
        });
        assert!(!a.answers(ip("192.0.2.41"), "eth0"));
        let acts = a.drain_actions();
        assert!(acts.contains(&Action::Announce {
            ip: ip("192.0.2.40"),
            iface: "eth1".into()
        }));
        assert!(acts.iter().all(|x| !matches!(x, Action::Announce { ip, .. } if *ip == "192.0.2.41".parse::<IpAddr>().unwrap())));
    }

    #[test]
    fn quiesce_stops_bursts_but_keeps_answering() {
        let mut a = Announcer::new(AnnouncerConfig::default());
        a.set(Instant::ZERO, &want(&[("192.0.2.60", &["eth0"])]), |_| true);
        a.set(
            Instant::ZERO,
            &want(&[("192.0.2.60", &["eth0"]), ("192.0.2.61", &["eth0"])]),
            |_| false,
        );
        a.drain_actions();
        a.quiesce();
        assert_eq!(a.poll_timeout(), None, "no more bursts or probes");
        assert!(a.answers(ip("192.0.2.60"), "eth0"));
        assert!(
            !a.answers(ip("192.0.2.61"), "eth0"),
            "a probing address is dropped"
        );
    }

    #[test]
    fn probing_can_be_disabled() {
        let mut a = Announcer::new(AnnouncerConfig {
            probes: 0,
            ..AnnouncerConfig::default()
        });
        a.set(Instant::ZERO, &want(&[("fd00::1", &["eth0"])]), |_| false);
        assert!(a.answers(ip("fd00::1"), "eth0"));
        assert!(matches!(a.drain_actions()[0], Action::Announce { .. }));
    }
}
