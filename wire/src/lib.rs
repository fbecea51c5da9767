//! Ethernet frames as bytes, and the protocols a load balancer and its simulator need:
//! ARP (RFC 826), IPv4 and IPv6 with UDP and TCP, and ICMPv6 neighbour discovery
//! (RFC 4861).
//!
//! Shared by the speaker (which sends and receives these frames through AF_PACKET) and
//! the simulator (whose links, switches and kernels move them), so both sides of every
//! test speak exactly the same bytes, and a parsing bug shows up in a scenario rather
//! than being hidden by a convenient struct. Checksums are computed and checked.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
pub const IPPROTO_ICMPV6: u8 = 58;
pub const ETH_HEADER_LEN: usize = 14;

/// Why a frame could not be decoded. Frames that fail are dropped and counted, as a NIC
/// or kernel would.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FrameError {
    #[error("truncated {0}")]
    Truncated(&'static str),
    #[error("unsupported {0}")]
    Unsupported(&'static str),
    #[error("bad checksum in {0}")]
    BadChecksum(&'static str),
}

/// A 48-bit MAC address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    pub const BROADCAST: Self = Self([0xff; 6]);
    pub const ZERO: Self = Self([0; 6]);

    pub fn is_broadcast(self) -> bool {
        self == Self::BROADCAST
    }
    /// Group bit set: broadcast and multicast (IPv6 `33:33:…`) frames are flooded.
    pub fn is_multicast(self) -> bool {
        self.0[0] & 1 == 1
    }
    pub fn is_zero(self) -> bool {
        self == Self::ZERO
    }
    /// The Ethernet group address for an IPv6 multicast address (RFC 2464 §7).
    pub fn ipv6_multicast(group: Ipv6Addr) -> Self {
        let o = group.octets();
        Self([0x33, 0x33, o[12], o[13], o[14], o[15]])
    }
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split(':').collect();
        if parts.len() != 6 {
            return Err(format!(
                "`{text}` is not a MAC address (want aa:bb:cc:dd:ee:ff)"
            ));
        }
        let mut m = [0u8; 6];
        for (i, p) in parts.iter().enumerate() {
            m[i] = u8::from_str_radix(p, 16)
                .ok()
                .filter(|_| p.len() == 2)
                .ok_or_else(|| format!("`{text}` is not a MAC address (bad octet `{p}`)"))?;
        }
        Ok(Self(m))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}
impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The solicited-node multicast group of an IPv6 address (RFC 4291 §2.7.1).
pub fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        (u16::from(o[14]) << 8) | u16::from(o[15]),
    )
}

pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// A borrowed view of an Ethernet frame.
#[derive(Clone, Copy, Debug)]
pub struct Eth<'a> {
    pub dst: Mac,
    pub src: Mac,
    pub ethertype: u16,
    pub payload: &'a [u8],
}

pub fn parse_eth(frame: &[u8]) -> Result<Eth<'_>, FrameError> {
    if frame.len() < ETH_HEADER_LEN {
        return Err(FrameError::Truncated("ethernet header"));
    }
    let mut dst = [0; 6];
    let mut src = [0; 6];
    dst.copy_from_slice(&frame[0..6]);
    src.copy_from_slice(&frame[6..12]);
    Ok(Eth {
        dst: Mac(dst),
        src: Mac(src),
        ethertype: u16::from_be_bytes([frame[12], frame[13]]),
        payload: &frame[ETH_HEADER_LEN..],
    })
}

