//! Our BGP codec and session against real routers from Debian's packages — FRR's
//! bgpd, BIRD 2 and GoBGP — each in a network namespace this test creates and joined to
//! ours by a veth pair: the router must accept our OPEN, install our IPv4 (and, where
//! checked, IPv6) routes with their communities, see withdrawals, and our hold timer
//! must fire when the router stops talking.
//!
//! Needs root and the `frr`, `bird2` and `gobgpd` packages, so the tests are ignored by
//! default; CI runs them with `cargo test -p ferrolb-speaker --test interop -- --ignored`.

mod lab;

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant as WallInstant};

use ferrolb_speaker::bgp::session::{Output, PeerAs, Route, Session, SessionConfig, State};
use ferrolb_speaker::time::Instant;
use ipnet::IpNet;
use lab::run;

/// A namespace with FRR in it; everything is torn down on drop, processes by PID.
struct Lab {
    ns: String,
    veth: String,
    daemons: Vec<Child>,
    /// Our address and the router's, on a /30 of 10.213.0.0/24 unique to each test.
    ours: Ipv4Addr,
    theirs: Ipv4Addr,
}

/// Our address and the router's for a test's slot: `10.213.0.<4 * slot + 1, + 2>`.
fn addrs(slot: u8) -> (Ipv4Addr, Ipv4Addr) {
    (
        Ipv4Addr::new(10, 213, 0, 4 * slot + 1),
        Ipv4Addr::new(10, 213, 0, 4 * slot + 2),
    )
}

