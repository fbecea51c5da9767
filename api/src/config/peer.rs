//! BGPPeer validation, including timer derivation and password Secrets.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use super::bfd::BfdProfile;
use super::{ConfigError, ConfigErrors, Ctx, name_of, parse_selectors};
use crate::duration::GoDuration;
use crate::selector::Selector;
use crate::v1beta2::{BGPPeer, DynamicASNMode};

const KIND: &str = "BGPPeer";

/// The hold time the speaker proposes when the peer sets none (RFC 4271's suggestion,
/// and MetalLB's native default).
pub const DEFAULT_HOLD_TIME: GoDuration = GoDuration::from_secs(90);

/// Whom the session expects on the other side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerAsn {
    /// Exactly this AS.
    Fixed(u32),
    /// Whatever the peer says, if equal to ours.
    Internal,
    /// Whatever the peer says, if different from ours.
    External,
}

/// Where the session goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerAddress {
    /// A numbered peer.
    Ip(IpAddr),
    /// Unnumbered BGP over this interface (IPv6 link-local discovery).
    Interface(String),
}

/// Requested hold and keepalive times, after MetalLB's derivation rules: one given
/// implies the other (keepalive = hold / 3, hold = 3 x keepalive); none given leaves
/// the speaker's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    /// Hold time (0 disables keepalives and the hold timer).
    pub hold: GoDuration,
    /// Keepalive interval.
    pub keepalive: GoDuration,
}

/// A validated peer.
#[derive(Clone, Debug, PartialEq)]
pub struct Peer {
    /// Name.
    pub name: String,
    /// Our AS.
    pub my_asn: u32,
    /// The peer's AS.
    pub peer_asn: PeerAsn,
    /// AS presented to the peer instead of `my_asn`.
    pub local_asn: Option<u32>,
    /// Where to connect.
    pub address: PeerAddress,
    /// Local address to bind.
    pub source_address: Option<IpAddr>,
    /// TCP port (179 unless set).
    pub port: u16,
    /// Hold / keepalive, `None` for the speaker's defaults.
    pub timers: Option<Timers>,
    /// Time between connection attempts.
    pub connect_time: Option<GoDuration>,
    /// BGP identifier to use.
    pub router_id: Option<Ipv4Addr>,
    /// Nodes that open this session (any selector matching; never empty).
    pub node_selectors: Vec<Selector>,
    /// TCP MD5 key, from `password` or the referenced Secret.
    pub password: Option<String>,
    /// BFD profile name.
    pub bfd_profile: Option<String>,
    /// Graceful restart.
    pub graceful_restart: bool,
    /// Multi-hop eBGP.
    pub ebgp_multi_hop: bool,
    /// Host VRF.
    pub vrf: Option<String>,
    /// Separate sessions per family.
    pub disable_mp: bool,
    /// Both families over this session.
    pub dual_stack_address_family: bool,
}

impl Peer {
    /// Whether a node with `labels` opens this session.
    pub fn selects_node(&self, labels: &BTreeMap<String, String>) -> bool {
        self.node_selectors.iter().any(|s| s.matches(labels))
    }
}

pub(super) fn peers(
    objs: &[BGPPeer],
    bfd: &BTreeMap<String, BfdProfile>,
    ctx: &Ctx<'_>,
    errs: &mut ConfigErrors,
) -> BTreeMap<String, Peer> {
    let mut out = BTreeMap::new();
    for obj in objs {
        let name = name_of(&obj.metadata);
        if name.is_empty() {
            continue;
        }
        let before = errs.0.len();
        let peer = peer(name, obj, bfd, ctx, errs);
        if errs.0.len() == before {
            out.entry(name.to_owned()).or_insert(peer);
        }
    }
    out
}

