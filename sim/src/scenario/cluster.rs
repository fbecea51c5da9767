//! The Kubernetes side of a scenario: the MetalLB configuration and Services, run
//! through the real validation and the real controller (which assigns addresses
//! before the run starts), and the nodes that run the real speaker.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

use ferrolb_api::config::{Config, Options};
use ferrolb_api::load::{LoadReport, Resources};
use ferrolb_api::service::{ClusterIpDefaulting, LbService};
use ferrolb_speaker::announce::ServiceView;
use ferrolb_speaker::election::{Endpoint, NodeInfo};
use ferrolb_speaker::layer2::announcer::AnnouncerConfig;
use ferrolb_speaker::members::MembersConfig;

use super::plan::{Ctx, HostPlan};
use super::spec::ScenarioFile;
use crate::speaker_app::{MembershipSetup, SpeakerSetup};

/// The membership port (MetalLB's memberlist default).
const MEMBERSHIP_PORT: u16 = 7946;
/// The shared membership key of simulated clusters.
const MEMBERSHIP_KEY: &[u8] = b"ferrolb-sim-cluster";

/// Resolves `nodes`, `metallb` and `kubernetes`, attaching a speaker to each node's host.
pub(super) fn plan_nodes(
    ctx: &mut Ctx,
    file: &ScenarioFile,
    host_idx: &BTreeMap<&str, usize>,
    hosts: &mut [HostPlan],
) {
    if file.nodes.is_empty() {
        for (key, present) in [
            ("metallb", file.metallb.is_some()),
            ("kubernetes", file.kubernetes.is_some()),
        ] {
            if present {
                ctx.err(key, "needs `nodes`: the hosts that run the speaker");
            }
        }
        return;
    }
    let Some(metallb) = &file.metallb else {
        ctx.err(
            "metallb",
            "required with `nodes`: the MetalLB configuration (inline YAML)",
        );
        return;
    };
    let mut res = Resources::default();
    let mut report = LoadReport::default();
    if let Err(e) = res.load_str("metallb", metallb, &mut report) {
        ctx.err("metallb", e.to_string());
        return;
    }
    if let Some(k8s) = &file.kubernetes
        && let Err(e) = res.load_str("kubernetes", k8s, &mut report)
    {
        ctx.err("kubernetes", e.to_string());
        return;
    }
    let config = match Config::from_resources(&res, &Options::default()) {
        Ok(c) => c,
        Err(errs) => {
            for e in errs.iter() {
                ctx.err("metallb", e.to_string());
            }
            return;
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
        let Some(v4) = hosts[h]
            .nics
            .iter()
            .flat_map(|nic| nic.addrs.iter())
            .map(|(a, _)| *a)
            .find(IpAddr::is_ipv4)
        else {
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
}
