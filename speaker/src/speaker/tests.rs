//! The speaker core end to end against a recording [`Io`]: configuration, Services,
//! nodes and membership in; frames, connections and wake-ups out.

use std::collections::BTreeSet;

use ferrolb_api::config::Options;
use ferrolb_api::load::{LoadReport, Resources};
use ferrolb_api::service::LbService;
use ferrolb_wire::{Arp, ArpOp, ETHERTYPE_ARP, build_eth, parse_eth};

use super::*;
use crate::election::Endpoint;
use crate::time::Instant;

#[derive(Default)]
struct Rec {
    now: Instant,
    frames: Vec<(String, Vec<u8>)>,
    connects: Vec<(ConnId, ConnectSpec)>,
    streams: Vec<(ConnId, Vec<u8>)>,
    closes: Vec<ConnId>,
    wake: Option<Instant>,
    datagrams: Vec<(SocketAddr, Vec<u8>)>,
}

impl Io for Rec {
    fn now(&self) -> Instant {
        self.now
    }
    fn send_frame(&mut self, iface: &str, frame: &[u8]) {
        self.frames.push((iface.to_owned(), frame.to_vec()));
    }
    fn send_datagram(&mut self, _: SocketAddr, to: SocketAddr, data: &[u8]) {
        self.datagrams.push((to, data.to_vec()));
    }
    fn connect(&mut self, conn: ConnId, spec: &ConnectSpec) {
        self.connects.push((conn, spec.clone()));
    }
    fn send_stream(&mut self, conn: ConnId, data: &[u8]) {
        self.streams.push((conn, data.to_vec()));
    }
    fn close(&mut self, conn: ConnId) {
        self.closes.push(conn);
    }
    fn wake_at(&mut self, at: Instant) {
        self.wake = Some(at);
    }
}

fn config(yaml: &str) -> Config {
    let mut r = Resources::default();
    r.load_str("t.yaml", yaml, &mut LoadReport::default())
        .unwrap();
    Config::from_resources(&r, &Options::default()).unwrap()
}

const L2: &str = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: p\nspec:\n  addresses: [192.0.2.0/24]\n---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: l2\n";
const BGP: &str = "---\napiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata:\n  name: tor\nspec:\n  myASN: 64512\n  peerASN: 65000\n  peerAddress: 10.0.0.1\n  sourceAddress: 10.0.0.2\n  password: pw\n---\napiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata:\n  name: ad\n";

fn node(name: &str) -> (String, NodeInfo) {
    (
        name.to_owned(),
        NodeInfo {
            name: name.to_owned(),
            ..Default::default()
        },
    )
}

fn svc(ip: &str, ep_node: &str) -> ServiceView {
    ServiceView {
        service: LbService {
            namespace: "default".into(),
            name: "web".into(),
            is_load_balancer: true,
            ingress_ips: vec![ip.into()],
            ..Default::default()
        },
        endpoints: vec![Endpoint {
            node: Some(ep_node.into()),
            addresses: vec!["10.244.0.9".parse().unwrap()],
            ..Default::default()
        }],
    }
}

fn speaker(node: &str) -> Speaker {
    Speaker::new(SpeakerConfig {
        node: node.into(),
        ignore_exclude_lb: false,
        announcer: AnnouncerConfig::default(),
    })
}

fn eth0(mac: u8) -> Interface {
    Interface {
        name: "eth0".into(),
        mac: Mac([2, 0, 0, 0, 0, mac]),
        link_local: Some("fe80::1".parse().unwrap()),
    }
}

/// Two nodes; returns the speaker on the node that wins 192.0.2.10 and the other one.
fn pair(io: &mut Rec, yaml: &str) -> (Speaker, Speaker) {
    let mk = |n: &str, mac: u8, io: &mut Rec| {
        let mut s = speaker(n);
        s.set_interfaces(io, vec![eth0(mac)]);
        s.set_nodes(io, [node("a"), node("b")].into());
        s.set_members(io, Some(["a".to_owned(), "b".to_owned()].into()));
        s.set_services(io, vec![svc("192.0.2.10", "a")]);
        s.set_config(io, config(yaml));
        s
    };
    let mut a = mk("a", 1, io);
    let mut b = mk("b", 2, io);
    // Past the conflict probe (a new address) and the announcement bursts.
    for step in 1..=100u64 {
        io.now = Instant::from_nanos(step * 100_000_000);
        a.handle_timeout(io);
        b.handle_timeout(io);
    }
    if a.l2_announced().is_empty() {
        (b, a)
    } else {
        (a, b)
    }
}

