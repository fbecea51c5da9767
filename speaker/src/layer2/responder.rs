//! Layer 2 on the wire: the frames behind the announcer's actions, and the answers to
//! ARP requests and neighbour solicitations for announced addresses.
//!
//! Formats, and why:
//! * Gratuitous ARP is sent as a request (target MAC zero) *and* a reply whose target
//!   MAC is our own: Linux's `arp_is_garp` only treats a reply as gratuitous when target
//!   MAC equals sender MAC, so the broadcast-target reply MetalLB sends is subject to
//!   locktime while ours is not.
//! * Unsolicited NA: from the interface's link-local address to ff02::1, Override set,
//!   with the target link-layer option — Override is what lets it replace a cached MAC.
//! * Solicited NA: Solicited set, Override clear (as MetalLB), to the soliciting address.
//! * Conflict probes: an RFC 5227 ARP probe (sender IP 0.0.0.0), or a DAD neighbour
//!   solicitation from the unspecified address to the solicited-node group.
//! * Solicitations without a source link-layer option (DAD) are not answered, and ARP
//!   requests are answered only when sent to broadcast or to our MAC.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ferrolb_wire::{
    ALL_NODES, Arp, ArpOp, ETHERTYPE_ARP, ETHERTYPE_IPV6, IPPROTO_ICMPV6, Mac, Nd, build_eth,
    parse_eth, parse_ipv6, solicited_node,
};

use super::announcer::{Action, Announcer};

/// An interface as the responder needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// Name (`eth0`).
    pub name: String,
    /// Its MAC.
    pub mac: Mac,
    /// Its IPv6 link-local address, the source of our neighbour advertisements.
    pub link_local: Option<Ipv6Addr>,
}

/// Counters per address, exported as MetalLB's `metallb_layer2_*` metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct L2Counters {
    /// ARP requests / solicitations received for the address.
    pub requests_received: u64,
    /// Replies / advertisements sent.
    pub responses_sent: u64,
    /// Gratuitous ARPs / unsolicited advertisements sent.
    pub gratuitous_sent: u64,
}

/// Frames for one announcer action on one interface.
pub fn action_frames(
    action: &Action,
    iface: &Interface,
    counters: &mut BTreeMap<IpAddr, L2Counters>,
) -> Vec<Vec<u8>> {
    match action {
        Action::Announce {
            ip: IpAddr::V4(ip), ..
        } => {
            counters.entry(IpAddr::V4(*ip)).or_default().gratuitous_sent += 1;
            let request = Arp {
                op: ArpOp::Request,
                sha: iface.mac,
                spa: *ip,
                tha: Mac::ZERO,
                tpa: *ip,
            };
            let reply = Arp {
                op: ArpOp::Reply,
                sha: iface.mac,
                spa: *ip,
                tha: iface.mac,
                tpa: *ip,
            };
            vec![
                build_eth(Mac::BROADCAST, iface.mac, ETHERTYPE_ARP, &request.encode()),
                build_eth(Mac::BROADCAST, iface.mac, ETHERTYPE_ARP, &reply.encode()),
            ]
        }
        Action::Announce {
            ip: IpAddr::V6(ip), ..
        } => {
            let Some(src) = iface.link_local else {
                tracing::warn!(iface = %iface.name, %ip, "no IPv6 link-local address: cannot send an unsolicited NA");
                return Vec::new();
            };
            counters.entry(IpAddr::V6(*ip)).or_default().gratuitous_sent += 1;
            let na = Nd::Advert {
                target: *ip,
                router: false,
                solicited: false,
                override_: true,
                tllao: Some(iface.mac),
            };
            vec![build_eth(
                Mac::ipv6_multicast(ALL_NODES),
                iface.mac,
                ETHERTYPE_IPV6,
                &na.build(src, ALL_NODES),
            )]
        }
        Action::Probe {
            ip: IpAddr::V4(ip), ..
        } => {
            let probe = Arp {
                op: ArpOp::Request,
                sha: iface.mac,
                spa: Ipv4Addr::UNSPECIFIED,
                tha: Mac::ZERO,
                tpa: *ip,
            };
            vec![build_eth(
                Mac::BROADCAST,
                iface.mac,
                ETHERTYPE_ARP,
                &probe.encode(),
            )]
        }
        Action::Probe {
            ip: IpAddr::V6(ip), ..
        } => {
            let group = solicited_node(*ip);
            let ns = Nd::Solicit {
                target: *ip,
                sllao: None,
            };
            vec![build_eth(
                Mac::ipv6_multicast(group),
                iface.mac,
                ETHERTYPE_IPV6,
                &ns.build(Ipv6Addr::UNSPECIFIED, group),
            )]
        }
    }
}

