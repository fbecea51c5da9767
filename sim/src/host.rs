//! A simulated host: NICs with MACs and addresses, a small IP stack with Linux
//! neighbour tables per interface and family, an echo responder for probes, and the
//! applications plugged in through the seam ([`crate::app`]).
//!
//! The kernel part answers ARP and ND only for addresses configured on an interface;
//! addresses an application *claims* are accepted for traffic but announced by the
//! application itself — exactly the split between a node's kernel and a MetalLB
//! speaker answering from user space.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

use crate::app::{AppInput, HostApp, HostIo, IfIndex, IfaceInfo};
use crate::clock::HostClock;
use crate::fate::{HostId, Loss};
use crate::frame::{
    self, Arp, ArpOp, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, IPPROTO_ICMPV6, IPPROTO_TCP,
    IPPROTO_UDP, IpPacket, Mac, Nd, SpareBuffers,
};
use crate::neigh::{ArpContext, ArpVerdict, NaInput, NeighOut, NeighParams, NeighTable, NudState};
use crate::probe::{self, Probe};
use crate::rng::{RngTree, SimRng};
use crate::tcp::{ConnId, StreamEvent, TcpOut, TcpStack};
use crate::time::Instant;

/// What a host asks the world to do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    Tx {
        nic: IfIndex,
        frame: Vec<u8>,
    },
    AppWake {
        app: usize,
        at: Instant,
    },
    /// A probe reply reached its client.
    ProbeReply {
        probe: Probe,
    },
    /// A probe (request or reply) died here.
    ProbeLost {
        probe: Probe,
        loss: Loss,
    },
    /// An application claimed or released an address (the host now accepts it or not).
    Claim {
        ip: IpAddr,
        claimed: bool,
    },
    /// An application started or stopped announcing an address.
    Announce {
        ip: IpAddr,
        on: bool,
    },
    Neigh {
        nic: IfIndex,
        ip: IpAddr,
        state: Option<NudState>,
        mac: Option<Mac>,
    },
    Note(String),
}

/// What a host asks the world to do, in order (the list derefs to `Vec<Effect>`),
/// and the spare buffers it builds frames in: the world refills them with delivered
/// frames, so the packet path does not allocate.
#[derive(Debug, Default)]
pub struct Effects {
    list: Vec<Effect>,
    pub spare: SpareBuffers,
}

impl std::ops::Deref for Effects {
    type Target = Vec<Effect>;
    fn deref(&self) -> &Vec<Effect> {
        &self.list
    }
}
impl std::ops::DerefMut for Effects {
    fn deref_mut(&mut self) -> &mut Vec<Effect> {
        &mut self.list
    }
}

impl Effects {
    /// Moves the effects out (keeping the list's capacity with the caller), so they
    /// can be carried out while the spare buffers stay reachable.
    pub fn take_list(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.list)
    }
    /// Gives an emptied list back, for its capacity.
    pub fn restore_list(&mut self, list: Vec<Effect>) {
        debug_assert!(list.is_empty());
        if self.list.is_empty() {
            self.list = list;
        }
    }
}

/// Builds a fresh application instance at each boot.
pub type AppFactory = Box<dyn Fn() -> Box<dyn HostApp>>;

struct Nic {
    neigh4: NeighTable<IpPacket>,
    neigh6: NeighTable<IpPacket>,
}

struct AppSlot {
    app: Box<dyn HostApp>,
    ports: BTreeSet<u16>,
    rng: SimRng,
    /// The application called `exit`: it gets no more inputs.
    exited: bool,
}

/// Interface configuration a host is built from.
#[derive(Clone, Debug)]
pub struct NicConfig {
    pub name: String,
    pub mac: Mac,
    pub addrs: Vec<(IpAddr, u8)>,
}

pub struct Host {
    pub id: HostId,
    pub name: String,
    params: NeighParams,
    rng: RngTree,
    ifaces: Vec<IfaceInfo>,
    /// The configured addresses (what a reboot restores).
    base_addrs: Vec<Vec<(IpAddr, u8)>>,
    nics: Vec<Nic>,
    claimed: BTreeSet<IpAddr>,
    /// kube-proxy's rules on a Kubernetes node: load-balancer addresses it accepts
    /// (`true`) or drops (`false`, e.g. `externalTrafficPolicy: Local` without a local
    /// endpoint). A drop rule vetoes an application's claim.
    kube_proxy: BTreeMap<IpAddr, bool>,
    /// Addresses the applications announce (`true`) or could announce and do not.
    announced: BTreeMap<IpAddr, bool>,
    factories: Vec<AppFactory>,
    apps: Vec<AppSlot>,
    powered: bool,
    boots: u32,
    /// Reused output buffer of the neighbour tables (avoids an allocation per packet).
    neigh_buf: Vec<NeighOut<IpPacket>>,
    /// The clock applications read (the kernel's neighbour timers run on true time).
    clock: HostClock,
    tcp: TcpStack,
    apps_state: AppsState,
    app_starts: u32,
}

