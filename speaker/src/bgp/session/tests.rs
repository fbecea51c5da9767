//! The session against a scripted peer: OPEN exchange, negotiation, timers, errors,
//! route diffs.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::*;

const T0: Instant = Instant::ZERO;

fn at(secs: f64) -> Instant {
    Instant::from_nanos((secs * 1e9) as u64)
}

fn cfg(local: u32, peer: PeerAs) -> SessionConfig {
    let mut c = SessionConfig::new(local, peer, Ipv4Addr::new(10, 0, 0, 2));
    c.next_hop_v4 = Some(Ipv4Addr::new(10, 0, 0, 2));
    c.next_hop_v6 = Some("2001:db8::2".parse().unwrap());
    c
}

fn peer_open(asn: u32, hold: u16, four: bool) -> Vec<u8> {
    let mut caps = vec![
        Capability::Multiprotocol {
            afi: afi::IPV4,
            safi: safi::UNICAST,
        },
        Capability::Multiprotocol {
            afi: afi::IPV6,
            safi: safi::UNICAST,
        },
    ];
    if four {
        caps.push(Capability::FourOctetAs(asn));
    }
    Message::Open(Open {
        my_as: u16::try_from(asn).unwrap_or(AS_TRANS),
        hold_time: hold,
        bgp_id: Ipv4Addr::new(10, 0, 0, 1),
        capabilities: caps,
    })
    .encode(Codec::default())
    .unwrap()
}

fn keepalive() -> Vec<u8> {
    Message::Keepalive.encode(Codec::default()).unwrap()
}

/// Drains outputs: sent messages (decoded), closes, events.
#[derive(Default, Debug)]
struct Drained {
    connects: Vec<ConnId>,
    sent: Vec<Message>,
    closed: Vec<ConnId>,
    events: Vec<SessionEvent>,
}

fn drain(s: &mut Session) -> Drained {
    let mut d = Drained::default();
    while let Some(o) = s.poll_output() {
        match o {
            Output::Connect(c) => d.connects.push(c),
            Output::Send(_, bytes) => d
                .sent
                .push(Message::decode(&bytes, Codec::default()).unwrap()),
            Output::Close(c) => d.closed.push(c),
            Output::Event(e) => d.events.push(e),
        }
    }
    d
}

/// Brings a session to Established with a peer proposing `hold`.
fn established(c: SessionConfig, peer_as: u32, hold: u16) -> (Session, ConnId) {
    let mut s = Session::new(c);
    s.start(T0);
    s.handle_timeout(T0);
    let d = drain(&mut s);
    let conn = d.connects[0];
    s.handle_connected(T0, conn);
    let d = drain(&mut s);
    assert!(matches!(d.sent[0], Message::Open(_)));
    s.handle_bytes(at(0.01), conn, &peer_open(peer_as, hold, true));
    assert_eq!(s.state(), State::OpenConfirm);
    s.handle_bytes(at(0.02), conn, &keepalive());
    assert_eq!(s.state(), State::Established);
    (s, conn)
}

#[test]
fn open_carries_our_capabilities_and_as_trans_for_4_octet_asns() {
    let mut s = Session::new(cfg(4_200_000_001, PeerAs::Fixed(65000)));
    s.start(T0);
    s.handle_timeout(T0);
    let conn = drain(&mut s).connects[0];
    s.handle_connected(T0, conn);
    let Message::Open(o) = &drain(&mut s).sent[0] else {
        panic!()
    };
    assert_eq!(o.my_as, AS_TRANS);
    assert_eq!(o.asn(), 4_200_000_001);
    assert_eq!(o.hold_time, 90);
    assert!(o.supports(afi::IPV6, safi::UNICAST));
    assert_eq!(s.state(), State::OpenSent);
}

#[test]
fn full_exchange_reaches_established_and_negotiates_the_smaller_hold_time() {
    let (mut s, _) = established(cfg(64512, PeerAs::Fixed(65000)), 65000, 30);
    let n = s.negotiated().unwrap().clone();
    assert_eq!(n.hold_time, Duration::from_secs(30));
    assert_eq!(n.keepalive, Duration::from_secs(10));
    let d = drain(&mut s);
    assert!(
        d.events
            .iter()
            .any(|e| matches!(e, SessionEvent::Established(_)))
    );
    assert_eq!(s.stats().established_transitions, 1);
}

