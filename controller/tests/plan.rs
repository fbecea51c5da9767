//! The start-up pass: re-learning before allocating, processing order, reprocessing.

mod common;

use common::*;
use ferrolb_api::annotations as ann;
use ferrolb_controller::plan::plan;

#[test]
fn services_holding_addresses_are_relearned_before_any_new_allocation() {
    let cfg = config(&pool("p", &["10.1.0.0/30"], ""));
    // A new Service comes first in the files and would take .0, the lowest free
    // address, which an existing Service further down already holds.
    let newcomer = svc("new");
    let mut running = svc("running");
    running.ingress_ips = vec!["10.1.0.0".into()];
    let p = plan(cfg, &[newcomer, running], None);
    let names: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["running", "new"], "holders are processed first");
    assert_eq!(p.services[0].ips[0].to_string(), "10.1.0.0");
    assert!(
        p.services[0].events.is_empty(),
        "{:?}",
        p.services[0].events
    );
    assert_eq!(p.services[1].ips[0].to_string(), "10.1.0.1");
}

#[test]
fn a_holder_that_fails_to_relearn_does_not_steal_from_a_later_holder() {
    let cfg = config(&pool("p", &["10.1.0.0/30"], ""));
    // `wrong` holds an IPv6 address though it is IPv4-only: it must be re-allocated,
    // and must not be given .0, which `right` (processed later) holds.
    let mut wrong = svc("wrong");
    wrong.ingress_ips = vec!["fd00::1".into()];
    let mut right = svc("right");
    right.ingress_ips = vec!["10.1.0.0".into()];
    let p = plan(cfg, &[wrong, right], None);
    let by_name = |n: &str| p.services.iter().find(|s| s.name == n).unwrap();
    assert_eq!(by_name("right").ips[0].to_string(), "10.1.0.0");
    assert_eq!(by_name("wrong").ips[0].to_string(), "10.1.0.1");
}

#[test]
fn dual_stack_holders_come_before_single_stack_holders() {
    let cfg = config(&pool("p", &["10.1.0.0/30", "fd00::/126"], ""));
    let mut one = svc("one");
    one.ingress_ips = vec!["10.1.0.1".into()];
    let mut two = dual(
        svc("two"),
        ferrolb_api::service::IpFamilyPolicy::RequireDualStack,
    );
    two.ingress_ips = vec!["10.1.0.0".into(), "fd00::".into()];
    let p = plan(cfg, &[one, two], None);
    assert_eq!(p.services[0].name, "two");
}

#[test]
fn non_load_balancer_and_other_class_services_are_not_listed() {
    let cfg = config(&pool("p", &["10.1.0.0/30"], ""));
    let mut np = svc("np");
    np.is_load_balancer = false;
    let mut classed = svc("classed");
    classed.load_balancer_class = Some("other".into());
    let p = plan(cfg.clone(), &[np, classed.clone(), svc("plain")], None);
    let names: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["plain"]);
    let p = plan(cfg, &[classed, svc("plain")], Some("other".into()));
    let names: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["classed"]);
}

#[test]
fn counters_reflect_the_plan() {
    let cfg = config(&pool("p", &["10.1.0.0/28"], ""));
    let shared = |n: &str, port| {
        let mut s = annotate(svc(n), ann::ALLOW_SHARED_IP, "k");
        s.ports = vec![tcp(port)];
        s
    };
    let p = plan(cfg, &[shared("a", 80), shared("b", 443), svc("c")], None);
    assert_eq!(p.pools[0].counters.assigned_ipv4, 2);
    assert_eq!(p.pools[0].counters.available_ipv4, 14);
}