/// Whether the host's applications run (the kernel keeps running in every case).
#[derive(Debug)]
enum AppsState {
    Running,
    /// SIGSTOP: no input is handled. Stream events wait (the kernel keeps them in
    /// socket buffers); frames and datagrams are dropped; due wake-ups are remembered.
    Paused {
        streams: Vec<(usize, ConnId, StreamEvent)>,
        woken: Vec<usize>,
        /// The latest cluster view that arrived while stopped.
        watch: Option<std::rc::Rc<crate::cluster::ClusterSnapshot>>,
    },
    /// Killed (or not started yet): no processes until started again.
    Dead,
}

enum Action {
    IfAddr(IfIndex, IpAddr, u8, bool),
    Listen(u16),
    Connect(ConnId, SocketAddr, SocketAddr),
    SendStream(ConnId, Vec<u8>),
    Close(ConnId),
    Frame(IfIndex, Vec<u8>),
    Datagram(SocketAddr, SocketAddr, Vec<u8>),
    Bind(u16),
    Wake(Instant),
    Claim(IpAddr, bool),
    Announce(IpAddr, bool),
    Note(String),
    Exit,
}

struct AppIo<'a> {
    now: Instant,
    ifaces: &'a [IfaceInfo],
    rng: &'a mut SimRng,
    actions: &'a mut Vec<Action>,
}

impl HostIo for AppIo<'_> {
    fn now(&self) -> Instant {
        self.now
    }
    fn interfaces(&self) -> &[IfaceInfo] {
        self.ifaces
    }
    fn send_frame(&mut self, iface: IfIndex, frame: &[u8]) {
        self.actions.push(Action::Frame(iface, frame.to_vec()));
    }
    fn send_datagram(&mut self, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        self.actions.push(Action::Datagram(from, to, data.to_vec()));
    }
    fn bind_udp(&mut self, port: u16) {
        self.actions.push(Action::Bind(port));
    }
    fn listen(&mut self, port: u16) {
        self.actions.push(Action::Listen(port));
    }
    fn set_interface_address(&mut self, iface: IfIndex, addr: IpAddr, prefix: u8, present: bool) {
        self.actions
            .push(Action::IfAddr(iface, addr, prefix, present));
    }
    fn connect(&mut self, conn: ConnId, from: SocketAddr, to: SocketAddr) {
        self.actions.push(Action::Connect(conn, from, to));
    }
    fn send_stream(&mut self, conn: ConnId, data: &[u8]) {
        self.actions.push(Action::SendStream(conn, data.to_vec()));
    }
    fn close(&mut self, conn: ConnId) {
        self.actions.push(Action::Close(conn));
    }
    fn wake_at(&mut self, at: Instant) {
        self.actions.push(Action::Wake(at));
    }
    fn set_claimed(&mut self, addr: IpAddr, claimed: bool) {
        self.actions.push(Action::Claim(addr, claimed));
    }
    fn set_announcing(&mut self, addr: IpAddr, announcing: bool) {
        self.actions.push(Action::Announce(addr, announcing));
    }
    fn rng(&mut self) -> &mut SimRng {
        self.rng
    }
    fn annotate(&mut self, text: &str) {
        self.actions.push(Action::Note(text.to_string()));
    }
    fn exit(&mut self) {
        self.actions.push(Action::Exit);
    }
}

impl Host {
    /// A powered-off host; call [`Host::boot`] to start it.
    pub fn new(
        id: HostId,
        name: &str,
        nics: Vec<NicConfig>,
        params: NeighParams,
        rng: RngTree,
        factories: Vec<AppFactory>,
    ) -> Self {
        let ifaces: Vec<IfaceInfo> = nics
            .into_iter()
            .enumerate()
            .map(|(i, n)| IfaceInfo {
                index: i,
                name: n.name,
                mac: n.mac,
                addrs: n.addrs,
                up: true,
            })
            .collect();
        let base_addrs = ifaces.iter().map(|i| i.addrs.clone()).collect();
        let mut h = Self {
            id,
            name: name.to_string(),
            params,
            rng,
            ifaces,
            base_addrs,
            nics: vec![],
            claimed: BTreeSet::new(),
            kube_proxy: BTreeMap::new(),
            announced: BTreeMap::new(),
            factories,
            apps: vec![],
            powered: false,
            boots: 0,
            neigh_buf: vec![],
            clock: HostClock::default(),
            tcp: TcpStack::new(rng.stream(&format!("host:{name}:tcp:boot0"))),
            apps_state: AppsState::Dead,
            app_starts: 0,
        };
        h.nics = h.fresh_nics(Instant::ZERO);
        h
    }

