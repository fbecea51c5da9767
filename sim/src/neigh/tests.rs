//! One test per kernel rule; each name says which behaviour it pins.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;
use crate::frame::{Arp, ArpOp};
use crate::rng::RngTree;

const OLD: Mac = Mac([2, 0, 0, 0, 0, 1]);
const NEW: Mac = Mac([2, 0, 0, 0, 0, 2]);
const ME: Mac = Mac([2, 0, 0, 0, 0, 0x99]);
const VIP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 200);
const MY_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 100);

type Out = Vec<NeighOut<Vec<u8>>>;

fn at(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}
fn s(secs: u64) -> Instant {
    Instant::ZERO + Duration::from_secs(secs)
}
fn vip() -> IpAddr {
    IpAddr::V4(VIP)
}
fn table(params: NeighParams) -> NeighTable<Vec<u8>> {
    NeighTable::new(params, RngTree::new(1).stream("neigh"), Instant::ZERO)
}
fn linux() -> NeighTable<Vec<u8>> {
    table(NeighParams::LINUX)
}
/// The same table with a known reachable_time, so expiry tests are exact.
fn linux_fixed_30s() -> NeighTable<Vec<u8>> {
    table(NeighParams {
        randomize_reachable_time: false,
        ..NeighParams::LINUX
    })
}
fn state(t: &NeighTable<Vec<u8>>, ip: IpAddr) -> Option<NudState> {
    t.get(ip).map(|e| e.state)
}
fn mac(t: &NeighTable<Vec<u8>>, ip: IpAddr) -> Option<Mac> {
    t.get(ip).and_then(|e| e.mac)
}
fn solicits(out: &Out) -> Vec<Option<Mac>> {
    out.iter()
        .filter_map(|o| match o {
            NeighOut::Solicit { unicast, .. } => Some(*unicast),
            _ => None,
        })
        .collect()
}
fn transmitted(out: &Out) -> Vec<Mac> {
    out.iter()
        .filter_map(|o| match o {
            NeighOut::Transmit { mac, .. } => Some(*mac),
            _ => None,
        })
        .collect()
}
fn drops(out: &Out) -> Vec<NeighDrop> {
    out.iter()
        .filter_map(|o| match o {
            NeighOut::Dropped { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}
/// Runs the timer at every wake-up up to and including `until`.
fn run_until(t: &mut NeighTable<Vec<u8>>, until: Instant, out: &mut Out) {
    loop {
        let w = t.next_wakeup();
        if w > until {
            break;
        }
        t.on_timer(w, out);
    }
}
fn arp(op: ArpOp, sha: Mac, spa: Ipv4Addr, tha: Mac, tpa: Ipv4Addr) -> Arp {
    Arp {
        op,
        sha,
        spa,
        tha,
        tpa,
    }
}
fn garp_request(sha: Mac) -> Arp {
    arp(ArpOp::Request, sha, VIP, Mac::ZERO, VIP)
}
fn garp_reply(sha: Mac) -> Arp {
    arp(ArpOp::Reply, sha, VIP, sha, VIP)
}
fn unicast_reply(sha: Mac) -> Arp {
    arp(ArpOp::Reply, sha, VIP, ME, MY_IP)
}
const UNICAST: ArpContext = ArpContext {
    to_us_unicast: true,
    target_is_local: true,
    sender_is_local: false,
    sender_in_subnet: true,
};
const BROADCAST: ArpContext = ArpContext {
    to_us_unicast: false,
    target_is_local: false,
    sender_is_local: false,
    sender_in_subnet: true,
};
/// An entry resolved to OLD by a solicited reply at `t`.
fn resolved(t: &mut NeighTable<Vec<u8>>, when: Instant) {
    let mut out = vec![];
    t.send(when, vip(), vec![0; 60], &mut out);
    t.on_arp(when, &unicast_reply(OLD), UNICAST, &mut out);
    assert_eq!(state(t, vip()), Some(NudState::Reachable));
}

// ---- reachable_time ----

#[test]
fn reachable_time_is_random_in_half_to_three_halves_base() {
    let mut seen = BTreeSet::new();
    for seed in 0..200 {
        let t: NeighTable<Vec<u8>> = NeighTable::new(
            NeighParams::LINUX,
            RngTree::new(seed).stream("n"),
            Instant::ZERO,
        );
        let rt = t.reachable_time();
        assert!(
            rt >= Duration::from_secs(15) && rt < Duration::from_secs(45),
            "{rt}"
        );
        seen.insert(rt.as_nanos() / 1_000_000_000);
    }
    assert!(seen.len() >= 25, "spread over the band: {seen:?}");
}

#[test]
fn reachable_time_is_redrawn_every_300s_by_periodic_work() {
    let mut t = linux();
    let first = t.reachable_time();
    let mut out = vec![];
    run_until(&mut t, s(299), &mut out);
    assert_eq!(t.reachable_time(), first, "not before 300 s");
    run_until(&mut t, s(320), &mut out);
    assert_ne!(t.reachable_time(), first);
}

#[test]
fn fixed_lifetime_profile_uses_base_reachable_time_exactly() {
    let t = table(NeighParams::ROUTER_4H_NO_GARP);
    assert_eq!(t.reachable_time(), Duration::from_secs(4 * 3600));
}

// ---- INCOMPLETE ----

#[test]
fn first_send_creates_incomplete_queues_packet_and_broadcasts_at_once() {
    let mut t = linux();
    let mut out = vec![];
    t.send(Instant::ZERO, vip(), vec![0; 60], &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Incomplete));
    assert_eq!(solicits(&out), vec![None], "one broadcast, immediately");
    assert_eq!(t.get(vip()).unwrap().queued, 1);
    assert!(transmitted(&out).is_empty());
}

#[test]
fn incomplete_sends_three_broadcasts_one_second_apart_then_fails_at_3s() {
    let mut t = linux();
    let mut out = vec![];
    t.send(Instant::ZERO, vip(), vec![0; 60], &mut out);
    out.clear();
    run_until(&mut t, at(1000), &mut out);
    assert_eq!(solicits(&out), vec![None]);
    run_until(&mut t, at(2000), &mut out);
    assert_eq!(solicits(&out), vec![None, None]);
    run_until(&mut t, at(2999), &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Incomplete));
    run_until(&mut t, at(3000), &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Failed));
    assert_eq!(solicits(&out).len(), 2, "no fourth solicitation");
}