/// Handles one frame received on `iface`: returns the replies to send, and tells the
/// announcer about any other host claiming an address it holds.
pub fn handle_frame(
    now: crate::time::Instant,
    announcer: &mut Announcer,
    iface: &Interface,
    frame: &[u8],
    is_speaker_mac: impl Fn(Mac) -> bool,
    counters: &mut BTreeMap<IpAddr, L2Counters>,
) -> Vec<Vec<u8>> {
    let Ok(eth) = parse_eth(frame) else {
        return Vec::new();
    };
    if eth.src == iface.mac {
        return Vec::new(); // our own frame, looped back by the packet socket
    }
    match eth.ethertype {
        ETHERTYPE_ARP => {
            let Ok(arp) = Arp::decode(eth.payload) else {
                return Vec::new();
            };
            // Someone else speaking for one of our addresses.
            if arp.spa != Ipv4Addr::UNSPECIFIED && arp.sha != iface.mac {
                announcer.observe_claim(
                    now,
                    IpAddr::V4(arp.spa),
                    arp.sha.0,
                    &iface.name,
                    is_speaker_mac(arp.sha),
                );
            }
            if arp.op != ArpOp::Request || !(eth.dst.is_broadcast() || eth.dst == iface.mac) {
                return Vec::new();
            }
            let ip = IpAddr::V4(arp.tpa);
            let answers = if arp.spa == Ipv4Addr::UNSPECIFIED {
                announcer.answers_probe(ip, &iface.name)
            } else {
                announcer.answers(ip, &iface.name)
            };
            if !answers || arp.spa == arp.tpa {
                return Vec::new();
            }
            let c = counters.entry(ip).or_default();
            c.requests_received += 1;
            c.responses_sent += 1;
            let reply = Arp {
                op: ArpOp::Reply,
                sha: iface.mac,
                spa: arp.tpa,
                tha: arp.sha,
                tpa: arp.spa,
            };
            vec![build_eth(
                arp.sha,
                iface.mac,
                ETHERTYPE_ARP,
                &reply.encode(),
            )]
        }
        ETHERTYPE_IPV6 => {
            let Ok(ip6) = parse_ipv6(eth.payload) else {
                return Vec::new();
            };
            if ip6.proto != IPPROTO_ICMPV6 {
                return Vec::new();
            }
            let Ok(Some(nd)) = Nd::parse(&ip6) else {
                return Vec::new();
            };
            let IpAddr::V6(src) = ip6.src else {
                return Vec::new();
            };
            match nd {
                Nd::Advert { target, tllao, .. } => {
                    let mac = tllao.unwrap_or(eth.src);
                    if mac != iface.mac {
                        announcer.observe_claim(
                            now,
                            IpAddr::V6(target),
                            mac.0,
                            &iface.name,
                            is_speaker_mac(mac),
                        );
                    }
                    Vec::new()
                }
                Nd::Solicit { target, sllao } => {
                    let ip = IpAddr::V6(target);
                    if src.is_unspecified() {
                        // Another host's DAD for one of our addresses: it is about to
                        // take it, which is a conflict in the making.
                        announcer.observe_claim(
                            now,
                            ip,
                            eth.src.0,
                            &iface.name,
                            is_speaker_mac(eth.src),
                        );
                        return Vec::new();
                    }
                    let (Some(mac), true) = (sllao, announcer.answers(ip, &iface.name)) else {
                        return Vec::new();
                    };
                    let Some(ll) = iface.link_local else {
                        return Vec::new();
                    };
                    let c = counters.entry(ip).or_default();
                    c.requests_received += 1;
                    c.responses_sent += 1;
                    let na = Nd::Advert {
                        target,
                        router: false,
                        solicited: true,
                        override_: false,
                        tllao: Some(iface.mac),
                    };
                    vec![build_eth(
                        mac,
                        iface.mac,
                        ETHERTYPE_IPV6,
                        &na.build(ll, src),
                    )]
                }
            }
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
