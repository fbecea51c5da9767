//! The [`Io`] seam over Linux sockets. Built afresh for every input the driver hands
//! the core, holding the time read once for that input: the core sees one consistent
//! `now` per call, and only the driver reads the clock.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::unix::AsyncFd;
use tokio::net::UdpSocket;

use super::metrics::DriverCounters;
use crate::io::{ConnId, ConnectSpec, Io};
use crate::sys::packet::PacketSocket;
use crate::time::Instant;

/// One input's view of the driver's sockets.
pub(super) struct LinuxIo<'a> {
    pub now: Instant,
    pub sockets: &'a BTreeMap<String, Arc<AsyncFd<PacketSocket>>>,
    pub udp: &'a UdpSocket,
    pub wake: &'a mut Option<Instant>,
    pub counters: &'a mut DriverCounters,
    /// Connections the core asked for; this driver has no BGP transport yet, so each
    /// is reported closed right after the input.
    pub refused: &'a mut Vec<ConnId>,
}

impl Io for LinuxIo<'_> {
    fn now(&self) -> Instant {
        self.now
    }

    fn send_frame(&mut self, iface: &str, frame: &[u8]) {
        let Some(sock) = self.sockets.get(iface) else {
            return;
        };
        if let Err(e) = sock.get_ref().send(frame) {
            *self
                .counters
                .frame_send_errors
                .entry(iface.to_owned())
                .or_default() += 1;
            tracing::debug!(iface, error = %e, "frame not sent");
        }
    }

    fn send_datagram(&mut self, _from: SocketAddr, to: SocketAddr, data: &[u8]) {
        // `from` is the address the membership socket is bound to.
        if let Err(e) = self.udp.try_send_to(data, to) {
            self.counters.datagram_send_errors += 1;
            tracing::debug!(%to, error = %e, "membership datagram not sent");
        }
    }

    fn connect(&mut self, conn: ConnId, spec: &ConnectSpec) {
        tracing::debug!(peer = %spec.peer, "BGP connection refused: this driver has no BGP transport yet");
        self.refused.push(conn);
    }

    fn send_stream(&mut self, _conn: ConnId, _data: &[u8]) {}

    fn close(&mut self, _conn: ConnId) {}

    fn wake_at(&mut self, at: Instant) {
        *self.wake = Some(at);
    }
}
