//! One BGP session (RFC 4271 §8) as a sans-IO state machine.
//!
//! The session owns no socket and reads no clock: the driver reports TCP events and
//! received bytes with the current time, and drains [`Output`]s (connect, send, close,
//! events) and the next deadline. Received routes are decoded, counted and ignored: a
//! load balancer only announces.
//!
//! Timers follow MetalLB's native speaker where RFC 4271 leaves a choice: hold time 90 s
//! unless configured, keepalive every third of the negotiated hold time (or the
//! configured keepalive if shorter), a 10 s deadline for the TCP connect plus OPEN
//! exchange, and reconnect back-off 0, 1, 2, 4 ... 120 s, reset once established (a
//! configured `connectTime` replaces the back-off with a fixed interval). Unlike
//! MetalLB's native speaker, the hold timer is enforced on receive.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};

use core::time::Duration;
use ipnet::{IpNet, Ipv4Net};

use super::message::{
    AS_TRANS, Capability, Codec, DecodeError, GracefulRestart, Message, MpReach, MpUnreach,
    Notification, Open, Origin, Segment, Update, afi, code, frame_len, safi, subcode,
};
use crate::time::Instant;

/// Connection handle, chosen by the session; the driver echoes it back.
pub type ConnId = u64;

/// What to expect as the peer's AS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerAs {
    /// Exactly this AS.
    Fixed(u32),
    /// Our own AS (iBGP), learned from the OPEN.
    Internal,
    /// Any other AS (eBGP), learned from the OPEN.
    External,
}

/// Session parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// The AS we present.
    pub local_as: u32,
    /// The peer's AS.
    pub peer_as: PeerAs,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Hold time we propose (0 disables keepalives and the hold timer).
    pub hold_time: Duration,
    /// Keepalive interval; `None`: a third of the negotiated hold time.
    pub keepalive: Option<Duration>,
    /// Fixed time between connection attempts; `None`: exponential back-off.
    pub connect_time: Option<Duration>,
    /// Offer graceful restart with this restart time; `restarting` sets the R bit.
    pub graceful_restart: Option<(Duration, bool)>,
    /// Multi-protocol families to offer: (AFI, SAFI).
    pub families: Vec<(u16, u8)>,
    /// Next hop for IPv4 routes (usually the session's local IPv4 address).
    pub next_hop_v4: Option<Ipv4Addr>,
    /// Next hop for IPv6 routes.
    pub next_hop_v6: Option<std::net::Ipv6Addr>,
    /// Never connect; wait for the peer to (a route server or a router's listening
    /// side). Incoming connections are taken in either mode.
    pub passive: bool,
    /// Hand every UPDATE the peer sends to the application
    /// ([`SessionEvent::Received`]); a speaker only counts them.
    pub report_received: bool,
}

impl SessionConfig {
    /// Defaults: hold 90 s, both unicast families, back-off reconnects.
    pub fn new(local_as: u32, peer_as: PeerAs, router_id: Ipv4Addr) -> Self {
        Self {
            local_as,
            peer_as,
            router_id,
            hold_time: Duration::from_secs(90),
            keepalive: None,
            connect_time: None,
            graceful_restart: None,
            families: vec![(afi::IPV4, safi::UNICAST), (afi::IPV6, safi::UNICAST)],
            next_hop_v4: None,
            next_hop_v6: None,
            passive: false,
            report_received: false,
        }
    }
}

/// RFC 4271 states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Not trying.
    Idle,
    /// TCP connect in progress.
    Connect,
    /// Waiting to retry the connection.
    Active,
    /// OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged, waiting for the first KEEPALIVE.
    OpenConfirm,
    /// Up.
    Established,
}

/// Route attributes we announce for one prefix.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Route {
    /// COMMUNITIES values.
    pub communities: Vec<u32>,
    /// LARGE_COMMUNITY values.
    pub large_communities: Vec<(u32, u32, u32)>,
    /// LOCAL_PREF (sent to iBGP peers only).
    pub local_pref: Option<u32>,
}

/// What was agreed in the OPEN exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// The peer's AS.
    pub peer_as: u32,
    /// The peer's BGP identifier.
    pub peer_id: Ipv4Addr,
    /// Negotiated hold time.
    pub hold_time: Duration,
    /// Keepalive interval in use.
    pub keepalive: Duration,
    /// 4-octet AS numbers on the wire.
    pub four_octet_as: bool,
    /// Families both sides offered.
    pub families: Vec<(u16, u8)>,
    /// The peer offered graceful restart.
    pub peer_graceful_restart: bool,
}

