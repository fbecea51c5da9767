//! Address allocation with MetalLB's semantics (`internal/allocator`).
//!
//! What is kept from MetalLB: lowest free address first inside a pool, walking the
//! pool's CIDRs in the order written; sharing by key with disjoint ports and equal
//! backend keys; "pinned" pools (namespaces / service selectors) by priority before
//! the general auto-assign pools; re-homing on pool changes; counters.
//!
//! What differs: the choice between equally eligible pools is deterministic (priority,
//! then pool name) instead of Go map order; finding a free address is a lookup in an
//! interval set, not a scan of the CIDR.

mod free;
mod pool;

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use ferrolb_api::config::{Config, Family, bounds, to_u128};
use ferrolb_api::service::{IpFamilyPolicy, PortKey};

pub use pool::PoolCounters;
use pool::PoolState;

/// Services may share an address only if both keys are equal (and non-empty sharing).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShareKey {
    /// The `allow-shared-ip` annotation value.
    pub sharing: String,
    /// Selector of the pods behind an `externalTrafficPolicy: Local` Service.
    pub backend: String,
}

/// The families a Service wants addresses of, from its cluster IPs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceFamily {
    /// One IPv4 address.
    V4,
    /// One IPv6 address.
    V6,
    /// Cluster IPs of both families.
    Dual,
}

impl ServiceFamily {
    /// The family of a set of addresses: one address or two of different families.
    pub fn of(ips: &[IpAddr]) -> Result<Self, String> {
        match ips {
            [a] => Ok(Self::single(Family::of(*a))),
            [a, b] if Family::of(*a) != Family::of(*b) => Ok(Self::Dual),
            [a, b] => Err(format!("same address family {a} and {b}")),
            [] => Err("no address".to_owned()),
            more => Err(format!("{} addresses, at most 2 expected", more.len())),
        }
    }

    /// The family of one address.
    pub fn single(f: Family) -> Self {
        match f {
            Family::V4 => Self::V4,
            Family::V6 => Self::V6,
        }
    }
}

impl fmt::Display for ServiceFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V4 => "ipv4",
            Self::V6 => "ipv6",
            Self::Dual => "dual",
        })
    }
}

/// What the allocator needs to know about the Service asking.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// `namespace/name`.
    pub key: &'a str,
    /// For pool compatibility.
    pub namespace: &'a str,
    /// For pool compatibility.
    pub labels: &'a BTreeMap<String, String>,
    /// `(protocol, port)` pairs; sharers must not overlap.
    pub ports: &'a [PortKey],
    /// Sharing and backend keys.
    pub share: ShareKey,
    /// `spec.ipFamilyPolicy`.
    pub policy: IpFamilyPolicy,
    /// Primary family for PreferDualStack (`spec.ipFamilies[0]`, IPv4 by default).
    pub primary: Family,
}

/// One Service's addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Alloc {
    pool: Arc<str>,
    ips: Vec<IpAddr>,
    ports: Vec<PortKey>,
    share: ShareKey,
}

/// Who uses an address. Almost always one Service or a handful of sharers, so small
/// vectors beat maps here, in time and in memory.
#[derive(Clone, Debug, Default)]
struct IpUse {
    pool: Arc<str>,
    cidr: usize,
    share: ShareKey,
    /// (port, owner) pairs.
    ports: Vec<(PortKey, Arc<str>)>,
    services: Vec<Arc<str>>,
}

/// Allocation state for every pool and Service.
#[derive(Clone, Debug, Default)]
pub struct Allocator {
    pools: BTreeMap<Arc<str>, PoolState>,
    /// (family, first address) -> (last address, pool, CIDR index): finds the pool of
    /// an address in O(log n); pools never overlap (validation guarantees it).
    index: BTreeMap<(Family, u128), (u128, Arc<str>, usize)>,
    /// Service keys are shared (`Arc<str>`) between this map and the per-address use.
    allocated: BTreeMap<Arc<str>, Alloc>,
    ips: BTreeMap<IpAddr, IpUse>,
}

fn fmt_ips(ips: &[IpAddr]) -> String {
    let quoted: Vec<String> = ips.iter().map(|ip| format!("\"{ip}\"")).collect();
    format!("[{}]", quoted.join(" "))
}