#[test]
fn keepalives_every_third_of_the_hold_time() {
    let (mut s, _) = established(cfg(64512, PeerAs::Fixed(65000)), 65000, 9);
    drain(&mut s);
    assert_eq!(s.poll_timeout(), Some(at(0.01) + Duration::from_secs(3)));
    s.handle_timeout(at(3.01));
    assert!(drain(&mut s).sent.contains(&Message::Keepalive));
}

#[test]
fn hold_timer_is_enforced_on_receive() {
    let (mut s, conn) = established(cfg(64512, PeerAs::Fixed(65000)), 65000, 9);
    drain(&mut s);
    // Peer keeps talking: no expiry.
    s.handle_bytes(at(8.0), conn, &keepalive());
    s.handle_timeout(at(9.5));
    assert_eq!(s.state(), State::Established);
    // Then falls silent.
    s.handle_timeout(at(17.1));
    let d = drain(&mut s);
    assert!(
        d.sent
            .iter()
            .any(|m| matches!(m, Message::Notification(n) if n.code == code::HOLD_TIMER_EXPIRED))
    );
    assert_eq!(d.closed, vec![conn]);
    assert!(
        d.events
            .iter()
            .any(|e| matches!(e, SessionEvent::Down(w) if w.contains("hold timer")))
    );
    assert_eq!(s.state(), State::Active);
}

#[test]
fn hold_time_zero_disables_keepalives_and_the_hold_timer() {
    let (mut s, _) = established(cfg(64512, PeerAs::Fixed(65000)), 65000, 0);
    drain(&mut s);
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(at(1000.0));
    assert_eq!(s.state(), State::Established);
}

#[test]
fn configured_keepalive_shorter_than_a_third_is_used() {
    let mut c = cfg(64512, PeerAs::Fixed(65000));
    c.keepalive = Some(Duration::from_secs(5));
    let (s, _) = established(c, 65000, 90);
    assert_eq!(s.negotiated().unwrap().keepalive, Duration::from_secs(5));
}

#[test]
fn wrong_peer_as_is_bad_peer_as() {
    let mut s = Session::new(cfg(64512, PeerAs::Fixed(65000)));
    s.start(T0);
    s.handle_timeout(T0);
    let conn = drain(&mut s).connects[0];
    s.handle_connected(T0, conn);
    drain(&mut s);
    s.handle_bytes(T0, conn, &peer_open(65001, 90, true));
    let d = drain(&mut s);
    assert!(
        d.sent
            .iter()
            .any(|m| matches!(m, Message::Notification(n) if (n.code, n.subcode) == (2, 2)))
    );
    assert_eq!(d.closed, vec![conn]);
}

#[test]
fn dynamic_asn_internal_and_external() {
    let (s, _) = established(cfg(64512, PeerAs::Internal), 64512, 90);
    assert_eq!(s.negotiated().unwrap().peer_as, 64512);
    let (s, _) = established(cfg(64512, PeerAs::External), 65001, 90);
    assert_eq!(s.negotiated().unwrap().peer_as, 65001);
}

#[test]
fn four_octet_local_as_needs_the_peers_capability() {
    let mut s = Session::new(cfg(4_200_000_001, PeerAs::Fixed(65000)));
    s.start(T0);
    s.handle_timeout(T0);
    let conn = drain(&mut s).connects[0];
    s.handle_connected(T0, conn);
    drain(&mut s);
    s.handle_bytes(T0, conn, &peer_open(65000, 90, false));
    let d = drain(&mut s);
    assert!(
        d.sent
            .iter()
            .any(|m| matches!(m, Message::Notification(n) if (n.code, n.subcode) == (2, 7)))
    );
}

#[test]
fn reconnect_back_off_doubles_to_two_minutes_and_resets_when_established() {
    let mut s = Session::new(cfg(64512, PeerAs::Fixed(65000)));
    s.start(T0);
    let mut now = T0;
    let mut waits = Vec::new();
    for _ in 0..10 {
        s.handle_timeout(now);
        let conn = drain(&mut s).connects[0];
        s.handle_closed(now, conn);
        drain(&mut s);
        let next = s.poll_timeout().unwrap();
        waits.push(next.since(now).as_secs());
        now = next;
    }
    assert_eq!(waits, [0, 1, 2, 4, 8, 16, 32, 64, 120, 120]);
}

