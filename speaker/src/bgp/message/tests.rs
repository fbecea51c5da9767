//! Byte-exact vectors, every decoding error's NOTIFICATION, round trips, and
//! never-panic on arbitrary input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net};
use proptest::prelude::*;

use super::*;

const C4: Codec = Codec {
    four_octet_as: true,
};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn frame(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0xff; 16];
    v.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    v.push(ty);
    v.extend_from_slice(body);
    v
}

fn err(buf: &[u8]) -> (u8, u8, Vec<u8>) {
    let e = Message::decode(buf, C4).unwrap_err();
    (e.code, e.subcode, e.data)
}

#[test]
fn test_encode_keepalive() {
    assert_eq!(
        Message::Keepalive.encode(C4).unwrap(),
        hex("ffffffffffffffffffffffffffffffff 0013 04")
    );
}

#[test]
fn test_decode_open_with_capabilities() {
    // version 4, AS_TRANS, hold 90, id 10.0.0.1, caps: MP v4 unicast, MP v6 unicast,
    // route refresh, 4-octet AS 4200000001, graceful restart 120 s with v4 forwarding.
    let body = hex("04 5ba0 005a 0a000001 26
         02 06 01 04 0001 00 01
         02 06 01 04 0002 00 01
         02 02 02 00
         02 06 41 04 fa56ea01
         02 08 40 06 8078 0001 01 80");
    let m = Message::decode(&frame(1, &body), C4).unwrap();
    let Message::Open(o) = m else {
        panic!("not an OPEN")
    };
    assert_eq!(o.my_as, AS_TRANS);
    assert_eq!(o.hold_time, 90);
    assert_eq!(o.bgp_id, Ipv4Addr::new(10, 0, 0, 1));
    assert_eq!(o.asn(), 4_200_000_001);
    assert!(o.supports(afi::IPV4, safi::UNICAST));
    assert!(o.supports(afi::IPV6, safi::UNICAST));
    assert!(o.capabilities.contains(&Capability::RouteRefresh));
    assert!(
        o.capabilities
            .contains(&Capability::GracefulRestart(GracefulRestart {
                restarting: true,
                notification: false,
                restart_time: 120,
                families: vec![(1, 1, true)],
            }))
    );
    // Re-encoding puts each capability in its own parameter, as here: byte-identical.
    assert_eq!(Message::Open(o).encode(C4).unwrap(), frame(1, &body));
}

#[test]
fn test_decode_update_ipv4_with_communities() {
    let u = Update {
        origin: Some(Origin::Igp),
        as_path: Some(vec![Segment::Sequence(vec![65000])]),
        next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
        local_pref: Some(100),
        communities: vec![0xfde8_0064, 0xffff_ff01],
        nlri: vec!["198.51.100.1/32".parse().unwrap()],
        ..Update::default()
    };
    let bytes = Message::Update(Box::new(u.clone())).encode(C4).unwrap();
    let want = frame(
        2,
        &hex("0000 0026
             40 01 01 00
             40 02 06 02 01 0000fde8
             40 03 04 c0000201
             40 05 04 00000064
             c0 08 08 fde80064 ffffff01
             20 c6336401"),
    );
    assert_eq!(bytes, want);
    assert_eq!(
        Message::decode(&want, C4).unwrap(),
        Message::Update(Box::new(u))
    );
}

#[test]
fn test_update_ipv6_mp_reach_and_large_community_round_trip() {
    let u = Update {
        origin: Some(Origin::Igp),
        as_path: Some(vec![Segment::Sequence(vec![4_200_000_001])]),
        large_communities: vec![(4_200_000_001, 1, 2)],
        mp_reach: Some(MpReach {
            afi: afi::IPV6,
            safi: safi::UNICAST,
            next_hops: vec![
                IpAddr::V6("2001:db8::1".parse().unwrap()),
                IpAddr::V6("fe80::1".parse().unwrap()),
            ],
            nlri: vec![
                "2001:db8:100::5/128".parse().unwrap(),
                "2001:db8:200::/120".parse().unwrap(),
            ],
        }),
        ..Update::default()
    };
    let bytes = Message::Update(Box::new(u.clone())).encode(C4).unwrap();
    assert_eq!(
        Message::decode(&bytes, C4).unwrap(),
        Message::Update(Box::new(u))
    );
}

#[test]
fn test_ipv4_nlri_with_ipv6_next_hop_rfc8950() {
    let u = Update {
        origin: Some(Origin::Igp),
        as_path: Some(vec![]),
        mp_reach: Some(MpReach {
            afi: afi::IPV4,
            safi: safi::UNICAST,
            next_hops: vec![IpAddr::V6("2001:db8::1".parse().unwrap())],
            nlri: vec!["198.51.100.7/32".parse().unwrap()],
        }),
        ..Update::default()
    };
    let bytes = Message::Update(Box::new(u.clone())).encode(C4).unwrap();
    assert_eq!(
        Message::decode(&bytes, C4).unwrap(),
        Message::Update(Box::new(u))
    );
}

#[test]
fn two_octet_as_path_when_not_negotiated() {
    let c2 = Codec {
        four_octet_as: false,
    };
    let u = Update {
        origin: Some(Origin::Igp),
        as_path: Some(vec![Segment::Sequence(vec![65001, 4_200_000_001])]),
        next_hop: Some(Ipv4Addr::new(10, 0, 0, 1)),
        nlri: vec!["10.1.0.0/24".parse().unwrap()],
        ..Update::default()
    };
    let bytes = Message::Update(Box::new(u)).encode(c2).unwrap();
    let Message::Update(back) = Message::decode(&bytes, c2).unwrap() else {
        panic!()
    };
    assert_eq!(
        back.as_path,
        Some(vec![Segment::Sequence(vec![65001, u32::from(AS_TRANS)])])
    );
}

#[test]
fn end_of_rib_markers() {
    assert_eq!(
        Update::end_of_rib(afi::IPV4, safi::UNICAST).is_end_of_rib(),
        Some((1, 1))
    );
    let v6 = Update::end_of_rib(afi::IPV6, safi::UNICAST);
    let bytes = Message::Update(Box::new(v6)).encode(C4).unwrap();
    let Message::Update(back) = Message::decode(&bytes, C4).unwrap() else {
        panic!()
    };
    assert_eq!(back.is_end_of_rib(), Some((2, 1)));
}

#[test]
fn notification_and_shutdown_communication() {
    let n = Notification::shutdown("maintenance: node drained");
    let bytes = Message::Notification(n.clone()).encode(C4).unwrap();
    let Message::Notification(back) = Message::decode(&bytes, C4).unwrap() else {
        panic!()
    };
    assert_eq!(back.shutdown_message(), Some("maintenance: node drained"));
    let long = "é".repeat(200);
    assert!(Notification::shutdown(&long).data.len() <= 256);
    assert!(Notification::shutdown(&long).shutdown_message().is_some());
}

#[test]
fn route_refresh_round_trip() {
    let bytes = Message::RouteRefresh(afi::IPV6, safi::UNICAST)
        .encode(C4)
        .unwrap();
    assert_eq!(bytes.len(), 23);
    assert_eq!(
        Message::decode(&bytes, C4).unwrap(),
        Message::RouteRefresh(2, 1)
    );
}

// ----- header errors (RFC 4271 §6.1) -----

#[test]
fn bad_marker_is_connection_not_synchronized() {
    let mut k = Message::Keepalive.encode(C4).unwrap();
    k[3] = 0;
    assert_eq!(err(&k), (1, 1, vec![]));
}

#[test]
fn bad_length_carries_the_length_field() {
    let mut k = Message::Keepalive.encode(C4).unwrap();
    k.push(0);
    k[17] = 20;
    assert_eq!(err(&k), (1, 2, vec![0, 20]));
    let mut short_open = frame(1, &[4, 0, 1]);
    short_open.truncate(22);
    assert_eq!(err(&short_open).1, 2);
    assert_eq!(frame_len(&frame(4, &[0; 5000])).unwrap_err().subcode, 2);
}

#[test]
fn unknown_type_is_bad_message_type() {
    assert_eq!(err(&frame(9, &[])), (1, 3, vec![9]));
}

#[test]
fn frame_len_waits_for_a_whole_header() {
    let k = Message::Keepalive.encode(C4).unwrap();
    assert_eq!(frame_len(&k[..18]).unwrap(), None);
    assert_eq!(frame_len(&k).unwrap(), Some(19));
}

// ----- OPEN errors (RFC 4271 §6.2, RFC 5492) -----

fn open_body(version: u8, hold: u16, id: u32, params: &[u8]) -> Vec<u8> {
    let mut v = vec![version];
    v.extend_from_slice(&65001u16.to_be_bytes());
    v.extend_from_slice(&hold.to_be_bytes());
    v.extend_from_slice(&id.to_be_bytes());
    v.push(params.len() as u8);
    v.extend_from_slice(params);
    v
}

#[test]
fn open_errors_map_to_their_subcodes() {
    assert_eq!(
        err(&frame(1, &open_body(3, 90, 1, &[]))),
        (2, 1, vec![0, 4])
    );
    assert_eq!(err(&frame(1, &open_body(4, 2, 1, &[]))).1, 6);
    assert_eq!(err(&frame(1, &open_body(4, 90, 0, &[]))).1, 3);
    assert_eq!(
        err(&frame(1, &open_body(4, 90, 1, &[1, 0]))).1,
        4,
        "unsupported optional parameter"
    );
    assert_eq!(
        err(&frame(1, &open_body(4, 90, 1, &[2, 3, 65, 4, 0]))).1,
        0,
        "capability overrun"
    );
    assert_eq!(
        err(&frame(1, &open_body(4, 90, 1, &[2, 2, 65, 0]))).1,
        0,
        "4-octet AS of length 0"
    );
    assert!(
        Message::decode(&frame(1, &open_body(4, 0, 1, &[])), C4).is_ok(),
        "hold time 0 is allowed"
    );
}

#[test]
fn extended_optional_parameters_rfc9072() {
    let o = Open {
        my_as: 65001,
        hold_time: 9,
        bgp_id: Ipv4Addr::new(1, 1, 1, 1),
        capabilities: (0..70)
            .map(|i| Capability::Other {
                code: 200,
                value: vec![i; 3],
            })
            .collect(),
    };
    let bytes = Message::Open(o.clone()).encode(C4).unwrap();
    assert_eq!(bytes[28], 255, "extended form marker");
    assert_eq!(Message::decode(&bytes, C4).unwrap(), Message::Open(o));
}

// ----- UPDATE errors (RFC 4271 §6.3, RFC 7606) -----

fn update_with_attrs(attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut body = vec![0, 0];
    body.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    body.extend_from_slice(attrs);
    body.extend_from_slice(nlri);
    frame(2, &body)
}

const GOOD_ATTRS: &str = "40 01 01 00 40 02 00 40 03 04 0a000001";
const NLRI: &str = "20 c6336401";

fn decoded(attrs: &str, nlri: &str) -> Update {
    match Message::decode(&update_with_attrs(&hex(attrs), &hex(nlri)), C4).unwrap() {
        Message::Update(u) => *u,
        m => panic!("{m:?}"),
    }
}

#[test]
fn attribute_list_overrun_resets_the_session() {
    let mut body = vec![0, 0, 0, 50];
    body.extend_from_slice(&hex(GOOD_ATTRS));
    assert_eq!(err(&frame(2, &body)).1, subcode::MALFORMED_ATTRIBUTE_LIST);
    assert_eq!(
        err(&update_with_attrs(&hex("40 01 05 00"), &[])).1,
        subcode::MALFORMED_ATTRIBUTE_LIST
    );
}

#[test]
fn malformed_known_attributes_are_treat_as_withdraw() {
    for (attrs, sub) in [
        (
            "40 01 01 07 40 02 00 40 03 04 0a000001",
            subcode::INVALID_ORIGIN,
        ),
        (
            "40 01 02 0000 40 02 00 40 03 04 0a000001",
            subcode::ATTRIBUTE_LENGTH,
        ),
        (
            "80 01 01 00 40 02 00 40 03 04 0a000001",
            subcode::ATTRIBUTE_FLAGS,
        ),
        (
            "40 01 01 00 40 02 02 05 01 40 03 04 0a000001",
            subcode::MALFORMED_AS_PATH,
        ),
        (
            "40 01 01 00 40 02 00 40 03 03 0a0000",
            subcode::ATTRIBUTE_LENGTH,
        ),
        (
            "40 01 01 00 40 02 00 40 03 04 0a000001 c0 08 03 000001",
            subcode::OPTIONAL_ATTRIBUTE,
        ),
        (
            "40 01 01 00 40 02 00 40 03 04 0a000001 c0 20 05 0000000000",
            subcode::OPTIONAL_ATTRIBUTE,
        ),
    ] {
        let u = decoded(attrs, NLRI);
        let w = u
            .treat_as_withdraw
            .unwrap_or_else(|| panic!("{attrs}: accepted"));
        assert_eq!(w.subcode, sub, "{attrs}: {}", w.reason);
    }
}

#[test]
fn missing_well_known_attribute_is_treat_as_withdraw() {
    let u = decoded("40 01 01 00 40 02 00", NLRI);
    assert_eq!(
        u.treat_as_withdraw.unwrap().subcode,
        subcode::MISSING_WELL_KNOWN
    );
    // A pure withdrawal needs no attributes.
    let mut body = vec![0, 5];
    body.extend_from_slice(&hex(NLRI));
    body.extend_from_slice(&[0, 0]);
    let Message::Update(u) = Message::decode(&frame(2, &body), C4).unwrap() else {
        panic!()
    };
    assert!(u.treat_as_withdraw.is_none());
    assert_eq!(
        u.withdrawn,
        vec!["198.51.100.1/32".parse::<Ipv4Net>().unwrap()]
    );
}

#[test]
fn unrecognized_well_known_attribute_resets_with_the_attribute_as_data() {
    let (c, s, data) = err(&update_with_attrs(&hex("40 63 02 abcd"), &[]));
    assert_eq!((c, s), (3, subcode::UNRECOGNIZED_WELL_KNOWN));
    assert_eq!(data, hex("40 63 02 abcd"));
}

#[test]
fn unknown_optional_transitive_is_kept_with_partial_and_non_transitive_dropped() {
    let u = decoded(&format!("{GOOD_ATTRS} c0 63 01 07 80 64 01 08"), NLRI);
    assert_eq!(
        u.other,
        vec![RawAttribute {
            flags: 0xe0,
            type_code: 0x63,
            value: vec![7]
        }]
    );
}

#[test]
fn duplicate_attributes_keep_the_first_but_duplicate_mp_reach_resets() {
    let u = decoded(
        &format!("{GOOD_ATTRS} 40 05 04 00000001 40 05 04 00000002"),
        NLRI,
    );
    assert_eq!(u.local_pref, Some(1));
    let mp = "80 0e 1e 0002 01 10 20010db8000000000000000000000001 00 40 20010db800000000";
    let bytes = update_with_attrs(&hex(&format!("{GOOD_ATTRS} {mp} {mp}")), &[]);
    assert_eq!(err(&bytes).1, subcode::MALFORMED_ATTRIBUTE_LIST);
}

#[test]
fn malformed_mp_reach_resets_the_session() {
    let bytes = update_with_attrs(&hex(&format!("{GOOD_ATTRS} 80 0e 06 0002 01 05 0000")), &[]);
    assert_eq!(err(&bytes).1, subcode::OPTIONAL_ATTRIBUTE);
}

#[test]
fn invalid_prefix_length_is_invalid_network_field() {
    assert_eq!(
        err(&update_with_attrs(&hex(GOOD_ATTRS), &hex("21 c6336401 00"))).1,
        subcode::INVALID_NETWORK_FIELD
    );
    assert_eq!(
        err(&update_with_attrs(&hex(GOOD_ATTRS), &hex("18 c633"))).1,
        subcode::INVALID_NETWORK_FIELD
    );
}

#[test]
fn decode_error_becomes_the_notification_to_send() {
    let e = Message::decode(&frame(9, &[]), C4).unwrap_err();
    let n = e.notification();
    assert_eq!((n.code, n.subcode, n.data), (1, 3, vec![9]));
}

#[test]
fn too_long_update_is_refused_on_encode() {
    let u = Update {
        origin: Some(Origin::Igp),
        as_path: Some(vec![]),
        next_hop: Some(Ipv4Addr::new(10, 0, 0, 1)),
        nlri: (0..1000u32)
            .map(|i| Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + i), 32).unwrap())
            .collect(),
        ..Update::default()
    };
    assert!(matches!(
        Message::Update(Box::new(u)).encode(C4),
        Err(EncodeError::TooLong(_))
    ));
}