fn peer(
    name: &str,
    obj: &BGPPeer,
    bfd: &BTreeMap<String, BfdProfile>,
    ctx: &Ctx<'_>,
    errs: &mut ConfigErrors,
) -> Peer {
    let s = &obj.spec;
    let mut err =
        |field: &str, reason: String| errs.push(ConfigError::new(KIND, name, field, reason));
    if s.my_asn == 0 {
        err(
            "spec.myASN",
            "missing local ASN: must be 1 to 4294967295".into(),
        );
    }
    let peer_asn = match (s.peer_asn, s.dynamic_asn) {
        (0, None) => {
            err(
                "spec.peerASN",
                "missing peer ASN: set peerASN or dynamicASN".into(),
            );
            PeerAsn::Fixed(0)
        }
        (n, Some(_)) if n != 0 => {
            err(
                "spec.dynamicASN",
                "both peerASN and dynamicASN are set; set only one".into(),
            );
            PeerAsn::Fixed(n)
        }
        (n, None) => PeerAsn::Fixed(n),
        (_, Some(DynamicASNMode::Internal)) => PeerAsn::Internal,
        (_, Some(DynamicASNMode::External)) => PeerAsn::External,
    };
    if s.ebgp_multi_hop && s.peer_asn == s.my_asn {
        err(
            "spec.ebgpMultiHop",
            "is set for an iBGP peer (peerASN equals myASN); multi-hop only applies to eBGP".into(),
        );
    }
    let address = match (s.peer_address.is_empty(), s.interface.is_empty()) {
        (true, true) => {
            err(
                "spec.peerAddress",
                "peer has neither peerAddress nor interface; set one".into(),
            );
            PeerAddress::Interface(String::new())
        }
        (false, false) => {
            err(
                "spec.interface",
                "peer has both peerAddress and interface; set only one".into(),
            );
            PeerAddress::Interface(s.interface.clone())
        }
        (false, true) => match s.peer_address.trim().parse::<IpAddr>() {
            Ok(ip) => PeerAddress::Ip(ip),
            Err(_) => {
                err(
                    "spec.peerAddress",
                    format!("invalid BGPPeer address {:?}", s.peer_address),
                );
                PeerAddress::Interface(String::new())
            }
        },
        (true, false) => PeerAddress::Interface(s.interface.clone()),
    };
    let source_address = if s.source_address.is_empty() {
        None
    } else {
        match s.source_address.parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                err(
                    "spec.sourceAddress",
                    format!("invalid source IP {:?}", s.source_address),
                );
                None
            }
        }
    };
    let router_id = if s.router_id.is_empty() {
        None
    } else {
        match s.router_id.parse::<IpAddr>() {
            Ok(IpAddr::V4(v4)) => Some(v4),
            Ok(IpAddr::V6(_)) => {
                err(
                    "spec.routerID",
                    format!(
                        "router ID {:?} must be an IPv4 address (BGP identifiers are 32 bits)",
                        s.router_id
                    ),
                );
                None
            }
            Err(_) => {
                err(
                    "spec.routerID",
                    format!("invalid router ID {:?}", s.router_id),
                );
                None
            }
        }
    };
    let port = match s.peer_port {
        None | Some(0) => 179,
        Some(p @ 1..=16384) => p,
        Some(p) => {
            err(
                "spec.peerPort",
                format!("{p} is out of range: must be 1 to 16384"),
            );
            179
        }
    };
    let timers = timers(s.hold_time, s.keepalive_time, &mut err);
    if let Some(ct) = s.connect_time {
        if !(1..=65535).contains(&ct.whole_secs()) || ct.as_nanos() < 1_000_000_000 {
            err(
                "spec.connectTime",
                format!("connect time {ct} should be between 1 seconds to 65535"),
            );
        } else if !ct.is_whole_secs() {
            err(
                "spec.connectTime",
                format!("connect time {ct} should contain a whole number of seconds"),
            );
        }
    }
    let mut node_selectors =
        parse_selectors(KIND, name, "spec.nodeSelectors", &s.node_selectors, errs);
    if node_selectors.is_empty() {
        node_selectors.push(Selector::everything());
    }
    let password = password(name, obj, ctx, errs);
    let bfd_profile = if s.bfd_profile.is_empty() {
        None
    } else {
        if !bfd.contains_key(&s.bfd_profile) {
            errs.push(ConfigError::missing(
                KIND,
                name,
                "spec.bfdProfile",
                format!(
                    "references BFDProfile {:?}, which does not exist",
                    s.bfd_profile
                ),
            ));
        }
        Some(s.bfd_profile.clone())
    };
    Peer {
        name: name.to_owned(),
        my_asn: s.my_asn,
        peer_asn,
        local_asn: (s.local_asn != 0).then_some(s.local_asn),
        address,
        source_address,
        port,
        timers,
        connect_time: s.connect_time,
        router_id,
        node_selectors,
        password,
        bfd_profile,
        graceful_restart: s.enable_graceful_restart,
        ebgp_multi_hop: s.ebgp_multi_hop,
        vrf: (!s.vrf.is_empty()).then(|| s.vrf.clone()),
        disable_mp: s.disable_mp,
        dual_stack_address_family: s.dual_stack_address_family,
    }
}

