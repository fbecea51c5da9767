//! Targets (d) graceful leave and (e) restarts, plus join splitting and determinism.

use std::net::SocketAddr;

use core::time::Duration;

use super::net::{KEY, Link, Net, addr, ms, name};
use crate::members::wire::{Body, Codec, Message, Update};
use crate::members::{Member, MemberEvent, Members, MembersConfig, UpReason};
use crate::time::Instant;

#[test]
fn graceful_leave_is_seen_by_all_within_one_round_trip() {
    let n = 10;
    let mut net = Net::cluster(n, Link::LAN, 3);
    net.run_until_converged(n, Instant::from_nanos(2_000_000_000))
        .expect("converged");
    net.run_for(ms(300));
    let t0 = net.now;
    net.nodes[4].m.leave(t0);
    net.flush(4);
    let rtt = net.link.max_one_way() * 2;
    net.run_for(rtt);
    for i in (0..n).filter(|&i| i != 4) {
        let seen = net
            .events_since(t0)
            .find(|l| {
                l.node == i
                    && matches!(&l.event, MemberEvent::Left { name: v, .. } if *v == name(4))
            })
            .unwrap_or_else(|| panic!("{} did not see the leave within {rtt:?}", name(i)));
        assert!(seen.at.since(t0) <= net.link.max_one_way());
        assert!(!net.nodes[i].m.members().any(|m| m == name(4)));
    }
    assert!(
        net.nodes[4].m.leave_complete(),
        "every member acknowledged within one round trip"
    );
    assert_eq!(
        net.nodes[4].m.members().count(),
        n - 1,
        "the leaver no longer counts itself"
    );
    // Nobody suspects or resurrects it afterwards.
    net.run_for(Duration::from_secs(2));
    assert!(net.downs_since(t0).is_empty());
    assert!(
        net.events_since(t0)
            .all(|l| matches!(l.event, MemberEvent::Left { .. }))
    );
    assert!(
        net.converged(n - 1),
        "everybody, the leaver too, sees the other nine"
    );
}

#[test]
fn graceful_leave_under_loss_reaches_everybody_without_a_down() {
    for seed in 0..10 {
        let n = 10;
        let mut net = Net::cluster(n, Link::LOSSY, 100 + seed);
        net.run_until_converged(n, Instant::from_nanos(3_000_000_000))
            .expect("converged");
        net.run_for(ms(200));
        let t0 = net.now;
        net.nodes[0].m.leave(t0);
        net.flush(0);
        net.run_for(ms(500));
        let left: Vec<usize> = net
            .events_since(t0)
            .filter(|l| matches!(&l.event, MemberEvent::Left { name: v, .. } if *v == name(0)))
            .map(|l| l.node)
            .collect();
        assert_eq!(left.len(), n - 1, "seed {seed}: {left:?}");
        assert!(net.downs_since(t0).is_empty(), "seed {seed}");
        assert!(net.nodes[0].m.leave_complete());
    }
}

fn rejoined_everywhere(net: &Net, since: Instant, who: usize) -> bool {
    (0..net.nodes.len()).filter(|&i| i != who).all(|i| {
        net.events_since(since).any(|l| {
            l.node == i
                && matches!(&l.event, MemberEvent::Up { name: v, reason: UpReason::Rejoined, .. } if *v == name(who))
        })
    })
}

#[test]
fn a_restarted_member_rejoins_with_a_new_incarnation() {
    let n = 5;
    let mut net = Net::cluster(n, Link::LAN, 9);
    net.run_until_converged(n, Instant::from_nanos(2_000_000_000))
        .expect("converged");
    net.run_for(ms(200));
    net.nodes[2].silent = true;
    net.run_for(ms(500));
    assert_eq!(
        net.downs_since(Instant::ZERO).len(),
        n - 1,
        "everybody saw it die"
    );
    let t1 = net.now;
    net.restart(2, 1, None, addr(0));
    net.run_for(ms(300));
    assert!(
        rejoined_everywhere(&net, t1, 2),
        "{:#?}",
        net.events_since(t1).collect::<Vec<_>>()
    );
    assert!(
        net.nodes[2].m.incarnation() >= 1,
        "it refuted its old death"
    );
    assert!(net.converged(n));
    assert_eq!(net.nodes[2].m.members().count(), n);
}

#[test]
fn a_restart_at_a_new_address_is_followed() {
    let n = 4;
    let mut net = Net::cluster(n, Link::LAN, 10);
    net.run_until_converged(n, Instant::from_nanos(2_000_000_000))
        .expect("converged");
    net.run_for(ms(100));
    net.nodes[3].silent = true;
    net.run_for(ms(400));
    let t1 = net.now;
    let new_addr: SocketAddr = "10.0.9.9:7946".parse().unwrap();
    net.restart(3, 1, Some(new_addr), addr(1));
    net.run_for(ms(300));
    assert!(rejoined_everywhere(&net, t1, 3));
    for i in 0..3 {
        assert_eq!(net.nodes[i].m.member_addr(&name(3)), Some(new_addr));
    }
    net.run_for(Duration::from_secs(1));
    assert_eq!(
        net.downs_since(t1).len(),
        0,
        "the new address is probed, not the old"
    );
}