#[test]
fn connect_time_replaces_the_back_off() {
    let mut c = cfg(64512, PeerAs::Fixed(65000));
    c.connect_time = Some(Duration::from_secs(5));
    let mut s = Session::new(c);
    s.start(T0);
    s.handle_timeout(T0);
    let conn = drain(&mut s).connects[0];
    s.handle_closed(T0, conn);
    assert_eq!(s.poll_timeout(), Some(at(5.0)));
}

#[test]
fn connect_and_open_exchange_must_finish_within_ten_seconds() {
    let mut s = Session::new(cfg(64512, PeerAs::Fixed(65000)));
    s.start(T0);
    s.handle_timeout(T0);
    let conn = drain(&mut s).connects[0];
    s.handle_connected(at(1.0), conn);
    drain(&mut s);
    s.handle_timeout(at(10.0));
    let d = drain(&mut s);
    assert_eq!(d.closed, vec![conn]);
    assert_eq!(s.state(), State::Active);
}

#[test]
fn stop_sends_cease_with_the_reason() {
    let (mut s, conn) = established(cfg(64512, PeerAs::Fixed(65000)), 65000, 90);
    drain(&mut s);
    s.stop("node drained");
    let d = drain(&mut s);
    let Some(Message::Notification(n)) = d.sent.first() else {
        panic!("{d:?}")
    };
    assert_eq!(n.shutdown_message(), Some("node drained"));
    assert_eq!(d.closed, vec![conn]);
    assert_eq!(s.state(), State::Idle);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn malformed_message_is_answered_with_its_notification() {
    let (mut s, conn) = established(cfg(64512, PeerAs::Fixed(65000)), 65000, 90);
    drain(&mut s);
    let mut bad = keepalive();
    bad[0] = 0;
    s.handle_bytes(at(1.0), conn, &bad);
    let d = drain(&mut s);
    assert!(
        d.sent
            .iter()
            .any(|m| matches!(m, Message::Notification(n) if (n.code, n.subcode) == (1, 1)))
    );
    assert_eq!(s.stats().malformed_received, 1);
}

#[test]
fn update_before_established_is_an_fsm_error() {
    let mut s = Session::new(cfg(64512, PeerAs::Fixed(65000)));
    s.start(T0);
    s.handle_timeout(T0);
    let conn = drain(&mut s).connects[0];
    s.handle_connected(T0, conn);
    s.handle_bytes(T0, conn, &peer_open(65000, 90, true));
    drain(&mut s);
    let u = Message::Update(Box::new(Update::end_of_rib(afi::IPV4, safi::UNICAST)))
        .encode(Codec::default())
        .unwrap();
    s.handle_bytes(T0, conn, &u);
    let d = drain(&mut s);
    assert!(
        d.sent
            .iter()
            .any(|m| matches!(m, Message::Notification(n) if (n.code, n.subcode) == (5, 2)))
    );
}

#[test]
fn received_routes_are_counted_and_ignored() {
    let (mut s, conn) = established(cfg(64512, PeerAs::Fixed(65000)), 65000, 90);
    let u = Update {
        origin: Some(Origin::Igp),
        as_path: Some(vec![Segment::Sequence(vec![65000])]),
        next_hop: Some(Ipv4Addr::new(10, 0, 0, 1)),
        nlri: vec!["0.0.0.0/0".parse().unwrap(), "10.9.0.0/16".parse().unwrap()],
        ..Update::default()
    };
    let bytes = Message::Update(Box::new(u))
        .encode(Codec::default())
        .unwrap();
    // Split across two reads to exercise framing.
    s.handle_bytes(at(1.0), conn, &bytes[..10]);
    s.handle_bytes(at(1.0), conn, &bytes[10..]);
    assert_eq!(s.stats().updates_received, 1);
    assert_eq!(s.stats().prefixes_received, 2);
    assert_eq!(s.state(), State::Established);
}

fn route(communities: &[u32]) -> Route {
    Route {
        communities: communities.to_vec(),
        ..Route::default()
    }
}

fn updates(d: &Drained) -> Vec<&Update> {
    d.sent
        .iter()
        .filter_map(|m| match m {
            Message::Update(u) => Some(&**u),
            _ => None,
        })
        .collect()
}

#[test]
fn routes_are_announced_on_establishment_and_diffs_sent_after() {
    let mut s = Session::new(cfg(64512, PeerAs::Fixed(65000)));
    let mut want = BTreeMap::new();
    want.insert("198.51.100.1/32".parse().unwrap(), route(&[1]));
    want.insert("198.51.100.2/32".parse().unwrap(), route(&[1]));
    want.insert("2001:db8:100::1/128".parse().unwrap(), route(&[]));
    s.set_routes(want.clone());
    s.start(T0);
    s.handle_timeout(T0);
    let conn = drain(&mut s).connects[0];
    s.handle_connected(T0, conn);
    s.handle_bytes(T0, conn, &peer_open(65000, 90, true));
    s.handle_bytes(T0, conn, &keepalive());
    let d = drain(&mut s);
    let ups = updates(&d);
    assert_eq!(
        ups.len(),
        2,
        "one UPDATE per attribute set and family: {ups:?}"
    );
    let v4 = ups.iter().find(|u| !u.nlri.is_empty()).unwrap();
    assert_eq!(v4.nlri.len(), 2);
    assert_eq!(v4.communities, vec![1]);
    assert_eq!(
        v4.as_path,
        Some(vec![Segment::Sequence(vec![64512])]),
        "eBGP prepends our AS"
    );
    assert_eq!(v4.local_pref, None, "no LOCAL_PREF to eBGP peers");
    assert_eq!(v4.next_hop, Some(Ipv4Addr::new(10, 0, 0, 2)));
    let v6 = ups.iter().find(|u| u.mp_reach.is_some()).unwrap();
    assert_eq!(
        v6.mp_reach.as_ref().unwrap().nlri,
        vec!["2001:db8:100::1/128".parse::<IpNet>().unwrap()]
    );
    // Remove one, change another's communities.
    want.remove(&"198.51.100.2/32".parse().unwrap());
    want.insert("198.51.100.1/32".parse().unwrap(), route(&[2]));
    s.set_routes(want);
    let d = drain(&mut s);
    let ups = updates(&d);
    assert_eq!(ups.len(), 2);
    assert_eq!(
        ups[0].withdrawn,
        vec!["198.51.100.2/32".parse::<Ipv4Net>().unwrap()]
    );
    assert_eq!(ups[1].communities, vec![2]);
    assert_eq!(s.advertised().count(), 2);
}

#[test]
fn ibgp_sends_local_pref_and_an_empty_as_path() {
    let (mut s, _) = established(cfg(64512, PeerAs::Fixed(64512)), 64512, 90);
    drain(&mut s);
    let mut want = BTreeMap::new();
    want.insert(
        "198.51.100.1/32".parse().unwrap(),
        Route {
            local_pref: Some(200),
            ..Route::default()
        },
    );
    s.set_routes(want);
    let d = drain(&mut s);
    let u = updates(&d)[0];
    assert_eq!(u.local_pref, Some(200));
    assert_eq!(u.as_path, Some(vec![]));
}

#[test]
fn graceful_restart_sends_end_of_rib_after_the_initial_routes() {
    let mut c = cfg(64512, PeerAs::Fixed(65000));
    c.graceful_restart = Some((Duration::from_secs(120), true));
    let (mut s, _) = established(c, 65000, 90);
    let d = drain(&mut s);
    let eors: Vec<_> = updates(&d)
        .iter()
        .filter_map(|u| u.is_end_of_rib())
        .collect();
    assert_eq!(eors, [(1, 1), (2, 1)]);
}

#[test]
fn many_prefixes_are_split_over_several_updates() {
    let (mut s, _) = established(cfg(64512, PeerAs::Fixed(65000)), 65000, 90);
    drain(&mut s);
    let want: BTreeMap<IpNet, Route> = (0..2000u32)
        .map(|i| {
            (
                IpNet::V4(Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + i), 32).unwrap()),
                Route::default(),
            )
        })
        .collect();
    s.set_routes(want);
    let d = drain(&mut s);
    let ups = updates(&d);
    assert!(ups.len() >= 3);
    assert_eq!(ups.iter().map(|u| u.nlri.len()).sum::<usize>(), 2000);
}

