//! The membership table and the rules that decide which of two pieces of news about a
//! member wins. The rules are SWIM's with memberlist's refinements: a higher incarnation
//! always wins; at equal incarnation `Left` > `Dead` > `Suspect` > `Alive`; only the
//! member itself can raise its incarnation, which is how it refutes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use core::time::Duration;

use super::wire::Update;
use super::{DownReason, MemberEvent, UpReason};
use crate::time::Instant;

/// What we believe about one member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Alive,
    Suspect(Suspicion),
    Dead,
    Left,
}

#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) addr: SocketAddr,
    pub(crate) incarnation: u32,
    pub(crate) status: Status,
    /// When `status` last changed, for tombstone expiry.
    pub(crate) since: Instant,
    /// The member's metadata, from its latest `Alive`.
    pub(crate) meta: Vec<u8>,
}

impl Node {
    pub(crate) fn is_live(&self) -> bool {
        matches!(self.status, Status::Alive | Status::Suspect(_))
    }
}

/// A running suspicion: Lifeguard's timeout that shrinks as independent accusers
/// confirm it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Suspicion {
    pub(crate) started: Instant,
    /// Accusers; the first one started it, the others are confirmations.
    pub(crate) accusers: BTreeSet<String>,
    /// Confirmations after which the timeout is at its minimum.
    pub(crate) expected: u32,
    pub(crate) deadline: Instant,
    /// When we next remind the suspect that it is suspected.
    pub(crate) next_nudge: Instant,
}

/// The suspicion-timeout parameters, fixed per table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SuspicionParams {
    pub(crate) min: Duration,
    pub(crate) max: Duration,
    pub(crate) confirmations: u32,
}

impl SuspicionParams {
    /// Lifeguard: `max - (max - min) * ln(c + 1) / ln(k + 1)`, floored at `min`, where
    /// `c` is the number of confirmations so far and `k` the expected number. With no
    /// possible witness (`k = 0`) the lone accuser's `max` applies.
    pub(crate) fn timeout(&self, confirmations: u32, expected: u32) -> Duration {
        if expected == 0 {
            return self.max;
        }
        if confirmations >= expected {
            return self.min;
        }
        let frac = f64::from(confirmations + 1).ln() / f64::from(expected + 1).ln();
        let span = self.max.saturating_sub(self.min).as_secs_f64();
        let t = self.max.as_secs_f64() - span * frac;
        // Whole microseconds keep the arithmetic's last bits out of the schedule.
        Duration::from_micros((t * 1e6).round() as u64).max(self.min)
    }
}

/// What applying an update did.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// The update was news: spread it further.
    pub(crate) rebroadcast: bool,
    /// An event for the application.
    pub(crate) event: Option<MemberEvent>,
    /// A suspicion started here (the caller may probe to confirm it).
    pub(crate) suspicion_started: bool,
    /// A live member stopped being live: cancel its probes.
    pub(crate) went_down: bool,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Table {
    pub(crate) nodes: BTreeMap<String, Node>,
}

impl Table {
    pub(crate) fn get(&self, name: &str) -> Option<&Node> {
        self.nodes.get(name)
    }

    /// Number of live members other than ourselves.
    pub(crate) fn live_count(&self) -> usize {
        self.nodes.values().filter(|n| n.is_live()).count()
    }

