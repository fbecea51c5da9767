//! The probe protocol: the bytes a client flow puts in its UDP datagrams and the bytes
//! the target's echo answers with. The reply names the host that answered and the MAC
//! the request was addressed to, which is how a report can say *who* a client reached
//! and through which neighbour entry — the same things the lab's prober captured.

use crate::frame::{self, ETHERTYPE_IPV4, ETHERTYPE_IPV6, Mac};

const MAGIC: &[u8; 4] = b"FLBP";
pub const LEN: usize = 4 + 1 + 4 + 4 + 4 + 6;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Request,
    Reply,
}

/// A decoded probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    pub kind: Kind,
    pub flow: u32,
    pub seq: u32,
    /// The answering host (replies only).
    pub responder: u32,
    /// The destination MAC the request arrived with (replies only).
    pub via_mac: Mac,
}

impl Probe {
    pub fn request(flow: u32, seq: u32) -> Self {
        Self {
            kind: Kind::Request,
            flow,
            seq,
            responder: u32::MAX,
            via_mac: Mac::ZERO,
        }
    }
    pub fn encode(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[..4].copy_from_slice(MAGIC);
        b[4] = match self.kind {
            Kind::Request => 1,
            Kind::Reply => 2,
        };
        b[5..9].copy_from_slice(&self.flow.to_be_bytes());
        b[9..13].copy_from_slice(&self.seq.to_be_bytes());
        b[13..17].copy_from_slice(&self.responder.to_be_bytes());
        b[17..23].copy_from_slice(&self.via_mac.0);
        b
    }
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() < LEN || &b[..4] != MAGIC {
            return None;
        }
        let kind = match b[4] {
            1 => Kind::Request,
            2 => Kind::Reply,
            _ => return None,
        };
        let u = |o: usize| u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let mut mac = [0; 6];
        mac.copy_from_slice(&b[17..23]);
        Some(Self {
            kind,
            flow: u(5),
            seq: u(9),
            responder: u(13),
            via_mac: Mac(mac),
        })
    }
    /// Finds a probe inside an IP packet, if it carries one.
    pub fn in_ip_packet(p: &[u8]) -> Option<Self> {
        let ip = frame::parse_ip(p).ok()?;
        if ip.proto != frame::IPPROTO_UDP {
            return None;
        }
        Self::decode(frame::parse_udp(&ip).ok()?.payload)
    }
    /// Finds a probe inside an Ethernet frame, if it carries one.
    pub fn in_frame(f: &[u8]) -> Option<Self> {
        let eth = frame::parse_eth(f).ok()?;
        if eth.ethertype != ETHERTYPE_IPV4 && eth.ethertype != ETHERTYPE_IPV6 {
            return None;
        }
        Self::in_ip_packet(eth.payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_round_trips_through_udp_and_ethernet() {
        let p = Probe {
            kind: Kind::Reply,
            flow: 7,
            seq: 123_456,
            responder: 3,
            via_mac: Mac([2, 0, 0, 0, 0, 9]),
        };
        let pkt = frame::build_udp(
            "198.51.100.200".parse().unwrap(),
            "198.51.100.100".parse().unwrap(),
            9,
            40000,
            &p.encode(),
        )
        .unwrap();
        assert_eq!(Probe::in_ip_packet(&pkt), Some(p));
        let f = frame::build_eth(Mac::BROADCAST, Mac::ZERO, ETHERTYPE_IPV4, &pkt);
        assert_eq!(Probe::in_frame(&f), Some(p));
        assert_eq!(Probe::decode(b"FLBX"), None);
    }
}
