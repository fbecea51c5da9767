//! End-to-end fabric behaviour through the public API: hosts, links, switches and the
//! seam wired together in a world.

use std::net::IpAddr;

use ferrolb_sim::fate::Loss;
use ferrolb_sim::run;
use ferrolb_sim::scenario;
use ferrolb_sim::time::{Duration, Instant};

fn plan(text: &str) -> scenario::Plan {
    scenario::parse("test.yaml", text).unwrap_or_else(|e| panic!("{e}"))
}

const BASE: &str = r#"
seed: 3
duration: 6s
topology:
  switches: [{ name: sw1 }]
  hosts:
    - { name: client, addresses: [198.51.100.100/24] }
    - { name: n1, addresses: [198.51.100.11/24] }
  links:
    - { a: client, b: sw1 }
    - { a: n1, b: sw1 }
traffic:
  flows:
    - { name: f, from: client, to: 198.51.100.11, rate: 100, start: 1s }
"#;

#[test]
fn probes_to_an_interface_address_are_answered_by_its_host() {
    let (o, _) = run::run(&plan(BASE), None, false);
    let f = &o.flows[0];
    assert_eq!(f.stats.lost, 0);
    assert!(f.stats.answered >= 499);
    assert_eq!(o.host_name(f.stats.segments[0].responder), "n1");
    assert_eq!(f.stats.segments[0].mac, o.hosts[1].1[0]);
}

#[test]
fn a_host_answers_only_for_addresses_it_owns() {
    let text = BASE.replace("to: 198.51.100.11", "to: 198.51.100.200")
        + "timeline:\n  - at: 0s\n    own: { host: n1, address: 198.51.100.200 }\n  - at: 3s\n    release: { host: n1, address: 198.51.100.200 }\n";
    let (o, _) = run::run(&plan(&text), None, false);
    let st = &o.flows[0].stats;
    assert!(st.answered > 100);
    let not_owner = st
        .losses
        .iter()
        .filter(|(l, _)| matches!(l, Loss::NotOwner { .. }))
        .map(|(_, n)| *n)
        .sum::<u64>();
    assert!(
        not_owner > 250,
        "after release the client's cached MAC still reaches n1: {:?}",
        st.losses
    );
    assert!(
        st.outages.last().unwrap().end.is_none(),
        "nobody owns it any more"
    );
}

#[test]
fn frames_in_flight_are_lost_when_a_link_goes_down() {
    let text = BASE.replace("{ a: n1, b: sw1 }", "{ a: n1, b: sw1, latency: 300ms }")
        + "timeline:\n  - at: 3.1s\n    link_down: n1-sw1\n  - at: 3.2s\n    link_up: n1-sw1\n";
    let (o, _) = run::run(&plan(&text), None, false);
    let st = &o.flows[0].stats;
    let down: u64 = st
        .losses
        .iter()
        .filter(|(l, _)| matches!(l, Loss::LinkDown { .. }))
        .map(|(_, n)| *n)
        .sum();
    // Everything on the 300 ms wire (both directions) at 3.1 s is gone.
    assert!(down >= 30, "{:?}", st.losses);
}

#[test]
fn a_one_way_partition_drops_only_one_direction() {
    let text = BASE.to_string()
        + "timeline:\n  - at: 2s\n    partition: { name: p, from: [n1], to: [client], symmetric: false }\n  - at: 3s\n    heal: p\n";
    let (o, _) = run::run(&plan(&text), None, false);
    let st = &o.flows[0].stats;
    let part: u64 = st
        .losses
        .iter()
        .filter(|(l, _)| matches!(l, Loss::Partition { .. }))
        .map(|(_, n)| *n)
        .sum();
    assert!(
        (95..=105).contains(&part),
        "replies blocked for 1 s: {part}"
    );
    assert_eq!(st.outages.len(), 1);
}

