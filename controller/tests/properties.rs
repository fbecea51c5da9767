//! Property tests over random pools, Services and operations:
//! * no address is held by two Services that may not share it;
//! * no address outside its pool (or a buggy one with avoidBuggyIPs) is handed out;
//! * pool counters equal what the allocations imply;
//! * re-learning the plan's own output changes nothing.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use common::*;
use ferrolb_api::annotations as ann;
use ferrolb_api::config::{Config, Family, is_buggy};
use ferrolb_api::service::{IpFamilyPolicy, LbService};
use ferrolb_controller::converge::Controller;
use ferrolb_controller::plan::plan;
use proptest::prelude::*;

/// Small pools so that exhaustion and sharing happen often.
fn pools_yaml(avoid: bool) -> String {
    let a = if avoid { "  avoidBuggyIPs: true" } else { "" };
    pool("a", &["10.0.0.254-10.0.1.2", "fd00::/126"], a)
        + &pool("b", &["10.0.2.0/30"], "")
        + &pool("c", &["fd00:1::/127"], "  autoAssign: false")
}

#[derive(Clone, Debug)]
struct SvcSpec {
    name: usize,
    key: Option<u8>,
    ports: Vec<i32>,
    local: Option<u8>,
    family: u8,
    pool: Option<u8>,
}

fn svc_spec() -> impl Strategy<Value = SvcSpec> {
    (
        0usize..12,
        proptest::option::of(0u8..2),
        proptest::collection::vec(79i32..83, 0..3),
        proptest::option::of(0u8..2),
        0u8..4,
        proptest::option::weighted(0.2, 0u8..3),
    )
        .prop_map(|(name, key, ports, local, family, pool)| SvcSpec {
            name,
            key,
            ports,
            local,
            family,
            pool,
        })
}

fn build(s: &SvcSpec) -> LbService {
    let mut v = svc(&format!("s{}", s.name));
    v.ports = s.ports.iter().map(|p| tcp(*p)).collect();
    v.ports.sort();
    v.ports.dedup();
    if let Some(k) = s.key {
        v = annotate(v, ann::ALLOW_SHARED_IP, &format!("key{k}"));
    }
    if let Some(l) = s.local {
        v.external_traffic_local = true;
        v.selector.insert("app".into(), format!("app{l}"));
    }
    v = match s.family {
        0 => v,
        1 => v6(v),
        2 => dual(v, IpFamilyPolicy::RequireDualStack),
        _ => dual(v, IpFamilyPolicy::PreferDualStack),
    };
    if let Some(p) = s.pool {
        v = annotate(v, ann::ADDRESS_POOL, ["a", "b", "c"][p as usize]);
    }
    v
}

#[derive(Clone, Debug)]
enum Op {
    Reconcile(SvcSpec),
    Delete(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => svc_spec().prop_map(Op::Reconcile),
        1 => (0usize..12).prop_map(Op::Delete),
    ]
}

