//! Our BGP codec and session against a real FRR bgpd (Debian's package), in a network
//! namespace this test creates: FRR must accept our OPEN, install our IPv4 and IPv6
//! routes with their communities, see withdrawals, and our hold timer must fire when
//! FRR stops talking.
//!
//! Needs root and `frr` installed, so it is ignored by default; CI runs it with
//! `cargo test -p ferrolb-speaker --test frr_interop -- --ignored`.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant as WallInstant};

use ferrolb_speaker::bgp::session::{Output, PeerAs, Route, Session, SessionConfig, State};
use ferrolb_speaker::time::Instant;
use ipnet::IpNet;

/// A namespace with FRR in it; everything is torn down on drop, processes by PID.
struct Lab {
    ns: String,
    veth: String,
    daemons: Vec<Child>,
}

fn run(cmd: &[&str]) -> String {
    let out = Command::new(cmd[0])
        .args(&cmd[1..])
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Lab {
    fn start(tag: &str, config: &str) -> Self {
        assert!(
            std::path::Path::new("/usr/lib/frr/bgpd").exists(),
            "FRR is not installed (apt-get install frr)"
        );
        let id = std::process::id() % 100_000;
        let ns = format!("flb-{tag}-{id}");
        let veth = format!("flb{tag}{id}");
        let lab = Self {
            ns: ns.clone(),
            veth: veth.clone(),
            daemons: Vec::new(),
        };
        run(&["ip", "netns", "add", &ns]);
        let peer = format!("{veth}p");
        run(&[
            "ip", "link", "add", &veth, "type", "veth", "peer", "name", &peer,
        ]);
        run(&["ip", "link", "set", &peer, "netns", &ns]);
        run(&["ip", "addr", "add", "10.213.0.1/30", "dev", &veth]);
        run(&["ip", "link", "set", &veth, "up"]);
        run(&[
            "ip",
            "-n",
            &ns,
            "addr",
            "add",
            "10.213.0.2/30",
            "dev",
            &peer,
        ]);
        run(&["ip", "-n", &ns, "link", "set", &peer, "up"]);
        run(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        for dir in [format!("/run/frr/{ns}"), format!("/etc/frr/{ns}")] {
            run(&["install", "-d", "-o", "frr", "-g", "frr", &dir]);
        }
        std::fs::write(format!("/etc/frr/{ns}/vtysh.conf"), "").unwrap();
        let mut lab = lab;
        for daemon in ["zebra", "bgpd"] {
            let child = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &ns,
                    &format!("/usr/lib/frr/{daemon}"),
                    "-N",
                    &ns,
                    "-P",
                    "0",
                    "-u",
                    "frr",
                    "-g",
                    "frr",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start FRR daemon");
            lab.daemons.push(child);
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
    }
}

/// The driver the speaker will have, reduced to blocking std sockets: it performs the
/// session's outputs and feeds it bytes and time.
struct Driver {
    session: Session,
    start: WallInstant,
    stream: Option<(u64, TcpStream)>,
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
                    Output::Connect(c) => {
                        let addr: SocketAddr = "10.213.0.2:179".parse().unwrap();
                        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
                            Ok(s) => {
                                s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
                                self.stream = Some((c, s));
                                self.session.handle_connected(self.now(), c);
                            }
                            Err(_) => self.session.handle_closed(self.now(), c),
                        }
                    }
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

const FRR_CONF: &str = "\
router bgp 65000
 bgp router-id 10.213.0.2
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor 10.213.0.1 remote-as 64512
 neighbor 10.213.0.1 passive
 neighbor 10.213.0.1 timers 3 9
 address-family ipv4 unicast
  neighbor 10.213.0.1 activate
 exit-address-family
 address-family ipv6 unicast
  neighbor 10.213.0.1 activate
 exit-address-family
";

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

#[test]
#[ignore = "needs root and FRR; CI runs it with --ignored"]
fn frr_accepts_our_session_routes_communities_and_withdrawals() {
    let lab = Lab::start("bgp", FRR_CONF);
    let mut cfg = SessionConfig::new(64512, PeerAs::Fixed(65000), Ipv4Addr::new(10, 213, 0, 1));
    cfg.hold_time = Duration::from_secs(9);
    cfg.next_hop_v4 = Some(Ipv4Addr::new(10, 213, 0, 1));
    cfg.next_hop_v6 = Some("2001:db8:213::1".parse().unwrap());
    let mut d = Driver {
        session: Session::new(cfg),
        start: WallInstant::now(),
        stream: None,
    };
    d.session.set_routes(routes());
    d.session.start(d.now());
    assert!(
        d.run_until(Duration::from_secs(20), |s| s.state() == State::Established),
        "no session with FRR"
    );
    assert_eq!(
        d.session.negotiated().unwrap().hold_time,
        Duration::from_secs(9)
    );

    // FRR installs the IPv4 route with our AS path and both community kinds.
    let mut v4 = serde_json::Value::Null;
    d.run_until(Duration::from_secs(10), |_| {
        v4 = lab.json("show bgp ipv4 unicast 198.51.100.5/32 json");
        v4["paths"].as_array().is_some_and(|p| !p.is_empty())
    });
    let path = &v4["paths"][0];
    assert_eq!(path["aspath"]["string"], "64512", "{v4}");
    assert_eq!(path["community"]["string"], "65000:100", "{v4}");
    assert_eq!(path["largeCommunity"]["string"], "64512:1:2", "{v4}");
    // And the IPv6 route, carried in MP_REACH_NLRI over the IPv4 session.
    let mut v6 = serde_json::Value::Null;
    d.run_until(Duration::from_secs(10), |_| {
        v6 = lab.json("show bgp ipv6 unicast 2001:db8:100::5/128 json");
        v6["paths"].as_array().is_some_and(|p| !p.is_empty())
    });
    assert!(
        v6["paths"].as_array().is_some_and(|p| !p.is_empty()),
        "no IPv6 route in FRR: {v6}"
    );

    // Withdrawal.
    d.session.set_routes(BTreeMap::new());
    let mut gone = false;
    d.run_until(Duration::from_secs(10), |_| {
        gone = lab.json("show bgp ipv4 unicast 198.51.100.5/32 json")["paths"]
            .as_array()
            .is_none_or(|p| p.is_empty());
        gone
    });
    assert!(gone, "FRR still has the withdrawn route");

    // FRR hangs (SIGSTOP): our hold timer, 9 s, takes the session down.
    lab.signal(1, "-STOP");
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
    lab.signal(1, "-CONT");
    assert!(
        d.run_until(Duration::from_secs(30), |s| s.state() == State::Established),
        "did not re-establish"
    );
    assert!(d.session.stats().established_transitions >= 2);
    d.session.stop("test over");
    d.run_until(Duration::from_millis(200), |_| false);
}
