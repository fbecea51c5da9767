//! One test per allocation rule of MetalLB's controller (`controller_test.go`,
//! `allocator_test.go`), through the same entry point the Kubernetes controller uses.

mod common;

use std::net::IpAddr;

use common::*;
use ferrolb_api::annotations as ann;
use ferrolb_api::service::IpFamilyPolicy;
use ferrolb_controller::converge::{Controller, Outcome, Sync};
use ferrolb_controller::events::EventType;

fn ctl(yaml: &str) -> Controller {
    let mut c = Controller::new(None);
    c.set_config(config(yaml));
    c
}

fn ips(o: &Outcome) -> Vec<String> {
    o.ips.iter().map(ToString::to_string).collect()
}

fn has_event(o: &Outcome, reason: &str, needle: &str) -> bool {
    o.events
        .iter()
        .any(|e| e.reason == reason && e.message.contains(needle))
}

/// The Service as the controller would have written it back.
fn written(mut s: ferrolb_api::service::LbService, o: &Outcome) -> ferrolb_api::service::LbService {
    s.ingress_ips = o.ips.iter().map(ToString::to_string).collect();
    match &o.pool {
        Some(p) => {
            s.annotations
                .insert(ann::IP_ALLOCATED_FROM_POOL.into(), p.clone());
        }
        None => {
            s.annotations.remove(ann::IP_ALLOCATED_FROM_POOL);
        }
    }
    s
}

#[test]
fn simple_load_balancer_gets_lowest_address_and_pool_annotation() {
    let mut c = ctl(&pool("p", &["192.0.2.10-192.0.2.20"], ""));
    let o = c.reconcile(&svc("a"));
    assert_eq!(ips(&o), ["192.0.2.10"]);
    assert_eq!(o.pool.as_deref(), Some("p"));
    assert!(has_event(&o, "IPAllocated", "Assigned IP [\"192.0.2.10\"]"));
    assert_eq!(o.events[0].type_, EventType::Normal);
    assert_eq!(ips(&c.reconcile(&svc("b"))), ["192.0.2.11"]);
}

#[test]
fn cidrs_are_walked_in_the_order_written() {
    let mut c = ctl(&pool("p", &["10.0.0.128/31", "10.0.0.0/31"], ""));
    let got: Vec<Vec<String>> = ["a", "b", "c"]
        .iter()
        .map(|n| ips(&c.reconcile(&svc(n))))
        .collect();
    assert_eq!(
        got,
        [vec!["10.0.0.128"], vec!["10.0.0.129"], vec!["10.0.0.0"]]
    );
}

#[test]
fn network_and_broadcast_addresses_are_used_unless_avoid_buggy_ips() {
    let mut c = ctl(&pool("p", &["10.0.0.0/31"], ""));
    assert_eq!(ips(&c.reconcile(&svc("a"))), ["10.0.0.0"]);
    let mut c = ctl(&pool(
        "p",
        &["10.0.0.255-10.0.1.1"],
        "  avoidBuggyIPs: true",
    ));
    assert_eq!(ips(&c.reconcile(&svc("a"))), ["10.0.1.1"]);
    let o = c.reconcile(&svc("b"));
    assert!(o.ips.is_empty());
    assert!(has_event(&o, "AllocationFailed", "no available IPs"));
}

#[test]
fn buggy_address_requested_explicitly_is_not_in_the_pool() {
    let mut c = ctl(&pool("p", &["10.0.0.0/24"], "  avoidBuggyIPs: true"));
    let mut s = svc("a");
    s.load_balancer_ip = "10.0.0.255".into();
    let o = c.reconcile(&s);
    assert!(has_event(
        &o,
        "AllocationFailed",
        "is not allowed in config"
    ));
}

#[test]
fn ipv6_single_stack_gets_ipv6_from_a_mixed_pool() {
    let mut c = ctl(&pool("p", &["192.0.2.0/30", "fd00::/126"], ""));
    assert_eq!(ips(&c.reconcile(&v6(svc("a")))), ["fd00::"]);
    assert_eq!(ips(&c.reconcile(&svc("b"))), ["192.0.2.0"]);
}