fn check_invariants(
    ctl: &Controller,
    cfg: &Config,
    specs: &BTreeMap<String, LbService>,
) -> Result<(), TestCaseError> {
    let alloc = ctl.allocator();
    let mut holders: BTreeMap<IpAddr, Vec<&str>> = BTreeMap::new();
    let mut per_pool: BTreeMap<&str, [BTreeSet<IpAddr>; 2]> = BTreeMap::new();
    for (svc, pool, ips) in alloc.allocations() {
        let p = &cfg.pools[pool];
        for ip in ips {
            prop_assert!(
                p.cidrs.iter().any(|c| c.contains(ip)),
                "{ip} outside pool {pool}"
            );
            prop_assert!(
                !(p.avoid_buggy_ips && is_buggy(*ip)),
                "buggy {ip} from {pool}"
            );
            holders.entry(*ip).or_default().push(svc);
            let slot = usize::from(Family::of(*ip) == Family::V6);
            per_pool.entry(pool).or_default()[slot].insert(*ip);
        }
    }
    for (ip, users) in &holders {
        for (i, a) in users.iter().enumerate() {
            for b in &users[i + 1..] {
                let (sa, sb) = (&specs[*a], &specs[*b]);
                prop_assert!(
                    !sa.sharing_key().is_empty(),
                    "{ip}: {a} shares without a key"
                );
                prop_assert_eq!(sa.sharing_key(), sb.sharing_key(), "{}: keys differ", ip);
                prop_assert_eq!(
                    sa.backend_key(),
                    sb.backend_key(),
                    "{}: backends differ",
                    ip
                );
                let pa: BTreeSet<_> = sa.ports.iter().collect();
                prop_assert!(
                    sb.ports.iter().all(|p| !pa.contains(p)),
                    "{ip}: ports overlap between {a} and {b}"
                );
            }
        }
    }
    for name in cfg.pools.keys() {
        let c = alloc.counters(name);
        let used = per_pool.get(name.as_str()).cloned().unwrap_or_default();
        prop_assert_eq!(c.assigned_ipv4, used[0].len() as i64);
        prop_assert_eq!(c.assigned_ipv6, used[1].len() as i64);
        // Capacity by brute force over these small pools.
        let p = &cfg.pools[name];
        let mut cap = [0i64; 2];
        for cidr in &p.cidrs {
            for host in cidr.hosts_all() {
                if !(p.avoid_buggy_ips && is_buggy(host)) {
                    cap[usize::from(Family::of(host) == Family::V6)] += 1;
                }
            }
        }
        prop_assert_eq!(c.available_ipv4, cap[0] - used[0].len() as i64);
        prop_assert_eq!(c.available_ipv6, cap[1] - used[1].len() as i64);
    }
    Ok(())
}

/// `IpNet::hosts()` skips network and broadcast addresses; MetalLB does not.
trait AllHosts {
    fn hosts_all(&self) -> Vec<IpAddr>;
}

impl AllHosts for ipnet::IpNet {
    fn hosts_all(&self) -> Vec<IpAddr> {
        let (lo, hi) = ferrolb_api::config::bounds(self);
        let f = Family::of(self.addr());
        (lo..=hi)
            .map(|v| ferrolb_api::config::from_u128(f, v))
            .collect()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn allocations_respect_sharing_pools_and_counters(avoid in any::<bool>(), ops in proptest::collection::vec(op(), 1..40)) {
        let cfg = config(&pools_yaml(avoid));
        let mut ctl = Controller::new(None);
        ctl.set_config(cfg.clone());
        let mut current: BTreeMap<String, LbService> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Reconcile(spec) => {
                    let mut s = build(&spec);
                    if let Some(prev) = current.get(&s.key()) {
                        s.ingress_ips = prev.ingress_ips.clone();
                    }
                    let out = ctl.reconcile(&s);
                    s.ingress_ips = out.ips.iter().map(ToString::to_string).collect();
                    current.insert(s.key(), s);
                }
                Op::Delete(n) => {
                    let key = format!("default/s{n}");
                    ctl.delete(&key);
                    current.remove(&key);
                }
            }
            check_invariants(&ctl, &cfg, &current)?;
        }
    }

    #[test]
    fn relearning_the_plans_output_changes_nothing(avoid in any::<bool>(), specs in proptest::collection::vec(svc_spec(), 1..16)) {
        let cfg = config(&pools_yaml(avoid));
        let mut seen = BTreeSet::new();
        let services: Vec<LbService> = specs.iter().filter(|s| seen.insert(s.name)).map(build).collect();
        let first = plan(cfg.clone(), &services, None);
        let relearned: Vec<LbService> = services
            .iter()
            .map(|s| {
                let mut s = s.clone();
                let p = first.services.iter().find(|p| p.name == s.name).expect("planned");
                s.ingress_ips = p.ips.iter().map(ToString::to_string).collect();
                if let Some(pool) = &p.pool {
                    s.annotations.insert(ann::IP_ALLOCATED_FROM_POOL.into(), pool.clone());
                }
                s
            })
            .collect();
        let second = plan(cfg, &relearned, None);
        for p in &second.services {
            let before = first.services.iter().find(|f| f.name == p.name).unwrap();
            prop_assert_eq!(&p.ips, &before.ips, "{} moved", p.name);
            prop_assert_eq!(&p.pool, &before.pool);
            prop_assert!(
                p.events.iter().all(|e| e.reason != "IPAllocated" && e.reason != "ClearAssignment"),
                "{}: {:?}", p.name, p.events
            );
        }
        prop_assert_eq!(second.pools, first.pools);
    }
}
