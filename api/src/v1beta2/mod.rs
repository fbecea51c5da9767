//! `metallb.io/v1beta2`: the storage version of BGPPeer.

mod bgp_peer;

pub use bgp_peer::{BGPPeer, BGPPeerSpec, BGPPeerStatus, DynamicASNMode, SecretReference};