pub fn build_eth(dst: Mac, src: Mac, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(ETH_HEADER_LEN + payload.len());
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Only the two source and destination fields are read from a frame this often, so the
/// forwarding path of a switch does not need a full parse.
pub fn peek_macs(frame: &[u8]) -> Option<(Mac, Mac)> {
    parse_eth(frame).ok().map(|e| (e.dst, e.src))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArpOp {
    Request,
    Reply,
}

/// An Ethernet/IPv4 ARP packet (RFC 826).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arp {
    pub op: ArpOp,
    pub sha: Mac,
    pub spa: Ipv4Addr,
    pub tha: Mac,
    pub tpa: Ipv4Addr,
}

impl Arp {
    pub fn encode(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(28);
        p.extend_from_slice(&1u16.to_be_bytes()); // htype Ethernet
        p.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        p.push(6);
        p.push(4);
        let op: u16 = match self.op {
            ArpOp::Request => 1,
            ArpOp::Reply => 2,
        };
        p.extend_from_slice(&op.to_be_bytes());
        p.extend_from_slice(&self.sha.0);
        p.extend_from_slice(&self.spa.octets());
        p.extend_from_slice(&self.tha.0);
        p.extend_from_slice(&self.tpa.octets());
        p
    }

    pub fn decode(p: &[u8]) -> Result<Self, FrameError> {
        if p.len() < 28 {
            return Err(FrameError::Truncated("arp"));
        }
        if p[0..2] != [0, 1] || p[2..4] != ETHERTYPE_IPV4.to_be_bytes() || p[4] != 6 || p[5] != 4 {
            return Err(FrameError::Unsupported("arp hardware/protocol type"));
        }
        let op = match u16::from_be_bytes([p[6], p[7]]) {
            1 => ArpOp::Request,
            2 => ArpOp::Reply,
            _ => return Err(FrameError::Unsupported("arp opcode")),
        };
        let mac = |o: usize| {
            let mut m = [0; 6];
            m.copy_from_slice(&p[o..o + 6]);
            Mac(m)
        };
        let ip = |o: usize| Ipv4Addr::new(p[o], p[o + 1], p[o + 2], p[o + 3]);
        Ok(Self {
            op,
            sha: mac(8),
            spa: ip(14),
            tha: mac(18),
            tpa: ip(24),
        })
    }
}

/// The Internet checksum (RFC 1071) over `data`, continuing from `sum`. Adds 32-bit
/// words into a 64-bit accumulator: since 2^16 ≡ 1 (mod 2^16 − 1), a 32-bit word
/// contributes the same as its two 16-bit halves, so the folded result is identical
/// to the textbook 16-bit loop, at a quarter of the additions.
fn sum16(sum: u32, data: &[u8]) -> u32 {
    let mut acc = u64::from(sum);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        acc += u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
    }
    let rem = chunks.remainder();
    let mut i = 0;
    while i + 1 < rem.len() {
        acc += u64::from(u16::from_be_bytes([rem[i], rem[i + 1]]));
        i += 2;
    }
    if i < rem.len() {
        acc += u64::from(rem[i]) << 8;
    }
    while acc > 0xffff_ffff {
        acc = (acc & 0xffff_ffff) + (acc >> 32);
    }
    acc as u32
}

fn fold(sum: u32) -> u16 {
    let mut sum = u64::from(sum);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// One's-complement addition of two partial sums. `sum16` returns sums up to
/// `u32::MAX` (it adds 32-bit words), so a plain `+` on top of it can overflow: an
/// address of all-ones bytes did, found by the `layer2_frame` fuzzer.
fn add_sum(a: u32, b: u32) -> u32 {
    let s = u64::from(a) + u64::from(b);
    ((s & 0xffff_ffff) + (s >> 32)) as u32
}

fn pseudo_v4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: usize) -> u32 {
    let mut s = sum16(0, &src.octets());
    s = sum16(s, &dst.octets());
    add_sum(s, u32::from(proto) + len as u32)
}

fn pseudo_v6(src: Ipv6Addr, dst: Ipv6Addr, proto: u8, len: usize) -> u32 {
    let mut s = sum16(0, &src.octets());
    s = sum16(s, &dst.octets());
    add_sum(
        s,
        ((len as u32) >> 16) + (len as u32 & 0xffff) + u32::from(proto),
    )
}