#[test]
fn exactly_one_node_announces_after_probing_then_bursting() {
    let mut io = Rec::default();
    let (winner, loser) = pair(&mut io, L2);
    assert_eq!(
        winner.l2_announced(),
        vec!["192.0.2.10".parse::<IpAddr>().unwrap()]
    );
    assert!(loser.l2_announced().is_empty());
    let arps: Vec<Arp> = io
        .frames
        .iter()
        .filter_map(|(_, f)| {
            parse_eth(f)
                .ok()
                .filter(|e| e.ethertype == ETHERTYPE_ARP)
                .and_then(|e| Arp::decode(e.payload).ok())
        })
        .collect();
    let probes = arps.iter().filter(|a| a.spa.is_unspecified()).count();
    let garps = arps.iter().filter(|a| !a.spa.is_unspecified()).count();
    assert_eq!(probes, 3, "the winner probed a new address");
    assert_eq!(garps, 10, "then five bursts of request + reply");
}

#[test]
fn the_winner_answers_arp_and_the_loser_does_not() {
    let mut io = Rec::default();
    let (mut winner, mut loser) = pair(&mut io, L2);
    let client = Mac([2, 0, 0, 0, 0, 0x99]);
    let req = Arp {
        op: ArpOp::Request,
        sha: client,
        spa: "192.0.2.1".parse().unwrap(),
        tha: Mac::ZERO,
        tpa: "192.0.2.10".parse().unwrap(),
    };
    let frame = build_eth(Mac::BROADCAST, client, ETHERTYPE_ARP, &req.encode());
    io.frames.clear();
    loser.handle_frame(&mut io, "eth0", &frame);
    assert!(io.frames.is_empty());
    winner.handle_frame(&mut io, "eth0", &frame);
    assert_eq!(io.frames.len(), 1);
    assert_eq!(
        winner.l2_counters()[&"192.0.2.10".parse::<IpAddr>().unwrap()].responses_sent,
        1
    );
}

#[test]
fn losing_the_winner_from_membership_moves_the_address_with_an_immediate_burst() {
    let mut io = Rec::default();
    let (winner, mut survivor) = pair(&mut io, L2);
    let dead = winner.cfg.node.clone();
    let alive: BTreeSet<String> = ["a", "b"]
        .iter()
        .filter(|n| **n != dead)
        .map(|n| (*n).to_owned())
        .collect();
    io.frames.clear();
    io.now = Instant::from_nanos(20_000_000_000);
    survivor.set_members(&mut io, Some(alive));
    assert_eq!(
        survivor.l2_announced().len(),
        1,
        "takeover: announced at once, no probe"
    );
    assert_eq!(io.frames.len(), 2, "immediate gratuitous ARP burst");
}

#[test]
fn a_new_address_is_probed_first() {
    let mut io = Rec::default();
    let mut s = speaker("a");
    s.set_interfaces(&mut io, vec![eth0(1)]);
    s.set_nodes(&mut io, [node("a")].into());
    s.set_config(&mut io, config(L2));
    s.set_services(&mut io, vec![svc("192.0.2.10", "a")]);
    // No previous owner: probe, do not answer yet.
    assert!(s.l2_announced().is_empty());
    let arp = Arp::decode(parse_eth(&io.frames[0].1).unwrap().payload).unwrap();
    assert_eq!(arp.spa, Ipv4Addr::UNSPECIFIED, "RFC 5227 probe");
    for ms in [100, 200, 300] {
        io.now = Instant::from_nanos(ms * 1_000_000);
        s.handle_timeout(&mut io);
    }
    assert_eq!(s.l2_announced().len(), 1);
}

