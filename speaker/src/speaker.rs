//! The per-node speaker: the configuration, the Services and nodes it watches, and the
//! protocol cores, tied together behind the [`Io`] seam.
//!
//! Inputs are whole views (`set_*`), frames, stream events and timer calls; after each
//! one the speaker recomputes what this node announces, drives Layer 2 announcing and
//! one BGP session per selected peer, and asks for its next wake-up. Membership is an
//! input too (the live members' names), fed by the failure detector or, in tests, by
//! hand.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use core::time::Duration;
use ferrolb_api::config::{Config, Peer, PeerAddress, PeerAsn};
use ferrolb_wire::Mac;

use crate::announce::{Announcements, ServiceView, announcements};
use crate::bgp::session::{self, Output, PeerAs, Session, SessionConfig};
use crate::election::{NodeInfo, World};
use crate::io::{ConnId, ConnectSpec, Io};
use crate::layer2::announcer::{Action, Announcer, AnnouncerConfig, Conflict};
use crate::layer2::responder::{self, Interface, L2Counters};
use crate::members::{MemberEvent, Members};
use crate::node_meta::NodeMeta;

/// Speaker settings that are not in the MetalLB configuration.
#[derive(Clone, Debug)]
pub struct SpeakerConfig {
    /// This node's name.
    pub node: String,
    /// `--ignore-exclude-lb`.
    pub ignore_exclude_lb: bool,
    /// Layer 2 announcement timing.
    pub announcer: AnnouncerConfig,
}

/// One BGP peer's session and its connection.
#[derive(Debug)]
struct PeerSession {
    session: Session,
    /// Our connection id for the session's current connection.
    conn: Option<(ConnId, session::ConnId)>,
    spec: ConnectSpec,
}

/// The speaker core.
#[derive(Debug)]
pub struct Speaker {
    cfg: SpeakerConfig,
    config: Option<Config>,
    services: Vec<ServiceView>,
    nodes: BTreeMap<String, NodeInfo>,
    members: Option<BTreeSet<String>>,
    interfaces: Vec<Interface>,
    announcer: Announcer,
    last: Announcements,
    owners: BTreeMap<IpAddr, String>,
    peers: BTreeMap<String, PeerSession>,
    next_conn: ConnId,
    l2_counters: BTreeMap<IpAddr, L2Counters>,
    conflicts: Vec<Conflict>,
    /// The failure detector, when membership is on: its live members replace whatever
    /// `set_members` said.
    detector: Option<(Members, SocketAddr)>,
    /// No Layer 2 announcement before this: a speaker that just joined does not know
    /// the other members yet and would elect itself everywhere.
    announce_after: Option<crate::time::Instant>,
    /// A planned shutdown is under way: Layer 2 answers stop at this time.
    stop_answering_at: Option<crate::time::Instant>,
    /// Members that came (back) up in the membership change being handled now.
    newcomers: BTreeSet<String>,
    /// What the other live members say about their interfaces (membership metadata).
    peer_meta: BTreeMap<String, NodeMeta>,
    /// Where membership joined; joined again when the node's links come back.
    seeds: Vec<SocketAddr>,
    /// The node's links came back and it rejoined: announcing waits for the first
    /// member to answer (or [`REJOIN_SETTLE_MAX`]).
    rejoining: bool,
}

/// How long a speaker that just joined the membership waits before announcing.
pub const JOIN_SETTLE: Duration = Duration::from_millis(500);

/// The longest a node whose links came back waits for the membership to answer before
/// announcing anyway (then it is alone: the others are really gone).
pub const REJOIN_SETTLE_MAX: Duration = Duration::from_secs(2);

/// Once a member answers a node that rejoined, how long it still waits: the others
/// learn of it from the same exchange, so they stop answering its conflict probes.
pub const REJOIN_MARGIN: Duration = Duration::from_millis(100);

/// After a planned shutdown starts, how long this node keeps answering for its
/// addresses: long enough for the successor to hear our Leave, take over and send its
/// gratuitous ARP, so clients move without losing a packet.
pub const HANDOVER_GRACE: Duration = Duration::from_secs(1);