impl Allocator {
    /// An allocator with no pools.
    pub fn new() -> Self {
        Self::default()
    }

    /// Installs the pools of `cfg` and re-homes every allocation: addresses still inside
    /// some pool stay (moving to that pool if renamed or split), the others are
    /// released. Returns the Services that lost their addresses.
    pub fn set_pools(&mut self, cfg: &Config) -> Vec<String> {
        self.pools = cfg
            .pools
            .values()
            .map(|p| (Arc::from(p.name.as_str()), PoolState::new(p)))
            .collect();
        self.index.clear();
        for (name, p) in &self.pools {
            for (i, c) in p.cidrs.iter().enumerate() {
                let (lo, hi) = bounds(&c.net);
                self.index.insert((c.family, lo), (hi, name.clone(), i));
            }
        }
        let old = std::mem::take(&mut self.allocated);
        self.ips.clear();
        let mut lost = Vec::new();
        for (key, mut alloc) in old {
            match self.pool_arc(&alloc.ips) {
                Some(pool) => {
                    alloc.pool = pool;
                    self.record(key, alloc);
                }
                None => lost.push(key.to_string()),
            }
        }
        lost
    }

    /// The pool holding all of `ips` (each allocatable there), if any.
    pub fn pool_for(&self, ips: &[IpAddr]) -> Option<String> {
        self.pool_arc(ips).map(|p| p.to_string())
    }

    fn pool_arc(&self, ips: &[IpAddr]) -> Option<Arc<str>> {
        let mut found: Option<&Arc<str>> = None;
        for ip in ips {
            let (pool, _) = self.locate(*ip)?;
            match found {
                None => found = Some(pool),
                Some(p) if p == pool => {}
                Some(_) => return None,
            }
        }
        found.cloned()
    }

    fn locate(&self, ip: IpAddr) -> Option<(&Arc<str>, usize)> {
        let family = Family::of(ip);
        let v = to_u128(ip);
        let (&(f, _), (hi, pool, i)) = self.index.range(..=(family, v)).next_back()?;
        if f != family || v > *hi {
            return None;
        }
        let state = &self.pools[pool];
        state.cidrs[*i].free_allocatable(v).then_some((pool, *i))
    }

    /// The pool a Service's addresses came from.
    pub fn pool_of(&self, key: &str) -> Option<&str> {
        self.allocated.get(key).map(|a| &*a.pool)
    }

    /// A Service's addresses.
    pub fn ips_of(&self, key: &str) -> &[IpAddr] {
        self.allocated.get(key).map_or(&[], |a| a.ips.as_slice())
    }

    /// The share key a Service holds its addresses under (MetalLB's "allocation
    /// key"); a change means other Services may now share, or no longer.
    pub fn share_key_of(&self, key: &str) -> Option<&ShareKey> {
        self.allocated.get(key).map(|a| &a.share)
    }

    /// Counters of a pool (zero for an unknown pool).
    pub fn counters(&self, pool: &str) -> PoolCounters {
        self.pools
            .get(pool)
            .map(PoolState::counters)
            .unwrap_or_default()
    }

    /// Names of the pools.
    pub fn pool_names(&self) -> impl Iterator<Item = &str> {
        self.pools.keys().map(|k| &**k)
    }

    /// Number of Services holding addresses.
    pub fn len(&self) -> usize {
        self.allocated.len()
    }

    /// Whether no Service holds an address.
    pub fn is_empty(&self) -> bool {
        self.allocated.is_empty()
    }

    fn compatible(&self, pool: &str, req: &Request<'_>) -> bool {
        self.pools
            .get(pool)
            .is_some_and(|p| p.cfg.allows(req.namespace, req.labels))
    }