// ----- properties -----

fn v4net() -> impl Strategy<Value = Ipv4Net> {
    (any::<u32>(), 0u8..=32).prop_map(|(a, l)| Ipv4Net::new(Ipv4Addr::from(a), l).unwrap().trunc())
}

fn v6net() -> impl Strategy<Value = IpNet> {
    (any::<u128>(), 0u8..=128)
        .prop_map(|(a, l)| IpNet::V6(ipnet::Ipv6Net::new(Ipv6Addr::from(a), l).unwrap().trunc()))
}

fn segment() -> impl Strategy<Value = Segment> {
    (1u8..=4, proptest::collection::vec(any::<u32>(), 1..5)).prop_map(|(t, a)| match t {
        1 => Segment::Set(a),
        2 => Segment::Sequence(a),
        3 => Segment::ConfedSequence(a),
        _ => Segment::ConfedSet(a),
    })
}

prop_compose! {
    fn update()(
        withdrawn in proptest::collection::vec(v4net(), 0..5),
        nlri in proptest::collection::vec(v4net(), 0..5),
        path in proptest::collection::vec(segment(), 0..3),
        nh in any::<u32>(),
        med in proptest::option::of(any::<u32>()),
        lp in proptest::option::of(any::<u32>()),
        communities in proptest::collection::vec(any::<u32>(), 0..4),
        large in proptest::collection::vec(any::<(u32, u32, u32)>(), 0..3),
        v6 in proptest::option::of(proptest::collection::vec(v6net(), 0..4)),
        v6w in proptest::option::of(proptest::collection::vec(v6net(), 0..4)),
        atomic in any::<bool>(),
    ) -> Update {
        Update {
            withdrawn,
            origin: Some(Origin::Igp),
            as_path: Some(path),
            next_hop: Some(Ipv4Addr::from(nh)),
            med,
            local_pref: lp,
            atomic_aggregate: atomic,
            communities,
            large_communities: large,
            mp_reach: v6.map(|nlri| MpReach { afi: afi::IPV6, safi: safi::UNICAST, next_hops: vec![IpAddr::V6(Ipv6Addr::LOCALHOST)], nlri }),
            mp_unreach: v6w.map(|withdrawn| MpUnreach { afi: afi::IPV6, safi: safi::UNICAST, withdrawn }),
            nlri,
            ..Update::default()
        }
    }
}

