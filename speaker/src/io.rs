//! The seam: the world as the speaker sees it. The Linux driver (sockets, timers) and
//! the simulator (its hosts and fabric) implement it; the [`crate::Speaker`] core only
//! ever talks to the world through it, so one code path runs in both.

use std::net::{IpAddr, SocketAddr};

use crate::time::Instant;

/// A stream connection handle, allocated by the speaker.
pub type ConnId = u64;

/// How to open a BGP connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectSpec {
    /// The peer's address and port.
    pub peer: SocketAddr,
    /// Local address to bind, if configured.
    pub source: Option<IpAddr>,
    /// TCP MD5 key (RFC 2385).
    pub md5: Option<Vec<u8>>,
    /// IP TTL: 255 for single-hop eBGP (GTSM-friendly), more for multi-hop.
    pub ttl: u8,
}

/// Effects the speaker asks of its environment. Every call is non-blocking; results
/// come back as later inputs (`handle_connected`, `handle_stream`, ...).
pub trait Io {
    /// The current time.
    fn now(&self) -> Instant;
    /// Sends a raw Ethernet frame on an interface (AF_PACKET).
    fn send_frame(&mut self, iface: &str, frame: &[u8]);
    /// Sends a UDP datagram (membership, BFD).
    fn send_datagram(&mut self, from: SocketAddr, to: SocketAddr, data: &[u8]);
    /// Opens a TCP connection.
    fn connect(&mut self, conn: ConnId, spec: &ConnectSpec);
    /// Writes on a connection.
    fn send_stream(&mut self, conn: ConnId, data: &[u8]);
    /// Closes a connection.
    fn close(&mut self, conn: ConnId);
    /// Asks to be called back (`handle_timeout`) at `at`; the latest request wins.
    fn wake_at(&mut self, at: Instant);
}
