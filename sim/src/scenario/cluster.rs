//! The Kubernetes side of a scenario: the MetalLB configuration and Services, run
//! through the real validation and the real controller (which assigns addresses
//! before the run starts), and the nodes that run the real speaker.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use ferrolb_api::config::{Config, Options};
use ferrolb_api::load::{LoadReport, Resources};
use ferrolb_api::service::{ClusterIpDefaulting, LbService};
use ferrolb_speaker::announce::ServiceView;
use ferrolb_speaker::election::{Endpoint, NodeInfo};
use ferrolb_speaker::layer2::announcer::AnnouncerConfig;
use ferrolb_speaker::members::MembersConfig;

use super::plan::{Ctx, HostPlan};
use super::spec::{ScenarioFile, YamlSource};
use crate::cluster::{NODE_MONITOR_GRACE, WATCH_JITTER, WATCH_LATENCY};
use crate::speaker_app::{MembershipSetup, SpeakerSetup};
use crate::time::Duration;

/// The membership port (MetalLB's memberlist default).
const MEMBERSHIP_PORT: u16 = 7946;
/// The shared membership key of simulated clusters.
const MEMBERSHIP_KEY: &[u8] = b"ferrolb-sim-cluster";

/// The simulated cluster a scenario runs: what the API server starts with, and where.
#[derive(Clone, Debug)]
pub struct ClusterPlan {
    /// Services with their assigned addresses and endpoints.
    pub services: Vec<ServiceView>,
    /// Nodes.
    pub nodes: BTreeMap<String, NodeInfo>,
    /// Each node's host index, in node order.
    pub node_hosts: Vec<(String, usize)>,
    /// Watch latency.
    pub watch_latency: Duration,
    /// Watch jitter.
    pub watch_jitter: Duration,
    /// Node-monitor grace period.
    pub node_monitor_grace: Duration,
}