/// How long we keep answering for an address a node that just joined has won. It waits
/// [`JOIN_SETTLE`], then probes the address (RFC 5227) before its first gratuitous
/// ARP; dropping the address at once, as MetalLB does, leaves clients that ask in that
/// time with nobody answering. The margin covers the newcomer hearing of the others
/// later than they hear of it.
fn yield_to_newcomer_for(announcer: &AnnouncerConfig) -> Duration {
    JOIN_SETTLE + announcer.probe_interval * announcer.probes + Duration::from_millis(500)
}

impl Speaker {
    /// A speaker with no configuration yet: it announces nothing until it has one.
    pub fn new(cfg: SpeakerConfig) -> Self {
        Self {
            announcer: Announcer::new(cfg.announcer.clone()),
            cfg,
            config: None,
            services: Vec::new(),
            nodes: BTreeMap::new(),
            members: None,
            interfaces: Vec::new(),
            last: Announcements::default(),
            owners: BTreeMap::new(),
            peers: BTreeMap::new(),
            next_conn: 1,
            l2_counters: BTreeMap::new(),
            conflicts: Vec::new(),
            detector: None,
            announce_after: None,
            stop_answering_at: None,
            newcomers: BTreeSet::new(),
            peer_meta: BTreeMap::new(),
            seeds: Vec::new(),
            rejoining: false,
        }
    }

    /// Turns membership on: `members` listens on `addr` and joins through `seeds`.
    /// From then on the election runs over its live members.
    pub fn enable_membership(
        &mut self,
        io: &mut impl Io,
        mut members: Members,
        addr: SocketAddr,
        seeds: &[SocketAddr],
    ) {
        if let Err(e) = members.set_meta(io.now(), self.my_meta().encode()) {
            tracing::warn!(error = %e, "interfaces not shared with the other members");
        }
        members.join(io.now(), seeds);
        self.seeds = seeds.to_vec();
        self.announce_after = Some(io.now() + JOIN_SETTLE);
        self.members = Some(members.members().map(str::to_owned).collect());
        self.detector = Some((members, addr));
        self.recompute(io);
    }

    /// A membership datagram arrived.
    pub fn handle_datagram(&mut self, io: &mut impl Io, from: SocketAddr, data: &[u8]) {
        if let Some((m, _)) = &mut self.detector {
            m.handle_datagram(io.now(), from, data);
        }
        self.after_membership(io);
    }

    /// Re-runs the elections when the failure detector changed its mind.
    fn after_membership(&mut self, io: &mut impl Io) {
        let Some((m, _)) = &mut self.detector else {
            self.flush(io);
            return;
        };
        let mut changed = false;
        while let Some(e) = m.poll_event() {
            tracing::info!(event = ?e, "membership");
            changed = true;
            if let MemberEvent::Up { name, .. } = e
                && name != self.cfg.node
            {
                self.newcomers.insert(name);
                if self.rejoining {
                    self.rejoining = false;
                    let soon = io.now() + REJOIN_MARGIN;
                    self.announce_after = self.announce_after.map(|t| t.min(soon));
                }
            }
        }
        let someone_back = !self.newcomers.is_empty();
        if changed {
            self.members = Some(m.members().map(str::to_owned).collect());
            let me = self.cfg.node.as_str();
            self.peer_meta = m
                .members()
                .filter(|n| *n != me)
                .filter_map(|n| {
                    let meta = NodeMeta::decode(m.member_meta(n)?)?;
                    Some((n.to_owned(), meta))
                })
                .collect();
            self.recompute(io);
            self.newcomers.clear();
            // What we still announce after the election, we announce again: the member
            // that is back may have drawn clients away while we could not see it.
            if someone_back && self.stop_answering_at.is_none() {
                self.announcer.reassert(io.now());
                self.flush(io);
            }
        } else {
            self.flush(io);
        }
    }

    /// What this node announces now.
    pub fn announcements(&self) -> &Announcements {
        &self.last
    }

    /// Addresses answered for on the wire now (past the probe, not in conflict).
    pub fn l2_announced(&self) -> Vec<IpAddr> {
        self.announcer.announced().collect()
    }

    /// BGP session state per peer.
    pub fn bgp_states(&self) -> BTreeMap<&str, session::State> {
        self.peers
            .iter()
            .map(|(n, p)| (n.as_str(), p.session.state()))
            .collect()
    }

