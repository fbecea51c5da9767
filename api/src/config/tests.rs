//! One test per validation rule (MetalLB's `internal/config` cases, by name where
//! MetalLB has one).

use super::*;
use crate::GoDuration;
use crate::load::LoadReport;

fn load(yaml: &str) -> Resources {
    let mut r = Resources::default();
    r.load_str("test.yaml", yaml, &mut LoadReport::default())
        .unwrap_or_else(|e| panic!("load failed: {e}"));
    r
}

fn validate(yaml: &str) -> Result<Config, ConfigErrors> {
    Config::from_resources(&load(yaml), &Options::default())
}

fn accepts(yaml: &str) -> Config {
    validate(yaml).unwrap_or_else(|e| panic!("expected accept, got:\n{e}"))
}

/// Asserts a rejection with an error on `field` of `object` (`Kind/name`), whose
/// reason contains `reason`; returns that error.
#[track_caller]
fn rejects(yaml: &str, object: &str, field: &str, reason: &str) -> ConfigError {
    let errs = validate(yaml).expect_err("expected reject");
    errs.iter()
        .find(|e| {
            format!("{}/{}", e.kind, e.name) == object
                && e.field == field
                && e.reason.contains(reason)
        })
        .cloned()
        .unwrap_or_else(|| panic!("no error {object}: {field}: ...{reason}...; got:\n{errs}"))
}

fn pool(name: &str, addresses: &[&str]) -> String {
    let list: Vec<String> = addresses.iter().map(|a| format!("  - \"{a}\"")).collect();
    format!(
        "---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: {name}\n  namespace: metallb-system\nspec:\n  addresses:\n{}\n",
        list.join("\n")
    )
}

fn peer(name: &str, spec: &str) -> String {
    format!(
        "---\napiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata:\n  name: {name}\nspec:\n{spec}\n"
    )
}

fn bgp_ad(name: &str, spec: &str) -> String {
    format!(
        "---\napiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata:\n  name: {name}\nspec:\n{spec}\n"
    )
}

const BASIC_PEER: &str = "  myASN: 64500\n  peerASN: 64501\n  peerAddress: 192.0.2.1";

// ----- pools -----

#[test]
fn pool_without_addresses_is_refused() {
    let y = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: empty\nspec:\n  addresses: []\n";
    rejects(y, "IPAddressPool/empty", "spec.addresses", "no addresses");
}

#[test]
fn pool_without_name_is_refused() {
    let y = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {}\nspec:\n  addresses: [192.0.2.0/24]\n";
    rejects(y, "IPAddressPool/<unnamed>", "metadata.name", "required");
}

#[test]
fn invalid_pool_cidr_is_refused() {
    rejects(
        &pool("p", &["192.0.2.0/33"]),
        "IPAddressPool/p",
        "spec.addresses[0]",
        "invalid CIDR",
    );
    rejects(
        &pool("p", &["hello"]),
        "IPAddressPool/p",
        "spec.addresses[0]",
        "invalid CIDR",
    );
}

#[test]
fn invalid_pool_cidr_first_address_of_the_range_is_after_the_second() {
    rejects(
        &pool("p", &["192.0.2.20-192.0.2.10"]),
        "IPAddressPool/p",
        "spec.addresses[0]",
        "after the end",
    );
}

#[test]
fn invalid_range_addresses_are_refused() {
    rejects(
        &pool("p", &["192.0.2.x-192.0.2.10"]),
        "IPAddressPool/p",
        "spec.addresses[0]",
        "invalid start IP",
    );
    rejects(
        &pool("p", &["192.0.2.1-fd00::1"]),
        "IPAddressPool/p",
        "spec.addresses[0]",
        "different address families",
    );
}

#[test]
fn overlapping_cidrs_across_pools_are_refused() {
    let y = pool("a", &["10.0.0.0/24"]) + &pool("b", &["10.0.0.128/25"]);
    let e = rejects(&y, "IPAddressPool/b", "spec.addresses[0]", "overlaps");
    assert!(e.reason.contains("IPAddressPool \"a\""), "{e}");
}

#[test]
fn overlapping_range_and_cidr_are_refused() {
    let y = pool("a", &["10.0.3.100-10.0.3.150"]) + &pool("b", &["10.0.3.120-10.0.3.130"]);
    rejects(&y, "IPAddressPool/b", "spec.addresses[0]", "overlaps");
}