#[test]
fn auto_assign_false_pool_is_only_used_on_request() {
    let y = pool("manual", &["10.9.0.0/30"], "  autoAssign: false")
        + &pool("auto", &["10.1.0.0/30"], "");
    let mut c = ctl(&y);
    let o = c.reconcile(&svc("a"));
    assert_eq!(o.pool.as_deref(), Some("auto"));
    let o = c.reconcile(&annotate(svc("b"), ann::ADDRESS_POOL, "manual"));
    assert_eq!(
        (ips(&o), o.pool.as_deref()),
        (vec!["10.9.0.0".to_owned()], Some("manual"))
    );
    let mut s = svc("c");
    s.load_balancer_ip = "10.9.0.2".into();
    assert_eq!(c.reconcile(&s).pool.as_deref(), Some("manual"));
}

#[test]
fn unknown_pool_requested_fails() {
    let mut c = ctl(&pool("p", &["10.1.0.0/30"], ""));
    let o = c.reconcile(&annotate(svc("a"), ann::ADDRESS_POOL, "nope"));
    assert!(o.ips.is_empty());
    assert!(has_event(&o, "AllocationFailed", "unknown pool \"nope\""));
    assert_eq!(o.sync, Sync::Failed);
}

#[test]
fn switching_the_requested_pool_moves_the_service() {
    let y = pool("a", &["10.1.0.0/30"], "") + &pool("b", &["10.2.0.0/30"], "");
    let mut c = ctl(&y);
    let s = annotate(svc("s"), ann::ADDRESS_POOL, "a");
    let o = c.reconcile(&s);
    assert_eq!(o.pool.as_deref(), Some("a"));
    let s = annotate(written(s, &o), ann::ADDRESS_POOL, "b");
    let o = c.reconcile(&s);
    assert_eq!(
        (ips(&o), o.pool.as_deref()),
        (vec!["10.2.0.0".to_owned()], Some("b"))
    );
}

#[test]
fn specific_ip_by_spec_and_by_annotation() {
    let mut c = ctl(&pool("p", &["10.1.0.0/24"], ""));
    let mut s = svc("a");
    s.load_balancer_ip = "10.1.0.42".into();
    assert_eq!(ips(&c.reconcile(&s)), ["10.1.0.42"]);
    let s = annotate(svc("b"), ann::LOAD_BALANCER_IPS, "10.1.0.43");
    assert_eq!(ips(&c.reconcile(&s)), ["10.1.0.43"]);
    let s = annotate(svc("c"), ann::LEGACY_LOAD_BALANCER_IPS, "10.1.0.44");
    assert_eq!(ips(&c.reconcile(&s)), ["10.1.0.44"]);
}

#[test]
fn both_spec_and_annotation_is_an_error() {
    let mut c = ctl(&pool("p", &["10.1.0.0/24"], ""));
    let mut s = annotate(svc("a"), ann::LOAD_BALANCER_IPS, "10.1.0.5");
    s.load_balancer_ip = "10.1.0.5".into();
    let o = c.reconcile(&s);
    assert!(o.ips.is_empty());
    assert!(has_event(
        &o,
        "AllocationFailed",
        "can not have both metallb.io/loadBalancerIPs and spec.loadBalancerIP"
    ));
    // With an address already held, the same mistake is LoadBalancerFailed and the
    // address is kept.
    let mut held = svc("b");
    held.ingress_ips = vec!["10.1.0.9".into()];
    held.load_balancer_ip = "10.1.0.9".into();
    let held = annotate(held, ann::LOAD_BALANCER_IPS, "10.1.0.9");
    let o = c.reconcile(&held);
    assert!(has_event(&o, "LoadBalancerFailed", "can not have both"));
    assert_eq!(ips(&o), ["10.1.0.9"]);
}

