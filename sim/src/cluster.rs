//! The Kubernetes side of a simulated cluster: what the API server holds (Services
//! with their endpoints, Nodes), how changes reach every node (watch events, after a
//! latency), the node lifecycle controller, and kube-proxy's rule for which node
//! accepts traffic for a load-balancer address.
//!
//! These are the parts of Kubernetes that decide what a client sees in a failover,
//! which is why they are modelled and nothing else is:
//!
//! - A node that loses power keeps its Ready condition, and its endpoints stay
//!   "ready", until the node lifecycle controller has missed its heartbeats for the
//!   node-monitor grace period (40 s by default); only then are its pods marked not
//!   ready and its endpoints with them.
//! - Every component sees a change a watch latency after it was made, so two nodes can
//!   briefly disagree about where a Service's endpoints are.
//! - kube-proxy accepts a load-balancer address on every node when the Service's
//!   `externalTrafficPolicy` is Cluster (and it has an endpoint somewhere), but with
//!   Local only on nodes that hold one of its endpoints: traffic arriving anywhere else
//!   is dropped. It uses ready endpoints, and terminating ones that still serve when no
//!   ready one is left (as kube-proxy has since Kubernetes 1.28).
//!
//! Not modelled: kube-proxy forwarding to endpoints on other nodes (a probe a node
//! accepts counts as answered), pod scheduling (endpoints move when the scenario says).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::rc::Rc;

use ferrolb_speaker::announce::ServiceView;
use ferrolb_speaker::election::{Endpoint, NodeInfo};

use crate::fate::HostId;
use crate::time::Duration;

/// Kubernetes' default `--node-monitor-grace-period`.
pub const NODE_MONITOR_GRACE: Duration = Duration::from_secs(40);
/// Default watch latency: from a change at the API server to a component acting on
/// it (informer delivery and handler), on a healthy control plane.
pub const WATCH_LATENCY: Duration = Duration::from_millis(50);
/// Default spread of the watch latency between nodes: each delivery takes
/// `WATCH_LATENCY` plus a uniform draw below this, so nodes see one change in
/// different orders, as they do on a real control plane.
pub const WATCH_JITTER: Duration = Duration::from_millis(50);

/// What a node's components know of the cluster after a watch event: the informers'
/// caches, whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterSnapshot {
    /// Services with their endpoints as the endpoint controller publishes them.
    pub services: Vec<ServiceView>,
    /// Nodes.
    pub nodes: BTreeMap<String, NodeInfo>,
}

/// One node of the cluster.
#[derive(Clone, Debug)]
struct NodeSlot {
    name: String,
    host: HostId,
    /// The node lifecycle controller has marked it NotReady.
    not_ready: bool,
    /// Bumped whenever the host boots or dies, so that a pending grace timer from an
    /// earlier life does not fire.
    generation: u64,
}

/// The API server's state and the cluster-wide timings.
#[derive(Clone, Debug)]
pub struct ClusterModel {
    /// Delay from a change to every node seeing it.
    pub watch_latency: Duration,
    /// Extra delay per delivery, uniform in `[0, watch_jitter)`.
    pub watch_jitter: Duration,
    /// How long a silent node stays Ready.
    pub node_monitor_grace: Duration,
    services: Vec<ServiceView>,
    nodes: BTreeMap<String, NodeInfo>,
    slots: Vec<NodeSlot>,
}

impl ClusterModel {
    /// A cluster holding `services` and `nodes`; `hosts` says which topology host runs
    /// each node.
    pub fn new(
        services: Vec<ServiceView>,
        nodes: BTreeMap<String, NodeInfo>,
        hosts: &[(String, HostId)],
    ) -> Self {
        Self {
            watch_latency: WATCH_LATENCY,
            watch_jitter: WATCH_JITTER,
            node_monitor_grace: NODE_MONITOR_GRACE,
            services,
            nodes,
            slots: hosts
                .iter()
                .map(|(name, host)| NodeSlot {
                    name: name.clone(),
                    host: *host,
                    not_ready: false,
                    generation: 0,
                })
                .collect(),
        }
    }