    /// Layer 2 counters per address (for metrics).
    pub fn l2_counters(&self) -> &BTreeMap<IpAddr, L2Counters> {
        &self.l2_counters
    }

    /// Address conflicts found so far.
    pub fn conflicts(&self) -> &[Conflict] {
        &self.conflicts
    }

    /// Installs a validated configuration.
    pub fn set_config(&mut self, io: &mut impl Io, config: Config) {
        self.config = Some(config);
        self.recompute(io);
    }

    /// Replaces the Services (with endpoints) the speaker knows.
    pub fn set_services(&mut self, io: &mut impl Io, services: Vec<ServiceView>) {
        self.services = services;
        self.recompute(io);
    }

    /// Replaces the configuration, the Services and the nodes at once, with one
    /// election: a reload that changes several of them never passes through a mixture
    /// of old and new (which could withdraw an address only to probe and announce it
    /// again).
    pub fn set_view(
        &mut self,
        io: &mut impl Io,
        config: Config,
        services: Vec<ServiceView>,
        nodes: BTreeMap<String, NodeInfo>,
    ) {
        self.config = Some(config);
        self.services = services;
        self.nodes = nodes;
        self.recompute(io);
    }

    /// The failure detector, when membership is on (for its counters and members).
    pub fn membership(&self) -> Option<&Members> {
        self.detector.as_ref().map(|(m, _)| m)
    }

    /// Replaces the known nodes.
    pub fn set_nodes(&mut self, io: &mut impl Io, nodes: BTreeMap<String, NodeInfo>) {
        self.nodes = nodes;
        self.recompute(io);
    }

    /// Replaces the live membership (`None`: membership disabled, every node counts).
    pub fn set_members(&mut self, io: &mut impl Io, members: Option<BTreeSet<String>>) {
        self.members = members;
        self.recompute(io);
    }

    /// Replaces this node's interfaces eligible for Layer 2 announcing. The other
    /// members hear of the change through the membership metadata, so that a node
    /// whose announcing interface went down stops being a candidate everywhere.
    ///
    /// A node that had none (its links were down: it was cut off) and gets one back
    /// rejoins the membership through its seeds and announces nothing until a member
    /// has answered ([`REJOIN_MARGIN`] after that, at most [`REJOIN_SETTLE_MAX`]).
    /// Otherwise it would still hold the others dead, elect itself, probe the address
    /// and find it answered by the node that took it over (which still holds *it*
    /// dead): a "conflict" that keeps the address unannounced for the conflict retry
    /// interval once the membership has healed and handed the address back. A fixed
    /// settle is not enough: the node's neighbour entries went with its carrier, so the
    /// first exchange can take hundreds of milliseconds.
    pub fn set_interfaces(&mut self, io: &mut impl Io, interfaces: Vec<Interface>) {
        let regained = self.interfaces.is_empty() && !interfaces.is_empty();
        self.interfaces = interfaces;
        let meta = self.my_meta().encode();
        if let Some((m, _)) = &mut self.detector
            && let Err(e) = m.set_meta(io.now(), meta)
        {
            tracing::warn!(error = %e, "interfaces not shared with the other members");
        }
        if regained
            && self.stop_answering_at.is_none()
            && let Some((m, _)) = &mut self.detector
        {
            m.join(io.now(), &self.seeds);
            self.rejoining = !self.seeds.is_empty();
            let settle = if self.rejoining {
                REJOIN_SETTLE_MAX
            } else {
                JOIN_SETTLE
            };
            self.announce_after = Some(io.now() + settle);
        }
        self.recompute(io);
    }

    /// What this node would announce if it could announce on any interface: MetalLB's
    /// election, which does not look at interfaces. An address here whose
    /// L2Advertisements name only interfaces this node lacks is MetalLB's
    /// `announceFailed`: the operator named an interface that does not exist. ferrolb
    /// elects another node instead when one has the interface; this view is what the
    /// warning is judged on, so a misspelt interface is still reported.
    pub fn announcements_ignoring_interfaces(&self) -> Announcements {
        let Some(cfg) = &self.config else {
            return Announcements::default();
        };
        let mut nodes = self.election_nodes();
        if let Some(me) = nodes.get_mut(&self.cfg.node) {
            me.up_interfaces = None;
        }
        let world = World {
            config: cfg,
            nodes: &nodes,
            members: self.members.as_ref(),
            ignore_exclude_lb: self.cfg.ignore_exclude_lb,
        };
        announcements(&world, &self.cfg.node, &self.services)
    }