#[test]
fn bgp_peer_gets_a_session_with_md5_source_and_ttl_and_our_routes() {
    let mut io = Rec::default();
    let mut s = speaker("a");
    s.set_nodes(&mut io, [node("a")].into());
    s.set_services(&mut io, vec![svc("192.0.2.10", "a")]);
    s.set_config(&mut io, config(&(L2.to_owned() + BGP)));
    s.handle_timeout(&mut io);
    let (conn, spec) = io.connects.last().cloned().expect("connect requested");
    assert_eq!(spec.peer, "10.0.0.1:179".parse().unwrap());
    assert_eq!(spec.source, Some("10.0.0.2".parse().unwrap()));
    assert_eq!(spec.md5.as_deref(), Some(&b"pw"[..]));
    assert_eq!(spec.ttl, 1, "single-hop eBGP");
    s.handle_connected(&mut io, conn);
    assert!(!io.streams.is_empty(), "OPEN sent");
    assert_eq!(s.bgp_states()["tor"], session::State::OpenSent);
    assert_eq!(s.announcements().bgp["tor"].len(), 1);
    s.shutdown(&mut io, "drain");
    assert!(io.closes.contains(&conn));
}

#[test]
fn without_configuration_nothing_is_announced() {
    let mut io = Rec::default();
    let mut s = speaker("a");
    s.set_interfaces(&mut io, vec![eth0(1)]);
    s.set_nodes(&mut io, [node("a")].into());
    s.set_services(&mut io, vec![svc("192.0.2.10", "a")]);
    assert!(io.frames.is_empty());
    assert!(s.l2_announced().is_empty());
}

fn members(name: &str, addr: SocketAddr) -> Members {
    use crate::members::{Member, Members, MembersConfig};
    let me = Member {
        name: name.into(),
        addr,
    };
    Members::new(MembersConfig::default(), me, b"key", 7).unwrap()
}

#[test]
fn a_node_whose_links_come_back_rejoins_and_settles_before_probing() {
    let mut io = Rec::default();
    let mut s = speaker("a");
    s.set_interfaces(&mut io, vec![eth0(1)]);
    s.set_view(
        &mut io,
        config(L2),
        vec![svc("192.0.2.10", "a")],
        [node("a"), node("b")].into(),
    );
    let me: SocketAddr = "10.0.0.1:7946".parse().unwrap();
    let seed: SocketAddr = "10.0.0.2:7946".parse().unwrap();
    s.enable_membership(&mut io, members("a", me), me, &[seed]);
    let step = |s: &mut Speaker, io: &mut Rec, until_ms: u64| {
        while io.now < Instant::from_nanos(until_ms * 1_000_000) {
            io.now = io.now + Duration::from_millis(10);
            s.handle_timeout(io);
        }
    };
    step(&mut s, &mut io, 2_000);
    assert_eq!(s.l2_announced().len(), 1, "alone, a announces");
    // Carrier lost: nothing to announce on.
    s.set_interfaces(&mut io, Vec::new());
    assert!(s.l2_announced().is_empty());
    step(&mut s, &mut io, 3_000);
    // Carrier back: a rejoins at once and sends nothing on the LAN while it settles.
    io.frames.clear();
    io.datagrams.clear();
    s.set_interfaces(&mut io, vec![eth0(1)]);
    assert!(
        io.datagrams.iter().any(|(to, _)| *to == seed),
        "rejoined through the seed"
    );
    let back = io.now;
    // Nobody answers (b is really gone): a waits the longest rejoin settle.
    let settle_ms = REJOIN_SETTLE_MAX.as_millis() as u64;
    step(&mut s, &mut io, 3_000 + settle_ms - 20);
    assert!(
        io.frames.is_empty(),
        "no probe before the membership answered or the settle ran out"
    );
    step(&mut s, &mut io, 3_000 + settle_ms + 1_000);
    assert!(!io.frames.is_empty());
    assert_eq!(s.l2_announced().len(), 1, "announces again after {back}");
}

/// Two speakers whose membership datagrams are delivered (or not) by the test.
struct Cluster {
    nodes: Vec<(Speaker, Rec, SocketAddr)>,
    connected: bool,
}

