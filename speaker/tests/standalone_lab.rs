//! `ferrolb-speaker standalone` end to end, in network namespaces this test creates:
//! three nodes and a client on one bridge. The client's kernel resolves the service
//! address to the announcing node's MAC; that node's `/metrics` reports the
//! announcement and the ARP it answered; a refused reload keeps it running and shows
//! as stale; SIGTERM hands the address to another node, which the client follows, and
//! the old speaker exits 0.
//!
//! Needs root; ignored by default, run by CI with
//! `cargo test -p ferrolb-speaker --test standalone_lab -- --ignored`.

mod lab;

use std::fs;
use std::time::Duration;

use lab::{Lab, VIP, VIP6, announcer, announcer_of, metrics, sample, speaker, wait_for};

const SIGTERM: i32 = 15;
const SIGHUP: i32 = 1;

#[test]
#[ignore = "needs root: creates network namespaces"]
fn three_speakers_announce_reload_and_hand_over() {
    let lab = Lab::new("flbsa", 3);
    let (cfg, key) = lab.write_config();
    let mut procs: Vec<_> = lab
        .nodes
        .iter()
        .map(|n| speaker(&lab, n, &cfg, &key))
        .collect();
    let all = ["n1", "n2", "n3"];

    // One announcer, agreed by all three.
    let first = wait_for(Duration::from_secs(15), || announcer(&lab, &all))
        .expect("exactly one node announces the VIP");
    let first_node = lab.node(&first).clone();

    // The client's kernel resolves the VIP to that node's MAC (ARP answered by the
    // speaker: the kernels hold the VIP on a dummy with arp_ignore=1).
    let mac = wait_for(Duration::from_secs(5), || {
        lab.client_probe();
        lab.client_vip_mac().filter(|m| *m == first_node.mac)
    });
    assert_eq!(
        mac.as_deref(),
        Some(first_node.mac.as_str()),
        "client resolved {VIP} to {:?}, want {first}'s {}; its metrics:\n{}",
        lab.client_vip_mac(),
        first_node.mac,
        metrics(&lab, &first_node).unwrap_or_default()
    );
    let m = metrics(&lab, &first_node).expect("metrics");
    let ip = format!("ip=\"{VIP}\"");
    assert!(
        sample(&m, "metallb_layer2_requests_received", &ip) >= Some(1.0),
        "{m}"
    );
    assert!(
        sample(&m, "metallb_layer2_responses_sent", &ip) >= Some(1.0),
        "{m}"
    );
    assert!(
        sample(&m, "metallb_layer2_gratuitous_sent", &ip) >= Some(1.0),
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            "metallb_speaker_announced",
            &format!("ip=\"{VIP}\",node=\"{first}\",protocol=\"layer2\",service=\"default/web\"")
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(sample(&m, "ferrolb_members_live", ""), Some(3.0), "{m}");
    assert_eq!(
        sample(&m, "ferrolb_layer2_interfaces", "interface=\"eth0\""),
        Some(1.0),
        "{m}"
    );
    // The others do not answer for it.
    for n in lab.nodes.iter().filter(|n| n.name != first) {
        let m = metrics(&lab, n).expect("metrics");
        let answered = sample(&m, "metallb_layer2_responses_sent", &ip).unwrap_or(0.0);
        assert_eq!(answered, 0.0, "{}: {m}", n.name);
    }

    // IPv6: the client's kernel resolves VIP6 by neighbour discovery to its announcer
    // (which needs its link-local address, learnt through netlink once DAD is done).
    let v6 = wait_for(Duration::from_secs(15), || announcer_of(&lab, VIP6, &all))
        .expect("exactly one node announces the IPv6 VIP");
    let v6_mac = lab.node(&v6).mac.clone();
    let resolved = wait_for(Duration::from_secs(10), || {
        lab.client_probe_of(VIP6);
        lab.client_mac_of(VIP6).filter(|m| *m == v6_mac)
    });
    assert_eq!(
        resolved.as_deref(),
        Some(v6_mac.as_str()),
        "client resolved {VIP6} to {:?}, want {v6}'s",
        lab.client_mac_of(VIP6)
    );
    let m6 = metrics(&lab, lab.node(&v6)).expect("metrics");
    let ip6 = format!("ip=\"{VIP6}\"");
    assert!(
        sample(&m6, "metallb_layer2_responses_sent", &ip6) >= Some(1.0),
        "{m6}"
    );

    // A broken reload is refused: the speaker keeps announcing and says it is stale.
    let good = fs::read_to_string(&cfg).unwrap();
    fs::write(&cfg, good.replace("192.0.2.200/32", "192.0.2.300/32")).unwrap();
    let idx = lab.nodes.iter().position(|n| n.name == first).unwrap();
    procs[idx].signal(SIGHUP);
    let stale = wait_for(Duration::from_secs(5), || {
        metrics(&lab, &first_node)
            .filter(|m| sample(m, "metallb_k8s_client_config_stale_bool", "") == Some(1.0))
    })
    .expect("refused reload shows as stale");
    assert_eq!(
        sample(
            &stale,
            "ferrolb_speaker_reloads_total",
            "result=\"refused\""
        ),
        Some(1.0)
    );
    assert!(
        procs[idx]
            .log_text()
            .contains("IPAddressPool/lab: spec.addresses[0]")
    );
    assert_eq!(announcer(&lab, &all).as_deref(), Some(first.as_str()));
    fs::write(&cfg, &good).unwrap();
    procs[idx].signal(SIGHUP);
    wait_for(Duration::from_secs(5), || {
        metrics(&lab, &first_node)
            .filter(|m| sample(m, "metallb_k8s_client_config_stale_bool", "") == Some(0.0))
    })
    .expect("a good reload clears stale");

    // SIGTERM: planned handover. The speaker exits 0 after its grace, another node
    // announces, and the client's entry moves to it (gratuitous ARP).
    procs[idx].signal(SIGTERM);
    let rest: Vec<&str> = all.iter().copied().filter(|n| *n != first).collect();
    let second = wait_for(Duration::from_secs(5), || announcer(&lab, &rest))
        .expect("another node takes over");
    let second_mac = lab.node(&second).mac.clone();
    let moved = wait_for(Duration::from_secs(5), || {
        lab.client_vip_mac().filter(|m| *m == second_mac)
    });
    assert_eq!(
        moved.as_deref(),
        Some(second_mac.as_str()),
        "client follows to {second}"
    );
    assert_eq!(
        procs[idx].wait_exit(Duration::from_secs(6)),
        Some(0),
        "the stopped speaker exits 0"
    );
    assert!(lab.client_probe(), "the VIP answers from {second}");
    let log = procs[idx].log_text();
    assert!(log.contains("handover complete"), "{log}");
}
