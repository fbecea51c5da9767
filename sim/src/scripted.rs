//! A scripted host application: owns and releases addresses on a timeline, answers ARP
//! and NS for what it owns from user space, and sends gratuitous ARP or unsolicited NA
//! bursts when told. It is what a keepalived- or MetalLB-like announcer does on the
//! wire, minus the decision of *when* — which the scenario supplies — so the fabric and
//! the clients' caches are testable before the real speaker plugs into the same seam.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::app::{AppInput, HostApp, HostIo, IfIndex};
use crate::frame::{
    self, ALL_NODES, Arp, ArpOp, ETHERTYPE_ARP, ETHERTYPE_IPV6, IPPROTO_ICMPV6, Mac, Nd,
};
use crate::time::{Duration, Instant};

/// Which gratuitous ARP to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GarpKind {
    /// Request with sender IP = target IP (what Linux `arping -U` sends).
    Request,
    /// Reply with target MAC = sender MAC: a GARP for Linux.
    Reply,
    /// Reply with target MAC ff:ff:ff:ff:ff:ff (MetalLB's, Cilium's): *not* a GARP for
    /// Linux, so it obeys locktime and never creates entries under `arp_accept=1`
    /// via the GARP rule.
    ReplyBroadcastTarget,
}

/// One step of a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptAction {
    /// Claim the address and answer ARP/ND for it from user space (MetalLB-style).
    Own(IpAddr),
    /// Configure the address on the interface, so the kernel answers for it
    /// (keepalived-style).
    OwnOnInterface(IpAddr),
    Release(IpAddr),
    Garp {
        addr: IpAddr,
        kind: GarpKind,
        count: u32,
        interval: Duration,
    },
    UnsolicitedNa {
        addr: IpAddr,
        override_: bool,
        count: u32,
        interval: Duration,
    },
}

/// Settings that are not steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptedConfig {
    /// Answer ARP requests and NS for owned addresses (true unless a scenario models a
    /// broken responder).
    pub answer: bool,
    /// The O flag on solicited NAs. MetalLB sends O=0; Linux's own addresses use O=1 for
    /// multicast NS.
    pub na_override: bool,
}

impl Default for ScriptedConfig {
    fn default() -> Self {
        Self {
            answer: true,
            na_override: false,
        }
    }
}

#[derive(Clone, Debug)]
struct Pending {
    at: Instant,
    action: ScriptAction,
}

pub struct ScriptedApp {
    config: ScriptedConfig,
    /// Steps in time order; those before the (re)start time are skipped.
    script: Vec<(Instant, ScriptAction)>,
    next: usize,
    owned: BTreeSet<IpAddr>,
    /// Addresses this application put on an interface.
    on_iface: BTreeSet<IpAddr>,
    /// Remaining repetitions of bursts, in the order they were started.
    pending: Vec<Pending>,
}

impl ScriptedApp {
    pub fn new(config: ScriptedConfig, mut script: Vec<(Instant, ScriptAction)>) -> Self {
        script.sort_by_key(|(t, _)| *t);
        Self {
            config,
            script,
            next: 0,
            owned: BTreeSet::new(),
            on_iface: BTreeSet::new(),
            pending: vec![],
        }
    }

    pub fn owned(&self) -> impl Iterator<Item = &IpAddr> {
        self.owned.iter()
    }

    fn run_due(&mut self, io: &mut dyn HostIo) {
        let now = io.now();
        while let Some((t, action)) = self.script.get(self.next).cloned() {
            if t > now {
                break;
            }
            self.next += 1;
            self.execute(io, action);
        }
        let due: Vec<Pending> = {
            let (due, later): (Vec<_>, Vec<_>) = self.pending.drain(..).partition(|p| p.at <= now);
            self.pending = later;
            due
        };
        for p in due {
            self.execute(io, p.action);
        }
        let mut next = self.script.get(self.next).map(|(t, _)| *t);
        for p in &self.pending {
            next = Some(next.map_or(p.at, |n| n.min(p.at)));
        }
        if let Some(t) = next {
            io.wake_at(t);
        }
    }

