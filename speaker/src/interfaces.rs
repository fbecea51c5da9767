//! Which of a node's network interfaces may carry Layer 2 announcements, decided as
//! MetalLB's `updateInterfaces` does (`internal/layer2/announcer.go`), plus the
//! `announceFailed` check on L2Advertisement `interfaces`.
//!
//! Pure: the Linux driver reads the links (sysfs, `/proc/net/if_inet6`) into [`Link`]
//! values and calls [`eligible`]; tests build links by hand.
//!
//! MetalLB's rules, in its order: the name must not match the exclude list (the Helm
//! chart's and manifests' default `announcedInterfacesToExclude`, [`DEFAULT_EXCLUDE`]),
//! the interface must be administratively up, not enslaved to a bridge or bond (no
//! `master`), and not `NOARP`. Two more rules are ours, both because the core sends ARP
//! and neighbour advertisements on every interface it is given:
//! * it must have the `BROADCAST` flag (MetalLB opens its ARP responder only there) and
//!   a real MAC address;
//! * it must have carrier. MetalLB rescans every 10 s and ignores carrier; we follow
//!   link changes as they happen (netlink), so an interface whose cable is pulled stops
//!   being announced on at once and gets a fresh gratuitous burst when carrier returns,
//!   which is what the simulator models too.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv6Addr};

use ferrolb_wire::Mac;
use regex::Regex;

use crate::announce::Announcements;
use crate::layer2::responder::Interface;

/// MetalLB's default `announcedInterfacesToExclude` (charts/metallb
/// `exclude-l2-config.yaml`, config/manifests): container, virtual-bridge and tunnel
/// devices, and loopback.
pub const DEFAULT_EXCLUDE: &[&str] = &[
    "^docker.*",
    "^cbr.*",
    "^dummy.*",
    "^virbr.*",
    "^lxcbr.*",
    "^veth.*",
    "^lo$",
    "^cali.*",
    "^tunl.*",
    "^flannel.*",
    "^kube-ipvs.*",
    "^cni.*",
    "^nodelocaldns.*",
    "^lxc.*",
];

/// `IFF_UP`.
pub const IFF_UP: u32 = 0x1;
/// `IFF_BROADCAST`.
pub const IFF_BROADCAST: u32 = 0x2;
/// `IFF_LOOPBACK`.
pub const IFF_LOOPBACK: u32 = 0x8;
/// `IFF_NOARP`.
pub const IFF_NOARP: u32 = 0x80;

/// Interface names never announced on, as one regular expression.
#[derive(Clone, Debug)]
pub struct ExcludeList {
    patterns: Vec<String>,
    regex: Option<Regex>,
}

/// A pattern that is not a regular expression.
#[derive(Debug, thiserror::Error)]
#[error("interface exclude pattern {pattern:?}: {source}")]
pub struct ExcludeError {
    /// The pattern as given.
    pub pattern: String,
    /// What the regex parser said.
    #[source]
    pub source: regex::Error,
}

impl ExcludeList {
    /// MetalLB's defaults.
    pub fn metallb_default() -> Self {
        Self::new(DEFAULT_EXCLUDE.iter().copied()).expect("the default patterns are valid")
    }

    /// Patterns joined as MetalLB joins them: `(p1)|(p2)|...`; an empty list excludes
    /// nothing.
    pub fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Result<Self, ExcludeError> {
        let patterns: Vec<String> = patterns.into_iter().map(str::to_owned).collect();
        for p in &patterns {
            Regex::new(p).map_err(|source| ExcludeError {
                pattern: p.clone(),
                source,
            })?;
        }
        let regex = if patterns.is_empty() {
            None
        } else {
            let joined = format!("({})", patterns.join(")|("));
            Some(Regex::new(&joined).map_err(|source| ExcludeError {
                pattern: joined.clone(),
                source,
            })?)
        };
        Ok(Self { patterns, regex })
    }

    /// The patterns, as given.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether `name` is excluded.
    pub fn matches(&self, name: &str) -> bool {
        self.regex.as_ref().is_some_and(|r| r.is_match(name))
    }
}

