//! Announcement selection, per MetalLB's speaker tests (`TestBGPSpeakerEPSlices`,
//! `TestPeersForService`, `TestBGPAdsForService`, `TestShouldAnnounceExcludeLB`, ...).

use std::collections::{BTreeMap, BTreeSet};

use ferrolb_api::config::Options;
use ferrolb_api::load::{LoadReport, Resources};

use super::*;

fn config(yaml: &str) -> Config {
    let mut r = Resources::default();
    r.load_str("t.yaml", yaml, &mut LoadReport::default())
        .unwrap();
    Config::from_resources(&r, &Options::default()).unwrap()
}

fn doc(kind: &str, name: &str, spec: &str) -> String {
    let v = if kind == "BGPPeer" {
        "v1beta2"
    } else {
        "v1beta1"
    };
    format!(
        "---\napiVersion: metallb.io/{v}\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n{spec}\n"
    )
}

fn pool(name: &str, addrs: &str) -> String {
    doc("IPAddressPool", name, &format!("  addresses: [{addrs}]"))
}

fn peer(name: &str, addr: &str, extra: &str) -> String {
    doc(
        "BGPPeer",
        name,
        &format!("  myASN: 64512\n  peerASN: 65000\n  peerAddress: {addr}\n{extra}"),
    )
}

fn nodes(list: &[(&str, &[(&str, &str)])]) -> BTreeMap<String, NodeInfo> {
    list.iter()
        .map(|(n, labels)| {
            (
                (*n).to_owned(),
                NodeInfo {
                    name: (*n).to_owned(),
                    labels: labels
                        .iter()
                        .map(|(k, v)| ((*k).into(), (*v).into()))
                        .collect(),
                    ..Default::default()
                },
            )
        })
        .collect()
}

fn view(name: &str, ips: &[&str], eps: &[&str]) -> ServiceView {
    ServiceView {
        service: LbService {
            namespace: "default".into(),
            name: name.into(),
            is_load_balancer: true,
            ingress_ips: ips.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        },
        endpoints: eps
            .iter()
            .map(|n| Endpoint {
                node: Some((*n).into()),
                addresses: vec!["10.244.1.1".parse().unwrap()],
                ..Default::default()
            })
            .collect(),
    }
}

fn run(
    cfg: &Config,
    ns: &BTreeMap<String, NodeInfo>,
    me: &str,
    views: &[ServiceView],
) -> Announcements {
    let world = World {
        config: cfg,
        nodes: ns,
        members: None,
        ignore_exclude_lb: false,
    };
    announcements(&world, me, views)
}

fn prefixes(a: &Announcements, peer: &str) -> Vec<String> {
    a.bgp[peer].keys().map(ToString::to_string).collect()
}

fn reason(a: &Announcements, proto: &str) -> Option<&'static str> {
    a.skipped
        .iter()
        .find(|s| s.protocol == proto)
        .map(|s| s.reason)
}

#[test]
fn cluster_policy_announces_from_every_node_to_every_peer() {
    let cfg = config(
        &(pool("p", "198.51.100.0/24")
            + &peer("r1", "10.0.0.1", "")
            + &peer("r2", "10.0.0.2", "")
            + &doc("BGPAdvertisement", "ad", "  ipAddressPools: [p]")),
    );
    let ns = nodes(&[("n1", &[]), ("n2", &[])]);
    let v = [view("s", &["198.51.100.5"], &["n2"])];
    for me in ["n1", "n2"] {
        let a = run(&cfg, &ns, me, &v);
        assert_eq!(prefixes(&a, "r1"), ["198.51.100.5/32"]);
        assert_eq!(prefixes(&a, "r2"), ["198.51.100.5/32"]);
    }
}

#[test]
fn local_policy_endpoint_is_not_on_our_node() {
    let cfg = config(
        &(pool("p", "198.51.100.0/24")
            + &peer("r1", "10.0.0.1", "")
            + &doc("BGPAdvertisement", "ad", "  ipAddressPools: [p]")),
    );
    let ns = nodes(&[("n1", &[]), ("n2", &[])]);
    let mut v = view("s", &["198.51.100.5"], &["n2"]);
    v.service.external_traffic_local = true;
    let a = run(&cfg, &ns, "n1", std::slice::from_ref(&v));
    assert!(a.bgp["r1"].is_empty());
    assert_eq!(reason(&a, "bgp"), Some("noLocalEndpoints"));
    assert_eq!(
        prefixes(&run(&cfg, &ns, "n2", &[v]), "r1"),
        ["198.51.100.5/32"]
    );
}