/// Resolves `nodes`, `metallb`, `kubernetes` and `api_server`, attaching a speaker to
/// each node's host.
pub(super) fn plan_nodes(
    ctx: &mut Ctx,
    file: &ScenarioFile,
    base: &Path,
    host_idx: &BTreeMap<&str, usize>,
    hosts: &mut [HostPlan],
) -> Option<ClusterPlan> {
    if file.nodes.is_empty() {
        for (key, present) in [
            ("metallb", file.metallb.is_some()),
            ("kubernetes", file.kubernetes.is_some()),
            ("api_server", file.api_server.is_some()),
        ] {
            if present {
                ctx.err(key, "needs `nodes`: the hosts that run the speaker");
            }
        }
        return None;
    }
    let Some(metallb) = &file.metallb else {
        ctx.err(
            "metallb",
            "required with `nodes`: the MetalLB configuration (inline YAML or `files:`)",
        );
        return None;
    };
    let mut res = Resources::default();
    let mut report = LoadReport::default();
    if !load_source(ctx, "metallb", metallb, base, &mut res, &mut report) {
        return None;
    }
    if let Some(k8s) = &file.kubernetes
        && !load_source(ctx, "kubernetes", k8s, base, &mut res, &mut report)
    {
        return None;
    }
    let config = match Config::from_resources(&res, &Options::default()) {
        Ok(c) => c,
        Err(errs) => {
            for e in errs.iter() {
                ctx.err("metallb", e.to_string());
            }
            return None;
        }
    };
    // The real controller, as at start-up: addresses for every Service.
    let services: Vec<LbService> = res
        .services
        .iter()
        .map(|s| LbService::from_k8s(s, ClusterIpDefaulting::LikeApiServer))
        .collect();
    let planned = ferrolb_controller::plan(config.clone(), &services, None);
    let mut views: Vec<ServiceView> = services
        .iter()
        .map(|s| {
            let mut s = s.clone();
            if let Some(p) = planned
                .services
                .iter()
                .find(|p| p.namespace == s.namespace && p.name == s.name)
            {
                s.ingress_ips = p.ips.iter().map(ToString::to_string).collect();
            }
            ServiceView {
                service: s,
                endpoints: Vec::new(),
            }
        })
        .collect();
    let mut nodes: BTreeMap<String, NodeInfo> = BTreeMap::new();
    let mut addrs: Vec<(usize, SocketAddr)> = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, n) in file.nodes.iter().enumerate() {
        let np = format!("nodes[{i}]");
        if !seen.insert(n.name.clone()) {
            ctx.err(format!("{np}.name"), format!("duplicate node `{}`", n.name));
        }
        let host_name = n.host.as_deref().unwrap_or(&n.name);
        let Some(&h) = host_idx.get(host_name) else {
            ctx.err(
                format!("{np}.host"),
                format!("no host `{host_name}` in topology.hosts"),
            );
            continue;
        };
        let mut host_addrs = hosts[h]
            .nics
            .iter()
            .flat_map(|nic| nic.addrs.iter())
            .map(|(a, _)| *a);
        let v4 = if let Some(text) = &n.internal_ip {
            let Ok(ip) = text.parse::<IpAddr>() else {
                ctx.err(
                    format!("{np}.internal_ip"),
                    format!("`{text}` is not an IP address"),
                );
                continue;
            };
            if !host_addrs.any(|a| a == ip) {
                ctx.err(
                    format!("{np}.internal_ip"),
                    format!("{ip} is not an address of host `{host_name}`"),
                );
                continue;
            }
            ip
        } else if let Some(v4) = host_addrs.find(IpAddr::is_ipv4) {
            v4
        } else {
            ctx.err(
                format!("{np}.host"),
                format!("host `{host_name}` has no IPv4 address for the speakers' membership"),
            );
            continue;
        };
        addrs.push((h, SocketAddr::new(v4, MEMBERSHIP_PORT)));
        for (j, svc) in n.endpoints.iter().enumerate() {
            let Some(v) = views.iter_mut().find(|v| v.service.key() == *svc) else {
                ctx.err(
                    format!("{np}.endpoints[{j}]"),
                    format!("no Service `{svc}` in `kubernetes` (write namespace/name)"),
                );
                continue;
            };
            v.endpoints.push(Endpoint {
                node: Some(n.name.clone()),
                ready: Some(true),
                serving: Some(true),
                // A pod address; only its presence matters to the speaker.
                addresses: vec![IpAddr::from([10, 244, i as u8, 1 + j as u8])],
            });
        }
        nodes.insert(
            n.name.clone(),
            NodeInfo {
                name: n.name.clone(),
                labels: n.labels.clone(),
                network_unavailable: n.network_unavailable,
                up_interfaces: None,
            },
        );
    }
    let mut node_hosts = Vec::new();
    for (i, n) in file.nodes.iter().enumerate() {
        let Some(&(h, addr)) = addrs
            .iter()
            .find(|(h, _)| hosts[*h].name == n.host.as_deref().unwrap_or(&n.name))
        else {
            continue;
        };
        let seeds = addrs
            .iter()
            .filter(|(o, _)| *o != h)
            .map(|(_, a)| *a)
            .collect();
        if hosts[h].speaker.is_some() {
            ctx.err(
                format!("nodes[{i}].host"),
                format!("host `{}` already runs a node's speaker", hosts[h].name),
            );
            continue;
        }
        node_hosts.push((n.name.clone(), h));
        hosts[h].speaker = Some(SpeakerSetup {
            node: n.name.clone(),
            config: config.clone(),
            services: views.clone(),
            nodes: nodes.clone(),
            members: None,
            announcer: AnnouncerConfig::default(),
            membership: Some(MembershipSetup {
                config: MembersConfig::default(),
                key: MEMBERSHIP_KEY.to_vec(),
                addr,
                seeds,
            }),
        });
    }
    let api = file.api_server.as_ref();
    Some(ClusterPlan {
        services: views,
        nodes,
        node_hosts,
        watch_latency: api
            .and_then(|a| a.watch_latency.as_ref())
            .map_or(WATCH_LATENCY, |d| d.0),
        watch_jitter: api
            .and_then(|a| a.watch_jitter.as_ref())
            .map_or(WATCH_JITTER, |d| d.0),
        node_monitor_grace: api
            .and_then(|a| a.node_monitor_grace_period.as_ref())
            .map_or(NODE_MONITOR_GRACE, |d| d.0),
    })
}

/// Loads one `metallb`/`kubernetes` source into `res`; a problem is reported under
/// `key` (and the offending path) and returns false.
fn load_source(
    ctx: &mut Ctx,
    key: &str,
    src: &YamlSource,
    base: &Path,
    res: &mut Resources,
    report: &mut LoadReport,
) -> bool {
    let files = match src {
        YamlSource::Inline(text) => {
            return match res.load_str(key, text, report) {
                Ok(()) => true,
                Err(e) => {
                    ctx.err(key, e.to_string());
                    false
                }
            };
        }
        YamlSource::Files { files } => files,
    };
    if files.is_empty() {
        ctx.err(format!("{key}.files"), "names no file");
        return false;
    }
    for (i, f) in files.iter().enumerate() {
        let path = format!("{key}.files[{i}]");
        let full = base.join(f);
        let list = match yaml_files(&full) {
            Ok(l) => l,
            Err(e) => {
                ctx.err(path, format!("{}: {e}", full.display()));
                return false;
            }
        };
        if list.is_empty() {
            ctx.err(
                path,
                format!("{}: directory holds no .yaml or .yml file", full.display()),
            );
            return false;
        }
        for one in list {
            if let Err(e) = res.load_file(&one, report) {
                ctx.err(path, e.to_string());
                return false;
            }
        }
    }
    true
}

/// `path` itself, or a directory's `*.yaml`/`*.yml` files sorted by name (not
/// recursive, as `kubectl apply -f dir/`).
fn yaml_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !std::fs::metadata(path)?.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let p = entry?.path();
        let yaml = p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "yaml" || e == "yml");
        if yaml && p.is_file() {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}