#[test]
fn invalid_requested_ip_is_an_error() {
    let mut c = ctl(&pool("p", &["10.1.0.0/24"], ""));
    let mut s = svc("a");
    s.load_balancer_ip = "10.1.0.300".into();
    assert!(has_event(
        &c.reconcile(&s),
        "AllocationFailed",
        "invalid spec.loadBalancerIP"
    ));
    let s = annotate(svc("b"), ann::LOAD_BALANCER_IPS, "10.1.0.1,bogus");
    assert!(has_event(
        &c.reconcile(&s),
        "AllocationFailed",
        "invalid metallb.io/loadBalancerIPs"
    ));
}

#[test]
fn two_ips_of_the_same_family_are_refused() {
    let mut c = ctl(&pool("p", &["10.1.0.0/24"], ""));
    let s = annotate(
        dual(svc("a"), IpFamilyPolicy::RequireDualStack),
        ann::LOAD_BALANCER_IPS,
        "10.1.0.1,10.1.0.2",
    );
    assert!(has_event(
        &c.reconcile(&s),
        "AllocationFailed",
        "same address family"
    ));
}

#[test]
fn requested_ip_of_the_wrong_family_is_refused() {
    let mut c = ctl(&pool("p", &["10.1.0.0/24", "fd00::/120"], ""));
    let mut s = svc("a");
    s.load_balancer_ip = "fd00::5".into();
    assert!(has_event(
        &c.reconcile(&s),
        "AllocationFailed",
        "does not match the ipFamily"
    ));
}

#[test]
fn requested_ip_and_pool_must_agree() {
    let y = pool("a", &["10.1.0.0/24"], "") + &pool("b", &["10.2.0.0/24"], "");
    let mut c = ctl(&y);
    let mut s = annotate(svc("s"), ann::ADDRESS_POOL, "b");
    s.load_balancer_ip = "10.1.0.5".into();
    let o = c.reconcile(&s);
    assert!(has_event(
        &o,
        "AllocationFailed",
        "not compatible with requested address pool b"
    ));
    assert!(o.ips.is_empty());
}

#[test]
fn request_infeasible_ip_fails() {
    let mut c = ctl(&pool("p", &["10.1.0.0/24"], ""));
    let mut s = svc("a");
    s.load_balancer_ip = "192.0.2.1".into();
    assert!(has_event(
        &c.reconcile(&s),
        "AllocationFailed",
        "[\"192.0.2.1\"] is not allowed in config"
    ));
}

#[test]
fn dual_stack_require_and_annotation() {
    let mut c = ctl(&pool("p", &["10.1.0.0/30", "fd00::/126"], ""));
    let o = c.reconcile(&dual(svc("a"), IpFamilyPolicy::RequireDualStack));
    assert_eq!(ips(&o), ["10.1.0.0", "fd00::"]);
    let s = annotate(
        dual(svc("b"), IpFamilyPolicy::RequireDualStack),
        ann::LOAD_BALANCER_IPS,
        "10.1.0.3, fd00::3",
    );
    assert_eq!(ips(&c.reconcile(&s)), ["10.1.0.3", "fd00::3"]);
}

#[test]
fn require_dual_stack_needs_a_dual_stack_pool() {
    let y = pool("v4", &["10.1.0.0/30"], "") + &pool("v6", &["fd00::/126"], "");
    let mut c = ctl(&y);
    let o = c.reconcile(&dual(svc("a"), IpFamilyPolicy::RequireDualStack));
    assert!(o.ips.is_empty());
    assert!(has_event(&o, "AllocationFailed", "no available IPs"));
}

#[test]
fn require_dual_stack_with_single_cluster_ip_warns() {
    let mut c = ctl(&pool("p", &["10.1.0.0/30", "fd00::/126"], ""));
    let mut s = svc("a");
    s.ip_family_policy = IpFamilyPolicy::RequireDualStack;
    let o = c.reconcile(&s);
    assert!(o.ips.is_empty());
    assert!(
        o.events
            .iter()
            .any(|e| e.reason == "not enough clusterips" && e.type_ == EventType::Warning)
    );
}

