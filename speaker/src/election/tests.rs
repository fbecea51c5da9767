//! MetalLB's election cases (`TestShouldAnnounceEPSlices`, `TestShouldAnnounceFromNodes`,
//! `TestSortL2Candidates`, `TestL2ServiceSelectors`, preferred-node tests), by name.

use super::*;
use ferrolb_api::config::Options;
use ferrolb_api::load::{LoadReport, Resources};

fn config(yaml: &str) -> Config {
    let mut r = Resources::default();
    r.load_str("t.yaml", yaml, &mut LoadReport::default())
        .unwrap();
    Config::from_resources(&r, &Options::default()).unwrap()
}

const POOL: &str = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: p\nspec:\n  addresses: [10.20.30.0/24]\n";

fn l2(spec: &str) -> String {
    format!(
        "---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: l2-{}\nspec:\n{spec}\n",
        spec.len()
    )
}

fn node(name: &str, labels: &[(&str, &str)]) -> NodeInfo {
    NodeInfo {
        name: name.into(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        ..Default::default()
    }
}

fn nodes(list: Vec<NodeInfo>) -> BTreeMap<String, NodeInfo> {
    list.into_iter().map(|n| (n.name.clone(), n)).collect()
}

fn ep(node: &str, ready: Option<bool>, serving: Option<bool>) -> Endpoint {
    Endpoint {
        node: Some(node.into()),
        ready,
        serving,
        addresses: vec!["10.244.0.5".parse().unwrap()],
    }
}

fn svc() -> LbService {
    LbService {
        namespace: "default".into(),
        name: "s".into(),
        is_load_balancer: true,
        ..Default::default()
    }
}

const IP: &str = "10.20.30.1";

fn ip() -> IpAddr {
    IP.parse().unwrap()
}

/// Verdict for every node, in name order.
fn verdicts(
    cfg: &Config,
    ns: &BTreeMap<String, NodeInfo>,
    members: Option<&BTreeSet<String>>,
    s: &LbService,
    eps: &[Endpoint],
) -> Vec<(String, Verdict)> {
    let world = World {
        config: cfg,
        nodes: ns,
        members,
        ignore_exclude_lb: false,
    };
    ns.keys()
        .map(|n| {
            (
                n.clone(),
                should_announce(&world, n, s, ip(), &cfg.pools["p"], eps),
            )
        })
        .collect()
}

fn announcers(v: &[(String, Verdict)]) -> Vec<&str> {
    v.iter()
        .filter(|(_, x)| *x == Verdict::Announce)
        .map(|(n, _)| n.as_str())
        .collect()
}

fn hash_order(names: &[&str]) -> Vec<String> {
    let mut v: Vec<(Vec<u8>, String)> = names
        .iter()
        .map(|n| {
            (
                Sha256::digest(format!("{n}#{IP}")).to_vec(),
                (*n).to_owned(),
            )
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, n)| n).collect()
}

#[test]
fn exactly_one_node_announces_and_it_is_the_hash_winner() {
    let cfg = config(&(POOL.to_owned() + &l2("  interfaces: []")));
    let ns = nodes(vec![
        node("iris1", &[]),
        node("iris2", &[]),
        node("iris3", &[]),
    ]);
    let eps = [ep("iris1", None, None), ep("iris2", Some(true), None)];
    let v = verdicts(&cfg, &ns, None, &svc(), &eps);
    assert_eq!(
        announcers(&v),
        [hash_order(&["iris1", "iris2", "iris3"])[0].as_str()]
    );
}

#[test]
fn no_serving_endpoint_means_nobody_announces() {
    let cfg = config(&(POOL.to_owned() + &l2("  interfaces: []")));
    let ns = nodes(vec![node("iris1", &[]), node("iris2", &[])]);
    let eps = [
        ep("iris1", Some(false), Some(false)),
        ep("iris2", Some(false), None),
    ];
    assert!(announcers(&verdicts(&cfg, &ns, None, &svc(), &eps)).is_empty());
    assert!(announcers(&verdicts(&cfg, &ns, None, &svc(), &[])).is_empty());
}

#[test]
fn not_ready_but_serving_endpoint_counts() {
    let cfg = config(&(POOL.to_owned() + &l2("  interfaces: []")));
    let ns = nodes(vec![node("iris1", &[])]);
    let eps = [ep("iris1", Some(false), Some(true))];
    assert_eq!(
        announcers(&verdicts(&cfg, &ns, None, &svc(), &eps)),
        ["iris1"]
    );
}

#[test]
fn local_traffic_policy_elects_among_nodes_with_a_serving_endpoint() {
    let cfg = config(&(POOL.to_owned() + &l2("  interfaces: []")));
    let names = ["iris1", "iris2", "iris3", "iris4"];
    let ns = nodes(names.iter().map(|n| node(n, &[])).collect());
    let mut s = svc();
    s.external_traffic_local = true;
    // Endpoints on the two nodes that lose the hash order.
    let order = hash_order(&names);
    let eps = [
        ep(&order[2], None, None),
        ep(&order[3], None, None),
        ep(&order[0], Some(false), Some(false)),
    ];
    assert_eq!(
        announcers(&verdicts(&cfg, &ns, None, &s, &eps)),
        [order[2].as_str()]
    );
}

#[test]
fn only_live_members_are_candidates() {
    let cfg = config(&(POOL.to_owned() + &l2("  interfaces: []")));
    let names = ["iris1", "iris2", "iris3"];
    let ns = nodes(names.iter().map(|n| node(n, &[])).collect());
    let order = hash_order(&names);
    let members: BTreeSet<String> = order[1..].iter().cloned().collect();
    let eps = [ep("iris1", None, None)];
    assert_eq!(
        announcers(&verdicts(&cfg, &ns, Some(&members), &svc(), &eps)),
        [order[1].as_str()]
    );
}

#[test]
fn network_unavailable_and_exclude_label_remove_candidates_unless_ignored() {
    let cfg = config(&(POOL.to_owned() + &l2("  interfaces: []")));
    let names = ["iris1", "iris2", "iris3"];
    let order = hash_order(&names);
    let mut list: Vec<NodeInfo> = names.iter().map(|n| node(n, &[])).collect();
    for n in &mut list {
        if n.name == order[0] {
            n.network_unavailable = true;
        }
        if n.name == order[1] {
            n.labels
                .insert(ann::EXCLUDE_FROM_EXTERNAL_LB_LABEL.into(), String::new());
        }
    }
    let ns = nodes(list);
    let eps = [ep("iris1", None, None)];
    assert_eq!(
        announcers(&verdicts(&cfg, &ns, None, &svc(), &eps)),
        [order[2].as_str()]
    );
    let world = World {
        config: &cfg,
        nodes: &ns,
        members: None,
        ignore_exclude_lb: true,
    };
    let c = candidates(
        &world,
        &svc(),
        ip(),
        &ads_for_service(&cfg, &cfg.pools["p"], &svc()),
        &eps,
    );
    assert_eq!(c, [order[1].clone(), order[2].clone()]);
}

#[test]
fn node_selectors_restrict_candidates_and_non_selected_nodes_report_no_matching_advertisement() {
    let cfg = config(&(POOL.to_owned() + &l2("  nodeSelectors:\n  - matchLabels: {zone: a}")));
    let ns = nodes(vec![
        node("a1", &[("zone", "a")]),
        node("a2", &[("zone", "a")]),
        node("b1", &[("zone", "b")]),
    ]);
    let eps = [ep("b1", None, None)];
    let v = verdicts(&cfg, &ns, None, &svc(), &eps);
    assert_eq!(
        v.iter().find(|(n, _)| n == "b1").unwrap().1,
        Verdict::NoMatchingAdvertisement
    );
    assert_eq!(announcers(&v), [hash_order(&["a1", "a2"])[0].as_str()]);
}

#[test]
fn service_selectors_choose_the_advertisement() {
    let yaml = POOL.to_owned()
        + &l2(
            "  serviceSelectors:\n  - matchLabels: {app: web}\n  nodeSelectors:\n  - matchLabels: {zone: a}",
        )
        + &l2(
            "  serviceSelectors:\n  - matchLabels: {app: db}\n  nodeSelectors:\n  - matchLabels: {zone: b}\n  interfaces: [eth0]",
        );
    let cfg = config(&yaml);
    let ns = nodes(vec![
        node("a1", &[("zone", "a")]),
        node("b1", &[("zone", "b")]),
    ]);
    let eps = [ep("a1", None, None)];
    let mut web = svc();
    web.labels.insert("app".into(), "web".into());
    assert_eq!(announcers(&verdicts(&cfg, &ns, None, &web, &eps)), ["a1"]);
    let mut db = svc();
    db.labels.insert("app".into(), "db".into());
    assert_eq!(announcers(&verdicts(&cfg, &ns, None, &db, &eps)), ["b1"]);
    let mut other = svc();
    other.labels.insert("app".into(), "cache".into());
    assert!(
        verdicts(&cfg, &ns, None, &other, &eps)
            .iter()
            .all(|(_, v)| *v == Verdict::NoMatchingAdvertisement)
    );
}

#[test]
fn shared_ip_with_service_selectors_is_not_announced() {
    let cfg = config(&(POOL.to_owned() + &l2("  serviceSelectors:\n  - matchLabels: {app: web}")));
    let ns = nodes(vec![node("a1", &[])]);
    let mut s = svc();
    s.labels.insert("app".into(), "web".into());
    s.annotations
        .insert(ann::ALLOW_SHARED_IP.into(), "k".into());
    let v = verdicts(&cfg, &ns, None, &s, &[ep("a1", None, None)]);
    assert_eq!(v[0].1, Verdict::SharedIpWithServiceSelector);
    assert_eq!(v[0].1.reason(), "sharedIPWithServiceSelector");
}

#[test]
fn no_scores_hash_order_depends_on_the_ip() {
    let names = ["n1", "n2", "n3", "n4", "n5", "n6"];
    let firsts: BTreeSet<String> = (1..40)
        .map(|i| {
            let ip = format!("10.20.30.{i}");
            let mut v: Vec<(Vec<u8>, &str)> = names
                .iter()
                .map(|n| (Sha256::digest(format!("{n}#{ip}")).to_vec(), *n))
                .collect();
            v.sort();
            v[0].1.to_owned()
        })
        .collect();
    assert!(
        firsts.len() > 1,
        "different addresses elect different nodes"
    );
}

#[test]
fn highest_score_wins_regardless_of_hash_and_preferred_selectors_sum() {
    let yaml = POOL.to_owned()
        + &l2(
            "  preferredNodeSelectors:\n  - weight: 10\n    preference: {matchLabels: {ssd: 'yes'}}\n  - weight: 20\n    preference: {matchLabels: {rack: r1}}",
        );
    let cfg = config(&yaml);
    let ns = nodes(vec![
        node("n1", &[("ssd", "yes")]),
        node("n2", &[("rack", "r1")]),
        node("n3", &[("ssd", "yes"), ("rack", "r1")]),
        node("n4", &[]),
    ]);
    let world = World {
        config: &cfg,
        nodes: &ns,
        members: None,
        ignore_exclude_lb: false,
    };
    let ads = ads_for_service(&cfg, &cfg.pools["p"], &svc());
    let c = candidates(&world, &svc(), ip(), &ads, &[ep("n1", None, None)]);
    assert_eq!(c, ["n3", "n2", "n1", "n4"]);
}

#[test]
fn local_traffic_policy_drops_preferred_node_without_local_endpoints() {
    let yaml = POOL.to_owned()
        + &l2(
            "  preferredNodeSelectors:\n  - weight: 50\n    preference: {matchLabels: {primary: 'yes'}}",
        );
    let cfg = config(&yaml);
    let ns = nodes(vec![node("pri", &[("primary", "yes")]), node("sec", &[])]);
    let mut s = svc();
    s.external_traffic_local = true;
    assert_eq!(
        announcers(&verdicts(&cfg, &ns, None, &s, &[ep("sec", None, None)])),
        ["sec"]
    );
    assert_eq!(
        announcers(&verdicts(
            &cfg,
            &ns,
            None,
            &s,
            &[ep("sec", None, None), ep("pri", None, None)]
        )),
        ["pri"]
    );
}

#[test]
fn preferred_node_failover_when_it_leaves_membership() {
    let yaml = POOL.to_owned()
        + &l2(
            "  preferredNodeSelectors:\n  - weight: 50\n    preference: {matchLabels: {primary: 'yes'}}",
        );
    let cfg = config(&yaml);
    let ns = nodes(vec![
        node("pri", &[("primary", "yes")]),
        node("sec1", &[]),
        node("sec2", &[]),
    ]);
    let eps = [ep("sec1", None, None)];
    let all: BTreeSet<String> = ns.keys().cloned().collect();
    assert_eq!(
        announcers(&verdicts(&cfg, &ns, Some(&all), &svc(), &eps)),
        ["pri"]
    );
    let without: BTreeSet<String> = ["sec1", "sec2"].iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(
        announcers(&verdicts(&cfg, &ns, Some(&without), &svc(), &eps)),
        [hash_order(&["sec1", "sec2"])[0].as_str()]
    );
}

#[test]
fn removing_a_non_winner_never_moves_the_address() {
    let cfg = config(&(POOL.to_owned() + &l2("  interfaces: []")));
    let names = ["a", "b", "c", "d", "e"];
    let ns = nodes(names.iter().map(|n| node(n, &[])).collect());
    let order = hash_order(&names);
    let eps = [ep("a", None, None)];
    for gone in &order[1..] {
        let members: BTreeSet<String> = names
            .iter()
            .filter(|n| *n != gone)
            .map(|n| (*n).to_owned())
            .collect();
        assert_eq!(
            announcers(&verdicts(&cfg, &ns, Some(&members), &svc(), &eps)),
            [order[0].as_str()]
        );
    }
}

#[test]
fn node_whose_announcing_interface_is_down_is_not_a_candidate() {
    let cfg = config(&(POOL.to_owned() + &l2("  interfaces: [eth1]")));
    let names = ["a", "b"];
    let order = hash_order(&names);
    let mut list: Vec<NodeInfo> = names.iter().map(|n| node(n, &[])).collect();
    for n in &mut list {
        n.up_interfaces = Some(if n.name == order[0] {
            ["eth0".to_owned()].into()
        } else {
            ["eth0".to_owned(), "eth1".to_owned()].into()
        });
    }
    let ns = nodes(list);
    assert_eq!(
        announcers(&verdicts(&cfg, &ns, None, &svc(), &[ep("a", None, None)])),
        [order[1].as_str()]
    );
}

#[test]
fn unknown_node_has_no_matching_advertisement() {
    let cfg = config(&(POOL.to_owned() + &l2("  interfaces: []")));
    let ns = nodes(vec![node("a", &[])]);
    let world = World {
        config: &cfg,
        nodes: &ns,
        members: None,
        ignore_exclude_lb: false,
    };
    assert_eq!(
        should_announce(
            &world,
            "ghost",
            &svc(),
            ip(),
            &cfg.pools["p"],
            &[ep("a", None, None)]
        ),
        Verdict::NoMatchingAdvertisement
    );
}
