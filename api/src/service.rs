//! The parts of a v1 Service the load balancer reads, extracted once.
//!
//! Controller and speaker logic take this plain view instead of the k8s-openapi type:
//! it is cheap to build in tests, and it pins down every default the API server would
//! have applied (protocol TCP, ipFamilyPolicy SingleStack, externalTrafficPolicy
//! Cluster, namespace `default`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::Service;

use crate::annotations;
use crate::config::Family;

/// `spec.ipFamilyPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IpFamilyPolicy {
    /// One address of the cluster IP's family.
    #[default]
    SingleStack,
    /// Both families when the pool has them, otherwise one.
    PreferDualStack,
    /// Both families or nothing.
    RequireDualStack,
}

/// `spec.ports[].protocol`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// TCP (the default).
    #[default]
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
    /// Anything else (the API server refuses it; treated as one more protocol).
    Other,
}

impl Protocol {
    /// Parses the API's spelling (`TCP`, `UDP`, `SCTP`).
    pub fn parse(s: &str) -> Self {
        match s {
            "TCP" => Self::Tcp,
            "UDP" => Self::Udp,
            "SCTP" => Self::Sctp,
            _ => Self::Other,
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Tcp => "TCP",
            Self::Udp => "UDP",
            Self::Sctp => "SCTP",
            Self::Other => "OTHER",
        })
    }
}

/// A `(protocol, port)` pair from `spec.ports`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortKey {
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: Protocol,
    /// The service port.
    pub port: i32,
}

/// What the controller and speaker need to know about a Service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LbService {
    /// Namespace (`default` when unset).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// `spec.type == LoadBalancer`.
    pub is_load_balancer: bool,
    /// `spec.loadBalancerClass`.
    pub load_balancer_class: Option<String>,
    /// Families of the cluster IPs, primary first. Empty when the Service has none.
    pub cluster_families: Vec<Family>,
    /// `spec.ipFamilies`, primary first.
    pub ip_families: Vec<Family>,
    /// `spec.ipFamilyPolicy`.
    pub ip_family_policy: IpFamilyPolicy,
    /// `spec.ports`.
    pub ports: Vec<PortKey>,
    /// `spec.selector`.
    pub selector: BTreeMap<String, String>,
    /// `spec.externalTrafficPolicy == Local`.
    pub external_traffic_local: bool,
    /// `spec.loadBalancerIP` (deprecated in Kubernetes, still honoured).
    pub load_balancer_ip: String,
    /// `status.loadBalancer.ingress[].ip`, as written (hostname-only entries skipped).
    pub ingress_ips: Vec<String>,
}

/// How to treat a Service that carries no cluster IP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterIpDefaulting {
    /// As read from the API server: no cluster IP means none.
    AsIs,
    /// As written by hand in a file: take the family from `spec.ipFamilies`, or IPv4,
    /// as the API server of a single-stack IPv4 cluster would.
    LikeApiServer,
}