#[test]
fn duplicate_cidrs_in_one_pool_are_refused() {
    rejects(
        &pool("a", &["10.0.0.0/24", "10.0.0.0/24"]),
        "IPAddressPool/a",
        "spec.addresses[1]",
        "same pool",
    );
}

#[test]
fn adjacent_ranges_and_ipv4_ipv6_do_not_overlap() {
    let y = pool("a", &["10.0.0.0/25", "::a00:0/120"]) + &pool("b", &["10.0.0.128/25"]);
    let c = accepts(&y);
    assert_eq!(c.pools["a"].cidrs.len(), 2);
}

#[test]
fn duplicate_pool_name_is_refused() {
    let y = pool("a", &["10.0.0.0/24"]) + &pool("a", &["10.1.0.0/24"]);
    rejects(&y, "IPAddressPool/a", "metadata.name", "more than once");
}

#[test]
fn pool_defaults_auto_assign_true_and_no_buggy_avoidance() {
    let c = accepts(&pool("a", &["10.0.0.0/24"]));
    assert!(c.pools["a"].auto_assign);
    assert!(!c.pools["a"].avoid_buggy_ips);
    assert!(c.pools["a"].allocation.is_none());
}

fn pool_with_allocation(alloc: &str) -> String {
    pool("p", &["10.0.0.0/24"]) + "  serviceAllocation:\n" + alloc + "\n"
}

#[test]
fn duplicate_namespace_in_service_allocation_is_refused() {
    let y = pool_with_allocation("    namespaces: [a, a]");
    rejects(
        &y,
        "IPAddressPool/p",
        "spec.serviceAllocation.namespaces[1]",
        "duplicate",
    );
}

#[test]
fn duplicate_namespace_selectors_are_refused() {
    let y = pool_with_allocation(
        "    namespaceSelectors:\n    - matchLabels: {team: a}\n    - matchLabels: {team: a}",
    );
    rejects(
        &y,
        "IPAddressPool/p",
        "spec.serviceAllocation.namespaceSelectors[1]",
        "duplicate selector",
    );
}

#[test]
fn duplicate_service_selectors_are_refused() {
    let y = pool_with_allocation(
        "    serviceSelectors:\n    - matchExpressions: [{key: a, operator: In, values: [x, y]}]\n    - matchExpressions: [{key: a, operator: In, values: [y, x]}]",
    );
    rejects(
        &y,
        "IPAddressPool/p",
        "spec.serviceAllocation.serviceSelectors[1]",
        "duplicate selector",
    );
}

#[test]
fn invalid_service_selector_is_refused() {
    let y = pool_with_allocation(
        "    serviceSelectors:\n    - matchExpressions: [{key: a, operator: Has}]",
    );
    rejects(
        &y,
        "IPAddressPool/p",
        "spec.serviceAllocation.serviceSelectors[0].matchExpressions[0].operator",
        "not a valid operator",
    );
}

#[test]
fn ip_address_pool_with_only_priority_matches_every_service() {
    let c = accepts(&pool_with_allocation("    priority: 5"));
    let p = &c.pools["p"];
    assert!(p.is_pinned());
    assert!(p.allows("any", &BTreeMap::new()));
    assert_eq!(p.allocation.as_ref().unwrap().priority, 5);
}

#[test]
fn namespace_selectors_resolve_against_namespaces() {
    let y = pool_with_allocation(
        "    namespaces: [listed]\n    namespaceSelectors:\n    - matchLabels: {team: web}",
    ) + "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: frontend\n  labels: {team: web}\n"
        + "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: backend\n  labels: {team: db}\n";
    let c = accepts(&y);
    let ns: Vec<&str> = c.pools["p"]
        .allocation
        .as_ref()
        .unwrap()
        .namespaces
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(ns, vec!["frontend", "listed"]);
    assert!(c.pools["p"].allows("frontend", &BTreeMap::new()));
    assert!(!c.pools["p"].allows("backend", &BTreeMap::new()));
}

#[test]
fn config_objects_outside_the_metallb_namespace_are_refused() {
    let y = pool("a", &["10.0.0.0/24"]).replace("namespace: metallb-system", "namespace: default");
    rejects(
        &y,
        "IPAddressPool/a",
        "metadata.namespace",
        "only read from",
    );
}