    fn execute(&mut self, io: &mut dyn HostIo, action: ScriptAction) {
        let now = io.now();
        match action {
            ScriptAction::Own(addr) => {
                if self.owned.insert(addr) {
                    io.set_claimed(addr, true);
                    io.annotate(&format!("owns {addr}"));
                }
            }
            ScriptAction::OwnOnInterface(addr) => {
                if let Some((iface, prefix)) = iface_prefix_for(io, addr)
                    && self.on_iface.insert(addr)
                {
                    io.set_interface_address(iface, addr, prefix, true);
                    io.annotate(&format!("adds {addr}/{prefix} to its interface"));
                }
            }
            ScriptAction::Release(addr) => {
                if self.owned.remove(&addr) {
                    io.set_claimed(addr, false);
                    io.annotate(&format!("released {addr}"));
                }
                if self.on_iface.remove(&addr)
                    && let Some((iface, prefix)) = iface_prefix_for(io, addr)
                {
                    io.set_interface_address(iface, addr, prefix, false);
                    io.annotate(&format!("removes {addr} from its interface"));
                }
            }
            ScriptAction::Garp {
                addr,
                kind,
                count,
                interval,
            } => {
                if let IpAddr::V4(v4) = addr
                    && let Some((iface, mac)) = iface_for(io, addr)
                {
                    let tha = match kind {
                        GarpKind::Request => Mac::ZERO,
                        GarpKind::Reply => mac,
                        GarpKind::ReplyBroadcastTarget => Mac::BROADCAST,
                    };
                    let op = if kind == GarpKind::Request {
                        ArpOp::Request
                    } else {
                        ArpOp::Reply
                    };
                    let arp = Arp {
                        op,
                        sha: mac,
                        spa: v4,
                        tha,
                        tpa: v4,
                    };
                    io.send_frame(
                        iface,
                        &frame::build_eth(Mac::BROADCAST, mac, ETHERTYPE_ARP, &arp.encode()),
                    );
                    io.annotate(&format!("gratuitous ARP {kind:?} for {addr}"));
                }
                if count > 1 {
                    self.pending.push(Pending {
                        at: now + interval,
                        action: ScriptAction::Garp {
                            addr,
                            kind,
                            count: count - 1,
                            interval,
                        },
                    });
                }
            }
            ScriptAction::UnsolicitedNa {
                addr,
                override_,
                count,
                interval,
            } => {
                if let IpAddr::V6(v6) = addr
                    && let Some((iface, mac)) = iface_for(io, addr)
                {
                    let src = match io.interfaces()[iface].addr_for(addr) {
                        Some(IpAddr::V6(s)) => s,
                        _ => v6,
                    };
                    let na = Nd::Advert {
                        target: v6,
                        router: false,
                        solicited: false,
                        override_,
                        tllao: Some(mac),
                    };
                    let pkt = na.build(src, ALL_NODES);
                    io.send_frame(
                        iface,
                        &frame::build_eth(
                            Mac::ipv6_multicast(ALL_NODES),
                            mac,
                            ETHERTYPE_IPV6,
                            &pkt,
                        ),
                    );
                    io.annotate(&format!(
                        "unsolicited NA (O={}) for {addr}",
                        u8::from(override_)
                    ));
                }
                if count > 1 {
                    self.pending.push(Pending {
                        at: now + interval,
                        action: ScriptAction::UnsolicitedNa {
                            addr,
                            override_,
                            count: count - 1,
                            interval,
                        },
                    });
                }
            }
        }
    }

