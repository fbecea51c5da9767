//! A learning Ethernet switch, modelled on the Linux bridge (`net/bridge/br_fdb.c`).
//!
//! What matters for failover: the forwarding database learns every source MAC, moves an
//! entry the moment that MAC shows up on another port (a GARP from a new port re-points
//! it at once), forgets entries not refreshed for the ageing time (300 s by default) and
//! forgets everything learned on a port whose carrier goes down. Unknown unicast,
//! broadcast and multicast are flooded to every other port that is up.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::frame::Mac;
use crate::time::{Duration, Instant};

/// Linux bridge `BR_DEFAULT_AGEING_TIME`.
pub const DEFAULT_AGEING: Duration = Duration::from_secs(300);

/// A fixed (unseeded) hasher for MACs: the FDB is looked up twice per frame, and its
/// order never reaches an output (only `retain` walks it, and that counts), so a hash
/// map is safe for determinism and cheaper than a tree.
#[derive(Default)]
struct MacHasher(u64);

impl Hasher for MacHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, v: u64) {
        // One multiply spreads the MAC's bits; the high bits pick the bucket group.
        let m = (self.0 ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = m ^ (m >> 29);
    }
}

type Fdb = HashMap<u64, FdbEntry, BuildHasherDefault<MacHasher>>;

/// A MAC as the FDB's key.
fn key(mac: Mac) -> u64 {
    let m = mac.0;
    u64::from_le_bytes([m[0], m[1], m[2], m[3], m[4], m[5], 0, 0])
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FdbEntry {
    port: usize,
    last_seen: Instant,
}

/// How a frame was forwarded, for traces and loss reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forwarding {
    /// Sent to the one port the FDB names.
    Unicast,
    /// Broadcast or multicast: every other port.
    Flood,
    /// Unknown (or aged-out) unicast destination: flooded.
    UnknownUnicast,
    /// The FDB says the destination is behind the port the frame came from.
    Filtered,
}

/// FDB changes worth recording in a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdbEvent {
    Learned { mac: Mac, port: usize },
    Moved { mac: Mac, from: usize, to: usize },
}

#[derive(Clone, Debug)]
pub struct Switch {
    ports_up: Vec<bool>,
    fdb: Fdb,
    ageing: Duration,
}

impl Switch {
    pub fn new(ports: usize, ageing: Duration) -> Self {
        Self {
            ports_up: vec![true; ports],
            fdb: Fdb::default(),
            ageing,
        }
    }

    /// Adds ports (up) so the switch has `ports`; never removes any.
    pub fn resize(&mut self, ports: usize) {
        if ports > self.ports_up.len() {
            self.ports_up.resize(ports, true);
        }
    }

    pub fn port_count(&self) -> usize {
        self.ports_up.len()
    }

    /// Handles a frame received on `in_port`: learns its source and pushes the output
    /// ports into `out` (cleared first).
    pub fn receive(
        &mut self,
        now: Instant,
        in_port: usize,
        dst: Mac,
        src: Mac,
        out: &mut Vec<usize>,
    ) -> (Forwarding, Option<FdbEvent>) {
        out.clear();
        if !self.ports_up.get(in_port).copied().unwrap_or(false) {
            return (Forwarding::Filtered, None);
        }
        let event = if src.is_multicast() || src.is_zero() {
            None
        } else {
            self.learn(now, in_port, src)
        };
        if dst.is_multicast() {
            self.flood(in_port, out);
            return (Forwarding::Flood, event);
        }
        match self.lookup(now, dst) {
            Some(port) if port == in_port => (Forwarding::Filtered, event),
            Some(port) => {
                out.push(port);
                (Forwarding::Unicast, event)
            }
            None => {
                self.flood(in_port, out);
                (Forwarding::UnknownUnicast, event)
            }
        }
    }

    fn learn(&mut self, now: Instant, port: usize, src: Mac) -> Option<FdbEvent> {
        match self.fdb.get_mut(&key(src)) {
            Some(e) if e.port == port => {
                e.last_seen = now;
                None
            }
            Some(e) => {
                let from = e.port;
                *e = FdbEntry {
                    port,
                    last_seen: now,
                };
                Some(FdbEvent::Moved {
                    mac: src,
                    from,
                    to: port,
                })
            }
            None => {
                self.fdb.insert(
                    key(src),
                    FdbEntry {
                        port,
                        last_seen: now,
                    },
                );
                Some(FdbEvent::Learned { mac: src, port })
            }
        }
    }

    /// The port for `mac`, treating entries older than the ageing time as gone (the
    /// bridge's `has_expired` check on lookup, so ageing is exact rather than periodic).
    pub fn lookup(&mut self, now: Instant, mac: Mac) -> Option<usize> {
        let e = *self.fdb.get(&key(mac))?;
        if now.saturating_since(e.last_seen) > self.ageing {
            self.fdb.remove(&key(mac));
            return None;
        }
        Some(e.port)
    }