#[test]
fn prefer_dual_stack_takes_both_from_a_dual_pool_and_one_from_a_single_pool() {
    let mut c = ctl(&pool("p", &["10.1.0.0/30", "fd00::/126"], ""));
    assert_eq!(
        ips(&c.reconcile(&dual(svc("a"), IpFamilyPolicy::PreferDualStack))),
        ["10.1.0.0", "fd00::"]
    );
    let mut c = ctl(&pool("v6only", &["fd00::/126"], ""));
    assert_eq!(
        ips(&c.reconcile(&dual(svc("a"), IpFamilyPolicy::PreferDualStack))),
        ["fd00::"]
    );
    // Primary family IPv6 first when ipFamilies says so.
    let y = pool("v4", &["10.1.0.0/30"], "") + &pool("v6", &["fd00::/126"], "");
    let mut c = ctl(&y);
    let mut s = dual(svc("a"), IpFamilyPolicy::PreferDualStack);
    s.ip_families = vec![
        ferrolb_api::config::Family::V6,
        ferrolb_api::config::Family::V4,
    ];
    assert_eq!(ips(&c.reconcile(&s)), ["fd00::"]);
}

#[test]
fn prefer_dual_stack_with_single_stack_cluster_ip_stays_single_across_resyncs() {
    let mut c = ctl(&pool("p", &["10.1.0.0/30", "fd00::/126"], ""));
    let mut s = svc("a");
    s.ip_family_policy = IpFamilyPolicy::PreferDualStack;
    let o = c.reconcile(&s);
    assert_eq!(ips(&o), ["10.1.0.0"]);
    let s = written(s, &o);
    for _ in 0..3 {
        let o = c.reconcile(&s);
        assert_eq!(ips(&o), ["10.1.0.0"]);
        assert!(o.events.is_empty(), "{:?}", o.events);
    }
}

#[test]
fn prefer_dual_stack_adds_the_missing_family_when_the_pool_gains_it() {
    let mut c = ctl(&pool("p", &["10.1.0.0/30"], ""));
    let s = dual(svc("a"), IpFamilyPolicy::PreferDualStack);
    let o = c.reconcile(&s);
    assert_eq!(ips(&o), ["10.1.0.0"]);
    let s = written(s, &o);
    let o = c.reconcile(&s);
    assert!(has_event(
        &o,
        "AdditionalAssignFailed",
        "cannot assign additional IP"
    ));
    c.set_config(config(&pool("p", &["10.1.0.0/30", "fd00::/126"], "")));
    let o = c.reconcile(&s);
    assert_eq!(ips(&o), ["10.1.0.0", "fd00::"]);
    assert!(has_event(
        &o,
        "IPAllocated",
        "Assigned additional IP \"fd00::\""
    ));
}

#[test]
fn a_single_stack_pool_holder_does_not_jump_to_a_dual_pool() {
    let y =
        pool("a-v4", &["10.1.0.0/30"], "") + &pool("b-dual", &["10.2.0.0/30", "fd00::/126"], "");
    let mut c = ctl(&y);
    let mut s = dual(svc("a"), IpFamilyPolicy::PreferDualStack);
    s.ingress_ips = vec!["10.1.0.1".into()];
    let o = c.reconcile(&s);
    assert_eq!(o.ips[0].to_string(), "10.1.0.1");
    assert_eq!(o.pool.as_deref(), Some("a-v4"));
}

fn alloc_pool(name: &str, addr: &str, alloc: &str) -> String {
    pool(name, &[addr], &format!("  serviceAllocation:\n{alloc}"))
}

