//! IPAddressPool validation.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;

use super::address::{Family, bounds, parse_entry};
use super::{
    ConfigError, ConfigErrors, Ctx, check_duplicate_strings, labels_of, name_of, parse_selectors,
};
use crate::selector::Selector;
use crate::v1beta1::IPAddressPool;

const KIND: &str = "IPAddressPool";

/// A validated pool.
#[derive(Clone, Debug, PartialEq)]
pub struct Pool {
    /// Name.
    pub name: String,
    /// The pool object's labels (for `ipAddressPoolSelectors`).
    pub labels: BTreeMap<String, String>,
    /// All addresses as CIDRs, in the order written (ranges summarised in place).
    pub cidrs: Vec<IpNet>,
    /// The entries as written, each with its CIDRs.
    pub entries: Vec<AddressEntry>,
    /// Skip `.0` / `.255` IPv4 addresses.
    pub avoid_buggy_ips: bool,
    /// Used for automatic allocation.
    pub auto_assign: bool,
    /// Restrictions, when `spec.serviceAllocation` is present.
    pub allocation: Option<ServiceAllocation>,
    /// Indexes into [`super::Config::l2_advertisements`] of the ads covering this pool.
    pub l2_advertisements: Vec<usize>,
    /// Indexes into [`super::Config::bgp_advertisements`] of the ads covering this pool.
    pub bgp_advertisements: Vec<usize>,
}

/// One `spec.addresses` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressEntry {
    /// As written.
    pub text: String,
    /// Family of its addresses.
    pub family: Family,
    /// Its CIDRs.
    pub cidrs: Vec<IpNet>,
}

/// `spec.serviceAllocation`, with namespace selectors resolved to names.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceAllocation {
    /// Lower positive is preferred; 0 is tried after every positive priority.
    pub priority: i64,
    /// Namespaces allowed (listed, or matched by a selector). Empty: any namespace.
    pub namespaces: BTreeSet<String>,
    /// Service selectors; a Service must match one. Empty: any Service. MetalLB puts a
    /// match-everything selector here when `serviceAllocation` names nothing at all.
    pub service_selectors: Vec<Selector>,
}

impl Pool {
    /// Whether `ip` is one of the pool's allocatable addresses.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        !(self.avoid_buggy_ips && super::address::is_buggy(ip))
            && self.cidrs.iter().any(|c| c.contains(&ip))
    }

    /// Whether the pool has addresses of `family`.
    pub fn has_family(&self, family: Family) -> bool {
        self.entries.iter().any(|e| e.family == family)
    }

    /// Whether a Service in `namespace` with `labels` may take addresses from this pool.
    pub fn allows(&self, namespace: &str, labels: &BTreeMap<String, String>) -> bool {
        let Some(a) = &self.allocation else {
            return true;
        };
        if !a.namespaces.is_empty() && !a.namespaces.contains(namespace) {
            return false;
        }
        a.service_selectors.is_empty() || a.service_selectors.iter().any(|s| s.matches(labels))
    }

    /// Whether the pool is one of the "pinned" pools tried before the general ones:
    /// it lists namespaces or has service selectors.
    pub fn is_pinned(&self) -> bool {
        self.allocation
            .as_ref()
            .is_some_and(|a| !a.namespaces.is_empty() || !a.service_selectors.is_empty())
    }
}

