//! Standalone mode: the speaker's whole input from files instead of a Kubernetes API
//! server — the metallb.io objects, Services, Nodes, EndpointSlices and Secrets an
//! operator would `kubectl apply`, loaded by [`ferrolb_api::load::Resources`].
//!
//! Pure: [`View::build`] turns loaded resources into exactly what the
//! [`crate::Speaker`] core is fed (`set_config`, `set_services`, `set_nodes`, the
//! membership address and seeds), so that every node given the same files computes the
//! same answer. In particular a Service without `status.loadBalancer.ingress` gets its
//! addresses from the real controller's deterministic allocator
//! ([`ferrolb_controller::plan`]): there is no controller writing statuses here, and
//! every speaker must agree on which address each Service holds.
//!
//! Choices where Kubernetes has no file equivalent:
//! * No EndpointSlice in any file: every Node serves every Service (a host without
//!   Kubernetes has no endpoints to speak of, and `externalTrafficPolicy: Local` then
//!   allows every node). With some EndpointSlices present, a Service that has none has
//!   no endpoints and is not announced, as in a cluster; a warning says so.
//! * Membership peers are the Nodes' first `InternalIP` at port 7946 (MetalLB binds
//!   memberlist to the pod IP, which under `hostNetwork` is the node's address).

mod endpoints;
mod files;
mod nodes;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use ferrolb_api::config::{Config, ConfigErrors, Options};
use ferrolb_api::load::{LoadError, Resources};
use ferrolb_api::service::{ClusterIpDefaulting, LbService};
use ferrolb_controller::EventType;

use crate::announce::ServiceView;
use crate::election::NodeInfo;

pub use files::load;

/// The membership port (MetalLB's memberlist default).
pub const MEMBERSHIP_PORT: u16 = crate::members::DEFAULT_PORT;

/// Why the files cannot run a speaker. Every variant names the file, object or field.
#[derive(Debug, thiserror::Error)]
pub enum StandaloneError {
    /// No `-f` given.
    #[error("no configuration file given (use -f FILE)")]
    NoFiles,
    /// A path given with `-f` cannot be listed.
    #[error("{path}: {source}")]
    Path {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A directory given with `-f` holds no YAML or JSON file.
    #[error("{path}: directory holds no .yaml, .yml or .json file")]
    EmptyDirectory {
        /// The directory.
        path: String,
    },
    /// A file does not load.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The metallb.io configuration is invalid.
    #[error("invalid configuration:\n{}", list(.0))]
    Config(ConfigErrors),
    /// The files hold no Node at all.
    #[error(
        "no Node objects in the files: standalone mode needs one Node per speaker (name, status.addresses InternalIP)"
    )]
    NoNodes,
    /// `--node` is not one of the Nodes.
    #[error("Node/{node}: not among the Nodes in the files (they are: {})", .known.join(", "))]
    UnknownNode {
        /// The name asked for.
        node: String,
        /// The names present.
        known: Vec<String>,
    },
    /// Two Nodes share a name.
    #[error("Node/{0}: metadata.name: defined twice")]
    DuplicateNode(String),
    /// A Node has no name.
    #[error("Node #{0} (in file order): metadata.name: missing")]
    UnnamedNode(usize),
    /// A Node's address does not parse.
    #[error("Node/{node}: status.addresses[{index}].address: {value:?} is not an IP address")]
    BadNodeAddress {
        /// The node.
        node: String,
        /// Index in `status.addresses`.
        index: usize,
        /// What was written.
        value: String,
    },
    /// This node has no address to bind the membership socket to.
    #[error(
        "Node/{0}: status.addresses: no InternalIP; the speaker binds its membership socket (port 7946) to it"
    )]
    NoInternalIp(String),
    /// An EndpointSlice endpoint address does not parse.
    #[error(
        "EndpointSlice/{namespace}/{name}: endpoints[{endpoint}].addresses[{index}]: {value:?} is not an IP address"
    )]
    BadEndpointAddress {
        /// The slice's namespace.
        namespace: String,
        /// The slice's name.
        name: String,
        /// Endpoint index.
        endpoint: usize,
        /// Address index.
        index: usize,
        /// What was written.
        value: String,
    },
}

fn list(errs: &ConfigErrors) -> String {
    errs.iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Everything the speaker core is fed, for one node.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    /// The validated configuration.
    pub config: Config,
    /// Services with their addresses and endpoints, in file order.
    pub services: Vec<ServiceView>,
    /// Every Node by name.
    pub nodes: BTreeMap<String, NodeInfo>,
    /// Where this node's membership socket listens.
    pub membership_addr: SocketAddr,
    /// The other Nodes' membership addresses, by node name order.
    pub seeds: Vec<SocketAddr>,
    /// Things the operator should know that do not stop the speaker.
    pub warnings: Vec<String>,
}

impl View {
    /// Builds `node`'s view of `res`.
    pub fn build(res: &Resources, node: &str) -> Result<Self, StandaloneError> {
        let config =
            Config::from_resources(res, &Options::default()).map_err(StandaloneError::Config)?;
        let mut warnings = Vec::new();
        let nodes = nodes::nodes(&res.nodes)?;
        if nodes.is_empty() {
            return Err(StandaloneError::NoNodes);
        }
        let Some(me) = nodes.get(node) else {
            return Err(StandaloneError::UnknownNode {
                node: node.to_owned(),
                known: nodes.keys().cloned().collect(),
            });
        };
        let Some(my_ip) = me.internal_ip else {
            return Err(StandaloneError::NoInternalIp(node.to_owned()));
        };
        let mut seeds = Vec::new();
        for (name, n) in &nodes {
            if name == node {
                continue;
            }
            match n.internal_ip {
                Some(ip) => seeds.push(SocketAddr::new(ip, MEMBERSHIP_PORT)),
                None => warnings.push(format!(
                    "Node/{name}: status.addresses: no InternalIP; not a membership seed (it can still join us)"
                )),
            }
        }
        let mut services = services(&config, res, &mut warnings);
        let node_names: Vec<String> = nodes.keys().cloned().collect();
        endpoints::attach(
            &mut services,
            &res.endpoint_slices,
            &node_names,
            &mut warnings,
        )?;
        Ok(Self {
            config,
            services,
            nodes: nodes.into_iter().map(|(k, v)| (k, v.info)).collect(),
            membership_addr: SocketAddr::new(my_ip, MEMBERSHIP_PORT),
            seeds,
            warnings,
        })
    }
}

/// The Services as the speaker sees them; those without an ingress address get the
/// controller's allocation.
fn services(config: &Config, res: &Resources, warnings: &mut Vec<String>) -> Vec<ServiceView> {
    let mut services: Vec<LbService> = res
        .services
        .iter()
        .map(|s| LbService::from_k8s(s, ClusterIpDefaulting::LikeApiServer))
        .collect();
    let planned = ferrolb_controller::plan(config.clone(), &services, None);
    for svc in services
        .iter_mut()
        .filter(|s| s.is_load_balancer && s.ingress_ips.is_empty())
    {
        let Some(p) = planned
            .services
            .iter()
            .find(|p| p.namespace == svc.namespace && p.name == svc.name)
        else {
            continue;
        };
        svc.ingress_ips = p.ips.iter().map(ToString::to_string).collect();
        if p.ips.is_empty() {
            for e in p.events.iter().filter(|e| e.type_ == EventType::Warning) {
                warnings.push(format!(
                    "Service/{}: no address: {}: {}",
                    svc.key(),
                    e.reason,
                    e.message
                ));
            }
        }
    }
    services
        .into_iter()
        .map(|service| ServiceView {
            service,
            endpoints: Vec::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
