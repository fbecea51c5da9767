use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::GoDuration;

/// The deprecated, still-served BGPPeer version; converted to
/// [`crate::v1beta2::BGPPeer`] before use.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "metallb.io",
    version = "v1beta1",
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
    /// Our AS number.
    #[serde(rename = "myASN")]
    pub my_asn: u32,
    /// The peer's AS number (required in v1beta1).
    #[serde(rename = "peerASN")]
    pub peer_asn: u32,
    /// Address to dial (required in v1beta1).
    #[serde(rename = "peerAddress")]
    pub peer_address: String,
    /// Source address for the session.
    #[serde(
        rename = "sourceAddress",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub source_address: String,
    /// TCP port to dial (0..16384).
    #[serde(rename = "peerPort", default, skip_serializing_if = "Option::is_none")]
    pub peer_port: Option<u16>,
    /// Requested hold time.
    #[serde(rename = "holdTime", default, skip_serializing_if = "Option::is_none")]
    pub hold_time: Option<GoDuration>,
    /// Requested keepalive interval.
    #[serde(
        rename = "keepaliveTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub keepalive_time: Option<GoDuration>,
    /// Router ID to advertise.
    #[serde(rename = "routerID", default, skip_serializing_if = "String::is_empty")]
    pub router_id: String,
    /// Legacy node selectors.
    #[serde(
        rename = "nodeSelectors",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub node_selectors: Vec<NodeSelector>,
    /// TCP MD5 password.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// BFD profile name.
    #[serde(
        rename = "bfdProfile",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub bfd_profile: String,
    /// Multi-hop eBGP.
    #[serde(
        rename = "ebgpMultiHop",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub ebgp_multi_hop: bool,
}

/// v1beta1's own selector shape, converted to a [`crate::selector::LabelSelector`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSelector {
    /// Exact label matches.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// Set-based requirements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<MatchExpression>,
}

/// A v1beta1 set-based requirement.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchExpression {
    /// Label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`.
    pub operator: String,
    /// Values (at least one in v1beta1's schema).
    pub values: Vec<String>,
}

/// BGPPeer has no status fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BGPPeerStatus {}
