//! What the packet sockets let through, twice: in the kernel, a classic BPF program
//! ([`PROGRAM`]) that passes only incoming ARP and ICMPv6 neighbour solicitations and
//! advertisements, so the speaker is not woken by the interface's other traffic; in
//! user space, [`classify`], which counts whatever still does not parse instead of
//! handing it to the core.
//!
//! Advertisements pass as well as solicitations because the announcer watches them to
//! find other hosts claiming our addresses (the IPv6 half of conflict detection, as
//! ARP replies are the IPv4 half). Outgoing frames (our own, which an `ETH_P_ALL`
//! socket also sees) are dropped in the kernel by their packet type.

use ferrolb_wire::{ETHERTYPE_ARP, ETHERTYPE_IPV6, IPPROTO_ICMPV6, parse_eth, parse_ipv6};

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    /// Opcode.
    pub code: u16,
    /// Jump offset if true.
    pub jt: u8,
    /// Jump offset if false.
    pub jf: u8,
    /// Constant.
    pub k: u32,
}

const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const LD_H_ABS: u16 = 0x28; // BPF_LD | BPF_H | BPF_ABS
const LD_B_ABS: u16 = 0x30; // BPF_LD | BPF_B | BPF_ABS
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K

/// `SKF_AD_OFF + SKF_AD_PKTTYPE`: the ancillary load of `skb->pkt_type`.
pub const PKTTYPE: u32 = (-0x1000i32 + 4) as u32;
/// `PACKET_OUTGOING`.
pub const PACKET_OUTGOING: u32 = 4;

const fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
    Insn { code, jt, jf, k }
}

/// Ethernet (14) + IPv6 header (40): the ICMPv6 type. Neighbour discovery never
/// carries extension headers (RFC 4861 requires hop limit 255 and no fragmentation),
/// so a fixed offset is exact.
const ICMPV6_TYPE_OFFSET: u32 = 54;
/// Ethernet (14) + the IPv6 next-header byte (6).
const IPV6_NEXT_HEADER_OFFSET: u32 = 20;

/// The filter. Offsets are relative to the next instruction: 10 is accept, 11 drop.
pub const PROGRAM: [Insn; 12] = [
    insn(LD_W_ABS, 0, 0, PKTTYPE),                 // 0
    insn(JEQ_K, 9, 0, PACKET_OUTGOING),            // 1: ours -> drop
    insn(LD_H_ABS, 0, 0, 12),                      // 2: ethertype
    insn(JEQ_K, 6, 0, ETHERTYPE_ARP as u32),       // 3: ARP -> accept
    insn(JEQ_K, 0, 6, ETHERTYPE_IPV6 as u32),      // 4: not IPv6 -> drop
    insn(LD_B_ABS, 0, 0, IPV6_NEXT_HEADER_OFFSET), // 5
    insn(JEQ_K, 0, 4, IPPROTO_ICMPV6 as u32),      // 6: not ICMPv6 -> drop
    insn(LD_B_ABS, 0, 0, ICMPV6_TYPE_OFFSET),      // 7
    insn(JEQ_K, 1, 0, 135),                        // 8: NS -> accept
    insn(JEQ_K, 0, 1, 136),                        // 9: NA -> accept, else drop
    insn(RET_K, 0, 0, 0xffff),                     // 10: accept, whole frame
    insn(RET_K, 0, 0, 0),                          // 11: drop
];

/// The program in socket2's form.
pub fn sock_filter() -> Vec<socket2::SockFilter> {
    PROGRAM
        .iter()
        .map(|i| socket2::SockFilter::new(i.code, i.jt, i.jf, i.k))
        .collect()
}

/// What a received frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// An ARP packet.
    Arp,
    /// An ICMPv6 neighbour solicitation or advertisement.
    NeighbourDiscovery,
    /// Anything else, or something that does not parse: counted, not handed on.
    Unknown,
}

/// Classifies a frame the way the core will read it.
pub fn classify(frame: &[u8]) -> FrameKind {
    let Ok(eth) = parse_eth(frame) else {
        return FrameKind::Unknown;
    };
    match eth.ethertype {
        ETHERTYPE_ARP if ferrolb_wire::Arp::decode(eth.payload).is_ok() => FrameKind::Arp,
        ETHERTYPE_IPV6 => match parse_ipv6(eth.payload) {
            Ok(ip) if ip.proto == IPPROTO_ICMPV6 => match ferrolb_wire::Nd::parse(&ip) {
                Ok(Some(_)) => FrameKind::NeighbourDiscovery,
                _ => FrameKind::Unknown,
            },
            _ => FrameKind::Unknown,
        },
        _ => FrameKind::Unknown,
    }
}

#[cfg(test)]
mod tests;