/// MetalLB's `parseTimers`, plus the limits of BGP's 16-bit hold time field.
fn timers(
    hold: Option<GoDuration>,
    keepalive: Option<GoDuration>,
    err: &mut impl FnMut(&str, String),
) -> Option<Timers> {
    let (h, k) = match (hold, keepalive) {
        (None, None) => return None,
        (Some(h), Some(k)) => (h, k),
        (Some(h), None) => (h, GoDuration::from_nanos(h.as_nanos() / 3)),
        (None, Some(k)) => (GoDuration::from_nanos(k.as_nanos().saturating_mul(3)), k),
    };
    let field = if hold.is_some() {
        "spec.holdTime"
    } else {
        "spec.keepaliveTime"
    };
    if h.as_nanos() < 0 || k.as_nanos() < 0 {
        err(field, "timers must not be negative".into());
        return None;
    }
    let rounded = h.whole_secs();
    if rounded != 0 && rounded < 3 {
        err(field, format!("invalid hold time {h}: must be 0 or >=3s"));
        return None;
    }
    if rounded > 65535 {
        err(
            field,
            format!("invalid hold time {h}: must be at most 65535s (BGP's 16-bit field)"),
        );
        return None;
    }
    if k > h {
        err(
            "spec.keepaliveTime",
            format!("invalid keepaliveTime {k}, must be lower than holdTime {h}"),
        );
        return None;
    }
    Some(Timers {
        hold: h,
        keepalive: k,
    })
}

/// The MD5 key: inline, or from a `kubernetes.io/basic-auth` Secret in MetalLB's
/// namespace under the key `password`.
fn password(name: &str, obj: &BGPPeer, ctx: &Ctx<'_>, errs: &mut ConfigErrors) -> Option<String> {
    let s = &obj.spec;
    let r = &s.password_secret;
    if !s.password.is_empty() && !r.name.is_empty() {
        errs.push(ConfigError::new(
            KIND,
            name,
            "spec.passwordSecret",
            "both password and passwordSecret are set; set only one",
        ));
        return None;
    }
    if r.name.is_empty() {
        if !r.namespace.is_empty() {
            errs.push(ConfigError::new(
                KIND,
                name,
                "spec.passwordSecret.name",
                "is required",
            ));
        }
        return (!s.password.is_empty()).then(|| s.password.clone());
    }
    let ours = &ctx.opts.namespace;
    if !r.namespace.is_empty() && &r.namespace != ours {
        errs.push(ConfigError::new(
            KIND,
            name,
            "spec.passwordSecret.namespace",
            format!(
                "is {:?}; the Secret must be in the {ours:?} namespace",
                r.namespace
            ),
        ));
        return None;
    }
    let secret = ctx.secrets.iter().find(|sec| {
        name_of(&sec.metadata) == r.name
            && sec
                .metadata
                .namespace
                .as_deref()
                .is_none_or(|ns| ns == ours)
    });
    let Some(secret) = secret else {
        errs.push(ConfigError::missing(
            KIND,
            name,
            "spec.passwordSecret.name",
            format!("references Secret {ours}/{}, which does not exist", r.name),
        ));
        return None;
    };
    let ty = secret.type_.as_deref().unwrap_or("Opaque");
    if ty != "kubernetes.io/basic-auth" {
        errs.push(ConfigError::new(
            KIND,
            name,
            "spec.passwordSecret.name",
            format!(
                "Secret {ours}/{} has type {ty:?}; a BGP password Secret must be of type \"kubernetes.io/basic-auth\"",
                r.name
            ),
        ));
        return None;
    }
    let value = secret.data.as_ref().and_then(|d| d.get("password"));
    let Some(value) = value else {
        errs.push(ConfigError::new(
            KIND,
            name,
            "spec.passwordSecret.name",
            format!("Secret {ours}/{} has no \"password\" key", r.name),
        ));
        return None;
    };
    match String::from_utf8(value.0.clone()) {
        Ok(pw) => Some(pw),
        Err(_) => {
            errs.push(ConfigError::new(
                KIND,
                name,
                "spec.passwordSecret.name",
                format!(
                    "the \"password\" key of Secret {ours}/{} is not valid UTF-8",
                    r.name
                ),
            ));
            None
        }
    }
}
