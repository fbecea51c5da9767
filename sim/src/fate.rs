//! Why a probe did not come back. A probe's copies can meet several fates (a flooded
//! frame reaches hosts that discard it); the most specific one is kept, so a report says
//! "neighbour FAILED on client1" rather than "timed out".

use crate::neigh::NeighDrop;

/// Identifies a host or link by its index in the world (names are resolved in reports).
pub type HostId = u32;
pub type LinkId = u32;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Loss {
    /// Unknown unicast flooded by the switches, and no host had that MAC: a client
    /// still sending to a dead MAC after the FDB forgot it.
    Flooded,
    /// Delivered to a NIC with another MAC (the FDB still points at the old port).
    WrongMac {
        host: HostId,
    },
    LinkRandom {
        link: LinkId,
    },
    LinkBurst {
        link: LinkId,
    },
    LinkDown {
        link: LinkId,
    },
    /// Blocked by a scenario partition on arrival at `to`.
    Partition {
        to: HostId,
    },
    /// Delivered to a host that does not own (or no longer owns) the address.
    NotOwner {
        host: HostId,
    },
    /// Dropped by kube-proxy on a node: the Service has no endpoint it may use there
    /// (`externalTrafficPolicy: Local` without a local endpoint, or none at all).
    NoEndpoint {
        host: HostId,
    },
    Neigh {
        host: HostId,
        reason: NeighDrop,
    },
    /// The sending interface has no carrier.
    NicDown {
        host: HostId,
    },
    /// No interface of the sender is on-link for the destination.
    NoRoute {
        host: HostId,
    },
    /// The host is powered off.
    HostDown {
        host: HostId,
    },
    /// Still queued on `host` waiting for neighbour resolution when the run ended.
    Unresolved {
        host: HostId,
    },
    /// The reply came back after the flow's timeout.
    Late,
    /// Nothing recorded why (the frame vanished without a trace: should not happen).
    Unexplained,
}

impl Loss {
    /// The cause's kind, as scenario expectations name it (`lost_by`).
    pub fn kind(self) -> &'static str {
        match self {
            Self::Flooded => "flooded",
            Self::WrongMac { .. } => "wrong_mac",
            Self::LinkRandom { .. } => "link_random",
            Self::LinkBurst { .. } => "link_burst",
            Self::LinkDown { .. } => "link_down",
            Self::Partition { .. } => "partition",
            Self::NotOwner { .. } => "not_owner",
            Self::NoEndpoint { .. } => "no_endpoint",
            Self::Neigh { .. } => "neighbour",
            Self::NicDown { .. } => "nic_down",
            Self::NoRoute { .. } => "no_route",
            Self::HostDown { .. } => "host_down",
            Self::Unresolved { .. } => "unresolved",
            Self::Late => "late",
            Self::Unexplained => "unexplained",
        }
    }
    pub const KINDS: &'static [&'static str] = &[
        "flooded",
        "wrong_mac",
        "link_random",
        "link_burst",
        "link_down",
        "partition",
        "not_owner",
        "no_endpoint",
        "neighbour",
        "nic_down",
        "no_route",
        "host_down",
        "unresolved",
        "late",
        "unexplained",
    ];

    /// How specific a fate is: a more specific one replaces a less specific one.
    pub fn rank(self) -> u8 {
        match self {
            Self::Unexplained => 0,
            Self::Flooded | Self::WrongMac { .. } => 1,
            Self::LinkRandom { .. } | Self::LinkBurst { .. } => 2,
            _ => 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Loss;

    /// Every cause a probe can be lost to can be named in `lost_by`, and nothing else.
    #[test]
    fn kinds_lists_every_cause_once() {
        let all = [
            Loss::Flooded,
            Loss::WrongMac { host: 0 },
            Loss::LinkRandom { link: 0 },
            Loss::LinkBurst { link: 0 },
            Loss::LinkDown { link: 0 },
            Loss::Partition { to: 0 },
            Loss::NotOwner { host: 0 },
            Loss::NoEndpoint { host: 0 },
            Loss::Neigh {
                host: 0,
                reason: crate::neigh::NeighDrop::Failed,
            },
            Loss::NicDown { host: 0 },
            Loss::NoRoute { host: 0 },
            Loss::HostDown { host: 0 },
            Loss::Unresolved { host: 0 },
            Loss::Late,
            Loss::Unexplained,
        ];
        let kinds: Vec<&str> = all.iter().map(|l| l.kind()).collect();
        assert_eq!(kinds, Loss::KINDS);
    }
}