impl Lab {
    /// A namespace joined to ours by a veth pair on subnet `10.213.0.<4 * slot>/30`.
    fn new(tag: &str, slot: u8) -> Self {
        let id = std::process::id() % 100_000;
        // Unique per test (slot) and per run (pid); interface names stay under 16 bytes.
        let short = &tag[..tag.len().min(3)];
        let ns = format!("flb-{tag}{slot}-{id}");
        let veth = format!("flb{short}{slot}{id}");
        let (ours, theirs) = addrs(slot);
        let lab = Self {
            ns: ns.clone(),
            veth: veth.clone(),
            daemons: Vec::new(),
            ours,
            theirs,
        };
        run(&["ip", "netns", "add", &ns]);
        let peer = format!("{veth}p");
        run(&[
            "ip", "link", "add", &veth, "type", "veth", "peer", "name", &peer,
        ]);
        run(&["ip", "link", "set", &peer, "netns", &ns]);
        run(&["ip", "addr", "add", &format!("{ours}/30"), "dev", &veth]);
        run(&["ip", "link", "set", &veth, "up"]);
        run(&[
            "ip",
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{theirs}/30"),
            "dev",
            &peer,
        ]);
        run(&["ip", "-n", &ns, "link", "set", &peer, "up"]);
        run(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        lab
    }

    /// Starts `cmd` inside the namespace; `ip netns exec` execs it, so the child's PID
    /// is the daemon's own.
    fn spawn(&mut self, cmd: &[&str]) {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .args(cmd)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        self.daemons.push(child);
    }

    /// FRR (zebra + bgpd) with its own pathspace, configured through vtysh.
    fn frr(slot: u8, config: &str) -> Self {
        assert!(
            std::path::Path::new("/usr/lib/frr/bgpd").exists(),
            "FRR is not installed (apt-get install frr)"
        );
        let mut lab = Self::new("frr", slot);
        let ns = lab.ns.clone();
        for dir in [format!("/run/frr/{ns}"), format!("/etc/frr/{ns}")] {
            run(&["install", "-d", "-o", "frr", "-g", "frr", &dir]);
        }
        std::fs::write(format!("/etc/frr/{ns}/vtysh.conf"), "").unwrap();
        for daemon in ["zebra", "bgpd"] {
            let bin = format!("/usr/lib/frr/{daemon}");
            lab.spawn(&[&bin, "-N", &ns, "-P", "0", "-u", "frr", "-g", "frr"]);
            std::thread::sleep(Duration::from_millis(300));
        }
        let deadline = WallInstant::now() + Duration::from_secs(10);
        while lab.vtysh(&["show version"]).is_err() {
            assert!(WallInstant::now() < deadline, "FRR did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
        let path = format!("/etc/frr/{ns}/test.conf");
        std::fs::write(&path, config).unwrap();
        let out = Command::new("vtysh")
            .args(["-N", &ns, "-f", &path])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "vtysh -f: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        lab
    }

    fn bird_socket(&self) -> String {
        format!("/run/{}.bird.ctl", self.ns)
    }

    /// BIRD 2 in the foreground with its own control socket.
    fn bird(slot: u8, config: &str) -> Self {
        assert!(
            std::path::Path::new("/usr/sbin/bird").exists(),
            "BIRD is not installed (apt-get install bird2)"
        );
        let mut lab = Self::new("bird", slot);
        let conf = format!("/run/{}.bird.conf", lab.ns);
        std::fs::write(&conf, config).unwrap();
        let sock = lab.bird_socket();
        lab.spawn(&["/usr/sbin/bird", "-f", "-c", &conf, "-s", &sock]);
        let deadline = WallInstant::now() + Duration::from_secs(10);
        while lab.birdc("show status").is_err() {
            assert!(WallInstant::now() < deadline, "BIRD did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
        lab
    }

    fn birdc(&self, cmd: &str) -> Result<String, String> {
        let out = Command::new("birdc")
            .args(["-s", &self.bird_socket()])
            .args(cmd.split(' '))
            .output()
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() && !text.contains("Unable to connect") {
            Ok(text)
        } else {
            Err(text)
        }
    }

    /// GoBGP with its gRPC API on the namespace's loopback.
    fn gobgp(slot: u8, config: &str) -> Self {
        assert!(
            std::path::Path::new("/usr/bin/gobgpd").exists(),
            "GoBGP is not installed (apt-get install gobgpd)"
        );
        let mut lab = Self::new("gobgp", slot);
        let conf = format!("/run/{}.gobgp.toml", lab.ns);
        std::fs::write(&conf, config).unwrap();
        lab.spawn(&[
            "/usr/bin/gobgpd",
            "-f",
            &conf,
            "-t",
            "toml",
            "--api-hosts",
            "127.0.0.1:50051",
        ]);
        let deadline = WallInstant::now() + Duration::from_secs(10);
        while lab.gobgp_cli(&["global"]).is_err() {
            assert!(WallInstant::now() < deadline, "GoBGP did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
        lab
    }

    fn gobgp_cli(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns,
                "gobgp",
                "-u",
                "127.0.0.1",
                "-p",
                "50051",
            ])
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    fn vtysh(&self, cmds: &[&str]) -> Result<String, String> {
        let mut c = Command::new("vtysh");
        c.args(["-N", &self.ns]);
        for cmd in cmds {
            c.args(["-c", cmd]);
        }
        let out = c.output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    fn json(&self, cmd: &str) -> serde_json::Value {
        serde_json::from_str(&self.vtysh(&[cmd]).unwrap_or_default()).unwrap_or_default()
    }

    fn signal(&self, daemon: usize, sig: &str) {
        run(&["kill", sig, &self.daemons[daemon].id().to_string()]);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for d in &mut self.daemons {
            let _ = Command::new("kill")
                .args(["-CONT", &d.id().to_string()])
                .status();
            let _ = d.kill();
            let _ = d.wait();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.veth])
            .status();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        let _ = std::fs::remove_dir_all(format!("/etc/frr/{}", self.ns));
        let _ = std::fs::remove_dir_all(format!("/run/frr/{}", self.ns));
        for suffix in ["bird.ctl", "bird.conf", "gobgp.toml"] {
            let _ = std::fs::remove_file(format!("/run/{}.{suffix}", self.ns));
        }
    }
}

/// The driver the speaker will have, reduced to blocking std sockets: it performs the
/// session's outputs and feeds it bytes and time.
struct Driver {
    session: Session,
    start: WallInstant,
    stream: Option<(u64, TcpStream)>,
    peer: SocketAddr,
    /// TCP MD5 key (RFC 2385), set on the socket before connecting.
    md5: Option<Vec<u8>>,
}

/// Connects with an optional TCP MD5 key, as the Linux driver will.
fn connect(peer: SocketAddr, md5: Option<&[u8]>) -> std::io::Result<TcpStream> {
    let sock = socket2::Socket::new(
        socket2::Domain::for_address(peer),
        socket2::Type::STREAM,
        None,
    )?;
    if let Some(key) = md5 {
        ferrolb_speaker::sys::md5::set_tcp_md5sig(std::os::fd::AsFd::as_fd(&sock), peer, key)?;
    }
    sock.connect_timeout(&peer.into(), Duration::from_secs(2))?;
    Ok(sock.into())
}

impl Driver {
    fn now(&self) -> Instant {
        Instant::from_nanos(self.start.elapsed().as_nanos() as u64)
    }

    /// Runs until `done` holds or `limit` passes.
    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Session) -> bool) -> bool {
        let end = WallInstant::now() + limit;
        while WallInstant::now() < end {
            let now = self.now();
            self.session.handle_timeout(now);
            while let Some(o) = self.session.poll_output() {
                match o {
                    Output::Connect(c) => match connect(self.peer, self.md5.as_deref()) {
                        Ok(s) => {
                            s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
                            self.stream = Some((c, s));
                            self.session.handle_connected(self.now(), c);
                        }
                        Err(_) => self.session.handle_closed(self.now(), c),
                    },
                    Output::Send(c, bytes) => {
                        if let Some((sc, s)) = &mut self.stream
                            && *sc == c
                        {
                            let _ = s.write_all(&bytes);
                        }
                    }
                    Output::Close(c) => {
                        if self.stream.as_ref().is_some_and(|(sc, _)| *sc == c) {
                            self.stream = None;
                        }
                    }
                    Output::Event(_) => {}
                }
            }
            if done(&self.session) {
                return true;
            }
            let mut buf = [0u8; 4096];
            let got = match &mut self.stream {
                Some((c, s)) => match s.read(&mut buf) {
                    Ok(0) => Some((*c, None)),
                    Ok(n) => Some((*c, Some(buf[..n].to_vec()))),
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        None
                    }
                    Err(_) => Some((*c, None)),
                },
                None => {
                    std::thread::sleep(Duration::from_millis(20));
                    None
                }
            };
            match got {
                Some((c, Some(bytes))) => self.session.handle_bytes(self.now(), c, &bytes),
                Some((c, None)) => {
                    self.stream = None;
                    self.session.handle_closed(self.now(), c);
                }
                None => {}
            }
        }
        false
    }
}

fn routes() -> BTreeMap<IpNet, Route> {
    let mut m = BTreeMap::new();
    m.insert(
        "198.51.100.5/32".parse().unwrap(),
        Route {
            communities: vec![(65000 << 16) | 100],
            large_communities: vec![(64512, 1, 2)],
            local_pref: None,
        },
    );
    m.insert("2001:db8:100::5/128".parse().unwrap(), Route::default());
    m
}

/// A session from us (AS 64512) to the lab's router (AS 65000), established.
fn establish(lab: &Lab) -> Driver {
    let mut d = driver(lab, None);
    assert!(
        d.run_until(Duration::from_secs(30), |s| s.state() == State::Established),
        "no session with the router"
    );
    assert_eq!(
        d.session.negotiated().unwrap().hold_time,
        Duration::from_secs(9)
    );
    d
}

/// A started session from us to the lab's router.
fn driver(lab: &Lab, md5: Option<&[u8]>) -> Driver {
    let mut cfg = SessionConfig::new(64512, PeerAs::Fixed(65000), lab.ours);
    cfg.hold_time = Duration::from_secs(9);
    cfg.next_hop_v4 = Some(lab.ours);
    cfg.next_hop_v6 = Some("2001:db8:213::1".parse().unwrap());
    let mut d = Driver {
        session: Session::new(cfg),
        start: WallInstant::now(),
        stream: None,
        peer: SocketAddr::new(lab.theirs.into(), 179),
        md5: md5.map(<[u8]>::to_vec),
    };
    d.session.set_routes(routes());
    d.session.start(d.now());
    d
}

/// Waits (driving the session) until `check` holds; returns its last output.
fn wait_for<T: Default>(
    d: &mut Driver,
    limit: Duration,
    mut probe: impl FnMut() -> T,
    ok: impl Fn(&T) -> bool,
) -> T {
    let mut last = T::default();
    d.run_until(limit, |_| {
        last = probe();
        ok(&last)
    });
    last
}

/// The router hangs: our hold timer (9 s) ends the session; then it comes back.
fn hold_timer_fires_and_session_recovers(d: &mut Driver, lab: &Lab, daemon: usize) {
    lab.signal(daemon, "-STOP");
    let stopped = WallInstant::now();
    assert!(
        d.run_until(Duration::from_secs(15), |s| s.state() != State::Established),
        "hold timer never fired"
    );
    let took = stopped.elapsed();
    assert!(
        took >= Duration::from_secs(5) && took <= Duration::from_secs(11),
        "down after {took:?}"
    );
    lab.signal(daemon, "-CONT");
    assert!(
        d.run_until(Duration::from_secs(40), |s| s.state() == State::Established),
        "did not re-establish"
    );
    assert!(d.session.stats().established_transitions >= 2);
}

#[test]
#[ignore = "needs root and FRR; CI runs it with --ignored"]
fn frr_accepts_our_session_routes_communities_and_withdrawals() {
    let lab = Lab::frr(0, "");
    let conf = format!(
        "router bgp 65000\n bgp router-id {t}\n no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n neighbor {o} remote-as 64512\n neighbor {o} passive\n neighbor {o} timers 3 9\n address-family ipv4 unicast\n  neighbor {o} activate\n exit-address-family\n address-family ipv6 unicast\n  neighbor {o} activate\n exit-address-family\n",
        t = lab.theirs,
        o = lab.ours
    );
    let path = format!("/etc/frr/{}/bgp.conf", lab.ns);
    std::fs::write(&path, conf).unwrap();
    run(&["vtysh", "-N", &lab.ns, "-f", &path]);
    let mut d = establish(&lab);

    // The IPv4 route with our AS path and both community kinds.
    let v4 = wait_for(
        &mut d,
        Duration::from_secs(10),
        || lab.json("show bgp ipv4 unicast 198.51.100.5/32 json"),
        |v| v["paths"].as_array().is_some_and(|p| !p.is_empty()),
    );
    let path = &v4["paths"][0];
    assert_eq!(path["aspath"]["string"], "64512", "{v4}");
    assert_eq!(path["community"]["string"], "65000:100", "{v4}");
    assert_eq!(path["largeCommunity"]["string"], "64512:1:2", "{v4}");
    // The IPv6 route, carried in MP_REACH_NLRI over the IPv4 session.
    let v6 = wait_for(
        &mut d,
        Duration::from_secs(10),
        || lab.json("show bgp ipv6 unicast 2001:db8:100::5/128 json"),
        |v| v["paths"].as_array().is_some_and(|p| !p.is_empty()),
    );
    assert!(
        v6["paths"].as_array().is_some_and(|p| !p.is_empty()),
        "no IPv6 route in FRR: {v6}"
    );

    d.session.set_routes(BTreeMap::new());
    let after = wait_for(
        &mut d,
        Duration::from_secs(10),
        || lab.json("show bgp ipv4 unicast 198.51.100.5/32 json"),
        |v| v["paths"].as_array().is_none_or(|p| p.is_empty()),
    );
    assert!(
        after["paths"].as_array().is_none_or(|p| p.is_empty()),
        "FRR still has the withdrawn route: {after}"
    );

    hold_timer_fires_and_session_recovers(&mut d, &lab, 1);
    d.session.stop("test over");
    d.run_until(Duration::from_millis(200), |_| false);
}

#[test]
#[ignore = "needs root and FRR; CI runs it with --ignored"]
fn frr_session_with_tcp_md5_and_a_wrong_key_fails() {
    let lab = Lab::frr(3, "");
    let conf = format!(
        "router bgp 65000\n bgp router-id {t}\n no bgp ebgp-requires-policy\n neighbor {o} remote-as 64512\n neighbor {o} passive\n neighbor {o} password s3cret-key\n",
        t = lab.theirs,
        o = lab.ours
    );
    let path = format!("/etc/frr/{}/bgp.conf", lab.ns);
    std::fs::write(&path, conf).unwrap();
    run(&["vtysh", "-N", &lab.ns, "-f", &path]);
    let mut wrong = driver(&lab, Some(b"not-the-key"));
    assert!(
        !wrong.run_until(Duration::from_secs(4), |s| s.state() == State::Established),
        "a wrong MD5 key must not get a session"
    );
    drop(wrong);
    let mut none = driver(&lab, None);
    assert!(
        !none.run_until(Duration::from_secs(3), |s| s.state() == State::Established),
        "no MD5 key must not get a session"
    );
    drop(none);
    let mut right = driver(&lab, Some(b"s3cret-key"));
    assert!(
        right.run_until(Duration::from_secs(30), |s| s.state() == State::Established),
        "the right MD5 key must get a session"
    );
    right.session.stop("test over");
    right.run_until(Duration::from_millis(200), |_| false);
}

#[test]
#[ignore = "needs root and BIRD 2; CI runs it with --ignored"]
fn bird_accepts_our_session_routes_communities_and_withdrawals() {
    let conf = |t: Ipv4Addr, o: Ipv4Addr| {
        format!(
            "router id {t};\nprotocol device {{}}\nprotocol bgp ferrolb {{\n  local {t} as 65000;\n  neighbor {o} as 64512;\n  passive on;\n  hold time 9;\n  connect retry time 2;\n  error wait time 1, 5;\n  ipv4 {{ import all; export none; }};\n  ipv6 {{ import all; export none; }};\n}}\n"
        )
    };
    let (ours, theirs) = addrs(1);
    let lab = Lab::bird(1, &conf(theirs, ours));
    let mut d = establish(&lab);
    let shown = wait_for(
        &mut d,
        Duration::from_secs(10),
        || {
            lab.birdc("show route 198.51.100.5/32 all")
                .unwrap_or_default()
        },
        |t| t.contains("BGP.as_path"),
    );
    assert!(shown.contains("BGP.as_path: 64512"), "{shown}");
    assert!(shown.contains("BGP.community: (65000,100)"), "{shown}");
    assert!(
        shown.contains("BGP.large_community: (64512, 1, 2)"),
        "{shown}"
    );
    d.session.set_routes(BTreeMap::new());
    let after = wait_for(
        &mut d,
        Duration::from_secs(10),
        || lab.birdc("show route 198.51.100.5/32").unwrap_or_default(),
        |t| !t.contains("198.51.100.5"),
    );
    assert!(
        !after.contains("198.51.100.5"),
        "BIRD still has the withdrawn route: {after}"
    );
    hold_timer_fires_and_session_recovers(&mut d, &lab, 0);
    d.session.stop("test over");
    d.run_until(Duration::from_millis(200), |_| false);
}

#[test]
#[ignore = "needs root and GoBGP; CI runs it with --ignored"]
fn gobgp_accepts_our_session_routes_communities_and_withdrawals() {
    let (ours, theirs) = addrs(2);
    let conf = format!(
        "[global.config]\n  as = 65000\n  router-id = \"{theirs}\"\n  local-address-list = [\"{theirs}\"]\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{ours}\"\n    peer-as = 64512\n  [neighbors.transport.config]\n    passive-mode = true\n  [neighbors.timers.config]\n    hold-time = 9\n  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"ipv4-unicast\"\n  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"ipv6-unicast\"\n"
    );
    let lab = Lab::gobgp(2, &conf);
    let mut d = establish(&lab);
    let rib = wait_for(
        &mut d,
        Duration::from_secs(10),
        || {
            lab.gobgp_cli(&["global", "rib", "-a", "ipv4"])
                .unwrap_or_default()
        },
        |t| t.contains("198.51.100.5/32"),
    );
    assert!(rib.contains("198.51.100.5/32"), "{rib}");
    assert!(rib.contains("64512"), "AS path: {rib}");
    assert!(rib.contains("65000:100"), "community: {rib}");
    assert!(rib.contains("64512:1:2"), "large community: {rib}");
    let rib6 = wait_for(
        &mut d,
        Duration::from_secs(10),
        || {
            lab.gobgp_cli(&["global", "rib", "-a", "ipv6"])
                .unwrap_or_default()
        },
        |t| t.contains("2001:db8:100::5/128"),
    );
    assert!(rib6.contains("2001:db8:100::5/128"), "{rib6}");
    d.session.set_routes(BTreeMap::new());
    let after = wait_for(
        &mut d,
        Duration::from_secs(10),
        || {
            lab.gobgp_cli(&["global", "rib", "-a", "ipv4"])
                .unwrap_or_default()
        },
        |t| !t.contains("198.51.100.5/32"),
    );
    assert!(
        !after.contains("198.51.100.5/32"),
        "GoBGP still has the withdrawn route: {after}"
    );
    hold_timer_fires_and_session_recovers(&mut d, &lab, 0);
    d.session.stop("test over");
    d.run_until(Duration::from_millis(200), |_| false);
}