// ----- peers -----

#[test]
fn peer_missing_local_asn_is_refused() {
    rejects(
        &peer("p", "  myASN: 0\n  peerASN: 1\n  peerAddress: 192.0.2.1"),
        "BGPPeer/p",
        "spec.myASN",
        "missing local ASN",
    );
}

#[test]
fn peer_missing_peer_asn_and_dynamic_asn_is_refused() {
    rejects(
        &peer("p", "  myASN: 1\n  peerAddress: 192.0.2.1"),
        "BGPPeer/p",
        "spec.peerASN",
        "peerASN or dynamicASN",
    );
}

#[test]
fn peer_with_both_peer_asn_and_dynamic_asn_is_refused() {
    let y = peer(
        "p",
        "  myASN: 1\n  peerASN: 2\n  dynamicASN: external\n  peerAddress: 192.0.2.1",
    );
    rejects(&y, "BGPPeer/p", "spec.dynamicASN", "both");
}

#[test]
fn peer_with_dynamic_asn() {
    let c = accepts(&peer(
        "p",
        "  myASN: 1\n  dynamicASN: internal\n  peerAddress: 192.0.2.1",
    ));
    assert_eq!(c.peers["p"].peer_asn, PeerAsn::Internal);
}

#[test]
fn invalid_dynamic_asn_is_refused_at_load() {
    let y = peer(
        "p",
        "  myASN: 1\n  dynamicASN: sideways\n  peerAddress: 192.0.2.1",
    );
    let mut r = Resources::default();
    let e = r
        .load_str("t.yaml", &y, &mut LoadReport::default())
        .unwrap_err();
    assert!(e.to_string().contains("spec.dynamicASN"), "{e}");
}

#[test]
fn ebgp_multihop_for_an_ibgp_peer_is_refused() {
    let y = peer(
        "p",
        "  myASN: 1\n  peerASN: 1\n  ebgpMultiHop: true\n  peerAddress: 192.0.2.1",
    );
    rejects(&y, "BGPPeer/p", "spec.ebgpMultiHop", "iBGP");
}

#[test]
fn peer_without_address_or_interface_is_refused() {
    rejects(
        &peer("p", "  myASN: 1\n  peerASN: 2"),
        "BGPPeer/p",
        "spec.peerAddress",
        "neither",
    );
}

#[test]
fn unnumbered_peer_with_address_with_interface_nok() {
    let y = peer(
        "p",
        "  myASN: 1\n  peerASN: 2\n  peerAddress: 192.0.2.1\n  interface: eth0",
    );
    rejects(&y, "BGPPeer/p", "spec.interface", "both");
}

#[test]
fn unnumbered_peer_is_accepted() {
    let c = accepts(&peer("p", "  myASN: 1\n  peerASN: 2\n  interface: eth0"));
    assert_eq!(c.peers["p"].address, PeerAddress::Interface("eth0".into()));
}

#[test]
fn unparsable_addresses_are_refused() {
    rejects(
        &peer("p", "  myASN: 1\n  peerASN: 2\n  peerAddress: 192.0.2.256"),
        "BGPPeer/p",
        "spec.peerAddress",
        "invalid",
    );
    rejects(
        &peer("p", &format!("{BASIC_PEER}\n  routerID: 1.2.3")),
        "BGPPeer/p",
        "spec.routerID",
        "invalid router ID",
    );
    rejects(
        &peer("p", &format!("{BASIC_PEER}\n  routerID: fd00::1")),
        "BGPPeer/p",
        "spec.routerID",
        "IPv4",
    );
    rejects(
        &peer("p", &format!("{BASIC_PEER}\n  sourceAddress: nope")),
        "BGPPeer/p",
        "spec.sourceAddress",
        "invalid source IP",
    );
}

#[test]
fn peer_port_defaults_to_179_and_is_range_checked() {
    assert_eq!(accepts(&peer("p", BASIC_PEER)).peers["p"].port, 179);
    rejects(
        &peer("p", &format!("{BASIC_PEER}\n  peerPort: 20000")),
        "BGPPeer/p",
        "spec.peerPort",
        "out of range",
    );
}

#[test]
fn invalid_keepalivetime_larger_than_holdtime() {
    let y = peer(
        "p",
        &format!("{BASIC_PEER}\n  holdTime: 30s\n  keepaliveTime: 40s"),
    );
    rejects(&y, "BGPPeer/p", "spec.keepaliveTime", "lower than holdTime");
}