    /// The caches every node converges to: endpoints on NotReady nodes are neither
    /// ready nor serving (their pods were marked not ready).
    pub fn snapshot(&self) -> Rc<ClusterSnapshot> {
        let down: BTreeSet<&str> = self
            .slots
            .iter()
            .filter(|s| s.not_ready)
            .map(|s| s.name.as_str())
            .collect();
        let services = self
            .services
            .iter()
            .map(|v| ServiceView {
                service: v.service.clone(),
                endpoints: v
                    .endpoints
                    .iter()
                    .map(|e| {
                        let mut e = e.clone();
                        if e.node.as_deref().is_some_and(|n| down.contains(n)) {
                            e.ready = Some(false);
                            e.serving = Some(false);
                        }
                        e
                    })
                    .collect(),
            })
            .collect();
        Rc::new(ClusterSnapshot {
            services,
            nodes: self.nodes.clone(),
        })
    }

    /// Replaces a Service's endpoints (`namespace/name`); false if there is no such
    /// Service.
    pub fn set_endpoints(&mut self, service: &str, endpoints: Vec<Endpoint>) -> bool {
        match self
            .services
            .iter_mut()
            .find(|v| v.service.key() == service)
        {
            Some(v) => {
                v.endpoints = endpoints;
                true
            }
            None => false,
        }
    }

    /// Every node's host, in node order.
    pub fn hosts(&self) -> impl Iterator<Item = HostId> + '_ {
        self.slots.iter().map(|s| s.host)
    }

    /// The node running on `host`, by index.
    pub fn node_on(&self, host: HostId) -> Option<usize> {
        self.slots.iter().position(|s| s.host == host)
    }

    /// A node's name.
    pub fn node_name(&self, node: usize) -> &str {
        self.slots.get(node).map_or("?", |s| s.name.as_str())
    }

    /// The node's host died (its kubelet stops heartbeating): returns the generation a
    /// grace timer must carry to mark it NotReady.
    pub fn node_died(&mut self, node: usize) -> u64 {
        let s = &mut self.slots[node];
        s.generation += 1;
        s.generation
    }

    /// The grace period after a death ran out: marks the node NotReady unless it came
    /// back since. True if that changed anything.
    pub fn grace_expired(&mut self, node: usize, generation: u64) -> bool {
        let s = &mut self.slots[node];
        if s.generation != generation || s.not_ready {
            return false;
        }
        s.not_ready = true;
        true
    }

    /// The node's host booted: its kubelet reports Ready again at once. True if it had
    /// been marked NotReady.
    pub fn node_booted(&mut self, node: usize) -> bool {
        let s = &mut self.slots[node];
        s.generation += 1;
        std::mem::replace(&mut s.not_ready, false)
    }

    /// Every address the controller assigned.
    pub fn assigned(&self) -> BTreeSet<IpAddr> {
        self.services
            .iter()
            .flat_map(|v| v.service.ingress_ips.iter())
            .filter_map(|ip| ip.parse().ok())
            .collect()
    }
}

