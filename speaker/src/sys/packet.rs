//! AF_PACKET raw sockets bound to one interface: how the Layer 2 responder sees ARP
//! requests and neighbour solicitations for addresses no interface has, and sends its
//! own frames.
//!
//! socket2 opens the socket; binding to an interface needs a `sockaddr_ll`, which
//! socket2 only accepts through its unsafe raw-storage constructor. Audit notes: the
//! storage is zeroed by socket2 and large enough for `sockaddr_ll` (socket2 asserts
//! it), every field we rely on is written, and the length passed is exactly
//! `size_of::<sockaddr_ll>()`.

#![allow(unsafe_code)]

use std::io::{self, Read};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, Socket, Type};

/// The interface index of `name`, from sysfs.
pub fn ifindex(name: &str) -> io::Result<u32> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))?;
    text.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad ifindex for {name}: {text:?}"),
        )
    })
}

/// The MAC address of `name`, from sysfs.
pub fn mac(name: &str) -> io::Result<[u8; 6]> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{name}/address"))?;
    let mut out = [0u8; 6];
    let parts: Vec<&str> = text.trim().split(':').collect();
    if parts.len() != 6 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad MAC for {name}: {text:?}"),
        ));
    }
    for (o, p) in out.iter_mut().zip(parts) {
        *o = u8::from_str_radix(p, 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("bad MAC {text:?}")))?;
    }
    Ok(out)
}

/// A raw socket receiving every frame of one interface and sending frames on it.
#[derive(Debug)]
pub struct PacketSocket {
    sock: Socket,
    ifindex: u32,
}

const ETH_P_ALL: u16 = libc::ETH_P_ALL as u16;

impl PacketSocket {
    /// Opens and binds the socket; needs CAP_NET_RAW.
    pub fn open(ifname: &str) -> io::Result<Self> {
        let ifindex = ifindex(ifname)?;
        let sock = Socket::new(
            Domain::PACKET,
            Type::RAW,
            Some(Protocol::from(i32::from(ETH_P_ALL.to_be()))),
        )?;
        let mut storage = SockAddrStorage::zeroed();
        // SAFETY: `view_as` asserts the size; sockaddr_ll is a plain C struct that the
        // zeroed storage already holds a valid (all-zero) value of.
        let sll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
        sll.sll_family = libc::AF_PACKET as libc::sa_family_t;
        sll.sll_protocol = ETH_P_ALL.to_be();
        sll.sll_ifindex =
            i32::try_from(ifindex).map_err(|_| io::Error::other("ifindex out of range"))?;
        // SAFETY: the storage holds an initialised sockaddr_ll of exactly this length.
        let addr =
            unsafe { SockAddr::new(storage, size_of::<libc::sockaddr_ll>() as libc::socklen_t) };
        sock.bind(&addr)?;
        Ok(Self { sock, ifindex })
    }

    /// The bound interface's index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Sends one Ethernet frame.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        self.sock.send(frame).map(|_| ())
    }

    /// Receives one frame, waiting at most `timeout`; `Ok(None)` on timeout.
    pub fn recv(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>> {
        self.sock.set_read_timeout(Some(timeout))?;
        match (&self.sock).read(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
