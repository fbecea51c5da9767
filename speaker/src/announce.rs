//! What this node announces: Layer 2 addresses with their interfaces, and BGP routes
//! per peer, from the configuration, the Services with their endpoints, and the nodes
//! (MetalLB's `SetBalancer` gating and each protocol's `ShouldAnnounce`).
//!
//! Both protocols are evaluated independently: one pool may be announced by both.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ferrolb_api::annotations as ann;
use ferrolb_api::config::{BgpAdvertisement, Community, Config, Pool, local_pref_compatible};
use ferrolb_api::service::LbService;
use ipnet::IpNet;

use crate::bgp::session::Route;
use crate::election::{self, Endpoint, NodeInfo, Verdict, World};

/// A Service and its endpoints, as the speaker watches them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceView {
    /// The Service.
    pub service: LbService,
    /// Its endpoints (from every EndpointSlice).
    pub endpoints: Vec<Endpoint>,
}

/// Where one address is announced in Layer 2 mode.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct L2Announcement {
    /// Interface names; empty means every eligible interface.
    pub interfaces: BTreeSet<String>,
    /// Services (`namespace/name`) using the address.
    pub services: BTreeSet<String>,
}

/// Why a Service is not announced from this node, per protocol (MetalLB's reasons).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    /// `namespace/name`.
    pub service: String,
    /// `layer2` or `bgp`.
    pub protocol: &'static str,
    /// MetalLB's reason string (`notOwner`, `noLocalEndpoints`, ...).
    pub reason: &'static str,
}

/// The speaker's decision for this node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Announcements {
    /// Layer 2: address -> interfaces and Services.
    pub layer2: BTreeMap<IpAddr, L2Announcement>,
    /// Layer 2: which node announces each address (every speaker computes the same).
    pub l2_owners: BTreeMap<IpAddr, String>,
    /// BGP: peer name -> prefix -> route attributes.
    pub bgp: BTreeMap<String, BTreeMap<IpNet, Route>>,
    /// Services this node does not announce, with why.
    pub skipped: Vec<Skip>,
}

/// The ingress addresses and pool of an announceable Service, or `None` (MetalLB's
/// common gating: not a LoadBalancer, no address, an unparsable one, or one in no pool).
fn gate<'a>(cfg: &'a Config, svc: &LbService) -> Option<(Vec<IpAddr>, &'a Pool)> {
    if !svc.is_load_balancer || svc.ingress_ips.is_empty() {
        return None;
    }
    let ips: Vec<IpAddr> = svc
        .ingress_ips
        .iter()
        .map(|s| s.parse().ok())
        .collect::<Option<_>>()?;
    let pool = cfg.pool_for(&ips)?;
    Some((ips, pool))
}

/// Computes everything `my_node` announces.
pub fn announcements(world: &World<'_>, my_node: &str, services: &[ServiceView]) -> Announcements {
    let mut out = Announcements::default();
    let node_peers: Vec<&str> = match world.nodes.get(my_node) {
        Some(me) => world
            .config
            .peers
            .values()
            .filter(|p| p.selects_node(&me.labels))
            .map(|p| p.name.as_str())
            .collect(),
        None => Vec::new(),
    };
    for p in &node_peers {
        out.bgp.insert((*p).to_owned(), BTreeMap::new());
    }
    for view in services {
        let svc = &view.service;
        let Some((ips, pool)) = gate(world.config, svc) else {
            continue;
        };
        let key = svc.key();
        // Layer 2, if the pool has L2 advertisements at all.
        if !pool.l2_advertisements.is_empty() {
            if let Some(w) = election::winner(world, svc, ips[0], pool, &view.endpoints) {
                for ip in &ips {
                    out.l2_owners.insert(*ip, w.clone());
                }
            }
            match election::should_announce(world, my_node, svc, ips[0], pool, &view.endpoints) {
                Verdict::Announce => {
                    let interfaces = l2_interfaces(world, my_node, pool, svc);
                    for ip in &ips {
                        let a = out.layer2.entry(*ip).or_default();
                        a.services.insert(key.clone());
                        if a.services.len() == 1 {
                            a.interfaces = interfaces.clone();
                        } else if a.interfaces.is_empty() || interfaces.is_empty() {
                            a.interfaces.clear();
                        } else {
                            a.interfaces.extend(interfaces.iter().cloned());
                        }
                    }
                }
                v => out.skipped.push(Skip {
                    service: key.clone(),
                    protocol: "layer2",
                    reason: v.reason(),
                }),
            }
        }
        if !pool.bgp_advertisements.is_empty() {
            match bgp_verdict(world, my_node, svc, pool, &view.endpoints) {
                Ok(ads) => add_routes(&mut out.bgp, &node_peers, &ips, &ads),
                Err(reason) => out.skipped.push(Skip {
                    service: key,
                    protocol: "bgp",
                    reason,
                }),
            }
        }
    }
    out
}

