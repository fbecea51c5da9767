//! A Layer 2 lab in network namespaces: nodes and a client on one bridge, each node
//! running `ferrolb-speaker standalone` from the same files. Shared by the root tests
//! (`standalone_lab`, `lab_failover`). Everything lives in namespaces this module
//! creates and deletes; every process it starts is killed by PID when its guard drops,
//! also when a test fails.

#![allow(dead_code)] // each test binary uses its own part

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferrolb_speaker::sys::netns;

/// Runs `f` on a thread inside network namespace `ns`.
pub fn in_ns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            netns::enter(ns).unwrap_or_else(|e| panic!("enter {ns}: {e}"));
            f()
        })
        .join()
        .expect("namespace thread panicked")
    })
}

/// `GET path` on `addr`; the body if the status is 200.
pub fn http_get(addr: &str, path: &str) -> Option<String> {
    let addr: SocketAddr = addr.parse().ok()?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

/// Runs a command, panicking with its stderr if it fails.
pub fn run(cmd: &[&str]) -> String {
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

/// Runs a command and returns whether it succeeded, with its stdout.
pub fn try_run(cmd: &[&str]) -> (bool, String) {
    match Command::new(cmd[0]).args(&cmd[1..]).output() {
        Ok(o) => (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        ),
        Err(_) => (false, String::new()),
    }
}

/// `ip -n NS addr add CIDR dev DEV`.
fn add_addr(ns: &str, cidr: &str, dev: &str) {
    run(&["ip", "-n", ns, "addr", "add", cidr, "dev", dev]);
}

/// Polls `f` every 50 ms until it returns `Some`, at most `limit`.
pub fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The VIP every node holds on `lo` and the speakers announce.
pub const VIP: &str = "192.0.2.200";
/// The IPv6 service address, held on `lo` of every node like [`VIP`].
pub const VIP6: &str = "2001:db8::200";
/// The client's address.
pub const CLIENT_IP: &str = "192.0.2.100";

/// One node of the lab.
#[derive(Clone, Debug)]
pub struct Node {
    /// Node name (also in the Node objects).
    pub name: String,
    /// Its namespace.
    pub ns: String,
    /// Its address on the LAN.
    pub ip: String,
    /// Its eth0 MAC.
    pub mac: String,
    /// The bridge port of its veth, in the switch namespace.
    pub port: String,
}

/// The namespaces and files; deleted on drop.
pub struct Lab {
    /// Unique per test process.
    pub id: String,
    /// The switch namespace (bridge `br0`).
    pub sw: String,
    /// The client namespace.
    pub client: String,
    /// The nodes.
    pub nodes: Vec<Node>,
    /// Where files and logs go.
    pub dir: PathBuf,
    namespaces: Vec<String>,
}

impl Lab {
    /// `n` nodes and a client on a bridge. `tag` keeps two tests' names apart.
    pub fn new(tag: &str, n: usize) -> Self {
        let id = format!("{tag}{}", std::process::id() % 100_000);
        let dir = std::env::temp_dir().join(format!("ferrolb-lab-{id}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let mut lab = Self {
            sw: format!("{id}-sw"),
            client: format!("{id}-c"),
            nodes: Vec::new(),
            dir,
            namespaces: Vec::new(),
            id,
        };
        let sw = lab.sw.clone();
        lab.add_ns(&sw);
        run(&[
            "ip",
            "-n",
            &sw,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
        ]);
        run(&["ip", "-n", &sw, "link", "set", "br0", "up"]);
        let client = lab.client.clone();
        lab.attach(&client, "pc", "02:00:00:00:01:64", CLIENT_IP);
        add_addr(&client, "2001:db8::100/64", "eth0");
        for i in 1..=n {
            let name = format!("n{i}");
            let ns = format!("{}-{name}", lab.id);
            let ip = format!("192.0.2.{}", 10 + i);
            let mac = format!("02:00:00:00:01:{:02x}", 0x10 + i);
            let port = format!("p{i}");
            lab.attach(&ns, &port, &mac, &ip);
            let ip6 = format!("2001:db8::{}/64", 10 + i);
            add_addr(&ns, &ip6, "eth0");
            // IPv6 has no arp_ignore: Linux answers solicitations only for addresses on
            // the receiving interface, so `lo` keeps the kernel out of it already.
            add_addr(&ns, &format!("{VIP6}/128"), "lo");
            // The VIP held by the node's kernel, as kube-proxy IPVS holds it on its
            // dummy `kube-ipvs0` (here on `lo`: this kernel may lack the dummy module);
            // arp_ignore/arp_announce keep the kernel from answering ARP for it on eth0
            // or using it as a sender, so only the speaker answers.
            for s in [
                "net.ipv4.conf.all.arp_ignore=1",
                "net.ipv4.conf.all.arp_announce=2",
            ] {
                run(&["ip", "netns", "exec", &ns, "sysctl", "-qw", s]);
            }
            add_addr(&ns, &format!("{VIP}/32"), "lo");
            lab.nodes.push(Node {
                name,
                ns,
                ip,
                mac,
                port,
            });
        }
        lab
    }

    fn add_ns(&mut self, ns: &str) {
        let _ = try_run(&["ip", "netns", "del", ns]);
        run(&["ip", "netns", "add", ns]);
        self.namespaces.push(ns.to_owned());
        run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
    }

    /// A namespace whose eth0 is a veth to bridge port `port`.
    fn attach(&mut self, ns: &str, port: &str, mac: &str, ip: &str) {
        self.add_ns(ns);
        run(&[
            "ip", "-n", &self.sw, "link", "add", port, "type", "veth", "peer", "name", "eth0",
            "netns", ns,
        ]);
        run(&[
            "ip", "-n", &self.sw, "link", "set", port, "master", "br0", "up",
        ]);
        run(&["ip", "-n", ns, "link", "set", "eth0", "address", mac, "up"]);
        add_addr(ns, &format!("{ip}/24"), "eth0");
    }

    /// The speakers' files: one pool holding the two VIPs, an L2Advertisement, two
    /// Services without status (the allocator gives `web` the VIP and the IPv6 `web6`
    /// VIP6), and the Nodes.
    pub fn write_config(&self) -> (PathBuf, PathBuf) {
        let mut y = String::from(
            "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: lab, namespace: metallb-system}\nspec: {addresses: [192.0.2.200/32, \"2001:db8::200/128\"]}\n---\n\
             apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: lab, namespace: metallb-system}\nspec: {ipAddressPools: [lab]}\n---\n\
             apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec: {type: LoadBalancer, ports: [{port: 80}]}\n---\n\
             apiVersion: v1\nkind: Service\nmetadata: {name: web6, namespace: default}\nspec: {type: LoadBalancer, ipFamilies: [IPv6], ports: [{port: 80}]}\n",
        );
        for n in &self.nodes {
            y.push_str(&format!(
                "---\napiVersion: v1\nkind: Node\nmetadata: {{name: {}}}\nstatus: {{addresses: [{{type: InternalIP, address: {}}}]}}\n",
                n.name, n.ip
            ));
        }
        let cfg = self.dir.join("cluster.yaml");
        fs::write(&cfg, y).unwrap();
        let key = self.dir.join("key");
        fs::write(&key, "lab-membership-key-0123456789\n").unwrap();
        (cfg, key)
    }

    /// Runs `cmd` inside `ns`.
    pub fn exec(&self, ns: &str, cmd: &[&str]) -> (bool, String) {
        let mut full = vec!["ip", "netns", "exec", ns];
        full.extend_from_slice(cmd);
        try_run(&full)
    }

    /// The client's neighbour entry for the VIP: its MAC, if resolved.
    pub fn client_vip_mac(&self) -> Option<String> {
        self.client_mac_of(VIP)
    }

    /// The client's neighbour entry for `ip` (ARP or NDP): its MAC, if resolved.
    pub fn client_mac_of(&self, ip: &str) -> Option<String> {
        let (_, out) = try_run(&["ip", "-n", &self.client, "neigh", "show", ip]);
        let mut words = out.split_whitespace();
        while let Some(w) = words.next() {
            if w == "lladdr" {
                return words.next().map(str::to_owned);
            }
        }
        None
    }

    /// One TCP connection attempt from the client to port 1 of the VIP: the holder's
    /// kernel answers with a reset. True if anything answered within a second (which
    /// also makes the client's kernel resolve the VIP).
    pub fn client_probe(&self) -> bool {
        self.client_probe_of(VIP)
    }

    /// [`Self::client_probe`] for any address.
    pub fn client_probe_of(&self, ip: &str) -> bool {
        in_ns(&self.client, || {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            let addr = SocketAddr::new(ip, 1);
            match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
                Ok(_) => true,
                Err(e) => e.kind() == std::io::ErrorKind::ConnectionRefused,
            }
        })
    }

    /// A node by name.
    pub fn node(&self, name: &str) -> &Node {
        self.nodes.iter().find(|n| n.name == name).unwrap()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            let _ = try_run(&["ip", "netns", "del", ns]);
        }
        // Kept after a failure, or with FERROLB_LAB_KEEP set, for the logs.
        if !std::thread::panicking() && std::env::var_os("FERROLB_LAB_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("lab files and logs kept in {}", self.dir.display());
        }
    }
}

/// A process started in a namespace, in a process group of its own; the group is
/// killed (SIGKILL) and the process reaped on drop unless it already exited.
pub struct Proc {
    pub name: String,
    pub child: Option<Child>,
    pub log: PathBuf,
}

impl Proc {
    /// `ip netns exec NS cmd...`: `ip` execs the command, so the child's PID is the
    /// command's own.
    pub fn start(name: &str, ns: &str, cmd: &[&str], log: &Path) -> Self {
        let out = fs::File::create(log).unwrap();
        let child = Command::new("ip")
            .process_group(0)
            .args(["netns", "exec", ns])
            .args(cmd)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Self {
            name: name.to_owned(),
            child: Some(child),
            log: log.to_owned(),
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    /// Sends `sig` to the process (by PID).
    pub fn signal(&self, sig: i32) {
        if self.child.is_some() {
            let rc = send_signal(self.pid(), sig);
            assert!(rc, "kill({}, {sig}) failed", self.pid());
        }
    }

    /// Sends `sig` to the process's whole group (a daemon and the children it forks).
    pub fn signal_group(&self, sig: i32) {
        if self.child.is_some() {
            let rc = send_signal(-self.pid(), sig);
            assert!(rc, "kill({}, {sig}) failed", -self.pid());
        }
    }

    /// Waits up to `limit` for the process to exit; its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let child = self.child.as_mut()?;
        let code = wait_for(limit, || child.try_wait().ok().flatten())?.code();
        self.child = None;
        Some(code.unwrap_or(-1))
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// `kill(2)` through the `kill` utility, so the tests need no unsafe code.
fn send_signal(pid: i32, sig: i32) -> bool {
    Command::new("kill")
        .args([format!("-{sig}"), "--".to_owned(), pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = send_signal(-(c.id() as i32), 9);
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "---- {} log ({}):\n{}",
                self.name,
                self.log.display(),
                self.log_text()
            );
        }
    }
}

/// `ferrolb-speaker standalone` for `node`, metrics on 127.0.0.1:7472 of its namespace.
pub fn speaker(lab: &Lab, node: &Node, cfg: &Path, key: &Path) -> Proc {
    let bin = env!("CARGO_BIN_EXE_ferrolb-speaker");
    let log = lab.dir.join(format!("{}.log", node.name));
    Proc::start(
        &node.name,
        &node.ns,
        &[
            bin,
            "standalone",
            "--node",
            &node.name,
            "-f",
            cfg.to_str().unwrap(),
            "--key-file",
            key.to_str().unwrap(),
            "--metrics-addr",
            "127.0.0.1:7472",
        ],
        &log,
    )
}

/// A node's `/metrics` text, fetched inside its namespace.
pub fn metrics(_lab: &Lab, node: &Node) -> Option<String> {
    in_ns(&node.ns, || http_get("127.0.0.1:7472", "/metrics"))
}

/// The value of the sample `name{labels}` whose label text contains `needle`.
pub fn sample(text: &str, name: &str, needle: &str) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .find(|l| l.contains(needle))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// The node whose metrics say it announces the VIP and has sent its gratuitous ARP
/// (so it is past its conflict probe and answers requests), if exactly one does.
pub fn announcer(lab: &Lab, up: &[&str]) -> Option<String> {
    announcer_of(lab, VIP, up)
}

/// [`announcer`] for any address.
pub fn announcer_of(lab: &Lab, vip: &str, up: &[&str]) -> Option<String> {
    let holders: Vec<String> = lab
        .nodes
        .iter()
        .filter(|n| up.contains(&n.name.as_str()))
        .filter(|n| {
            metrics(lab, n).is_some_and(|m| {
                let ip = format!("ip=\"{vip}\"");
                sample(&m, "metallb_speaker_announced", &ip) == Some(1.0)
                    && sample(&m, "metallb_layer2_gratuitous_sent", &ip) >= Some(1.0)
            })
        })
        .map(|n| n.name.clone())
        .collect();
    (holders.len() == 1).then(|| holders[0].clone())
}