/// A decoded IP packet (either family): what the host stack dispatches on.
#[derive(Clone, Copy, Debug)]
pub struct Ip<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub hop_limit: u8,
    pub payload: &'a [u8],
}

pub fn parse_ipv4(p: &[u8]) -> Result<Ip<'_>, FrameError> {
    if p.len() < 20 {
        return Err(FrameError::Truncated("ipv4 header"));
    }
    if p[0] >> 4 != 4 {
        return Err(FrameError::Unsupported("ip version"));
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([p[2], p[3]]));
    if ihl < 20 || total < ihl || p.len() < total {
        return Err(FrameError::Truncated("ipv4 packet"));
    }
    if fold(sum16(0, &p[..ihl])) != 0 {
        return Err(FrameError::BadChecksum("ipv4 header"));
    }
    Ok(Ip {
        src: IpAddr::V4(Ipv4Addr::new(p[12], p[13], p[14], p[15])),
        dst: IpAddr::V4(Ipv4Addr::new(p[16], p[17], p[18], p[19])),
        proto: p[9],
        hop_limit: p[8],
        payload: &p[ihl..total],
    })
}

pub fn parse_ipv6(p: &[u8]) -> Result<Ip<'_>, FrameError> {
    if p.len() < 40 {
        return Err(FrameError::Truncated("ipv6 header"));
    }
    if p[0] >> 4 != 6 {
        return Err(FrameError::Unsupported("ip version"));
    }
    let plen = usize::from(u16::from_be_bytes([p[4], p[5]]));
    if p.len() < 40 + plen {
        return Err(FrameError::Truncated("ipv6 payload"));
    }
    let mut s = [0u8; 16];
    let mut d = [0u8; 16];
    s.copy_from_slice(&p[8..24]);
    d.copy_from_slice(&p[24..40]);
    Ok(Ip {
        src: IpAddr::V6(Ipv6Addr::from(s)),
        dst: IpAddr::V6(Ipv6Addr::from(d)),
        proto: p[6],
        hop_limit: p[7],
        payload: &p[40..40 + plen],
    })
}

/// Parses an IP packet of either family by its version nibble.
pub fn parse_ip(p: &[u8]) -> Result<Ip<'_>, FrameError> {
    match p.first().map(|b| b >> 4) {
        Some(4) => parse_ipv4(p),
        Some(6) => parse_ipv6(p),
        Some(_) => Err(FrameError::Unsupported("ip version")),
        None => Err(FrameError::Truncated("ip packet")),
    }
}