#[test]
fn invalid_hold_time_too_short() {
    rejects(
        &peer("p", &format!("{BASIC_PEER}\n  holdTime: 2s")),
        "BGPPeer/p",
        "spec.holdTime",
        "must be 0 or >=3s",
    );
    rejects(
        &peer("p", &format!("{BASIC_PEER}\n  holdTime: 2999ms")),
        "BGPPeer/p",
        "spec.holdTime",
        "must be 0 or >=3s",
    );
}

#[test]
fn hold_time_beyond_bgp_field_is_refused() {
    rejects(
        &peer("p", &format!("{BASIC_PEER}\n  holdTime: 20h")),
        "BGPPeer/p",
        "spec.holdTime",
        "65535",
    );
}

#[test]
fn peer_with_holdtime_only() {
    let c = accepts(&peer("p", &format!("{BASIC_PEER}\n  holdTime: 90s")));
    let t = c.peers["p"].timers.unwrap();
    assert_eq!(
        (t.hold, t.keepalive),
        (GoDuration::from_secs(90), GoDuration::from_secs(30))
    );
}

#[test]
fn peer_with_keepalive_only() {
    let c = accepts(&peer("p", &format!("{BASIC_PEER}\n  keepaliveTime: 10s")));
    let t = c.peers["p"].timers.unwrap();
    assert_eq!(
        (t.hold, t.keepalive),
        (GoDuration::from_secs(30), GoDuration::from_secs(10))
    );
}

#[test]
fn peer_with_zero_hold_keepalive_timers() {
    let c = accepts(&peer(
        "p",
        &format!("{BASIC_PEER}\n  holdTime: 0s\n  keepaliveTime: 0s"),
    ));
    assert_eq!(c.peers["p"].timers.unwrap().hold, GoDuration::default());
    assert_eq!(accepts(&peer("p", BASIC_PEER)).peers["p"].timers, None);
}

#[test]
fn connect_time_must_be_whole_seconds_in_range() {
    rejects(
        &peer("p", &format!("{BASIC_PEER}\n  connectTime: 500ms")),
        "BGPPeer/p",
        "spec.connectTime",
        "between 1 seconds",
    );
    rejects(
        &peer("p", &format!("{BASIC_PEER}\n  connectTime: 1500ms")),
        "BGPPeer/p",
        "spec.connectTime",
        "whole number",
    );
    accepts(&peer("p", &format!("{BASIC_PEER}\n  connectTime: 5s")));
}

#[test]
fn duplicate_peer_node_selectors_are_refused() {
    let y = peer(
        "p",
        &format!(
            "{BASIC_PEER}\n  nodeSelectors:\n  - matchLabels: {{a: b}}\n  - matchLabels: {{a: b}}"
        ),
    );
    rejects(
        &y,
        "BGPPeer/p",
        "spec.nodeSelectors[1]",
        "duplicate selector",
    );
}

#[test]
fn peer_node_selectors_default_to_every_node() {
    let c = accepts(&peer("p", BASIC_PEER));
    assert!(c.peers["p"].selects_node(&BTreeMap::new()));
}

fn secret(name: &str, ty: &str, data: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: metallb-system\ntype: {ty}\nstringData:\n{data}\n"
    )
}

#[test]
fn peer_with_both_password_and_secret_is_refused() {
    let y = peer(
        "p",
        &format!("{BASIC_PEER}\n  password: a\n  passwordSecret:\n    name: s"),
    );
    rejects(
        &y,
        "BGPPeer/p",
        "spec.passwordSecret",
        "both password and passwordSecret",
    );
}

#[test]
fn password_secret_of_wrong_type_is_refused() {
    let y = peer(
        "p",
        &format!("{BASIC_PEER}\n  passwordSecret:\n    name: s"),
    ) + &secret("s", "Opaque", "  password: x");
    rejects(
        &y,
        "BGPPeer/p",
        "spec.passwordSecret.name",
        "kubernetes.io/basic-auth",
    );
}

