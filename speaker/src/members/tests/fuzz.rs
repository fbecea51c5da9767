//! Target (f): arbitrary bytes never panic and never change membership without a
//! valid MAC; authenticated but nonsensical messages never panic either.

use std::net::SocketAddr;

use proptest::prelude::*;

use super::net::{KEY, addr};
use crate::members::wire::{Body, Codec, Message, Update};
use crate::members::{Member, Members, MembersConfig};
use crate::time::Instant;

const T: Instant = Instant::from_nanos(1_000_000);

/// A member that knows two peers, one of them suspect, so that there is state to
/// corrupt.
fn victim() -> Members {
    let mut m = Members::new(
        MembersConfig::default(),
        Member {
            name: "me".into(),
            addr: addr(0),
        },
        KEY,
        1,
    )
    .expect("valid");
    m.join(T, &[]);
    let codec = Codec::new(KEY);
    let msg = Message {
        sender: "p1".into(),
        body: Body::Gossip,
        updates: vec![
            Update::Alive {
                name: "p1".into(),
                incarnation: 3,
                addr: addr(1),
                meta: Vec::new(),
            },
            Update::Alive {
                name: "p2".into(),
                incarnation: 0,
                addr: addr(2),
                meta: Vec::new(),
            },
            Update::Suspect {
                name: "p2".into(),
                incarnation: 0,
                from: "p1".into(),
            },
        ],
    };
    m.handle_datagram(T, addr(1), &codec.encode(&msg));
    while m.poll_event().is_some() {}
    m
}

fn view(m: &Members) -> Vec<String> {
    m.members().map(str::to_owned).collect()
}

fn rejected(m: &Members) -> u64 {
    let c = m.counters();
    c.bad_mac + c.bad_version + c.malformed
}

fn valid_datagram() -> Vec<u8> {
    Codec::new(KEY).encode(&Message {
        sender: "p1".into(),
        body: Body::Ping {
            seq: 7,
            target: "me".into(),
        },
        updates: vec![
            Update::Dead {
                name: "p2".into(),
                incarnation: 0,
                from: "p1".into(),
            },
            Update::Alive {
                name: "p3".into(),
                incarnation: 0,
                addr: addr(3),
                meta: Vec::new(),
            },
        ],
    })
}

fn arb_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("me".to_owned()),
        Just("p1".to_owned()),
        Just("p2".to_owned()),
        "[a-z]{1,8}",
        "\\PC{1,20}"
    ]
    .prop_filter("fits", |s| !s.is_empty() && s.len() <= 255)
}

fn arb_addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        any::<([u8; 4], u16)>().prop_map(SocketAddr::from),
        any::<([u8; 16], u16)>().prop_map(SocketAddr::from),
        Just(addr(0)),
        Just(addr(1)),
    ]
}

fn arb_update() -> impl Strategy<Value = Update> {
    let inc = prop_oneof![0u32..5, Just(u32::MAX), Just(u32::MAX - 1), any::<u32>()];
    prop_oneof![
        (
            arb_name(),
            inc.clone(),
            arb_addr(),
            proptest::collection::vec(any::<u8>(), 0..=255)
        )
            .prop_map(|(name, incarnation, addr, meta)| Update::Alive {
                name,
                incarnation,
                addr,
                meta,
            }),
        (arb_name(), inc.clone(), arb_name()).prop_map(|(name, incarnation, from)| {
            Update::Suspect {
                name,
                incarnation,
                from,
            }
        }),
        (arb_name(), inc.clone(), arb_name()).prop_map(|(name, incarnation, from)| Update::Dead {
            name,
            incarnation,
            from
        }),
        (arb_name(), inc).prop_map(|(name, incarnation)| Update::Left { name, incarnation }),
    ]
}

fn arb_body() -> impl Strategy<Value = Body> {
    prop_oneof![
        (any::<u32>(), arb_name()).prop_map(|(seq, target)| Body::Ping { seq, target }),
        any::<u32>().prop_map(|seq| Body::Ack { seq }),
        any::<u32>().prop_map(|seq| Body::Nack { seq }),
        (any::<u32>(), arb_name(), arb_addr()).prop_map(|(seq, target, addr)| Body::PingReq {
            seq,
            target,
            addr
        }),
        Just(Body::Gossip),
        any::<bool>().prop_map(|reply| Body::Sync { reply }),
        any::<u32>().prop_map(|seq| Body::Leave { seq }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic_nor_change_membership(
        data in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..2048),
            // Right version byte, so the MAC check is what stops it.
            proptest::collection::vec(any::<u8>(), 0..600).prop_map(|mut v| { v.insert(0, 1); v }),
        ],
        from in arb_addr(),
    ) {
        let mut m = victim();
        let before = view(&m);
        let rej = rejected(&m);
        m.handle_datagram(T, from, &data);
        prop_assert_eq!(view(&m), before);
        prop_assert!(m.poll_event().is_none());
        prop_assert_eq!(rejected(&m), rej + 1);
    }

    #[test]
    fn a_corrupted_valid_datagram_is_rejected(idx in 0usize..200, bit in 0u8..8, cut in 0usize..200) {
        let good = valid_datagram();
        let mut m = victim();
        let before = view(&m);
        let mut flipped = good.clone();
        let i = idx % flipped.len();
        flipped[i] ^= 1 << bit;
        m.handle_datagram(T, addr(1), &flipped);
        let mut truncated = good.clone();
        truncated.truncate(cut % good.len());
        m.handle_datagram(T, addr(1), &truncated);
        prop_assert_eq!(view(&m), before.clone());
        prop_assert!(m.poll_event().is_none());
        prop_assert_eq!(rejected(&m), 2);
        // The intact datagram does take effect: the check above could have failed.
        m.handle_datagram(T, addr(1), &good);
        prop_assert_ne!(view(&m), before);
    }

    #[test]
    fn authenticated_nonsense_never_panics(
        msgs in proptest::collection::vec(
            (arb_name(), arb_body(), proptest::collection::vec(arb_update(), 0..12), arb_addr(), 0u64..200_000_000),
            1..24,
        ),
    ) {
        let codec = Codec::new(KEY);
        let mut m = victim();
        let mut now = T;
        for (sender, body, updates, from, dt) in msgs {
            now = now + core::time::Duration::from_nanos(dt);
            let data = codec.encode(&Message { sender, body, updates });
            m.handle_datagram(now, from, &data);
            m.handle_timeout(now);
            let v = view(&m);
            prop_assert!(v.iter().any(|n| n == "me"));
            prop_assert!(v.windows(2).all(|w| w[0] < w[1]), "sorted and unique: {:?}", v);
            while let Some(t) = m.poll_transmit() {
                prop_assert!(t.data.len() <= MembersConfig::default().max_datagram_size);
                prop_assert!(codec.decode(&t.data).is_ok());
            }
            while m.poll_event().is_some() {}
        }
    }
}