fn ipv6_packet(src: Ipv6Addr, dst: Ipv6Addr, proto: u8, hop: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(40 + payload.len());
    p.extend_from_slice(&[0x60, 0, 0, 0]);
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.push(proto);
    p.push(hop);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

/// An IP packet with room in front for the Ethernet header, so resolving the
/// neighbour turns it into a frame without a copy (the kernel's skb headroom). This is
/// the simulator's hot path: one allocation per packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpPacket(Vec<u8>);

impl IpPacket {
    /// Wraps a buffer that holds `ETH_HEADER_LEN` bytes of headroom and then an IP
    /// packet: for callers that build packets in buffers they reuse (the simulator
    /// recycles delivered frames instead of allocating one per packet).
    pub fn from_headroom(buf: Vec<u8>) -> Self {
        debug_assert!(buf.len() >= ETH_HEADER_LEN);
        Self(buf)
    }
    /// The IP packet itself.
    pub fn ip(&self) -> &[u8] {
        &self.0[ETH_HEADER_LEN..]
    }
    /// Prepends the Ethernet header in place.
    pub fn into_frame(mut self, dst: Mac, src: Mac) -> Vec<u8> {
        let ethertype = if self.ip().first().is_some_and(|b| b >> 4 == 6) {
            ETHERTYPE_IPV6
        } else {
            ETHERTYPE_IPV4
        };
        self.0[0..6].copy_from_slice(&dst.0);
        self.0[6..12].copy_from_slice(&src.0);
        self.0[12..14].copy_from_slice(&ethertype.to_be_bytes());
        self.0
    }
}

/// Starts an IP packet of `src`/`dst`'s family carrying `l4_len` bytes of `proto`:
/// Ethernet headroom, then the IP header (IPv4 checksum filled in). Returns the buffer
/// and the pseudo-header sum the transport checksum starts from. One place writes IP
/// headers so UDP and TCP can never disagree on TTL, flags or lengths.
fn ip_packet_start(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    l4_len: usize,
) -> Result<(Vec<u8>, u32), FrameError> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut b = Vec::with_capacity(ETH_HEADER_LEN + 20 + l4_len);
            b.resize(ETH_HEADER_LEN, 0);
            b.extend_from_slice(&[0x45, 0]);
            b.extend_from_slice(&((20 + l4_len) as u16).to_be_bytes());
            b.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
            b.extend_from_slice(&s.octets());
            b.extend_from_slice(&d.octets());
            let c = fold(sum16(0, &b[ETH_HEADER_LEN..]));
            b[ETH_HEADER_LEN + 10..ETH_HEADER_LEN + 12].copy_from_slice(&c.to_be_bytes());
            Ok((b, pseudo_v4(s, d, proto, l4_len)))
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut b = Vec::with_capacity(ETH_HEADER_LEN + 40 + l4_len);
            b.resize(ETH_HEADER_LEN, 0);
            b.extend_from_slice(&[0x60, 0, 0, 0]);
            b.extend_from_slice(&(l4_len as u16).to_be_bytes());
            b.extend_from_slice(&[proto, 64]);
            b.extend_from_slice(&s.octets());
            b.extend_from_slice(&d.octets());
            Ok((b, pseudo_v6(s, d, proto, l4_len)))
        }
        _ => Err(FrameError::Unsupported("mixed address families")),
    }
}

/// Builds a UDP datagram in an IP packet of the family of `src`/`dst`, with headroom
/// for the Ethernet header and both checksums. Mixed families are a caller bug and are
/// reported, not panicked on.
pub fn udp_packet(
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> Result<IpPacket, FrameError> {
    let udp_len = 8 + payload.len();
    let (mut b, pseudo) = ip_packet_start(src, dst, IPPROTO_UDP, udp_len)?;
    let u = b.len();
    b.extend_from_slice(&sport.to_be_bytes());
    b.extend_from_slice(&dport.to_be_bytes());
    b.extend_from_slice(&(udp_len as u16).to_be_bytes());
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(payload);
    let mut c = fold(sum16(pseudo, &b[u..]));
    if c == 0 {
        c = 0xffff;
    }
    b[u + 6..u + 8].copy_from_slice(&c.to_be_bytes());
    Ok(IpPacket(b))
}

/// TCP header flags.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// A TCP segment as the simulator uses it: a 20-byte header without options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpSegment {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub payload: Vec<u8>,
}

impl TcpSegment {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
    /// Sequence space the segment occupies (SYN and FIN count one each).
    pub fn seq_len(&self) -> u32 {
        self.payload.len() as u32
            + u32::from(self.has(tcp_flags::SYN))
            + u32::from(self.has(tcp_flags::FIN))
    }
}

/// Builds a TCP segment in an IP packet (with headroom), checksum included.
pub fn tcp_packet(src: IpAddr, dst: IpAddr, seg: &TcpSegment) -> Result<IpPacket, FrameError> {
    let (mut b, pseudo) = ip_packet_start(src, dst, IPPROTO_TCP, 20 + seg.payload.len())?;
    let t = b.len();
    b.extend_from_slice(&seg.sport.to_be_bytes());
    b.extend_from_slice(&seg.dport.to_be_bytes());
    b.extend_from_slice(&seg.seq.to_be_bytes());
    b.extend_from_slice(&seg.ack.to_be_bytes());
    b.extend_from_slice(&[5 << 4, seg.flags, 0xff, 0xff, 0, 0, 0, 0]);
    b.extend_from_slice(&seg.payload);
    let c = fold(sum16(pseudo, &b[t..]));
    b[t + 16..t + 18].copy_from_slice(&c.to_be_bytes());
    Ok(IpPacket(b))
}

