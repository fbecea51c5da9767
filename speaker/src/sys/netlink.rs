//! A route-netlink socket subscribed to link and IPv6-address notifications: how the
//! driver learns at once that an interface went up or down, lost its carrier, was
//! added, removed or enslaved, or got its link-local address.
//!
//! The driver does not need the messages' attributes: any notification makes it read
//! the interfaces again from sysfs, which is the one source of truth it parses. So this
//! module only opens the socket and splits a receive buffer into message types
//! ([`message_types`], pure).
//!
//! socket2 opens the socket; binding needs a `sockaddr_nl`, written into socket2's
//! zeroed storage as `packet.rs` does for `sockaddr_ll`. Audit notes: socket2 asserts
//! the storage is large enough, every field the kernel reads is written, and the
//! length passed is exactly `size_of::<sockaddr_nl>()`.

#![allow(unsafe_code)]

use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, Socket, Type};

/// `RTM_NEWLINK`.
pub const RTM_NEWLINK: u16 = 16;
/// `RTM_DELLINK`.
pub const RTM_DELLINK: u16 = 17;
/// `RTM_NEWADDR`.
pub const RTM_NEWADDR: u16 = 20;
/// `RTM_DELADDR`.
pub const RTM_DELADDR: u16 = 21;

/// A non-blocking netlink socket receiving `RTMGRP_LINK` and `RTMGRP_IPV6_IFADDR`.
#[derive(Debug)]
pub struct LinkMonitor {
    sock: Socket,
}

impl LinkMonitor {
    /// Opens and subscribes; works unprivileged.
    pub fn open() -> io::Result<Self> {
        let sock = Socket::new(
            Domain::from(libc::AF_NETLINK),
            Type::RAW,
            Some(Protocol::from(libc::NETLINK_ROUTE)),
        )?;
        let mut storage = SockAddrStorage::zeroed();
        // SAFETY: `view_as` asserts the size; sockaddr_nl is a plain C struct that the
        // zeroed storage already holds a valid (all-zero) value of.
        let nl = unsafe { storage.view_as::<libc::sockaddr_nl>() };
        nl.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        nl.nl_pid = 0; // the kernel assigns one
        nl.nl_groups = (libc::RTMGRP_LINK | libc::RTMGRP_IPV6_IFADDR) as u32;
        // SAFETY: the storage holds an initialised sockaddr_nl of exactly this length.
        let addr =
            unsafe { SockAddr::new(storage, size_of::<libc::sockaddr_nl>() as libc::socklen_t) };
        sock.bind(&addr)?;
        sock.set_nonblocking(true)?;
        Ok(Self { sock })
    }

    /// Receives one batch of messages without waiting. `ENOBUFS` (the kernel dropped
    /// notifications because we were slow) comes back as an error: the caller must
    /// then rescan, since it missed changes.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.sock).read(buf)
    }
}

impl LinkMonitor {
    /// Registers the socket with the tokio reactor for readability.
    pub fn into_async(self) -> io::Result<tokio::io::unix::AsyncFd<Self>> {
        super::register_readable(self)
    }
}

impl super::OwnsFd for LinkMonitor {}

impl AsFd for LinkMonitor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

impl AsRawFd for LinkMonitor {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

/// The `nlmsg_type` of each message in a receive buffer, and whether the buffer ended
/// in a truncated or malformed header (then the rest is ignored).
pub fn message_types(buf: &[u8]) -> (Vec<u16>, bool) {
    const HDR: usize = 16;
    let mut out = Vec::new();
    let mut off = 0;
    while off < buf.len() {
        let Some(h) = buf.get(off..off + HDR) else {
            return (out, true);
        };
        let len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let ty = u16::from_ne_bytes([h[4], h[5]]);
        if len < HDR || off + len > buf.len() {
            return (out, true);
        }
        out.push(ty);
        // NLMSG_ALIGN: messages are padded to 4 bytes.
        off += (len + 3) & !3;
    }
    (out, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(ty: u16, payload: usize) -> Vec<u8> {
        let len = 16 + payload;
        let mut m = Vec::new();
        m.extend_from_slice(&(len as u32).to_ne_bytes());
        m.extend_from_slice(&ty.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend(std::iter::repeat_n(0xaa, payload));
        while m.len() % 4 != 0 {
            m.push(0);
        }
        m
    }

    #[test]
    fn splits_aligned_messages_and_flags_truncation() {
        let mut buf = msg(RTM_NEWLINK, 5);
        buf.extend(msg(RTM_DELADDR, 8));
        assert_eq!(message_types(&buf), (vec![RTM_NEWLINK, RTM_DELADDR], false));
        let cut = &buf[..buf.len() - 3];
        assert_eq!(message_types(cut), (vec![RTM_NEWLINK], true));
        let mut bad = msg(RTM_NEWLINK, 0);
        bad[0] = 4; // a length shorter than the header
        assert_eq!(message_types(&bad), (vec![], true));
        assert_eq!(message_types(&[]), (vec![], false));
    }
}
