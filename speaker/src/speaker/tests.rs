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
}

impl Io for Rec {
    fn now(&self) -> Instant {
        self.now
    }
    fn send_frame(&mut self, iface: &str, frame: &[u8]) {
        self.frames.push((iface.to_owned(), frame.to_vec()));
    }
    fn send_datagram(&mut self, _: SocketAddr, _: SocketAddr, _: &[u8]) {}
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
        let mut s = Speaker::new(SpeakerConfig {
            node: n.into(),
            ignore_exclude_lb: false,
            announcer: AnnouncerConfig::default(),
        });
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
    let mut s = Speaker::new(SpeakerConfig {
        node: "a".into(),
        ignore_exclude_lb: false,
        announcer: AnnouncerConfig::default(),
    });
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
    let mut s = Speaker::new(SpeakerConfig {
        node: "a".into(),
        ignore_exclude_lb: false,
        announcer: AnnouncerConfig::default(),
    });
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
    let mut s = Speaker::new(SpeakerConfig {
        node: "a".into(),
        ignore_exclude_lb: false,
        announcer: AnnouncerConfig::default(),
    });
    s.set_interfaces(&mut io, vec![eth0(1)]);
    s.set_nodes(&mut io, [node("a")].into());
    s.set_services(&mut io, vec![svc("192.0.2.10", "a")]);
    assert!(io.frames.is_empty());
    assert!(s.l2_announced().is_empty());
}