#[test]
fn route_refresh_resends_the_family() {
    let (mut s, conn) = established(cfg(64512, PeerAs::Fixed(65000)), 65000, 90);
    let mut want = BTreeMap::new();
    want.insert("198.51.100.1/32".parse().unwrap(), Route::default());
    s.set_routes(want);
    drain(&mut s);
    let rr = Message::RouteRefresh(afi::IPV4, safi::UNICAST)
        .encode(Codec::default())
        .unwrap();
    s.handle_bytes(at(1.0), conn, &rr);
    assert_eq!(updates(&drain(&mut s)).len(), 1);
}

#[test]
fn peer_notification_takes_the_session_down_and_retries() {
    let (mut s, conn) = established(cfg(64512, PeerAs::Fixed(65000)), 65000, 90);
    drain(&mut s);
    let n = Message::Notification(Notification::shutdown("bye"))
        .encode(Codec::default())
        .unwrap();
    s.handle_bytes(at(1.0), conn, &n);
    let d = drain(&mut s);
    assert!(
        d.events
            .iter()
            .any(|e| matches!(e, SessionEvent::Down(w) if w.contains("bye")))
    );
    assert_eq!(s.state(), State::Active);
    assert_eq!(
        s.poll_timeout(),
        Some(at(1.0)),
        "first retry without delay after an established session"
    );
}