#[test]
fn password_secret_without_password_key_is_refused() {
    let y = peer(
        "p",
        &format!("{BASIC_PEER}\n  passwordSecret:\n    name: s"),
    ) + &secret("s", "kubernetes.io/basic-auth", "  username: x");
    rejects(
        &y,
        "BGPPeer/p",
        "spec.passwordSecret.name",
        "no \"password\" key",
    );
}

#[test]
fn missing_password_secret_is_a_missing_reference() {
    let y = peer(
        "p",
        &format!("{BASIC_PEER}\n  passwordSecret:\n    name: s"),
    );
    let e = rejects(
        &y,
        "BGPPeer/p",
        "spec.passwordSecret.name",
        "does not exist",
    );
    assert!(e.transient);
}

#[test]
fn password_is_read_from_the_secret() {
    let y = peer(
        "p",
        &format!("{BASIC_PEER}\n  passwordSecret:\n    name: s\n    namespace: metallb-system"),
    ) + &secret("s", "kubernetes.io/basic-auth", "  password: hunter2");
    assert_eq!(accepts(&y).peers["p"].password.as_deref(), Some("hunter2"));
}

#[test]
fn password_secret_in_another_namespace_is_refused() {
    let y = peer(
        "p",
        &format!("{BASIC_PEER}\n  passwordSecret:\n    name: s\n    namespace: default"),
    );
    rejects(
        &y,
        "BGPPeer/p",
        "spec.passwordSecret.namespace",
        "must be in",
    );
}

#[test]
fn missing_bfd_profile_is_a_missing_reference() {
    let e = rejects(
        &peer("p", &format!("{BASIC_PEER}\n  bfdProfile: fast")),
        "BGPPeer/p",
        "spec.bfdProfile",
        "does not exist",
    );
    assert!(e.transient);
}

// ----- BFD profiles -----

fn bfd(name: &str, spec: &str) -> String {
    format!(
        "---\napiVersion: metallb.io/v1beta1\nkind: BFDProfile\nmetadata:\n  name: {name}\nspec:\n{spec}\n"
    )
}

#[test]
fn bfd_values_out_of_range_are_refused() {
    for (field, value) in [
        ("receiveInterval", 5),
        ("transmitInterval", 60001),
        ("detectMultiplier", 1),
        ("echoInterval", 9),
        ("minimumTtl", 255),
    ] {
        rejects(
            &bfd("b", &format!("  {field}: {value}")),
            "BFDProfile/b",
            &format!("spec.{field}"),
            "range",
        );
    }
    let c = accepts(&bfd(
        "b",
        "  receiveInterval: 10\n  detectMultiplier: 255\n  echoMode: true",
    ));
    assert!(c.bfd_profiles["b"].echo_mode);
}

#[test]
fn duplicate_bfd_profile_names_are_refused() {
    rejects(
        &(bfd("b", "  passiveMode: true") + &bfd("b", "  passiveMode: false")),
        "BFDProfile/b",
        "metadata.name",
        "more than once",
    );
}

#[test]
fn session_with_ipv6_and_bfd_echo_mode() {
    let y = pool("v6", &["fd00::/120"])
        + &bfd("echo", "  echoMode: true")
        + &peer("p", &format!("{BASIC_PEER}\n  bfdProfile: echo"))
        + &bgp_ad("ad", "  ipAddressPools: [v6]");
    rejects(&y, "BGPPeer/p", "spec.bfdProfile", "echo mode");
    // Same peer, IPv4 pool: fine.
    let y = pool("v4", &["10.0.0.0/24"])
        + &bfd("echo", "  echoMode: true")
        + &peer("p", &format!("{BASIC_PEER}\n  bfdProfile: echo"))
        + &bgp_ad("ad", "  ipAddressPools: [v4]");
    accepts(&y);
}

// ----- advertisements -----

