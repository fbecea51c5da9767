//! `metallb.io/v1beta1`: every MetalLB kind except the storage version of BGPPeer.
//!
//! Field names, JSON casing, optionality and defaults follow MetalLB's Go types
//! (`api/v1beta1/*_types.go`). Specs refuse unknown fields: a misspelt key in a
//! load-balancer configuration is an error, not a silent default.

// `#[kube(printcolumn(name = .., type_ = ..))]` repeats keys by design; clippy's
// duplicated-attributes lint reads each repeat as a mistake.
#![allow(clippy::duplicated_attributes)]

mod bfd_profile;
mod bgp_advertisement;
mod bgp_peer;
mod community;
mod configuration_state;
mod ip_address_pool;
mod l2_advertisement;
mod service_status;

pub use bfd_profile::{BFDProfile, BFDProfileSpec, BFDProfileStatus};
pub use bgp_advertisement::{BGPAdvertisement, BGPAdvertisementSpec, BGPAdvertisementStatus};
pub use bgp_peer::{BGPPeer, BGPPeerSpec, BGPPeerStatus, MatchExpression, NodeSelector};
pub use community::{Community, CommunityAlias, CommunitySpec, CommunityStatus};
pub use configuration_state::{
    ConfigurationResult, ConfigurationState, ConfigurationStateSpec, ConfigurationStateStatus,
};
pub use ip_address_pool::{
    IPAddressPool, IPAddressPoolSpec, IPAddressPoolStatus, ServiceAllocation,
};
pub use l2_advertisement::{
    L2Advertisement, L2AdvertisementSpec, L2AdvertisementStatus, PreferredNodeSelector,
};
pub use service_status::{
    InterfaceInfo, MetalLBServiceBGPStatus, MetalLBServiceL2Status, ServiceBGPStatus,
    ServiceBGPStatusSpec, ServiceL2Status, ServiceL2StatusSpec,
};