#[test]
fn no_endpoints_means_no_route_and_serving_but_not_ready_counts() {
    let cfg = config(
        &(pool("p", "198.51.100.0/24")
            + &peer("r1", "10.0.0.1", "")
            + &doc("BGPAdvertisement", "ad", "")),
    );
    let ns = nodes(&[("n1", &[])]);
    let a = run(&cfg, &ns, "n1", &[view("s", &["198.51.100.5"], &[])]);
    assert_eq!(reason(&a, "bgp"), Some("noEndpoints"));
    let mut v = view("s", &["198.51.100.5"], &["n1"]);
    v.endpoints[0].ready = Some(false);
    v.endpoints[0].serving = Some(true);
    assert_eq!(prefixes(&run(&cfg, &ns, "n1", &[v]), "r1").len(), 1);
}

#[test]
fn aggregation_and_community_union_for_the_same_prefix() {
    let yaml = pool("p", "198.51.100.0/24")
        + &peer("r1", "10.0.0.1", "")
        + &doc("BGPAdvertisement", "host", "  communities: ['65000:1']")
        + &doc(
            "BGPAdvertisement",
            "agg",
            "  aggregationLength: 24\n  communities: ['65000:2']",
        )
        + &doc(
            "BGPAdvertisement",
            "host2",
            "  communities: ['65000:3', 'large:1:2:3']",
        );
    let cfg = config(&yaml);
    let ns = nodes(&[("n1", &[])]);
    let a = run(&cfg, &ns, "n1", &[view("s", &["198.51.100.5"], &["n1"])]);
    let routes = &a.bgp["r1"];
    let host = &routes[&"198.51.100.5/32".parse().unwrap()];
    assert_eq!(host.communities, vec![(65000 << 16) | 1, (65000 << 16) | 3]);
    assert_eq!(host.large_communities, vec![(1, 2, 3)]);
    let agg = &routes[&"198.51.100.0/24".parse().unwrap()];
    assert_eq!(agg.communities, vec![(65000 << 16) | 2]);
}

#[test]
fn advertisement_peers_limit_where_routes_go() {
    let yaml = pool("p", "198.51.100.0/24")
        + &peer("r1", "10.0.0.1", "")
        + &peer("r2", "10.0.0.2", "")
        + &doc("BGPAdvertisement", "ad", "  peers: [r2]");
    let cfg = config(&yaml);
    let ns = nodes(&[("n1", &[])]);
    let a = run(&cfg, &ns, "n1", &[view("s", &["198.51.100.5"], &["n1"])]);
    assert!(a.bgp["r1"].is_empty());
    assert_eq!(prefixes(&a, "r2").len(), 1);
}

#[test]
fn peer_node_selectors_decide_which_sessions_a_node_has() {
    let yaml = pool("p", "198.51.100.0/24")
        + &peer(
            "tor-a",
            "10.0.0.1",
            "  nodeSelectors:\n  - matchLabels: {rack: a}",
        )
        + &peer(
            "tor-b",
            "10.0.1.1",
            "  nodeSelectors:\n  - matchLabels: {rack: b}",
        )
        + &doc("BGPAdvertisement", "ad", "");
    let cfg = config(&yaml);
    let ns = nodes(&[("n1", &[("rack", "a")])]);
    let a = run(&cfg, &ns, "n1", &[view("s", &["198.51.100.5"], &["n1"])]);
    assert_eq!(a.bgp.keys().collect::<Vec<_>>(), ["tor-a"]);
}

#[test]
fn excluded_or_network_unavailable_node_withdraws() {
    let cfg = config(
        &(pool("p", "198.51.100.0/24")
            + &peer("r1", "10.0.0.1", "")
            + &doc("BGPAdvertisement", "ad", "")),
    );
    let mut ns = nodes(&[("n1", &[(ann::EXCLUDE_FROM_EXTERNAL_LB_LABEL, "")])]);
    let v = [view("s", &["198.51.100.5"], &["n1"])];
    assert_eq!(
        reason(&run(&cfg, &ns, "n1", &v), "bgp"),
        Some("nodeLabeledExcludeBalancers")
    );
    let world = World {
        config: &cfg,
        nodes: &ns,
        members: None,
        ignore_exclude_lb: true,
    };
    assert_eq!(
        announcements(&world, "n1", &v).bgp["r1"].len(),
        1,
        "--ignore-exclude-lb"
    );
    ns.get_mut("n1").unwrap().labels.clear();
    ns.get_mut("n1").unwrap().network_unavailable = true;
    assert_eq!(
        reason(&run(&cfg, &ns, "n1", &v), "bgp"),
        Some("nodeNetworkUnavailable")
    );
}

#[test]
fn advertisement_node_selectors_and_service_selectors() {
    let yaml = pool("p", "198.51.100.0/24")
        + &peer("r1", "10.0.0.1", "")
        + &doc(
            "BGPAdvertisement",
            "ad",
            "  nodeSelectors:\n  - matchLabels: {edge: 'true'}\n  serviceSelectors:\n  - matchLabels: {expose: bgp}",
        );
    let cfg = config(&yaml);
    let ns = nodes(&[("edge1", &[("edge", "true")]), ("core1", &[])]);
    let mut v = view("s", &["198.51.100.5"], &["edge1"]);
    assert_eq!(
        reason(&run(&cfg, &ns, "core1", std::slice::from_ref(&v)), "bgp"),
        Some("notOwner")
    );
    assert_eq!(
        reason(&run(&cfg, &ns, "edge1", std::slice::from_ref(&v)), "bgp"),
        Some("noMatchingAdvertisement")
    );
    v.service.labels.insert("expose".into(), "bgp".into());
    assert_eq!(run(&cfg, &ns, "edge1", &[v]).bgp["r1"].len(), 1);
}