/// Our connection in OpenSent, and the peer's just accepted (our OPEN sent on it).
fn colliding(c: SessionConfig) -> (Session, ConnId, ConnId) {
    let mut s = Session::new(c);
    s.start(T0);
    s.handle_timeout(T0);
    let ours = drain(&mut s).connects[0];
    s.handle_connected(T0, ours);
    drain(&mut s);
    let theirs = s.handle_accepted(at(0.01)).unwrap();
    (s, ours, theirs)
}

fn cease_collision(m: &Message) -> bool {
    matches!(m, Message::Notification(n) if n.code == code::CEASE && n.subcode == subcode::CONNECTION_COLLISION)
}

#[test]
fn a_passive_session_never_connects_and_comes_up_on_the_peers_connection() {
    let mut c = cfg(64500, PeerAs::Fixed(64501));
    c.passive = true;
    let mut s = Session::new(c);
    s.start(T0);
    s.handle_timeout(at(100.0));
    assert!(drain(&mut s).connects.is_empty(), "passive: no connect");
    assert_eq!(s.poll_timeout(), None);
    let conn = s.handle_accepted(at(100.0)).expect("started: accepted");
    let d = drain(&mut s);
    assert!(matches!(d.sent[..], [Message::Open(_)]));
    s.handle_bytes(at(100.01), conn, &peer_open(64501, 90, true));
    s.handle_bytes(at(100.02), conn, &keepalive());
    assert_eq!(s.state(), State::Established);
    // The peer goes away: we wait for it again rather than dial.
    s.handle_closed(at(101.0), conn);
    s.handle_timeout(at(500.0));
    let d = drain(&mut s);
    assert!(d.connects.is_empty());
    assert_eq!(s.state(), State::Active);
}

#[test]
fn a_stopped_session_refuses_connections() {
    let mut s = Session::new(cfg(64500, PeerAs::Fixed(64501)));
    assert_eq!(s.handle_accepted(T0), None);
}

#[test]
fn the_peers_connection_replaces_our_attempt_still_in_connect() {
    let mut s = Session::new(cfg(64500, PeerAs::Fixed(64501)));
    s.start(T0);
    s.handle_timeout(T0);
    let ours = drain(&mut s).connects[0];
    let theirs = s.handle_accepted(at(0.1)).unwrap();
    let d = drain(&mut s);
    assert_eq!(d.closed, vec![ours], "our pending connect is abandoned");
    assert_eq!(s.state(), State::OpenSent);
    // Our late connect completing is closed, not used.
    s.handle_connected(at(0.2), ours);
    assert_eq!(drain(&mut s).closed, vec![ours]);
    s.handle_bytes(at(0.3), theirs, &peer_open(64501, 90, true));
    s.handle_bytes(at(0.3), theirs, &keepalive());
    assert_eq!(s.state(), State::Established);
}

