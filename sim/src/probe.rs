//! The probe protocol: the bytes a client flow puts in its UDP datagrams and the bytes
//! the target's echo answers with. The reply names the host that answered and the MAC
//! the request was addressed to, which is how a report can say *who* a client reached
//! and through which neighbour entry — the same things the lab's prober captured.

use std::net::Ipv4Addr;

use crate::frame::{self, ETH_HEADER_LEN, ETHERTYPE_IPV4, ETHERTYPE_IPV6, IPPROTO_UDP, Mac};

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
        self.encode_into(&mut b);
        b
    }
    /// Writes the encoding into `b` (`LEN` bytes).
    fn encode_into(&self, b: &mut [u8]) {
        b[..4].copy_from_slice(MAGIC);
        b[4] = match self.kind {
            Kind::Request => 1,
            Kind::Reply => 2,
        };
        b[5..9].copy_from_slice(&self.flow.to_be_bytes());
        b[9..13].copy_from_slice(&self.seq.to_be_bytes());
        b[13..17].copy_from_slice(&self.responder.to_be_bytes());
        b[17..23].copy_from_slice(&self.via_mac.0);
    }

    /// The Internet-checksum sum of the encoding, from the fields. Summing the bytes
    /// just written would read them back through narrow stores the CPU cannot forward
    /// to wide loads, which stalled the probe path.
    fn checksum_sum(&self) -> u64 {
        // A byte at an even offset is the high half of its 16-bit word.
        let at_odd = |v: u32| {
            let [b0, b1, b2, b3] = v.to_be_bytes();
            u64::from(b0) + u64::from(b2) + ((u64::from(b1) + u64::from(b3)) << 8)
        };
        let kind = match self.kind {
            Kind::Request => 1u64,
            Kind::Reply => 2,
        };
        let m = self.via_mac.0;
        let mac = u64::from(m[0])
            + u64::from(m[2])
            + u64::from(m[4])
            + ((u64::from(m[1]) + u64::from(m[3]) + u64::from(m[5])) << 8);
        u64::from(u16::from_be_bytes([MAGIC[0], MAGIC[1]]))
            + u64::from(u16::from_be_bytes([MAGIC[2], MAGIC[3]]))
            + (kind << 8)
            + at_odd(self.flow)
            + at_odd(self.seq)
            + at_odd(self.responder)
            + mac
    }

    /// Writes into `buf` (replacing what it held) exactly the IPv4 packet with
    /// Ethernet headroom that `frame::udp_packet` builds for this probe: the probe path
    /// builds millions of these in recycled buffers, with both checksums computed
    /// from the fields and every byte written once (a test holds the two equal).
    pub fn write_udp_v4(
        &self,
        buf: &mut Vec<u8>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        sport: u16,
        dport: u16,
    ) {
        const UDP_LEN: usize = 8 + LEN;
        const TOTAL: usize = 20 + UDP_LEN;
        let (s, d) = (u32::from(src), u32::from(dst));
        let words = |v: u32| u64::from(v >> 16) + u64::from(v & 0xffff);
        let proto = u64::from(IPPROTO_UDP);
        let ip_sum = 0x4500 + TOTAL as u64 + 0x4000 + (64 << 8 | proto) + words(s) + words(d);
        let pseudo = words(s) + words(d) + proto + UDP_LEN as u64;
        let udp_sum =
            pseudo + u64::from(sport) + u64::from(dport) + UDP_LEN as u64 + self.checksum_sum();
        let mut udp_csum = fold(udp_sum);
        if udp_csum == 0 {
            udp_csum = 0xffff;
        }
        buf.clear();
        buf.resize(ETH_HEADER_LEN + TOTAL, 0);
        let ip = &mut buf[ETH_HEADER_LEN..];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&(TOTAL as u16).to_be_bytes());
        ip[6] = 0x40;
        ip[8] = 64;
        ip[9] = IPPROTO_UDP;
        ip[10..12].copy_from_slice(&fold(ip_sum).to_be_bytes());
        ip[12..16].copy_from_slice(&src.octets());
        ip[16..20].copy_from_slice(&dst.octets());
        let udp = &mut ip[20..];
        udp[0..2].copy_from_slice(&sport.to_be_bytes());
        udp[2..4].copy_from_slice(&dport.to_be_bytes());
        udp[4..6].copy_from_slice(&(UDP_LEN as u16).to_be_bytes());
        udp[6..8].copy_from_slice(&udp_csum.to_be_bytes());
        self.encode_into(&mut udp[8..]);
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
        if ip.proto != IPPROTO_UDP {
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

/// Folds a one's-complement sum to 16 bits and complements it.
fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The probe builder and the codec agree byte for byte (checksums that fold to
    /// zero included, which the random fields reach).
    #[test]
    fn write_udp_v4_matches_the_codec() {
        let mut rng = crate::rng::RngTree::new(5).stream("probe-udp");
        let mut buf = vec![7; 3];
        for i in 0..20_000 {
            let r = |rng: &mut crate::rng::SimRng| rng.next_u64() as u32;
            let (s, d) = (Ipv4Addr::from(r(&mut rng)), Ipv4Addr::from(r(&mut rng)));
            let (sp, dp) = (r(&mut rng) as u16, r(&mut rng) as u16);
            let mut mac = [0u8; 6];
            mac.iter_mut().for_each(|b| *b = r(&mut rng) as u8);
            let p = Probe {
                kind: if i % 2 == 0 {
                    Kind::Request
                } else {
                    Kind::Reply
                },
                flow: r(&mut rng),
                seq: r(&mut rng),
                responder: r(&mut rng),
                via_mac: Mac(mac),
            };
            p.write_udp_v4(&mut buf, s, d, sp, dp);
            let want = frame::udp_packet(s.into(), d.into(), sp, dp, &p.encode()).unwrap();
            assert_eq!(&buf[ETH_HEADER_LEN..], want.ip(), "{p:?}");
        }
    }

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