#[test]
fn crash_and_restart_lose_state_and_recover() {
    let text =
        BASE.to_string() + "timeline:\n  - at: 2s\n    crash: n1\n  - at: 4s\n    restart: n1\n";
    let (o, _) = run::run(&plan(&text), None, false);
    let st = &o.flows[0].stats;
    assert_eq!(st.outages.len(), 1);
    let out = &st.outages[0];
    assert!(
        out.duration >= Duration::from_secs(2) && out.duration < Duration::from_millis(2100),
        "{:?}",
        out
    );
    assert!(o.markers.iter().any(|m| m.text.contains("crash n1")));
}

#[test]
fn duplicated_replies_are_counted_once() {
    let text = BASE.replace(
        "{ a: client, b: sw1 }",
        "{ a: client, b: sw1, duplicate: 1.0 }",
    );
    let (o, _) = run::run(&plan(&text), None, false);
    let st = &o.flows[0].stats;
    assert_eq!(st.answered + st.lost + st.in_flight, st.sent);
    assert_eq!(st.lost, 0);
}

#[test]
fn adding_a_host_does_not_change_another_links_randomness() {
    let lossy = BASE.replace(
        "{ a: client, b: sw1 }",
        "{ a: client, b: sw1, loss: 0.2, jitter: 1ms }",
    );
    let more = lossy
        .replace(
            "    - { name: n1, addresses: [198.51.100.11/24] }",
            "    - { name: n1, addresses: [198.51.100.11/24] }\n    - { name: extra, addresses: [198.51.100.77/24] }",
        )
        .replace("    - { a: n1, b: sw1 }", "    - { a: n1, b: sw1 }\n    - { a: extra, b: sw1 }");
    let lost = |t: &str| -> Vec<(usize, bool)> {
        run::run(&plan(t), None, false).0.flows[0]
            .probes
            .iter()
            .enumerate()
            .map(|(i, p)| (i, p.reply.is_some()))
            .collect()
    };
    assert_eq!(lost(&lossy), lost(&more));
}

#[test]
fn ipv6_probes_resolve_through_neighbour_discovery() {
    let text = BASE
        .replace("198.51.100.100/24", "2001:db8::100/64")
        .replace("198.51.100.11/24", "2001:db8::11/64")
        .replace("to: 198.51.100.11", "to: 2001:db8::11");
    let (o, _) = run::run(&plan(&text), None, false);
    let f = &o.flows[0];
    assert_eq!(f.stats.lost, 0);
    let ip: IpAddr = "2001:db8::11".parse().unwrap();
    assert_eq!(f.spec.dst.ip(), ip);
    assert!(
        f.neighbour
            .iter()
            .any(|e| e.state == Some(ferrolb_sim::neigh::NudState::Reachable))
    );
}

#[test]
fn a_flow_out_of_its_subnet_needs_routers_and_is_rejected() {
    let text = BASE.replace("to: 198.51.100.11", "to: 203.0.113.1");
    let err = scenario::parse("test.yaml", &text).unwrap_err().to_string();
    assert!(
        err.contains("traffic.flows[0].to") && err.contains("routers"),
        "{err}"
    );
}

#[test]
fn the_fdb_learns_and_port_down_flushes_it() {
    let p = plan(BASE);
    let mut w = scenario::build(&p, 1, false);
    w.run_until(Instant::ZERO + Duration::from_secs(2));
    assert_eq!(w.fdb_len(0), 2, "client and n1 learned");
    let mut w2 = scenario::build(
        &plan(&(BASE.to_string() + "timeline:\n  - at: 1.5s\n    link_down: n1-sw1\n")),
        1,
        false,
    );
    w2.run_until(Instant::ZERO + Duration::from_secs(2));
    assert_eq!(w2.fdb_len(0), 1, "n1's entry flushed with its port");
}

