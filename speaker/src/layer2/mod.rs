//! Layer 2 announcing: when to send gratuitous ARP / unsolicited NA, when to answer
//! requests, and the conflict check before a new address is first announced.
//!
//! [`announcer`] decides *what* to send and when, independent of frame formats, so the
//! timing rules (Linux's 1 s locktime, RFC 5227's probe) are tested on their own.

pub mod announcer;
pub mod responder;