    /// Live members other than ourselves, sorted by name.
    pub(crate) fn live_names(&self) -> impl Iterator<Item = &str> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.is_live())
            .map(|(k, _)| k.as_str())
    }

    /// Applies news about another member (news about ourselves is the caller's).
    /// `me` is our own name, `n_live` the cluster size used for `k = min(K, n - 2)`.
    pub(crate) fn apply(
        &mut self,
        u: &Update,
        now: Instant,
        me: &str,
        params: SuspicionParams,
    ) -> Applied {
        // Cluster size including us, for the expected number of confirmations.
        let n = self.live_count() + 1;
        let name = u.name();
        let inc = u.incarnation();
        let Some(node) = self.nodes.get_mut(name) else {
            return self.insert_new(u, now);
        };
        let mut out = Applied::default();
        match u {
            Update::Alive { addr, meta, .. } => {
                let newer = inc > node.incarnation;
                // Equal incarnation only matters for a member we have not heard alive:
                // it cannot undo a suspicion (that needs a refutation) nor a death.
                if !newer {
                    return out;
                }
                let was = std::mem::replace(&mut node.status, Status::Alive);
                let moved = node.addr != *addr;
                let meta_changed = node.meta != *meta;
                node.addr = *addr;
                node.meta.clone_from(meta);
                node.incarnation = inc;
                node.since = now;
                out.rebroadcast = true;
                out.event = match was {
                    Status::Dead | Status::Left => Some(MemberEvent::Up {
                        name: name.to_owned(),
                        addr: *addr,
                        incarnation: inc,
                        reason: UpReason::Rejoined,
                    }),
                    _ if moved => Some(MemberEvent::Up {
                        name: name.to_owned(),
                        addr: *addr,
                        incarnation: inc,
                        reason: UpReason::AddressChanged,
                    }),
                    _ if meta_changed => Some(MemberEvent::Updated {
                        name: name.to_owned(),
                        incarnation: inc,
                    }),
                    _ => None,
                };
            }
            Update::Suspect { from, .. } => {
                if inc < node.incarnation {
                    return out;
                }
                match &mut node.status {
                    Status::Dead | Status::Left => {}
                    Status::Suspect(s) if inc == node.incarnation => {
                        if s.accusers.insert(from.clone()) {
                            let c = u32::try_from(s.accusers.len() - 1).unwrap_or(u32::MAX);
                            s.deadline = s.started + params.timeout(c, s.expected);
                            out.rebroadcast = true;
                        }
                    }
                    _ => {
                        let expected = params
                            .confirmations
                            .min(u32::try_from(n.saturating_sub(2)).unwrap_or(u32::MAX));
                        node.incarnation = inc;
                        node.since = now;
                        node.status = Status::Suspect(Suspicion {
                            started: now,
                            accusers: BTreeSet::from([from.clone()]),
                            expected,
                            deadline: now + params.timeout(0, expected),
                            next_nudge: now,
                        });
                        out.rebroadcast = true;
                        out.suspicion_started = from != me;
                    }
                }
            }
            Update::Dead { from, .. } => {
                if inc < node.incarnation || !node.is_live() {
                    return out;
                }
                let confirmations = match &node.status {
                    Status::Suspect(s) => u32::try_from(s.accusers.len() - 1).unwrap_or(u32::MAX),
                    _ => 0,
                };
                node.incarnation = inc;
                node.status = Status::Dead;
                node.since = now;
                out.rebroadcast = true;
                out.went_down = true;
                out.event = Some(MemberEvent::Down {
                    name: name.to_owned(),
                    incarnation: inc,
                    reason: if from == me {
                        DownReason::SuspicionExpired { confirmations }
                    } else {
                        DownReason::DeclaredBy { by: from.clone() }
                    },
                });
            }
            Update::Left { .. } => {
                if inc < node.incarnation || node.status == Status::Left {
                    return out;
                }
                let was_live = node.is_live();
                node.incarnation = inc;
                node.status = Status::Left;
                node.since = now;
                out.rebroadcast = true;
                out.went_down = was_live;
                if was_live {
                    out.event = Some(MemberEvent::Left {
                        name: name.to_owned(),
                        incarnation: inc,
                    });
                }
            }
        }
        out
    }

    fn insert_new(&mut self, u: &Update, now: Instant) -> Applied {
        let mut out = Applied::default();
        let meta = match u {
            Update::Alive { meta, .. } => meta.clone(),
            _ => Vec::new(),
        };
        let (addr, status) = match u {
            Update::Alive { addr, .. } => {
                out.rebroadcast = true;
                out.event = Some(MemberEvent::Up {
                    name: u.name().to_owned(),
                    addr: *addr,
                    incarnation: u.incarnation(),
                    reason: UpReason::Joined,
                });
                (*addr, Status::Alive)
            }
            // A suspicion about a stranger tells us nothing we can act on; its `Alive`
            // will come.
            Update::Suspect { .. } => return out,
            // Tombstones of strangers are kept silently, so that a late `Alive` of the
            // same incarnation cannot bring them back.
            Update::Dead { .. } => (unspecified(), Status::Dead),
            Update::Left { .. } => (unspecified(), Status::Left),
        };
        self.nodes.insert(
            u.name().to_owned(),
            Node {
                addr,
                incarnation: u.incarnation(),
                status,
                since: now,
                meta,
            },
        );
        out
    }

    /// Our knowledge as updates, for a full-state sync. A suspect member goes out as
    /// its `Alive` followed by the suspicion, so that a receiver that never heard of it
    /// learns its address and the suspicion both. Dead entries carry `me` as the
    /// declarer: the original one is not kept, and the receiver only needs to know that
    /// the incarnation is dead.
    pub(crate) fn snapshot(&self, me: &str) -> Vec<Update> {
        let mut out = Vec::with_capacity(self.nodes.len());
        for (name, n) in &self.nodes {
            let name = name.clone();
            let incarnation = n.incarnation;
            match &n.status {
                Status::Alive => out.push(Update::Alive {
                    name,
                    incarnation,
                    addr: n.addr,
                    meta: n.meta.clone(),
                }),
                Status::Suspect(s) => {
                    let from = s
                        .accusers
                        .iter()
                        .next()
                        .cloned()
                        .unwrap_or_else(|| me.to_owned());
                    out.push(Update::Alive {
                        name: name.clone(),
                        incarnation,
                        addr: n.addr,
                        meta: n.meta.clone(),
                    });
                    out.push(Update::Suspect {
                        name,
                        incarnation,
                        from,
                    });
                }
                Status::Dead => out.push(Update::Dead {
                    name,
                    incarnation,
                    from: me.to_owned(),
                }),
                Status::Left => out.push(Update::Left { name, incarnation }),
            }
        }
        out
    }

    /// Forgets tombstones older than `ttl`, returning their names.
    pub(crate) fn reap(&mut self, now: Instant, ttl: Duration) -> Vec<String> {
        let old: Vec<String> = self
            .nodes
            .iter()
            .filter(|(_, n)| !n.is_live() && now.since(n.since) >= ttl)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &old {
            self.nodes.remove(k);
        }
        old
    }
}

