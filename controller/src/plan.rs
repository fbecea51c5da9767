//! `plan`: what the controller would do to a set of Services, from files.
//!
//! This is the controller's start-up pass as a pure function of (configuration,
//! Services): Services that already hold addresses are re-learned first, so no new
//! allocation can take an address a running Service announces; then every Service is
//! reconciled in order, and the pass repeats while a reconcile asks for it (an address
//! freed, a sharing key changed), as MetalLB's `reprocessAll` does.

use std::net::IpAddr;

use ferrolb_api::annotations as ann;
use ferrolb_api::config::Config;
use ferrolb_api::service::{IpFamilyPolicy, LbService};
use serde::Serialize;

use crate::converge::{Controller, Sync, desired_ips};
use crate::events::Event;
use crate::ipam::PoolCounters;

/// Upper bound on reprocess passes; each pass after the first only retries Services
/// that are still waiting, so this is never reached in practice.
const MAX_PASSES: usize = 16;

/// The controller's decision for one Service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServicePlan {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `status.loadBalancer.ingress` addresses.
    pub ips: Vec<IpAddr>,
    /// `metallb.io/ip-allocated-from-pool`.
    pub pool: Option<String>,
    /// Events, in the order they were emitted (repeats collapsed).
    pub events: Vec<Event>,
}

/// One pool's counters after the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PoolPlan {
    /// Pool name.
    pub name: String,
    /// Counters.
    #[serde(flatten)]
    pub counters: PoolCounters,
}

/// The result of [`plan`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Every LoadBalancer Service the controller handles, in processing order.
    pub services: Vec<ServicePlan>,
    /// Every pool, by name.
    pub pools: Vec<PoolPlan>,
}

/// Runs the controller's start-up pass over `services` (in file order).
pub fn plan(config: Config, services: &[LbService], lb_class: Option<String>) -> Plan {
    let mut ctl = Controller::new(lb_class);
    ctl.set_config(config);
    let mut current: Vec<LbService> = services
        .iter()
        .filter(|s| s.is_load_balancer && ctl.handles(s))
        .cloned()
        .collect();
    // More ingress addresses first (dual-stack holders before single), stable.
    current.sort_by_key(|s| std::cmp::Reverse(s.ingress_ips.len()));
    for svc in current.iter().filter(|s| !s.ingress_ips.is_empty()) {
        relearn(&mut ctl, svc);
    }
    let mut events: Vec<Vec<Event>> = vec![Vec::new(); current.len()];
    // Reprocessing a converged Service re-assigns what it holds and changes nothing,
    // so later passes only revisit the Services still waiting for something.
    let mut settled = vec![false; current.len()];
    for _ in 0..MAX_PASSES {
        let mut again = false;
        for (i, svc) in current.iter_mut().enumerate() {
            if settled[i] {
                continue;
            }
            let out = ctl.reconcile(svc);
            again |= out.sync == Sync::ReprocessAll;
            settled[i] = out.sync != Sync::Failed && !may_gain_family(svc, out.ips.len());
            for e in out.events {
                if !events[i].contains(&e) {
                    events[i].push(e);
                }
            }
            svc.ingress_ips = out.ips.iter().map(ToString::to_string).collect();
            match out.pool {
                Some(p) => {
                    svc.annotations
                        .insert(ann::IP_ALLOCATED_FROM_POOL.to_owned(), p);
                }
                None => {
                    svc.annotations.remove(ann::IP_ALLOCATED_FROM_POOL);
                }
            }
        }
        if !again {
            break;
        }
    }
    let services = current
        .iter()
        .zip(events)
        .map(|(s, events)| ServicePlan {
            namespace: s.namespace.clone(),
            name: s.name.clone(),
            ips: s
                .ingress_ips
                .iter()
                .filter_map(|ip| ip.parse().ok())
                .collect(),
            pool: s.annotations.get(ann::IP_ALLOCATED_FROM_POOL).cloned(),
            events,
        })
        .collect();
    let pools = ctl
        .pool_counters()
        .into_iter()
        .map(|(name, counters)| PoolPlan { name, counters })
        .collect();
    Plan { services, pools }
}

/// A PreferDualStack Service with one address may get its second family when an
/// address is freed.
fn may_gain_family(svc: &LbService, held: usize) -> bool {
    svc.ip_family_policy == IpFamilyPolicy::PreferDualStack
        && svc.cluster_families.len() == 2
        && held == 1
}

/// Takes back a running Service's addresses when the reconcile would keep them,
/// producing no events; anything doubtful is left to the full reconcile.
fn relearn(ctl: &mut Controller, svc: &LbService) {
    let Ok(ips) = svc
        .ingress_ips
        .iter()
        .map(|s| s.parse::<IpAddr>())
        .collect::<Result<Vec<_>, _>>()
    else {
        return;
    };
    let wants_other = match desired_ips(svc) {
        Ok(d) => {
            !d.is_empty() && {
                let (mut a, mut b) = (d, ips.clone());
                a.sort();
                b.sort();
                a != b
            }
        }
        Err(_) => true,
    };
    if wants_other {
        return;
    }
    ctl.relearn(svc, &ips);
}