#[test]
fn set_link_changes_loss_for_a_window() {
    let text = BASE.to_string()
        + "timeline:\n  - at: 2s\n    set_link: { link: client-sw1, loss: 1.0 }\n  - at: 2.5s\n    set_link: { link: client-sw1, loss: 0.0 }\n";
    let (o, _) = run::run(&plan(&text), None, false);
    let st = &o.flows[0].stats;
    let random: u64 = st
        .losses
        .iter()
        .filter(|(l, _)| matches!(l, Loss::LinkRandom { .. }))
        .map(|(_, n)| *n)
        .sum();
    assert_eq!(random, 50, "{:?}", st.losses);
    assert_eq!(st.outages.len(), 1);
}

#[test]
fn set_link_on_one_direction_leaves_the_other_alone() {
    let text = BASE.to_string()
        + "timeline:\n  - at: 2s\n    set_link: { link: client-sw1, direction: b_to_a, loss: 1.0 }\n  - at: 3s\n    set_link: { link: client-sw1, direction: b_to_a, loss: 0.0 }\n";
    let (o, _) = run::run(&plan(&text), None, false);
    // Requests go a>b (client to switch) and arrive; replies b>a are all lost.
    let st = &o.flows[0].stats;
    assert!((99..=101).contains(&st.lost), "{}", st.lost);
}

#[test]
fn an_owner_that_does_not_answer_arp_leaves_the_client_failed() {
    let text = BASE
        .replace("to: 198.51.100.11", "to: 198.51.100.200")
        .replace(
            "{ name: n1, addresses: [198.51.100.11/24] }",
            "{ name: n1, addresses: [198.51.100.11/24], announcer: { answer: false } }",
        )
        + "timeline:\n  - at: 0s\n    own: { host: n1, address: 198.51.100.200 }\n";
    let (o, _) = run::run(&plan(&text), None, false);
    let st = &o.flows[0].stats;
    assert_eq!(st.answered, 0);
    assert!(
        st.losses
            .keys()
            .all(|l| matches!(l, Loss::Neigh { .. } | Loss::Unresolved { .. })),
        "every loss is explained by the client's neighbour table: {:?}",
        st.losses
    );
    assert!(!st.losses.contains_key(&Loss::Unexplained));
}

#[test]
fn a_paused_announcer_answers_again_after_resume() {
    let text = BASE.replace("to: 198.51.100.11", "to: 198.51.100.200")
        + "timeline:\n  - at: 0s\n    own: { host: n1, address: 198.51.100.200 }\n  - at: 0.5s\n    pause: n1\n  - at: 2.5s\n    resume: n1\n";
    let (o, _) = run::run(&plan(&text), None, false);
    let f = &o.flows[0];
    // Broadcasts at 1 s and 2 s go unanswered; the one at 3 s is answered and the
    // queued probes leave at once — the older ones too late to count.
    let late: u64 = f
        .stats
        .losses
        .iter()
        .filter(|(l, _)| matches!(l, Loss::Late))
        .map(|(_, n)| *n)
        .sum();
    assert!(late >= 90, "{:?}", f.stats.losses);
    assert!(f.stats.answered >= 299);
    let first = f.probes.iter().find_map(|p| p.reply).unwrap();
    assert!(
        first.at >= Instant::ZERO + Duration::from_secs(3),
        "{:?}",
        first.at
    );
}

#[test]
fn killing_the_announcer_keeps_the_kernel_accepting_cached_traffic() {
    let text = BASE.replace("to: 198.51.100.11", "to: 198.51.100.200")
        + "timeline:\n  - at: 0s\n    own: { host: n1, address: 198.51.100.200 }\n  - at: 2s\n    kill: n1\n";
    let (o, _) = run::run(&plan(&text), None, false);
    let st = &o.flows[0].stats;
    assert_eq!(
        st.lost, 0,
        "the cached entry stays REACHABLE past the 6 s run: {:?}",
        st.losses
    );
    let (o2, _) = run::run(&plan(&text.replace("kill: n1", "crash: n1")), None, false);
    assert!(o2.flows[0].stats.lost > 300, "power loss is different");
}