/// Parses and checksum-verifies the TCP segment carried by `ip`.
pub fn parse_tcp(ip: &Ip<'_>) -> Result<TcpSegment, FrameError> {
    let t = ip.payload;
    if t.len() < 20 {
        return Err(FrameError::Truncated("tcp header"));
    }
    let off = usize::from(t[12] >> 4) * 4;
    if off < 20 || off > t.len() {
        return Err(FrameError::Truncated("tcp header"));
    }
    let ps = match (ip.src, ip.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => pseudo_v4(s, d, IPPROTO_TCP, t.len()),
        (IpAddr::V6(s), IpAddr::V6(d)) => pseudo_v6(s, d, IPPROTO_TCP, t.len()),
        _ => return Err(FrameError::Unsupported("mixed address families")),
    };
    if fold(sum16(ps, t)) != 0 {
        return Err(FrameError::BadChecksum("tcp"));
    }
    let u32_at = |o: usize| u32::from_be_bytes([t[o], t[o + 1], t[o + 2], t[o + 3]]);
    Ok(TcpSegment {
        sport: u16::from_be_bytes([t[0], t[1]]),
        dport: u16::from_be_bytes([t[2], t[3]]),
        seq: u32_at(4),
        ack: u32_at(8),
        flags: t[13],
        payload: t[off..].to_vec(),
    })
}

/// [`udp_packet`] without headroom: just the IP packet.
pub fn build_udp(
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> Result<Vec<u8>, FrameError> {
    udp_packet(src, dst, sport, dport, payload).map(|p| p.ip().to_vec())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Udp<'a> {
    pub sport: u16,
    pub dport: u16,
    pub payload: &'a [u8],
}

/// Parses and checksum-verifies the UDP segment carried by `ip`.
pub fn parse_udp<'a>(ip: &Ip<'a>) -> Result<Udp<'a>, FrameError> {
    let u = ip.payload;
    if u.len() < 8 {
        return Err(FrameError::Truncated("udp header"));
    }
    let len = usize::from(u16::from_be_bytes([u[4], u[5]]));
    if len < 8 || len > u.len() {
        return Err(FrameError::Truncated("udp datagram"));
    }
    let stored = u16::from_be_bytes([u[6], u[7]]);
    let ps = match (ip.src, ip.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => (stored != 0).then(|| pseudo_v4(s, d, IPPROTO_UDP, len)),
        (IpAddr::V6(s), IpAddr::V6(d)) => Some(pseudo_v6(s, d, IPPROTO_UDP, len)),
        _ => return Err(FrameError::Unsupported("mixed address families")),
    };
    if let Some(ps) = ps
        && fold(sum16(ps, &u[..len])) != 0
    {
        return Err(FrameError::BadChecksum("udp"));
    }
    Ok(Udp {
        sport: u16::from_be_bytes([u[0], u[1]]),
        dport: u16::from_be_bytes([u[2], u[3]]),
        payload: &u[8..len],
    })
}

/// The two neighbour-discovery messages the fabric models (RFC 4861 §4.3, §4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nd {
    Solicit {
        target: Ipv6Addr,
        /// Source link-layer address option; absent in DAD probes.
        sllao: Option<Mac>,
    },
    Advert {
        target: Ipv6Addr,
        router: bool,
        solicited: bool,
        override_: bool,
        /// Target link-layer address option.
        tllao: Option<Mac>,
    },
}