/// One network interface as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Name.
    pub name: String,
    /// `IFF_*` flags (`/sys/class/net/<if>/flags`).
    pub flags: u32,
    /// Carrier (`/sys/class/net/<if>/carrier`); `None` when the kernel cannot tell
    /// (it refuses to while the interface is down).
    pub carrier: Option<bool>,
    /// Enslaved to a bridge, bond or VRF (`/sys/class/net/<if>/master` exists).
    pub has_master: bool,
    /// Hardware address, if it has an Ethernet-sized one.
    pub mac: Option<Mac>,
    /// Its IPv6 link-local address, if any: the source of neighbour advertisements.
    pub link_local: Option<Ipv6Addr>,
}

/// Why an interface is not announced on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ineligible {
    /// Matches the exclude list.
    Excluded,
    /// Administratively down.
    Down,
    /// Up but without carrier.
    NoCarrier,
    /// A bridge or bond member: the master carries the traffic.
    Enslaved,
    /// `NOARP`.
    NoArp,
    /// No `BROADCAST` flag (loopback, point-to-point, tunnels).
    NoBroadcast,
    /// No Ethernet MAC address.
    NoMac,
}

impl Ineligible {
    /// A short reason for logs.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Excluded => "matches the exclude list",
            Self::Down => "down",
            Self::NoCarrier => "no carrier",
            Self::Enslaved => "enslaved (has a master)",
            Self::NoArp => "NOARP",
            Self::NoBroadcast => "no BROADCAST flag",
            Self::NoMac => "no MAC address",
        }
    }
}

/// The outcome of [`eligible`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Eligibility {
    /// Interfaces to announce on, by name order.
    pub interfaces: Vec<Interface>,
    /// Names that exist and are not excluded, eligible or not: what MetalLB checks an
    /// L2Advertisement's `interfaces` against before it warns `announceFailed`.
    pub existing: BTreeSet<String>,
    /// The others, with why.
    pub skipped: BTreeMap<String, Ineligible>,
}

/// Why `link` may not be announced on, or `None` if it may.
pub fn check(link: &Link, exclude: &ExcludeList) -> Option<Ineligible> {
    if exclude.matches(&link.name) {
        return Some(Ineligible::Excluded);
    }
    if link.flags & IFF_UP == 0 {
        return Some(Ineligible::Down);
    }
    if link.has_master {
        return Some(Ineligible::Enslaved);
    }
    if link.flags & IFF_NOARP != 0 {
        return Some(Ineligible::NoArp);
    }
    if link.flags & IFF_BROADCAST == 0 || link.flags & IFF_LOOPBACK != 0 {
        return Some(Ineligible::NoBroadcast);
    }
    if link.mac.is_none_or(|m| m.is_zero() || m.is_multicast()) {
        return Some(Ineligible::NoMac);
    }
    if link.carrier != Some(true) {
        return Some(Ineligible::NoCarrier);
    }
    None
}

/// Sorts `links` into the interfaces to announce on and the rest.
pub fn eligible(links: &[Link], exclude: &ExcludeList) -> Eligibility {
    let mut out = Eligibility::default();
    let mut sorted: Vec<&Link> = links.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for link in sorted {
        let verdict = check(link, exclude);
        if verdict != Some(Ineligible::Excluded) {
            out.existing.insert(link.name.clone());
        }
        match (verdict, link.mac) {
            (None, Some(mac)) => out.interfaces.push(Interface {
                name: link.name.clone(),
                mac,
                link_local: link.link_local,
            }),
            (Some(why), _) => {
                out.skipped.insert(link.name.clone(), why);
            }
            (None, None) => {
                out.skipped.insert(link.name.clone(), Ineligible::NoMac);
            }
        }
    }
    out
}

/// An address this node won but may not announce: every interface its
/// L2Advertisements name is missing here (MetalLB's `announceFailed` warning).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AnnounceFailure {
    /// The address.
    pub ip: IpAddr,
    /// The interfaces the advertisements name.
    pub interfaces: BTreeSet<String>,
    /// The Services using the address (`namespace/name`).
    pub services: BTreeSet<String>,
}

/// The addresses of `ann` whose named interfaces all are absent from `existing`. The
/// core already leaves them unannounced; this is for the operator's warning and count.
pub fn announce_failures(ann: &Announcements, existing: &BTreeSet<String>) -> Vec<AnnounceFailure> {
    ann.layer2
        .iter()
        .filter(|(_, a)| !a.interfaces.is_empty() && a.interfaces.is_disjoint(existing))
        .map(|(ip, a)| AnnounceFailure {
            ip: *ip,
            interfaces: a.interfaces.clone(),
            services: a.services.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
