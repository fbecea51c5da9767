//! Frames built and answered, parsed back with the same codec the simulated kernels
//! use.

use std::collections::{BTreeMap, BTreeSet};

use ferrolb_wire::{Ip, parse_ip};

use super::*;
use crate::layer2::announcer::AnnouncerConfig;
use crate::time::Instant;

const OURS: Mac = Mac([0x02, 0, 0, 0, 0, 0x11]);
const CLIENT: Mac = Mac([0x02, 0, 0, 0, 0, 0x99]);

fn iface() -> Interface {
    Interface {
        name: "eth0".into(),
        mac: OURS,
        link_local: Some("fe80::11".parse().unwrap()),
    }
}

fn announcing(ips: &[&str], probes: bool) -> Announcer {
    let mut a = Announcer::new(AnnouncerConfig {
        probes: if probes { 3 } else { 0 },
        ..AnnouncerConfig::default()
    });
    let want: BTreeMap<IpAddr, BTreeSet<String>> = ips
        .iter()
        .map(|ip| (ip.parse().unwrap(), BTreeSet::from(["eth0".to_owned()])))
        .collect();
    a.set(Instant::ZERO, &want, |_| true);
    a.drain_actions();
    a
}

fn arp_request(target: &str, from_ip: &str) -> Vec<u8> {
    let arp = Arp {
        op: ArpOp::Request,
        sha: CLIENT,
        spa: from_ip.parse().unwrap(),
        tha: Mac::ZERO,
        tpa: target.parse().unwrap(),
    };
    build_eth(Mac::BROADCAST, CLIENT, ETHERTYPE_ARP, &arp.encode())
}

fn ns(target: &str, src: &str, sllao: Option<Mac>) -> Vec<u8> {
    let t: Ipv6Addr = target.parse().unwrap();
    let nd = Nd::Solicit { target: t, sllao };
    let group = solicited_node(t);
    build_eth(
        Mac::ipv6_multicast(group),
        CLIENT,
        ETHERTYPE_IPV6,
        &nd.build(src.parse().unwrap(), group),
    )
}

fn ip_of(frame: &[u8]) -> Ip<'_> {
    parse_ip(parse_eth(frame).unwrap().payload).unwrap()
}

#[test]
fn answers_arp_for_announced_addresses_only() {
    let mut a = announcing(&["192.0.2.10"], false);
    let mut c = BTreeMap::new();
    let out = handle_frame(
        Instant::ZERO,
        &mut a,
        &iface(),
        &arp_request("192.0.2.10", "192.0.2.1"),
        |_| false,
        &mut c,
    );
    assert_eq!(out.len(), 1);
    let eth = parse_eth(&out[0]).unwrap();
    assert_eq!((eth.dst, eth.src), (CLIENT, OURS));
    let reply = Arp::decode(eth.payload).unwrap();
    assert_eq!(reply.op, ArpOp::Reply);
    assert_eq!(reply.sha, OURS);
    assert_eq!(reply.spa, "192.0.2.10".parse::<Ipv4Addr>().unwrap());
    assert_eq!(
        (reply.tha, reply.tpa),
        (CLIENT, "192.0.2.1".parse::<Ipv4Addr>().unwrap())
    );
    let n = c[&"192.0.2.10".parse::<IpAddr>().unwrap()];
    assert_eq!((n.requests_received, n.responses_sent), (1, 1));
    assert!(
        handle_frame(
            Instant::ZERO,
            &mut a,
            &iface(),
            &arp_request("192.0.2.11", "192.0.2.1"),
            |_| false,
            &mut c
        )
        .is_empty()
    );
    let other = Interface {
        name: "eth1".into(),
        ..iface()
    };
    assert!(
        handle_frame(
            Instant::ZERO,
            &mut a,
            &other,
            &arp_request("192.0.2.10", "192.0.2.1"),
            |_| false,
            &mut c
        )
        .is_empty()
    );
}

