//! The controller's decision for one Service (MetalLB's `convergeBalancer` and
//! `SetBalancer`), as a pure state machine over the allocator.

use std::net::IpAddr;

use ferrolb_api::annotations as ann;
use ferrolb_api::config::{Config, Family};
use ferrolb_api::service::{IpFamilyPolicy, LbService};

use crate::events::{Event, reason};
use crate::ipam::{Allocator, PoolCounters, Request, ServiceFamily, ShareKey};

/// What a reconcile of one Service asks of the caller next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sync {
    /// Done.
    Success,
    /// Failed; MetalLB does not retry on its own (the Service is retried when
    /// something else changes).
    Failed,
    /// Something other Services may be waiting for changed (an address was freed, a
    /// sharing key changed): reprocess every Service.
    ReprocessAll,
}

/// The controller's decision for one Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// `status.loadBalancer.ingress` to write.
    pub ips: Vec<IpAddr>,
    /// `metallb.io/ip-allocated-from-pool` to write (`None`: remove the annotation).
    pub pool: Option<String>,
    /// Events to record on the Service.
    pub events: Vec<Event>,
    /// What to do next.
    pub sync: Sync,
}

/// Controller state: the configuration in force and the allocator.
#[derive(Clone, Debug, Default)]
pub struct Controller {
    config: Option<Config>,
    alloc: Allocator,
    lb_class: Option<String>,
}

impl Controller {
    /// A controller handling Services of `lb_class` (`None`: Services without a class).
    pub fn new(lb_class: Option<String>) -> Self {
        Self {
            config: None,
            alloc: Allocator::new(),
            lb_class,
        }
    }

    /// Installs a validated configuration; returns the Services whose addresses are no
    /// longer in any pool (they are released; reprocess them).
    pub fn set_config(&mut self, cfg: Config) -> Vec<String> {
        let lost = self.alloc.set_pools(&cfg);
        self.config = Some(cfg);
        lost
    }

    /// The configuration in force.
    pub fn config(&self) -> Option<&Config> {
        self.config.as_ref()
    }

    /// The allocator (read-only).
    pub fn allocator(&self) -> &Allocator {
        &self.alloc
    }

    /// `--lb-class`: with no class configured, only Services without a class; with a
    /// class, only Services of that class.
    pub fn handles(&self, svc: &LbService) -> bool {
        svc.load_balancer_class == self.lb_class
    }

    /// Counters for every pool, by name.
    pub fn pool_counters(&self) -> Vec<(String, PoolCounters)> {
        self.alloc
            .pool_names()
            .map(|p| (p.to_owned(), self.alloc.counters(p)))
            .collect()
    }

    /// A Service was deleted.
    pub fn delete(&mut self, key: &str) -> Sync {
        if self.alloc.unassign(key) {
            Sync::ReprocessAll
        } else {
            Sync::Success
        }
    }

    /// Reconciles one Service: what its status and annotation should be, and the
    /// events to record (MetalLB's `SetBalancer`).
    pub fn reconcile(&mut self, svc: &LbService) -> Outcome {
        let key = svc.key();
        let prev_ips = self.alloc.ips_of(&key).to_vec();
        let prev_share = self.alloc.share_key_of(&key).cloned();
        let mut events = Vec::new();
        let converged = self.converge(svc, &key, &mut events);
        let mut sync = if converged {
            Sync::Success
        } else {
            Sync::Failed
        };
        if self.alloc.share_key_of(&key) != prev_share.as_ref() {
            sync = Sync::ReprocessAll;
        }
        let ips = self.alloc.ips_of(&key).to_vec();
        let pool = self.alloc.pool_of(&key).map(str::to_owned);
        let current_pool = svc.annotations.get(ann::IP_ALLOCATED_FROM_POOL).cloned();
        let current_ips: Vec<Option<IpAddr>> =
            svc.ingress_ips.iter().map(|s| s.parse().ok()).collect();
        let changed = current_ips != ips.iter().copied().map(Some).collect::<Vec<_>>()
            || current_pool != pool;
        if changed {
            for k in svc.legacy_annotations() {
                events.push(Event::warning(
                    reason::DEPRECATED_ANNOTATION,
                    format!("Service uses deprecated annotation {k}"),
                ));
            }
        }
        if !prev_ips.is_empty() && ips.is_empty() && self.alloc.pool_for(&prev_ips).is_some() {
            sync = Sync::ReprocessAll;
        }
        Outcome {
            ips,
            pool,
            events,
            sync,
        }
    }