    fn my_meta(&self) -> NodeMeta {
        NodeMeta::new(self.interfaces.iter().map(|i| (i.name.as_str(), i.mac)))
    }

    /// The nodes as the election sees them: what the cluster says, with the
    /// interfaces each live member reports up (ours, we know).
    fn election_nodes(&self) -> BTreeMap<String, NodeInfo> {
        let mut nodes = self.nodes.clone();
        for (name, n) in &mut nodes {
            if *name == self.cfg.node {
                n.up_interfaces = Some(self.interfaces.iter().map(|i| i.name.clone()).collect());
            } else if let Some(up) = self.peer_meta.get(name).and_then(NodeMeta::up_interfaces) {
                n.up_interfaces = Some(up);
            }
        }
        nodes
    }

    /// A frame arrived on `iface`.
    pub fn handle_frame(&mut self, io: &mut impl Io, iface: &str, frame: &[u8]) {
        let Some(i) = self.interfaces.iter().find(|i| i.name == iface).cloned() else {
            return;
        };
        // MACs of speaker nodes are not address conflicts: ours, and the other
        // members' from their metadata.
        let known: BTreeSet<Mac> = self
            .interfaces
            .iter()
            .map(|k| k.mac)
            .chain(
                self.peer_meta
                    .values()
                    .flat_map(|m| m.interfaces.iter().map(|(_, mac)| *mac)),
            )
            .collect();
        let replies = responder::handle_frame(
            io.now(),
            &mut self.announcer,
            &i,
            frame,
            |m| known.contains(&m),
            &mut self.l2_counters,
        );
        for r in replies {
            io.send_frame(iface, &r);
        }
        self.conflicts.extend(self.announcer.drain_conflicts());
        self.flush(io);
    }

    /// The session owning connection `conn`, with the session's own id for it.
    fn session_of(&mut self, conn: ConnId) -> Option<(&mut PeerSession, session::ConnId)> {
        self.peers.values_mut().find_map(|p| match p.conn {
            Some((c, sid)) if c == conn => Some((p, sid)),
            _ => None,
        })
    }

    /// A connection the speaker asked for is up.
    pub fn handle_connected(&mut self, io: &mut impl Io, conn: ConnId) {
        let now = io.now();
        if let Some((p, sid)) = self.session_of(conn) {
            p.session.handle_connected(now, sid);
        }
        self.flush(io);
    }

    /// Bytes arrived on a connection.
    pub fn handle_stream(&mut self, io: &mut impl Io, conn: ConnId, data: &[u8]) {
        let now = io.now();
        if let Some((p, sid)) = self.session_of(conn) {
            p.session.handle_bytes(now, sid, data);
        }
        self.flush(io);
    }

    /// A connection failed or closed.
    pub fn handle_closed(&mut self, io: &mut impl Io, conn: ConnId) {
        let now = io.now();
        if let Some((p, sid)) = self.session_of(conn) {
            p.conn = None;
            p.session.handle_closed(now, sid);
        }
        self.flush(io);
    }

    /// A wake-up asked for is due.
    pub fn handle_timeout(&mut self, io: &mut impl Io) {
        let now = io.now();
        if self.stop_answering_at.is_some_and(|t| t <= now) {
            self.stop_answering_at = None;
            self.announcer.set(now, &BTreeMap::new(), |_| true);
            self.config = None;
        }
        if self.announce_after.is_some_and(|t| t <= now) {
            self.announce_after = None;
            self.rejoining = false;
            self.recompute(io);
        }
        self.announcer.handle_timeout(now);
        for p in self.peers.values_mut() {
            p.session.handle_timeout(now);
        }
        if let Some((m, _)) = &mut self.detector
            && m.poll_timeout().is_some_and(|t| t <= now)
        {
            m.handle_timeout(now);
        }
        self.after_membership(io);
    }