impl Cluster {
    fn new() -> Self {
        let addrs: Vec<SocketAddr> = ["10.0.0.1:7946", "10.0.0.2:7946"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let mut nodes = Vec::new();
        for (i, name) in ["a", "b"].iter().enumerate() {
            let mut io = Rec::default();
            let mut s = speaker(name);
            s.set_interfaces(&mut io, vec![eth0(i as u8 + 1)]);
            s.set_view(
                &mut io,
                config(L2),
                vec![svc("192.0.2.10", "a")],
                [node("a"), node("b")].into(),
            );
            let seeds: Vec<SocketAddr> = addrs.iter().copied().filter(|a| *a != addrs[i]).collect();
            s.enable_membership(&mut io, members(name, addrs[i]), addrs[i], &seeds);
            nodes.push((s, io, addrs[i]));
        }
        Self {
            nodes,
            connected: true,
        }
    }

    /// Advances time in 1 ms steps to `until`, delivering datagrams while connected.
    fn run_to(&mut self, until: Instant) {
        while self.nodes[0].1.now < until {
            for (s, io, _) in &mut self.nodes {
                io.now = io.now + Duration::from_millis(1);
                s.handle_timeout(io);
            }
            for i in 0..self.nodes.len() {
                // Frames first: on a real LAN an ARP probe needs no neighbour
                // resolution, while the membership exchange after a carrier loss does.
                let frames = std::mem::take(&mut self.nodes[i].1.frames);
                let out = std::mem::take(&mut self.nodes[i].1.datagrams);
                let from = self.nodes[i].2;
                if !self.connected {
                    continue;
                }
                for (j, (s, io, _)) in self.nodes.iter_mut().enumerate() {
                    if j != i {
                        for (_, f) in &frames {
                            s.handle_frame(io, "eth0", f);
                        }
                    }
                }
                for (to, data) in out {
                    if let Some((s, io, _)) = self.nodes.iter_mut().find(|n| n.2 == to) {
                        s.handle_datagram(io, from, &data);
                    }
                }
            }
        }
    }
}

#[test]
fn a_node_whose_links_come_back_announces_once_a_member_answers() {
    let mut c = Cluster::new();
    c.run_to(Instant::from_nanos(3_000_000_000));
    let w = c
        .nodes
        .iter()
        .position(|n| !n.0.l2_announced().is_empty())
        .expect("one node announces");
    let other = 1 - w;
    // The winner is cut off: the other takes over; the winner has nothing to announce on.
    c.connected = false;
    let (s, io, _) = &mut c.nodes[w];
    s.set_interfaces(io, Vec::new());
    c.run_to(Instant::from_nanos(5_000_000_000));
    assert_eq!(
        c.nodes[other].0.l2_announced().len(),
        1,
        "the other took over"
    );
    // Links back: the membership heals within milliseconds, and the winner takes its
    // address back well before the longest settle, without a conflict.
    c.connected = true;
    let (s, io, _) = &mut c.nodes[w];
    let mac = (w + 1) as u8;
    s.set_interfaces(io, vec![eth0(mac)]);
    c.run_to(Instant::from_nanos(6_000_000_000));
    let (s, _, _) = &c.nodes[w];
    assert!(s.conflicts().is_empty(), "{:?}", s.conflicts());
    assert_eq!(s.l2_announced().len(), 1, "back within a second");
}

/// An L2Advertisement naming an interface the node lacks: ferrolb does not elect the
/// node, but the view the announceFailed warning is judged on still has the address.
#[test]
fn a_missing_named_interface_is_not_elected_but_still_reported() {
    let mut io = Rec::default();
    let yaml = format!("{L2}spec:\n  interfaces: [eth9]\n");
    let mut s = speaker("a");
    s.set_interfaces(&mut io, vec![eth0(1)]);
    s.set_nodes(&mut io, [node("a")].into());
    s.set_members(&mut io, Some(["a".to_owned()].into()));
    s.set_services(&mut io, vec![svc("192.0.2.10", "a")]);
    s.set_config(&mut io, config(&yaml));
    let ip: IpAddr = "192.0.2.10".parse().unwrap();
    assert!(
        !s.announcements().layer2.contains_key(&ip),
        "not a candidate"
    );
    let all = s.announcements_ignoring_interfaces();
    let a = all.layer2.get(&ip).expect("would win on interfaces alone");
    assert_eq!(
        crate::interfaces::announce_failures(&all, &["eth0".to_owned()].into())
            .iter()
            .map(|f| f.ip)
            .collect::<Vec<_>>(),
        vec![ip]
    );
    assert!(a.interfaces.contains("eth9"));
}