#[test]
fn duplicate_entries_in_an_advertisement_are_refused() {
    let base = pool("a", &["10.0.0.0/24"]);
    rejects(
        &(base.clone() + &bgp_ad("ad", "  ipAddressPools: [a, a]")),
        "BGPAdvertisement/ad",
        "spec.ipAddressPools[1]",
        "duplicate",
    );
    rejects(
        &(base.clone() + &bgp_ad("ad", "  peers: [x, x]")),
        "BGPAdvertisement/ad",
        "spec.peers[1]",
        "duplicate",
    );
    rejects(
        &(base.clone() + &bgp_ad("ad", "  communities: ['1:1', '1:1']")),
        "BGPAdvertisement/ad",
        "spec.communities[1]",
        "duplicate",
    );
    rejects(
        &(base.clone()
            + &bgp_ad(
                "ad",
                "  nodeSelectors:\n  - matchLabels: {a: b}\n  - matchLabels: {a: b}",
            )),
        "BGPAdvertisement/ad",
        "spec.nodeSelectors[1]",
        "duplicate selector",
    );
    rejects(
        &(base.clone()
            + &bgp_ad(
                "ad",
                "  ipAddressPoolSelectors:\n  - matchLabels: {a: b}\n  - matchLabels: {a: b}",
            )),
        "BGPAdvertisement/ad",
        "spec.ipAddressPoolSelectors[1]",
        "duplicate selector",
    );
    let l2 = "---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: l2\nspec:\n  serviceSelectors:\n  - matchLabels: {a: b}\n  - matchLabels: {a: b}\n";
    rejects(
        &(base + l2),
        "L2Advertisement/l2",
        "spec.serviceSelectors[1]",
        "duplicate selector",
    );
}

#[test]
fn duplicate_values_inside_a_selector_are_refused() {
    let y = pool("a", &["10.0.0.0/24"])
        + &bgp_ad(
            "ad",
            "  nodeSelectors:\n  - matchExpressions: [{key: k, operator: In, values: [x, x]}]",
        );
    rejects(
        &y,
        "BGPAdvertisement/ad",
        "spec.nodeSelectors[0].matchExpressions[0].values",
        "duplicate value",
    );
}

#[test]
fn invalid_aggregation_lengths_are_refused() {
    let base = pool("a", &["10.0.0.0/24"]);
    rejects(
        &(base.clone() + &bgp_ad("ad", "  aggregationLength: 33")),
        "BGPAdvertisement/ad",
        "spec.aggregationLength",
        "must be 1 to 32",
    );
    rejects(
        &(base + &bgp_ad("ad", "  aggregationLengthV6: 129")),
        "BGPAdvertisement/ad",
        "spec.aggregationLengthV6",
        "must be 0 to 128",
    );
}

#[test]
fn bad_aggregation_length_incompatible_with_cidr() {
    let y = pool("a", &["10.0.0.0/26"]) + &bgp_ad("ad", "  aggregationLength: 24");
    rejects(
        &y,
        "BGPAdvertisement/ad",
        "spec.aggregationLength",
        "more specific than the aggregation length",
    );
    accepts(&(pool("a", &["10.0.0.0/26"]) + &bgp_ad("ad", "  aggregationLength: 26")));
}

#[test]
fn aggregation_length_by_range_too_wide() {
    let y = pool("a", &["3.3.3.2-3.3.3.254"]) + &bgp_ad("ad", "  aggregationLength: 24");
    rejects(
        &y,
        "BGPAdvertisement/ad",
        "spec.aggregationLength",
        "prefix 26",
    );
}

#[test]
fn service_selectors_require_default_aggregation() {
    let y = pool("a", &["10.0.0.0/24"])
        + &bgp_ad(
            "ad",
            "  aggregationLength: 24\n  serviceSelectors:\n  - matchLabels: {a: b}",
        );
    rejects(
        &y,
        "BGPAdvertisement/ad",
        "spec.aggregationLength",
        "mutually exclusive",
    );
}

fn nodes() -> String {
    "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  labels: {rack: a}\n---\napiVersion: v1\nkind: Node\nmetadata:\n  name: n2\n  labels: {rack: b}\n".to_owned()
}

#[test]
fn different_local_pref_same_peers_and_nodes() {
    let y = pool("a", &["10.0.0.0/24"])
        + &nodes()
        + &bgp_ad("x", "  localPref: 100")
        + &bgp_ad("y", "  localPref: 200");
    rejects(
        &y,
        "BGPAdvertisement/y",
        "spec.localPref",
        "conflicts with local preference 100",
    );
}

#[test]
fn different_local_pref_different_peers_same_nodes() {
    let y = pool("a", &["10.0.0.0/24"])
        + &nodes()
        + &bgp_ad("x", "  localPref: 100\n  peers: [p1]")
        + &bgp_ad("y", "  localPref: 200\n  peers: [p2]");
    accepts(&y);
}