/// kube-proxy's verdict on `node` for every load-balancer address in `snap`: true to
/// accept traffic for it, false to drop it.
pub fn kube_proxy_rules(snap: &ClusterSnapshot, node: &str) -> BTreeMap<IpAddr, bool> {
    let mut out: BTreeMap<IpAddr, bool> = BTreeMap::new();
    for v in &snap.services {
        let eps: Vec<&Endpoint> = if v.service.external_traffic_local {
            v.endpoints
                .iter()
                .filter(|e| e.node.as_deref() == Some(node))
                .collect()
        } else {
            v.endpoints.iter().collect()
        };
        let ready = eps.iter().any(|e| e.ready.unwrap_or(true));
        let terminating_serving = eps.iter().any(|e| e.serving == Some(true));
        let accept = ready || terminating_serving;
        for ip in v
            .service
            .ingress_ips
            .iter()
            .filter_map(|ip| ip.parse().ok())
        {
            // Addresses shared by several Services: accepted if any of them accepts.
            *out.entry(ip).or_insert(false) |= accept;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrolb_api::service::LbService;

    fn svc(name: &str, ip: &str, local: bool, eps: &[(&str, bool, bool)]) -> ServiceView {
        ServiceView {
            service: LbService {
                namespace: "default".into(),
                name: name.into(),
                external_traffic_local: local,
                ingress_ips: vec![ip.into()],
                ..LbService::default()
            },
            endpoints: eps
                .iter()
                .map(|(n, ready, serving)| Endpoint {
                    node: Some((*n).into()),
                    ready: Some(*ready),
                    serving: Some(*serving),
                    addresses: vec![IpAddr::from([10, 244, 0, 1])],
                })
                .collect(),
        }
    }

    fn snap(services: Vec<ServiceView>) -> ClusterSnapshot {
        ClusterSnapshot {
            services,
            nodes: BTreeMap::new(),
        }
    }

    const IP: &str = "198.51.100.200";

    fn verdict(s: &ClusterSnapshot, node: &str) -> Option<bool> {
        kube_proxy_rules(s, node).get(&IP.parse().unwrap()).copied()
    }

    #[test]
    fn cluster_policy_accepts_everywhere_while_any_endpoint_serves() {
        let s = snap(vec![svc("web", IP, false, &[("n2", true, true)])]);
        assert_eq!(verdict(&s, "n1"), Some(true));
        assert_eq!(verdict(&s, "n2"), Some(true));
        let none = snap(vec![svc("web", IP, false, &[])]);
        assert_eq!(verdict(&none, "n1"), Some(false), "no endpoint: dropped");
    }

    #[test]
    fn local_policy_accepts_only_where_an_endpoint_is() {
        let s = snap(vec![svc("web", IP, true, &[("n2", true, true)])]);
        assert_eq!(verdict(&s, "n1"), Some(false));
        assert_eq!(verdict(&s, "n2"), Some(true));
    }

    #[test]
    fn a_terminating_endpoint_that_still_serves_is_used_when_no_ready_one_is_left() {
        let s = snap(vec![svc("web", IP, true, &[("n2", false, true)])]);
        assert_eq!(verdict(&s, "n2"), Some(true));
        let gone = snap(vec![svc("web", IP, true, &[("n2", false, false)])]);
        assert_eq!(verdict(&gone, "n2"), Some(false));
    }

    #[test]
    fn a_shared_address_is_accepted_if_any_of_its_services_accepts() {
        let s = snap(vec![
            svc("a", IP, true, &[("n1", true, true)]),
            svc("b", IP, true, &[("n2", true, true)]),
        ]);
        assert_eq!(verdict(&s, "n1"), Some(true));
        assert_eq!(verdict(&s, "n2"), Some(true));
        assert_eq!(verdict(&s, "n3"), Some(false));
    }

    #[test]
    fn a_node_not_ready_after_the_grace_period_takes_its_endpoints_down() {
        let nodes = BTreeMap::new();
        let mut m = ClusterModel::new(
            vec![svc("web", IP, true, &[("n2", true, true)])],
            nodes,
            &[("n1".into(), 1), ("n2".into(), 2)],
        );
        let n2 = m.node_on(2).unwrap();
        let g = m.node_died(n2);
        assert_eq!(
            verdict(&m.snapshot(), "n2"),
            Some(true),
            "still ready in the grace"
        );
        assert!(m.grace_expired(n2, g));
        let e = &m.snapshot().services[0].endpoints[0];
        assert_eq!((e.ready, e.serving), (Some(false), Some(false)));
        assert!(m.node_booted(n2), "it was NotReady");
        assert_eq!(m.snapshot().services[0].endpoints[0].ready, Some(true));
    }

    #[test]
    fn a_grace_timer_from_an_earlier_life_does_nothing() {
        let mut m = ClusterModel::new(vec![], BTreeMap::new(), &[("n1".into(), 1)]);
        let g = m.node_died(0);
        m.node_booted(0);
        assert!(
            !m.grace_expired(0, g),
            "it came back before the grace ran out"
        );
    }
}