#[test]
fn failed_resolution_drops_queued_packets_with_error() {
    let mut t = linux();
    let mut out = vec![];
    for i in 0..5 {
        t.send(at(i * 100), vip(), vec![0; 60], &mut out);
    }
    run_until(&mut t, s(3), &mut out);
    assert_eq!(drops(&out), vec![NeighDrop::Failed; 5]);
    assert_eq!(t.get(vip()).unwrap().queued, 0);
}

#[test]
fn unres_queue_drops_oldest_when_over_unres_qlen_bytes() {
    let mut t = table(NeighParams {
        unres_qlen_bytes: 3 * 768,
        ..NeighParams::LINUX
    });
    let mut out = vec![];
    for i in 0..5u8 {
        t.send(at(u64::from(i)), vip(), vec![i; 60], &mut out);
    }
    let dropped: Vec<u8> = out
        .iter()
        .filter_map(|o| match o {
            NeighOut::Dropped { packet, reason, .. } => {
                assert_eq!(*reason, NeighDrop::QueueOverflow);
                Some(packet[0])
            }
            _ => None,
        })
        .collect();
    assert_eq!(dropped, vec![0, 1], "the two oldest go");
    assert_eq!(t.get(vip()).unwrap().queued, 3);
}

#[test]
fn solicited_unicast_reply_makes_incomplete_reachable_and_releases_queue() {
    let mut t = linux();
    let mut out = vec![];
    t.send(Instant::ZERO, vip(), vec![1; 60], &mut out);
    t.send(at(5), vip(), vec![2; 60], &mut out);
    out.clear();
    t.on_arp(at(10), &unicast_reply(OLD), UNICAST, &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Reachable));
    assert_eq!(transmitted(&out), vec![OLD, OLD]);
}