    /// MetalLB's `checkSharing`: may `req` use `ip` next to its current users?
    fn check_sharing(&self, req: &Request<'_>, ip: IpAddr) -> Result<(), String> {
        let Some(usage) = self.ips.get(&ip) else {
            return Ok(());
        };
        let others: Vec<&str> = usage
            .services
            .iter()
            .filter(|s| &***s != req.key)
            .map(|s| &**s)
            .collect();
        if !others.is_empty() {
            let ex = &usage.share;
            let mismatch = if ex.sharing.is_empty() {
                Some("existing service does not allow sharing".to_owned())
            } else if req.share.sharing.is_empty() {
                Some("new service does not allow sharing".to_owned())
            } else if ex.sharing != req.share.sharing {
                Some(format!(
                    "sharing key {:?} does not match existing sharing key {:?}",
                    req.share.sharing, ex.sharing
                ))
            } else if ex.backend != req.share.backend {
                Some(format!(
                    "backend key {:?} does not match existing sharing key {:?}",
                    req.share.backend, ex.backend
                ))
            } else {
                None
            };
            if let Some(why) = mismatch {
                return Err(format!(
                    "can't change sharing key for {:?}, address also in use by {}: {why}",
                    req.key,
                    others.join(",")
                ));
            }
        }
        for port in req.ports {
            if let Some((_, owner)) = usage.ports.iter().find(|(p, _)| p == port)
                && &**owner != req.key
            {
                return Err(format!(
                    "port {}/{} is already in use on \"{ip}\"",
                    port.protocol, port.port
                ));
            }
        }
        Ok(())
    }

    /// MetalLB's `Assign`: give `req` exactly `ips`, if the configuration and the
    /// current users allow it. Idempotent for the same Service.
    pub fn assign(&mut self, req: &Request<'_>, ips: &[IpAddr]) -> Result<(), String> {
        // Fast path for the common re-assign of what the Service already holds.
        if let Some(a) = self.allocated.get(req.key)
            && a.ips == ips
            && a.ports == req.ports
            && a.share == req.share
        {
            return if self.compatible(&a.pool, req) {
                Ok(())
            } else {
                Err(format!("pool {} not compatible for ip assignment", a.pool))
            };
        }
        let pool = self
            .pool_arc(ips)
            .ok_or_else(|| format!("{} is not allowed in config", fmt_ips(ips)))?;
        if !self.compatible(&pool, req) {
            return Err(format!("pool {pool} not compatible for ip assignment"));
        }
        if ips.len() > 2 {
            return Err(format!("more than two addresses {}", fmt_ips(ips)));
        }
        if ips.len() == 2 && Family::of(ips[0]) == Family::of(ips[1]) {
            return Err(format!("\"{}\" \"{}\" has the same family", ips[0], ips[1]));
        }
        for ip in ips {
            self.check_sharing(req, *ip)?;
        }
        let key: Arc<str> = match self.allocated.get_key_value(req.key) {
            Some((k, _)) => k.clone(),
            None => Arc::from(req.key),
        };
        self.unassign(req.key);
        self.record(
            key,
            Alloc {
                pool,
                ips: ips.to_vec(),
                ports: req.ports.to_vec(),
                share: req.share.clone(),
            },
        );
        Ok(())
    }

    fn record(&mut self, key: Arc<str>, alloc: Alloc) {
        for ip in &alloc.ips {
            let (pool, cidr) = match self.locate(*ip) {
                Some((p, c)) => (p.clone(), c),
                None => continue, // unreachable: callers checked pool_for
            };
            let state = self.pools.get_mut(&pool).expect("located pool exists");
            let usage = self.ips.entry(*ip).or_default();
            if usage.services.is_empty() {
                state.take(cidr, *ip, &alloc.share);
                usage.pool = pool;
                usage.cidr = cidr;
                usage.share = alloc.share.clone();
            }
            usage.services.push(key.clone());
            for p in &alloc.ports {
                usage.ports.push((*p, key.clone()));
            }
        }
        self.allocated.insert(key, alloc);
    }

    /// Releases a Service's addresses.
    pub fn unassign(&mut self, key: &str) -> bool {
        let Some(alloc) = self.allocated.remove(key) else {
            return false;
        };
        for ip in &alloc.ips {
            let Some(usage) = self.ips.get_mut(ip) else {
                continue;
            };
            usage.services.retain(|s| &**s != key);
            usage.ports.retain(|(_, owner)| &**owner != key);
            if usage.services.is_empty() {
                let usage = self.ips.remove(ip).expect("present");
                if let Some(state) = self.pools.get_mut(&usage.pool) {
                    state.give(usage.cidr, *ip, &usage.share);
                }
            }
        }
        true
    }