prop_compose! {
    fn open()(my_as in any::<u16>(), hold in prop_oneof![Just(0u16), 3u16..], id in 1u32.., asn in any::<u32>(), gr in proptest::option::of((any::<bool>(), 0u16..4096)), extra in proptest::collection::vec((100u8..200, proptest::collection::vec(any::<u8>(), 0..8)), 0..3)) -> Open {
        let mut capabilities = vec![
            Capability::Multiprotocol { afi: afi::IPV4, safi: safi::UNICAST },
            Capability::RouteRefresh,
            Capability::FourOctetAs(asn),
        ];
        if let Some((r, t)) = gr {
            capabilities.push(Capability::GracefulRestart(GracefulRestart { restarting: r, notification: false, restart_time: t, families: vec![(1, 1, r)] }));
        }
        capabilities.extend(extra.into_iter().map(|(code, value)| Capability::Other { code, value }));
        Open { my_as, hold_time: hold, bgp_id: Ipv4Addr::from(id), capabilities }
    }
}

proptest! {
    #[test]
    fn update_round_trips(u in update()) {
        let bytes = Message::Update(Box::new(u.clone())).encode(C4).unwrap();
        prop_assert_eq!(frame_len(&bytes).unwrap(), Some(bytes.len()));
        prop_assert_eq!(Message::decode(&bytes, C4).unwrap(), Message::Update(Box::new(u)));
    }

    #[test]
    fn open_round_trips(o in open()) {
        let bytes = Message::Open(o.clone()).encode(C4).unwrap();
        prop_assert_eq!(Message::decode(&bytes, C4).unwrap(), Message::Open(o));
    }

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300), ty in 0u8..8, four in any::<bool>()) {
        let _ = Message::decode(&frame(ty, &body), Codec { four_octet_as: four });
        let _ = frame_len(&body);
        let _ = Message::decode(&body, Codec { four_octet_as: four });
    }

    #[test]
    fn corrupted_valid_updates_never_panic(u in update(), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let mut bytes = Message::Update(Box::new(u)).encode(C4).unwrap();
        for (i, b) in flips {
            let at = 19 + i.index(bytes.len() - 19);
            bytes[at] = b;
        }
        let _ = Message::decode(&bytes, C4);
    }
}
