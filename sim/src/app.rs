//! The seam: what runs on a simulated host.
//!
//! A host application sees the world the way a Linux daemon with an AF_PACKET socket,
//! UDP sockets and TCP connections does: raw frames received on an interface,
//! datagrams to ports it bound, stream events (connected, accepted, data, closed),
//! timer wake-ups it asked for, and carrier changes. It acts only through [`HostIo`]:
//! send a raw frame, send a datagram, open/write/close a stream, ask to be woken,
//! claim an address so the host accepts traffic for it (what kube-proxy's rules do for
//! a LoadBalancer IP).
//! Time is a value passed in, randomness is a seeded stream handed in.
//!
//! The speaker crate will define its own `Io` trait (`now`, `send_frame`,
//! `send_datagram`, `wake_at`, streams); its simulator adapter is a struct holding a
//! `&mut dyn HostIo` that forwards each call, so the real `Speaker` runs here unchanged:
//!
//! ```
//! use std::net::SocketAddr;
//! use ferrolb_sim::app::{AppInput, HostApp, HostIo, IfIndex};
//! use ferrolb_sim::time::Instant;
//!
//! // The speaker's trait, abridged (it uses its own nanosecond Instant).
//! trait Io {
//!     fn now_ns(&self) -> u64;
//!     fn send_frame(&mut self, iface: IfIndex, frame: &[u8]);
//!     fn send_datagram(&mut self, from: SocketAddr, to: SocketAddr, data: &[u8]);
//!     fn wake_at_ns(&mut self, at: u64);
//! }
//!
//! // The whole adapter: forward every call.
//! struct SimIo<'a>(&'a mut dyn HostIo);
//! impl Io for SimIo<'_> {
//!     fn now_ns(&self) -> u64 { self.0.now().as_nanos() }
//!     fn send_frame(&mut self, iface: IfIndex, frame: &[u8]) { self.0.send_frame(iface, frame) }
//!     fn send_datagram(&mut self, from: SocketAddr, to: SocketAddr, data: &[u8]) {
//!         self.0.send_datagram(from, to, data)
//!     }
//!     fn wake_at_ns(&mut self, at: u64) { self.0.wake_at(Instant::from_nanos(at)) }
//! }
//!
//! // And the host application that runs a core behind it.
//! struct SpeakerApp;
//! impl HostApp for SpeakerApp {
//!     fn handle(&mut self, io: &mut dyn HostIo, input: AppInput<'_>) {
//!         let mut io = SimIo(io);
//!         if let AppInput::Start = input {
//!             let t = io.now_ns();
//!             io.wake_at_ns(t + 1_000_000_000); // a core would call its `handle` here
//!         }
//!     }
//! }
//! ```

use std::net::{IpAddr, SocketAddr};

use crate::frame::Mac;
use crate::rng::SimRng;
pub use crate::tcp::{CloseReason, ConnId, StreamEvent};
use crate::time::Instant;

/// Index of an interface on its host (the simulator's `ifindex`).
pub type IfIndex = usize;

/// An interface as an application may inspect it (like `getifaddrs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfaceInfo {
    pub index: IfIndex,
    pub name: String,
    pub mac: Mac,
    /// Configured addresses with their prefix lengths.
    pub addrs: Vec<(IpAddr, u8)>,
    /// Carrier.
    pub up: bool,
}

impl IfaceInfo {
    /// Whether `ip` is inside one of this interface's subnets.
    pub fn on_link(&self, ip: IpAddr) -> bool {
        self.addrs.iter().any(|(a, p)| same_subnet(*a, ip, *p))
    }
    /// This interface's first address of the family of `ip`.
    pub fn addr_for(&self, ip: IpAddr) -> Option<IpAddr> {
        self.addrs
            .iter()
            .find(|(a, p)| same_subnet(*a, ip, *p))
            .or_else(|| self.addrs.iter().find(|(a, _)| a.is_ipv4() == ip.is_ipv4()))
            .map(|(a, _)| *a)
    }
}

