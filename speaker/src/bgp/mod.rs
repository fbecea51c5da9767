//! BGP-4 (RFC 4271) with multiprotocol extensions (RFC 4760), 4-octet AS numbers
//! (RFC 6793), communities (RFC 1997, RFC 8092) and graceful restart (RFC 4724).
//!
//! [`message`] is the wire codec: it never panics on input, and every decoding error
//! carries the NOTIFICATION code and subcode RFC 4271 / RFC 7606 prescribe.

pub mod message;
pub mod session;
