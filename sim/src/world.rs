//! The world: hosts, switches and links wired together, driven by one event queue.
//!
//! Everything that happens is an event at a virtual instant: a frame arriving at the
//! far end of a link, a host's kernel timer, an application's wake-up, a flow's next
//! probe, a scripted fault. The world owns all state and is single-threaded; a run is a
//! pure function of the configuration and the seed.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

use crate::clock::HostClock;
use crate::cluster::{ClusterModel, ClusterSnapshot, kube_proxy_rules};
use crate::engine::EventQueue;
use crate::fate::{HostId, LinkId, Loss};
use crate::frame::{self, FrameId, FramePool, Mac, SpareBuffers};
use crate::host::{Effect, Effects, Host};
use crate::link::{Direction, Link, LinkLoss, LinkProps};
use crate::neigh::NudState;
use crate::pcap::CapturedFrame;
use crate::probe::Probe;
use crate::rng::RngTree;
use crate::switch::{FdbEvent, Forwarding, Switch};
use crate::time::{Duration, Instant};
use crate::trace::{Trace, TraceRecord, describe_frame};

pub type SwitchId = u32;

/// Frames from any host of the first set are dropped on arrival at the second.
pub type Block = (Vec<HostId>, Vec<HostId>);

/// One end of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Host {
        host: HostId,
        nic: usize,
    },
    /// A switch; the port is allocated when the link is added.
    Switch {
        switch: SwitchId,
        port: usize,
    },
}

struct LinkSlot {
    name: String,
    ends: [Endpoint; 2],
    link: Link,
}

struct SwitchSlot {
    name: String,
    switch: Switch,
    /// Port → (link, which end of it).
    ports: Vec<(LinkId, usize)>,
}

/// A client flow: probes from `src` to `dst` every `interval` in `[start, stop)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowSpec {
    pub name: String,
    pub host: HostId,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub interval: Duration,
    pub start: Instant,
    pub stop: Instant,
    /// A reply later than this counts as a loss.
    pub timeout: Duration,
    /// Replies confirm the neighbour (TCP-like forward progress); ping-like otherwise.
    pub confirm: bool,
}

/// The recorded fate of one probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeRecord {
    pub sent: Instant,
    pub reply: Option<Reply>,
    pub loss: Option<Loss>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    pub at: Instant,
    pub responder: HostId,
    /// The destination MAC the client's request carried (its neighbour entry).
    pub via_mac: Mac,
}

struct FlowState {
    spec: FlowSpec,
    probes: Vec<ProbeRecord>,
}

/// A neighbour-table change, for reports and expectations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeighEvent {
    pub at: Instant,
    pub host: HostId,
    pub ip: IpAddr,
    pub state: Option<NudState>,
    pub mac: Option<Mac>,
}

/// Scripted changes to the world that are not an application's business.
#[derive(Clone, Debug, PartialEq)]
pub enum WorldAction {
    SetLinkUp {
        link: LinkId,
        up: bool,
    },
    /// New properties for one or both directions (`None` leaves a direction alone).
    SetLinkProps {
        link: LinkId,
        a_to_b: Option<LinkProps>,
        b_to_a: Option<LinkProps>,
    },
    /// For each `(from, to)` block: frames from any host in `from` are dropped on
    /// arrival at any host in `to` (like a host firewall; switches still learn).
    Partition {
        name: String,
        blocks: Vec<Block>,
    },
    Heal {
        name: String,
    },
    /// Power loss: state is gone and its links lose carrier.
    Crash {
        host: HostId,
    },
    /// Power on again with fresh state.
    Restart {
        host: HostId,
    },
    /// SIGKILL the host's applications (the kernel stays up and closes their sockets).
    KillApps {
        host: HostId,
    },
    /// Start the host's applications again after a kill.
    StartApps {
        host: HostId,
    },
    /// SIGTERM the host's applications (a planned shutdown: drain, rolling update).
    TerminateApps {
        host: HostId,
    },
    /// SIGSTOP / SIGCONT the host's applications (a hung process).
    PauseApps {
        host: HostId,
    },
    ResumeApps {
        host: HostId,
    },
    /// Step a host's clock (offset and drift): clock skew as a fault.
    SetClock {
        host: HostId,
        clock: HostClock,
    },
    /// The endpoint controller publishes new endpoints for a Service (`namespace/name`):
    /// pods became ready, started terminating, or are gone.
    SetEndpoints {
        service: String,
        endpoints: Vec<ferrolb_speaker::election::Endpoint>,
    },
}