#[test]
fn broadcast_reply_resolves_incomplete_only_as_stale() {
    let mut t = linux();
    let mut out = vec![];
    t.send(Instant::ZERO, vip(), vec![0; 60], &mut out);
    let reply = arp(ArpOp::Reply, OLD, VIP, Mac::BROADCAST, MY_IP);
    t.on_arp(at(1), &reply, BROADCAST, &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Stale));
    assert_eq!(transmitted(&out), vec![OLD]);
}

// ---- REACHABLE / STALE / DELAY / PROBE ----

#[test]
fn reachable_expires_to_stale_when_not_used_recently() {
    let mut t = linux_fixed_30s();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    run_until(&mut t, s(29), &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Reachable));
    run_until(&mut t, at(30_010), &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Stale));
    assert!(solicits(&out).is_empty(), "STALE sends nothing by itself");
}

#[test]
fn reachable_expiry_goes_to_delay_when_used_within_delay_first_probe_time() {
    // With a 4 s reachable time the slow-path send that released the queue at 0 s is
    // still within delay_first_probe_time (5 s) when the entry expires.
    let mut t = table(NeighParams {
        base_reachable_time: Duration::from_secs(4),
        randomize_reachable_time: false,
        ..NeighParams::LINUX
    });
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    run_until(&mut t, at(4_010), &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Delay));
}

#[test]
fn reachable_sends_take_the_header_cache_and_do_not_refresh_used() {
    // Busy traffic to a REACHABLE entry goes out via neigh_hh_output, which leaves
    // `used` alone, so at expiry the entry goes STALE (not DELAY) and only the next
    // packet, through the slow path, starts DELAY.
    let mut t = linux_fixed_30s();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    for ms in (100..30_000).step_by(100) {
        t.send(at(ms), vip(), vec![0; 60], &mut out);
        run_until(&mut t, at(ms), &mut out);
    }
    run_until(&mut t, at(30_010), &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Stale));
    t.send(at(30_050), vip(), vec![0; 60], &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Delay));
}

#[test]
fn stale_entry_is_used_at_once_and_moves_to_delay() {
    let mut t = linux_fixed_30s();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    run_until(&mut t, s(40), &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Stale));
    out.clear();
    t.send(s(50), vip(), vec![0; 60], &mut out);
    assert_eq!(transmitted(&out), vec![OLD], "no wait for resolution");
    assert_eq!(state(&t, vip()), Some(NudState::Delay));
    assert!(solicits(&out).is_empty());
}

#[test]
fn delay_returns_to_reachable_if_confirmed_meanwhile() {
    let mut t = linux_fixed_30s();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    run_until(&mut t, s(40), &mut out);
    t.send(s(50), vip(), vec![0; 60], &mut out);
    t.confirm(s(52), vip());
    run_until(&mut t, s(55), &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Reachable));
    assert!(solicits(&out).is_empty(), "no probe needed");
}

#[test]
fn delay_goes_to_probe_after_5s_and_probes_unicast_to_cached_mac() {
    let mut t = linux_fixed_30s();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    run_until(&mut t, s(40), &mut out);
    t.send(s(50), vip(), vec![0; 60], &mut out);
    out.clear();
    run_until(&mut t, at(54_999), &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Delay));
    run_until(&mut t, s(55), &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Probe));
    assert_eq!(solicits(&out), vec![Some(OLD)]);
}

#[test]
fn probe_sends_three_unicasts_one_second_apart_then_fails_after_3s() {
    let mut t = linux_fixed_30s();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    run_until(&mut t, s(40), &mut out);
    t.send(s(50), vip(), vec![0; 60], &mut out);
    out.clear();
    run_until(&mut t, at(57_999), &mut out);
    assert_eq!(solicits(&out), vec![Some(OLD); 3]);
    assert_eq!(state(&t, vip()), Some(NudState::Probe));
    run_until(&mut t, s(58), &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Failed));
    assert_eq!(solicits(&out).len(), 3, "mcast_resolicit=0: no broadcast");
}

#[test]
fn packets_sent_in_delay_and_probe_still_go_to_the_cached_mac() {
    let mut t = linux_fixed_30s();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    run_until(&mut t, s(40), &mut out);
    t.send(s(50), vip(), vec![0; 60], &mut out);
    run_until(&mut t, s(56), &mut out);
    out.clear();
    t.send(at(56_500), vip(), vec![0; 60], &mut out);
    assert_eq!(transmitted(&out), vec![OLD]);
    assert!(drops(&out).is_empty(), "PROBE does not queue");
}