#[test]
fn a_quick_restart_is_not_a_failure() {
    let n = 5;
    let mut net = Net::cluster(n, Link::LAN, 11);
    net.run_until_converged(n, Instant::from_nanos(2_000_000_000))
        .expect("converged");
    net.run_for(ms(200));
    let t0 = net.now;
    net.nodes[1].silent = true;
    net.run_for(ms(10));
    net.restart(1, 1, None, addr(0));
    net.run_for(Duration::from_secs(1));
    assert!(net.downs_since(t0).is_empty(), "{:?}", net.downs_since(t0));
    assert!(net.converged(n));
}

#[test]
fn join_state_is_split_into_bounded_datagrams() {
    let codec = Codec::new(KEY);
    let cfg = MembersConfig::default();
    let t = Instant::from_nanos(1_000_000);
    let mut a = Members::new(
        cfg.clone(),
        Member {
            name: "seed".into(),
            addr: addr(0),
        },
        KEY,
        1,
    )
    .unwrap();
    a.join(t, &[]);
    // Teach the seed 150 members with one authenticated gossip datagram per ten.
    for chunk in 0..15u16 {
        let updates = (0..10u16)
            .map(|j| {
                let i = usize::from(chunk * 10 + j + 1);
                Update::Alive {
                    name: format!("member-with-a-long-name-{i:04}"),
                    incarnation: 0,
                    addr: addr(i),
                    meta: Vec::new(),
                }
            })
            .collect();
        let msg = Message {
            sender: "teacher".into(),
            body: Body::Gossip,
            updates,
        };
        a.handle_datagram(t, addr(999), &codec.encode(&msg));
    }
    assert_eq!(a.members().count(), 151);
    while a.poll_transmit().is_some() {}
    let joiner_addr = addr(500);
    let mut b = Members::new(
        cfg.clone(),
        Member {
            name: "joiner".into(),
            addr: joiner_addr,
        },
        KEY,
        2,
    )
    .unwrap();
    b.join(t, &[addr(0)]);
    let req = b.poll_transmit().expect("join request");
    assert_eq!(req.to, addr(0));
    a.handle_datagram(t, joiner_addr, &req.data);
    let replies: Vec<_> = std::iter::from_fn(|| a.poll_transmit())
        .filter(|x| x.to == joiner_addr)
        .collect();
    let syncs: Vec<_> = replies
        .iter()
        .filter(|x| {
            matches!(
                codec.decode(&x.data).map(|m| m.body),
                Ok(Body::Sync { reply: false })
            )
        })
        .collect();
    assert!(
        syncs.len() >= 4,
        "150 entries of ~40 bytes need several 1400-byte datagrams: {}",
        syncs.len()
    );
    assert!(
        replies
            .iter()
            .all(|x| x.data.len() <= cfg.max_datagram_size)
    );
    for s in &syncs {
        b.handle_datagram(t, addr(0), &s.data);
    }
    assert_eq!(
        b.members().count(),
        152,
        "the seed, the 150 it knows, and us"
    );
}

/// Same seed, same run, bit for bit; another seed, another run.
#[test]
fn runs_are_deterministic() {
    let go = |seed: u64| {
        let mut net = Net::cluster(6, Link::LOSSY, seed);
        net.run_for(ms(500));
        net.nodes[2].silent = true;
        net.run_for(ms(1500));
        let counters: Vec<_> = net.nodes.iter().map(|n| n.m.counters().clone()).collect();
        (net.log.clone(), counters, net.wire_datagrams)
    };
    let a = go(77);
    assert_eq!(a, go(77));
    assert!(!a.0.is_empty());
    assert_ne!(a, go(78));
}

#[test]
fn a_member_with_the_wrong_key_never_gets_in() {
    let cfg = MembersConfig::default();
    let t = Instant::from_nanos(5);
    let mut a = Members::new(
        cfg.clone(),
        Member {
            name: "a".into(),
            addr: addr(0),
        },
        KEY,
        1,
    )
    .unwrap();
    a.join(t, &[]);
    let mut m = Members::new(
        cfg,
        Member {
            name: "mallory".into(),
            addr: addr(1),
        },
        b"guess",
        2,
    )
    .unwrap();
    m.join(t, &[addr(0)]);
    while let Some(x) = m.poll_transmit() {
        a.handle_datagram(t, addr(1), &x.data);
    }
    assert_eq!(a.members().collect::<Vec<_>>(), ["a"]);
    assert!(a.counters().bad_mac >= 1);
    assert!(a.poll_event().is_none());
}

