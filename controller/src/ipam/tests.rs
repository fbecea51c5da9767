use super::*;
use ferrolb_api::config::Options;
use ferrolb_api::load::{LoadReport, Resources};
use ferrolb_api::service::Protocol;

fn cfg(yaml: &str) -> Config {
    let mut r = Resources::default();
    r.load_str("t.yaml", yaml, &mut LoadReport::default())
        .unwrap();
    Config::from_resources(&r, &Options::default()).unwrap()
}

const TWO_POOLS: &str = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: a\nspec:\n  addresses: [10.0.0.0/24]\n  avoidBuggyIPs: true\n---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: b\nspec:\n  addresses: [10.0.1.0/24, 'fd00::/120']\n";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn pool_for_needs_every_address_in_one_pool() {
    let mut a = Allocator::new();
    a.set_pools(&cfg(TWO_POOLS));
    assert_eq!(a.pool_for(&[ip("10.0.0.5")]).as_deref(), Some("a"));
    assert_eq!(
        a.pool_for(&[ip("10.0.1.5"), ip("fd00::5")]).as_deref(),
        Some("b")
    );
    assert_eq!(
        a.pool_for(&[ip("10.0.0.5"), ip("fd00::5")]),
        None,
        "two pools"
    );
    assert_eq!(
        a.pool_for(&[ip("10.0.0.255")]),
        None,
        "buggy address with avoidBuggyIPs"
    );
    assert_eq!(a.pool_for(&[ip("10.0.1.255")]).as_deref(), Some("b"));
    assert_eq!(a.pool_for(&[ip("10.0.2.1")]), None);
    assert_eq!(
        a.pool_for(&[ip("::a00:5")]),
        None,
        "IPv4-mapped integers are another family"
    );
}

#[test]
fn service_family_of_addresses() {
    assert_eq!(ServiceFamily::of(&[ip("10.0.0.1")]), Ok(ServiceFamily::V4));
    assert_eq!(
        ServiceFamily::of(&[ip("10.0.0.1"), ip("fd00::1")]),
        Ok(ServiceFamily::Dual)
    );
    assert!(ServiceFamily::of(&[ip("10.0.0.1"), ip("10.0.0.2")]).is_err());
    assert!(ServiceFamily::of(&[]).is_err());
}

#[test]
fn unassign_returns_the_address_once_the_last_sharer_leaves() {
    let mut a = Allocator::new();
    a.set_pools(&cfg(TWO_POOLS));
    let labels = BTreeMap::new();
    let ports = [PortKey {
        protocol: Protocol::Tcp,
        port: 80,
    }];
    let ports2 = [PortKey {
        protocol: Protocol::Tcp,
        port: 81,
    }];
    let req = |key, ports| Request {
        key,
        namespace: "default",
        labels: &labels,
        ports,
        share: ShareKey {
            sharing: "k".into(),
            backend: String::new(),
        },
        policy: IpFamilyPolicy::SingleStack,
        primary: Family::V4,
    };
    a.assign(&req("x", &ports), &[ip("10.0.0.1")]).unwrap();
    a.assign(&req("y", &ports2), &[ip("10.0.0.1")]).unwrap();
    assert_eq!(a.counters("a").assigned_ipv4, 1);
    a.unassign("x");
    assert_eq!(a.counters("a").assigned_ipv4, 1);
    a.unassign("y");
    assert_eq!(a.counters("a").assigned_ipv4, 0);
    assert_eq!(a.counters("a").available_ipv4, 254);
    assert!(a.is_empty());
}