/// A frame due at the far end of a link.
#[derive(Clone, Copy)]
struct Delivery {
    link: LinkId,
    /// 0 = a→b, 1 = b→a.
    dir: u8,
    /// The link's generation when the frame was sent (a flap in between loses it).
    generation: u64,
    origin: HostId,
    flooded: bool,
    frame: FrameId,
}

enum Event {
    Arrive(Delivery),
    KernelTimer {
        host: HostId,
    },
    AppWake {
        host: HostId,
        app: u32,
        boot: u32,
    },
    Probe {
        flow: u32,
    },
    Action {
        index: u32,
    },
    /// A watch event reaches a node.
    Watch {
        host: HostId,
        boot: u32,
        snap: Rc<ClusterSnapshot>,
    },
    /// A dead node's grace period runs out.
    NodeGrace {
        node: u32,
        generation: u64,
    },
}

/// A host started or stopped accepting an address (claimed by one of its applications),
/// or, in the announcement log, its application started or stopped announcing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnerEvent {
    pub at: Instant,
    pub host: HostId,
    pub ip: IpAddr,
    pub owned: bool,
}

/// Something worth drawing on a timeline: a fault or an announcement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    pub at: Instant,
    pub text: String,
}

pub struct World {
    tree: RngTree,
    queue: EventQueue<Event>,
    hosts: Vec<Host>,
    host_links: Vec<Vec<Option<(LinkId, usize)>>>,
    armed: Vec<Option<Instant>>,
    /// Application wake-ups already queued, by (host, app, boot, time): an application
    /// that asks again for a time it already asked for (the speaker re-arms its next
    /// deadline after every input) gets one wake-up, not one per request.
    pending_wakes: BTreeSet<(HostId, u32, u32, Instant)>,
    boots: Vec<u32>,
    switches: Vec<SwitchSlot>,
    links: Vec<LinkSlot>,
    flows: Vec<FlowState>,
    actions: Vec<(Instant, WorldAction, String)>,
    partitions: BTreeMap<String, Vec<Block>>,
    neigh_log: Vec<NeighEvent>,
    owner_log: Vec<OwnerEvent>,
    announce_log: Vec<OwnerEvent>,
    markers: Vec<Marker>,
    trace: Trace,
    capture: Option<Vec<CapturedFrame>>,
    /// Frames in flight.
    pool: FramePool,
    fx: Effects,
    ports_buf: Vec<usize>,
    started: bool,
    /// The Kubernetes cluster, when the scenario runs one.
    cluster: Option<ClusterModel>,
    /// Draws each watch delivery's jitter.
    watch_rng: crate::rng::SimRng,
}

impl World {
    pub fn new(seed: u64, record_trace: bool) -> Self {
        Self {
            tree: RngTree::new(seed),
            queue: EventQueue::new(),
            hosts: vec![],
            host_links: vec![],
            armed: vec![],
            pending_wakes: BTreeSet::new(),
            boots: vec![],
            switches: vec![],
            links: vec![],
            flows: vec![],
            actions: vec![],
            partitions: BTreeMap::new(),
            neigh_log: vec![],
            owner_log: vec![],
            announce_log: vec![],
            markers: vec![],
            trace: Trace::new(record_trace),
            capture: None,
            pool: FramePool::default(),
            fx: Effects::default(),
            ports_buf: vec![],
            started: false,
            cluster: None,
            watch_rng: RngTree::new(seed).stream("cluster:watch"),
        }
    }

    /// Makes this a Kubernetes cluster: the model's nodes get kube-proxy's rules and
    /// watch events from now on.
    pub fn set_cluster(&mut self, cluster: ClusterModel) {
        self.cluster = Some(cluster);
    }

    /// The cluster, if any.
    pub fn cluster(&self) -> Option<&ClusterModel> {
        self.cluster.as_ref()
    }

    pub fn rng_tree(&self) -> RngTree {
        self.tree
    }
    pub fn now(&self) -> Instant {
        self.queue.now()
    }

