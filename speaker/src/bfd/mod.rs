//! Bidirectional Forwarding Detection (RFC 5880), single hop (RFC 5881, UDP 3784) and
//! multihop (RFC 5883, UDP 4784): a session that tells BGP within milliseconds that a
//! peer stopped forwarding, instead of waiting out a hold timer.

pub mod packet;
pub mod session;

pub use packet::{ControlPacket, Diag, PacketError, State};
pub use session::{BfdConfig, BfdEvent, BfdSession, Transmit};

/// UDP port of single-hop control packets (RFC 5881).
pub const SINGLE_HOP_PORT: u16 = 3784;
/// UDP port of echo packets (RFC 5881).
pub const ECHO_PORT: u16 = 3785;
/// UDP port of multihop control packets (RFC 5883).
pub const MULTI_HOP_PORT: u16 = 4784;
