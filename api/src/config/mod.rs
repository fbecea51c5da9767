//! Validation of metallb.io resources into one typed [`Config`].
//!
//! The rules are MetalLB's (`internal/config`), minus those that only exist because of
//! one of its BGP backends: ferrolb's own speaker does BFD, IPv6, large communities and
//! per-peer router IDs and ASNs natively. Unlike MetalLB, validation does not stop at
//! the first problem: every error is reported, each naming `Kind/name`, the field path
//! and the reason.

mod address;
mod advertisement;
mod bfd;
mod community;
mod error;
mod peer;
mod pool;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Namespace, Node, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub use address::{AddressError, Family, bounds, from_u128, is_buggy, parse_entry, size, to_u128};
pub use advertisement::{BgpAdvertisement, L2Advertisement, PreferredNode, local_pref_compatible};
pub use bfd::BfdProfile;
pub use community::{Community, CommunityError};
pub use error::{ConfigError, ConfigErrors};
pub use peer::{DEFAULT_HOLD_TIME, Peer, PeerAddress, PeerAsn, Timers};
pub use pool::{AddressEntry, Pool, ServiceAllocation};

use crate::load::Resources;

/// What validation needs to know besides the objects themselves.
#[derive(Clone, Debug)]
pub struct Options {
    /// The namespace configuration objects must live in.
    pub namespace: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            namespace: crate::DEFAULT_NAMESPACE.to_owned(),
        }
    }
}

/// A validated configuration. Maps are keyed by object name, so iteration order (and
/// therefore everything derived from it) is deterministic.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    /// Address pools.
    pub pools: BTreeMap<String, Pool>,
    /// BGP peers.
    pub peers: BTreeMap<String, Peer>,
    /// BFD profiles.
    pub bfd_profiles: BTreeMap<String, BfdProfile>,
    /// Layer 2 advertisements, in input order.
    pub l2_advertisements: Vec<L2Advertisement>,
    /// BGP advertisements, in input order.
    pub bgp_advertisements: Vec<BgpAdvertisement>,
    /// Community aliases by name.
    pub community_aliases: BTreeMap<String, Community>,
}

/// The inputs one validation pass looks at.
pub(crate) struct Ctx<'a> {
    pub namespaces: &'a [Namespace],
    pub nodes: &'a [Node],
    pub secrets: &'a [Secret],
    pub opts: &'a Options,
}

impl Config {
    /// Validates `res` into a configuration, or lists every reason it cannot be.
    pub fn from_resources(res: &Resources, opts: &Options) -> Result<Self, ConfigErrors> {
        let mut errs = ConfigErrors::default();
        let ctx = Ctx {
            namespaces: &res.namespaces,
            nodes: &res.nodes,
            secrets: &res.secrets,
            opts,
        };
        check_namespaces(res, opts, &mut errs);
        check_unique_names(res, &mut errs);

        let bfd_profiles = bfd::profiles(&res.bfd_profiles, &mut errs);
        let peers = peer::peers(&res.bgp_peers, &bfd_profiles, &ctx, &mut errs);
        let community_aliases = community::aliases(&res.communities, &mut errs);
        let mut pools = pool::pools(&res.ip_address_pools, &ctx, &mut errs);
        let l2_advertisements = advertisement::l2_advertisements(
            &res.l2_advertisements,
            &res.ip_address_pools,
            &mut pools,
            &mut errs,
        );
        let bgp_advertisements = advertisement::bgp_advertisements(
            &res.bgp_advertisements,
            &res.ip_address_pools,
            &mut pools,
            &community_aliases,
            &ctx,
            &mut errs,
        );
        let cfg = Self {
            pools,
            peers,
            bfd_profiles,
            l2_advertisements,
            bgp_advertisements,
            community_aliases,
        };
        cfg.check_bfd_echo_with_ipv6(&mut errs);
        if errs.is_empty() { Ok(cfg) } else { Err(errs) }
    }

    /// MetalLB refuses BFD echo mode on a peer that may carry an IPv6 pool's routes.
    fn check_bfd_echo_with_ipv6(&self, errs: &mut ConfigErrors) {
        for pool in self.pools.values() {
            if !pool.cidrs.iter().any(|c| matches!(c, ipnet::IpNet::V6(_))) {
                continue;
            }
            for &ai in &pool.bgp_advertisements {
                let ad = &self.bgp_advertisements[ai];
                let peers: Vec<&Peer> = if ad.peers.is_empty() {
                    self.peers.values().collect()
                } else {
                    ad.peers.iter().filter_map(|p| self.peers.get(p)).collect()
                };
                for p in peers {
                    let echo = p
                        .bfd_profile
                        .as_ref()
                        .and_then(|b| self.bfd_profiles.get(b))
                        .is_some_and(|b| b.echo_mode);
                    if echo {
                        errs.push(ConfigError::new(
                            "BGPPeer",
                            &p.name,
                            "spec.bfdProfile",
                            format!(
                                "BFD profile {:?} enables echo mode, which cannot be used for IPv6: pool {:?} has IPv6 addresses advertised to this peer by BGPAdvertisement {:?}",
                                p.bfd_profile.as_deref().unwrap_or_default(),
                                pool.name,
                                ad.name
                            ),
                        ));
                    }
                }
            }
        }
    }

    /// The pool holding every address of `ips` (pools never overlap). With
    /// `avoidBuggyIPs`, `.0` / `.255` addresses belong to no pool.
    pub fn pool_for(&self, ips: &[std::net::IpAddr]) -> Option<&Pool> {
        let first = ips.first()?;
        let pool = self.pools.values().find(|p| p.contains(*first))?;
        ips.iter().all(|ip| pool.contains(*ip)).then_some(pool)
    }