/// Union of the `interfaces` of the advertisements that apply to the Service and select
/// this node; empty (all interfaces) if any of them names none.
fn l2_interfaces(
    world: &World<'_>,
    my_node: &str,
    pool: &Pool,
    svc: &LbService,
) -> BTreeSet<String> {
    let Some(me) = world.nodes.get(my_node) else {
        return BTreeSet::new();
    };
    let mut out = BTreeSet::new();
    for ad in election::ads_for_service(world.config, pool, svc) {
        if !ad.selects_node(&me.labels) {
            continue;
        }
        if ad.interfaces.is_empty() {
            return BTreeSet::new();
        }
        out.extend(ad.interfaces.iter().cloned());
    }
    out
}

fn nodes_of(world: &World<'_>, ad: &BgpAdvertisement) -> BTreeSet<String> {
    world
        .nodes
        .values()
        .filter(|n| ad.selects_node(&n.labels))
        .map(|n| n.name.clone())
        .collect()
}

/// MetalLB's BGP `ShouldAnnounce`: the advertisements to use, or the reason not to.
fn bgp_verdict<'a>(
    world: &World<'a>,
    my_node: &str,
    svc: &LbService,
    pool: &Pool,
    endpoints: &[Endpoint],
) -> Result<Vec<&'a BgpAdvertisement>, &'static str> {
    let me: &NodeInfo = world.nodes.get(my_node).ok_or("notOwner")?;
    let cfg = world.config;
    let pool_ads: Vec<&BgpAdvertisement> = pool
        .bgp_advertisements
        .iter()
        .map(|&i| &cfg.bgp_advertisements[i])
        .collect();
    if !pool_ads.iter().any(|ad| ad.selects_node(&me.labels)) {
        return Err("notOwner");
    }
    let ads: Vec<&BgpAdvertisement> = pool_ads
        .into_iter()
        .filter(|ad| ad.selects_node(&me.labels))
        .filter(|ad| {
            ad.service_selectors.is_empty()
                || ad.service_selectors.iter().any(|s| s.matches(&svc.labels))
        })
        .collect();
    if ads.is_empty() {
        return Err("noMatchingAdvertisement");
    }
    for (i, a) in ads.iter().enumerate() {
        for b in &ads[i + 1..] {
            if !local_pref_compatible(a, &nodes_of(world, a), b, &nodes_of(world, b), pool) {
                return Err("conflictingAdvertisements");
            }
        }
    }
    if me.network_unavailable {
        return Err("nodeNetworkUnavailable");
    }
    if !world.ignore_exclude_lb && me.labels.contains_key(ann::EXCLUDE_FROM_EXTERNAL_LB_LABEL) {
        return Err("nodeLabeledExcludeBalancers");
    }
    let healthy = |e: &Endpoint| !e.addresses.is_empty() && e.can_serve();
    if svc.external_traffic_local {
        if !endpoints
            .iter()
            .any(|e| healthy(e) && e.node.as_deref() == Some(my_node))
        {
            return Err("noLocalEndpoints");
        }
    } else if !endpoints.iter().any(healthy) {
        return Err("noEndpoints");
    }
    Ok(ads)
}

/// Routes for each address x advertisement, to the advertisement's peers (all of this
/// node's peers when it names none). The same prefix from several advertisements is
/// one route with the union of their communities.
fn add_routes(
    bgp: &mut BTreeMap<String, BTreeMap<IpNet, Route>>,
    node_peers: &[&str],
    ips: &[IpAddr],
    ads: &[&BgpAdvertisement],
) {
    for ip in ips {
        for ad in ads {
            let len = match ip {
                IpAddr::V4(_) => ad.aggregation_length,
                IpAddr::V6(_) => ad.aggregation_length_v6,
            };
            let Ok(prefix) = IpNet::new(*ip, len).map(|n| n.trunc()) else {
                continue;
            };
            for peer in node_peers {
                if !ad.peers.is_empty() && !ad.peers.iter().any(|p| p == peer) {
                    continue;
                }
                let route = bgp
                    .entry((*peer).to_owned())
                    .or_default()
                    .entry(prefix)
                    .or_default();
                for c in &ad.communities {
                    match c {
                        Community::Standard(hi, lo) => route
                            .communities
                            .push((u32::from(*hi) << 16) | u32::from(*lo)),
                        Community::Large(a, b, c) => route.large_communities.push((*a, *b, *c)),
                    }
                }
                route.communities.sort_unstable();
                route.communities.dedup();
                route.large_communities.sort_unstable();
                route.large_communities.dedup();
                if ad.local_pref != 0 {
                    route.local_pref = Some(
                        route
                            .local_pref
                            .map_or(ad.local_pref, |lp| lp.max(ad.local_pref)),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
