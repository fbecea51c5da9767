//! Our ARP and NDP frames against a real Linux kernel: a client in a network namespace
//! this test creates resolves load-balancer addresses that no interface has to our MAC
//! (answered from an AF_PACKET socket), and our gratuitous ARP and unsolicited NA move
//! its existing neighbour entries.
//!
//! Needs root; ignored by default, run by CI with
//! `cargo test -p ferrolb-speaker --test kernel_l2 -- --ignored`.

mod lab;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant as WallInstant};

use ferrolb_speaker::layer2::announcer::{Action, Announcer, AnnouncerConfig};
use ferrolb_speaker::layer2::responder::{Interface, action_frames, handle_frame};
use ferrolb_speaker::sys::packet::{PacketSocket, mac};
use ferrolb_speaker::time::Instant;
use ferrolb_wire::Mac;
use lab::run;

/// A client namespace on a veth whose other end stays here, unaddressed: like a node's
/// NIC on which the speaker answers for addresses it does not configure.
struct Lab {
    ns: String,
    ours: String,
    theirs: String,
}

impl Lab {
    fn new() -> Self {
        let id = std::process::id() % 100_000;
        let lab = Self {
            ns: format!("flb-l2-{id}"),
            ours: format!("flbl2{id}"),
            theirs: format!("flbl2{id}c"),
        };
        run(&["ip", "netns", "add", &lab.ns]);
        run(&[
            "ip",
            "link",
            "add",
            &lab.ours,
            "type",
            "veth",
            "peer",
            "name",
            &lab.theirs,
        ]);
        run(&["ip", "link", "set", &lab.theirs, "netns", &lab.ns]);
        run(&["ip", "link", "set", &lab.ours, "up"]);
        run(&[
            "ip",
            "-n",
            &lab.ns,
            "addr",
            "add",
            "192.0.2.1/24",
            "dev",
            &lab.theirs,
        ]);
        run(&[
            "ip",
            "-n",
            &lab.ns,
            "addr",
            "add",
            "2001:db8:7::1/64",
            "dev",
            &lab.theirs,
            "nodad",
        ]);
        run(&["ip", "-n", &lab.ns, "link", "set", &lab.theirs, "up"]);
        lab
    }

    fn neigh(&self, ip: &str) -> String {
        run(&[
            "ip",
            "-n",
            &self.ns,
            "neigh",
            "show",
            ip,
            "dev",
            &self.theirs,
        ])
    }

    fn client(&self, args: &[&str]) -> Child {
        Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("client command")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.ours])
            .status();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

/// Answers on `sock` for `announcer`'s addresses until `done` or `limit`.
fn serve(
    sock: &PacketSocket,
    iface: &Interface,
    announcer: &mut Announcer,
    limit: Duration,
    mut done: impl FnMut() -> bool,
) {
    let end = WallInstant::now() + limit;
    let mut counters = BTreeMap::new();
    let mut buf = [0u8; 2048];
    while WallInstant::now() < end && !done() {
        if let Some(n) = sock.recv(&mut buf, Duration::from_millis(20)).unwrap() {
            for reply in handle_frame(
                Instant::ZERO,
                announcer,
                iface,
                &buf[..n],
                |_| false,
                &mut counters,
            ) {
                sock.send(&reply).unwrap();
            }
        }
    }
}

fn announcer_for(ips: &[&str]) -> Announcer {
    let mut a = Announcer::new(AnnouncerConfig {
        probes: 0,
        ..AnnouncerConfig::default()
    });
    let want: BTreeMap<IpAddr, BTreeSet<String>> = ips
        .iter()
        .map(|ip| (ip.parse().unwrap(), BTreeSet::from(["eth".to_owned()])))
        .collect();
    a.set(Instant::ZERO, &want, |_| true);
    a.drain_actions();
    a
}

#[test]
#[ignore = "needs root (network namespaces, AF_PACKET); CI runs it with --ignored"]
fn linux_resolves_our_addresses_and_follows_our_announcements() {
    let lab = Lab::new();
    let sock = PacketSocket::open(&lab.ours).expect("AF_PACKET socket (root needed)");
    let our_mac = Mac(mac(&lab.ours).unwrap());
    let iface = Interface {
        name: "eth".into(),
        mac: our_mac,
        link_local: Some("fe80::11".parse().unwrap()),
    };
    let mut a = announcer_for(&["192.0.2.10", "2001:db8:7::10"]);
    let mac_text = our_mac.to_string();

    // ARP: the client's kernel resolves 192.0.2.10 to our MAC.
    // bash's /dev/udp sends a datagram: the kernel must resolve the address first.
    let mut traffic = lab.client(&[
        "bash",
        "-c",
        "for i in 1 2 3 4 5; do echo x > /dev/udp/192.0.2.10/9; sleep 0.2; done",
    ]);
    serve(&sock, &iface, &mut a, Duration::from_secs(5), || {
        traffic.try_wait().ok().flatten().is_some()
    });
    let _ = traffic.kill();
    let _ = traffic.wait();
    let n = lab.neigh("192.0.2.10");
    assert!(
        n.contains(&mac_text),
        "client did not resolve 192.0.2.10 to {mac_text}: {n:?}"
    );

    // NDP: the client's kernel resolves 2001:db8:7::10 to our MAC from our solicited NA.
    let mut traffic6 = lab.client(&[
        "bash",
        "-c",
        "for i in 1 2 3 4 5; do echo x > /dev/udp/2001:db8:7::10/9; sleep 0.2; done",
    ]);
    serve(&sock, &iface, &mut a, Duration::from_secs(5), || {
        traffic6.try_wait().ok().flatten().is_some()
    });
    let _ = traffic6.kill();
    let _ = traffic6.wait();
    let n6 = lab.neigh("2001:db8:7::10");
    assert!(
        n6.contains(&mac_text),
        "client did not resolve 2001:db8:7::10 to {mac_text}: {n6:?}"
    );

    // Takeover: entries pointing at a dead node's MAC move to ours on our gratuitous ARP
    // (request + reply) and unsolicited NA (Override).
    let dead = "02:de:ad:00:00:01";
    run(&[
        "ip",
        "-n",
        &lab.ns,
        "neigh",
        "replace",
        "192.0.2.20",
        "lladdr",
        dead,
        "dev",
        &lab.theirs,
        "nud",
        "stale",
    ]);
    run(&[
        "ip",
        "-n",
        &lab.ns,
        "neigh",
        "replace",
        "2001:db8:7::20",
        "lladdr",
        dead,
        "dev",
        &lab.theirs,
        "nud",
        "stale",
    ]);
    let mut counters = BTreeMap::new();
    for ip in ["192.0.2.20", "2001:db8:7::20"] {
        for f in action_frames(
            &Action::Announce {
                ip: ip.parse().unwrap(),
                iface: "eth".into(),
            },
            &iface,
            &mut counters,
        ) {
            sock.send(&f).unwrap();
        }
    }
    let deadline = WallInstant::now() + Duration::from_secs(3);
    let (mut v4, mut v6) = (String::new(), String::new());
    while WallInstant::now() < deadline {
        v4 = lab.neigh("192.0.2.20");
        v6 = lab.neigh("2001:db8:7::20");
        if v4.contains(&mac_text) && v6.contains(&mac_text) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        v4.contains(&mac_text),
        "gratuitous ARP did not move the entry: {v4:?}"
    );
    assert!(
        v6.contains(&mac_text),
        "unsolicited NA did not move the entry: {v6:?}"
    );
}