#[test]
fn different_local_pref_same_peers_different_nodes() {
    let y = pool("a", &["10.0.0.0/24"])
        + &nodes()
        + &bgp_ad(
            "x",
            "  localPref: 100\n  nodeSelectors:\n  - matchLabels: {rack: a}",
        )
        + &bgp_ad(
            "y",
            "  localPref: 200\n  nodeSelectors:\n  - matchLabels: {rack: b}",
        );
    accepts(&y);
}

#[test]
fn different_local_pref_different_ipv4_aggregation_length() {
    let y = pool("a", &["10.0.0.0/24"])
        + &nodes()
        + &bgp_ad("x", "  localPref: 100\n  aggregationLength: 32")
        + &bgp_ad("y", "  localPref: 200\n  aggregationLength: 24");
    accepts(&y);
}

#[test]
fn bad_community_literal_is_refused_and_unknown_alias_is_a_missing_reference() {
    let base = pool("a", &["10.0.0.0/24"]);
    let e = rejects(
        &(base.clone() + &bgp_ad("ad", "  communities: ['65536:1']")),
        "BGPAdvertisement/ad",
        "spec.communities[0]",
        "0 to 65535",
    );
    assert!(!e.transient);
    let e = rejects(
        &(base + &bgp_ad("ad", "  communities: [no-such-alias]")),
        "BGPAdvertisement/ad",
        "spec.communities[0]",
        "Community alias",
    );
    assert!(e.transient);
}

fn community(name: &str, aliases: &[(&str, &str)]) -> String {
    let list: Vec<String> = aliases
        .iter()
        .map(|(n, v)| format!("  - name: {n}\n    value: \"{v}\""))
        .collect();
    format!(
        "---\napiVersion: metallb.io/v1beta1\nkind: Community\nmetadata:\n  name: {name}\nspec:\n  communities:\n{}\n",
        list.join("\n")
    )
}

#[test]
fn community_aliases_resolve_including_large() {
    let y = pool("a", &["10.0.0.0/24"])
        + &community(
            "c",
            &[("no-advertise", "65535:65282"), ("big", "large:64500:1:2")],
        )
        + &bgp_ad("ad", "  communities: [no-advertise, big, '64500:7']");
    let c = accepts(&y);
    let got: Vec<String> = c.bgp_advertisements[0]
        .communities
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(got, vec!["64500:7", "65535:65282", "large:64500:1:2"]);
}

#[test]
fn duplicate_community_alias_is_refused() {
    let y = community("c1", &[("x", "1:1")]) + &community("c2", &[("x", "1:2")]);
    rejects(&y, "Community/c2", "spec.communities[0].name", "duplicate");
    rejects(
        &community("c", &[("x", "1:99999")]),
        "Community/c",
        "spec.communities[0].value",
        "invalid community value",
    );
}

#[test]
fn pool_selected_by_name_and_selector_attaches_once() {
    let y = pool("a", &["10.0.0.0/24"]).replace(
        "  namespace: metallb-system\n",
        "  namespace: metallb-system\n  labels: {tier: x}\n",
    ) + "---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: l2\nspec:\n  ipAddressPools: [a]\n  ipAddressPoolSelectors:\n  - matchLabels: {tier: x}\n";
    let c = accepts(&y);
    assert_eq!(c.pools["a"].l2_advertisements, vec![0]);
}

#[test]
fn advertisement_without_pools_covers_all_pools() {
    let y = pool("a", &["10.0.0.0/24"])
        + &pool("b", &["10.1.0.0/24"])
        + &bgp_ad("ad", "  localPref: 50");
    let c = accepts(&y);
    assert_eq!(c.bgp_advertisements[0].pools.len(), 2);
    assert_eq!(c.pools["b"].bgp_advertisements, vec![0]);
}

#[test]
fn preferred_node_weight_is_range_checked() {
    let y = "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: l2\nspec:\n  preferredNodeSelectors:\n  - weight: 101\n    preference: {matchLabels: {a: b}}\n";
    rejects(
        y,
        "L2Advertisement/l2",
        "spec.preferredNodeSelectors[0].weight",
        "1 to 100",
    );
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let y = pool("a", &["nope"])
        + &peer("p", "  myASN: 0\n  peerASN: 1")
        + &bfd("b", "  detectMultiplier: 1");
    let errs = validate(&y).unwrap_err();
    assert!(errs.0.len() >= 4, "{errs}");
}