    fn fresh_nics(&self, now: Instant) -> Vec<Nic> {
        (0..self.ifaces.len())
            .map(|i| {
                let base = format!("host:{}:nic{}:boot{}", self.name, i, self.boots);
                Nic {
                    neigh4: NeighTable::new(
                        self.params,
                        self.rng.stream(&format!("{base}:arp")),
                        now,
                    ),
                    neigh6: NeighTable::new(
                        self.params,
                        self.rng.stream(&format!("{base}:nd")),
                        now,
                    ),
                }
            })
            .collect()
    }

    pub fn interfaces(&self) -> &[IfaceInfo] {
        &self.ifaces
    }
    pub fn clock(&self) -> HostClock {
        self.clock
    }
    /// Steps the host's clock (a skew fault); applications see it from now on.
    pub fn set_clock(&mut self, clock: HostClock) {
        self.clock = clock;
    }
    pub fn is_powered(&self) -> bool {
        self.powered
    }
    /// Whether `ip` is configured on one of our interfaces.
    pub fn is_local(&self, ip: IpAddr) -> bool {
        self.ifaces
            .iter()
            .any(|i| i.addrs.iter().any(|(a, _)| *a == ip))
    }
    /// Whether IP traffic to `ip` is accepted (configured or claimed by an app).
    pub fn accepts(&self, ip: IpAddr) -> bool {
        if self.is_local(ip) {
            return true;
        }
        match self.kube_proxy.get(&ip) {
            Some(rule) => *rule,
            None => self.claimed.contains(&ip),
        }
    }

    /// Installs kube-proxy's rules (replacing the previous ones), reporting every
    /// address whose acceptance changed.
    pub fn set_kube_proxy(&mut self, rules: BTreeMap<IpAddr, bool>, fx: &mut Effects) {
        if !self.powered {
            return;
        }
        let touched: BTreeSet<IpAddr> = self
            .kube_proxy
            .keys()
            .chain(rules.keys())
            .copied()
            .collect();
        let before: Vec<bool> = touched.iter().map(|ip| self.accepts(*ip)).collect();
        self.kube_proxy = rules;
        for (ip, was) in touched.into_iter().zip(before) {
            let now = self.accepts(ip);
            if now != was {
                fx.push(Effect::Claim { ip, claimed: now });
            }
        }
    }

    /// A watch event reaches the node: every running application gets the new view.
    /// A stopped one gets the latest view when it resumes, as its informer would.
    pub fn deliver_watch(
        &mut self,
        now: Instant,
        snap: &std::rc::Rc<crate::cluster::ClusterSnapshot>,
        fx: &mut Effects,
    ) {
        if let AppsState::Paused { watch, .. } = &mut self.apps_state {
            *watch = Some(snap.clone());
            return;
        }
        for i in 0..self.apps.len() {
            self.run_app(now, i, AppInput::Watch(snap), fx);
        }
    }
    pub fn claimed(&self) -> impl Iterator<Item = &IpAddr> {
        self.claimed.iter()
    }
    /// A neighbour entry, for reports and expectations.
    pub fn neighbour(&self, ip: IpAddr) -> Option<crate::neigh::EntryView> {
        self.nics.iter().find_map(|n| match ip {
            IpAddr::V4(_) => n.neigh4.get(ip),
            IpAddr::V6(_) => n.neigh6.get(ip),
        })
    }

    /// Probes still waiting in a neighbour queue (for end-of-run accounting).
    pub fn queued_probes(&self) -> Vec<Probe> {
        self.nics
            .iter()
            .flat_map(|n| n.neigh4.queued().chain(n.neigh6.queued()))
            .filter_map(|(_, p)| Probe::in_ip_packet(p.ip()))
            .collect()
    }

    /// Power on: fresh kernel state, fresh application instances, `Start` delivered.
    pub fn boot(&mut self, now: Instant, fx: &mut Effects) {
        self.powered = true;
        self.boots += 1;
        self.nics = self.fresh_nics(now);
        self.claimed.clear();
        self.announced.clear();
        for (i, base) in self.base_addrs.iter().enumerate() {
            self.ifaces[i].addrs = base.clone();
        }
        self.tcp = TcpStack::new(
            self.rng
                .stream(&format!("host:{}:tcp:boot{}", self.name, self.boots)),
        );
        self.apps.clear();
        self.apps_state = AppsState::Dead;
        self.start_apps(now, fx);
    }

