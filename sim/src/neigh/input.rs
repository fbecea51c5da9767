//! What received ARP, NS and NA packets do to the table: `arp_process`,
//! `ndisc_recv_ns` and `ndisc_recv_na`, including the GARP, locktime, arp_accept and
//! FAILED-entry rules.

use std::net::{IpAddr, Ipv4Addr};

use super::{
    ArpContext, ArpVerdict, NaInput, NeighOut, NeighTable, NudState, Queued, UpdateFlags, dur, ns,
};
use crate::frame::{Arp, ArpOp, Mac};
use crate::time::Instant;

impl<P: Queued> NeighTable<P> {
    /// `arp_process` for everything that touches the table. The caller sends the reply
    /// when told to.
    pub fn on_arp(
        &mut self,
        now: Instant,
        arp: &Arp,
        ctx: ArpContext,
        out: &mut Vec<NeighOut<P>>,
    ) -> ArpVerdict {
        let sip = arp.spa;
        let tip = arp.tpa;
        if sip == tip && self.params.drop_gratuitous_arp {
            return ArpVerdict::Dropped;
        }
        if tip.is_multicast() || tip.is_loopback() {
            return ArpVerdict::Dropped;
        }
        if sip.is_unspecified() {
            // RFC 5227 probe (duplicate address detection): answer, learn nothing.
            return if arp.op == ArpOp::Request && ctx.target_is_local {
                ArpVerdict::Reply
            } else {
                ArpVerdict::Consumed
            };
        }
        let sip_ip = IpAddr::V4(sip);
        let n = ns(now);
        if arp.op == ArpOp::Request && ctx.target_is_local {
            // neigh_event_ns: a request for one of our addresses always creates or
            // refreshes the requester's entry, as STALE with override.
            if self.create(n, sip_ip) {
                self.update(
                    now,
                    sip_ip,
                    Some(arp.sha),
                    NudState::Stale,
                    UpdateFlags {
                        override_: true,
                        weak_override: false,
                    },
                    out,
                );
            }
            return ArpVerdict::Reply;
        }
        let exists = self.entries.contains_key(&sip_ip);
        let accept = match self.params.arp_accept {
            0 => false,
            1 => true,
            _ => ctx.sender_in_subnet,
        };
        let sender_unicast = !ctx.sender_is_local && !is_v4_group(sip);
        let is_garp = (exists || accept) && is_garp(arp) && sender_unicast;
        if accept && !exists && (is_garp || (arp.op == ArpOp::Reply && sender_unicast)) {
            self.create(n, sip_ip);
        }
        let Some(e) = self.entries.get(&sip_ip) else {
            return ArpVerdict::Consumed;
        };
        let override_ = n > e.updated + dur(self.params.locktime) || is_garp;
        // Broadcast replies and requests do not assert reachability.
        let state = if arp.op == ArpOp::Reply && ctx.to_us_unicast {
            NudState::Reachable
        } else {
            NudState::Stale
        };
        self.update(
            now,
            sip_ip,
            Some(arp.sha),
            state,
            UpdateFlags {
                override_,
                weak_override: false,
            },
            out,
        );
        ArpVerdict::Consumed
    }

    /// `ndisc_recv_ns` for the table: an NS for one of our addresses that carries a
    /// source link-layer address creates or refreshes the sender's entry as STALE.
    /// Returns whether to answer with a solicited NA.
    pub fn on_ns(
        &mut self,
        now: Instant,
        src: IpAddr,
        sllao: Option<Mac>,
        target_is_local: bool,
        out: &mut Vec<NeighOut<P>>,
    ) -> bool {
        if !target_is_local {
            return false;
        }
        if src.is_unspecified() {
            return false;
        }
        if let Some(mac) = sllao
            && self.create(ns(now), src)
        {
            self.update(
                now,
                src,
                Some(mac),
                NudState::Stale,
                UpdateFlags {
                    override_: true,
                    weak_override: true,
                },
                out,
            );
        }
        true
    }

    /// `ndisc_recv_na`: Solicited → REACHABLE else STALE; WEAK_OVERRIDE always and
    /// OVERRIDE iff O=1; an entry in FAILED is not touched at all; no entry is created
    /// unless this host forwards and `accept_untracked_na` allows it (RFC 9131).
    pub fn on_na(&mut self, now: Instant, na: &NaInput, out: &mut Vec<NeighOut<P>>) -> bool {
        if na.solicited && na.dst_multicast {
            return false;
        }
        let mut new = if na.solicited {
            NudState::Reachable
        } else {
            NudState::Stale
        };
        if !self.entries.contains_key(&na.target) {
            let accept = match self.params.accept_untracked_na {
                0 => false,
                1 => true,
                _ => na.src_in_subnet,
            };
            if na.tllao.is_some()
                && self.params.forwarding
                && accept
                && self.create(ns(now), na.target)
            {
                new = NudState::Stale;
            } else {
                return false;
            }
        }
        if self.entries.get(&na.target).map(|e| e.state) == Some(NudState::Failed) {
            return false;
        }
        self.update(
            now,
            na.target,
            na.tllao,
            new,
            UpdateFlags {
                override_: na.override_,
                weak_override: true,
            },
            out,
        )
    }
}

/// `arp_is_garp`: sender IP equals target IP, and for replies the target MAC must equal
/// the sender MAC. A reply with target MAC ff:ff:ff:ff:ff:ff or 00:… is *not* GARP.
pub fn is_garp(arp: &Arp) -> bool {
    arp.spa == arp.tpa && (arp.op == ArpOp::Request || arp.tha == arp.sha)
}

fn is_v4_group(ip: Ipv4Addr) -> bool {
    ip.is_multicast() || ip.is_broadcast() || ip.is_unspecified()
}
