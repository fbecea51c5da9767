//! Service annotation keys, stable and legacy.
//!
//! MetalLB moved from `metallb.universe.tf/` to `metallb.io/`; both are honoured, the
//! stable key wins when both are present, and using a legacy key earns the Service a
//! `deprecatedAnnotation` warning event.

/// Prefix of the current annotation keys.
pub const PREFIX: &str = "metallb.io";
/// Prefix of the legacy annotation keys.
pub const LEGACY_PREFIX: &str = "metallb.universe.tf";

/// Allocate from the named pool (ignores the pool's autoAssign).
pub const ADDRESS_POOL: &str = "metallb.io/address-pool";
/// One or two comma-separated addresses the Service asks for.
pub const LOAD_BALANCER_IPS: &str = "metallb.io/loadBalancerIPs";
/// Sharing key: Services with equal keys may share an address.
pub const ALLOW_SHARED_IP: &str = "metallb.io/allow-shared-ip";
/// Written by the controller: the pool the Service's addresses came from.
pub const IP_ALLOCATED_FROM_POOL: &str = "metallb.io/ip-allocated-from-pool";

/// Legacy form of [`ADDRESS_POOL`].
pub const LEGACY_ADDRESS_POOL: &str = "metallb.universe.tf/address-pool";
/// Legacy form of [`LOAD_BALANCER_IPS`].
pub const LEGACY_LOAD_BALANCER_IPS: &str = "metallb.universe.tf/loadBalancerIPs";
/// Legacy form of [`ALLOW_SHARED_IP`].
pub const LEGACY_ALLOW_SHARED_IP: &str = "metallb.universe.tf/allow-shared-ip";

/// Node label that keeps a node from announcing load-balancer addresses.
pub const EXCLUDE_FROM_EXTERNAL_LB_LABEL: &str =
    "node.kubernetes.io/exclude-from-external-load-balancers";