    /// Adds a host (built with this world's RNG tree) and returns its id.
    pub fn add_host(&mut self, mut host: Host) -> HostId {
        let id = self.hosts.len() as HostId;
        // The world numbers hosts; probe replies and loss reasons carry this id.
        host.id = id;
        self.host_links.push(vec![None; host.interfaces().len()]);
        self.hosts.push(host);
        self.armed.push(None);
        self.boots.push(0);
        id
    }

    pub fn add_switch(&mut self, name: &str, ageing: Duration) -> SwitchId {
        self.switches.push(SwitchSlot {
            name: name.to_string(),
            switch: Switch::new(0, ageing),
            ports: vec![],
        });
        (self.switches.len() - 1) as SwitchId
    }

    /// Connects two endpoints. For a switch end, pass any port number: the next free
    /// port is allocated. Each direction gets its own random stream named after the link.
    pub fn add_link(
        &mut self,
        name: &str,
        a: Endpoint,
        b: Endpoint,
        a_to_b: LinkProps,
        b_to_a: LinkProps,
    ) -> LinkId {
        let id = self.links.len() as LinkId;
        let mut ends = [a, b];
        for (i, end) in ends.iter_mut().enumerate() {
            match end {
                Endpoint::Host { host, nic } => {
                    if let Some(slot) = self
                        .host_links
                        .get_mut(*host as usize)
                        .and_then(|v| v.get_mut(*nic))
                    {
                        *slot = Some((id, i));
                    }
                }
                Endpoint::Switch { switch, port } => {
                    let s = &mut self.switches[*switch as usize];
                    *port = s.ports.len();
                    s.ports.push((id, i));
                    s.switch.resize(s.ports.len());
                }
            }
        }
        let link = Link::new(
            Direction::new(a_to_b, self.tree.stream(&format!("link:{name}:a>b"))),
            Direction::new(b_to_a, self.tree.stream(&format!("link:{name}:b>a"))),
        );
        self.links.push(LinkSlot {
            name: name.to_string(),
            ends,
            link,
        });
        id
    }

    pub fn add_flow(&mut self, spec: FlowSpec) -> u32 {
        self.flows.push(FlowState {
            spec,
            probes: vec![],
        });
        (self.flows.len() - 1) as u32
    }

    /// Schedules a world action; `label` is what timelines and reports show. Works
    /// before the run and during it (an action in the past runs at once).
    pub fn schedule(&mut self, at: Instant, action: WorldAction, label: String) {
        self.actions.push((at, action, label));
        if self.started {
            let index = (self.actions.len() - 1) as u32;
            self.queue
                .schedule(at.max(self.now()), Event::Action { index });
        }
    }

