//! Neighbour-table parameters: the `net.ipv4.neigh.*` / `net.ipv6.neigh.*` sysctls and
//! the few `conf.*` switches that decide what unsolicited ARP/NA may do.
//!
//! Defaults are the kernel's (`arp_tbl`/`nd_tbl` in net/ipv4/arp.c, net/ipv6/ndisc.c,
//! Documentation/networking/ip-sysctl.rst). Other client behaviours — a router that
//! caches for hours and ignores GARP — are the same state machine with other values,
//! because that is what they are on real networks.

use crate::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeighParams {
    /// `base_reachable_time_ms`: REACHABLE lifetime base, 30 s.
    pub base_reachable_time: Duration,
    /// Linux draws `reachable_time` uniformly in `[base/2, 3·base/2)`; a fixed-lifetime
    /// cache (many routers) uses `base` exactly.
    pub randomize_reachable_time: bool,
    /// `delay_first_probe_time`: DELAY duration, 5 s.
    pub delay_first_probe_time: Duration,
    /// `retrans_time_ms`: spacing of probes, 1 s.
    pub retrans_time: Duration,
    /// `ucast_solicit`: unicast probes in PROBE, 3.
    pub ucast_solicit: u32,
    /// `mcast_solicit`: broadcast/multicast probes in INCOMPLETE, 3.
    pub mcast_solicit: u32,
    /// `mcast_resolicit`: broadcasts after the unicast probes in PROBE, 0.
    pub mcast_resolicit: u32,
    /// `locktime` (ARP only): a different answer within this time of the last update
    /// does not override, 1 s.
    pub locktime: Duration,
    /// `gc_stale_time`: unused age after which GC may remove an entry, 60 s.
    pub gc_stale_time: Duration,
    /// `gc_thresh1`: below this many entries periodic GC does nothing, 128.
    pub gc_thresh1: usize,
    /// `gc_thresh3`: hard limit; creation fails when forced GC cannot make room, 1024.
    pub gc_thresh3: usize,
    /// `unres_qlen_bytes`: per-entry queue while INCOMPLETE, 212992 bytes of truesize.
    pub unres_qlen_bytes: usize,
    /// `arp_accept`: 0 = unsolicited ARP never creates entries; 1 = GARP and replies
    /// create; 2 = only when the sender is in one of our subnets.
    pub arp_accept: u8,
    /// `drop_gratuitous_arp`: drop every ARP whose sender IP equals its target IP.
    pub drop_gratuitous_arp: bool,
    /// `accept_untracked_na` (IPv6): 0/1/2 like `arp_accept`, only when forwarding.
    pub accept_untracked_na: u8,
    /// `forwarding`: whether this host routes (changes NA handling, router flag).
    pub forwarding: bool,
    /// `arp_evict_nocarrier` / `ndisc_evict_nocarrier`: flush entries on carrier loss.
    pub evict_nocarrier: bool,
}

impl NeighParams {
    /// Linux kernel defaults.
    pub const LINUX: Self = Self {
        base_reachable_time: Duration::from_secs(30),
        randomize_reachable_time: true,
        delay_first_probe_time: Duration::from_secs(5),
        retrans_time: Duration::from_secs(1),
        ucast_solicit: 3,
        mcast_solicit: 3,
        mcast_resolicit: 0,
        locktime: Duration::from_secs(1),
        gc_stale_time: Duration::from_secs(60),
        gc_thresh1: 128,
        gc_thresh3: 1024,
        unres_qlen_bytes: 212_992,
        arp_accept: 0,
        drop_gratuitous_arp: false,
        accept_untracked_na: 0,
        forwarding: false,
        evict_nocarrier: true,
    };

    /// A router with a 4-hour ARP timeout that drops gratuitous ARP (common on
    /// enterprise gear and hardened Linux routers): after a failover it keeps sending to
    /// the old MAC until its entry expires.
    pub const ROUTER_4H_NO_GARP: Self = Self {
        base_reachable_time: Duration::from_secs(4 * 3600),
        randomize_reachable_time: false,
        drop_gratuitous_arp: true,
        forwarding: true,
        ..Self::LINUX
    };

    /// The profile names scenario files may use.
    pub fn by_name(name: &str) -> Option<Self> {
        match name {
            "linux" => Some(Self::LINUX),
            "router-4h-no-garp" => Some(Self::ROUTER_4H_NO_GARP),
            _ => None,
        }
    }
    pub const PROFILE_NAMES: &'static [&'static str] = &["linux", "router-4h-no-garp"];
}

impl Default for NeighParams {
    fn default() -> Self {
        Self::LINUX
    }
}