#[test]
fn mcast_resolicit_adds_broadcasts_after_the_unicast_probes() {
    let mut t = table(NeighParams {
        randomize_reachable_time: false,
        mcast_resolicit: 2,
        ..NeighParams::LINUX
    });
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    run_until(&mut t, s(40), &mut out);
    t.send(s(50), vip(), vec![0; 60], &mut out);
    out.clear();
    run_until(&mut t, s(60), &mut out);
    assert_eq!(
        solicits(&out),
        vec![Some(OLD), Some(OLD), Some(OLD), None, None]
    );
    assert_eq!(state(&t, vip()), Some(NudState::Failed));
}

#[test]
fn failed_entry_restarts_incomplete_with_broadcast_on_next_send() {
    let mut t = linux();
    let mut out = vec![];
    t.send(Instant::ZERO, vip(), vec![0; 60], &mut out);
    run_until(&mut t, s(3), &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Failed));
    out.clear();
    t.send(s(4), vip(), vec![0; 60], &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Incomplete));
    assert_eq!(solicits(&out), vec![None]);
}

#[test]
fn reply_to_unicast_probe_returns_entry_to_reachable() {
    let mut t = linux_fixed_30s();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    run_until(&mut t, s(40), &mut out);
    t.send(s(50), vip(), vec![0; 60], &mut out);
    run_until(&mut t, s(55), &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Probe));
    t.on_arp(at(55_001), &unicast_reply(OLD), UNICAST, &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Reachable));
}

#[test]
fn upper_layer_confirmation_keeps_entry_reachable_without_probes() {
    let mut t = linux_fixed_30s();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    for sec in 1..120 {
        t.send(s(sec), vip(), vec![0; 60], &mut out);
        t.confirm(s(sec), vip());
        run_until(&mut t, s(sec), &mut out);
    }
    assert_eq!(state(&t, vip()), Some(NudState::Reachable));
    assert!(solicits(&out).is_empty());
}

#[test]
fn unconfirmed_traffic_revalidates_with_a_unicast_probe_after_reachable_plus_delay() {
    // Ping-like traffic (no upper-layer confirmation): REACHABLE for reachable_time,
    // DELAY for 5 s, then one unicast probe, answered.
    let mut t = linux_fixed_30s();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    let mut first_probe = None;
    for ms in (10..40_000).step_by(10) {
        run_until(&mut t, at(ms), &mut out);
        if first_probe.is_none() && !solicits(&out).is_empty() {
            first_probe = Some(ms);
            t.on_arp(at(ms), &unicast_reply(OLD), UNICAST, &mut out);
        }
        t.send(at(ms), vip(), vec![0; 60], &mut out);
    }
    // The expiry check at exactly confirmed + reachable_time still passes
    // (`time_before_eq`), so the kernel re-arms HZ/100 later: 10 ms extra.
    assert_eq!(first_probe, Some(35_010), "30 s REACHABLE + 5 s DELAY");
}

// ---- ARP: requests, GARP, locktime, arp_accept ----

#[test]
fn arp_request_for_our_address_creates_requester_entry_as_stale() {
    let mut t = linux();
    let mut out = vec![];
    let req = arp(ArpOp::Request, OLD, VIP, Mac::ZERO, MY_IP);
    let v = t.on_arp(
        Instant::ZERO,
        &req,
        ArpContext {
            target_is_local: true,
            ..BROADCAST
        },
        &mut out,
    );
    assert_eq!(v, ArpVerdict::Reply);
    assert_eq!(state(&t, vip()), Some(NudState::Stale));
    assert_eq!(mac(&t, vip()), Some(OLD));
}

#[test]
fn arp_request_for_our_address_overrides_even_within_locktime() {
    let mut t = linux();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    let req = arp(ArpOp::Request, NEW, VIP, Mac::ZERO, MY_IP);
    t.on_arp(
        at(100),
        &req,
        ArpContext {
            target_is_local: true,
            ..BROADCAST
        },
        &mut out,
    );
    assert_eq!(mac(&t, vip()), Some(NEW));
}

