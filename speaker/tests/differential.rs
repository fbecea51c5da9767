//! Differential tests of our BGP codec against an independent one (NetGauze's
//! `netgauze-bgp-pkt`, a dev-dependency only): every message we encode must parse
//! there, and re-encode there to the very same bytes; every message NetGauze writes
//! from our messages' content must parse here to the same message.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ferrolb_speaker::bgp::message::{
    Capability, Codec, GracefulRestart, Message, MpReach, MpUnreach, Open, Origin, Segment, Update,
    afi, safi,
};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use netgauze_bgp_pkt::BgpMessage;
use netgauze_bgp_pkt::wire::deserializer::BgpParsingContext;
use netgauze_parse_utils::WritablePdu;
use netgauze_parse_utils::reader::SliceReader;
use netgauze_parse_utils::traits::ParseFromWithOneInput;
use proptest::prelude::*;

fn theirs(bytes: &[u8]) -> Result<BgpMessage, String> {
    let mut ctx = BgpParsingContext::default();
    BgpMessage::parse(&mut SliceReader::new(bytes), &mut ctx).map_err(|e| format!("{e:?}"))
}

fn rewrite(m: &BgpMessage) -> Vec<u8> {
    let mut out = Vec::new();
    m.write(&mut out).expect("netgauze writes what it parsed");
    out
}

fn v4net() -> impl Strategy<Value = Ipv4Net> {
    // Unicast space only: NetGauze (rightly) refuses class D and E in IPv4 unicast NLRI.
    (0u32..0xe000_0000, 0u8..=32)
        .prop_map(|(a, l)| Ipv4Net::new(Ipv4Addr::from(a), l).unwrap().trunc())
}

fn v6net() -> impl Strategy<Value = IpNet> {
    // Not multicast (ff00::/8), which NetGauze refuses in unicast NLRI.
    (0u128..(0xff00u128 << 112), 0u8..=128)
        .prop_map(|(a, l)| IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), l).unwrap().trunc()))
}

prop_compose! {
    /// UPDATEs as our speaker sends them.
    fn update()(
        withdrawn in proptest::collection::vec(v4net(), 0..4),
        nlri in proptest::collection::vec(v4net(), 0..4),
        asns in proptest::collection::vec(1u32.., 0..4),
        nh in 1u32..,
        lp in proptest::option::of(any::<u32>()),
        med in proptest::option::of(any::<u32>()),
        communities in proptest::collection::vec(any::<u32>(), 0..4),
        large in proptest::collection::vec(any::<(u32, u32, u32)>(), 0..3),
        v6 in proptest::option::of(proptest::collection::vec(v6net(), 1..4)),
        v6w in proptest::option::of(proptest::collection::vec(v6net(), 1..4)),
    ) -> Update {
        let reach = !nlri.is_empty() || v6.is_some();
        Update {
            withdrawn,
            origin: reach.then_some(Origin::Igp),
            as_path: reach.then(|| if asns.is_empty() { vec![] } else { vec![Segment::Sequence(asns)] }),
            next_hop: (!nlri.is_empty()).then(|| Ipv4Addr::from(nh)),
            med,
            local_pref: lp,
            communities,
            large_communities: large,
            mp_reach: v6.map(|nlri| MpReach { afi: afi::IPV6, safi: safi::UNICAST, next_hops: vec![IpAddr::V6("2001:db8::1".parse().unwrap())], nlri }),
            mp_unreach: v6w.map(|withdrawn| MpUnreach { afi: afi::IPV6, safi: safi::UNICAST, withdrawn }),
            nlri,
            ..Update::default()
        }
    }
}

prop_compose! {
    fn open()(my_as in 1u16.., hold in prop_oneof![Just(0u16), 3u16..], id in 1u32..0xe000_0000, asn in 1u32.., gr in any::<bool>()) -> Open {
        let mut capabilities = vec![
            Capability::Multiprotocol { afi: afi::IPV4, safi: safi::UNICAST },
            Capability::Multiprotocol { afi: afi::IPV6, safi: safi::UNICAST },
            Capability::RouteRefresh,
        ];
        if gr {
            capabilities.push(Capability::GracefulRestart(GracefulRestart { restarting: true, notification: false, restart_time: 120, families: vec![(1, 1, false), (2, 1, false)] }));
        }
        capabilities.push(Capability::FourOctetAs(asn));
        Open { my_as, hold_time: hold, bgp_id: Ipv4Addr::from(id), capabilities }
    }
}

proptest! {
    #[test]
    fn our_updates_parse_there_and_reencode_identically(u in update()) {
        let ours = Message::Update(Box::new(u)).encode(Codec::default()).unwrap();
        let parsed = theirs(&ours).map_err(|e| TestCaseError::fail(format!("netgauze refused our UPDATE: {e}")))?;
        prop_assert_eq!(rewrite(&parsed), ours);
    }

    #[test]
    fn our_opens_parse_there_and_reencode_identically(o in open()) {
        let ours = Message::Open(o).encode(Codec::default()).unwrap();
        let parsed = theirs(&ours).map_err(|e| TestCaseError::fail(format!("netgauze refused our OPEN: {e}")))?;
        prop_assert_eq!(rewrite(&parsed), ours);
    }

    #[test]
    fn their_rewrite_of_our_messages_decodes_here_to_the_same(u in update(), o in open()) {
        for m in [Message::Update(Box::new(u)), Message::Open(o)] {
            let bytes = m.encode(Codec::default()).unwrap();
            let again = rewrite(&theirs(&bytes).unwrap());
            prop_assert_eq!(Message::decode(&again, Codec::default()).unwrap(), m);
        }
    }
}

#[test]
fn keepalive_and_notification_agree() {
    for m in [
        Message::Keepalive,
        Message::Notification(ferrolb_speaker::bgp::message::Notification::shutdown(
            "maintenance",
        )),
    ] {
        let ours = m.encode(Codec::default()).unwrap();
        assert_eq!(rewrite(&theirs(&ours).unwrap()), ours);
    }
}