/// Something the application may want to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    /// The state changed.
    StateChanged(State),
    /// The session came up.
    Established(Negotiated),
    /// The session went down.
    Down(String),
    /// The peer sent an UPDATE (only with `report_received`).
    Received(Box<Update>),
}

/// An action for the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Open a TCP connection to the peer (source, MD5, TTL as configured).
    Connect(ConnId),
    /// Write bytes on a connection.
    Send(ConnId, Vec<u8>),
    /// Close a connection.
    Close(ConnId),
    /// Tell the application.
    Event(SessionEvent),
}

/// Counters, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// OPENs sent.
    pub opens_sent: u64,
    /// OPENs received.
    pub opens_received: u64,
    /// UPDATEs sent.
    pub updates_sent: u64,
    /// UPDATEs received.
    pub updates_received: u64,
    /// Prefixes the peer announced to us (ignored).
    pub prefixes_received: u64,
    /// KEEPALIVEs sent.
    pub keepalives_sent: u64,
    /// KEEPALIVEs received.
    pub keepalives_received: u64,
    /// NOTIFICATIONs sent.
    pub notifications_sent: u64,
    /// NOTIFICATIONs received.
    pub notifications_received: u64,
    /// Messages refused as malformed.
    pub malformed_received: u64,
    /// Times the session reached Established.
    pub established_transitions: u64,
}

const CONNECT_DEADLINE: Duration = Duration::from_secs(10);
const OPEN_SENT_HOLD: Duration = Duration::from_secs(240);
const BACKOFF_MAX: Duration = Duration::from_secs(120);
/// UPDATE payload budget: the 4096-byte maximum minus header, lengths and attributes
/// leaves room for several hundred /32s; we stay well inside it.
const NLRI_BUDGET: usize = 3000;

/// One BGP session.
#[derive(Debug)]
pub struct Session {
    cfg: SessionConfig,
    state: State,
    conn: Option<ConnId>,
    /// Whether `conn` is the connection we opened (else the one the peer opened).
    conn_outgoing: bool,
    /// A connection the peer opened while `conn` was in its OPEN exchange, with the
    /// bytes received on it: kept until its OPEN says which of the two survives
    /// (RFC 4271 §6.8).
    second: Option<(ConnId, Vec<u8>)>,
    next_conn: ConnId,
    rx: Vec<u8>,
    negotiated: Option<Negotiated>,
    /// When to (re)connect, in Idle-started / Active.
    retry_at: Option<Instant>,
    /// Connect + OPEN exchange deadline, or the hold timer.
    hold_at: Option<Instant>,
    keepalive_at: Option<Instant>,
    backoff: Duration,
    started: bool,
    /// What we want the peer to have.
    desired: BTreeMap<IpNet, Route>,
    /// What the peer has from us.
    advertised: BTreeMap<IpNet, Route>,
    out: VecDeque<Output>,
    stats: Stats,
}