#[test]
fn namespace_specific_pool_is_preferred_for_its_namespace() {
    let y = pool("general", &["10.0.0.0/30"], "")
        + &alloc_pool("team", "10.9.0.0/30", "    namespaces: [team-a]");
    let mut c = ctl(&y);
    let mut s = svc("a");
    s.namespace = "team-a".into();
    assert_eq!(c.reconcile(&s).pool.as_deref(), Some("team"));
    assert_eq!(c.reconcile(&svc("b")).pool.as_deref(), Some("general"));
}

#[test]
fn incompatible_pool_is_refused_even_on_request() {
    let y = alloc_pool("team", "10.9.0.0/30", "    namespaces: [team-a]");
    let mut c = ctl(&y);
    let o = c.reconcile(&annotate(svc("a"), ann::ADDRESS_POOL, "team"));
    assert!(has_event(
        &o,
        "AllocationFailed",
        "pool team not compatible for ip assignment"
    ));
}

#[test]
fn service_label_pool_and_namespace_plus_label_pool() {
    let y = pool("general", &["10.0.0.0/30"], "")
        + &alloc_pool(
            "labelled",
            "10.8.0.0/30",
            "    serviceSelectors:\n    - matchLabels: {tier: gold}",
        )
        + &alloc_pool(
            "both",
            "10.7.0.0/30",
            "    namespaces: [ns1]\n    serviceSelectors:\n    - matchLabels: {tier: gold}",
        );
    let mut c = ctl(&y);
    let mut gold = svc("g");
    gold.labels.insert("tier".into(), "gold".into());
    assert_eq!(c.reconcile(&gold).pool.as_deref(), Some("labelled"));
    let mut gold_ns1 = gold.clone();
    gold_ns1.name = "g2".into();
    gold_ns1.namespace = "ns1".into();
    // Both pinned pools match with priority 0: deterministic by name.
    assert_eq!(c.reconcile(&gold_ns1).pool.as_deref(), Some("both"));
    assert_eq!(c.reconcile(&svc("plain")).pool.as_deref(), Some("general"));
}

#[test]
fn priority_orders_pinned_pools_and_zero_comes_last() {
    let y = alloc_pool("c-unset", "10.3.0.0/30", "    namespaces: [default]")
        + &alloc_pool(
            "b-twenty",
            "10.2.0.0/30",
            "    namespaces: [default]\n    priority: 20",
        )
        + &alloc_pool(
            "a-ten",
            "10.1.0.0/32",
            "    namespaces: [default]\n    priority: 10",
        );
    let mut c = ctl(&y);
    let order: Vec<String> = ["s1", "s2", "s3"]
        .iter()
        .map(|n| c.reconcile(&svc(n)).pool.unwrap())
        .collect();
    assert_eq!(order, ["a-ten", "b-twenty", "b-twenty"]);
}

#[test]
fn pinned_pools_exhausted_fall_back_to_general_pools_only() {
    let y = alloc_pool("team", "10.9.0.0/32", "    namespaces: [default]")
        + &alloc_pool("other-team", "10.8.0.0/30", "    namespaces: [elsewhere]")
        + &pool("general", &["10.0.0.0/30"], "");
    let mut c = ctl(&y);
    assert_eq!(c.reconcile(&svc("a")).pool.as_deref(), Some("team"));
    assert_eq!(c.reconcile(&svc("b")).pool.as_deref(), Some("general"));
}

#[test]
fn equally_eligible_pools_are_chosen_by_name() {
    let y = pool("zeta", &["10.2.0.0/30"], "") + &pool("alpha", &["10.1.0.0/30"], "");
    let mut c = ctl(&y);
    assert_eq!(c.reconcile(&svc("a")).pool.as_deref(), Some("alpha"));
}

fn shared(
    name: &str,
    key: &str,
    ports: Vec<ferrolb_api::service::PortKey>,
) -> ferrolb_api::service::LbService {
    let mut s = annotate(svc(name), ann::ALLOW_SHARED_IP, key);
    s.ports = ports;
    s
}