/// Whether `a` and `b` share the first `prefix` bits (false across families).
pub fn same_subnet(a: IpAddr, b: IpAddr, prefix: u8) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let p = u32::from(prefix.min(32));
            let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let p = u32::from(prefix.min(128));
            let mask = if p == 0 { 0 } else { u128::MAX << (128 - p) };
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// One input to an application.
#[derive(Clone, Copy, Debug)]
pub enum AppInput<'a> {
    /// The host booted (or restarted): the application starts from scratch.
    Start,
    /// A frame the NIC accepted (our MAC, broadcast or multicast), as an AF_PACKET
    /// socket would see it. The kernel processes the same frame independently.
    Frame { iface: IfIndex, frame: &'a [u8] },
    /// A UDP datagram to a port this application bound.
    Datagram {
        iface: IfIndex,
        from: SocketAddr,
        to: SocketAddr,
        data: &'a [u8],
    },
    /// A wake-up this application asked for is due (possibly one of several).
    Timer,
    /// Carrier changed on an interface.
    Carrier { iface: IfIndex, up: bool },
    /// SIGTERM: shut down gracefully. The application keeps running (and receiving
    /// inputs) for as long as it needs; the kernel keeps its claimed addresses.
    Terminate,
    /// Something happened on a TCP-like stream this application opened or accepted.
    Stream {
        conn: ConnId,
        event: &'a StreamEvent,
    },
    /// On a Kubernetes node: the cluster as the node's informers now see it.
    Watch(&'a crate::cluster::ClusterSnapshot),
}

/// The world as an application sees it.
pub trait HostIo {
    fn now(&self) -> Instant;
    fn interfaces(&self) -> &[IfaceInfo];
    /// Sends a raw frame (AF_PACKET `sendto`). Dropped if the interface has no carrier.
    fn send_frame(&mut self, iface: IfIndex, frame: &[u8]);
    /// Sends a UDP datagram through the host's stack (routing and neighbour cache).
    fn send_datagram(&mut self, from: SocketAddr, to: SocketAddr, data: &[u8]);
    /// Receive datagrams sent to `port` on any local or claimed address.
    fn bind_udp(&mut self, port: u16);
    /// Accept TCP-like connections on `port` (any local or claimed address).
    fn listen(&mut self, port: u16);
    /// Opens a stream from `from` to `to`; `conn` is the application's name for it.
    /// `Connected` or `Closed(Refused | TimedOut)` follows.
    fn connect(&mut self, conn: ConnId, from: SocketAddr, to: SocketAddr);
    /// Sends bytes on an open stream (reliably, in order).
    fn send_stream(&mut self, conn: ConnId, data: &[u8]);
    /// Closes a stream gracefully (FIN).
    fn close(&mut self, conn: ConnId);
    /// Asks for an `AppInput::Timer` at `at` (or at once if `at` is past).
    fn wake_at(&mut self, at: Instant);
    /// Claims (`true`) or releases an address: the host then accepts IP traffic to it
    /// without configuring it on an interface, so the kernel does not answer ARP/ND for
    /// it — the application does.
    fn set_claimed(&mut self, addr: IpAddr, claimed: bool);
    /// Tells the simulator the application now announces (`true`) or stops announcing
    /// `addr` (answers ARP/ND for it, or advertises it). Nothing on the wire changes:
    /// it is what the report shows as "announced by", and where split brain is judged
    /// when every node accepts the address anyway, as kube-proxy makes them. Saying
    /// `false` first declares an address the application may announce, so the report
    /// shows "announced by: nobody" rather than falling back to who accepts it.
    fn set_announcing(&mut self, addr: IpAddr, announcing: bool);
    /// Adds (`present`) or removes an address on an interface, as `ip addr add/del`
    /// does (keepalived, kube-vip): the kernel then accepts it *and answers ARP/ND for
    /// it itself*. Such addresses survive the application (a killed keepalived leaves
    /// its VIP behind) but not a reboot.
    fn set_interface_address(&mut self, iface: IfIndex, addr: IpAddr, prefix: u8, present: bool);
    /// This application's own random stream.
    fn rng(&mut self) -> &mut SimRng;
    /// A line for the run's report and trace ("took 198.51.100.200").
    fn annotate(&mut self, text: &str);
    /// The application has finished (its planned shutdown is done) and its process
    /// exits: the kernel closes its sockets, as after a kill, and it gets no more
    /// inputs. A later `start` runs a fresh instance, as kubelet restarting a container.
    fn exit(&mut self);
}

/// Something running on a host.
pub trait HostApp {
    fn handle(&mut self, io: &mut dyn HostIo, input: AppInput<'_>);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_membership_respects_prefix_and_family() {
        let a: IpAddr = "198.51.100.11".parse().unwrap();
        assert!(same_subnet(a, "198.51.100.200".parse().unwrap(), 24));
        assert!(!same_subnet(a, "198.51.101.1".parse().unwrap(), 24));
        assert!(same_subnet(a, "10.0.0.1".parse().unwrap(), 0));
        let v6: IpAddr = "2001:db8::11".parse().unwrap();
        assert!(same_subnet(v6, "2001:db8::200".parse().unwrap(), 64));
        assert!(!same_subnet(v6, "2001:db9::1".parse().unwrap(), 64));
        assert!(!same_subnet(a, v6, 0));
    }

    #[test]
    fn interface_picks_source_address_in_the_target_subnet() {
        let i = IfaceInfo {
            index: 0,
            name: "eth0".into(),
            mac: Mac::ZERO,
            addrs: vec![
                ("10.0.0.5".parse().unwrap(), 24),
                ("198.51.100.11".parse().unwrap(), 24),
                ("2001:db8::11".parse().unwrap(), 64),
            ],
            up: true,
        };
        assert_eq!(
            i.addr_for("198.51.100.7".parse().unwrap()),
            Some("198.51.100.11".parse().unwrap())
        );
        assert_eq!(
            i.addr_for("2001:db8::7".parse().unwrap()),
            Some("2001:db8::11".parse().unwrap())
        );
        assert!(i.on_link("10.0.0.9".parse().unwrap()));
        assert!(!i.on_link("192.0.2.1".parse().unwrap()));
    }
}