    /// Planned shutdown (SIGTERM): leave the membership so the successor takes over at
    /// once, keep answering for our addresses during [`HANDOVER_GRACE`] while clients
    /// move to it, then stop; BGP sessions end with a Cease carrying `reason`. Without
    /// membership, answers stop at once.
    pub fn shutdown(&mut self, io: &mut impl Io, reason: &str) {
        let now = io.now();
        for p in self.peers.values_mut() {
            p.session.stop(reason);
        }
        match &mut self.detector {
            Some((m, _)) => {
                m.leave(now);
                self.announcer.quiesce();
                self.stop_answering_at = Some(now + HANDOVER_GRACE);
            }
            None => {
                self.announcer.set(now, &BTreeMap::new(), |_| true);
                self.config = None;
            }
        }
        self.flush(io);
    }

    /// Whether a planned shutdown has finished: nothing is answered any more.
    pub fn is_stopped(&self) -> bool {
        self.config.is_none() && self.stop_answering_at.is_none()
    }

    fn recompute(&mut self, io: &mut impl Io) {
        let Some(cfg) = &self.config else {
            return;
        };
        if self.stop_answering_at.is_some() {
            // Shutting down: keep the current announcements until the grace ends.
            self.flush(io);
            return;
        }
        let nodes = self.election_nodes();
        let world = World {
            config: cfg,
            nodes: &nodes,
            members: self.members.as_ref(),
            ignore_exclude_lb: self.cfg.ignore_exclude_lb,
        };
        let ann = announcements(&world, &self.cfg.node, &self.services);
        // Layer 2: "all interfaces" means every eligible interface we have.
        let all: BTreeSet<String> = self.interfaces.iter().map(|i| i.name.clone()).collect();
        let settling = self.announce_after.is_some_and(|t| io.now() < t);
        let want: BTreeMap<IpAddr, BTreeSet<String>> = ann
            .layer2
            .iter()
            .map(|(ip, a)| {
                let ifaces = if a.interfaces.is_empty() {
                    all.clone()
                } else {
                    a.interfaces.intersection(&all).cloned().collect()
                };
                (*ip, ifaces)
            })
            .filter(|(_, ifaces)| !ifaces.is_empty() && !settling)
            .collect();
        let me = self.cfg.node.clone();
        let lost: Vec<IpAddr> = self
            .announcer
            .announced()
            .filter(|ip| !want.contains_key(ip))
            .filter(|ip| {
                ann.l2_owners
                    .get(ip)
                    .is_some_and(|o| self.newcomers.contains(o))
            })
            .collect();
        let grace = yield_to_newcomer_for(&self.cfg.announcer);
        for ip in lost {
            self.announcer.yield_to_newcomer(io.now(), ip, grace);
        }
        let previous = std::mem::take(&mut self.owners);
        self.announcer.set(io.now(), &want, |ip| {
            previous.get(&ip).is_some_and(|o| *o != me)
        });
        self.owners = ann.l2_owners.clone();
        // BGP: one session per peer selecting this node.
        let wanted: BTreeSet<String> = ann.bgp.keys().cloned().collect();
        let gone: Vec<String> = self
            .peers
            .keys()
            .filter(|p| !wanted.contains(*p))
            .cloned()
            .collect();
        for name in gone {
            if let Some(mut p) = self.peers.remove(&name) {
                p.session.stop("peer de-configured");
                p.drive(io, &mut self.next_conn);
            }
        }
        for (name, routes) in &ann.bgp {
            let Some(peer) = cfg.peers.get(name) else {
                continue;
            };
            if !self.peers.contains_key(name) {
                let Some(p) = self.new_session(peer) else {
                    continue;
                };
                self.peers.insert(name.clone(), p);
                if let Some(p) = self.peers.get_mut(name) {
                    p.session.start(io.now());
                }
            }
            if let Some(p) = self.peers.get_mut(name) {
                p.session.set_routes(routes.clone());
            }
        }
        self.last = ann;
        self.flush(io);
    }