/// Lifeguard's local health: a member whose own link drops most datagrams sees its
/// probes fail without nacks, raises its health score and so slows its own
/// accusations; healthy members do not; the score decays once the link heals.
#[test]
fn a_member_with_a_bad_link_distrusts_itself() {
    let n = 5;
    let mut net = Net::cluster(n, Link::LAN, 12);
    net.run_until_converged(n, Instant::from_nanos(2_000_000_000))
        .expect("converged");
    net.run_for(ms(200));
    net.node_loss.insert(0, 0.7);
    let (mut sick, mut healthy) = (0, 0);
    for _ in 0..100 {
        net.run_for(ms(10));
        sick = sick.max(net.nodes[0].m.local_health());
        healthy = healthy.max(
            (1..n)
                .map(|i| net.nodes[i].m.local_health())
                .max()
                .unwrap_or(0),
        );
    }
    assert!(sick >= 2, "the sick member noticed: {sick}");
    assert!(healthy < sick, "healthy {healthy} vs sick {sick}");
    net.node_loss.clear();
    net.run_for(Duration::from_secs(3));
    assert_eq!(net.nodes[0].m.local_health(), 0, "recovered");
    assert!(net.converged(n), "and rejoined everybody's view");
}

/// A partition makes each side declare the other down; once it heals, reconnect pings
/// to dead members find the other side and everybody is back within a few seconds,
/// not at the next 30 s push-pull.
#[test]
fn a_healed_partition_rejoins_within_seconds() {
    let n = 6;
    let mut net = Net::cluster(n, Link::LAN, 13);
    net.run_until_converged(n, Instant::from_nanos(2_000_000_000))
        .expect("converged");
    net.run_for(ms(200));
    let t0 = net.now;
    net.groups = Some(vec![0, 0, 0, 1, 1, 1]);
    net.run_for(ms(500));
    assert_eq!(
        net.downs_since(t0).len(),
        2 * 3 * 3,
        "each side saw the other die"
    );
    assert!(net.converged(3));
    let t1 = net.now;
    net.groups = None;
    let back = net
        .run_until_converged(n, t1 + Duration::from_secs(10))
        .expect("the partition healed");
    let took = back.since(t1);
    assert!(
        net.downs_since(t1).is_empty(),
        "no member of either side flapped: {:?}",
        net.downs_since(t1)
    );
    assert!(took <= Duration::from_secs(5), "took {took:?}");
    let rejoins = net
        .events_since(t1)
        .filter(|l| {
            matches!(
                l.event,
                MemberEvent::Up {
                    reason: UpReason::Rejoined,
                    ..
                }
            )
        })
        .count();
    assert_eq!(
        rejoins,
        2 * 3 * 3,
        "everybody saw everybody on the other side come back: {:?}",
        net.events_since(t1)
            .map(|l| (l.at.as_nanos() / 1_000_000, l.node, &l.event))
            .collect::<Vec<_>>()
    );
}

#[test]
fn changed_metadata_reaches_every_member_within_a_gossip_round() {
    let n = 6;
    let mut net = Net::cluster(n, Link::LAN, 21);
    net.run_until_converged(n, Instant::from_nanos(2_000_000_000))
        .expect("converged");
    net.run_for(ms(100));
    let t0 = net.now;
    let before = net.nodes[3].m.incarnation();
    net.nodes[3]
        .m
        .set_meta(t0, b"eth0 down".to_vec())
        .expect("short metadata is accepted");
    net.flush(3);
    assert_eq!(
        net.nodes[3].m.incarnation(),
        before + 1,
        "a change takes a new incarnation"
    );
    net.run_for(ms(100));
    for i in (0..n).filter(|&i| i != 3) {
        assert_eq!(
            net.nodes[i].m.member_meta(&name(3)),
            Some(&b"eth0 down"[..]),
            "{} still holds the old metadata",
            name(i)
        );
        assert!(
            net.events_since(t0).any(|l| l.node == i
                && matches!(&l.event, MemberEvent::Updated { name: v, .. } if *v == name(3))),
            "{} saw no Updated event",
            name(i)
        );
    }
    // Setting the same metadata again is no news.
    net.nodes[3]
        .m
        .set_meta(net.now, b"eth0 down".to_vec())
        .unwrap();
    assert_eq!(net.nodes[3].m.incarnation(), before + 1);
    // Too long is refused and changes nothing.
    assert!(net.nodes[3].m.set_meta(net.now, vec![0; 256]).is_err());
    assert_eq!(
        net.nodes[3].m.member_meta(&name(3)),
        Some(&b"eth0 down"[..])
    );
    assert!(net.downs_since(t0).is_empty());
}

#[test]
fn a_joiner_learns_metadata_set_before_it_joined() {
    let n = 4;
    let mut net = Net::cluster(n, Link::LAN, 22);
    net.nodes[0]
        .m
        .set_meta(Instant::ZERO, b"v1".to_vec())
        .expect("accepted before the first join");
    net.run_until_converged(n, Instant::from_nanos(2_000_000_000))
        .expect("converged");
    for i in 1..n {
        assert_eq!(net.nodes[i].m.member_meta(&name(0)), Some(&b"v1"[..]));
    }
}
