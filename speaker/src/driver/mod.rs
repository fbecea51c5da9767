//! The Linux driver: runs the [`Speaker`] core on real sockets, the same way the
//! simulator runs it on simulated hosts (`sim/src/speaker_app.rs`).
//!
//! One tokio task (the loop in [`run`]) owns the core and every input to it:
//! * one AF_PACKET socket per eligible interface, with a kernel filter passing only ARP
//!   and neighbour discovery ([`filter`]); a small reader task per socket forwards
//!   frames to the loop over a bounded channel;
//! * the membership UDP socket, bound to this Node's InternalIP, port 7946;
//! * one timer, re-armed from the core's `wake_at`. The driver maps tokio's monotonic
//!   clock to the core's [`crate::time::Instant`] as nanoseconds since the driver
//!   started, and is the only reader of the clock;
//! * netlink link and address notifications, after which the interfaces are read again
//!   and `set_interfaces` called if the eligible set changed;
//! * SIGHUP (reload the files; a refused reload leaves the last good one running),
//!   SIGTERM / SIGINT (planned handover through [`Speaker::shutdown`]: the loop keeps
//!   running, bounded, until the core says it has stopped);
//! * metrics scrapes ([`http`], rendered by [`metrics`]).
//!
//! BGP: the core may ask for BGP connections; this driver has no BGP transport yet, so
//! each is reported closed and a warning says that only Layer 2 is announced.

pub mod filter;
mod http;
mod io;
pub mod links;
pub mod metrics;

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::net::{TcpListener, UdpSocket};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::interfaces::{ExcludeList, announce_failures, eligible};
use crate::io::ConnId;
use crate::layer2::announcer::AnnouncerConfig;
use crate::layer2::responder::Interface;
use crate::members::{Member, Members, MembersConfig, MembersError};
use crate::speaker::HANDOVER_GRACE;
use crate::standalone::{self, StandaloneError, View};
use crate::sys::netlink::{self, LinkMonitor};
use crate::sys::packet::PacketSocket;
use crate::time::Instant;
use crate::{Speaker, SpeakerConfig};

use filter::FrameKind;
use io::LinuxIo;
use metrics::{DriverCounters, Snapshot};

/// How the speaker runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// This node's name: one of the Nodes in the files.
    pub node: String,
    /// `-f` files and directories.
    pub files: Vec<PathBuf>,
    /// The membership key, shared by every speaker.
    pub key: Vec<u8>,
    /// Where `/metrics` and `/healthz` are served.
    pub metrics_addr: SocketAddr,
    /// `--ignore-exclude-lb`.
    pub ignore_exclude_lb: bool,
    /// Interfaces never announced on.
    pub exclude: ExcludeList,
}