    fn new_session(&self, peer: &Peer) -> Option<PeerSession> {
        let PeerAddress::Ip(addr) = peer.address else {
            tracing::warn!(peer = %peer.name, "unnumbered BGP peers are not supported yet; not connecting");
            return None;
        };
        let source = peer.source_address;
        let router_id = peer
            .router_id
            .or(match source {
                Some(IpAddr::V4(v4)) => Some(v4),
                _ => None,
            })
            .unwrap_or_else(|| router_id_from_name(&self.cfg.node));
        let peer_as = match peer.peer_asn {
            PeerAsn::Fixed(a) => PeerAs::Fixed(a),
            PeerAsn::Internal => PeerAs::Internal,
            PeerAsn::External => PeerAs::External,
        };
        let mut sc = SessionConfig::new(peer.local_asn.unwrap_or(peer.my_asn), peer_as, router_id);
        if let Some(t) = peer.timers {
            sc.hold_time = Duration::from_nanos(t.hold.as_nanos().max(0) as u64);
            sc.keepalive = Some(Duration::from_nanos(t.keepalive.as_nanos().max(0) as u64));
        }
        sc.connect_time = peer
            .connect_time
            .map(|d| Duration::from_nanos(d.as_nanos().max(0) as u64));
        if peer.graceful_restart {
            sc.graceful_restart = Some((Duration::from_secs(120), false));
        }
        match source {
            Some(IpAddr::V4(v4)) => sc.next_hop_v4 = Some(v4),
            Some(IpAddr::V6(v6)) => sc.next_hop_v6 = Some(v6),
            None => {}
        }
        let ebgp = !matches!(peer.peer_asn, PeerAsn::Fixed(a) if a == peer.my_asn)
            && peer.peer_asn != PeerAsn::Internal;
        Some(PeerSession {
            session: Session::new(sc),
            conn: None,
            spec: ConnectSpec {
                peer: SocketAddr::new(addr, peer.port),
                source,
                md5: peer.password.as_ref().map(|p| p.as_bytes().to_vec()),
                ttl: if ebgp && peer.ebgp_multi_hop {
                    255
                } else if ebgp {
                    1
                } else {
                    64
                },
            },
        })
    }

    /// Sends what the cores produced and arms the next wake-up.
    fn flush(&mut self, io: &mut impl Io) {
        for action in self.announcer.drain_actions() {
            let (Action::Announce { iface, .. } | Action::Probe { iface, .. }) = &action;
            let iface = iface.clone();
            if let Some(i) = self.interfaces.iter().find(|i| i.name == iface) {
                for f in responder::action_frames(&action, i, &mut self.l2_counters) {
                    io.send_frame(&iface, &f);
                }
            }
        }
        for p in self.peers.values_mut() {
            p.drive(io, &mut self.next_conn);
        }
        if let Some((m, addr)) = &mut self.detector {
            while let Some(t) = m.poll_transmit() {
                io.send_datagram(*addr, t.to, &t.data);
            }
        }
        let settle = self
            .announce_after
            .filter(|t| io.now() < *t)
            .or(self.stop_answering_at);
        let next = [
            self.announcer.poll_timeout(),
            self.detector.as_ref().and_then(|(m, _)| m.poll_timeout()),
            settle,
        ]
        .into_iter()
        .chain(self.peers.values().map(|p| p.session.poll_timeout()))
        .flatten()
        .min();
        if let Some(t) = next {
            io.wake_at(t);
        }
    }
}

impl PeerSession {
    /// Performs the session's outputs through `io`; new connections get ids from
    /// `next_conn`.
    fn drive(&mut self, io: &mut impl Io, next_conn: &mut ConnId) {
        while let Some(o) = self.session.poll_output() {
            match o {
                Output::Connect(sid) => {
                    let c = *next_conn;
                    *next_conn += 1;
                    self.conn = Some((c, sid));
                    io.connect(c, &self.spec);
                }
                Output::Send(_, bytes) => {
                    if let Some((c, _)) = self.conn {
                        io.send_stream(c, &bytes);
                    }
                }
                Output::Close(_) => {
                    if let Some((c, _)) = self.conn.take() {
                        io.close(c);
                    }
                }
                Output::Event(e) => tracing::info!(event = ?e, "BGP session"),
            }
        }
    }
}

/// A stable router ID when neither `routerID` nor an IPv4 source address is
/// configured: MetalLB falls back to a checksum of the node name; so do we (never
/// 0.0.0.0).
fn router_id_from_name(name: &str) -> Ipv4Addr {
    use sha2::Digest;
    let h = sha2::Sha256::digest(name.as_bytes());
    let id = u32::from_be_bytes([h[0], h[1], h[2], h[3]]).max(1);
    Ipv4Addr::from(id)
}

#[cfg(test)]
mod tests;