    /// Re-takes `ips` for a running Service if its current assignment is still valid
    /// (family, pool annotation, sharing); no events. Used at start-up before any new
    /// allocation.
    pub fn relearn(&mut self, svc: &LbService, ips: &[IpAddr]) -> bool {
        if !svc.is_load_balancer || self.config.as_ref().is_none_or(|c| c.pools.is_empty()) {
            return false;
        }
        let (Ok(cluster), Ok(held)) = (
            cluster_family(&svc.cluster_families),
            ServiceFamily::of(ips),
        ) else {
            return false;
        };
        if family_changed(Some(held), cluster, svc.ip_family_policy) {
            return false;
        }
        let key = svc.key();
        let req = request(svc, &key);
        if self.alloc.assign(&req, ips).is_err() {
            return false;
        }
        let desired_pool = svc
            .annotation(ann::ADDRESS_POOL, ann::LEGACY_ADDRESS_POOL)
            .filter(|p| !p.is_empty());
        if desired_pool.is_some_and(|p| self.alloc.pool_of(&key) != Some(p)) {
            self.alloc.unassign(&key);
            return false;
        }
        true
    }

    fn clear(&mut self, key: &str) {
        self.alloc.unassign(key);
    }

    /// MetalLB's `convergeBalancer`; true when the Service converged.
    fn converge(&mut self, svc: &LbService, key: &str, events: &mut Vec<Event>) -> bool {
        if !svc.is_load_balancer {
            self.clear(key);
            return true;
        }
        if self.config.as_ref().is_none_or(|c| c.pools.is_empty()) {
            self.clear(key);
            events.push(Event::warning(
                reason::ALLOCATION_FAILED,
                format!("Failed to allocate IP for {key:?}: no IPAddressPool is configured"),
            ));
            return false;
        }
        if svc.cluster_families.is_empty() {
            self.clear(key);
            return false;
        }
        let policy = svc.ip_family_policy;
        if policy == IpFamilyPolicy::RequireDualStack && svc.cluster_families.len() < 2 {
            events.push(Event::warning(
                reason::NOT_ENOUGH_CLUSTER_IPS,
                format!(
                    "Service requires dual stack but not enough clusterips {:?}",
                    svc.cluster_families
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                ),
            ));
            self.clear(key);
            return false;
        }
        let parsed: Vec<Option<IpAddr>> = svc.ingress_ips.iter().map(|s| s.parse().ok()).collect();
        let mut lb_ips: Vec<IpAddr> = parsed.iter().flatten().copied().collect();
        let cluster_family = match cluster_family(&svc.cluster_families) {
            Ok(f) => f,
            Err(e) => {
                events.push(Event::warning(
                    reason::NO_CLUSTER_IPS_FAMILY,
                    format!("Failed to retrieve ClusterIPs IPFamily for {key:?}: {e}"),
                ));
                return false;
            }
        };
        let req = request(svc, key);
        if parsed.is_empty() {
            self.clear(key);
        } else {
            let lb_family = if parsed.iter().any(Option::is_none) {
                events.push(Event::warning(
                    reason::NO_LB_IPS_FAMILY,
                    format!(
                        "Failed to retrieve LBIPs IPFamily for {:?}: invalid IP address",
                        svc.ingress_ips
                    ),
                ));
                None
            } else {
                match ServiceFamily::of(&lb_ips) {
                    Ok(f) => Some(f),
                    Err(e) => {
                        events.push(Event::warning(
                            reason::NO_LB_IPS_FAMILY,
                            format!(
                                "Failed to retrieve LBIPs IPFamily for {:?}: {e}",
                                svc.ingress_ips
                            ),
                        ));
                        None
                    }
                }
            };
            if family_changed(lb_family, cluster_family, policy) {
                self.clear(key);
                lb_ips.clear();
            }
        }
        let desired_pool = svc
            .annotation(ann::ADDRESS_POOL, ann::LEGACY_ADDRESS_POOL)
            .filter(|p| !p.is_empty());
        if !lb_ips.is_empty() {
            if let Err(e) = self.alloc.assign(&req, &lb_ips) {
                events.push(Event::normal(
                    reason::CLEAR_ASSIGNMENT,
                    format!("current IP for {key:?} not allowed by config, will attempt for new IP assignment: {e}"),
                ));
                self.clear(key);
                lb_ips.clear();
            }
            if !lb_ips.is_empty()
                && desired_pool.is_some_and(|p| self.alloc.pool_of(key) != Some(p))
            {
                self.clear(key);
                lb_ips.clear();
            }
            match desired_ips(svc) {
                Err(e) => {
                    events.push(Event::warning(
                        reason::LOAD_BALANCER_FAILED,
                        format!("invalid requested loadbalancer IPs: {e}"),
                    ));
                    return false;
                }
                Ok(desired) => {
                    if !desired.is_empty() && !same_set(&lb_ips, &desired) {
                        self.clear(key);
                        lb_ips.clear();
                    }
                }
            }
        }
        // Unlike MetalLB, only a Service with cluster IPs of both families gets the
        // second one: MetalLB adds it to a single-stack Service too, then clears both on
        // the next pass because the families no longer match, and flip-flops.
        if lb_ips.len() == 1
            && policy == IpFamilyPolicy::PreferDualStack
            && cluster_family == ServiceFamily::Dual
        {
            let pool = self.alloc.pool_of(key).unwrap_or_default().to_owned();
            match self.alloc.allocate_additional(&req, lb_ips[0], &pool) {
                Ok(ip) => {
                    lb_ips.push(ip);
                    events.push(Event::normal(
                        reason::IP_ALLOCATED,
                        format!("Assigned additional IP \"{ip}\""),
                    ));
                }
                Err(e) => events.push(Event::normal(
                    reason::ADDITIONAL_ASSIGN_FAILED,
                    format!("cannot assign additional IP in PreferDualStack: {e}"),
                )),
            }
        }
        if lb_ips.is_empty() {
            match self.allocate(&req, svc, cluster_family, desired_pool) {
                Ok(ips) => {
                    let list: Vec<String> = ips.iter().map(|ip| format!("\"{ip}\"")).collect();
                    events.push(Event::normal(
                        reason::IP_ALLOCATED,
                        format!("Assigned IP [{}]", list.join(" ")),
                    ));
                }
                Err(e) => {
                    events.push(Event::warning(
                        reason::ALLOCATION_FAILED,
                        format!("Failed to allocate IP for {key:?}: {e}"),
                    ));
                    return false;
                }
            }
        }
        true
    }