/// Why the speaker could not start.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The files do not make a configuration for this node.
    #[error(transparent)]
    Standalone(#[from] StandaloneError),
    /// The failure detector refused its settings.
    #[error("membership: {0}")]
    Members(#[from] MembersError),
    /// A socket could not be opened.
    #[error("{what}: {source}")]
    Io {
        /// What was being opened.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> DriverError {
    let what = what.into();
    move |source| DriverError::Io { what, source }
}

/// Loads the files and builds this node's view.
pub fn load_view(files: &[PathBuf], node: &str) -> Result<View, StandaloneError> {
    let (res, _) = standalone::load(files)?;
    View::build(&res, node)
}

/// How long past the handover grace the loop waits for the core to stop before exiting
/// anyway.
const STOP_MARGIN: Duration = Duration::from_secs(2);
/// Frames queued from the reader tasks to the loop.
const FRAME_QUEUE: usize = 1024;
/// Bound on BGP connection refusals delivered after one input.
const MAX_REFUSALS: usize = 16;

/// A frame from a reader task.
struct Frame {
    iface: String,
    data: Vec<u8>,
}

/// One interface announced on.
struct Port {
    ifindex: u32,
    iface: Interface,
    reader: JoinHandle<()>,
    /// Solicited-node multicast groups joined on it.
    groups: BTreeSet<[u8; 6]>,
}

impl Drop for Port {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

struct Driver {
    node: String,
    files: Vec<PathBuf>,
    exclude: ExcludeList,
    epoch: tokio::time::Instant,
    speaker: Speaker,
    sockets: BTreeMap<String, Arc<AsyncFd<PacketSocket>>>,
    ports: BTreeMap<String, Port>,
    /// Interface names that exist and are not excluded (for `announceFailed`).
    existing: BTreeSet<String>,
    udp: UdpSocket,
    membership_addr: SocketAddr,
    wake: Option<Instant>,
    counters: DriverCounters,
    refused: Vec<ConnId>,
    failing: BTreeSet<IpAddr>,
    announced: Vec<IpAddr>,
    frames: mpsc::Sender<Frame>,
    config_stale: bool,
    stopping: bool,
}

/// Runs the speaker until SIGTERM / SIGINT has handed its addresses over.
pub async fn run(opts: Options) -> Result<(), DriverError> {
    let view = load_view(&opts.files, &opts.node)?;
    for w in &view.warnings {
        tracing::warn!("{w}");
    }
    let udp = UdpSocket::bind(view.membership_addr)
        .await
        .map_err(io_err(format!(
            "membership socket on {} (this Node's InternalIP must be an address of this host)",
            view.membership_addr
        )))?;
    let listener = TcpListener::bind(opts.metrics_addr)
        .await
        .map_err(io_err(format!("metrics endpoint on {}", opts.metrics_addr)))?;
    let monitor = LinkMonitor::open()
        .and_then(LinkMonitor::into_async)
        .map_err(io_err("netlink link monitor"))?;
    let mut sigterm = signal(SignalKind::terminate()).map_err(io_err("SIGTERM handler"))?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(io_err("SIGINT handler"))?;
    let mut sighup = signal(SignalKind::hangup()).map_err(io_err("SIGHUP handler"))?;
    let (scrape_tx, mut scrapes) = mpsc::channel::<http::Scrape>(16);
    let metrics_task = tokio::spawn(http::serve(listener, scrape_tx));
    let (frames, mut frame_rx) = mpsc::channel(FRAME_QUEUE);
    let me = Member {
        name: opts.node.clone(),
        addr: view.membership_addr,
    };
    let members = Members::new(MembersConfig::default(), me, &opts.key, random_seed())?;
    let mut d = Driver {
        speaker: Speaker::new(SpeakerConfig {
            node: opts.node.clone(),
            ignore_exclude_lb: opts.ignore_exclude_lb,
            announcer: AnnouncerConfig::default(),
        }),
        node: opts.node,
        files: opts.files,
        exclude: opts.exclude,
        epoch: tokio::time::Instant::now(),
        sockets: BTreeMap::new(),
        ports: BTreeMap::new(),
        existing: BTreeSet::new(),
        udp,
        membership_addr: view.membership_addr,
        wake: None,
        counters: DriverCounters::default(),
        refused: Vec::new(),
        failing: BTreeSet::new(),
        announced: Vec::new(),
        frames,
        config_stale: false,
        stopping: false,
    };
    tracing::info!(
        node = %d.node,
        membership = %d.membership_addr,
        seeds = ?view.seeds,
        metrics = %opts.metrics_addr,
        services = view.services.len(),
        "speaker starting"
    );
    d.rescan();
    warn_bgp(&view);
    let seeds = view.seeds.clone();
    d.call(|s, io| s.set_view(io, view.config, view.services, view.nodes));
    let addr = d.membership_addr;
    d.call(|s, io| s.enable_membership(io, members, addr, &seeds));
    d.after_input();

    let mut udp_buf = vec![0u8; 65536];
    let mut nl_buf = vec![0u8; 64 * 1024];
    let mut stop_deadline = None;
    loop {
        let wake = d.wake.map(|w| d.epoch + Duration::from_nanos(w.as_nanos()));
        tokio::select! {
            _ = sigterm.recv(), if !d.stopping => d.begin_shutdown("SIGTERM", &mut stop_deadline),
            _ = sigint.recv(), if !d.stopping => d.begin_shutdown("SIGINT", &mut stop_deadline),
            _ = sighup.recv() => d.reload(),
            Some(f) = frame_rx.recv() => d.frame(&f),
            r = d.udp.recv_from(&mut udp_buf) => match r {
                Ok((n, from)) => {
                    let data = &udp_buf[..n];
                    d.call(|s, io| s.handle_datagram(io, from, data));
                }
                Err(e) => tracing::debug!(error = %e, "membership socket receive failed"),
            },
            g = monitor.readable() => match g {
                Ok(mut guard) => {
                    if drain_netlink(&mut guard, &mut nl_buf) {
                        d.counters.link_rescans += 1;
                        d.rescan();
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "netlink monitor failed; interface changes are no longer followed");
                    return Err(DriverError::Io { what: "netlink link monitor".into(), source: e });
                }
            },
            _ = sleep_until(wake), if wake.is_some() => {
                d.wake = None;
                d.call(|s, io| s.handle_timeout(io));
            }
            Some(reply) = scrapes.recv() => {
                let _ = reply.send(metrics::render(&d.snapshot()));
            }
            _ = sleep_until(stop_deadline), if stop_deadline.is_some() => {
                tracing::warn!("handover did not finish in time; exiting anyway");
                break;
            }
        }
        d.after_input();
        if d.stopping && d.speaker.is_stopped() {
            tracing::info!("handover complete; exiting");
            break;
        }
    }
    metrics_task.abort();
    Ok(())
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// A seed for the failure detector's choices: different on every start (two speakers
/// restarted together must not probe in lockstep), from the standard library's
/// OS-seeded hasher keys.
fn random_seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
}

fn warn_bgp(view: &View) {
    if !view.config.peers.is_empty() {
        tracing::warn!(
            peers = view.config.peers.len(),
            "BGPPeers are configured, but this driver has no BGP transport yet: only Layer 2 is announced"
        );
    }
}

/// Reads every queued netlink message; true if interfaces may have changed (a link or
/// address notification, or lost notifications).
fn drain_netlink(
    guard: &mut tokio::io::unix::AsyncFdReadyGuard<'_, LinkMonitor>,
    buf: &mut [u8],
) -> bool {
    let mut changed = false;
    for _ in 0..64 {
        match guard.try_io(|m| m.get_ref().try_recv(buf)) {
            Ok(Ok(n)) => {
                let (types, truncated) = netlink::message_types(&buf[..n]);
                changed |= truncated
                    || types.iter().any(|t| {
                        matches!(
                            *t,
                            netlink::RTM_NEWLINK
                                | netlink::RTM_DELLINK
                                | netlink::RTM_NEWADDR
                                | netlink::RTM_DELADDR
                        )
                    });
            }
            Ok(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                tracing::warn!("netlink notifications were lost; re-reading the interfaces");
                changed = true;
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "netlink receive failed");
                break;
            }
            Err(_would_block) => break,
        }
    }
    changed
}

/// Forwards one socket's frames to the loop until the socket is dropped.
async fn read_frames(iface: String, sock: Arc<AsyncFd<PacketSocket>>, tx: mpsc::Sender<Frame>) {
    let mut buf = vec![0u8; 65536];
    loop {
        let Ok(mut guard) = sock.readable().await else {
            return;
        };
        match guard.try_io(|s| s.get_ref().try_recv(&mut buf)) {
            Ok(Ok(n)) => {
                let f = Frame {
                    iface: iface.clone(),
                    data: buf[..n].to_vec(),
                };
                if tx.send(f).await.is_err() {
                    return;
                }
            }
            Ok(Err(e)) => {
                // ENETDOWN while the interface goes down, and the like: the rescan that
                // follows the link notification decides whether the socket stays.
                tracing::debug!(iface, error = %e, "packet socket receive failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(_would_block) => {}
        }
    }
}

impl Driver {
    fn now(&self) -> Instant {
        let d = tokio::time::Instant::now().duration_since(self.epoch);
        Instant::from_nanos(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    /// Hands the core one input through a fresh [`LinuxIo`].
    fn call<R>(&mut self, f: impl FnOnce(&mut Speaker, &mut LinuxIo<'_>) -> R) -> R {
        let now = self.now();
        let mut io = LinuxIo {
            now,
            sockets: &self.sockets,
            udp: &self.udp,
            wake: &mut self.wake,
            counters: &mut self.counters,
            refused: &mut self.refused,
        };
        f(&mut self.speaker, &mut io)
    }

    fn frame(&mut self, f: &Frame) {
        *self
            .counters
            .frames_received
            .entry(f.iface.clone())
            .or_default() += 1;
        if filter::classify(&f.data) == FrameKind::Unknown {
            *self
                .counters
                .frames_unknown
                .entry(f.iface.clone())
                .or_default() += 1;
            return;
        }
        if !self.sockets.contains_key(&f.iface) {
            return; // queued before the interface went away
        }
        self.call(|s, io| s.handle_frame(io, &f.iface, &f.data));
    }

    fn begin_shutdown(&mut self, signal: &str, deadline: &mut Option<tokio::time::Instant>) {
        tracing::info!(
            signal,
            "planned shutdown: leaving the membership and handing over"
        );
        self.stopping = true;
        *deadline = Some(tokio::time::Instant::now() + HANDOVER_GRACE + STOP_MARGIN);
        self.call(|s, io| s.shutdown(io, signal));
    }

    fn reload(&mut self) {
        if self.stopping {
            tracing::info!("SIGHUP during shutdown ignored");
            return;
        }
        match load_view(&self.files, &self.node) {
            Err(e) => {
                self.counters.reloads_failed += 1;
                self.config_stale = true;
                tracing::error!(error = %e, "reload refused; the last good configuration keeps running");
            }
            Ok(view) => {
                for w in &view.warnings {
                    tracing::warn!("{w}");
                }
                if view.membership_addr != self.membership_addr {
                    tracing::warn!(
                        now = %view.membership_addr,
                        bound = %self.membership_addr,
                        "this Node's InternalIP changed; the membership socket moves only at restart"
                    );
                }
                warn_bgp(&view);
                self.counters.reloads_ok += 1;
                self.config_stale = false;
                let services = view.services.len();
                self.call(|s, io| s.set_view(io, view.config, view.services, view.nodes));
                tracing::info!(services, "configuration reloaded");
            }
        }
    }

    /// Reads the interfaces again; opens and closes packet sockets and tells the core
    /// when the eligible set changed.
    fn rescan(&mut self) {
        let links = match links::read() {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the interfaces; keeping the current ones");
                return;
            }
        };
        let plain: Vec<_> = links.iter().map(|l| l.link.clone()).collect();
        let e = eligible(&plain, &self.exclude);
        self.existing = e.existing;
        let index: BTreeMap<&str, u32> = links
            .iter()
            .map(|l| (l.link.name.as_str(), l.ifindex))
            .collect();
        let wanted: BTreeMap<String, (Interface, u32)> = e
            .interfaces
            .into_iter()
            .filter_map(|i| {
                let idx = *index.get(i.name.as_str())?;
                Some((i.name.clone(), (i, idx)))
            })
            .collect();
        let before: Vec<Interface> = self.ports.values().map(|p| p.iface.clone()).collect();
        self.ports
            .retain(|name, p| wanted.get(name).is_some_and(|(_, idx)| *idx == p.ifindex));
        self.sockets.retain(|name, _| self.ports.contains_key(name));
        for (name, (iface, idx)) in wanted {
            if let Some(p) = self.ports.get_mut(&name) {
                p.iface = iface;
                continue;
            }
            match open_port(&name) {
                Ok(sock) => {
                    let reader =
                        tokio::spawn(read_frames(name.clone(), sock.clone(), self.frames.clone()));
                    self.sockets.insert(name.clone(), sock);
                    self.ports.insert(
                        name,
                        Port {
                            ifindex: idx,
                            iface,
                            reader,
                            groups: BTreeSet::new(),
                        },
                    );
                }
                Err(err) => {
                    tracing::error!(iface = %name, error = %err, "cannot open a packet socket; not announcing there");
                }
            }
        }
        let now: Vec<Interface> = self.ports.values().map(|p| p.iface.clone()).collect();
        if now != before {
            let names: Vec<&str> = now.iter().map(|i| i.name.as_str()).collect();
            let skipped: Vec<String> = e
                .skipped
                .iter()
                .map(|(n, why)| format!("{n}: {}", why.reason()))
                .collect();
            tracing::info!(announcing_on = ?names, skipped = ?skipped, "interfaces");
            self.call(|s, io| s.set_interfaces(io, now));
        }
    }

    /// Bookkeeping after every input: refused BGP connections, multicast groups for
    /// announced IPv6 addresses, `announceFailed` warnings, announcement logs.
    fn after_input(&mut self) {
        for _ in 0..MAX_REFUSALS {
            let Some(c) = self.refused.pop() else { break };
            self.call(|s, io| s.handle_closed(io, c));
        }
        self.update_groups();
        let failures = announce_failures(
            &self.speaker.announcements_ignoring_interfaces(),
            &self.existing,
        );
        let failing: BTreeSet<IpAddr> = failures.iter().map(|f| f.ip).collect();
        for f in failures.iter().filter(|f| !self.failing.contains(&f.ip)) {
            *self.counters.announce_failed.entry(f.ip).or_default() += 1;
            tracing::warn!(
                reason = "announceFailed",
                ip = %f.ip,
                interfaces = ?f.interfaces,
                services = ?f.services,
                "the interfaces specified for this address do not exist on this node; not announcing it"
            );
        }
        self.failing = failing;
        let announced = self.speaker.l2_announced();
        if announced != self.announced {
            for ip in announced.iter().filter(|ip| !self.announced.contains(ip)) {
                tracing::info!(ip = %ip, "announcing");
            }
            for ip in self.announced.iter().filter(|ip| !announced.contains(ip)) {
                tracing::info!(ip = %ip, "no longer announcing");
            }
            self.announced = announced;
        }
    }

    /// Joins the solicited-node group of every IPv6 address this node announces (or is
    /// about to), on every interface, and leaves the others: a NIC filtering multicast
    /// would otherwise never show us the solicitations.
    fn update_groups(&mut self) {
        let mut want: BTreeSet<[u8; 6]> = BTreeSet::new();
        let ips = self
            .speaker
            .announcements()
            .layer2
            .keys()
            .copied()
            .chain(self.speaker.l2_announced());
        for ip in ips {
            if let IpAddr::V6(v6) = ip {
                want.insert(ferrolb_wire::Mac::ipv6_multicast(ferrolb_wire::solicited_node(v6)).0);
            }
        }
        for (name, p) in &mut self.ports {
            let Some(sock) = self.sockets.get(name) else {
                continue;
            };
            for g in want.difference(&p.groups.clone()) {
                match sock.get_ref().set_multicast(*g, true) {
                    Ok(()) => {
                        p.groups.insert(*g);
                    }
                    Err(e) => {
                        tracing::warn!(iface = %name, error = %e, "cannot join a solicited-node group")
                    }
                }
            }
            for g in p.groups.clone().difference(&want) {
                let _ = sock.get_ref().set_multicast(*g, false);
                p.groups.remove(g);
            }
        }
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            node: self.node.clone(),
            l2: self.speaker.l2_counters().clone(),
            announced: self
                .speaker
                .announcements()
                .layer2
                .iter()
                .map(|(ip, a)| (*ip, a.services.clone()))
                .collect(),
            members: self
                .speaker
                .membership()
                .map(|m| (m.counters().clone(), m.members().count())),
            interfaces: self.ports.keys().cloned().collect(),
            driver: self.counters.clone(),
            config_stale: self.config_stale,
            conflicts: self
                .speaker
                .conflicts()
                .iter()
                .fold(BTreeMap::new(), |mut m, c| {
                    *m.entry(c.ip).or_insert(0) += 1;
                    m
                }),
        }
    }
}

fn open_port(name: &str) -> std::io::Result<Arc<AsyncFd<PacketSocket>>> {
    let sock = PacketSocket::open_filtered(name, &filter::sock_filter())?;
    Ok(Arc::new(sock.into_async()?))
}