#[test]
fn garp_request_updates_existing_entry_to_new_mac_as_stale() {
    let mut t = linux();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    t.on_arp(s(10), &garp_request(NEW), BROADCAST, &mut out);
    assert_eq!(mac(&t, vip()), Some(NEW));
    assert_eq!(state(&t, vip()), Some(NudState::Stale));
    out.clear();
    t.send(at(10_010), vip(), vec![0; 60], &mut out);
    assert_eq!(
        transmitted(&out),
        vec![NEW],
        "the next packet goes to the new MAC"
    );
}

#[test]
fn garp_request_updates_existing_entry_even_within_locktime() {
    let mut t = linux();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    t.on_arp(at(200), &garp_request(NEW), BROADCAST, &mut out);
    assert_eq!(mac(&t, vip()), Some(NEW), "is_garp forces override");
}

#[test]
fn garp_request_updates_existing_entry_after_locktime() {
    let mut t = linux();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    t.on_arp(at(1500), &garp_request(NEW), BROADCAST, &mut out);
    assert_eq!(mac(&t, vip()), Some(NEW));
}

#[test]
fn garp_reply_with_target_mac_equal_to_sender_is_garp_and_overrides_locktime() {
    assert!(is_garp(&garp_reply(NEW)));
    let mut t = linux();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    t.on_arp(at(300), &garp_reply(NEW), BROADCAST, &mut out);
    assert_eq!(mac(&t, vip()), Some(NEW));
}

#[test]
fn garp_reply_with_broadcast_target_mac_is_not_garp_and_obeys_locktime() {
    let bcast_reply = arp(ArpOp::Reply, NEW, VIP, Mac::BROADCAST, VIP);
    assert!(!is_garp(&bcast_reply));
    let zero_reply = arp(ArpOp::Reply, NEW, VIP, Mac::ZERO, VIP);
    assert!(!is_garp(&zero_reply));
    let mut t = linux();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    t.on_arp(at(300), &bcast_reply, BROADCAST, &mut out);
    assert_eq!(mac(&t, vip()), Some(OLD), "within locktime: ignored");
    t.on_arp(at(1300), &bcast_reply, BROADCAST, &mut out);
    assert_eq!(
        mac(&t, vip()),
        Some(NEW),
        "after locktime: an ordinary update"
    );
}

#[test]
fn different_answer_within_locktime_is_ignored_first_answer_wins() {
    let mut t = linux();
    let mut out = vec![];
    t.send(Instant::ZERO, vip(), vec![0; 60], &mut out);
    t.on_arp(at(1), &unicast_reply(OLD), UNICAST, &mut out);
    t.on_arp(at(900), &unicast_reply(NEW), UNICAST, &mut out);
    assert_eq!(mac(&t, vip()), Some(OLD));
    t.on_arp(at(1002), &unicast_reply(NEW), UNICAST, &mut out);
    assert_eq!(mac(&t, vip()), Some(NEW), "a later answer flips the entry");
    assert_eq!(state(&t, vip()), Some(NudState::Reachable));
}

#[test]
fn noop_updates_do_not_extend_the_locktime_window() {
    let mut t = linux();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    // Same MAC as a STALE-type update at 0.9 s changes nothing, so `updated` stays 0.
    t.on_arp(at(900), &garp_reply(OLD), BROADCAST, &mut out);
    t.on_arp(at(1_100), &unicast_reply(NEW), UNICAST, &mut out);
    assert_eq!(mac(&t, vip()), Some(NEW));
}

#[test]
fn same_mac_stale_update_keeps_a_reachable_entry_reachable() {
    let mut t = linux();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    t.on_arp(s(5), &garp_request(OLD), BROADCAST, &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Reachable));
}

#[test]
fn mac_change_backdates_confirmed_so_next_use_goes_delay_then_probes_new_mac() {
    let mut t = linux();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    t.on_arp(s(10), &garp_request(NEW), BROADCAST, &mut out);
    t.send(at(10_010), vip(), vec![0; 60], &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Delay));
    out.clear();
    run_until(&mut t, at(15_010), &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Probe));
    assert_eq!(solicits(&out), vec![Some(NEW)]);
}