impl Nd {
    /// Builds the complete IPv6 packet (hop limit 255, as RFC 4861 requires) with a
    /// correct ICMPv6 checksum.
    pub fn build(&self, src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
        let mut m = Vec::with_capacity(32);
        match *self {
            Self::Solicit { target, sllao } => {
                m.extend_from_slice(&[135, 0, 0, 0, 0, 0, 0, 0]);
                m.extend_from_slice(&target.octets());
                if let Some(mac) = sllao {
                    m.extend_from_slice(&[1, 1]);
                    m.extend_from_slice(&mac.0);
                }
            }
            Self::Advert {
                target,
                router,
                solicited,
                override_,
                tllao,
            } => {
                let flags = (u8::from(router) << 7)
                    | (u8::from(solicited) << 6)
                    | (u8::from(override_) << 5);
                m.extend_from_slice(&[136, 0, 0, 0, flags, 0, 0, 0]);
                m.extend_from_slice(&target.octets());
                if let Some(mac) = tllao {
                    m.extend_from_slice(&[2, 1]);
                    m.extend_from_slice(&mac.0);
                }
            }
        }
        let c = fold(sum16(pseudo_v6(src, dst, IPPROTO_ICMPV6, m.len()), &m));
        m[2..4].copy_from_slice(&c.to_be_bytes());
        ipv6_packet(src, dst, IPPROTO_ICMPV6, 255, &m)
    }