#[test]
fn while_yielding_to_a_newcomer_requests_are_answered_but_its_probes_are_not() {
    let mut a = announcing(&["192.0.2.10"], false);
    let mut c = BTreeMap::new();
    let ip: IpAddr = "192.0.2.10".parse().unwrap();
    a.yield_to_newcomer(Instant::ZERO, ip, core::time::Duration::from_secs(1));
    let mut ask = |a: &mut Announcer, at: Instant, from: &str| {
        handle_frame(
            at,
            a,
            &iface(),
            &arp_request("192.0.2.10", from),
            |_| false,
            &mut c,
        )
        .len()
    };
    assert_eq!(
        ask(&mut a, Instant::ZERO, "192.0.2.1"),
        1,
        "clients still answered"
    );
    assert_eq!(
        ask(&mut a, Instant::ZERO, "0.0.0.0"),
        0,
        "the newcomer's probe is not"
    );
    assert!(
        a.drain_actions().is_empty(),
        "no gratuitous ARP while yielding"
    );
    // When the time is up the address is gone.
    let end = Instant::ZERO + core::time::Duration::from_secs(1);
    assert_eq!(a.poll_timeout(), Some(end));
    a.handle_timeout(end);
    assert_eq!(ask(&mut a, end, "192.0.2.1"), 0);
    assert_eq!(a.announced().count(), 0);
    assert_eq!(a.poll_timeout(), None);
}

#[test]
fn an_address_won_back_while_yielding_is_announced_again_at_once() {
    let mut a = announcing(&["192.0.2.10"], true);
    let ip: IpAddr = "192.0.2.10".parse().unwrap();
    a.yield_to_newcomer(Instant::ZERO, ip, core::time::Duration::from_secs(1));
    // The set without the address keeps the yielding entry...
    a.set(Instant::ZERO, &BTreeMap::new(), |_| false);
    assert!(a.answers(ip, "eth0"));
    // ...and wanting it again bursts at once, with no probe.
    let at = Instant::ZERO + core::time::Duration::from_millis(200);
    let want = BTreeMap::from([(ip, BTreeSet::from(["eth0".to_owned()]))]);
    a.set(at, &want, |_| false);
    let acts = a.drain_actions();
    assert!(
        matches!(acts.as_slice(), [Action::Announce { .. }]),
        "{acts:?}"
    );
    assert!(a.answers_probe(ip, "eth0"));
}

#[test]
fn answers_neighbour_solicitations_with_a_solicited_na() {
    let mut a = announcing(&["2001:db8::200"], false);
    let mut c = BTreeMap::new();
    let out = handle_frame(
        Instant::ZERO,
        &mut a,
        &iface(),
        &ns("2001:db8::200", "2001:db8::1", Some(CLIENT)),
        |_| false,
        &mut c,
    );
    assert_eq!(out.len(), 1);
    let eth = parse_eth(&out[0]).unwrap();
    assert_eq!(eth.dst, CLIENT);
    let ip = ip_of(&out[0]);
    assert_eq!(ip.hop_limit, 255);
    assert_eq!(ip.src, "fe80::11".parse::<IpAddr>().unwrap());
    assert_eq!(ip.dst, "2001:db8::1".parse::<IpAddr>().unwrap());
    match Nd::parse(&ip).unwrap().unwrap() {
        Nd::Advert {
            target,
            solicited,
            override_,
            tllao,
            ..
        } => {
            assert_eq!(target, "2001:db8::200".parse::<Ipv6Addr>().unwrap());
            assert!(solicited && !override_);
            assert_eq!(tllao, Some(OURS));
        }
        other => panic!("{other:?}"),
    }
    // DAD probes (no source link-layer option, unspecified source) are not answered.
    assert!(
        handle_frame(
            Instant::ZERO,
            &mut a,
            &iface(),
            &ns("2001:db8::200", "::", None),
            |_| false,
            &mut c
        )
        .is_empty()
    );
}

#[test]
fn gratuitous_arp_is_a_request_and_a_reply_linux_counts_as_gratuitous() {
    let mut c = BTreeMap::new();
    let frames = action_frames(
        &Action::Announce {
            ip: "192.0.2.10".parse().unwrap(),
            iface: "eth0".into(),
        },
        &iface(),
        &mut c,
    );
    assert_eq!(frames.len(), 2);
    let arps: Vec<Arp> = frames
        .iter()
        .map(|f| Arp::decode(parse_eth(f).unwrap().payload).unwrap())
        .collect();
    for a in &arps {
        assert_eq!(a.spa, a.tpa, "sender IP = target IP");
        assert!(
            a.op == ArpOp::Request || a.tha == a.sha,
            "Linux arp_is_garp: {a:?}"
        );
    }
    assert!(
        frames
            .iter()
            .all(|f| parse_eth(f).unwrap().dst.is_broadcast())
    );
    assert_eq!(
        c[&"192.0.2.10".parse::<IpAddr>().unwrap()].gratuitous_sent,
        1
    );
}

