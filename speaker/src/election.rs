//! Which node announces a Service's address in Layer 2 mode.
//!
//! Stateless, as in MetalLB (`speaker/layer2_controller.go`): every speaker computes
//! the same ordered candidate list from the same inputs, and the first candidate
//! announces. Candidates are the live members (or every known node when membership is
//! off), minus nodes with `NetworkUnavailable`, minus nodes labelled
//! `node.kubernetes.io/exclude-from-external-load-balancers` (unless ignored), kept
//! only if an L2Advertisement that applies to the Service selects them, and for
//! `externalTrafficPolicy: Local` only nodes hosting a serving endpoint. They are
//! ordered by preferred-node weight, then by `sha256(node + "#" + first ingress IP)`.
//!
//! One rule beyond MetalLB: a node that reports (through membership) which of its
//! interfaces are up is a candidate only if one of them may carry the announcement. A
//! node whose only announcing interface lost its carrier would otherwise keep the
//! address, and its clients would see an outage until the node died outright.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ferrolb_api::annotations as ann;
use ferrolb_api::config::{Config, L2Advertisement, Pool};
use ferrolb_api::service::LbService;
use sha2::{Digest, Sha256};

/// A node as the election sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeInfo {
    /// Node name.
    pub name: String,
    /// Node labels.
    pub labels: BTreeMap<String, String>,
    /// `NetworkUnavailable=True`.
    pub network_unavailable: bool,
    /// Interfaces the node reports up and eligible for announcing; `None` when the node
    /// does not report them (then it is assumed able to announce, as MetalLB does).
    pub up_interfaces: Option<BTreeSet<String>>,
}

/// One endpoint of the Service (from its EndpointSlices).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoint {
    /// The node hosting it.
    pub node: Option<String>,
    /// `conditions.ready` (unset means ready).
    pub ready: Option<bool>,
    /// `conditions.serving`.
    pub serving: Option<bool>,
    /// The endpoint's addresses (BGP only counts endpoints that have some).
    pub addresses: Vec<IpAddr>,
}

impl Endpoint {
    /// MetalLB's `EndpointCanServe`: ready (or unset), or serving while terminating.
    pub fn can_serve(&self) -> bool {
        self.ready.unwrap_or(true) || self.serving == Some(true)
    }
}

/// The election's answer for this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// This node announces.
    Announce,
    /// Another node announces, or nobody can (no serving endpoint, no candidate).
    NotOwner,
    /// No L2Advertisement applying to the Service selects this node.
    NoMatchingAdvertisement,
    /// `allow-shared-ip` together with an advertisement using serviceSelectors: MetalLB
    /// refuses to announce, since sharers could elect different nodes.
    SharedIpWithServiceSelector,
}

impl Verdict {
    /// MetalLB's reason string.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Announce => "",
            Self::NotOwner => "notOwner",
            Self::NoMatchingAdvertisement => "noMatchingAdvertisement",
            Self::SharedIpWithServiceSelector => "sharedIPWithServiceSelector",
        }
    }
}

/// Everything the election reads besides the Service.
#[derive(Clone, Copy, Debug)]
pub struct World<'a> {
    /// The configuration in force.
    pub config: &'a Config,
    /// Known nodes by name.
    pub nodes: &'a BTreeMap<String, NodeInfo>,
    /// Live membership; `None` when membership is disabled (every known node counts).
    pub members: Option<&'a BTreeSet<String>>,
    /// `--ignore-exclude-lb`.
    pub ignore_exclude_lb: bool,
}

/// The L2Advertisements of `pool` that apply to `svc`.
pub fn ads_for_service<'a>(
    cfg: &'a Config,
    pool: &Pool,
    svc: &LbService,
) -> Vec<&'a L2Advertisement> {
    pool.l2_advertisements
        .iter()
        .map(|&i| &cfg.l2_advertisements[i])
        .filter(|ad| {
            ad.service_selectors.is_empty()
                || ad.service_selectors.iter().any(|s| s.matches(&svc.labels))
        })
        .collect()
}

/// Whether a node may carry the announcement given the interfaces it reports up.
fn has_usable_interface(node: &NodeInfo, ads: &[&L2Advertisement]) -> bool {
    let Some(up) = &node.up_interfaces else {
        return true;
    };
    ads.iter()
        .filter(|ad| ad.selects_node(&node.labels))
        .any(|ad| {
            if ad.interfaces.is_empty() {
                !up.is_empty()
            } else {
                ad.interfaces.iter().any(|i| up.contains(i))
            }
        })
}

