//! Builders shared by the controller's integration tests.
#![allow(dead_code)]

use ferrolb_api::config::{Config, Family, Options};
use ferrolb_api::load::{LoadReport, Resources};
use ferrolb_api::service::{IpFamilyPolicy, LbService, PortKey, Protocol};

/// A validated configuration from YAML documents.
pub fn config(yaml: &str) -> Config {
    let mut r = Resources::default();
    r.load_str("test.yaml", yaml, &mut LoadReport::default())
        .unwrap_or_else(|e| panic!("{e}"));
    Config::from_resources(&r, &Options::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// An IPAddressPool document.
pub fn pool(name: &str, addresses: &[&str], extra: &str) -> String {
    let list: Vec<String> = addresses.iter().map(|a| format!("  - \"{a}\"")).collect();
    format!(
        "---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: {name}\nspec:\n  addresses:\n{}\n{extra}\n",
        list.join("\n")
    )
}

/// A single-stack IPv4 LoadBalancer Service on TCP/80 in `default`.
pub fn svc(name: &str) -> LbService {
    LbService {
        namespace: "default".into(),
        name: name.into(),
        is_load_balancer: true,
        cluster_families: vec![Family::V4],
        ports: vec![tcp(80)],
        ..Default::default()
    }
}

/// A TCP port.
pub fn tcp(port: i32) -> PortKey {
    PortKey {
        protocol: Protocol::Tcp,
        port,
    }
}

/// A UDP port.
pub fn udp(port: i32) -> PortKey {
    PortKey {
        protocol: Protocol::Udp,
        port,
    }
}

/// Adds an annotation.
pub fn annotate(mut s: LbService, k: &str, v: &str) -> LbService {
    s.annotations.insert(k.into(), v.into());
    s
}

/// Dual-stack cluster IPs with a policy.
pub fn dual(mut s: LbService, policy: IpFamilyPolicy) -> LbService {
    s.cluster_families = vec![Family::V4, Family::V6];
    s.ip_families = vec![Family::V4, Family::V6];
    s.ip_family_policy = policy;
    s
}

/// IPv6 single stack.
pub fn v6(mut s: LbService) -> LbService {
    s.cluster_families = vec![Family::V6];
    s.ip_families = vec![Family::V6];
    s
}
