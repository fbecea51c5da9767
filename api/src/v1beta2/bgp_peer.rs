use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::GoDuration;
use crate::selector::{LabelSelector, LabelSelectorRequirement};
use crate::v1beta1;

/// A BGP session each selected node opens.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "metallb.io",
    version = "v1beta2",
    kind = "BGPPeer",
    namespaced,
    status = "BGPPeerStatus",
    derive = "PartialEq",
    derive = "Default",
    printcolumn(name = "Address", type_ = "string", json_path = ".spec.peerAddress"),
    printcolumn(name = "ASN", type_ = "string", json_path = ".spec.peerASN"),
    printcolumn(name = "BFD Profile", type_ = "string", json_path = ".spec.bfdProfile"),
    printcolumn(
        name = "Multi Hops",
        type_ = "string",
        json_path = ".spec.ebgpMultiHop"
    )
)]
#[serde(deny_unknown_fields)]
pub struct BGPPeerSpec {
    /// Our AS number (4-byte).
    #[serde(rename = "myASN")]
    pub my_asn: u32,
    /// The peer's AS number; exactly one of this and `dynamicASN`.
    #[serde(rename = "peerASN", default, skip_serializing_if = "is_zero")]
    pub peer_asn: u32,
    /// Advertise this AS to the peer instead of `myASN` (local-as, no-prepend, replace-as).
    #[serde(rename = "localASN", default, skip_serializing_if = "is_zero")]
    pub local_asn: u32,
    /// Learn the peer's AS from its OPEN: `internal` or `external`.
    #[serde(
        rename = "dynamicASN",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub dynamic_asn: Option<DynamicASNMode>,
    /// Address to dial; exactly one of this and `interface`.
    #[serde(
        rename = "peerAddress",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub peer_address: String,
    /// Unnumbered peering over this interface.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interface: String,
    /// Source address for the session.
    #[serde(
        rename = "sourceAddress",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub source_address: String,
    /// TCP port to dial (1..16384, default 179).
    #[serde(rename = "peerPort", default, skip_serializing_if = "Option::is_none")]
    pub peer_port: Option<u16>,
    /// Requested hold time (default 90 s).
    #[serde(rename = "holdTime", default, skip_serializing_if = "Option::is_none")]
    pub hold_time: Option<GoDuration>,
    /// Requested keepalive interval (default hold time / 3).
    #[serde(
        rename = "keepaliveTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub keepalive_time: Option<GoDuration>,
    /// Time between connection attempts (1..65535 whole seconds).
    #[serde(
        rename = "connectTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub connect_time: Option<GoDuration>,
    /// Router ID to advertise.
    #[serde(rename = "routerID", default, skip_serializing_if = "String::is_empty")]
    pub router_id: String,
    /// Only nodes matching one of these open the session (empty: all nodes).
    #[serde(
        rename = "nodeSelectors",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub node_selectors: Vec<LabelSelector>,
    /// TCP MD5 password in clear.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// A `kubernetes.io/basic-auth` Secret holding the password under `password`.
    #[serde(
        rename = "passwordSecret",
        default,
        skip_serializing_if = "SecretReference::is_empty"
    )]
    pub password_secret: SecretReference,
    /// BFD profile name.
    #[serde(
        rename = "bfdProfile",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub bfd_profile: String,
    /// Act as a graceful-restart speaker (RFC 4724). Immutable.
    #[serde(
        rename = "enableGracefulRestart",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub enable_graceful_restart: bool,
    /// Multi-hop eBGP.
    #[serde(
        rename = "ebgpMultiHop",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub ebgp_multi_hop: bool,
    /// Host VRF to peer from.
    #[serde(rename = "vrf", default, skip_serializing_if = "String::is_empty")]
    pub vrf: String,
    /// Deprecated: one session per family instead of MP-BGP.
    #[serde(
        rename = "disableMP",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub disable_mp: bool,
    /// Carry both address families over this session.
    #[serde(
        rename = "dualStackAddressFamily",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub dual_stack_address_family: bool,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// `dynamicASN` modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DynamicASNMode {
    /// The peer must be in our AS.
    Internal,
    /// The peer must be in another AS.
    External,
}

/// `corev1.SecretReference`, refusing unknown fields (a `key:` here is a common
/// mistake: the key is always `password`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretReference {
    /// Secret name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Secret namespace (MetalLB's namespace when empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

impl SecretReference {
    /// Whether no secret is referenced.
    pub fn is_empty(&self) -> bool {
        self.name.is_empty() && self.namespace.is_empty()
    }
}

/// BGPPeer has no status fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BGPPeerStatus {}

impl From<v1beta1::BGPPeer> for BGPPeer {
    /// The conversion webhook's mapping. Unlike MetalLB's, unset v1beta1 timers stay
    /// unset (MetalLB turns them into explicit zeros, which silently disables the hold
    /// timer of a peer whose manifest never mentioned one).
    fn from(old: v1beta1::BGPPeer) -> Self {
        let s = old.spec;
        let spec = BGPPeerSpec {
            my_asn: s.my_asn,
            peer_asn: s.peer_asn,
            peer_address: s.peer_address,
            source_address: s.source_address,
            peer_port: s.peer_port,
            hold_time: s.hold_time,
            keepalive_time: s.keepalive_time,
            router_id: s.router_id,
            node_selectors: s
                .node_selectors
                .into_iter()
                .map(|ns| LabelSelector {
                    match_labels: ns.match_labels,
                    match_expressions: ns
                        .match_expressions
                        .into_iter()
                        .map(|e| LabelSelectorRequirement {
                            key: e.key,
                            operator: e.operator,
                            values: e.values,
                        })
                        .collect(),
                })
                .collect(),
            password: s.password,
            bfd_profile: s.bfd_profile,
            ebgp_multi_hop: s.ebgp_multi_hop,
            ..Default::default()
        };
        Self {
            metadata: old.metadata,
            spec,
            status: None,
        }
    }
}