    /// MetalLB's `getFreeIPsFromPool`: per family, the first address (CIDRs in order,
    /// ascending inside each) that is free or shareable by `req`.
    fn free_in_pool(&self, pool: &str, req: &Request<'_>) -> (Option<IpAddr>, Option<IpAddr>) {
        let Some(state) = self.pools.get(pool) else {
            return (None, None);
        };
        let pick = |family: Family| -> Option<IpAddr> {
            let mut best = state.first_free(family);
            let better = |c: (usize, u128), best: Option<(usize, u128)>| best.is_none_or(|b| c < b);
            if !req.share.sharing.is_empty() {
                for cand in state.shareable(&req.share, family) {
                    if !better(cand, best) {
                        break;
                    }
                    if self
                        .check_sharing(req, state.address(cand.0, cand.1))
                        .is_ok()
                    {
                        best = Some(cand);
                        break;
                    }
                }
            }
            // An address the Service itself already holds in this pool is free to it.
            for ip in self.ips_of(req.key) {
                if Family::of(*ip) != family {
                    continue;
                }
                if let Some((p, c)) = self.locate(*ip)
                    && &**p == pool
                    && better((c, to_u128(*ip)), best)
                {
                    best = Some((c, to_u128(*ip)));
                }
            }
            best.map(|(i, v)| state.address(i, v))
        };
        (pick(Family::V4), pick(Family::V6))
    }

    /// MetalLB's `Allocate`: automatic allocation.
    pub fn allocate(
        &mut self,
        req: &Request<'_>,
        family: ServiceFamily,
    ) -> Result<Vec<IpAddr>, String> {
        if let Some(a) = self.allocated.get(req.key) {
            let ips = a.ips.clone();
            self.assign(req, &ips)?;
            return Ok(ips);
        }
        let mut pinned: Vec<&PoolState> = self
            .pools
            .values()
            .filter(|p| {
                p.cfg.auto_assign && p.cfg.is_pinned() && p.cfg.allows(req.namespace, req.labels)
            })
            .collect();
        // Lower positive priority first, 0 (unset) last, then by name: deterministic
        // where MetalLB leaves ties to map order.
        pinned.sort_by_key(|p| {
            let prio = p.cfg.allocation.as_ref().map_or(0, |a| a.priority);
            (prio <= 0, prio, p.cfg.name.clone())
        });
        let pinned: Vec<String> = pinned.iter().map(|p| p.cfg.name.clone()).collect();
        if self.allocate_from_pools(&pinned, req, family).is_ok() {
            return Ok(self.ips_of(req.key).to_vec());
        }
        let general: Vec<String> = self
            .pools
            .values()
            .filter(|p| p.cfg.auto_assign && p.cfg.allocation.is_none())
            .map(|p| p.cfg.name.clone())
            .collect();
        if self.allocate_from_pools(&general, req, family).is_ok() {
            return Ok(self.ips_of(req.key).to_vec());
        }
        Err("no available IPs".to_owned())
    }

    fn allocate_from_pools(
        &mut self,
        pools: &[String],
        req: &Request<'_>,
        family: ServiceFamily,
    ) -> Result<(), String> {
        let (primary, secondary) = (req.primary, other(req.primary));
        let prefer_dual =
            req.policy == IpFamilyPolicy::PreferDualStack && family == ServiceFamily::Dual;
        let mut chosen = None;
        let mut primary_only = None;
        let mut secondary_only = None;
        for pool in pools {
            let (v4, v6) = self.free_in_pool(pool, req);
            if v4.is_none() && v6.is_none() {
                continue;
            }
            let get = |f: Family| if f == Family::V4 { v4 } else { v6 };
            let has_service_family = match family {
                ServiceFamily::V4 => v4.is_some(),
                ServiceFamily::V6 => v6.is_some(),
                ServiceFamily::Dual => false,
            };
            if has_service_family || (get(primary).is_some() && get(secondary).is_some()) {
                chosen = Some((pool.clone(), v4, v6));
                break;
            }
            if !prefer_dual {
                continue;
            }
            if get(primary).is_some() && primary_only.is_none() {
                primary_only = Some((pool.clone(), v4, v6));
            }
            if get(secondary).is_some() && secondary_only.is_none() {
                secondary_only = Some((pool.clone(), v4, v6));
            }
        }
        let (pool, v4, v6) = chosen
            .or(primary_only)
            .or(secondary_only)
            .ok_or_else(|| format!("no suitable pool for {family} IPFamily"))?;
        let ips = select(&pool, v4, v6, family, req.policy)?;
        self.assign(req, &ips)
    }

