//! L2Advertisement and BGPAdvertisement validation, and attaching them to pools.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;

use super::address::Family;
use super::community::{Community, CommunityError};
use super::pool::Pool;
use super::{
    ConfigError, ConfigErrors, Ctx, check_duplicate_strings, labels_of, name_of, parse_selectors,
};
use crate::selector::Selector;
use crate::v1beta1;

/// A validated Layer 2 advertisement.
#[derive(Clone, Debug, PartialEq)]
pub struct L2Advertisement {
    /// Name.
    pub name: String,
    /// Pools it covers (names of existing pools).
    pub pools: BTreeSet<String>,
    /// Nodes allowed to announce; empty means every node.
    pub node_selectors: Vec<Selector>,
    /// Interfaces to announce on; empty means every eligible interface.
    pub interfaces: Vec<String>,
    /// Services it applies to; empty means every Service.
    pub service_selectors: Vec<Selector>,
    /// Weighted node preferences.
    pub preferred_nodes: Vec<PreferredNode>,
}

/// One weighted preference.
#[derive(Clone, Debug, PartialEq)]
pub struct PreferredNode {
    /// 1 to 100.
    pub weight: i32,
    /// Nodes receiving the weight.
    pub selector: Selector,
}

/// A validated BGP advertisement.
#[derive(Clone, Debug, PartialEq)]
pub struct BgpAdvertisement {
    /// Name.
    pub name: String,
    /// Pools it covers (names of existing pools).
    pub pools: BTreeSet<String>,
    /// IPv4 prefix length to announce.
    pub aggregation_length: u8,
    /// IPv6 prefix length to announce.
    pub aggregation_length_v6: u8,
    /// LOCAL_PREF (iBGP only).
    pub local_pref: u32,
    /// Communities, aliases resolved.
    pub communities: BTreeSet<Community>,
    /// Nodes that announce; empty means every node.
    pub node_selectors: Vec<Selector>,
    /// Peers to announce to; empty means every peer.
    pub peers: Vec<String>,
    /// Services it applies to; empty means every Service.
    pub service_selectors: Vec<Selector>,
}

/// Whether a node is selected by a list of selectors where "none" means "all".
pub fn selects(selectors: &[Selector], labels: &BTreeMap<String, String>) -> bool {
    selectors.is_empty() || selectors.iter().any(|s| s.matches(labels))
}

impl L2Advertisement {
    /// Whether a node with `labels` may announce under this advertisement.
    pub fn selects_node(&self, labels: &BTreeMap<String, String>) -> bool {
        selects(&self.node_selectors, labels)
    }
}

impl BgpAdvertisement {
    /// Whether a node with `labels` announces under this advertisement.
    pub fn selects_node(&self, labels: &BTreeMap<String, String>) -> bool {
        selects(&self.node_selectors, labels)
    }
}

/// Pools chosen by names and label selectors; none of either means all pools.
fn chosen_pools(
    kind: &'static str,
    name: &str,
    names: &[String],
    selectors: &[crate::selector::LabelSelector],
    pool_objs: &[v1beta1::IPAddressPool],
    pools: &BTreeMap<String, Pool>,
    errs: &mut ConfigErrors,
) -> BTreeSet<String> {
    check_duplicate_strings(kind, name, "spec.ipAddressPools", names, errs);
    let sels = parse_selectors(kind, name, "spec.ipAddressPoolSelectors", selectors, errs);
    if names.is_empty() && selectors.is_empty() {
        return pools.keys().cloned().collect();
    }
    let mut out: BTreeSet<String> = names
        .iter()
        .filter(|n| pools.contains_key(*n))
        .cloned()
        .collect();
    for p in pool_objs {
        let labels = labels_of(&p.metadata);
        let pname = name_of(&p.metadata);
        if pools.contains_key(pname) && sels.iter().any(|s| s.matches(&labels)) {
            out.insert(pname.to_owned());
        }
    }
    out
}