    /// Answers ARP requests and neighbour solicitations for owned addresses.
    fn on_frame(&mut self, io: &mut dyn HostIo, iface: IfIndex, raw: &[u8]) {
        if !self.config.answer || self.owned.is_empty() {
            return;
        }
        let Ok(eth) = frame::parse_eth(raw) else {
            return;
        };
        let Some(info) = io.interfaces().get(iface) else {
            return;
        };
        let mac = info.mac;
        match eth.ethertype {
            ETHERTYPE_ARP => {
                let Ok(req) = Arp::decode(eth.payload) else {
                    return;
                };
                if req.op != ArpOp::Request
                    || req.spa == req.tpa
                    || !self.owned.contains(&IpAddr::V4(req.tpa))
                {
                    return;
                }
                let reply = Arp {
                    op: ArpOp::Reply,
                    sha: mac,
                    spa: req.tpa,
                    tha: req.sha,
                    tpa: req.spa,
                };
                io.send_frame(
                    iface,
                    &frame::build_eth(req.sha, mac, ETHERTYPE_ARP, &reply.encode()),
                );
            }
            ETHERTYPE_IPV6 => {
                let Ok(ip) = frame::parse_ipv6(eth.payload) else {
                    return;
                };
                if ip.proto != IPPROTO_ICMPV6 {
                    return;
                }
                let Ok(Some(Nd::Solicit { target, sllao })) = Nd::parse(&ip) else {
                    return;
                };
                if !self.owned.contains(&IpAddr::V6(target)) {
                    return;
                }
                let IpAddr::V6(src) = ip.src else {
                    return;
                };
                let (dst_ip, solicited) = if src.is_unspecified() {
                    (ALL_NODES, false)
                } else {
                    (src, true)
                };
                let na = Nd::Advert {
                    target,
                    router: false,
                    solicited,
                    override_: self.config.na_override || !solicited,
                    tllao: Some(mac),
                };
                let dst_mac = if dst_ip == ALL_NODES {
                    Mac::ipv6_multicast(ALL_NODES)
                } else {
                    sllao.unwrap_or(eth.src)
                };
                io.send_frame(
                    iface,
                    &frame::build_eth(dst_mac, mac, ETHERTYPE_IPV6, &na.build(target, dst_ip)),
                );
            }
            _ => {}
        }
    }
}

/// The interface whose subnet holds `addr`, and that subnet's prefix length.
fn iface_prefix_for(io: &dyn HostIo, addr: IpAddr) -> Option<(IfIndex, u8)> {
    io.interfaces().iter().find_map(|i| {
        i.addrs
            .iter()
            .find(|(a, p)| *a != addr && crate::app::same_subnet(*a, addr, *p))
            .map(|(_, p)| (i.index, *p))
    })
}

fn iface_for(io: &dyn HostIo, addr: IpAddr) -> Option<(IfIndex, Mac)> {
    let ifs = io.interfaces();
    ifs.iter()
        .find(|i| i.on_link(addr))
        .or_else(|| ifs.first())
        .map(|i| (i.index, i.mac))
}