    /// (Re)starts the applications after a kill: fresh instances, each told `Start`.
    pub fn start_apps(&mut self, now: Instant, fx: &mut Effects) {
        if !self.powered || !matches!(self.apps_state, AppsState::Dead) {
            return;
        }
        self.app_starts += 1;
        let tag = format!("boot{}:start{}", self.boots, self.app_starts);
        self.apps = self
            .factories
            .iter()
            .enumerate()
            .map(|(i, f)| AppSlot {
                app: f(),
                ports: BTreeSet::new(),
                rng: self.rng.stream(&format!("host:{}:app{i}:{tag}", self.name)),
                exited: false,
            })
            .collect();
        self.apps_state = AppsState::Running;
        for i in 0..self.apps.len() {
            self.run_app(now, i, AppInput::Start, fx);
        }
    }

    /// SIGKILL of every application: the kernel closes their sockets (FIN) and stays
    /// up; addresses they claimed stay claimed (like kube-proxy's rules), so traffic is
    /// still accepted but nobody answers ARP/ND for it any more.
    pub fn kill_apps(&mut self, now: Instant, fx: &mut Effects) {
        if !self.powered {
            return;
        }
        let mut out = vec![];
        for i in 0..self.apps.len() {
            self.tcp.close_app(now, i, &mut out);
        }
        // Dead applications announce nothing.
        for (ip, on) in std::mem::take(&mut self.announced) {
            if on {
                fx.push(Effect::Announce { ip, on: false });
            }
        }
        self.apps.clear();
        self.apps_state = AppsState::Dead;
        self.tcp_outputs(now, out, fx);
    }

    /// SIGTERM to every running application.
    pub fn terminate_apps(&mut self, now: Instant, fx: &mut Effects) {
        if !self.powered || !matches!(self.apps_state, AppsState::Running) {
            return;
        }
        for i in 0..self.apps.len() {
            self.run_app(now, i, AppInput::Terminate, fx);
        }
    }

    /// SIGSTOP of every application. What they announced is not answered while they
    /// are stopped, so the report shows nobody announcing it from this host; SIGCONT
    /// brings it back as it was.
    pub fn pause_apps(&mut self, _now: Instant, fx: &mut Effects) {
        if matches!(self.apps_state, AppsState::Running) {
            self.apps_state = AppsState::Paused {
                streams: vec![],
                woken: vec![],
                watch: None,
            };
            for (ip, on) in &self.announced {
                if *on {
                    fx.push(Effect::Announce { ip: *ip, on: false });
                }
            }
        }
    }

    /// SIGCONT: queued stream events are delivered in order, then one `Timer` to every
    /// application whose wake-up came due while it was stopped.
    pub fn resume_apps(&mut self, now: Instant, fx: &mut Effects) {
        if !matches!(self.apps_state, AppsState::Paused { .. }) {
            return;
        }
        let AppsState::Paused {
            streams,
            mut woken,
            watch,
        } = std::mem::replace(&mut self.apps_state, AppsState::Running)
        else {
            return;
        };
        if let Some(snap) = watch {
            for i in 0..self.apps.len() {
                self.run_app(now, i, AppInput::Watch(&snap), fx);
            }
        }
        for (ip, on) in &self.announced {
            if *on {
                fx.push(Effect::Announce { ip: *ip, on: true });
            }
        }
        for (app, conn, event) in streams {
            self.run_app(
                now,
                app,
                AppInput::Stream {
                    conn,
                    event: &event,
                },
                fx,
            );
        }
        woken.sort_unstable();
        woken.dedup();
        for app in woken {
            self.run_app(now, app, AppInput::Timer, fx);
        }
    }

    /// Power off: everything volatile is gone; frames to this host are lost.
    /// Returns the addresses that were claimed or added at run time (and are not
    /// accepted any more), and those its applications announced.
    pub fn power_off(&mut self) -> (Vec<IpAddr>, Vec<IpAddr>) {
        self.powered = false;
        let announced: Vec<IpAddr> = std::mem::take(&mut self.announced)
            .into_iter()
            .filter_map(|(ip, on)| on.then_some(ip))
            .collect();
        self.apps.clear();
        self.apps_state = AppsState::Dead;
        let rules = std::mem::take(&mut self.kube_proxy);
        let mut gone: BTreeSet<IpAddr> = std::mem::take(&mut self.claimed);
        gone.retain(|ip| rules.get(ip) != Some(&false));
        gone.extend(rules.into_iter().filter_map(|(ip, on)| on.then_some(ip)));
        for (i, base) in self.base_addrs.iter().enumerate() {
            for (a, _) in &self.ifaces[i].addrs {
                if !base.iter().any(|(b, _)| b == a) {
                    gone.insert(*a);
                }
            }
        }
        (gone.into_iter().collect(), announced)
    }