#[test]
fn sharing_requires_equal_keys_and_disjoint_ports() {
    let mut c = ctl(&pool("p", &["10.1.0.0/30"], ""));
    let a = c.reconcile(&shared("a", "k", vec![tcp(80)]));
    let b = c.reconcile(&shared("b", "k", vec![tcp(443), udp(80)]));
    assert_eq!(
        ips(&a),
        ips(&b),
        "same key, disjoint ports: opportunistic sharing"
    );
    let clash = c.reconcile(&shared("c", "k", vec![tcp(80)]));
    assert_eq!(ips(&clash), ["10.1.0.1"], "port clash: next address");
    let other_key = c.reconcile(&shared("d", "other", vec![tcp(8080)]));
    assert_eq!(ips(&other_key), ["10.1.0.2"]);
    let no_key = c.reconcile(&svc("e"));
    assert_eq!(ips(&no_key), ["10.1.0.3"]);
}

#[test]
fn pinned_sharing_fails_on_port_conflict() {
    let mut c = ctl(&pool("p", &["10.1.0.0/30"], ""));
    let mut a = shared("a", "k", vec![tcp(80)]);
    a.load_balancer_ip = "10.1.0.2".into();
    c.reconcile(&a);
    let mut b = shared("b", "k", vec![tcp(80)]);
    b.load_balancer_ip = "10.1.0.2".into();
    assert!(has_event(
        &c.reconcile(&b),
        "AllocationFailed",
        "port TCP/80 is already in use on \"10.1.0.2\""
    ));
    let mut d = shared("d", "different", vec![tcp(81)]);
    d.load_balancer_ip = "10.1.0.2".into();
    assert!(has_event(
        &c.reconcile(&d),
        "AllocationFailed",
        "does not match existing sharing key"
    ));
}

#[test]
fn local_traffic_policy_shares_only_with_the_same_selector() {
    let mut c = ctl(&pool("p", &["10.1.0.0/30"], ""));
    let local = |name: &str, app: &str, port: i32| {
        let mut s = shared(name, "k", vec![tcp(port)]);
        s.external_traffic_local = true;
        s.selector.insert("app".into(), app.into());
        s
    };
    let a = c.reconcile(&local("a", "web", 80));
    let b = c.reconcile(&local("b", "web", 81));
    assert_eq!(ips(&a), ips(&b));
    let other_backend = c.reconcile(&local("c", "db", 82));
    assert_ne!(ips(&other_backend), ips(&a));
    let cluster = c.reconcile(&shared("d", "k", vec![tcp(83)]));
    assert_ne!(ips(&cluster), ips(&a), "Cluster and Local never share");
}

#[test]
fn sole_user_may_change_its_sharing_key_in_place() {
    let mut c = ctl(&pool("p", &["10.1.0.0/30"], ""));
    let s = shared("a", "k1", vec![tcp(80)]);
    let o = c.reconcile(&s);
    let s = annotate(written(s, &o), ann::ALLOW_SHARED_IP, "k2");
    let o2 = c.reconcile(&s);
    assert_eq!(ips(&o2), ips(&o));
    assert_eq!(o2.sync, Sync::ReprocessAll, "allocation key changed");
}

#[test]
fn legacy_annotations_work_and_warn_and_the_stable_key_wins() {
    let y = pool("a", &["10.1.0.0/30"], "") + &pool("b", &["10.2.0.0/30"], "");
    let mut c = ctl(&y);
    let s = annotate(svc("s"), ann::LEGACY_ADDRESS_POOL, "b");
    let o = c.reconcile(&s);
    assert_eq!(o.pool.as_deref(), Some("b"));
    assert!(o.events.iter().any(|e| e.reason == "deprecatedAnnotation"
        && e.type_ == EventType::Warning
        && e.message.contains("metallb.universe.tf/address-pool")));
    let s = annotate(
        annotate(svc("t"), ann::LEGACY_ADDRESS_POOL, "b"),
        ann::ADDRESS_POOL,
        "a",
    );
    assert_eq!(c.reconcile(&s).pool.as_deref(), Some("a"));
    // No change, no warning.
    let s = written(
        annotate(svc("u"), ann::LEGACY_ADDRESS_POOL, "b"),
        &c.reconcile(&annotate(svc("u"), ann::LEGACY_ADDRESS_POOL, "b")),
    );
    assert!(c.reconcile(&s).events.is_empty());
}

