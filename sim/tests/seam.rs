//! The host seam end to end: an application plugged into a host through `HostApp`
//! talks UDP to an application on another host, through real frames, ARP and a
//! switch, using only what `HostIo` offers — the same shape the speaker's driver will
//! have.

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

use ferrolb_sim::app::{AppInput, CloseReason, HostApp, HostIo, StreamEvent};
use ferrolb_sim::host::{AppFactory, Host, NicConfig};
use ferrolb_sim::link::LinkProps;
use ferrolb_sim::neigh::NeighParams;
use ferrolb_sim::time::{Duration, Instant};
use ferrolb_sim::world::WorldAction;
use ferrolb_sim::world::{Endpoint, World};

type Log = Rc<RefCell<Vec<String>>>;

/// Sends "ping N" every 100 ms to a peer and logs the answers.
struct Pinger {
    peer: SocketAddr,
    me: SocketAddr,
    n: u32,
    log: Log,
}

impl HostApp for Pinger {
    fn handle(&mut self, io: &mut dyn HostIo, input: AppInput<'_>) {
        match input {
            AppInput::Start => {
                io.bind_udp(self.me.port());
                io.wake_at(io.now() + Duration::from_millis(100));
            }
            AppInput::Timer => {
                self.n += 1;
                let msg = format!("ping {}", self.n);
                io.send_datagram(self.me, self.peer, msg.as_bytes());
                io.wake_at(io.now() + Duration::from_millis(100));
            }
            AppInput::Datagram { data, from, .. } => {
                self.log.borrow_mut().push(format!(
                    "{} from {from}: {}",
                    io.now(),
                    String::from_utf8_lossy(data)
                ));
            }
            AppInput::Frame { .. }
            | AppInput::Carrier { .. }
            | AppInput::Stream { .. }
            | AppInput::Watch(_)
            | AppInput::Terminate => {}
        }
    }
}

/// Answers every datagram on its port, and counts the raw ARP frames it sees.
struct Echo {
    port: u16,
    log: Log,
}

impl HostApp for Echo {
    fn handle(&mut self, io: &mut dyn HostIo, input: AppInput<'_>) {
        match input {
            AppInput::Start => io.bind_udp(self.port),
            AppInput::Datagram { from, to, data, .. } => {
                let mut reply = b"pong: ".to_vec();
                reply.extend_from_slice(data);
                io.send_datagram(to, from, &reply);
            }
            AppInput::Frame { frame, .. } => {
                if frame.len() > 13 && frame[12..14] == [0x08, 0x06] {
                    self.log.borrow_mut().push("arp frame".into());
                }
            }
            AppInput::Timer
            | AppInput::Carrier { .. }
            | AppInput::Stream { .. }
            | AppInput::Watch(_)
            | AppInput::Terminate => {}
        }
    }
}

fn nic(name: &str, ip: &str) -> Vec<NicConfig> {
    vec![NicConfig {
        name: "eth0".into(),
        mac: ferrolb_sim::frame::derived_mac(name),
        addrs: vec![(ip.parse::<IpAddr>().unwrap(), 24)],
    }]
}

#[test]
fn applications_talk_udp_through_the_fabric_using_only_the_seam() {
    let pings: Log = Rc::default();
    let arps: Log = Rc::default();
    let mut w = World::new(1, false);
    let tree = w.rng_tree();
    let sw = w.add_switch("sw", Duration::from_secs(300));
    let me: SocketAddr = "198.51.100.1:7946".parse().unwrap();
    let peer: SocketAddr = "198.51.100.2:7946".parse().unwrap();
    let p = pings.clone();
    let pinger: AppFactory = Box::new(move || {
        Box::new(Pinger {
            peer,
            me,
            n: 0,
            log: p.clone(),
        })
    });
    let a = arps.clone();
    let echo: AppFactory = Box::new(move || {
        Box::new(Echo {
            port: 7946,
            log: a.clone(),
        })
    });
    let h1 = w.add_host(Host::new(
        0,
        "a",
        nic("a", "198.51.100.1"),
        NeighParams::LINUX,
        tree,
        vec![pinger],
    ));
    let h2 = w.add_host(Host::new(
        1,
        "b",
        nic("b", "198.51.100.2"),
        NeighParams::LINUX,
        tree,
        vec![echo],
    ));
    for h in [h1, h2] {
        w.add_link(
            &format!("l{h}"),
            Endpoint::Host { host: h, nic: 0 },
            Endpoint::Switch {
                switch: sw,
                port: 0,
            },
            LinkProps::default(),
            LinkProps::default(),
        );
    }
    w.run_until(Instant::ZERO + Duration::from_millis(1050));
    let log = pings.borrow();
    assert_eq!(log.len(), 10, "{log:?}");
    assert!(log[0].ends_with("pong: ping 1"), "{}", log[0]);
    assert!(log[9].contains("from 198.51.100.2:7946"));
    assert!(
        !arps.borrow().is_empty(),
        "the AF_PACKET-like tap sees the ARP exchange"
    );
}

/// A BGP-like speaker: opens a session, sends OPEN, then a KEEPALIVE every second.
struct Session {
    me: SocketAddr,
    peer: SocketAddr,
    log: Log,
}