impl LbService {
    /// Extracts the view from a Service.
    pub fn from_k8s(svc: &Service, defaulting: ClusterIpDefaulting) -> Self {
        let meta = &svc.metadata;
        let spec = svc.spec.clone().unwrap_or_default();
        let parse_family = |s: &str| match s {
            "IPv6" => Some(Family::V6),
            "IPv4" => Some(Family::V4),
            _ => None,
        };
        let ip_families: Vec<Family> = spec
            .ip_families
            .iter()
            .flatten()
            .filter_map(|f| parse_family(f))
            .collect();
        let mut cluster_ips: Vec<String> = spec.cluster_ips.clone().unwrap_or_default();
        if cluster_ips.is_empty()
            && let Some(ip) = spec.cluster_ip.as_ref().filter(|ip| !ip.is_empty())
        {
            cluster_ips.push(ip.clone());
        }
        let mut cluster_families: Vec<Family> = cluster_ips
            .iter()
            .filter_map(|ip| ip.parse::<IpAddr>().ok().map(Family::of))
            .collect();
        if cluster_families.is_empty() && defaulting == ClusterIpDefaulting::LikeApiServer {
            cluster_families = if ip_families.is_empty() {
                vec![Family::V4]
            } else {
                ip_families.clone()
            };
        }
        let ingress_ips = svc
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .map(|ing| {
                ing.iter()
                    .filter_map(|i| i.ip.clone())
                    .filter(|ip| !ip.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Self {
            namespace: meta
                .namespace
                .clone()
                .unwrap_or_else(|| "default".to_owned()),
            name: meta.name.clone().unwrap_or_default(),
            labels: meta.labels.clone().unwrap_or_default(),
            annotations: meta.annotations.clone().unwrap_or_default(),
            is_load_balancer: spec.type_.as_deref() == Some("LoadBalancer"),
            load_balancer_class: spec.load_balancer_class.clone(),
            cluster_families,
            ip_families,
            ip_family_policy: match spec.ip_family_policy.as_deref() {
                Some("PreferDualStack") => IpFamilyPolicy::PreferDualStack,
                Some("RequireDualStack") => IpFamilyPolicy::RequireDualStack,
                _ => IpFamilyPolicy::SingleStack,
            },
            ports: spec
                .ports
                .iter()
                .flatten()
                .map(|p| PortKey {
                    protocol: p.protocol.as_deref().map_or(Protocol::Tcp, Protocol::parse),
                    port: p.port,
                })
                .collect(),
            selector: spec.selector.clone().unwrap_or_default(),
            external_traffic_local: spec.external_traffic_policy.as_deref() == Some("Local"),
            load_balancer_ip: spec.load_balancer_ip.clone().unwrap_or_default(),
            ingress_ips,
        }
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Value of an annotation, the stable key winning over the legacy one.
    pub fn annotation(&self, stable: &str, legacy: &str) -> Option<&str> {
        self.annotations
            .get(stable)
            .or_else(|| self.annotations.get(legacy))
            .map(String::as_str)
    }

    /// The sharing key (`allow-shared-ip`), empty when the Service does not share.
    pub fn sharing_key(&self) -> &str {
        self.annotation(
            annotations::ALLOW_SHARED_IP,
            annotations::LEGACY_ALLOW_SHARED_IP,
        )
        .unwrap_or_default()
    }

    /// The backend key: Services with `externalTrafficPolicy: Local` may only share an
    /// address with Services that select exactly the same pods, since every node
    /// announcing the address must host an endpoint of each of them.
    pub fn backend_key(&self) -> String {
        if !self.external_traffic_local {
            return String::new();
        }
        // labels.Set.String(): sorted `k=v` joined by commas.
        self.selector
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Legacy `metallb.universe.tf/` annotations present on the Service, sorted.
    pub fn legacy_annotations(&self) -> Vec<&str> {
        self.annotations
            .keys()
            .filter(|k| k.starts_with(annotations::LEGACY_PREFIX))
            .map(String::as_str)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(yaml: &str) -> Service {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn defaults_follow_the_api_server() {
        let s = svc(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: LoadBalancer\n  ports:\n  - port: 80\n",
        );
        let v = LbService::from_k8s(&s, ClusterIpDefaulting::LikeApiServer);
        assert_eq!(v.namespace, "default");
        assert!(v.is_load_balancer);
        assert_eq!(v.cluster_families, vec![Family::V4]);
        assert_eq!(v.ip_family_policy, IpFamilyPolicy::SingleStack);
        assert_eq!(
            v.ports,
            vec![PortKey {
                protocol: Protocol::Tcp,
                port: 80
            }]
        );
        let raw = LbService::from_k8s(&s, ClusterIpDefaulting::AsIs);
        assert!(raw.cluster_families.is_empty());
    }

    #[test]
    fn families_come_from_cluster_ips_then_ip_families() {
        let s = svc(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: d\nspec:\n  type: LoadBalancer\n  ipFamilyPolicy: RequireDualStack\n  ipFamilies: [IPv6, IPv4]\n",
        );
        let v = LbService::from_k8s(&s, ClusterIpDefaulting::LikeApiServer);
        assert_eq!(v.cluster_families, vec![Family::V6, Family::V4]);
        let s = svc(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: d\nspec:\n  type: LoadBalancer\n  clusterIPs: [10.96.0.10]\n  ipFamilies: [IPv6]\n",
        );
        let v = LbService::from_k8s(&s, ClusterIpDefaulting::LikeApiServer);
        assert_eq!(v.cluster_families, vec![Family::V4]);
    }

    #[test]
    fn stable_annotation_wins_and_backend_key_sorts_selector() {
        let s = svc(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  annotations:\n    metallb.io/allow-shared-ip: new\n    metallb.universe.tf/allow-shared-ip: old\nspec:\n  type: LoadBalancer\n  externalTrafficPolicy: Local\n  selector:\n    z: '1'\n    a: '2'\n",
        );
        let v = LbService::from_k8s(&s, ClusterIpDefaulting::AsIs);
        assert_eq!(v.sharing_key(), "new");
        assert_eq!(v.backend_key(), "a=2,z=1");
        assert_eq!(
            v.legacy_annotations(),
            vec!["metallb.universe.tf/allow-shared-ip"]
        );
    }
}