    fn flood(&self, in_port: usize, out: &mut Vec<usize>) {
        out.extend(
            self.ports_up
                .iter()
                .enumerate()
                .filter(|(p, up)| **up && *p != in_port)
                .map(|(p, _)| p),
        );
    }

    /// Carrier change on a port. Down flushes every entry learned there; returns how
    /// many entries were flushed.
    pub fn set_port_up(&mut self, port: usize, up: bool) -> usize {
        if let Some(p) = self.ports_up.get_mut(port) {
            *p = up;
        }
        if up {
            return 0;
        }
        let before = self.fdb.len();
        self.fdb.retain(|_, e| e.port != port);
        before - self.fdb.len()
    }

    pub fn fdb_len(&self) -> usize {
        self.fdb.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Mac = Mac([2, 0, 0, 0, 0, 0xa]);
    const B: Mac = Mac([2, 0, 0, 0, 0, 0xb]);

    fn t(s: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(s)
    }

    #[test]
    fn unknown_unicast_is_flooded_to_all_other_up_ports() {
        let mut sw = Switch::new(4, DEFAULT_AGEING);
        let mut out = vec![];
        sw.set_port_up(3, false);
        let (f, _) = sw.receive(t(0), 0, B, A, &mut out);
        assert_eq!(f, Forwarding::UnknownUnicast);
        assert_eq!(out, vec![1, 2]);
    }

    #[test]
    fn broadcast_is_flooded_even_when_destination_is_known() {
        let mut sw = Switch::new(3, DEFAULT_AGEING);
        let mut out = vec![];
        sw.receive(t(0), 1, A, B, &mut out);
        let (f, _) = sw.receive(t(0), 0, Mac::BROADCAST, A, &mut out);
        assert_eq!(f, Forwarding::Flood);
        assert_eq!(out, vec![1, 2]);
    }

    #[test]
    fn learned_destination_is_forwarded_to_one_port() {
        let mut sw = Switch::new(3, DEFAULT_AGEING);
        let mut out = vec![];
        sw.receive(t(0), 2, A, B, &mut out);
        let (f, _) = sw.receive(t(1), 0, B, A, &mut out);
        assert_eq!((f, out.as_slice()), (Forwarding::Unicast, &[2][..]));
    }

    #[test]
    fn fdb_entry_ages_out_after_300s_without_traffic() {
        let mut sw = Switch::new(3, DEFAULT_AGEING);
        let mut out = vec![];
        sw.receive(t(0), 2, A, B, &mut out);
        assert_eq!(
            sw.lookup(t(300), B),
            Some(2),
            "exactly 300 s is still valid"
        );
        sw.receive(t(301), 0, B, A, &mut out);
        assert_eq!(out, vec![1, 2], "aged out: flooded again");
    }

    #[test]
    fn source_seen_on_new_port_moves_immediately() {
        let mut sw = Switch::new(3, DEFAULT_AGEING);
        let mut out = vec![];
        sw.receive(t(0), 1, Mac::BROADCAST, B, &mut out);
        let (_, ev) = sw.receive(t(1), 2, Mac::BROADCAST, B, &mut out);
        assert_eq!(
            ev,
            Some(FdbEvent::Moved {
                mac: B,
                from: 1,
                to: 2
            })
        );
        sw.receive(t(1), 0, B, A, &mut out);
        assert_eq!(out, vec![2]);
    }

    #[test]
    fn port_down_flushes_entries_learned_on_it() {
        let mut sw = Switch::new(3, DEFAULT_AGEING);
        let mut out = vec![];
        sw.receive(t(0), 1, Mac::BROADCAST, B, &mut out);
        sw.receive(t(0), 0, Mac::BROADCAST, A, &mut out);
        assert_eq!(sw.set_port_up(1, false), 1);
        assert_eq!(sw.lookup(t(0), B), None);
        assert_eq!(sw.lookup(t(0), A), Some(0), "other ports untouched");
    }

    #[test]
    fn frames_for_the_ingress_port_are_filtered() {
        let mut sw = Switch::new(3, DEFAULT_AGEING);
        let mut out = vec![];
        sw.receive(t(0), 1, Mac::BROADCAST, B, &mut out);
        let (f, _) = sw.receive(t(0), 1, B, A, &mut out);
        assert_eq!(f, Forwarding::Filtered);
        assert!(out.is_empty());
    }

    #[test]
    fn configurable_ageing_is_honoured() {
        let mut sw = Switch::new(2, Duration::from_secs(10));
        let mut out = vec![];
        sw.receive(t(0), 1, Mac::BROADCAST, B, &mut out);
        assert_eq!(sw.lookup(t(11), B), None);
    }
}