impl HostApp for ScriptedApp {
    fn handle(&mut self, io: &mut dyn HostIo, input: AppInput<'_>) {
        match input {
            AppInput::Start => {
                // A (re)started process owns nothing and skips what it missed.
                let now = io.now();
                self.owned.clear();
                self.on_iface.clear();
                self.pending.clear();
                self.next = self.script.partition_point(|(t, _)| *t < now);
                self.run_due(io);
            }
            AppInput::Timer => self.run_due(io),
            AppInput::Frame { iface, frame } => self.on_frame(io, iface, frame),
            AppInput::Datagram { .. }
            | AppInput::Carrier { .. }
            | AppInput::Stream { .. }
            | AppInput::Watch(_)
            | AppInput::Terminate => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::IfaceInfo;
    use crate::neigh;
    use crate::rng::{RngTree, SimRng};
    use std::net::{Ipv4Addr, SocketAddr};

    struct FakeIo {
        now: Instant,
        ifaces: Vec<IfaceInfo>,
        frames: Vec<Vec<u8>>,
        wakes: Vec<Instant>,
        claimed: BTreeSet<IpAddr>,
        rng: SimRng,
    }
    impl HostIo for FakeIo {
        fn now(&self) -> Instant {
            self.now
        }
        fn interfaces(&self) -> &[IfaceInfo] {
            &self.ifaces
        }
        fn send_frame(&mut self, _iface: IfIndex, frame: &[u8]) {
            self.frames.push(frame.to_vec());
        }
        fn send_datagram(&mut self, _: SocketAddr, _: SocketAddr, _: &[u8]) {}
        fn bind_udp(&mut self, _: u16) {}
        fn listen(&mut self, _: u16) {}
        fn connect(&mut self, _: crate::app::ConnId, _: SocketAddr, _: SocketAddr) {}
        fn send_stream(&mut self, _: crate::app::ConnId, _: &[u8]) {}
        fn close(&mut self, _: crate::app::ConnId) {}
        fn set_interface_address(
            &mut self,
            iface: IfIndex,
            addr: IpAddr,
            prefix: u8,
            present: bool,
        ) {
            let a = &mut self.ifaces[iface].addrs;
            if present {
                a.push((addr, prefix));
            } else {
                a.retain(|(x, _)| *x != addr);
            }
        }
        fn wake_at(&mut self, at: Instant) {
            self.wakes.push(at);
        }
        fn set_announcing(&mut self, _addr: IpAddr, _announcing: bool) {}
        fn set_claimed(&mut self, addr: IpAddr, claimed: bool) {
            if claimed {
                self.claimed.insert(addr);
            } else {
                self.claimed.remove(&addr);
            }
        }
        fn rng(&mut self) -> &mut SimRng {
            &mut self.rng
        }
        fn annotate(&mut self, _: &str) {}
        fn exit(&mut self) {}
    }
    const MAC: Mac = Mac([2, 0, 0, 0, 0, 0x12]);
    fn io() -> FakeIo {
        FakeIo {
            now: Instant::ZERO,
            ifaces: vec![IfaceInfo {
                index: 0,
                name: "eth0".into(),
                mac: MAC,
                addrs: vec![
                    ("198.51.100.12".parse().unwrap(), 24),
                    ("2001:db8::12".parse().unwrap(), 64),
                ],
                up: true,
            }],
            frames: vec![],
            wakes: vec![],
            claimed: BTreeSet::new(),
            rng: RngTree::new(0).stream("t"),
        }
    }
    fn vip() -> IpAddr {
        "198.51.100.200".parse().unwrap()
    }
    fn secs(s: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(s)
    }

    #[test]
    fn owns_at_its_time_and_claims_the_address() {
        let mut app = ScriptedApp::new(
            ScriptedConfig::default(),
            vec![(secs(5), ScriptAction::Own(vip()))],
        );
        let mut io = io();
        app.handle(&mut io, AppInput::Start);
        assert_eq!(io.wakes, vec![secs(5)]);
        assert!(io.claimed.is_empty());
        io.now = secs(5);
        app.handle(&mut io, AppInput::Timer);
        assert!(io.claimed.contains(&vip()));
    }

    #[test]
    fn garp_burst_repeats_at_the_interval_with_the_right_bytes() {
        let script = vec![
            (secs(0), ScriptAction::Own(vip())),
            (
                secs(0),
                ScriptAction::Garp {
                    addr: vip(),
                    kind: GarpKind::ReplyBroadcastTarget,
                    count: 3,
                    interval: Duration::from_millis(1100),
                },
            ),
        ];
        let mut app = ScriptedApp::new(ScriptedConfig::default(), script);
        let mut io = io();
        app.handle(&mut io, AppInput::Start);
        for _ in 0..5 {
            if let Some(&w) = io.wakes.last() {
                io.now = w;
                io.wakes.clear();
                app.handle(&mut io, AppInput::Timer);
            }
        }
        assert_eq!(io.frames.len(), 3);
        let eth = frame::parse_eth(&io.frames[2]).unwrap();
        assert_eq!(eth.dst, Mac::BROADCAST);
        let a = Arp::decode(eth.payload).unwrap();
        assert_eq!((a.op, a.tha, a.sha), (ArpOp::Reply, Mac::BROADCAST, MAC));
        assert!(
            !neigh::is_garp(&a),
            "broadcast-target reply is not GARP for Linux"
        );
        assert_eq!(io.now, Instant::ZERO + Duration::from_millis(2200));
    }

    #[test]
    fn answers_arp_for_owned_addresses_only() {
        let mut app = ScriptedApp::new(
            ScriptedConfig::default(),
            vec![(secs(0), ScriptAction::Own(vip()))],
        );
        let mut io = io();
        app.handle(&mut io, AppInput::Start);
        let client = Mac([2, 0, 0, 0, 0, 0x64]);
        let ask = |tpa: Ipv4Addr| {
            let a = Arp {
                op: ArpOp::Request,
                sha: client,
                spa: Ipv4Addr::new(198, 51, 100, 100),
                tha: Mac::ZERO,
                tpa,
            };
            frame::build_eth(Mac::BROADCAST, client, ETHERTYPE_ARP, &a.encode())
        };
        app.handle(
            &mut io,
            AppInput::Frame {
                iface: 0,
                frame: &ask(Ipv4Addr::new(198, 51, 100, 201)),
            },
        );
        assert!(io.frames.is_empty());
        app.handle(
            &mut io,
            AppInput::Frame {
                iface: 0,
                frame: &ask(Ipv4Addr::new(198, 51, 100, 200)),
            },
        );
        let eth = frame::parse_eth(&io.frames[0]).unwrap();
        assert_eq!(eth.dst, client);
        let r = Arp::decode(eth.payload).unwrap();
        assert_eq!(
            (r.op, r.sha, r.tpa),
            (ArpOp::Reply, MAC, Ipv4Addr::new(198, 51, 100, 100))
        );
    }

    #[test]
    fn answers_ns_with_solicited_na_and_configured_override() {
        let v6: IpAddr = "2001:db8::200".parse().unwrap();
        let mut app = ScriptedApp::new(
            ScriptedConfig::default(),
            vec![(secs(0), ScriptAction::Own(v6))],
        );
        let mut io = io();
        app.handle(&mut io, AppInput::Start);
        let client = Mac([2, 0, 0, 0, 0, 0x64]);
        let IpAddr::V6(t) = v6 else { unreachable!() };
        let ns = Nd::Solicit {
            target: t,
            sllao: Some(client),
        }
        .build("2001:db8::100".parse().unwrap(), frame::solicited_node(t));
        let f = frame::build_eth(
            Mac::ipv6_multicast(frame::solicited_node(t)),
            client,
            ETHERTYPE_IPV6,
            &ns,
        );
        app.handle(
            &mut io,
            AppInput::Frame {
                iface: 0,
                frame: &f,
            },
        );
        let eth = frame::parse_eth(&io.frames[0]).unwrap();
        assert_eq!(eth.dst, client);
        let ip = frame::parse_ipv6(eth.payload).unwrap();
        match Nd::parse(&ip).unwrap() {
            Some(Nd::Advert {
                solicited,
                override_,
                tllao,
                ..
            }) => {
                assert!(solicited);
                assert!(!override_, "MetalLB-style O=0 by default");
                assert_eq!(tllao, Some(MAC));
            }
            other => panic!("expected NA, got {other:?}"),
        }
    }

    #[test]
    fn own_on_interface_configures_the_address_and_leaves_arp_to_the_kernel() {
        let script = vec![
            (secs(0), ScriptAction::OwnOnInterface(vip())),
            (secs(1), ScriptAction::Release(vip())),
        ];
        let mut app = ScriptedApp::new(ScriptedConfig::default(), script);
        let mut io = io();
        app.handle(&mut io, AppInput::Start);
        assert!(
            io.ifaces[0].addrs.contains(&(vip(), 24)),
            "{:?}",
            io.ifaces[0].addrs
        );
        assert!(io.claimed.is_empty(), "not a user-space claim");
        io.now = secs(1);
        app.handle(&mut io, AppInput::Timer);
        assert!(!io.ifaces[0].addrs.iter().any(|(a, _)| *a == vip()));
    }

    #[test]
    fn release_stops_answering_and_unclaims() {
        let script = vec![
            (secs(0), ScriptAction::Own(vip())),
            (secs(1), ScriptAction::Release(vip())),
        ];
        let mut app = ScriptedApp::new(ScriptedConfig::default(), script);
        let mut io = io();
        app.handle(&mut io, AppInput::Start);
        io.now = secs(1);
        app.handle(&mut io, AppInput::Timer);
        assert!(io.claimed.is_empty());
        assert_eq!(app.owned().count(), 0);
    }

    #[test]
    fn restart_skips_missed_steps_and_owns_nothing() {
        let script = vec![
            (secs(0), ScriptAction::Own(vip())),
            (secs(10), ScriptAction::Release(vip())),
        ];
        let mut app = ScriptedApp::new(ScriptedConfig::default(), script);
        let mut io = io();
        io.now = secs(5);
        app.handle(&mut io, AppInput::Start);
        assert_eq!(app.owned().count(), 0);
        assert_eq!(io.wakes, vec![secs(10)]);
    }
}
