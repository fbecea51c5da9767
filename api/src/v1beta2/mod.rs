//! `metallb.io/v1beta2`: the storage version of BGPPeer.

// `#[kube(printcolumn(name = .., type_ = ..))]` repeats keys by design; clippy's
// duplicated-attributes lint reads each repeat as a mistake.
#![allow(clippy::duplicated_attributes)]

mod bgp_peer;

pub use bgp_peer::{BGPPeer, BGPPeerSpec, BGPPeerStatus, DynamicASNMode, SecretReference};
