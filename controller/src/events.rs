//! Kubernetes events the controller emits, with MetalLB's reasons.

use serde::Serialize;

/// `Normal` or `Warning`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum EventType {
    /// Informational.
    Normal,
    /// Something the user should look at.
    Warning,
}

/// One event on a Service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// `Normal` / `Warning`.
    #[serde(rename = "type")]
    pub type_: EventType,
    /// MetalLB's reason string (`IPAllocated`, `AllocationFailed`, ...).
    pub reason: &'static str,
    /// Human-readable message.
    pub message: String,
}

impl Event {
    pub(crate) fn normal(reason: &'static str, message: String) -> Self {
        Self {
            type_: EventType::Normal,
            reason,
            message,
        }
    }

    pub(crate) fn warning(reason: &'static str, message: String) -> Self {
        Self {
            type_: EventType::Warning,
            reason,
            message,
        }
    }
}

/// Reason strings, as MetalLB writes them.
pub mod reason {
    /// Addresses assigned.
    pub const IP_ALLOCATED: &str = "IPAllocated";
    /// No address could be assigned.
    pub const ALLOCATION_FAILED: &str = "AllocationFailed";
    /// The current address is no longer allowed and was released.
    pub const CLEAR_ASSIGNMENT: &str = "ClearAssignment";
    /// The requested addresses cannot be parsed or combined.
    pub const LOAD_BALANCER_FAILED: &str = "LoadBalancerFailed";
    /// PreferDualStack could not get its second family.
    pub const ADDITIONAL_ASSIGN_FAILED: &str = "AdditionalAssignFailed";
    /// RequireDualStack with a single cluster IP.
    pub const NOT_ENOUGH_CLUSTER_IPS: &str = "not enough clusterips";
    /// The current ingress addresses do not form a family.
    pub const NO_LB_IPS_FAMILY: &str = "nolbIPsIPFamily";
    /// The cluster IPs do not form a family.
    pub const NO_CLUSTER_IPS_FAMILY: &str = "noclusterIPsIPFamily";
    /// A `metallb.universe.tf/` annotation is in use.
    pub const DEPRECATED_ANNOTATION: &str = "deprecatedAnnotation";
}