    /// MetalLB's `allocateIPs`.
    fn allocate(
        &mut self,
        req: &Request<'_>,
        svc: &LbService,
        family: ServiceFamily,
        desired_pool: Option<&str>,
    ) -> Result<Vec<IpAddr>, String> {
        let desired = desired_ips(svc)?;
        if !desired.is_empty() {
            let want = ServiceFamily::of(&desired)?;
            if want != family {
                return Err(format!(
                    "requested loadBalancer IP(s) {} does not match the ipFamily of the service",
                    quote(&desired)
                ));
            }
            self.alloc.assign(req, &desired)?;
            if let Some(p) = desired_pool
                && self.alloc.pool_of(req.key) != Some(p)
            {
                self.alloc.unassign(req.key);
                return Err(format!(
                    "requested loadBalancer IP(s) {} is not compatible with requested address pool {p}",
                    quote(&desired)
                ));
            }
            return Ok(desired);
        }
        if let Some(p) = desired_pool {
            return self.alloc.allocate_from_pool(req, family, p);
        }
        self.alloc.allocate(req, family)
    }
}

/// The allocator's view of a Service.
fn request<'a>(svc: &'a LbService, key: &'a str) -> Request<'a> {
    Request {
        key,
        namespace: &svc.namespace,
        labels: &svc.labels,
        ports: &svc.ports,
        share: ShareKey {
            sharing: svc.sharing_key().to_owned(),
            backend: svc.backend_key(),
        },
        policy: svc.ip_family_policy,
        primary: match svc.ip_families.first() {
            Some(Family::V6) => Family::V6,
            _ => Family::V4,
        },
    }
}

fn quote(ips: &[IpAddr]) -> String {
    let v: Vec<String> = ips.iter().map(|ip| format!("\"{ip}\"")).collect();
    format!("[{}]", v.join(" "))
}

fn cluster_family(families: &[Family]) -> Result<ServiceFamily, String> {
    match families {
        [f] => Ok(ServiceFamily::single(*f)),
        [a, b] if a != b => Ok(ServiceFamily::Dual),
        [_, _] => Err("both cluster IPs have the same family".to_owned()),
        _ => Err(format!("{} cluster IPs", families.len())),
    }
}

/// MetalLB's `serviceFamilyChanged`.
fn family_changed(
    lb: Option<ServiceFamily>,
    cluster: ServiceFamily,
    policy: IpFamilyPolicy,
) -> bool {
    match lb {
        None => true,
        Some(f) if f == cluster => false,
        Some(_) => !(cluster == ServiceFamily::Dual && policy == IpFamilyPolicy::PreferDualStack),
    }
}

/// The addresses the Service asks for: `metallb.io/loadBalancerIPs` (one or two,
/// comma-separated) or `spec.loadBalancerIP`, never both.
pub fn desired_ips(svc: &LbService) -> Result<Vec<IpAddr>, String> {
    let annotation = svc
        .annotation(ann::LOAD_BALANCER_IPS, ann::LEGACY_LOAD_BALANCER_IPS)
        .unwrap_or_default();
    let spec = svc.load_balancer_ip.as_str();
    match (annotation.is_empty(), spec.is_empty()) {
        (true, true) => Ok(Vec::new()),
        (false, false) => Err(format!(
            "service can not have both {} and spec.loadBalancerIP",
            ann::LOAD_BALANCER_IPS
        )),
        (false, true) => {
            let ips = annotation
                .split(',')
                .map(|s| s.trim().parse::<IpAddr>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| format!("invalid {}: {annotation:?}", ann::LOAD_BALANCER_IPS))?;
            ServiceFamily::of(&ips)?;
            Ok(ips)
        }
        (true, false) => spec
            .trim()
            .parse::<IpAddr>()
            .map(|ip| vec![ip])
            .map_err(|_| format!("invalid spec.loadBalancerIP {spec:?}")),
    }
}

fn same_set(a: &[IpAddr], b: &[IpAddr]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a == b
}