/// Both sides connected at once. The higher BGP identifier's connection survives:
/// ours (10.0.0.2) beats the peer's (10.0.0.1).
#[test]
fn collision_keeps_our_connection_when_our_identifier_is_higher() {
    let (mut s, ours, theirs) = colliding(cfg(64500, PeerAs::Fixed(64501)));
    assert!(matches!(drain(&mut s).sent[..], [Message::Open(_)]));
    s.handle_bytes(at(0.02), theirs, &peer_open(64501, 90, true));
    let d = drain(&mut s);
    assert!(cease_collision(&d.sent[0]), "{:?}", d.sent);
    assert_eq!(d.closed, vec![theirs]);
    assert_eq!(
        s.state(),
        State::OpenSent,
        "ours still waits for the peer's OPEN"
    );
    s.handle_bytes(at(0.03), ours, &peer_open(64501, 90, true));
    s.handle_bytes(at(0.04), ours, &keepalive());
    assert_eq!(s.state(), State::Established);
}

#[test]
fn collision_keeps_the_peers_connection_when_its_identifier_is_higher() {
    let mut c = cfg(64500, PeerAs::Fixed(64501));
    c.router_id = Ipv4Addr::new(9, 9, 9, 9);
    let (mut s, ours, theirs) = colliding(c);
    drain(&mut s);
    // The peer's OPEN and KEEPALIVE arrive together on its connection.
    let mut bytes = peer_open(64501, 90, true);
    bytes.extend(keepalive());
    s.handle_bytes(at(0.02), theirs, &bytes);
    let d = drain(&mut s);
    assert!(
        cease_collision(&d.sent[0]),
        "ours gets the Cease: {:?}",
        d.sent
    );
    assert_eq!(d.closed, vec![ours]);
    assert!(
        d.sent.iter().any(|m| matches!(m, Message::Keepalive)),
        "our KEEPALIVE answers the peer's OPEN"
    );
    assert_eq!(s.state(), State::Established);
    assert!(
        !d.events.iter().any(|e| matches!(e, SessionEvent::Down(_))),
        "the losing connection was never up: no Down"
    );
    // Bytes on the closed connection are ignored.
    s.handle_bytes(at(0.03), ours, &peer_open(64501, 90, true));
    assert_eq!(s.state(), State::Established);
}

#[test]
fn a_connection_while_established_is_refused_with_a_collision_cease() {
    let (mut s, conn) = established(cfg(64500, PeerAs::Fixed(64501)), 64501, 90);
    drain(&mut s);
    let extra = s.handle_accepted(at(1.0)).unwrap();
    let d = drain(&mut s);
    assert!(cease_collision(&d.sent[0]));
    assert_eq!(d.closed, vec![extra]);
    assert_ne!(extra, conn);
    assert_eq!(s.state(), State::Established);
}

#[test]
fn a_second_connection_that_does_not_open_first_is_an_fsm_error_on_it_alone() {
    let (mut s, _ours, theirs) = colliding(cfg(64500, PeerAs::Fixed(64501)));
    drain(&mut s);
    s.handle_bytes(at(0.02), theirs, &keepalive());
    let d = drain(&mut s);
    assert!(matches!(&d.sent[0], Message::Notification(n) if n.code == code::FSM));
    assert_eq!(d.closed, vec![theirs]);
    assert_eq!(s.state(), State::OpenSent, "ours is untouched");
}

#[test]
fn received_updates_are_reported_when_asked() {
    let mut c = cfg(64500, PeerAs::Fixed(64501));
    c.report_received = true;
    let (mut s, conn) = established(c, 64501, 90);
    drain(&mut s);
    let u = Update {
        origin: Some(Origin::Igp),
        as_path: Some(vec![Segment::Sequence(vec![64501])]),
        next_hop: Some(Ipv4Addr::new(10, 0, 0, 1)),
        nlri: vec!["198.51.100.200/32".parse().unwrap()],
        ..Update::default()
    };
    let bytes = Message::Update(Box::new(u))
        .encode(Codec::default())
        .unwrap();
    s.handle_bytes(at(1.0), conn, &bytes);
    let d = drain(&mut s);
    let got: Vec<&Update> = d
        .events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Received(u) => Some(&**u),
            _ => None,
        })
        .collect();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].nlri,
        vec!["198.51.100.200/32".parse::<Ipv4Net>().unwrap()]
    );
}