pub(super) fn pools(
    objs: &[IPAddressPool],
    ctx: &Ctx<'_>,
    errs: &mut ConfigErrors,
) -> BTreeMap<String, Pool> {
    let mut out = BTreeMap::new();
    let mut spans = Vec::new();
    for (pi, obj) in objs.iter().enumerate() {
        let name = name_of(&obj.metadata);
        if name.is_empty() {
            continue; // reported by the unique-name check
        }
        let spec = &obj.spec;
        if spec.addresses.is_empty() {
            errs.push(ConfigError::new(
                KIND,
                name,
                "spec.addresses",
                "pool has no addresses",
            ));
        }
        let mut entries = Vec::new();
        for (ei, text) in spec.addresses.iter().enumerate() {
            match parse_entry(text) {
                Ok(cidrs) => {
                    let family = match cidrs[0] {
                        IpNet::V4(_) => Family::V4,
                        IpNet::V6(_) => Family::V6,
                    };
                    for c in &cidrs {
                        let (first, last) = bounds(c);
                        spans.push(Span {
                            family,
                            first,
                            last,
                            at: (pi, ei),
                        });
                    }
                    entries.push(AddressEntry {
                        text: text.clone(),
                        family,
                        cidrs,
                    });
                }
                Err(e) => errs.push(ConfigError::new(
                    KIND,
                    name,
                    format!("spec.addresses[{ei}]"),
                    e.to_string(),
                )),
            }
        }
        let allocation = spec
            .service_allocation
            .as_ref()
            .map(|sa| allocation(name, sa, ctx, errs));
        out.insert(
            name.to_owned(),
            Pool {
                name: name.to_owned(),
                labels: labels_of(&obj.metadata),
                cidrs: entries
                    .iter()
                    .flat_map(|e| e.cidrs.iter().copied())
                    .collect(),
                entries,
                avoid_buggy_ips: spec.avoid_buggy_ips,
                auto_assign: spec.auto_assign.unwrap_or(true),
                allocation,
                l2_advertisements: Vec::new(),
                bgp_advertisements: Vec::new(),
            },
        );
    }
    check_overlaps(objs, spans, errs);
    out
}

/// No address may belong to two CIDRs, in one pool or across pools. Sorting by start
/// makes this O(n log n); the later-defined entry is the one reported.
fn check_overlaps(objs: &[IPAddressPool], mut spans: Vec<Span>, errs: &mut ConfigErrors) {
    spans.sort();
    let mut reported = BTreeSet::new();
    // The span reaching furthest among those already seen in this family.
    let mut reach: Option<Span> = None;
    for s in spans {
        if let Some(r) = reach.filter(|r| r.family == s.family && s.first <= r.last) {
            let (earlier, later) = if r.at <= s.at { (r, s) } else { (s, r) };
            if earlier.at != later.at && reported.insert(later.at) {
                let (lp, le) = later.at;
                let (ep, ee) = earlier.at;
                let etext = &objs[ep].spec.addresses[ee];
                let other = if ep == lp {
                    format!("entry {etext:?} of the same pool")
                } else {
                    format!(
                        "{etext:?} of IPAddressPool {:?}",
                        name_of(&objs[ep].metadata)
                    )
                };
                errs.push(ConfigError::new(
                    KIND,
                    name_of(&objs[lp].metadata),
                    format!("spec.addresses[{le}]"),
                    format!("{:?} overlaps {other}", objs[lp].spec.addresses[le]),
                ));
            }
            if s.last <= r.last {
                continue;
            }
        }
        reach = Some(s);
    }
}

/// One CIDR of one entry, for the overlap check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Span {
    family: Family,
    first: u128,
    last: u128,
    /// (pool index, entry index): definition order.
    at: (usize, usize),
}

fn allocation(
    name: &str,
    sa: &crate::v1beta1::ServiceAllocation,
    ctx: &Ctx<'_>,
    errs: &mut ConfigErrors,
) -> ServiceAllocation {
    check_duplicate_strings(
        KIND,
        name,
        "spec.serviceAllocation.namespaces",
        &sa.namespaces,
        errs,
    );
    let mut namespaces: BTreeSet<String> = sa.namespaces.iter().cloned().collect();
    if sa.namespaces.is_empty()
        && sa.namespace_selectors.is_empty()
        && sa.service_selectors.is_empty()
    {
        return ServiceAllocation {
            priority: sa.priority,
            namespaces,
            service_selectors: vec![Selector::everything()],
        };
    }
    let ns_selectors = parse_selectors(
        KIND,
        name,
        "spec.serviceAllocation.namespaceSelectors",
        &sa.namespace_selectors,
        errs,
    );
    for ns in ctx.namespaces {
        let labels = labels_of(&ns.metadata);
        if ns_selectors.iter().any(|s| s.matches(&labels)) {
            namespaces.insert(name_of(&ns.metadata).to_owned());
        }
    }
    let service_selectors = parse_selectors(
        KIND,
        name,
        "spec.serviceAllocation.serviceSelectors",
        &sa.service_selectors,
        errs,
    );
    ServiceAllocation {
        priority: sa.priority,
        namespaces,
        service_selectors,
    }
}