#[test]
fn conflicting_local_pref_for_a_service_is_not_announced() {
    // Different LOCAL_PREF is only allowed by validation when node sets are disjoint;
    // with no Node objects at validation time both ads pass, and the speaker (which
    // knows the nodes) refuses the combination.
    let yaml = pool("p", "198.51.100.0/24")
        + &peer("r1", "10.0.0.1", "")
        + &doc("BGPAdvertisement", "a", "  localPref: 100")
        + &doc("BGPAdvertisement", "b", "  localPref: 200");
    let cfg = config(&yaml);
    let ns = nodes(&[("n1", &[])]);
    let a = run(&cfg, &ns, "n1", &[view("s", &["198.51.100.5"], &["n1"])]);
    assert_eq!(reason(&a, "bgp"), Some("conflictingAdvertisements"));
}

#[test]
fn ipv6_prefixes_use_aggregation_length_v6() {
    let yaml = pool("p", "'2001:db8:100::/120'")
        + &peer("r1", "10.0.0.1", "")
        + &doc("BGPAdvertisement", "ad", "  aggregationLengthV6: 124");
    let cfg = config(&yaml);
    let ns = nodes(&[("n1", &[])]);
    let a = run(
        &cfg,
        &ns,
        "n1",
        &[view("s", &["2001:db8:100::17"], &["n1"])],
    );
    assert_eq!(prefixes(&a, "r1"), ["2001:db8:100::10/124"]);
}

#[test]
fn layer2_announces_on_the_elected_node_with_the_ads_interfaces() {
    let yaml =
        pool("p", "192.168.10.0/24") + &doc("L2Advertisement", "l2", "  interfaces: [eth1, bond0]");
    let cfg = config(&yaml);
    let ns = nodes(&[("n1", &[]), ("n2", &[])]);
    let v = [view("s", &["192.168.10.5"], &["n1"])];
    let a1 = run(&cfg, &ns, "n1", &v);
    let a2 = run(&cfg, &ns, "n2", &v);
    let (winner, loser) = if a1.layer2.is_empty() {
        (a2, a1)
    } else {
        (a1, a2)
    };
    let ann = &winner.layer2[&"192.168.10.5".parse().unwrap()];
    assert_eq!(
        ann.interfaces,
        BTreeSet::from(["bond0".to_owned(), "eth1".to_owned()])
    );
    assert_eq!(reason(&loser, "layer2"), Some("notOwner"));
    assert!(winner.bgp.is_empty(), "no BGP peers, no sessions");
}

#[test]
fn services_sharing_an_address_are_announced_together() {
    let yaml = pool("p", "192.168.10.0/24") + &doc("L2Advertisement", "l2", "");
    let cfg = config(&yaml);
    let ns = nodes(&[("n1", &[])]);
    let a = run(
        &cfg,
        &ns,
        "n1",
        &[
            view("a", &["192.168.10.5"], &["n1"]),
            view("b", &["192.168.10.5"], &["n1"]),
        ],
    );
    let ann = &a.layer2[&"192.168.10.5".parse().unwrap()];
    assert_eq!(ann.services.len(), 2);
    assert!(ann.interfaces.is_empty(), "all interfaces");
}

#[test]
fn one_pool_can_be_announced_by_both_protocols() {
    let yaml = pool("p", "192.168.10.0/24")
        + &doc("L2Advertisement", "l2", "")
        + &peer("r1", "10.0.0.1", "")
        + &doc("BGPAdvertisement", "ad", "");
    let cfg = config(&yaml);
    let ns = nodes(&[("n1", &[])]);
    let a = run(&cfg, &ns, "n1", &[view("s", &["192.168.10.5"], &["n1"])]);
    assert_eq!(a.layer2.len(), 1);
    assert_eq!(a.bgp["r1"].len(), 1);
}

#[test]
fn addresses_outside_every_pool_or_unassigned_services_are_ignored() {
    let yaml = pool("p", "192.168.10.0/24") + &doc("L2Advertisement", "l2", "");
    let cfg = config(&yaml);
    let ns = nodes(&[("n1", &[])]);
    let a = run(
        &cfg,
        &ns,
        "n1",
        &[
            view("x", &["10.9.9.9"], &["n1"]),
            view("y", &[], &["n1"]),
            view("z", &["bogus"], &["n1"]),
        ],
    );
    assert!(a.layer2.is_empty());
    assert!(a.skipped.is_empty());
}