pub(super) fn l2_advertisements(
    objs: &[v1beta1::L2Advertisement],
    pool_objs: &[v1beta1::IPAddressPool],
    pools: &mut BTreeMap<String, Pool>,
    errs: &mut ConfigErrors,
) -> Vec<L2Advertisement> {
    const KIND: &str = "L2Advertisement";
    let mut out = Vec::new();
    for obj in objs {
        let name = name_of(&obj.metadata);
        let s = &obj.spec;
        let chosen = chosen_pools(
            KIND,
            name,
            &s.ip_address_pools,
            &s.ip_address_pool_selectors,
            pool_objs,
            pools,
            errs,
        );
        let node_selectors =
            parse_selectors(KIND, name, "spec.nodeSelectors", &s.node_selectors, errs);
        let service_selectors = parse_selectors(
            KIND,
            name,
            "spec.serviceSelectors",
            &s.service_selectors,
            errs,
        );
        let mut preferred_nodes = Vec::new();
        for (i, p) in s.preferred_node_selectors.iter().enumerate() {
            let at = format!("spec.preferredNodeSelectors[{i}]");
            if !(1..=100).contains(&p.weight) {
                errs.push(ConfigError::new(
                    KIND,
                    name,
                    format!("{at}.weight"),
                    format!("{} is out of range: must be 1 to 100", p.weight),
                ));
            }
            match p.preference.to_selector() {
                Ok(selector) => preferred_nodes.push(PreferredNode {
                    weight: p.weight,
                    selector,
                }),
                Err(e) => errs.push(ConfigError::new(
                    KIND,
                    name,
                    format!("{at}.preference.{}", e.field),
                    e.reason,
                )),
            }
        }
        let index = out.len();
        for p in &chosen {
            if let Some(pool) = pools.get_mut(p) {
                pool.l2_advertisements.push(index);
            }
        }
        out.push(L2Advertisement {
            name: name.to_owned(),
            pools: chosen,
            node_selectors,
            interfaces: s.interfaces.clone(),
            service_selectors,
            preferred_nodes,
        });
    }
    out
}

pub(super) fn bgp_advertisements(
    objs: &[v1beta1::BGPAdvertisement],
    pool_objs: &[v1beta1::IPAddressPool],
    pools: &mut BTreeMap<String, Pool>,
    aliases: &BTreeMap<String, Community>,
    ctx: &Ctx<'_>,
    errs: &mut ConfigErrors,
) -> Vec<BgpAdvertisement> {
    const KIND: &str = "BGPAdvertisement";
    let mut out: Vec<BgpAdvertisement> = Vec::new();
    // Node names each advertisement selects, for the LOCAL_PREF conflict rule.
    let mut node_sets: Vec<BTreeSet<String>> = Vec::new();
    for obj in objs {
        let name = name_of(&obj.metadata);
        let s = &obj.spec;
        let chosen = chosen_pools(
            KIND,
            name,
            &s.ip_address_pools,
            &s.ip_address_pool_selectors,
            pool_objs,
            pools,
            errs,
        );
        check_duplicate_strings(KIND, name, "spec.communities", &s.communities, errs);
        check_duplicate_strings(KIND, name, "spec.peers", &s.peers, errs);
        let node_selectors =
            parse_selectors(KIND, name, "spec.nodeSelectors", &s.node_selectors, errs);
        let service_selectors = parse_selectors(
            KIND,
            name,
            "spec.serviceSelectors",
            &s.service_selectors,
            errs,
        );
        let v4 = s.aggregation_length.unwrap_or(32);
        let v6 = s.aggregation_length_v6.unwrap_or(128);
        if !service_selectors.is_empty() || !s.service_selectors.is_empty() {
            if v4 != 32 {
                errs.push(ConfigError::new(KIND, name, "spec.aggregationLength", "serviceSelectors and aggregationLength are mutually exclusive: with serviceSelectors the aggregation length must be 32"));
            }
            if v6 != 128 {
                errs.push(ConfigError::new(KIND, name, "spec.aggregationLengthV6", "serviceSelectors and aggregationLengthV6 are mutually exclusive: with serviceSelectors the aggregation length must be 128"));
            }
        }
        let mut length = |field: &str, v: i32, lo: i32, hi: i32| -> u8 {
            if (lo..=hi).contains(&v) {
                v as u8
            } else {
                errs.push(ConfigError::new(
                    KIND,
                    name,
                    field,
                    format!("invalid aggregation length {v}: must be {lo} to {hi}"),
                ));
                hi as u8
            }
        };
        let aggregation_length = length("spec.aggregationLength", v4, 1, 32);
        let aggregation_length_v6 = length("spec.aggregationLengthV6", v6, 0, 128);
        let mut communities = BTreeSet::new();
        for (i, c) in s.communities.iter().enumerate() {
            let field = format!("spec.communities[{i}]");
            if let Some(v) = aliases.get(c) {
                communities.insert(*v);
                continue;
            }
            match Community::parse(c) {
                Ok(v) => {
                    communities.insert(v);
                }
                Err(CommunityError::Format(_)) => errs.push(ConfigError::missing(
                    KIND,
                    name,
                    field,
                    format!("{c:?} is neither a community value (AA:NN, large:GA:LD1:LD2) nor a defined Community alias"),
                )),
                Err(e) => errs.push(ConfigError::new(KIND, name, field, e.to_string())),
            }
        }
        let ad = BgpAdvertisement {
            name: name.to_owned(),
            pools: chosen,
            aggregation_length,
            aggregation_length_v6,
            local_pref: s.local_pref,
            communities,
            node_selectors,
            peers: s.peers.clone(),
            service_selectors,
        };
        let nodes: BTreeSet<String> = ctx
            .nodes
            .iter()
            .filter(|n| ad.selects_node(&labels_of(&n.metadata)))
            .map(|n| name_of(&n.metadata).to_owned())
            .collect();
        let index = out.len();
        for pname in &ad.pools {
            let Some(pool) = pools.get(pname) else {
                continue;
            };
            check_aggregation(KIND, &ad, pool, errs);
            if ad.service_selectors.is_empty() {
                for &other in &pool.bgp_advertisements {
                    let o = &out[other];
                    if o.service_selectors.is_empty()
                        && !local_pref_compatible(&ad, &nodes, o, &node_sets[other], pool)
                    {
                        errs.push(ConfigError::new(
                            KIND,
                            name,
                            "spec.localPref",
                            format!(
                                "local preference {} conflicts with local preference {} of BGPAdvertisement {:?} for pool {:?}: both announce the same prefixes to the same peers from the same nodes",
                                ad.local_pref, o.local_pref, o.name, pool.name
                            ),
                        ));
                    }
                }
            }
            if let Some(pool) = pools.get_mut(pname) {
                pool.bgp_advertisements.push(index);
            }
        }
        node_sets.push(nodes);
        out.push(ad);
    }
    out
}

