//! AF_PACKET raw sockets bound to one interface: how the Layer 2 responder sees ARP
//! requests and neighbour solicitations for addresses no interface has, and sends its
//! own frames.
//!
//! socket2 opens the socket; binding to an interface needs a `sockaddr_ll`, which
//! socket2 only accepts through its unsafe raw-storage constructor. Audit notes: the
//! storage is zeroed by socket2 and large enough for `sockaddr_ll` (socket2 asserts
//! it), every field we rely on is written, and the length passed is exactly
//! `size_of::<sockaddr_ll>()`. Multicast membership (`PACKET_ADD_MEMBERSHIP`) has no
//! socket2 wrapper either: [`PacketSocket::set_multicast`] passes a fully initialised
//! `packet_mreq` by pointer with its exact length, and the kernel only reads it.

#![allow(unsafe_code)]

use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, SockFilter, Socket, Type};

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

    /// Opens the socket as the driver uses it: non-blocking, and with a classic BPF
    /// `filter` attached so that the kernel drops every frame the speaker has no use
    /// for before it is copied to user space.
    pub fn open_filtered(ifname: &str, filter: &[SockFilter]) -> io::Result<Self> {
        let s = Self::open(ifname)?;
        s.sock.attach_filter(filter)?;
        s.sock.set_nonblocking(true)?;
        Ok(s)
    }

    /// Joins (`true`) or leaves a link-layer multicast group on the interface, so that a
    /// NIC that filters multicast passes frames sent to `mac` (the solicited-node group
    /// of an announced IPv6 address). The kernel counts joins per socket.
    pub fn set_multicast(&self, mac: [u8; 6], join: bool) -> io::Result<()> {
        let mut addr = [0u8; 8];
        addr[..6].copy_from_slice(&mac);
        let mreq = libc::packet_mreq {
            mr_ifindex: i32::try_from(self.ifindex)
                .map_err(|_| io::Error::other("ifindex out of range"))?,
            mr_type: libc::PACKET_MR_MULTICAST as libc::c_ushort,
            mr_alen: 6,
            mr_address: addr,
        };
        let opt = if join {
            libc::PACKET_ADD_MEMBERSHIP
        } else {
            libc::PACKET_DROP_MEMBERSHIP
        };
        // SAFETY: `mreq` is a fully initialised packet_mreq that outlives the call; the
        // length passed is its exact size; the kernel only reads it.
        let rc = unsafe {
            libc::setsockopt(
                self.sock.as_raw_fd(),
                libc::SOL_PACKET,
                opt,
                (&raw const mreq).cast::<libc::c_void>(),
                size_of::<libc::packet_mreq>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Receives one frame without waiting (`WouldBlock` when none is queued).
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.sock).read(buf)
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

impl PacketSocket {
    /// Registers the socket with the tokio reactor for readability.
    pub fn into_async(self) -> io::Result<tokio::io::unix::AsyncFd<Self>> {
        super::register_readable(self)
    }
}

impl super::OwnsFd for PacketSocket {}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}