#[test]
fn garp_updates_a_failed_entry_unlike_ndp() {
    let mut t = linux();
    let mut out = vec![];
    t.send(Instant::ZERO, vip(), vec![0; 60], &mut out);
    run_until(&mut t, s(3), &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Failed));
    t.on_arp(s(4), &garp_request(NEW), BROADCAST, &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Stale));
    assert_eq!(mac(&t, vip()), Some(NEW));
}

#[test]
fn garp_does_not_create_a_missing_entry_with_arp_accept_0() {
    let mut t = linux();
    let mut out = vec![];
    t.on_arp(Instant::ZERO, &garp_request(NEW), BROADCAST, &mut out);
    t.on_arp(Instant::ZERO, &garp_reply(NEW), BROADCAST, &mut out);
    assert_eq!(state(&t, vip()), None);
}

#[test]
fn unsolicited_reply_does_not_create_a_missing_entry_with_arp_accept_0() {
    let mut t = linux();
    let mut out = vec![];
    t.on_arp(Instant::ZERO, &unicast_reply(NEW), UNICAST, &mut out);
    assert_eq!(state(&t, vip()), None);
}

#[test]
fn garp_creates_a_missing_entry_as_stale_with_arp_accept_1() {
    let mut t = table(NeighParams {
        arp_accept: 1,
        ..NeighParams::LINUX
    });
    let mut out = vec![];
    t.on_arp(Instant::ZERO, &garp_request(NEW), BROADCAST, &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Stale));
    assert_eq!(mac(&t, vip()), Some(NEW));
}

#[test]
fn unsolicited_unicast_reply_creates_reachable_entry_with_arp_accept_1() {
    let mut t = table(NeighParams {
        arp_accept: 1,
        ..NeighParams::LINUX
    });
    let mut out = vec![];
    t.on_arp(Instant::ZERO, &unicast_reply(NEW), UNICAST, &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Reachable));
}

#[test]
fn arp_accept_2_creates_entries_only_for_senders_in_a_local_subnet() {
    let mut t = table(NeighParams {
        arp_accept: 2,
        ..NeighParams::LINUX
    });
    let mut out = vec![];
    let outside = ArpContext {
        sender_in_subnet: false,
        ..BROADCAST
    };
    t.on_arp(Instant::ZERO, &garp_request(NEW), outside, &mut out);
    assert_eq!(state(&t, vip()), None);
    t.on_arp(Instant::ZERO, &garp_request(NEW), BROADCAST, &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Stale));
}

#[test]
fn arp_request_from_a_known_sender_refreshes_its_entry_after_locktime() {
    // Someone else's request (not for us) still carries the sender's binding.
    let mut t = linux();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    let other = arp(
        ArpOp::Request,
        NEW,
        VIP,
        Mac::ZERO,
        Ipv4Addr::new(198, 51, 100, 7),
    );
    t.on_arp(at(500), &other, BROADCAST, &mut out);
    assert_eq!(mac(&t, vip()), Some(OLD), "within locktime");
    t.on_arp(at(1500), &other, BROADCAST, &mut out);
    assert_eq!(mac(&t, vip()), Some(NEW));
    assert_eq!(state(&t, vip()), Some(NudState::Stale));
}

#[test]
fn drop_gratuitous_arp_ignores_garp_even_for_an_existing_entry() {
    let mut t = table(NeighParams {
        drop_gratuitous_arp: true,
        ..NeighParams::LINUX
    });
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    let v = t.on_arp(s(5), &garp_request(NEW), BROADCAST, &mut out);
    assert_eq!(v, ArpVerdict::Dropped);
    assert_eq!(mac(&t, vip()), Some(OLD));
}

#[test]
fn router_profile_keeps_the_old_mac_for_hours_after_garp() {
    let mut t = table(NeighParams::ROUTER_4H_NO_GARP);
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    t.on_arp(s(10), &garp_request(NEW), BROADCAST, &mut out);
    t.on_arp(s(10), &garp_reply(NEW), BROADCAST, &mut out);
    for sec in 11..3600 {
        t.send(s(sec), vip(), vec![0; 60], &mut out);
        run_until(&mut t, s(sec), &mut out);
    }
    assert_eq!(state(&t, vip()), Some(NudState::Reachable));
    assert_eq!(mac(&t, vip()), Some(OLD));
}