#[test]
fn unsolicited_na_overrides_to_all_nodes() {
    let mut c = BTreeMap::new();
    let frames = action_frames(
        &Action::Announce {
            ip: "2001:db8::200".parse().unwrap(),
            iface: "eth0".into(),
        },
        &iface(),
        &mut c,
    );
    let ip = ip_of(&frames[0]);
    assert_eq!(ip.dst, IpAddr::V6(ALL_NODES));
    assert_eq!(
        parse_eth(&frames[0]).unwrap().dst,
        Mac::ipv6_multicast(ALL_NODES)
    );
    match Nd::parse(&ip).unwrap().unwrap() {
        Nd::Advert {
            solicited,
            override_,
            tllao,
            ..
        } => assert!(!solicited && override_ && tllao == Some(OURS)),
        other => panic!("{other:?}"),
    }
    let no_ll = Interface {
        link_local: None,
        ..iface()
    };
    assert!(
        action_frames(
            &Action::Announce {
                ip: "2001:db8::200".parse().unwrap(),
                iface: "eth0".into()
            },
            &no_ll,
            &mut c
        )
        .is_empty()
    );
}

#[test]
fn probes_are_rfc5227_and_dad_shaped() {
    let mut c = BTreeMap::new();
    let f = action_frames(
        &Action::Probe {
            ip: "192.0.2.10".parse().unwrap(),
            iface: "eth0".into(),
        },
        &iface(),
        &mut c,
    );
    let arp = Arp::decode(parse_eth(&f[0]).unwrap().payload).unwrap();
    assert_eq!(arp.spa, Ipv4Addr::UNSPECIFIED);
    assert_eq!(arp.tpa, "192.0.2.10".parse::<Ipv4Addr>().unwrap());
    let f = action_frames(
        &Action::Probe {
            ip: "2001:db8::200".parse().unwrap(),
            iface: "eth0".into(),
        },
        &iface(),
        &mut c,
    );
    let ip = ip_of(&f[0]);
    assert_eq!(ip.src, IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    assert_eq!(
        ip.dst,
        IpAddr::V6(solicited_node("2001:db8::200".parse().unwrap()))
    );
    assert!(matches!(
        Nd::parse(&ip).unwrap().unwrap(),
        Nd::Solicit { sllao: None, .. }
    ));
}

#[test]
fn a_foreign_reply_to_our_probe_is_a_conflict_and_silences_the_address() {
    let mut a = Announcer::new(AnnouncerConfig::default());
    let want: BTreeMap<IpAddr, BTreeSet<String>> = [(
        "192.0.2.50".parse().unwrap(),
        BTreeSet::from(["eth0".to_owned()]),
    )]
    .into();
    a.set(Instant::ZERO, &want, |_| false);
    let intruder = Mac([0xaa, 0, 0, 0, 0, 1]);
    let reply = Arp {
        op: ArpOp::Reply,
        sha: intruder,
        spa: "192.0.2.50".parse().unwrap(),
        tha: OURS,
        tpa: Ipv4Addr::UNSPECIFIED,
    };
    let frame = build_eth(OURS, intruder, ETHERTYPE_ARP, &reply.encode());
    let mut c = BTreeMap::new();
    handle_frame(
        Instant::ZERO,
        &mut a,
        &iface(),
        &frame,
        |m| m == CLIENT,
        &mut c,
    );
    let conflicts = a.drain_conflicts();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].mac, intruder.0);
    assert!(
        handle_frame(
            Instant::ZERO,
            &mut a,
            &iface(),
            &arp_request("192.0.2.50", "192.0.2.1"),
            |_| false,
            &mut c
        )
        .is_empty()
    );
}

#[test]
fn malformed_frames_are_ignored() {
    let mut a = announcing(&["192.0.2.10"], false);
    let mut c = BTreeMap::new();
    for f in [
        vec![],
        vec![0u8; 13],
        build_eth(Mac::BROADCAST, CLIENT, ETHERTYPE_ARP, &[1, 2, 3]),
        build_eth(Mac::BROADCAST, CLIENT, ETHERTYPE_IPV6, &[0x60; 30]),
    ] {
        assert!(handle_frame(Instant::ZERO, &mut a, &iface(), &f, |_| false, &mut c).is_empty());
    }
}

proptest::proptest! {
    #[test]
    fn arbitrary_frames_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
        let mut a = announcing(&["192.0.2.10", "2001:db8::200"], false);
        let mut c = BTreeMap::new();
        let _ = handle_frame(Instant::ZERO, &mut a, &iface(), &bytes, |_| false, &mut c);
    }
}