#[test]
fn load_balancer_class_filtering() {
    let none = Controller::new(None);
    let gold = Controller::new(Some("gold".into()));
    let mut classed = svc("a");
    classed.load_balancer_class = Some("gold".into());
    assert!(none.handles(&svc("a")));
    assert!(!none.handles(&classed));
    assert!(gold.handles(&classed));
    assert!(!gold.handles(&svc("a")));
    let mut other = svc("b");
    other.load_balancer_class = Some("silver".into());
    assert!(!gold.handles(&other));
}

#[test]
fn former_load_balancer_now_node_port_is_cleared() {
    let mut c = ctl(&pool("p", &["10.1.0.0/30"], ""));
    let s = svc("a");
    let s = written(s.clone(), &c.reconcile(&s));
    let mut np = s;
    np.is_load_balancer = false;
    let o = c.reconcile(&np);
    assert!(o.ips.is_empty());
    assert_eq!(o.pool, None);
    assert_eq!(
        o.sync,
        Sync::ReprocessAll,
        "an address went back to the pool"
    );
}

#[test]
fn current_ip_not_in_any_pool_is_cleared_and_reallocated() {
    let mut c = ctl(&pool("p", &["10.1.0.0/30"], ""));
    let mut s = svc("a");
    s.ingress_ips = vec!["192.0.2.77".into()];
    let o = c.reconcile(&s);
    assert!(has_event(&o, "ClearAssignment", "not allowed by config"));
    assert_eq!(ips(&o), ["10.1.0.0"]);
}

#[test]
fn invalid_ingress_state_is_reallocated() {
    let mut c = ctl(&pool("p", &["10.1.0.0/30"], ""));
    let mut s = svc("a");
    s.ingress_ips = vec!["not-an-ip".into()];
    let o = c.reconcile(&s);
    assert!(has_event(
        &o,
        "nolbIPsIPFamily",
        "Failed to retrieve LBIPs IPFamily"
    ));
    assert_eq!(ips(&o), ["10.1.0.0"]);
    let mut three = svc("b");
    three.ingress_ips = vec!["10.1.0.1".into(), "10.1.0.2".into(), "10.1.0.3".into()];
    let o = c.reconcile(&three);
    assert!(has_event(&o, "nolbIPsIPFamily", "at most 2"));
    assert_eq!(o.ips.len(), 1);
}

#[test]
fn wrong_family_ip_already_assigned_is_reallocated() {
    let mut c = ctl(&pool("p", &["10.1.0.0/30", "fd00::/126"], ""));
    let mut s = svc("a");
    s.ingress_ips = vec!["fd00::1".into()];
    assert_eq!(ips(&c.reconcile(&s)), ["10.1.0.0"]);
}

#[test]
fn no_cluster_ip_clears_without_allocating() {
    let mut c = ctl(&pool("p", &["10.1.0.0/30"], ""));
    let mut s = svc("a");
    s.cluster_families.clear();
    let o = c.reconcile(&s);
    assert!(o.ips.is_empty());
    assert_eq!(o.sync, Sync::Failed);
}

#[test]
fn deleting_a_service_recycles_its_ip() {
    let mut c = ctl(&pool("p", &["10.1.0.0/32"], ""));
    assert_eq!(ips(&c.reconcile(&svc("a"))), ["10.1.0.0"]);
    assert!(c.reconcile(&svc("b")).ips.is_empty());
    assert_eq!(c.delete("default/a"), Sync::ReprocessAll);
    assert_eq!(c.delete("default/a"), Sync::Success);
    assert_eq!(ips(&c.reconcile(&svc("b"))), ["10.1.0.0"]);
}