impl HostApp for Session {
    fn handle(&mut self, io: &mut dyn HostIo, input: AppInput<'_>) {
        let now = io.now();
        match input {
            AppInput::Start => io.connect(1, self.me, self.peer),
            AppInput::Stream { conn, event } => {
                self.log
                    .borrow_mut()
                    .push(format!("{now} conn {conn}: {event:?}"));
                if *event == StreamEvent::Connected {
                    io.send_stream(1, b"OPEN");
                    io.wake_at(now + Duration::from_secs(1));
                }
            }
            AppInput::Timer => {
                io.send_stream(1, b"KEEPALIVE");
                io.wake_at(now + Duration::from_secs(1));
            }
            _ => {}
        }
    }
}

/// The router side: listens on 179 and answers OPEN with OPEN.
struct Router {
    log: Log,
}

impl HostApp for Router {
    fn handle(&mut self, io: &mut dyn HostIo, input: AppInput<'_>) {
        match input {
            AppInput::Start => io.listen(179),
            AppInput::Stream { conn, event } => {
                self.log
                    .borrow_mut()
                    .push(format!("{} conn {conn}: {event:?}", io.now()));
                if *event == StreamEvent::Data(b"OPEN".to_vec()) {
                    io.send_stream(conn, b"OPEN");
                }
            }
            _ => {}
        }
    }
}

fn session_world(speaker_log: &Log, router_log: &Log) -> World {
    let mut w = World::new(2, false);
    let tree = w.rng_tree();
    let sw = w.add_switch("sw", Duration::from_secs(300));
    let me: SocketAddr = "198.51.100.1:40179".parse().unwrap();
    let peer: SocketAddr = "198.51.100.254:179".parse().unwrap();
    let l = speaker_log.clone();
    let speaker: AppFactory = Box::new(move || {
        Box::new(Session {
            me,
            peer,
            log: l.clone(),
        })
    });
    let r = router_log.clone();
    let router: AppFactory = Box::new(move || Box::new(Router { log: r.clone() }));
    let a = w.add_host(Host::new(
        0,
        "node",
        nic("node", "198.51.100.1"),
        NeighParams::LINUX,
        tree,
        vec![speaker],
    ));
    let b = w.add_host(Host::new(
        1,
        "router",
        nic("router", "198.51.100.254"),
        NeighParams::LINUX,
        tree,
        vec![router],
    ));
    for h in [a, b] {
        w.add_link(
            &format!("l{h}"),
            Endpoint::Host { host: h, nic: 0 },
            Endpoint::Switch {
                switch: sw,
                port: 0,
            },
            LinkProps::default(),
            LinkProps::default(),
        );
    }
    w
}

#[test]
fn a_stream_session_connects_and_exchanges_messages() {
    let (s, r): (Log, Log) = (Rc::default(), Rc::default());
    let mut w = session_world(&s, &r);
    w.capture_frames(true);
    w.run_until(Instant::ZERO + Duration::from_millis(3500));
    let frames = w.take_captured_frames();
    let tcp = frames
        .iter()
        .filter(|f| f.frame.len() > 34 && f.frame[12..14] == [0x08, 0x00] && f.frame[23] == 6)
        .count();
    assert!(
        tcp >= 2 * 10,
        "handshake, data and ACKs on both links: {tcp}"
    );
    if let Ok(path) = std::env::var("FERROLB_SIM_PCAP_OUT") {
        std::fs::write(path, ferrolb_sim::pcap::encode(&frames)).unwrap();
    }
    let s = s.borrow();
    let r = r.borrow();
    assert!(s[0].contains("Connected"), "{s:?}");
    assert!(
        s.iter().any(|l| l.contains("Data([79, 80, 69, 78])")),
        "OPEN answered: {s:?}"
    );
    assert!(r[0].contains("Accepted"), "{r:?}");
    assert_eq!(
        r.iter().filter(|l| l.contains("Data")).count(),
        4,
        "OPEN + 3 KEEPALIVEs: {r:?}"
    );
}

#[test]
fn a_powered_off_peer_is_silent_until_retransmissions_run_out() {
    let (s, r): (Log, Log) = (Rc::default(), Rc::default());
    let mut w = session_world(&s, &r);
    w.schedule(
        Instant::ZERO + Duration::from_millis(1500),
        WorldAction::Crash { host: 1 },
        "crash router".into(),
    );
    w.run_until(Instant::ZERO + Duration::from_secs(600));
    assert!(
        !s.borrow().iter().any(|l| l.contains("Closed")),
        "no close while the peer is merely silent: {:?}",
        s.borrow()
    );
    w.run_until(Instant::ZERO + Duration::from_secs(1000));
    let closed: Vec<String> = s
        .borrow()
        .iter()
        .filter(|l| l.contains("Closed"))
        .cloned()
        .collect();
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert!(closed[0].contains(&format!("{:?}", CloseReason::TimedOut)));
}

#[test]
fn a_restarted_peer_resets_the_session_at_the_next_segment() {
    let (s, r): (Log, Log) = (Rc::default(), Rc::default());
    let mut w = session_world(&s, &r);
    w.schedule(
        Instant::ZERO + Duration::from_millis(1500),
        WorldAction::Crash { host: 1 },
        "crash".into(),
    );
    w.schedule(
        Instant::ZERO + Duration::from_millis(1600),
        WorldAction::Restart { host: 1 },
        "restart".into(),
    );
    w.run_until(Instant::ZERO + Duration::from_secs(5));
    let s = s.borrow();
    let reset = s
        .iter()
        .find(|l| l.contains("Reset"))
        .unwrap_or_else(|| panic!("{s:?}"));
    // The KEEPALIVE at ~2 s reaches the rebooted router, which answers RST.
    assert!(reset.starts_with("2."), "{reset}");
}