/// An advertisement cannot aggregate to a prefix shorter than the pool's own widest
/// CIDR for an address entry ("prefix ... more specific than the aggregation length").
fn check_aggregation(
    kind: &'static str,
    ad: &BgpAdvertisement,
    pool: &Pool,
    errs: &mut ConfigErrors,
) {
    for e in &pool.entries {
        let (max, field) = match e.family {
            Family::V4 => (ad.aggregation_length, "spec.aggregationLength"),
            Family::V6 => (ad.aggregation_length_v6, "spec.aggregationLengthV6"),
        };
        let widest = e.cidrs.iter().map(IpNet::prefix_len).min().unwrap_or(0);
        if max < widest {
            errs.push(ConfigError::new(
                kind,
                &ad.name,
                field,
                format!(
                    "invalid aggregation length {max}: prefix {widest} in pool {:?} is more specific than the aggregation length for addresses {:?}",
                    pool.name, e.text
                ),
            ));
        }
    }
}

/// MetalLB's `BGPAdvertisementsHaveCompatibleLocalPref`: two advertisements of one pool
/// may differ in LOCAL_PREF only if they announce different prefixes (aggregation), to
/// disjoint peers, or from disjoint nodes (`a_nodes`, `b_nodes`: the nodes each selects).
pub fn local_pref_compatible(
    a: &BgpAdvertisement,
    a_nodes: &BTreeSet<String>,
    b: &BgpAdvertisement,
    b_nodes: &BTreeSet<String>,
    pool: &Pool,
) -> bool {
    if a.local_pref == b.local_pref {
        return true;
    }
    let has_v4 = pool.has_family(Family::V4);
    let has_v6 = pool.has_family(Family::V6);
    let v4_differs = a.aggregation_length != b.aggregation_length;
    let v6_differs = a.aggregation_length_v6 != b.aggregation_length_v6;
    let announces_other_prefixes = match (has_v4, has_v6) {
        (false, false) => true,
        (true, false) => v4_differs,
        (false, true) => v6_differs,
        (true, true) => v4_differs && v6_differs,
    };
    if announces_other_prefixes {
        return true;
    }
    if !a.peers.is_empty() && !b.peers.is_empty() && !a.peers.iter().any(|p| b.peers.contains(p)) {
        return true;
    }
    a_nodes.is_disjoint(b_nodes)
}