#[test]
fn freed_addresses_are_reused_first() {
    let mut c = ctl(&pool("p", &["10.1.0.0/24"], ""));
    for n in ["a", "b", "c"] {
        c.reconcile(&svc(n));
    }
    c.delete("default/b");
    assert_eq!(ips(&c.reconcile(&svc("d"))), ["10.1.0.1"]);
}

#[test]
fn pool_expand_shrink_rename_split_and_removal() {
    let mut c = ctl(&pool("p", &["10.1.0.0/30"], ""));
    let mut svcs = Vec::new();
    for n in ["a", "b", "c"] {
        let s = svc(n);
        let o = c.reconcile(&s);
        svcs.push(written(s, &o));
    }
    // Expand: nothing moves.
    assert!(
        c.set_config(config(&pool("p", &["10.1.0.0/29"], "")))
            .is_empty()
    );
    // Rename and split: addresses stay, the pool name follows.
    let split = pool("low", &["10.1.0.0/31"], "") + &pool("high", &["10.1.0.2/31"], "");
    assert!(c.set_config(config(&split)).is_empty());
    assert_eq!(c.allocator().pool_of("default/c"), Some("high"));
    let o = c.reconcile(&svcs[2]);
    assert_eq!(
        (ips(&o), o.pool.as_deref()),
        (vec!["10.1.0.2".to_owned()], Some("high"))
    );
    // Shrink: the Service outside loses its address and gets a new one.
    let lost = c.set_config(config(&pool("p", &["10.1.0.0/31", "10.1.1.0/30"], "")));
    assert_eq!(lost, ["default/c"]);
    let o = c.reconcile(&svcs[2]);
    assert!(has_event(&o, "ClearAssignment", "not allowed by config"));
    assert_eq!(ips(&o), ["10.1.1.0"]);
    // Enabling avoidBuggyIPs evicts a .0 holder.
    let lost = c.set_config(config(&pool(
        "p",
        &["10.1.0.0/31", "10.1.1.0/30"],
        "  avoidBuggyIPs: true",
    )));
    assert_eq!(lost, ["default/a", "default/c"]);
}

#[test]
fn no_pools_clears_every_service() {
    let mut c = ctl(&pool("p", &["10.1.0.0/30"], ""));
    let s = svc("a");
    let s = written(s.clone(), &c.reconcile(&s));
    c.set_config(ferrolb_api::Config::default());
    let o = c.reconcile(&s);
    assert!(o.ips.is_empty());
    assert!(has_event(&o, "AllocationFailed", "no IPAddressPool"));
}

#[test]
fn pool_counters_count_shared_addresses_once() {
    let mut c = ctl(&pool("p", &["10.1.0.0/30", "fd00::/64"], ""));
    c.reconcile(&shared("a", "k", vec![tcp(80)]));
    c.reconcile(&shared("b", "k", vec![tcp(81)]));
    c.reconcile(&v6(svc("c")));
    let (_, n) = c.pool_counters().pop().unwrap();
    assert_eq!((n.assigned_ipv4, n.available_ipv4), (1, 3));
    assert_eq!((n.assigned_ipv6, n.available_ipv6), (1, i64::MAX - 1));
}

#[test]
fn reconcile_is_idempotent() {
    let mut c = ctl(&pool("p", &["10.1.0.0/30", "fd00::/126"], ""));
    let s = dual(
        annotate(svc("a"), ann::ALLOW_SHARED_IP, "k"),
        IpFamilyPolicy::RequireDualStack,
    );
    let o = c.reconcile(&s);
    let s = written(s, &o);
    let again = c.reconcile(&s);
    assert_eq!(again.ips, o.ips);
    assert!(again.events.is_empty());
    assert_eq!(again.sync, Sync::Success);
    let _: Vec<IpAddr> = again.ips;
}