    /// Names of the pools, in name order.
    pub fn pool_names(&self) -> impl Iterator<Item = &str> {
        self.pools.keys().map(String::as_str)
    }
}

/// Configuration objects are read only from MetalLB's namespace.
fn check_namespaces(res: &Resources, opts: &Options, errs: &mut ConfigErrors) {
    let mut check = |kind: &'static str, meta: &ObjectMeta| {
        if let Some(ns) = meta.namespace.as_deref()
            && ns != opts.namespace
        {
            errs.push(ConfigError::new(
                kind,
                meta.name.as_deref().unwrap_or_default(),
                "metadata.namespace",
                format!(
                    "is {ns:?}, but configuration objects are only read from the {:?} namespace",
                    opts.namespace
                ),
            ));
        }
    };
    res.ip_address_pools
        .iter()
        .for_each(|o| check("IPAddressPool", &o.metadata));
    res.l2_advertisements
        .iter()
        .for_each(|o| check("L2Advertisement", &o.metadata));
    res.bgp_advertisements
        .iter()
        .for_each(|o| check("BGPAdvertisement", &o.metadata));
    res.bgp_peers
        .iter()
        .for_each(|o| check("BGPPeer", &o.metadata));
    res.bfd_profiles
        .iter()
        .for_each(|o| check("BFDProfile", &o.metadata));
    res.communities
        .iter()
        .for_each(|o| check("Community", &o.metadata));
}

/// Two objects of one kind with one name cannot both exist in a cluster; from files
/// the second would silently replace the first, so it is an error.
fn check_unique_names(res: &Resources, errs: &mut ConfigErrors) {
    fn dupes<'a>(
        kind: &'static str,
        metas: impl Iterator<Item = &'a ObjectMeta>,
        errs: &mut ConfigErrors,
    ) {
        let mut seen = BTreeSet::new();
        for m in metas {
            let name = m.name.as_deref().unwrap_or_default();
            if name.is_empty() {
                errs.push(ConfigError::new(
                    kind,
                    "<unnamed>",
                    "metadata.name",
                    "is required",
                ));
            } else if !seen.insert(name) {
                errs.push(ConfigError::new(
                    kind,
                    name,
                    "metadata.name",
                    format!("{kind} {name:?} is defined more than once"),
                ));
            }
        }
    }
    dupes(
        "IPAddressPool",
        res.ip_address_pools.iter().map(|o| &o.metadata),
        errs,
    );
    dupes(
        "L2Advertisement",
        res.l2_advertisements.iter().map(|o| &o.metadata),
        errs,
    );
    dupes(
        "BGPAdvertisement",
        res.bgp_advertisements.iter().map(|o| &o.metadata),
        errs,
    );
    dupes("BGPPeer", res.bgp_peers.iter().map(|o| &o.metadata), errs);
    dupes(
        "BFDProfile",
        res.bfd_profiles.iter().map(|o| &o.metadata),
        errs,
    );
    dupes(
        "Community",
        res.communities.iter().map(|o| &o.metadata),
        errs,
    );
}

/// Name of an object, empty when unset.
pub(crate) fn name_of(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or_default()
}

/// Labels of an object.
pub(crate) fn labels_of(meta: &ObjectMeta) -> BTreeMap<String, String> {
    meta.labels.clone().unwrap_or_default()
}

/// Reports repeated strings in a list field (`duplicate definition of ...`).
pub(crate) fn check_duplicate_strings(
    kind: &'static str,
    name: &str,
    field: &str,
    values: &[String],
    errs: &mut ConfigErrors,
) {
    let mut seen = BTreeSet::new();
    for (i, v) in values.iter().enumerate() {
        if !seen.insert(v) {
            errs.push(ConfigError::new(
                kind,
                name,
                format!("{field}[{i}]"),
                format!("duplicate definition of {v:?}"),
            ));
        }
    }
}

/// Parses a list of selectors, reporting invalid and duplicate ones (MetalLB compares
/// selectors with match-expression values sorted, and refuses repeated values and
/// repeated expressions inside one selector).
pub(crate) fn parse_selectors(
    kind: &'static str,
    name: &str,
    field: &str,
    selectors: &[crate::selector::LabelSelector],
    errs: &mut ConfigErrors,
) -> Vec<crate::selector::Selector> {
    let mut out = Vec::new();
    let mut seen: Vec<crate::selector::LabelSelector> = Vec::new();
    for (i, s) in selectors.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let canonical = s.canonical();
        if seen.contains(&canonical) {
            errs.push(ConfigError::new(kind, name, &at, "duplicate selector"));
            continue;
        }
        for (ei, e) in canonical.match_expressions.iter().enumerate() {
            if e.values.windows(2).any(|w| w[0] == w[1]) {
                errs.push(ConfigError::new(
                    kind,
                    name,
                    format!("{at}.matchExpressions[{ei}].values"),
                    "duplicate value",
                ));
            }
            if canonical.match_expressions[..ei].contains(e) {
                errs.push(ConfigError::new(
                    kind,
                    name,
                    format!("{at}.matchExpressions[{ei}]"),
                    "duplicate match expression",
                ));
            }
        }
        seen.push(canonical);
        match s.to_selector() {
            Ok(sel) => out.push(sel),
            Err(e) => errs.push(ConfigError::new(
                kind,
                name,
                format!("{at}.{}", e.field),
                e.reason,
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests;
