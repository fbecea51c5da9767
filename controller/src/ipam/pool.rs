//! Per-pool allocation state: free addresses per CIDR and addresses open to sharing.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ferrolb_api::config::{Family, Pool, bounds, from_u128, size, to_u128};
use ipnet::IpNet;

use super::ShareKey;
use super::free::FreeSet;

/// One CIDR of a pool.
#[derive(Clone, Debug)]
pub(crate) struct CidrState {
    pub(crate) net: IpNet,
    pub(crate) family: Family,
    pub(crate) free: FreeSet,
}

impl CidrState {
    /// Whether `v` may be handed out from this CIDR (not a buggy address).
    pub(crate) fn free_allocatable(&self, v: u128) -> bool {
        self.free.allocatable(v)
    }
}

/// A pool's addresses and who may still take which.
#[derive(Clone, Debug)]
pub(crate) struct PoolState {
    pub(crate) cfg: Pool,
    pub(crate) cidrs: Vec<CidrState>,
    /// Per family, the CIDR indexes that still have a free address: the first one is
    /// where "first CIDR that yields an IP" finds its free candidate.
    nonempty: [BTreeSet<usize>; 2],
    /// Addresses in use whose users allow sharing, by share key and family, ordered
    /// like the allocation walk: (CIDR index, address).
    shared: BTreeMap<(ShareKey, Family), BTreeSet<(usize, u128)>>,
    /// Distinct addresses in use, per family.
    in_use: [i64; 2],
    /// Capacity per family, as MetalLB counts it.
    capacity: [i64; 2],
}

fn slot(f: Family) -> usize {
    match f {
        Family::V4 => 0,
        Family::V6 => 1,
    }
}

/// Pool counters (`IPAddressPool.status`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PoolCounters {
    /// Distinct IPv4 addresses in use.
    #[serde(rename = "assignedIPv4")]
    pub assigned_ipv4: i64,
    /// Distinct IPv6 addresses in use.
    #[serde(rename = "assignedIPv6")]
    pub assigned_ipv6: i64,
    /// IPv4 addresses still free.
    #[serde(rename = "availableIPv4")]
    pub available_ipv4: i64,
    /// IPv6 addresses still free (huge ranges saturate at `i64::MAX`).
    #[serde(rename = "availableIPv6")]
    pub available_ipv6: i64,
}

impl PoolState {
    pub(crate) fn new(cfg: &Pool) -> Self {
        let mut cidrs = Vec::with_capacity(cfg.cidrs.len());
        let mut nonempty = [BTreeSet::new(), BTreeSet::new()];
        let mut capacity = [0i64; 2];
        for (i, net) in cfg.cidrs.iter().enumerate() {
            let family = match net {
                IpNet::V4(_) => Family::V4,
                IpNet::V6(_) => Family::V6,
            };
            let (first, last) = bounds(net);
            let avoid = cfg.avoid_buggy_ips && family == Family::V4;
            let free = FreeSet::new(first, last, avoid);
            if free.first().is_some() {
                nonempty[slot(family)].insert(i);
            }
            let c = &mut capacity[slot(family)];
            *c = c.saturating_add(count(net, avoid));
            cidrs.push(CidrState {
                net: *net,
                family,
                free,
            });
        }
        Self {
            cfg: cfg.clone(),
            cidrs,
            nonempty,
            shared: BTreeMap::new(),
            in_use: [0, 0],
            capacity,
        }
    }

    /// The lowest free address of `family` in the earliest CIDR that has one.
    pub(crate) fn first_free(&self, family: Family) -> Option<(usize, u128)> {
        let i = *self.nonempty[slot(family)].first()?;
        self.cidrs[i].free.first().map(|a| (i, a))
    }

    /// In-use addresses of `family` open to `key`, in walk order.
    pub(crate) fn shareable(
        &self,
        key: &ShareKey,
        family: Family,
    ) -> impl Iterator<Item = (usize, u128)> + '_ {
        self.shared
            .get(&(key.clone(), family))
            .into_iter()
            .flat_map(|s| s.iter().copied())
    }

    /// Marks `ip` (in CIDR `i`) as used, first user.
    pub(crate) fn take(&mut self, i: usize, ip: IpAddr, share: &ShareKey) {
        let c = &mut self.cidrs[i];
        let v = to_u128(ip);
        if c.free.take(v) {
            self.in_use[slot(c.family)] += 1;
            if c.free.first().is_none() {
                self.nonempty[slot(c.family)].remove(&i);
            }
        }
        if !share.sharing.is_empty() {
            self.shared
                .entry((share.clone(), c.family))
                .or_default()
                .insert((i, v));
        }
    }

    /// Marks `ip` (in CIDR `i`) as free, last user gone.
    pub(crate) fn give(&mut self, i: usize, ip: IpAddr, share: &ShareKey) {
        let c = &mut self.cidrs[i];
        let v = to_u128(ip);
        if !c.free.contains(v) {
            c.free.give(v);
            self.in_use[slot(c.family)] -= 1;
            self.nonempty[slot(c.family)].insert(i);
        }
        self.unshare(i, ip, share);
    }

    /// Removes `ip` from the shareable index under `share`.
    pub(crate) fn unshare(&mut self, i: usize, ip: IpAddr, share: &ShareKey) {
        let family = self.cidrs[i].family;
        let k = (share.clone(), family);
        if let Some(set) = self.shared.get_mut(&k) {
            set.remove(&(i, to_u128(ip)));
            if set.is_empty() {
                self.shared.remove(&k);
            }
        }
    }

    pub(crate) fn address(&self, i: usize, v: u128) -> IpAddr {
        from_u128(self.cidrs[i].family, v)
    }

    pub(crate) fn counters(&self) -> PoolCounters {
        PoolCounters {
            assigned_ipv4: self.in_use[0],
            assigned_ipv6: self.in_use[1],
            available_ipv4: self.capacity[0].saturating_sub(self.in_use[0]),
            available_ipv6: self.capacity[1].saturating_sub(self.in_use[1]),
        }
    }
}

/// Addresses in a CIDR as MetalLB counts them: ranges of 2^62 addresses or more count
/// as `i64::MAX`; with `avoidBuggyIPs`, `.0` and `.255` addresses are left out.
fn count(net: &IpNet, avoid_buggy: bool) -> i64 {
    let host_bits = net.max_prefix_len() - net.prefix_len();
    if host_bits >= 62 {
        return i64::MAX;
    }
    let mut n = size(net) as i64;
    if avoid_buggy && matches!(net, IpNet::V4(_)) {
        if net.prefix_len() <= 24 {
            n -= 2 * (1i64 << (24 - net.prefix_len()));
        } else {
            let (lo, hi) = bounds(net);
            n -= i64::from(matches!(lo & 0xff, 0 | 0xff));
            if hi != lo {
                n -= i64::from(matches!(hi & 0xff, 0 | 0xff));
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_metallb() {
        let n: IpNet = "10.0.0.0/23".parse().unwrap();
        assert_eq!(count(&n, false), 512);
        assert_eq!(count(&n, true), 508);
        let n: IpNet = "10.0.0.0/31".parse().unwrap();
        assert_eq!(count(&n, true), 1);
        let n: IpNet = "10.0.0.255/32".parse().unwrap();
        assert_eq!(count(&n, true), 0);
        let n: IpNet = "fd00::/64".parse().unwrap();
        assert_eq!(count(&n, true), i64::MAX);
        let n: IpNet = "fd00::/112".parse().unwrap();
        assert_eq!(count(&n, true), 65536);
    }
}