#[test]
fn permanent_entry_is_never_changed_by_arp() {
    let mut t = linux();
    let mut out = vec![];
    t.add_permanent(Instant::ZERO, vip(), OLD, &mut out);
    t.on_arp(s(5), &garp_request(NEW), BROADCAST, &mut out);
    t.on_arp(s(7), &unicast_reply(NEW), UNICAST, &mut out);
    assert_eq!(mac(&t, vip()), Some(OLD));
    assert_eq!(state(&t, vip()), Some(NudState::Permanent));
}

#[test]
fn dad_probe_with_zero_sender_is_answered_but_learns_nothing() {
    let mut t = linux();
    let mut out = vec![];
    let probe = arp(ArpOp::Request, NEW, Ipv4Addr::UNSPECIFIED, Mac::ZERO, MY_IP);
    let v = t.on_arp(
        Instant::ZERO,
        &probe,
        ArpContext {
            target_is_local: true,
            ..BROADCAST
        },
        &mut out,
    );
    assert_eq!(v, ArpVerdict::Reply);
    assert!(t.is_empty());
}

// ---- IPv6 ND ----

fn v6vip() -> IpAddr {
    IpAddr::V6("2001:db8::200".parse::<Ipv6Addr>().unwrap())
}
fn na(mac: Mac, solicited: bool, override_: bool) -> NaInput {
    NaInput {
        target: v6vip(),
        tllao: Some(mac),
        solicited,
        override_,
        dst_multicast: !solicited,
        src_in_subnet: true,
    }
}
fn resolved6(t: &mut NeighTable<Vec<u8>>) {
    let mut out = vec![];
    t.send(Instant::ZERO, v6vip(), vec![0; 60], &mut out);
    assert!(t.on_na(at(1), &na(OLD, true, false), &mut out));
    assert_eq!(state(t, v6vip()), Some(NudState::Reachable));
}

#[test]
fn solicited_na_resolves_incomplete_as_reachable_even_without_override() {
    let mut t = linux();
    resolved6(&mut t);
    assert_eq!(mac(&t, v6vip()), Some(OLD));
}

#[test]
fn unsolicited_na_with_override_replaces_the_mac_as_stale() {
    let mut t = linux();
    resolved6(&mut t);
    let mut out = vec![];
    assert!(t.on_na(at(200), &na(NEW, false, true), &mut out));
    assert_eq!(mac(&t, v6vip()), Some(NEW));
    assert_eq!(state(&t, v6vip()), Some(NudState::Stale));
}

#[test]
fn unsolicited_na_without_override_on_reachable_keeps_mac_but_demotes_to_stale() {
    let mut t = linux();
    resolved6(&mut t);
    let mut out = vec![];
    t.on_na(s(2), &na(NEW, false, false), &mut out);
    assert_eq!(mac(&t, v6vip()), Some(OLD));
    assert_eq!(state(&t, v6vip()), Some(NudState::Stale));
}

#[test]
fn na_without_override_on_a_stale_entry_is_ignored() {
    let mut t = linux_fixed_30s();
    resolved6(&mut t);
    let mut out = vec![];
    run_until(&mut t, s(40), &mut out);
    assert_eq!(state(&t, v6vip()), Some(NudState::Stale));
    assert!(!t.on_na(s(41), &na(NEW, true, false), &mut out));
    assert_eq!(mac(&t, v6vip()), Some(OLD));
}

#[test]
fn na_does_not_update_a_failed_entry() {
    let mut t = linux();
    let mut out = vec![];
    t.send(Instant::ZERO, v6vip(), vec![0; 60], &mut out);
    run_until(&mut t, s(3), &mut out);
    assert_eq!(state(&t, v6vip()), Some(NudState::Failed));
    assert!(!t.on_na(s(4), &na(NEW, false, true), &mut out));
    assert_eq!(state(&t, v6vip()), Some(NudState::Failed));
    assert_eq!(mac(&t, v6vip()), None);
}