fn unspecified() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: SuspicionParams = SuspicionParams {
        min: Duration::from_millis(50),
        max: Duration::from_millis(150),
        confirmations: 3,
    };

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 1], port))
    }
    fn alive(name: &str, inc: u32, port: u16) -> Update {
        Update::Alive {
            name: name.into(),
            incarnation: inc,
            addr: addr(port),
            meta: Vec::new(),
        }
    }
    fn t(ms: u64) -> Instant {
        Instant::from_nanos(ms * 1_000_000)
    }

    #[test]
    fn timeout_shrinks_logarithmically_with_confirmations() {
        assert_eq!(P.timeout(0, 3), Duration::from_millis(150));
        assert_eq!(P.timeout(1, 3), Duration::from_micros(100_000));
        assert_eq!(P.timeout(2, 3), Duration::from_micros(70_752));
        assert_eq!(P.timeout(3, 3), Duration::from_millis(50));
        assert_eq!(P.timeout(9, 3), Duration::from_millis(50));
        assert_eq!(
            P.timeout(0, 0),
            Duration::from_millis(150),
            "no witness possible"
        );
        assert_eq!(P.timeout(0, 1), Duration::from_millis(150));
        assert_eq!(P.timeout(1, 1), Duration::from_millis(50));
    }

    #[test]
    fn incarnation_and_precedence_rules() {
        let mut tb = Table::default();
        let a = tb.apply(&alive("x", 1, 1), t(0), "me", P);
        assert!(matches!(
            a.event,
            Some(MemberEvent::Up {
                reason: UpReason::Joined,
                ..
            })
        ));
        // Same incarnation again: not news.
        assert!(!tb.apply(&alive("x", 1, 1), t(1), "me", P).rebroadcast);
        // Suspect at an older incarnation is ignored; at the current one it starts.
        let old = Update::Suspect {
            name: "x".into(),
            incarnation: 0,
            from: "y".into(),
        };
        assert!(!tb.apply(&old, t(2), "me", P).rebroadcast);
        let s = Update::Suspect {
            name: "x".into(),
            incarnation: 1,
            from: "y".into(),
        };
        let a = tb.apply(&s, t(3), "me", P);
        assert!(a.rebroadcast && a.suspicion_started);
        // An Alive at the same incarnation does not clear it; a refutation does.
        assert!(!tb.apply(&alive("x", 1, 1), t(4), "me", P).rebroadcast);
        assert!(matches!(tb.get("x").unwrap().status, Status::Suspect(_)));
        let a = tb.apply(&alive("x", 2, 1), t(5), "me", P);
        assert!(a.rebroadcast && a.event.is_none());
        assert_eq!(tb.get("x").unwrap().status, Status::Alive);
        // Dead at the current incarnation wins, and only once.
        let d = Update::Dead {
            name: "x".into(),
            incarnation: 2,
            from: "y".into(),
        };
        let a = tb.apply(&d, t(6), "me", P);
        assert!(matches!(
            a.event,
            Some(MemberEvent::Down {
                reason: DownReason::DeclaredBy { .. },
                ..
            })
        ));
        assert!(!tb.apply(&d, t(7), "me", P).rebroadcast);
        // A newer incarnation brings it back, from a new address.
        let a = tb.apply(&alive("x", 3, 2), t(8), "me", P);
        assert!(matches!(
            a.event,
            Some(MemberEvent::Up {
                reason: UpReason::Rejoined,
                ..
            })
        ));
        assert_eq!(tb.get("x").unwrap().addr, addr(2));
        // Left at an older incarnation is stale; at the current one it removes at once.
        assert!(
            !tb.apply(
                &Update::Left {
                    name: "x".into(),
                    incarnation: 2
                },
                t(9),
                "me",
                P
            )
            .rebroadcast
        );
        let a = tb.apply(
            &Update::Left {
                name: "x".into(),
                incarnation: 3,
            },
            t(10),
            "me",
            P,
        );
        assert!(matches!(a.event, Some(MemberEvent::Left { .. })) && a.went_down);
        assert_eq!(tb.live_count(), 0);
        // Tombstones go after the TTL, not before.
        assert!(
            tb.reap(t(10) + Duration::from_secs(1), Duration::from_secs(2))
                .is_empty()
        );
        assert_eq!(
            tb.reap(t(10) + Duration::from_secs(2), Duration::from_secs(2)),
            ["x"]
        );
    }

    #[test]
    fn confirmations_pull_the_deadline_in_and_duplicates_do_not() {
        let mut tb = Table::default();
        for (i, n) in ["a", "b", "c", "d", "x"].iter().enumerate() {
            tb.apply(&alive(n, 0, u16::try_from(i).unwrap()), t(0), "me", P);
        }
        let sus = |from: &str| Update::Suspect {
            name: "x".into(),
            incarnation: 0,
            from: from.into(),
        };
        tb.apply(&sus("a"), t(100), "me", P);
        let deadline = |tb: &Table| match &tb.get("x").unwrap().status {
            Status::Suspect(s) => s.deadline,
            other => panic!("{other:?}"),
        };
        assert_eq!(deadline(&tb), t(250));
        assert!(
            !tb.apply(&sus("a"), t(101), "me", P).rebroadcast,
            "same accuser"
        );
        assert!(tb.apply(&sus("b"), t(102), "me", P).rebroadcast);
        assert_eq!(deadline(&tb), t(200));
        tb.apply(&sus("c"), t(103), "me", P);
        tb.apply(&sus("me"), t(104), "me", P);
        assert_eq!(
            deadline(&tb),
            t(150),
            "three confirmations reach the minimum"
        );
    }

    #[test]
    fn a_snapshot_carries_suspicions_to_strangers() {
        let mut tb = Table::default();
        tb.apply(&alive("x", 2, 1), t(0), "me", P);
        let sus = Update::Suspect {
            name: "x".into(),
            incarnation: 2,
            from: "y".into(),
        };
        tb.apply(&sus, t(1), "me", P);
        tb.apply(
            &Update::Dead {
                name: "d".into(),
                incarnation: 1,
                from: "y".into(),
            },
            t(1),
            "me",
            P,
        );
        let snap = tb.snapshot("me");
        assert_eq!(snap.len(), 3, "{snap:?}");
        let mut fresh = Table::default();
        for u in &snap {
            fresh.apply(u, t(5), "other", P);
        }
        assert!(matches!(fresh.get("x").unwrap().status, Status::Suspect(_)));
        assert_eq!(fresh.get("x").unwrap().addr, addr(1));
        assert_eq!(fresh.get("d").unwrap().status, Status::Dead);
    }

    #[test]
    fn strangers_tombstones_are_silent() {
        let mut tb = Table::default();
        let d = Update::Dead {
            name: "z".into(),
            incarnation: 4,
            from: "y".into(),
        };
        let a = tb.apply(&d, t(0), "me", P);
        assert!(a.event.is_none() && !a.rebroadcast);
        assert!(
            !tb.apply(&alive("z", 4, 1), t(1), "me", P).rebroadcast,
            "stale alive cannot resurrect"
        );
        let s = Update::Suspect {
            name: "q".into(),
            incarnation: 0,
            from: "y".into(),
        };
        assert!(!tb.apply(&s, t(2), "me", P).rebroadcast);
        assert!(tb.get("q").is_none());
    }
}