    /// The earliest time the kernel's timers need to run.
    pub fn next_kernel_wakeup(&self) -> Option<Instant> {
        if !self.powered {
            return None;
        }
        let neigh = self
            .nics
            .iter()
            .map(|n| n.neigh4.next_wakeup().min(n.neigh6.next_wakeup()))
            .min();
        match (neigh, self.tcp.next_wakeup()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn on_timer(&mut self, now: Instant, fx: &mut Effects) {
        if !self.powered {
            return;
        }
        let mut tcp_out = vec![];
        self.tcp.on_timer(now, &mut tcp_out);
        self.tcp_outputs(now, tcp_out, fx);
        for i in 0..self.nics.len() {
            let mut out = vec![];
            self.nics[i].neigh4.on_timer(now, &mut out);
            self.nics[i].neigh6.on_timer(now, &mut out);
            self.neigh_outputs(i, &mut out, fx);
        }
    }

    pub fn app_wake(&mut self, now: Instant, app: usize, fx: &mut Effects) {
        if self.powered && app < self.apps.len() {
            self.run_app(now, app, AppInput::Timer, fx);
        }
    }

    /// Carrier change on `nic`: entries are evicted on loss (`*_evict_nocarrier`) and
    /// applications are told.
    pub fn carrier(&mut self, now: Instant, nic: IfIndex, up: bool, fx: &mut Effects) {
        let Some(info) = self.ifaces.get_mut(nic) else {
            return;
        };
        info.up = up;
        if !self.powered {
            return;
        }
        if !up {
            let mut out = vec![];
            self.nics[nic].neigh4.carrier_down(&mut out);
            self.nics[nic].neigh6.carrier_down(&mut out);
            self.neigh_outputs(nic, &mut out, fx);
        }
        for i in 0..self.apps.len() {
            self.run_app(now, i, AppInput::Carrier { iface: nic, up }, fx);
        }
    }

    /// Upper-layer confirmation of the neighbour used for `ip` (TCP-like flows).
    pub fn confirm(&mut self, now: Instant, ip: IpAddr) {
        for n in &mut self.nics {
            match ip {
                IpAddr::V4(_) => n.neigh4.confirm(now, ip),
                IpAddr::V6(_) => n.neigh6.confirm(now, ip),
            }
        }
    }

    fn run_app(&mut self, now: Instant, i: usize, input: AppInput<'_>, fx: &mut Effects) {
        if i >= self.apps.len() || self.apps[i].exited {
            return;
        }
        if let AppsState::Paused { streams, woken, .. } = &mut self.apps_state {
            match input {
                AppInput::Stream { conn, event } => streams.push((i, conn, event.clone())),
                AppInput::Timer => woken.push(i),
                _ => {}
            }
            return;
        }
        let mut actions = vec![];
        {
            let slot = &mut self.apps[i];
            let mut io = AppIo {
                now: self.clock.local(now),
                ifaces: &self.ifaces,
                rng: &mut slot.rng,
                actions: &mut actions,
            };
            slot.app.handle(&mut io, input);
        }
        for a in actions {
            match a {
                Action::Frame(nic, f) => {
                    if self.ifaces.get(nic).is_some_and(|i| i.up) {
                        fx.push(Effect::Tx { nic, frame: f });
                    }
                }
                Action::Datagram(from, to, data) => {
                    if let Ok(p) =
                        frame::udp_packet(from.ip(), to.ip(), from.port(), to.port(), &data)
                    {
                        self.send_ip(now, p, to.ip(), fx);
                    }
                }
                Action::Bind(port) => {
                    self.apps[i].ports.insert(port);
                }
                Action::IfAddr(nic, ip, prefix, present) => {
                    let was = self.accepts(ip);
                    if let Some(info) = self.ifaces.get_mut(nic) {
                        if present {
                            if !info.addrs.iter().any(|(a, _)| *a == ip) {
                                info.addrs.push((ip, prefix));
                            }
                        } else {
                            info.addrs.retain(|(a, _)| *a != ip);
                        }
                    }
                    if self.accepts(ip) != was {
                        fx.push(Effect::Claim { ip, claimed: !was });
                    }
                }
                Action::Listen(port) => self.tcp.listen(i, port),
                Action::Connect(conn, from, to) => {
                    let mut out = vec![];
                    self.tcp.connect(now, i, conn, from, to, &mut out);
                    self.tcp_outputs(now, out, fx);
                }
                Action::SendStream(conn, data) => {
                    let mut out = vec![];
                    self.tcp.send(now, i, conn, &data, &mut out);
                    self.tcp_outputs(now, out, fx);
                }
                Action::Close(conn) => {
                    let mut out = vec![];
                    self.tcp.close(now, i, conn, &mut out);
                    self.tcp_outputs(now, out, fx);
                }
                Action::Wake(at) => fx.push(Effect::AppWake {
                    app: i,
                    at: self.clock.true_time(at).max(now),
                }),
                Action::Claim(ip, yes) => {
                    let was = self.accepts(ip);
                    if yes {
                        self.claimed.insert(ip);
                    } else {
                        self.claimed.remove(&ip);
                    }
                    if self.accepts(ip) != was {
                        fx.push(Effect::Claim { ip, claimed: !was });
                    }
                }
                Action::Announce(ip, on) => {
                    // The first word about an address is reported even when it is
                    // "not announcing": the report then knows an announcer watches it.
                    if self.announced.insert(ip, on) != Some(on) {
                        fx.push(Effect::Announce { ip, on });
                    }
                }
                Action::Note(t) => fx.push(Effect::Note(t)),
                Action::Exit => {
                    self.apps[i].exited = true;
                    let mut out = vec![];
                    self.tcp.close_app(now, i, &mut out);
                    self.tcp_outputs(now, out, fx);
                }
            }
        }
        if !self.apps.is_empty() && self.apps.iter().all(|a| a.exited) {
            fx.push(Effect::Note("applications exited".to_string()));
            self.kill_apps(now, fx);
        }
    }

    fn tcp_outputs(&mut self, now: Instant, out: Vec<TcpOut>, fx: &mut Effects) {
        for o in out {
            match o {
                TcpOut::Send { src, dst, seg } => {
                    if let Ok(p) = frame::tcp_packet(src.ip(), dst.ip(), &seg) {
                        self.send_ip(now, p, dst.ip(), fx);
                    }
                }
                TcpOut::Event { app, conn, event } => {
                    if app < self.apps.len() {
                        self.run_app(
                            now,
                            app,
                            AppInput::Stream {
                                conn,
                                event: &event,
                            },
                            fx,
                        );
                    }
                }
            }
        }
    }

    /// Sends an IP packet: picks the on-link interface, resolves the neighbour.
    pub fn send_ip(&mut self, now: Instant, packet: IpPacket, dst: IpAddr, fx: &mut Effects) {
        let lost = |loss: Loss, packet: &[u8], fx: &mut Effects| {
            if let Some(probe) = Probe::in_ip_packet(packet) {
                fx.push(Effect::ProbeLost { probe, loss });
            }
        };
        if !self.powered {
            return lost(Loss::HostDown { host: self.id }, packet.ip(), fx);
        }
        let Some(nic) = self.ifaces.iter().position(|i| i.on_link(dst)) else {
            return lost(Loss::NoRoute { host: self.id }, packet.ip(), fx);
        };
        if !self.ifaces[nic].up {
            return lost(Loss::NicDown { host: self.id }, packet.ip(), fx);
        }
        let mut out = std::mem::take(&mut self.neigh_buf);
        match dst {
            IpAddr::V4(_) => self.nics[nic].neigh4.send(now, dst, packet, &mut out),
            IpAddr::V6(_) => self.nics[nic].neigh6.send(now, dst, packet, &mut out),
        }
        self.neigh_outputs(nic, &mut out, fx);
        self.neigh_buf = out;
    }

    /// Sends one probe datagram for a flow. IPv4 probes are built in a recycled buffer
    /// (the same bytes the codec builds); IPv6 ones by the codec.
    pub fn send_probe(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        probe: Probe,
        fx: &mut Effects,
    ) {
        let packet = match (from.ip(), to.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let mut buf = fx.spare.take();
                probe.write_udp_v4(&mut buf, s, d, from.port(), to.port());
                IpPacket::from_headroom(buf)
            }
            (s, d) => match frame::udp_packet(s, d, from.port(), to.port(), &probe.encode()) {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        self.send_ip(now, packet, to.ip(), fx);
    }

    fn neigh_outputs(&mut self, nic: IfIndex, out: &mut Vec<NeighOut<IpPacket>>, fx: &mut Effects) {
        let mac = self.ifaces[nic].mac;
        for o in out.drain(..) {
            match o {
                NeighOut::Transmit {
                    mac: dst, packet, ..
                } => {
                    fx.push(Effect::Tx {
                        nic,
                        frame: packet.into_frame(dst, mac),
                    });
                }
                NeighOut::Solicit { ip, unicast } => {
                    if let Some(f) = self.solicitation(nic, ip, unicast) {
                        fx.push(Effect::Tx { nic, frame: f });
                    }
                }
                NeighOut::Dropped { packet, reason, .. } => {
                    if let Some(probe) = Probe::in_ip_packet(packet.ip()) {
                        fx.push(Effect::ProbeLost {
                            probe,
                            loss: Loss::Neigh {
                                host: self.id,
                                reason,
                            },
                        });
                    }
                }
                NeighOut::Changed { ip, state, mac } => fx.push(Effect::Neigh {
                    nic,
                    ip,
                    state,
                    mac,
                }),
            }
        }
    }

    /// An ARP request (source: our address in the target's subnet, as `arp_announce=2`)
    /// or an NS to the solicited-node group, unicast when probing a cached MAC.
    fn solicitation(&self, nic: IfIndex, ip: IpAddr, unicast: Option<Mac>) -> Option<Vec<u8>> {
        let info = &self.ifaces[nic];
        match (ip, info.addr_for(ip)?) {
            (IpAddr::V4(t), IpAddr::V4(s)) => {
                let arp = Arp {
                    op: ArpOp::Request,
                    sha: info.mac,
                    spa: s,
                    tha: Mac::ZERO,
                    tpa: t,
                };
                Some(frame::build_eth(
                    unicast.unwrap_or(Mac::BROADCAST),
                    info.mac,
                    ETHERTYPE_ARP,
                    &arp.encode(),
                ))
            }
            (IpAddr::V6(t), IpAddr::V6(s)) => {
                let (dst_ip, dst_mac) = match unicast {
                    Some(m) => (t, m),
                    None => {
                        let g = frame::solicited_node(t);
                        (g, Mac::ipv6_multicast(g))
                    }
                };
                let ns = Nd::Solicit {
                    target: t,
                    sllao: Some(info.mac),
                };
                Some(frame::build_eth(
                    dst_mac,
                    info.mac,
                    ETHERTYPE_IPV6,
                    &ns.build(s, dst_ip),
                ))
            }
            _ => None,
        }
    }

    /// A frame arrives on `nic`. Returns false if the NIC discarded it because it was
    /// addressed to another MAC (the caller decides what that means for a probe).
    pub fn receive(&mut self, now: Instant, nic: IfIndex, raw: &[u8], fx: &mut Effects) -> bool {
        let Ok(eth) = frame::parse_eth(raw) else {
            return true;
        };
        let Some(info) = self.ifaces.get(nic) else {
            return true;
        };
        let my_mac = info.mac;
        if eth.dst != my_mac && !eth.dst.is_multicast() {
            return false;
        }
        for i in 0..self.apps.len() {
            self.run_app(
                now,
                i,
                AppInput::Frame {
                    iface: nic,
                    frame: raw,
                },
                fx,
            );
        }
        match eth.ethertype {
            ETHERTYPE_ARP => self.rx_arp(now, nic, eth.dst == my_mac, eth.payload, fx),
            ETHERTYPE_IPV4 => {
                if let Ok(ip) = frame::parse_ipv4(eth.payload) {
                    self.rx_ip(now, nic, eth.dst, &ip, fx);
                }
            }
            ETHERTYPE_IPV6 => {
                if let Ok(ip) = frame::parse_ipv6(eth.payload) {
                    if ip.proto == IPPROTO_ICMPV6 {
                        self.rx_nd(now, nic, eth.src, &ip, fx);
                    } else {
                        self.rx_ip(now, nic, eth.dst, &ip, fx);
                    }
                }
            }
            _ => {}
        }
        true
    }

    fn rx_arp(
        &mut self,
        now: Instant,
        nic: IfIndex,
        unicast: bool,
        payload: &[u8],
        fx: &mut Effects,
    ) {
        let Ok(arp) = Arp::decode(payload) else {
            return;
        };
        let ctx = ArpContext {
            to_us_unicast: unicast,
            target_is_local: self.is_local(IpAddr::V4(arp.tpa)),
            sender_is_local: self.is_local(IpAddr::V4(arp.spa)),
            sender_in_subnet: self.ifaces[nic].on_link(IpAddr::V4(arp.spa)),
        };
        let mut out = vec![];
        let verdict = self.nics[nic].neigh4.on_arp(now, &arp, ctx, &mut out);
        self.neigh_outputs(nic, &mut out, fx);
        if verdict == ArpVerdict::Reply {
            let mac = self.ifaces[nic].mac;
            let reply = Arp {
                op: ArpOp::Reply,
                sha: mac,
                spa: arp.tpa,
                tha: arp.sha,
                tpa: arp.spa,
            };
            fx.push(Effect::Tx {
                nic,
                frame: frame::build_eth(arp.sha, mac, ETHERTYPE_ARP, &reply.encode()),
            });
        }
    }

    fn rx_nd(
        &mut self,
        now: Instant,
        nic: IfIndex,
        eth_src: Mac,
        ip: &frame::Ip<'_>,
        fx: &mut Effects,
    ) {
        let Ok(Some(nd)) = Nd::parse(ip) else {
            return;
        };
        let dst_multicast = match ip.dst {
            IpAddr::V6(d) => d.is_multicast(),
            IpAddr::V4(_) => false,
        };
        let mut out = vec![];
        match nd {
            Nd::Solicit { target, sllao } => {
                let local = self.is_local(IpAddr::V6(target));
                let reply = self.nics[nic]
                    .neigh6
                    .on_ns(now, ip.src, sllao, local, &mut out);
                self.neigh_outputs(nic, &mut out, fx);
                if reply && let IpAddr::V6(src) = ip.src {
                    let mac = self.ifaces[nic].mac;
                    let na = Nd::Advert {
                        target,
                        router: self.params.forwarding,
                        solicited: true,
                        // ndisc_recv_ns: override only when the NS was multicast.
                        override_: dst_multicast,
                        tllao: Some(mac),
                    };
                    let dst_mac = sllao.unwrap_or(eth_src);
                    fx.push(Effect::Tx {
                        nic,
                        frame: frame::build_eth(
                            dst_mac,
                            mac,
                            ETHERTYPE_IPV6,
                            &na.build(target, src),
                        ),
                    });
                }
            }
            Nd::Advert {
                target,
                solicited,
                override_,
                tllao,
                ..
            } => {
                let na = NaInput {
                    target: IpAddr::V6(target),
                    tllao,
                    solicited,
                    override_,
                    dst_multicast,
                    src_in_subnet: self.ifaces[nic].on_link(ip.src),
                };
                self.nics[nic].neigh6.on_na(now, &na, &mut out);
                self.neigh_outputs(nic, &mut out, fx);
            }
        }
    }

    fn rx_ip(
        &mut self,
        now: Instant,
        nic: IfIndex,
        eth_dst: Mac,
        ip: &frame::Ip<'_>,
        fx: &mut Effects,
    ) {
        if ip.proto == IPPROTO_TCP {
            if self.accepts(ip.dst)
                && let Ok(seg) = frame::parse_tcp(ip)
            {
                let mut out = vec![];
                self.tcp.input(
                    now,
                    SocketAddr::new(ip.dst, seg.dport),
                    SocketAddr::new(ip.src, seg.sport),
                    &seg,
                    &mut out,
                );
                self.tcp_outputs(now, out, fx);
            }
            return;
        }
        if ip.proto != IPPROTO_UDP {
            return;
        }
        let Ok(udp) = frame::parse_udp(ip) else {
            return;
        };
        let probe = Probe::decode(udp.payload);
        if !self.accepts(ip.dst) {
            if let Some(probe) = probe {
                let loss = if self.kube_proxy.get(&ip.dst) == Some(&false) {
                    Loss::NoEndpoint { host: self.id }
                } else {
                    Loss::NotOwner { host: self.id }
                };
                fx.push(Effect::ProbeLost { probe, loss });
            }
            return;
        }
        let from = SocketAddr::new(ip.src, udp.sport);
        let to = SocketAddr::new(ip.dst, udp.dport);
        if let Some(app) = self.apps.iter().position(|a| a.ports.contains(&udp.dport)) {
            let data = udp.payload.to_vec();
            self.run_app(
                now,
                app,
                AppInput::Datagram {
                    iface: nic,
                    from,
                    to,
                    data: &data,
                },
                fx,
            );
            return;
        }
        match probe {
            Some(p) if p.kind == probe::Kind::Request => {
                let reply = Probe {
                    kind: probe::Kind::Reply,
                    responder: self.id,
                    via_mac: eth_dst,
                    ..p
                };
                self.send_probe(now, to, from, reply, fx);
            }
            Some(p) => fx.push(Effect::ProbeReply { probe: p }),
            None => {}
        }
    }
}
