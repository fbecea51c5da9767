use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::selector::LabelSelector;

/// A set of addresses MetalLB may hand to LoadBalancer Services.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "metallb.io",
    version = "v1beta1",
    kind = "IPAddressPool",
    namespaced,
    status = "IPAddressPoolStatus",
    derive = "PartialEq",
    derive = "Default",
    printcolumn(
        name = "Auto Assign",
        type_ = "boolean",
        json_path = ".spec.autoAssign"
    ),
    printcolumn(
        name = "Avoid Buggy IPs",
        type_ = "boolean",
        json_path = ".spec.avoidBuggyIPs"
    ),
    printcolumn(name = "Addresses", type_ = "string", json_path = ".spec.addresses")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IPAddressPoolSpec {
    /// CIDR prefixes (`192.0.2.0/24`, `fc00::/120`) or `start-end` ranges.
    pub addresses: Vec<String>,
    /// When false the pool is only used when a Service asks for it (annotation or
    /// address). Defaults to true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_true")]
    pub auto_assign: Option<bool>,
    /// Skip IPv4 addresses ending in `.0` or `.255`, which some old firmware drops.
    #[serde(
        default,
        rename = "avoidBuggyIPs",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub avoid_buggy_ips: bool,
    /// Restricts the pool to namespaces and/or Services, with a priority.
    #[serde(
        default,
        rename = "serviceAllocation",
        skip_serializing_if = "Option::is_none"
    )]
    pub service_allocation: Option<ServiceAllocation>,
}

fn default_true() -> Option<bool> {
    Some(true)
}

/// `spec.serviceAllocation` (Go field `AllocateTo`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceAllocation {
    /// Lower positive values are preferred; 0 or unset is tried last.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i64,
    /// Namespaces whose Services may use the pool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Namespace label selectors, an alternative to listing names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespace_selectors: Vec<LabelSelector>,
    /// Service label selectors (any one must match).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_selectors: Vec<LabelSelector>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// Address counters the controller writes back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IPAddressPoolStatus {
    /// Distinct IPv4 addresses in use.
    #[serde(rename = "assignedIPv4", default)]
    pub assigned_ipv4: i64,
    /// Distinct IPv6 addresses in use.
    #[serde(rename = "assignedIPv6", default)]
    pub assigned_ipv6: i64,
    /// IPv4 addresses still free.
    #[serde(rename = "availableIPv4", default)]
    pub available_ipv4: i64,
    /// IPv6 addresses still free (saturating at `i64::MAX` for huge ranges).
    #[serde(rename = "availableIPv6", default)]
    pub available_ipv6: i64,
}