impl Session {
    /// A stopped session.
    pub fn new(cfg: SessionConfig) -> Self {
        Self {
            cfg,
            state: State::Idle,
            conn: None,
            conn_outgoing: false,
            second: None,
            next_conn: 1,
            rx: Vec::new(),
            negotiated: None,
            retry_at: None,
            hold_at: None,
            keepalive_at: None,
            backoff: Duration::ZERO,
            started: false,
            desired: BTreeMap::new(),
            advertised: BTreeMap::new(),
            out: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The OPEN exchange's result while established.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// Prefixes the peer currently has from us.
    pub fn advertised(&self) -> impl Iterator<Item = (&IpNet, &Route)> {
        self.advertised.iter()
    }

    /// The next action for the driver.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When to call [`Session::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.retry_at, self.hold_at, self.keepalive_at]
            .into_iter()
            .flatten()
            .min()
    }

    fn set_state(&mut self, s: State) {
        if self.state != s {
            self.state = s;
            self.out
                .push_back(Output::Event(SessionEvent::StateChanged(s)));
        }
    }

    fn codec(&self) -> Codec {
        Codec {
            four_octet_as: self.negotiated.as_ref().is_none_or(|n| n.four_octet_as),
        }
    }

    fn send(&mut self, msg: &Message) {
        let Some(conn) = self.conn else { return };
        self.send_on(conn, msg);
    }

    fn send_on(&mut self, conn: ConnId, msg: &Message) {
        match msg.encode(self.codec()) {
            Ok(bytes) => {
                match msg {
                    Message::Open(_) => self.stats.opens_sent += 1,
                    Message::Update(_) => self.stats.updates_sent += 1,
                    Message::Keepalive => self.stats.keepalives_sent += 1,
                    Message::Notification(_) => self.stats.notifications_sent += 1,
                    Message::RouteRefresh(..) => {}
                }
                self.out.push_back(Output::Send(conn, bytes));
            }
            Err(e) => tracing::error!(error = %e, "BGP message not encodable; not sent"),
        }
    }

    /// Starts the session (ManualStart): connect now.
    pub fn start(&mut self, now: Instant) {
        self.started = true;
        if self.state == State::Idle {
            self.retry_at = (!self.cfg.passive).then_some(now);
            self.set_state(State::Active);
        }
    }

    /// The peer opened a connection to us. Returns the id the session gives it, or
    /// `None` when the session is stopped and the driver must refuse it. With no
    /// connection of ours past TCP yet, the peer's replaces our attempt; during our
    /// OPEN exchange both are kept until the peer's OPEN arrives and the higher BGP
    /// identifier decides (RFC 4271 §6.8); once established, the newcomer gets a Cease
    /// (Connection Collision Resolution).
    pub fn handle_accepted(&mut self, now: Instant) -> Option<ConnId> {
        if !self.started {
            return None;
        }
        let c = self.next_conn;
        self.next_conn += 1;
        match self.state {
            State::Idle | State::Active | State::Connect => {
                if let Some(old) = self.conn.take() {
                    self.out.push_back(Output::Close(old));
                }
                self.conn = Some(c);
                self.conn_outgoing = false;
                self.rx.clear();
                self.retry_at = None;
                self.hold_at = Some(now + CONNECT_DEADLINE);
                let open = self.open();
                self.send(&Message::Open(open));
                self.set_state(State::OpenSent);
            }
            State::OpenSent | State::OpenConfirm => {
                if let Some((old, _)) = self.second.take() {
                    self.out.push_back(Output::Close(old));
                }
                let open = self.open();
                self.send_on(c, &Message::Open(open));
                self.second = Some((c, Vec::new()));
            }
            State::Established => {
                self.send_on(c, &Message::Notification(collision()));
                self.out.push_back(Output::Close(c));
            }
        }
        Some(c)
    }

    /// Bytes on the second connection: its first message must be an OPEN, which
    /// settles the collision.
    fn second_bytes(&mut self, now: Instant, data: &[u8]) {
        let Some((c, rx)) = &mut self.second else {
            return;
        };
        let c = *c;
        rx.extend_from_slice(data);
        let len = match frame_len(rx) {
            Ok(Some(len)) if rx.len() >= len => len,
            Ok(_) => return,
            Err(e) => {
                self.stats.malformed_received += 1;
                self.close_second(e.notification());
                return;
            }
        };
        let codec = Codec {
            four_octet_as: true,
        };
        let msg = Message::decode(&rx[..len], codec);
        let rest = rx[len..].to_vec();
        let o = match msg {
            Ok(Message::Open(o)) => o,
            Ok(_) => {
                return self.close_second(Notification {
                    code: code::FSM,
                    subcode: 1,
                    data: Vec::new(),
                });
            }
            Err(e) => {
                self.stats.malformed_received += 1;
                return self.close_second(e.notification());
            }
        };
        self.stats.opens_received += 1;
        let ours_wins = u32::from(self.cfg.router_id) > u32::from(o.bgp_id);
        if ours_wins && self.conn_outgoing {
            tracing::debug!("BGP connection collision: keeping ours");
            return self.close_second(collision());
        }
        tracing::debug!("BGP connection collision: keeping the peer's");
        // The peer's connection survives: ours ends quietly (it was never up).
        if let Some(old) = self.conn.take() {
            self.send_on(old, &Message::Notification(collision()));
            self.out.push_back(Output::Close(old));
        }
        self.second = None;
        self.conn = Some(c);
        self.conn_outgoing = false;
        self.rx.clear();
        self.negotiated = None;
        self.keepalive_at = None;
        self.state = State::OpenSent;
        self.on_open(now, o);
        if !rest.is_empty() && self.conn == Some(c) {
            self.handle_bytes(now, c, &rest);
        }
    }

    fn close_second(&mut self, n: Notification) {
        if let Some((c, _)) = self.second.take() {
            self.send_on(c, &Message::Notification(n));
            self.out.push_back(Output::Close(c));
        }
    }

    /// Stops the session with a Cease / Administrative Shutdown carrying `reason`.
    pub fn stop(&mut self, reason: &str) {
        self.started = false;
        if matches!(
            self.state,
            State::OpenSent | State::OpenConfirm | State::Established
        ) {
            self.send(&Message::Notification(Notification::shutdown(reason)));
        }
        self.drop_connection(format!("stopped: {reason}"));
        self.retry_at = None;
        self.set_state(State::Idle);
    }

    fn drop_connection(&mut self, why: String) {
        let was_up = self.state == State::Established;
        if let Some(c) = self.conn.take() {
            self.out.push_back(Output::Close(c));
        }
        if let Some((c, _)) = self.second.take() {
            self.out.push_back(Output::Close(c));
        }
        self.rx.clear();
        self.negotiated = None;
        self.hold_at = None;
        self.keepalive_at = None;
        self.advertised.clear();
        if was_up {
            self.out.push_back(Output::Event(SessionEvent::Down(why)));
        } else {
            tracing::debug!(reason = %why, "BGP connection attempt ended");
        }
    }

    /// Closes the connection after sending `n`, and schedules a retry.
    fn fail(&mut self, now: Instant, n: Option<Notification>, why: String) {
        if let Some(n) = n {
            self.send(&Message::Notification(n));
        }
        self.drop_connection(why);
        self.schedule_retry(now);
    }

    fn schedule_retry(&mut self, now: Instant) {
        if !self.started {
            self.set_state(State::Idle);
            return;
        }
        if self.cfg.passive {
            self.set_state(State::Active);
            return;
        }
        let wait = match self.cfg.connect_time {
            Some(t) => t,
            None => {
                let w = self.backoff;
                self.backoff = if w.is_zero() {
                    Duration::from_secs(1)
                } else {
                    (w * 2).min(BACKOFF_MAX)
                };
                w
            }
        };
        self.retry_at = Some(now + wait);
        self.set_state(State::Active);
    }

    /// Timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.retry_at.is_some_and(|t| t <= now) {
            self.retry_at = None;
            if self.started && self.conn.is_none() {
                let c = self.next_conn;
                self.next_conn += 1;
                self.conn = Some(c);
                self.conn_outgoing = true;
                self.hold_at = Some(now + CONNECT_DEADLINE);
                self.out.push_back(Output::Connect(c));
                self.set_state(State::Connect);
            }
        }
        if self.hold_at.is_some_and(|t| t <= now) {
            self.hold_at = None;
            match self.state {
                State::Connect => self.fail(now, None, "TCP connect timed out".into()),
                _ => self.fail(
                    now,
                    Some(Notification {
                        code: code::HOLD_TIMER_EXPIRED,
                        subcode: 0,
                        data: Vec::new(),
                    }),
                    "hold timer expired".into(),
                ),
            }
        }
        if self.keepalive_at.is_some_and(|t| t <= now)
            && matches!(self.state, State::OpenConfirm | State::Established)
        {
            self.send(&Message::Keepalive);
            self.keepalive_at = self.negotiated.as_ref().map(|n| now + n.keepalive);
        }
    }

    /// The TCP connection `conn` is up.
    pub fn handle_connected(&mut self, now: Instant, conn: ConnId) {
        if self.conn != Some(conn) || self.state != State::Connect {
            self.out.push_back(Output::Close(conn));
            return;
        }
        let open = self.open();
        self.send(&Message::Open(open));
        // The connect deadline keeps running through the OPEN exchange (MetalLB's 10 s),
        // bounded by RFC 4271's large OpenSent hold time.
        self.hold_at = self.hold_at.map(|t| t.min(now + OPEN_SENT_HOLD));
        self.set_state(State::OpenSent);
    }

    /// The TCP connection `conn` failed or was closed by the peer.
    pub fn handle_closed(&mut self, now: Instant, conn: ConnId) {
        if self.second.as_ref().is_some_and(|(c, _)| *c == conn) {
            self.second = None;
            return;
        }
        if self.conn == Some(conn) {
            self.fail(now, None, "connection closed".into());
        }
    }

    fn open(&self) -> Open {
        let mut capabilities: Vec<Capability> = self
            .cfg
            .families
            .iter()
            .map(|(a, s)| Capability::Multiprotocol { afi: *a, safi: *s })
            .collect();
        capabilities.push(Capability::RouteRefresh);
        if let Some((t, restarting)) = self.cfg.graceful_restart {
            capabilities.push(Capability::GracefulRestart(GracefulRestart {
                restarting,
                notification: false,
                restart_time: t.as_secs().min(4095) as u16,
                families: self
                    .cfg
                    .families
                    .iter()
                    .map(|(a, s)| (*a, *s, false))
                    .collect(),
            }));
        }
        capabilities.push(Capability::FourOctetAs(self.cfg.local_as));
        Open {
            my_as: u16::try_from(self.cfg.local_as).unwrap_or(AS_TRANS),
            hold_time: self.cfg.hold_time.as_secs().min(65535) as u16,
            bgp_id: self.cfg.router_id,
            capabilities,
        }
    }

    /// Bytes received on `conn`.
    pub fn handle_bytes(&mut self, now: Instant, conn: ConnId, data: &[u8]) {
        if self.second.as_ref().is_some_and(|(c, _)| *c == conn) {
            return self.second_bytes(now, data);
        }
        if self.conn != Some(conn) {
            return;
        }
        self.rx.extend_from_slice(data);
        loop {
            let len = match frame_len(&self.rx) {
                Ok(Some(len)) if self.rx.len() >= len => len,
                Ok(_) => return,
                Err(e) => return self.malformed(now, &e),
            };
            let msg = Message::decode(&self.rx[..len], self.codec());
            self.rx.drain(..len);
            match msg {
                Ok(m) => self.on_message(now, m),
                Err(e) => return self.malformed(now, &e),
            }
            if self.conn != Some(conn) {
                return;
            }
        }
    }

    fn malformed(&mut self, now: Instant, e: &DecodeError) {
        self.stats.malformed_received += 1;
        tracing::warn!(error = %e, "malformed BGP message from peer");
        self.fail(
            now,
            Some(e.notification()),
            format!("malformed message: {e}"),
        );
    }

    fn fsm_error(&mut self, now: Instant, what: &str) {
        let sub = match self.state {
            State::OpenSent => 1,
            State::OpenConfirm => 2,
            State::Established => 3,
            _ => 0,
        };
        self.fail(
            now,
            Some(Notification {
                code: code::FSM,
                subcode: sub,
                data: Vec::new(),
            }),
            format!("unexpected {what} in {:?}", self.state),
        );
    }

    fn on_message(&mut self, now: Instant, m: Message) {
        // Any message from the peer restarts the hold timer once negotiated.
        if let Some(n) = &self.negotiated
            && !n.hold_time.is_zero()
        {
            self.hold_at = Some(now + n.hold_time);
        }
        match m {
            Message::Open(o) => {
                self.stats.opens_received += 1;
                if self.state != State::OpenSent {
                    return self.fsm_error(now, "OPEN");
                }
                self.on_open(now, o);
            }
            Message::Keepalive => {
                self.stats.keepalives_received += 1;
                match self.state {
                    State::OpenConfirm => self.established(now),
                    State::Established => {}
                    _ => self.fsm_error(now, "KEEPALIVE"),
                }
            }
            Message::Update(u) => {
                self.stats.updates_received += 1;
                if self.state != State::Established {
                    return self.fsm_error(now, "UPDATE");
                }
                let n = u.nlri.len() + u.mp_reach.as_ref().map_or(0, |m| m.nlri.len());
                self.stats.prefixes_received += n as u64;
                if self.cfg.report_received {
                    self.out.push_back(Output::Event(SessionEvent::Received(u)));
                }
            }
            Message::Notification(n) => {
                self.stats.notifications_received += 1;
                let why = match n.shutdown_message() {
                    Some(text) => {
                        format!("peer sent NOTIFICATION {}/{}: {text}", n.code, n.subcode)
                    }
                    None => format!("peer sent NOTIFICATION {}/{}", n.code, n.subcode),
                };
                self.fail(now, None, why);
            }
            Message::RouteRefresh(a, _safi) => {
                if self.state == State::Established {
                    // Forget what the peer has of that family, then resend it all.
                    let v6 = a == afi::IPV6;
                    self.advertised
                        .retain(|p, _| matches!(p, IpNet::V6(_)) != v6);
                    self.sync_routes();
                }
            }
        }
    }

    fn on_open(&mut self, now: Instant, o: Open) {
        let peer_as = o.asn();
        let four = o
            .capabilities
            .iter()
            .any(|c| matches!(c, Capability::FourOctetAs(_)));
        let bad_as = match self.cfg.peer_as {
            PeerAs::Fixed(a) => a != peer_as,
            PeerAs::Internal => peer_as != self.cfg.local_as,
            PeerAs::External => peer_as == self.cfg.local_as,
        };
        if bad_as {
            let data = o.my_as.to_be_bytes().to_vec();
            return self.fail(
                now,
                Some(Notification {
                    code: code::OPEN_MESSAGE,
                    subcode: subcode::BAD_PEER_AS,
                    data,
                }),
                format!("peer AS {peer_as} is not the expected one"),
            );
        }
        if !four && self.cfg.local_as > 65535 {
            // We cannot express our AS to a peer without 4-octet AS support (RFC 6793).
            let data = vec![65, 4];
            return self.fail(
                now,
                Some(Notification {
                    code: code::OPEN_MESSAGE,
                    subcode: subcode::UNSUPPORTED_CAPABILITY,
                    data,
                }),
                "peer lacks the 4-octet AS capability our AS needs".into(),
            );
        }
        if peer_as == self.cfg.local_as && o.bgp_id == self.cfg.router_id {
            return self.fail(
                now,
                Some(Notification {
                    code: code::OPEN_MESSAGE,
                    subcode: subcode::BAD_BGP_IDENTIFIER,
                    data: Vec::new(),
                }),
                "iBGP peer uses our BGP identifier".into(),
            );
        }
        let ours = self.cfg.hold_time.as_secs().min(65535);
        let hold = Duration::from_secs(ours.min(u64::from(o.hold_time)));
        let third = hold / 3;
        let keepalive = self.cfg.keepalive.map_or(third, |k| k.min(third));
        let families = self
            .cfg
            .families
            .iter()
            .copied()
            .filter(|(a, s)| {
                o.supports(*a, *s)
                    || (*a == afi::IPV4
                        && *s == safi::UNICAST
                        && !o
                            .capabilities
                            .iter()
                            .any(|c| matches!(c, Capability::Multiprotocol { .. })))
            })
            .collect();
        self.negotiated = Some(Negotiated {
            peer_as,
            peer_id: o.bgp_id,
            hold_time: hold,
            keepalive,
            four_octet_as: four,
            families,
            peer_graceful_restart: o
                .capabilities
                .iter()
                .any(|c| matches!(c, Capability::GracefulRestart(_))),
        });
        self.send(&Message::Keepalive);
        if hold.is_zero() {
            self.hold_at = None;
            self.keepalive_at = None;
        } else {
            self.hold_at = Some(now + hold);
            self.keepalive_at = Some(now + keepalive);
        }
        self.set_state(State::OpenConfirm);
    }

    fn established(&mut self, _now: Instant) {
        self.backoff = Duration::ZERO;
        self.stats.established_transitions += 1;
        self.set_state(State::Established);
        if let Some(n) = self.negotiated.clone() {
            self.out
                .push_back(Output::Event(SessionEvent::Established(n)));
        }
        self.sync_routes();
        if self.cfg.graceful_restart.is_some() {
            let families = self
                .negotiated
                .as_ref()
                .map(|n| n.families.clone())
                .unwrap_or_default();
            for (a, s) in families {
                self.send(&Message::Update(Box::new(Update::end_of_rib(a, s))));
            }
        }
    }

    /// Replaces the set of routes to announce; differences are sent at once when
    /// established.
    pub fn set_routes(&mut self, routes: BTreeMap<IpNet, Route>) {
        self.desired = routes;
        if self.state == State::Established {
            self.sync_routes();
        }
    }

    fn is_ibgp(&self) -> bool {
        self.negotiated
            .as_ref()
            .is_some_and(|n| n.peer_as == self.cfg.local_as)
    }

    /// Sends the difference between what the peer has and what we want: one UPDATE per
    /// distinct attribute set, prefixes packed up to the message size, withdrawals
    /// batched.
    fn sync_routes(&mut self) {
        let families = self
            .negotiated
            .as_ref()
            .map(|n| n.families.clone())
            .unwrap_or_default();
        let has = |a: u16| families.iter().any(|(x, s)| *x == a && *s == safi::UNICAST);
        let withdrawn: Vec<IpNet> = self
            .advertised
            .keys()
            .filter(|p| !self.desired.contains_key(*p))
            .copied()
            .collect();
        let mut changed: BTreeMap<Route, Vec<IpNet>> = BTreeMap::new();
        for (p, r) in &self.desired {
            let family_ok = match p {
                IpNet::V4(_) => has(afi::IPV4) && self.cfg.next_hop_v4.is_some(),
                IpNet::V6(_) => has(afi::IPV6) && self.cfg.next_hop_v6.is_some(),
            };
            if family_ok && self.advertised.get(p) != Some(r) {
                changed.entry(r.clone()).or_default().push(*p);
            }
        }
        let (w4, w6): (Vec<IpNet>, Vec<IpNet>) =
            withdrawn.iter().partition(|p| matches!(p, IpNet::V4(_)));
        for chunk in chunks(&w4) {
            let u = Update {
                withdrawn: chunk.iter().filter_map(v4).collect(),
                ..Update::default()
            };
            self.send(&Message::Update(Box::new(u)));
        }
        for chunk in chunks(&w6) {
            let u = Update {
                mp_unreach: Some(MpUnreach {
                    afi: afi::IPV6,
                    safi: safi::UNICAST,
                    withdrawn: chunk.to_vec(),
                }),
                ..Update::default()
            };
            self.send(&Message::Update(Box::new(u)));
        }
        for p in &withdrawn {
            self.advertised.remove(p);
        }
        let ibgp = self.is_ibgp();
        let as_path = if ibgp {
            vec![]
        } else {
            vec![Segment::Sequence(vec![self.cfg.local_as])]
        };
        for (route, prefixes) in changed {
            let (p4, p6): (Vec<IpNet>, Vec<IpNet>) =
                prefixes.iter().partition(|p| matches!(p, IpNet::V4(_)));
            let base = Update {
                origin: Some(Origin::Igp),
                as_path: Some(as_path.clone()),
                local_pref: if ibgp {
                    Some(route.local_pref.unwrap_or(100))
                } else {
                    None
                },
                communities: route.communities.clone(),
                large_communities: route.large_communities.clone(),
                ..Update::default()
            };
            for chunk in chunks(&p4) {
                let u = Update {
                    next_hop: self.cfg.next_hop_v4,
                    nlri: chunk.iter().filter_map(v4).collect(),
                    ..base.clone()
                };
                self.send(&Message::Update(Box::new(u)));
            }
            for chunk in chunks(&p6) {
                let nh = self.cfg.next_hop_v6.map(IpAddr::V6).into_iter().collect();
                let u = Update {
                    mp_reach: Some(MpReach {
                        afi: afi::IPV6,
                        safi: safi::UNICAST,
                        next_hops: nh,
                        nlri: chunk.to_vec(),
                    }),
                    ..base.clone()
                };
                self.send(&Message::Update(Box::new(u)));
            }
            for p in prefixes {
                self.advertised.insert(p, route.clone());
            }
        }
    }
}

fn collision() -> Notification {
    Notification {
        code: code::CEASE,
        subcode: subcode::CONNECTION_COLLISION,
        data: Vec::new(),
    }
}

fn v4(p: &IpNet) -> Option<Ipv4Net> {
    match p {
        IpNet::V4(x) => Some(*x),
        IpNet::V6(_) => None,
    }
}

/// Splits prefixes into groups whose NLRI encoding fits one UPDATE.
fn chunks(prefixes: &[IpNet]) -> Vec<&[IpNet]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (i, p) in prefixes.iter().enumerate() {
        let s = 1 + usize::from(p.prefix_len()).div_ceil(8);
        if size + s > NLRI_BUDGET {
            out.push(&prefixes[start..i]);
            start = i;
            size = 0;
        }
        size += s;
    }
    if start < prefixes.len() {
        out.push(&prefixes[start..]);
    }
    out
}

impl PartialOrd for Route {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Route {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.communities, &self.large_communities, self.local_pref).cmp(&(
            &other.communities,
            &other.large_communities,
            other.local_pref,
        ))
    }
}

#[cfg(test)]
mod tests;