#[test]
fn unsolicited_na_does_not_create_a_missing_entry() {
    let mut t = linux();
    let mut out = vec![];
    assert!(!t.on_na(Instant::ZERO, &na(NEW, false, true), &mut out));
    assert!(t.is_empty());
}

#[test]
fn untracked_na_creates_stale_entry_only_on_a_forwarding_host_with_accept_untracked_na() {
    let mut t = table(NeighParams {
        forwarding: true,
        accept_untracked_na: 1,
        ..NeighParams::LINUX
    });
    let mut out = vec![];
    assert!(t.on_na(Instant::ZERO, &na(NEW, false, true), &mut out));
    assert_eq!(state(&t, v6vip()), Some(NudState::Stale));
    let mut host = table(NeighParams {
        accept_untracked_na: 1,
        ..NeighParams::LINUX
    });
    assert!(!host.on_na(Instant::ZERO, &na(NEW, false, true), &mut out));
}

#[test]
fn solicited_na_sent_to_multicast_is_dropped() {
    let mut t = linux();
    let mut out = vec![];
    t.send(Instant::ZERO, v6vip(), vec![0; 60], &mut out);
    let mut bad = na(NEW, true, true);
    bad.dst_multicast = true;
    assert!(!t.on_na(at(1), &bad, &mut out));
    assert_eq!(state(&t, v6vip()), Some(NudState::Incomplete));
}

#[test]
fn ns_for_our_address_creates_sender_entry_as_stale_with_override() {
    let mut t = linux();
    resolved6(&mut t);
    let mut out = vec![];
    assert!(t.on_ns(at(100), v6vip(), Some(NEW), true, &mut out));
    assert_eq!(mac(&t, v6vip()), Some(NEW));
    assert_eq!(state(&t, v6vip()), Some(NudState::Stale));
    assert!(
        !t.on_ns(at(100), v6vip(), Some(OLD), false, &mut out),
        "not for us"
    );
    assert_eq!(mac(&t, v6vip()), Some(NEW));
}

// ---- carrier, GC, limits ----

#[test]
fn carrier_loss_evicts_entries_and_drops_queued_packets() {
    let mut t = linux();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    let other = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
    t.send(at(5), other, vec![0; 60], &mut out);
    out.clear();
    t.carrier_down(&mut out);
    assert!(t.is_empty());
    assert_eq!(drops(&out), vec![NeighDrop::NoCarrier]);
}

#[test]
fn periodic_gc_does_nothing_below_gc_thresh1() {
    let mut t = linux_fixed_30s();
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    run_until(&mut t, s(600), &mut out);
    assert_eq!(state(&t, vip()), Some(NudState::Stale), "kept for ever");
}

#[test]
fn periodic_gc_removes_unused_stale_entries_at_gc_thresh1() {
    let mut t = table(NeighParams {
        gc_thresh1: 1,
        randomize_reachable_time: false,
        ..NeighParams::LINUX
    });
    resolved(&mut t, Instant::ZERO);
    let mut out = vec![];
    run_until(&mut t, s(59), &mut out);
    assert_eq!(
        state(&t, vip()),
        Some(NudState::Stale),
        "used < 60 s ago: kept"
    );
    run_until(&mut t, s(100), &mut out);
    assert_eq!(state(&t, vip()), None);
}

#[test]
fn table_at_gc_thresh3_drops_packets_for_new_neighbours() {
    let mut t = table(NeighParams {
        gc_thresh3: 2,
        ..NeighParams::LINUX
    });
    let mut out = vec![];
    for i in 1..=3u8 {
        t.send(
            Instant::ZERO,
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)),
            vec![0; 60],
            &mut out,
        );
    }
    assert_eq!(t.len(), 2);
    assert_eq!(drops(&out), vec![NeighDrop::TableFull]);
}

#[test]
fn changes_are_reported_for_the_trace() {
    let mut t = linux();
    let mut out = vec![];
    t.send(Instant::ZERO, vip(), vec![0; 60], &mut out);
    t.on_arp(at(1), &unicast_reply(OLD), UNICAST, &mut out);
    let changes: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            NeighOut::Changed { state, mac, .. } => Some((*state, *mac)),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            (Some(NudState::Incomplete), None),
            (Some(NudState::Reachable), Some(OLD))
        ]
    );
}