    /// Parses an ND message from a decoded IPv6 packet. Returns `Ok(None)` for ICMPv6
    /// that is not NS/NA. Enforces the checksum and the hop-limit-255 rule (RFC 4861
    /// §7.1.1), as Linux does.
    pub fn parse(ip: &Ip<'_>) -> Result<Option<Self>, FrameError> {
        let (IpAddr::V6(src), IpAddr::V6(dst)) = (ip.src, ip.dst) else {
            return Err(FrameError::Unsupported("nd over ipv4"));
        };
        let m = ip.payload;
        if m.len() < 4 {
            return Err(FrameError::Truncated("icmpv6"));
        }
        if fold(sum16(pseudo_v6(src, dst, IPPROTO_ICMPV6, m.len()), m)) != 0 {
            return Err(FrameError::BadChecksum("icmpv6"));
        }
        if m[0] != 135 && m[0] != 136 {
            return Ok(None);
        }
        if ip.hop_limit != 255 || m[1] != 0 {
            return Err(FrameError::Unsupported("nd hop limit / code"));
        }
        if m.len() < 24 {
            return Err(FrameError::Truncated("nd message"));
        }
        let mut t = [0u8; 16];
        t.copy_from_slice(&m[8..24]);
        let target = Ipv6Addr::from(t);
        let mut sll = None;
        let mut tll = None;
        let mut opts = &m[24..];
        while opts.len() >= 2 {
            let len = usize::from(opts[1]) * 8;
            if len == 0 || len > opts.len() {
                return Err(FrameError::Truncated("nd option"));
            }
            if len >= 8 {
                let mut mac = [0; 6];
                mac.copy_from_slice(&opts[2..8]);
                match opts[0] {
                    1 => sll = Some(Mac(mac)),
                    2 => tll = Some(Mac(mac)),
                    _ => {}
                }
            }
            opts = &opts[len..];
        }
        Ok(Some(if m[0] == 135 {
            Self::Solicit { target, sllao: sll }
        } else {
            Self::Advert {
                target,
                router: m[4] & 0x80 != 0,
                solicited: m[4] & 0x40 != 0,
                override_: m[4] & 0x20 != 0,
                tllao: tll,
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn arp_round_trips_and_has_rfc826_layout() {
        let a = Arp {
            op: ArpOp::Reply,
            sha: Mac([2, 0, 0, 0, 0, 1]),
            spa: Ipv4Addr::new(198, 51, 100, 11),
            tha: Mac::BROADCAST,
            tpa: Ipv4Addr::new(198, 51, 100, 11),
        };
        let b = a.encode();
        assert_eq!(b.len(), 28);
        assert_eq!(&b[..8], &[0, 1, 8, 0, 6, 4, 0, 2]);
        assert_eq!(Arp::decode(&b).unwrap(), a);
        assert!(Arp::decode(&b[..20]).is_err());
    }

    #[test]
    fn ethernet_round_trips() {
        let f = build_eth(
            Mac::BROADCAST,
            Mac([2, 1, 2, 3, 4, 5]),
            ETHERTYPE_ARP,
            &[9, 9],
        );
        let e = parse_eth(&f).unwrap();
        assert_eq!(e.dst, Mac::BROADCAST);
        assert_eq!(e.src.to_string(), "02:01:02:03:04:05");
        assert_eq!(e.ethertype, ETHERTYPE_ARP);
        assert_eq!(e.payload, &[9, 9]);
    }

    #[test]
    fn udp_v4_and_v6_round_trip_with_valid_checksums() {
        for (s, d) in [
            ("198.51.100.1", "198.51.100.200"),
            ("2001:db8::1", "2001:db8::200"),
        ] {
            let s: IpAddr = s.parse().unwrap();
            let d: IpAddr = d.parse().unwrap();
            let mut p = build_udp(s, d, 40000, 9, b"hello").unwrap();
            let ip = parse_ip(&p).unwrap();
            assert_eq!((ip.src, ip.dst, ip.proto), (s, d, IPPROTO_UDP));
            let u = parse_udp(&ip).unwrap();
            assert_eq!((u.sport, u.dport, u.payload), (40000, 9, &b"hello"[..]));
            // Corrupt one payload byte: the checksum must catch it.
            let last = p.len() - 1;
            p[last] ^= 0x55;
            let ip = parse_ip(&p).unwrap();
            assert_eq!(parse_udp(&ip), Err(FrameError::BadChecksum("udp")));
        }
    }

    #[test]
    fn headroom_packet_becomes_a_frame_in_place() {
        let p = udp_packet(
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
            1,
            2,
            b"x",
        )
        .unwrap();
        let ip = p.ip().to_vec();
        let f = p.into_frame(Mac::BROADCAST, Mac([2, 0, 0, 0, 0, 1]));
        let e = parse_eth(&f).unwrap();
        assert_eq!(e.ethertype, ETHERTYPE_IPV6);
        assert_eq!(e.payload, &ip[..]);
    }

    #[test]
    fn tcp_segments_round_trip_with_checksum() {
        let seg = TcpSegment {
            sport: 40000,
            dport: 179,
            seq: 7,
            ack: 9,
            flags: tcp_flags::SYN | tcp_flags::ACK,
            payload: b"open".to_vec(),
        };
        for (s, d) in [("10.0.0.1", "10.0.0.2"), ("2001:db8::1", "2001:db8::2")] {
            let p = tcp_packet(s.parse().unwrap(), d.parse().unwrap(), &seg).unwrap();
            let mut raw = p.ip().to_vec();
            assert_eq!(parse_tcp(&parse_ip(&raw).unwrap()).unwrap(), seg);
            assert_eq!(seg.seq_len(), 5);
            let last = raw.len() - 1;
            raw[last] ^= 1;
            assert!(matches!(
                parse_tcp(&parse_ip(&raw).unwrap()),
                Err(FrameError::BadChecksum(_))
            ));
        }
    }

    /// The word-wide checksum must agree with the RFC 1071 16-bit loop on every
    /// length and content, including odd lengths and sums that wrap many times.
    #[test]
    fn wide_checksum_matches_the_rfc1071_reference() {
        fn reference(data: &[u8]) -> u16 {
            let mut sum: u32 = 0;
            for c in data.chunks(2) {
                let w = if c.len() == 2 {
                    u16::from_be_bytes([c[0], c[1]])
                } else {
                    u16::from(c[0]) << 8
                };
                sum += u32::from(w);
                while sum > 0xffff {
                    sum = (sum & 0xffff) + (sum >> 16);
                }
            }
            !(sum as u16)
        }
        // A fixed xorshift sequence: arbitrary bytes, same every run.
        let mut x: u32 = 0x9e37_79b9;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        };
        for len in 0..300usize {
            let data: Vec<u8> = (0..len).map(|_| next()).collect();
            assert_eq!(fold(sum16(0, &data)), reference(&data), "len {len}");
            let ones = vec![0xffu8; len];
            assert_eq!(
                fold(sum16(0, &ones)),
                reference(&ones),
                "all ones, len {len}"
            );
        }
    }

    /// Found by the `layer2_frame` fuzzer: all-ones addresses make the address sum
    /// nearly `u32::MAX`, and adding the rest of the pseudo-header overflowed.
    #[test]
    fn pseudo_header_of_all_ones_addresses_does_not_overflow() {
        let ones6 = Ipv6Addr::from([0xff; 16]);
        let nd = Nd::Solicit {
            target: ones6,
            sllao: Some(Mac([2, 0, 0, 0, 0, 1])),
        };
        let pkt = nd.build(ones6, ones6);
        let ip = parse_ipv6(&pkt).expect("parses");
        assert_eq!(Nd::parse(&ip).expect("checksum verifies"), Some(nd));
        let ones4 = Ipv4Addr::BROADCAST;
        let p = udp_packet(ones4.into(), ones4.into(), 65535, 65535, &[0xff; 64]).unwrap();
        let ip = parse_ipv4(p.ip()).expect("parses");
        assert!(parse_udp(&ip).is_ok(), "UDP checksum verifies");
    }

    #[test]
    fn ipv4_header_checksum_is_verified() {
        let mut p = build_udp(
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            1,
            2,
            &[],
        )
        .unwrap();
        assert!(parse_ipv4(&p).is_ok());
        p[8] = 1; // change TTL without fixing the checksum
        assert!(matches!(parse_ipv4(&p), Err(FrameError::BadChecksum(_))));
    }

    /// Known-good bytes: an NS from fe80::1 for 2001:db8::200 with SLLAO
    /// 02:00:00:00:00:01 to its solicited-node group, checksum computed independently.
    #[test]
    fn neighbour_solicitation_matches_reference_checksum() {
        let src = v6("fe80::1");
        let target = v6("2001:db8::200");
        let dst = solicited_node(target);
        assert_eq!(dst, v6("ff02::1:ff00:200"));
        let p = Nd::Solicit {
            target,
            sllao: Some(Mac([2, 0, 0, 0, 0, 1])),
        }
        .build(src, dst);
        let icmp = &p[40..];
        assert_eq!(icmp.len(), 32);
        assert_eq!(
            u16::from_be_bytes([icmp[2], icmp[3]]),
            REFERENCE_NS_CHECKSUM
        );
    }
    const REFERENCE_NS_CHECKSUM: u16 = 0x4763;

    #[test]
    fn neighbour_advert_round_trips_flags_and_option() {
        let na = Nd::Advert {
            target: v6("2001:db8::200"),
            router: false,
            solicited: false,
            override_: true,
            tllao: Some(Mac([2, 0, 0, 0, 0, 2])),
        };
        let p = na.build(v6("2001:db8::12"), ALL_NODES);
        let ip = parse_ipv6(&p).unwrap();
        assert_eq!(ip.hop_limit, 255);
        assert_eq!(Nd::parse(&ip).unwrap(), Some(na));
    }

    #[test]
    fn nd_with_wrong_hop_limit_or_checksum_is_rejected() {
        let ns = Nd::Solicit {
            target: v6("2001:db8::1"),
            sllao: None,
        };
        let mut p = ns.build(v6("2001:db8::2"), solicited_node(v6("2001:db8::1")));
        p[7] = 64;
        assert!(Nd::parse(&parse_ipv6(&p).unwrap()).is_err());
        p[7] = 255;
        p[45] ^= 1;
        assert!(matches!(
            Nd::parse(&parse_ipv6(&p).unwrap()),
            Err(FrameError::BadChecksum(_))
        ));
    }
}