/// Candidate nodes for announcing `first_ip`, best first. Empty when nobody may announce.
pub fn candidates(
    world: &World<'_>,
    svc: &LbService,
    first_ip: IpAddr,
    ads: &[&L2Advertisement],
    endpoints: &[Endpoint],
) -> Vec<String> {
    let selected = |n: &NodeInfo| ads.iter().any(|ad| ad.selects_node(&n.labels));
    let mut out: Vec<&NodeInfo> = world
        .nodes
        .values()
        .filter(|n| world.members.is_none_or(|m| m.contains(&n.name)))
        .filter(|n| !n.network_unavailable)
        .filter(|n| {
            world.ignore_exclude_lb || !n.labels.contains_key(ann::EXCLUDE_FROM_EXTERNAL_LB_LABEL)
        })
        .filter(|n| selected(n))
        .filter(|n| has_usable_interface(n, ads))
        .collect();
    if svc.external_traffic_local {
        let local: BTreeSet<&str> = endpoints
            .iter()
            .filter(|e| e.can_serve())
            .filter_map(|e| e.node.as_deref())
            .collect();
        out.retain(|n| local.contains(n.name.as_str()));
    }
    let ip = first_ip.to_string();
    let mut ranked: Vec<(i64, [u8; 32], String)> = out
        .into_iter()
        .map(|n| {
            let score = preference(ads, n);
            let hash: [u8; 32] = Sha256::digest(format!("{}#{ip}", n.name).as_bytes()).into();
            (score, hash, n.name.clone())
        })
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    ranked.into_iter().map(|(_, _, n)| n).collect()
}

/// Sum of the weights of every preferred-node selector matching the node, over every
/// advertisement that both applies to the Service and selects the node.
fn preference(ads: &[&L2Advertisement], node: &NodeInfo) -> i64 {
    ads.iter()
        .filter(|ad| ad.selects_node(&node.labels))
        .flat_map(|ad| ad.preferred_nodes.iter())
        .filter(|p| p.selector.matches(&node.labels))
        .map(|p| i64::from(p.weight))
        .sum()
}

/// The node that announces `first_ip` for `svc`, as every speaker computes it, or
/// `None` when nobody may.
pub fn winner(
    world: &World<'_>,
    svc: &LbService,
    first_ip: IpAddr,
    pool: &Pool,
    endpoints: &[Endpoint],
) -> Option<String> {
    if !endpoints.iter().any(Endpoint::can_serve) {
        return None;
    }
    let ads = ads_for_service(world.config, pool, svc);
    let shares = svc.annotations.contains_key(ann::ALLOW_SHARED_IP)
        || svc.annotations.contains_key(ann::LEGACY_ALLOW_SHARED_IP);
    if shares && ads.iter().any(|ad| !ad.service_selectors.is_empty()) {
        return None;
    }
    candidates(world, svc, first_ip, &ads, endpoints)
        .into_iter()
        .next()
}

/// MetalLB's `ShouldAnnounce` for Layer 2, from `my_node`'s point of view.
pub fn should_announce(
    world: &World<'_>,
    my_node: &str,
    svc: &LbService,
    first_ip: IpAddr,
    pool: &Pool,
    endpoints: &[Endpoint],
) -> Verdict {
    if !endpoints.iter().any(Endpoint::can_serve) {
        return Verdict::NotOwner;
    }
    let ads = ads_for_service(world.config, pool, svc);
    let shares = svc.annotations.contains_key(ann::ALLOW_SHARED_IP)
        || svc.annotations.contains_key(ann::LEGACY_ALLOW_SHARED_IP);
    if shares && ads.iter().any(|ad| !ad.service_selectors.is_empty()) {
        return Verdict::SharedIpWithServiceSelector;
    }
    let Some(me) = world.nodes.get(my_node) else {
        return Verdict::NoMatchingAdvertisement;
    };
    if !ads.iter().any(|ad| ad.selects_node(&me.labels)) {
        return Verdict::NoMatchingAdvertisement;
    }
    match candidates(world, svc, first_ip, &ads, endpoints).first() {
        Some(winner) if winner == my_node => Verdict::Announce,
        _ => Verdict::NotOwner,
    }
}

#[cfg(test)]
mod tests;