    /// MetalLB's `AllocateFromPool`: allocation from the annotated pool (autoAssign is
    /// not consulted).
    pub fn allocate_from_pool(
        &mut self,
        req: &Request<'_>,
        family: ServiceFamily,
        pool: &str,
    ) -> Result<Vec<IpAddr>, String> {
        if let Some(a) = self.allocated.get(req.key) {
            let ips = a.ips.clone();
            let held = ServiceFamily::of(&ips)?;
            if req.policy != IpFamilyPolicy::PreferDualStack && held != family {
                return Err(format!(
                    "IP for wrong family assigned alloc {held} service family {family}"
                ));
            }
            self.assign(req, &ips)?;
            return Ok(ips);
        }
        if !self.pools.contains_key(pool) {
            return Err(format!("unknown pool {pool:?}"));
        }
        let (v4, v6) = self.free_in_pool(pool, req);
        if v4.is_none() && v6.is_none() {
            return Err(format!("no available IPs in pool {pool}"));
        }
        let ips = select(pool, v4, v6, family, req.policy)?;
        self.assign(req, &ips)?;
        Ok(ips)
    }

    /// MetalLB's `AllocateFromPoolForAdditionalFamily`: add the missing family to a
    /// PreferDualStack Service, from the pool it already uses.
    pub fn allocate_additional(
        &mut self,
        req: &Request<'_>,
        existing: IpAddr,
        pool: &str,
    ) -> Result<IpAddr, String> {
        let want = other(Family::of(existing));
        if !self.pools.contains_key(pool) {
            return Err(format!("unknown pool {pool:?}"));
        }
        let (v4, v6) = self.free_in_pool(pool, req);
        if v4.is_none() && v6.is_none() {
            return Err(format!("no available IPs in pool {pool}"));
        }
        let ips = select(
            pool,
            v4,
            v6,
            ServiceFamily::single(want),
            IpFamilyPolicy::SingleStack,
        )?;
        let added = ips[0];
        self.assign(req, &[existing, added])?;
        Ok(added)
    }

    /// Every allocation, for invariant checks: (service, pool, addresses).
    pub fn allocations(&self) -> impl Iterator<Item = (&str, &str, &[IpAddr])> {
        self.allocated
            .iter()
            .map(|(k, a)| (&**k, &*a.pool, a.ips.as_slice()))
    }
}

fn other(f: Family) -> Family {
    match f {
        Family::V4 => Family::V6,
        Family::V6 => Family::V4,
    }
}

/// MetalLB's `selectIPsForFamilyAndPolicy`.
fn select(
    pool: &str,
    v4: Option<IpAddr>,
    v6: Option<IpAddr>,
    family: ServiceFamily,
    policy: IpFamilyPolicy,
) -> Result<Vec<IpAddr>, String> {
    let none = || format!("no available IPs in pool {pool} for {family} IPFamily");
    match family {
        ServiceFamily::V4 => return v4.map(|ip| vec![ip]).ok_or_else(none),
        ServiceFamily::V6 => return v6.map(|ip| vec![ip]).ok_or_else(none),
        ServiceFamily::Dual => {}
    }
    match (policy, v4, v6) {
        (IpFamilyPolicy::RequireDualStack | IpFamilyPolicy::PreferDualStack, Some(a), Some(b)) => {
            Ok(vec![a, b])
        }
        (IpFamilyPolicy::PreferDualStack, Some(a), None)
        | (IpFamilyPolicy::PreferDualStack, None, Some(a)) => Ok(vec![a]),
        _ => Err(none()),
    }
}

#[cfg(test)]
mod tests;