    pub fn host(&self, id: HostId) -> &Host {
        &self.hosts[id as usize]
    }
    pub fn host_name(&self, id: HostId) -> &str {
        self.hosts.get(id as usize).map_or("?", |h| h.name.as_str())
    }
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }
    pub fn link_name(&self, id: LinkId) -> &str {
        self.links.get(id as usize).map_or("?", |l| l.name.as_str())
    }
    pub fn switch_name(&self, id: SwitchId) -> &str {
        self.switches
            .get(id as usize)
            .map_or("?", |s| s.name.as_str())
    }
    pub fn flows(&self) -> impl Iterator<Item = (&FlowSpec, &[ProbeRecord])> {
        self.flows.iter().map(|f| (&f.spec, f.probes.as_slice()))
    }
    /// Moves every flow's probe records out (in flow order), leaving them empty: for
    /// the end of a run, so the outcome does not copy them.
    pub fn take_probes(&mut self) -> Vec<Vec<ProbeRecord>> {
        self.flows
            .iter_mut()
            .map(|f| std::mem::take(&mut f.probes))
            .collect()
    }
    pub fn neigh_log(&self) -> &[NeighEvent] {
        &self.neigh_log
    }
    pub fn owner_log(&self) -> &[OwnerEvent] {
        &self.owner_log
    }
    /// Who announced what, when (`owned`: announcing), as the applications said.
    pub fn announce_log(&self) -> &[OwnerEvent] {
        &self.announce_log
    }
    pub fn markers(&self) -> &[Marker] {
        &self.markers
    }
    pub fn trace_hash(&self) -> u64 {
        self.trace.hash()
    }
    pub fn events_processed(&self) -> u64 {
        self.queue.events_processed()
    }
    /// Keep a copy of every delivered frame (for a pcap file).
    pub fn capture_frames(&mut self, on: bool) {
        self.capture = on.then(Vec::new);
    }
    pub fn take_captured_frames(&mut self) -> Vec<CapturedFrame> {
        self.capture.take().unwrap_or_default()
    }
    pub fn take_trace_records(&mut self) -> Vec<TraceRecord> {
        self.trace.take_records()
    }
    /// FDB size of a switch (for tests).
    pub fn fdb_len(&self, switch: SwitchId) -> usize {
        self.switches[switch as usize].switch.fdb_len()
    }

    fn start(&mut self) {
        self.started = true;
        let mut order: Vec<usize> = (0..self.actions.len()).collect();
        order.sort_by_key(|i| self.actions[*i].0);
        for i in order {
            self.queue
                .schedule(self.actions[i].0, Event::Action { index: i as u32 });
        }
        for f in 0..self.flows.len() {
            let at = self.flows[f].spec.start;
            self.queue.schedule(at, Event::Probe { flow: f as u32 });
        }
        for h in 0..self.hosts.len() {
            self.boot(h as HostId);
        }
    }

    /// Runs every event up to and including `until`.
    pub fn run_until(&mut self, until: Instant) {
        if !self.started {
            self.start();
        }
        while let Some((now, ev)) = self.queue.pop_until(until) {
            self.dispatch(now, ev);
        }
        self.queue.advance_to(until);
    }

    /// End-of-run accounting: probes still waiting in a neighbour queue get that as
    /// their fate instead of none.
    pub fn finish(&mut self) {
        for h in 0..self.hosts.len() {
            let host = h as HostId;
            for p in self.hosts[h].queued_probes() {
                self.lost(p, Loss::Unresolved { host });
            }
        }
    }

    fn dispatch(&mut self, now: Instant, ev: Event) {
        match ev {
            Event::Arrive(d) => self.arrive(now, d),
            Event::KernelTimer { host } => {
                let h = host as usize;
                if self.armed[h] == Some(now) {
                    self.armed[h] = None;
                }
                let mut fx = std::mem::take(&mut self.fx);
                self.hosts[h].on_timer(now, &mut fx);
                self.apply(now, host, &mut fx);
                self.fx = fx;
            }
            Event::AppWake { host, app, boot } => {
                self.pending_wakes.remove(&(host, app, boot, now));
                if self.boots[host as usize] == boot {
                    let mut fx = std::mem::take(&mut self.fx);
                    self.hosts[host as usize].app_wake(now, app as usize, &mut fx);
                    self.apply(now, host, &mut fx);
                    self.fx = fx;
                }
            }
            Event::Probe { flow } => self.send_probe(now, flow),
            Event::Watch { host, boot, snap } => {
                if self.boots[host as usize] != boot {
                    return;
                }
                let Some(node) = self.cluster.as_ref().and_then(|c| c.node_on(host)) else {
                    return;
                };
                let name = self.cluster.as_ref().map(|c| c.node_name(node).to_owned());
                let rules = kube_proxy_rules(&snap, name.as_deref().unwrap_or_default());
                let mut fx = std::mem::take(&mut self.fx);
                self.hosts[host as usize].set_kube_proxy(rules, &mut fx);
                self.hosts[host as usize].deliver_watch(now, &snap, &mut fx);
                self.apply(now, host, &mut fx);
                self.fx = fx;
            }
            Event::NodeGrace { node, generation } => {
                let Some(c) = &mut self.cluster else {
                    return;
                };
                if c.grace_expired(node as usize, generation) {
                    let text = format!(
                        "api: node {} NotReady (no heartbeat for {}), its endpoints not ready",
                        c.node_name(node as usize),
                        c.node_monitor_grace
                    );
                    self.note(now, text);
                    self.publish(now);
                }
            }
            Event::Action { index } => {
                let (_, action, label) = self.actions[index as usize].clone();
                tracing::debug!(at = %now, "{label}");
                self.markers.push(Marker {
                    at: now,
                    text: label.clone(),
                });
                self.trace
                    .event(now, "action", &[u64::from(index)], label.as_bytes(), || {
                        ("timeline".into(), label.clone())
                    });
                self.act(now, action);
            }
        }
    }

    fn send_probe(&mut self, now: Instant, flow: u32) {
        let f = &mut self.flows[flow as usize];
        let seq = f.probes.len() as u32;
        f.probes.push(ProbeRecord {
            sent: now,
            reply: None,
            loss: None,
        });
        let (host, src, dst) = (f.spec.host, f.spec.src, f.spec.dst);
        let next = now + f.spec.interval;
        if next < f.spec.stop && !f.spec.interval.is_zero() {
            self.queue.schedule(next, Event::Probe { flow });
        }
        let mut fx = std::mem::take(&mut self.fx);
        self.hosts[host as usize].send_probe(now, src, dst, Probe::request(flow, seq), &mut fx);
        self.apply(now, host, &mut fx);
        self.fx = fx;
    }

    fn boot(&mut self, host: HostId) {
        let now = self.now();
        let h = host as usize;
        self.boots[h] = self.boots[h].wrapping_add(1);
        let mut fx = std::mem::take(&mut self.fx);
        self.hosts[h].boot(now, &mut fx);
        self.armed[h] = None;
        // kube-proxy programs its rules from the API server's current state as it
        // starts; the node's other components get that state by watch.
        let mut back = false;
        if let Some(c) = &mut self.cluster
            && let Some(node) = c.node_on(host)
        {
            back = c.node_booted(node);
            let snap = c.snapshot();
            let rules = kube_proxy_rules(&snap, c.node_name(node));
            self.hosts[h].set_kube_proxy(rules, &mut fx);
        }
        self.apply(now, host, &mut fx);
        self.fx = fx;
        if back {
            let name = self.host_name(host).to_owned();
            self.note(now, format!("api: node {name} Ready again"));
            self.publish(now);
        } else {
            self.watch_to(now, host);
        }
    }

    /// A line on the timeline and in the trace, from the world itself.
    fn note(&mut self, now: Instant, text: String) {
        self.trace.event(now, "note", &[], text.as_bytes(), || {
            ("api".into(), text.clone())
        });
        self.markers.push(Marker { at: now, text });
    }

    /// The cluster changed: every live node sees the new state a watch latency later.
    fn publish(&mut self, now: Instant) {
        let Some(c) = &self.cluster else {
            return;
        };
        let hosts: Vec<HostId> = c.hosts().collect();
        for h in hosts {
            self.watch_to(now, h);
        }
    }

    fn watch_to(&mut self, now: Instant, host: HostId) {
        let Some(c) = &self.cluster else {
            return;
        };
        if c.node_on(host).is_none() || !self.hosts[host as usize].is_powered() {
            return;
        }
        let jitter = self.watch_rng.below(c.watch_jitter.as_nanos().max(1));
        let at = now + c.watch_latency + Duration::from_nanos(jitter);
        let snap = c.snapshot();
        let boot = self.boots[host as usize];
        self.queue.schedule(at, Event::Watch { host, boot, snap });
    }

    /// Carries out a host's effects, then re-arms its kernel timer.
    fn apply(&mut self, now: Instant, host: HostId, fx: &mut Effects) {
        let mut list = fx.take_list();
        for e in list.drain(..) {
            match e {
                Effect::Tx { nic, frame } => {
                    match self.host_links[host as usize].get(nic).copied().flatten() {
                        Some((link, end)) => {
                            self.transmit_new(now, link, end, host, frame, &mut fx.spare)
                        }
                        None => {
                            if let Some(p) = Probe::in_frame(&frame) {
                                self.lost(p, Loss::NicDown { host });
                            }
                            fx.spare.give(frame);
                        }
                    }
                }
                Effect::AppWake { app, at } => {
                    let boot = self.boots[host as usize];
                    if !self.pending_wakes.insert((host, app as u32, boot, at)) {
                        continue;
                    }
                    self.queue.schedule(
                        at,
                        Event::AppWake {
                            host,
                            app: app as u32,
                            boot,
                        },
                    );
                }
                Effect::ProbeReply { probe } => self.replied(now, host, probe),
                Effect::ProbeLost { probe, loss } => self.lost(probe, loss),
                Effect::Neigh { ip, state, mac, .. } => {
                    self.trace.event(
                        now,
                        "neigh",
                        &[u64::from(host)],
                        ip.to_string().as_bytes(),
                        || {
                            (
                                self.hosts[host as usize].name.clone(),
                                format!(
                                    "{ip} {} {}",
                                    state.map_or("removed", |s| s.name()),
                                    mac.map_or_else(|| "-".to_string(), |m| m.to_string())
                                ),
                            )
                        },
                    );
                    self.neigh_log.push(NeighEvent {
                        at: now,
                        host,
                        ip,
                        state,
                        mac,
                    });
                }
                Effect::Claim { ip, claimed } => {
                    self.trace.event(
                        now,
                        "claim",
                        &[u64::from(host), u64::from(claimed)],
                        ip.to_string().as_bytes(),
                        || {
                            (
                                self.hosts[host as usize].name.clone(),
                                format!("{} {ip}", if claimed { "claims" } else { "releases" }),
                            )
                        },
                    );
                    self.owner_log.push(OwnerEvent {
                        at: now,
                        host,
                        ip,
                        owned: claimed,
                    });
                }
                Effect::Announce { ip, on } => self.announce_log.push(OwnerEvent {
                    at: now,
                    host,
                    ip,
                    owned: on,
                }),
                Effect::Note(text) => {
                    let text = format!("{}: {text}", self.hosts[host as usize].name);
                    tracing::debug!(at = %now, "{text}");
                    self.trace
                        .event(now, "note", &[u64::from(host)], text.as_bytes(), || {
                            ("app".into(), text.clone())
                        });
                    self.markers.push(Marker { at: now, text });
                }
            }
        }
        fx.restore_list(list);
        let h = host as usize;
        if let Some(w) = self.hosts[h].next_kernel_wakeup()
            && self.armed[h].is_none_or(|a| w < a)
        {
            self.armed[h] = Some(w);
            self.queue.schedule(w, Event::KernelTimer { host });
        }
    }

    fn replied(&mut self, now: Instant, host: HostId, p: Probe) {
        let Some(f) = self.flows.get_mut(p.flow as usize) else {
            return;
        };
        if f.spec.host != host {
            return;
        }
        let confirm = f.spec.confirm.then_some(f.spec.dst.ip());
        let timeout = f.spec.timeout;
        if let Some(rec) = f.probes.get_mut(p.seq as usize)
            && rec.reply.is_none()
        {
            if now.saturating_since(rec.sent) > timeout {
                rec.loss = Some(Loss::Late);
            } else {
                rec.reply = Some(Reply {
                    at: now,
                    responder: p.responder,
                    via_mac: p.via_mac,
                });
            }
        }
        if let Some(ip) = confirm {
            self.hosts[host as usize].confirm(now, ip);
        }
    }

    fn lost(&mut self, p: Probe, loss: Loss) {
        if let Some(rec) = self
            .flows
            .get_mut(p.flow as usize)
            .and_then(|f| f.probes.get_mut(p.seq as usize))
            && rec.loss.is_none_or(|old| loss.rank() >= old.rank())
        {
            rec.loss = Some(loss);
        }
    }

    /// Puts a frame a host built on a link: into the pool with one reference per
    /// delivery, or, lost at once, back to the spare buffers.
    fn transmit_new(
        &mut self,
        now: Instant,
        link: LinkId,
        from_end: usize,
        origin: HostId,
        frame: Vec<u8>,
        spare: &mut SpareBuffers,
    ) {
        match self.links[link as usize].link.transmit(from_end, now) {
            Ok(d) => {
                let refs = 1 + u32::from(d.duplicate.is_some());
                let id = self.pool.insert(frame, refs);
                self.schedule_deliveries(link, from_end, origin, false, id, d);
            }
            Err(loss) => {
                self.link_dropped(now, link, loss, &frame);
                spare.give(frame);
            }
        }
    }

    /// Forwards a pooled frame (a switch's output): `bytes` are its contents, lent out
    /// of the pool while it is processed.
    #[allow(clippy::too_many_arguments)]
    fn forward(
        &mut self,
        now: Instant,
        link: LinkId,
        from_end: usize,
        origin: HostId,
        flooded: bool,
        id: FrameId,
        bytes: &[u8],
    ) {
        match self.links[link as usize].link.transmit(from_end, now) {
            Ok(d) => {
                self.pool.retain(id, 1 + u32::from(d.duplicate.is_some()));
                self.schedule_deliveries(link, from_end, origin, flooded, id, d);
            }
            Err(loss) => self.link_dropped(now, link, loss, bytes),
        }
    }

    fn schedule_deliveries(
        &mut self,
        link: LinkId,
        from_end: usize,
        origin: HostId,
        flooded: bool,
        frame: FrameId,
        d: crate::link::Deliveries,
    ) {
        let generation = self.links[link as usize].link.generation();
        for at in std::iter::once(d.first).chain(d.duplicate) {
            self.queue.schedule(
                at,
                Event::Arrive(Delivery {
                    link,
                    dir: from_end as u8,
                    generation,
                    origin,
                    flooded,
                    frame,
                }),
            );
        }
    }

    fn link_dropped(&mut self, now: Instant, link: LinkId, loss: LinkLoss, frame: &[u8]) {
        self.trace
            .event(now, "link-drop", &[u64::from(link)], frame, || {
                (
                    self.links[link as usize].name.clone(),
                    format!("{loss:?}: {}", describe_frame(frame)),
                )
            });
        if let Some(p) = Probe::in_frame(frame) {
            self.lost(p, link_loss(loss, link));
        }
    }

    /// A frame reaches the far end of a link. Its bytes are lent out of the pool for
    /// the delivery; the last delivery of a frame recycles its buffer.
    fn arrive(&mut self, now: Instant, d: Delivery) {
        let frame = self.pool.take(d.frame);
        self.deliver(now, d, &frame);
        if let Some(buf) = self.pool.put_back(d.frame, frame) {
            self.fx.spare.give(buf);
        }
    }

    fn deliver(&mut self, now: Instant, d: Delivery, frame: &[u8]) {
        let Delivery {
            link,
            dir,
            generation,
            origin,
            flooded,
            frame: id,
        } = d;
        let slot = &self.links[link as usize];
        if !slot.link.delivers(generation) {
            if let Some(p) = Probe::in_frame(frame) {
                self.lost(p, Loss::LinkDown { link });
            }
            return;
        }
        let to = slot.ends[1 - dir as usize];
        if let Some(c) = &mut self.capture {
            c.push(CapturedFrame {
                t_ns: now.as_nanos(),
                link,
                frame: frame.to_vec(),
            });
        }
        self.trace
            .event(now, "rx", &[u64::from(link), u64::from(dir)], frame, || {
                (
                    format!(
                        "{} {}",
                        self.links[link as usize].name,
                        if dir == 0 { "a>b" } else { "b>a" }
                    ),
                    describe_frame(frame),
                )
            });
        match to {
            Endpoint::Switch { switch, port } => {
                let Some((dst, src)) = frame::peek_macs(frame) else {
                    return;
                };
                let mut out = std::mem::take(&mut self.ports_buf);
                let s = &mut self.switches[switch as usize];
                let (fwd, ev) = s.switch.receive(now, port, dst, src, &mut out);
                if let Some(FdbEvent::Moved { mac, from, to }) = ev {
                    self.trace.event(
                        now,
                        "fdb-move",
                        &[u64::from(switch), from as u64, to as u64],
                        &mac.0,
                        || {
                            (
                                self.switches[switch as usize].name.clone(),
                                format!("{mac} moved from port {from} to port {to}"),
                            )
                        },
                    );
                }
                let flooded = flooded || fwd == Forwarding::UnknownUnicast;
                if out.is_empty()
                    && fwd == Forwarding::UnknownUnicast
                    && let Some(p) = Probe::in_frame(frame)
                {
                    self.lost(p, Loss::Flooded);
                }
                for &p in &out {
                    let (l, end) = self.switches[switch as usize].ports[p];
                    self.forward(now, l, end, origin, flooded, id, frame);
                }
                self.ports_buf = out;
            }
            Endpoint::Host { host, nic } => {
                let h = host as usize;
                if !self.hosts[h].is_powered() {
                    if let Some(p) = Probe::in_frame(frame) {
                        self.lost(p, Loss::HostDown { host });
                    }
                    return;
                }
                if self.blocked(origin, host) {
                    if let Some(p) = Probe::in_frame(frame) {
                        self.lost(p, Loss::Partition { to: host });
                    }
                    return;
                }
                let mut fx = std::mem::take(&mut self.fx);
                let accepted = self.hosts[h].receive(now, nic, frame, &mut fx);
                if !accepted && let Some(p) = Probe::in_frame(frame) {
                    self.lost(
                        p,
                        if flooded {
                            Loss::Flooded
                        } else {
                            Loss::WrongMac { host }
                        },
                    );
                }
                self.apply(now, host, &mut fx);
                self.fx = fx;
            }
        }
    }

    fn blocked(&self, from: HostId, to: HostId) -> bool {
        self.partitions
            .values()
            .flatten()
            .any(|(f, t)| f.contains(&from) && t.contains(&to))
    }

    fn act(&mut self, now: Instant, action: WorldAction) {
        match action {
            WorldAction::SetLinkUp { link, up } => self.set_link_up(now, link, up),
            WorldAction::SetLinkProps {
                link,
                a_to_b,
                b_to_a,
            } => {
                let l = &mut self.links[link as usize].link;
                if let Some(p) = a_to_b {
                    l.dirs[0].props = p;
                }
                if let Some(p) = b_to_a {
                    l.dirs[1].props = p;
                }
            }
            WorldAction::Partition { name, blocks } => {
                self.partitions.insert(name, blocks);
            }
            WorldAction::Heal { name } => {
                self.partitions.remove(&name);
            }
            WorldAction::Crash { host } => {
                let (accepted, announced) = self.hosts[host as usize].power_off();
                for (log, ips) in [
                    (&mut self.owner_log, accepted),
                    (&mut self.announce_log, announced),
                ] {
                    log.extend(ips.into_iter().map(|ip| OwnerEvent {
                        at: now,
                        host,
                        ip,
                        owned: false,
                    }));
                }
                self.boots[host as usize] = self.boots[host as usize].wrapping_add(1);
                for (link, _) in self.host_links[host as usize].clone().into_iter().flatten() {
                    self.set_link_up(now, link, false);
                }
                if let Some(c) = &mut self.cluster
                    && let Some(node) = c.node_on(host)
                {
                    let generation = c.node_died(node);
                    let at = now + c.node_monitor_grace;
                    self.queue.schedule(
                        at,
                        Event::NodeGrace {
                            node: node as u32,
                            generation,
                        },
                    );
                }
            }
            WorldAction::SetEndpoints { service, endpoints } => {
                if let Some(c) = &mut self.cluster
                    && c.set_endpoints(&service, endpoints)
                {
                    self.publish(now);
                }
            }
            WorldAction::SetClock { host, clock } => self.hosts[host as usize].set_clock(clock),
            WorldAction::KillApps { host } => self.with_host(now, host, Host::kill_apps),
            WorldAction::TerminateApps { host } => self.with_host(now, host, Host::terminate_apps),
            WorldAction::StartApps { host } => {
                self.with_host(now, host, Host::start_apps);
                // A new process lists the cluster afresh.
                self.watch_to(now, host);
            }
            WorldAction::PauseApps { host } => self.with_host(now, host, Host::pause_apps),
            WorldAction::ResumeApps { host } => self.with_host(now, host, Host::resume_apps),
            WorldAction::Restart { host } => {
                for (link, _) in self.host_links[host as usize].clone().into_iter().flatten() {
                    self.set_link_up(now, link, true);
                }
                self.boot(host);
            }
        }
    }

    fn with_host(&mut self, now: Instant, host: HostId, f: fn(&mut Host, Instant, &mut Effects)) {
        let mut fx = std::mem::take(&mut self.fx);
        f(&mut self.hosts[host as usize], now, &mut fx);
        self.apply(now, host, &mut fx);
        self.fx = fx;
    }

    /// Carrier change, delivered to both ends at once.
    fn set_link_up(&mut self, now: Instant, link: LinkId, up: bool) {
        if !self.links[link as usize].link.set_up(up) {
            return;
        }
        for end in self.links[link as usize].ends {
            match end {
                Endpoint::Switch { switch, port } => {
                    self.switches[switch as usize].switch.set_port_up(port, up);
                }
                Endpoint::Host { host, nic } => {
                    let mut fx = std::mem::take(&mut self.fx);
                    self.hosts[host as usize].carrier(now, nic, up, &mut fx);
                    self.apply(now, host, &mut fx);
                    self.fx = fx;
                }
            }
        }
    }
}

fn link_loss(l: LinkLoss, link: LinkId) -> Loss {
    match l {
        LinkLoss::Down => Loss::LinkDown { link },
        LinkLoss::Random => Loss::LinkRandom { link },
        LinkLoss::Burst => Loss::LinkBurst { link },
    }
}
