//! TCP-like byte streams for host applications (what BGP sessions need): a three-way
//! handshake, reliable in-order delivery with cumulative ACKs and go-back-N
//! retransmission on Linux's timers, FIN close and RST — as real TCP segments on the
//! fabric, so a partition, a lost link or a dead peer affect a session exactly as they
//! affect a probe.
//!
//! What it deliberately leaves out: windows and congestion control (the simulator's
//! sessions carry a few kilobytes), options, TIME_WAIT and simultaneous open. What it
//! keeps because failover timing depends on it: a powered-off peer is *silent* (the
//! session only dies after 15 retransmissions, ~924 s, or the application's own hold
//! timer), while a peer whose host restarted answers with RST at once.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use crate::frame::{TcpSegment, tcp_flags as F};
use crate::rng::SimRng;
use crate::time::{Duration, Instant};

/// Chosen by the application for the connections it opens; connections it accepts get
/// ids with the top bit set.
pub type ConnId = u64;

/// First id given to accepted connections.
pub const ACCEPTED_BASE: ConnId = 1 << 63;

const MSS: usize = 1460;
/// `TCP_TIMEOUT_INIT`: handshake retransmission timeout.
const RTO_INIT: Duration = Duration::from_secs(1);
/// `TCP_RTO_MIN`: what a LAN's RTO settles at.
const RTO_MIN: Duration = Duration::from_millis(200);
/// `TCP_RTO_MAX`.
const RTO_MAX: Duration = Duration::from_secs(120);
/// `net.ipv4.tcp_syn_retries` / `tcp_synack_retries` (Linux uses 5 for SYN-ACK; one
/// value keeps the model small).
const SYN_RETRIES: u32 = 6;
/// `net.ipv4.tcp_retries2`.
const RETRIES2: u32 = 15;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer sent FIN.
    PeerClosed,
    /// The peer (or its restarted kernel) sent RST.
    Reset,
    /// Retransmissions ran out (a silent peer).
    TimedOut,
    /// Connection refused: RST in answer to our SYN.
    Refused,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEvent {
    Connected,
    /// A connection to a listening port completed its handshake.
    Accepted {
        remote: SocketAddr,
        local: SocketAddr,
    },
    Data(Vec<u8>),
    Closed(CloseReason),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpOut {
    Send {
        src: SocketAddr,
        dst: SocketAddr,
        seg: TcpSegment,
    },
    Event {
        app: usize,
        conn: ConnId,
        event: StreamEvent,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    SynSent,
    SynRcvd,
    Established,
    /// We sent FIN (FIN_WAIT_1/2).
    FinSent,
    /// The peer sent FIN; we may still send.
    CloseWait,
    /// Both sides sent FIN; waiting for the ACK of ours.
    LastAck,
}

#[derive(Clone, Debug)]
struct Tcb {
    app: usize,
    conn: ConnId,
    state: State,
    iss: u32,
    snd_una: u32,
    snd_nxt: u32,
    rcv_nxt: u32,
    unacked: VecDeque<TcpSegment>,
    rto: Duration,
    retries: u32,
    deadline: Option<Instant>,
}

type Key = (SocketAddr, SocketAddr);

fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// One host's TCP: a pure state machine (inputs with the time, outputs as values).
#[derive(Clone, Debug)]
pub struct TcpStack {
    tcbs: BTreeMap<Key, Tcb>,
    ids: BTreeMap<(usize, ConnId), Key>,
    listeners: BTreeMap<u16, usize>,
    next_accepted: ConnId,
    rng: SimRng,
}

impl TcpStack {
    pub fn new(rng: SimRng) -> Self {
        Self {
            tcbs: BTreeMap::new(),
            ids: BTreeMap::new(),
            listeners: BTreeMap::new(),
            next_accepted: ACCEPTED_BASE,
            rng,
        }
    }

    pub fn listen(&mut self, app: usize, port: u16) {
        self.listeners.insert(port, app);
    }

    pub fn connections(&self) -> usize {
        self.tcbs.len()
    }

    pub fn next_wakeup(&self) -> Option<Instant> {
        self.tcbs.values().filter_map(|t| t.deadline).min()
    }

    fn segment(key: Key, seq: u32, ack: u32, flags: u8, payload: Vec<u8>) -> TcpOut {
        TcpOut::Send {
            src: key.0,
            dst: key.1,
            seg: TcpSegment {
                sport: key.0.port(),
                dport: key.1.port(),
                seq,
                ack,
                flags,
                payload,
            },
        }
    }

    /// Active open. Reusing a live `conn` id is refused.
    pub fn connect(
        &mut self,
        now: Instant,
        app: usize,
        conn: ConnId,
        local: SocketAddr,
        remote: SocketAddr,
        out: &mut Vec<TcpOut>,
    ) {
        let key = (local, remote);
        if self.ids.contains_key(&(app, conn)) || self.tcbs.contains_key(&key) {
            out.push(TcpOut::Event {
                app,
                conn,
                event: StreamEvent::Closed(CloseReason::Refused),
            });
            return;
        }
        let iss = self.rng.next_u64() as u32;
        self.tcbs.insert(
            key,
            Tcb {
                app,
                conn,
                state: State::SynSent,
                iss,
                snd_una: iss,
                snd_nxt: iss.wrapping_add(1),
                rcv_nxt: 0,
                unacked: VecDeque::new(),
                rto: RTO_INIT,
                retries: 0,
                deadline: Some(now + RTO_INIT),
            },
        );
        self.ids.insert((app, conn), key);
        out.push(Self::segment(key, iss, 0, F::SYN, vec![]));
    }

    /// Queues and sends `data` (dropped if the connection cannot send).
    pub fn send(
        &mut self,
        now: Instant,
        app: usize,
        conn: ConnId,
        data: &[u8],
        out: &mut Vec<TcpOut>,
    ) {
        let Some(&key) = self.ids.get(&(app, conn)) else {
            return;
        };
        let Some(t) = self.tcbs.get_mut(&key) else {
            return;
        };
        if !matches!(t.state, State::Established | State::CloseWait) {
            return;
        }
        for chunk in data.chunks(MSS) {
            let seg = TcpSegment {
                sport: key.0.port(),
                dport: key.1.port(),
                seq: t.snd_nxt,
                ack: t.rcv_nxt,
                flags: F::ACK | F::PSH,
                payload: chunk.to_vec(),
            };
            t.snd_nxt = t.snd_nxt.wrapping_add(chunk.len() as u32);
            t.unacked.push_back(seg.clone());
            out.push(TcpOut::Send {
                src: key.0,
                dst: key.1,
                seg,
            });
        }
        if t.deadline.is_none() && !t.unacked.is_empty() {
            t.deadline = Some(now + t.rto);
        }
    }

    /// Graceful close (FIN). The application gets no event for its own close.
    pub fn close(&mut self, now: Instant, app: usize, conn: ConnId, out: &mut Vec<TcpOut>) {
        let Some(&key) = self.ids.get(&(app, conn)) else {
            return;
        };
        let Some(t) = self.tcbs.get_mut(&key) else {
            return;
        };
        match t.state {
            State::SynSent | State::SynRcvd => {
                self.forget(key);
            }
            State::Established | State::CloseWait => {
                let seg = TcpSegment {
                    sport: key.0.port(),
                    dport: key.1.port(),
                    seq: t.snd_nxt,
                    ack: t.rcv_nxt,
                    flags: F::FIN | F::ACK,
                    payload: vec![],
                };
                t.snd_nxt = t.snd_nxt.wrapping_add(1);
                t.unacked.push_back(seg.clone());
                t.state = if t.state == State::Established {
                    State::FinSent
                } else {
                    State::LastAck
                };
                if t.deadline.is_none() {
                    t.deadline = Some(now + t.rto);
                }
                out.push(TcpOut::Send {
                    src: key.0,
                    dst: key.1,
                    seg,
                });
            }
            State::FinSent | State::LastAck => {}
        }
    }

    /// The application exited: the kernel closes its sockets (FIN on every
    /// connection, listeners gone), as Linux does for a killed process.
    pub fn close_app(&mut self, now: Instant, app: usize, out: &mut Vec<TcpOut>) {
        self.listeners.retain(|_, a| *a != app);
        let conns: Vec<ConnId> = self
            .ids
            .keys()
            .filter(|(a, _)| *a == app)
            .map(|(_, c)| *c)
            .collect();
        for conn in conns {
            self.close(now, app, conn, out);
        }
        // Connections still closing no longer have an application to tell, and the
        // next instance of the application may reuse the ids.
        self.ids.retain(|(a, _), _| *a != app);
        for t in self.tcbs.values_mut().filter(|t| t.app == app) {
            t.app = usize::MAX;
        }
    }

    fn forget(&mut self, key: Key) -> Option<Tcb> {
        let t = self.tcbs.remove(&key)?;
        self.ids.remove(&(t.app, t.conn));
        Some(t)
    }

    /// A segment arrived for `local` from `remote`.
    pub fn input(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpSegment,
        out: &mut Vec<TcpOut>,
    ) {
        let key = (local, remote);
        if !self.tcbs.contains_key(&key) {
            self.no_connection(now, key, seg, out);
            return;
        }
        if seg.has(F::RST) {
            if let Some(t) = self.forget(key) {
                let reason = if t.state == State::SynSent {
                    CloseReason::Refused
                } else {
                    CloseReason::Reset
                };
                if t.state != State::SynRcvd {
                    out.push(TcpOut::Event {
                        app: t.app,
                        conn: t.conn,
                        event: StreamEvent::Closed(reason),
                    });
                }
            }
            return;
        }
        let Some(t) = self.tcbs.get_mut(&key) else {
            return;
        };
        match t.state {
            State::SynSent => {
                if seg.has(F::SYN) && seg.has(F::ACK) && seg.ack == t.snd_nxt {
                    t.rcv_nxt = seg.seq.wrapping_add(1);
                    t.snd_una = seg.ack;
                    t.state = State::Established;
                    t.rto = RTO_MIN;
                    t.retries = 0;
                    t.deadline = None;
                    out.push(Self::segment(key, t.snd_nxt, t.rcv_nxt, F::ACK, vec![]));
                    out.push(TcpOut::Event {
                        app: t.app,
                        conn: t.conn,
                        event: StreamEvent::Connected,
                    });
                }
                return;
            }
            State::SynRcvd => {
                if seg.has(F::SYN) {
                    // Our SYN-ACK was lost: answer the retransmitted SYN again.
                    out.push(Self::segment(
                        key,
                        t.iss,
                        t.rcv_nxt,
                        F::SYN | F::ACK,
                        vec![],
                    ));
                    return;
                }
                if !(seg.has(F::ACK) && seg.ack == t.snd_nxt) {
                    return;
                }
                t.snd_una = seg.ack;
                t.state = State::Established;
                t.rto = RTO_MIN;
                t.retries = 0;
                t.deadline = None;
                out.push(TcpOut::Event {
                    app: t.app,
                    conn: t.conn,
                    event: StreamEvent::Accepted { remote, local },
                });
            }
            _ => {}
        }
        self.established_input(now, key, seg, out);
    }

    fn established_input(
        &mut self,
        now: Instant,
        key: Key,
        seg: &TcpSegment,
        out: &mut Vec<TcpOut>,
    ) {
        let Some(t) = self.tcbs.get_mut(&key) else {
            return;
        };
        if seg.has(F::ACK) && seq_lt(t.snd_una, seg.ack) && !seq_lt(t.snd_nxt, seg.ack) {
            t.snd_una = seg.ack;
            while let Some(front) = t.unacked.front() {
                let end = front.seq.wrapping_add(front.seq_len());
                if seq_lt(seg.ack, end) {
                    break;
                }
                t.unacked.pop_front();
            }
            t.retries = 0;
            t.rto = RTO_MIN;
            t.deadline = (!t.unacked.is_empty()).then(|| now + t.rto);
            if t.state == State::LastAck && t.snd_una == t.snd_nxt {
                self.forget(key);
                return;
            }
        }
        let Some(t) = self.tcbs.get_mut(&key) else {
            return;
        };
        if seg.payload.is_empty() && !seg.has(F::FIN) {
            return;
        }
        if seg.seq != t.rcv_nxt {
            // Out of order or a retransmission we already have: repeat our ACK.
            out.push(Self::segment(key, t.snd_nxt, t.rcv_nxt, F::ACK, vec![]));
            return;
        }
        t.rcv_nxt = t.rcv_nxt.wrapping_add(seg.payload.len() as u32);
        let (app, conn) = (t.app, t.conn);
        if !seg.payload.is_empty() {
            out.push(TcpOut::Event {
                app,
                conn,
                event: StreamEvent::Data(seg.payload.clone()),
            });
        }
        let mut done = false;
        if seg.has(F::FIN) {
            t.rcv_nxt = t.rcv_nxt.wrapping_add(1);
            match t.state {
                State::Established => {
                    t.state = State::CloseWait;
                    out.push(TcpOut::Event {
                        app,
                        conn,
                        event: StreamEvent::Closed(CloseReason::PeerClosed),
                    });
                }
                State::FinSent => done = t.snd_una == t.snd_nxt,
                _ => {}
            }
        }
        out.push(Self::segment(key, t.snd_nxt, t.rcv_nxt, F::ACK, vec![]));
        if done {
            self.forget(key);
        }
    }

    /// No connection for this segment: a SYN to a listening port opens one (the
    /// application hears of it when the handshake completes); anything else but RST is
    /// answered with RST (RFC 793 "reset generation").
    fn no_connection(&mut self, now: Instant, key: Key, seg: &TcpSegment, out: &mut Vec<TcpOut>) {
        if seg.has(F::RST) {
            return;
        }
        if seg.has(F::SYN)
            && !seg.has(F::ACK)
            && let Some(&app) = self.listeners.get(&key.0.port())
        {
            let iss = self.rng.next_u64() as u32;
            let conn = self.next_accepted;
            self.next_accepted += 1;
            let rcv_nxt = seg.seq.wrapping_add(1);
            self.tcbs.insert(
                key,
                Tcb {
                    app,
                    conn,
                    state: State::SynRcvd,
                    iss,
                    snd_una: iss,
                    snd_nxt: iss.wrapping_add(1),
                    rcv_nxt,
                    unacked: VecDeque::new(),
                    rto: RTO_INIT,
                    retries: 0,
                    deadline: Some(now + RTO_INIT),
                },
            );
            self.ids.insert((app, conn), key);
            out.push(Self::segment(key, iss, rcv_nxt, F::SYN | F::ACK, vec![]));
            return;
        }
        if seg.has(F::ACK) {
            out.push(Self::segment(key, seg.ack, 0, F::RST, vec![]));
        } else {
            out.push(Self::segment(
                key,
                0,
                seg.seq.wrapping_add(seg.seq_len()),
                F::RST | F::ACK,
                vec![],
            ));
        }
    }

    /// Retransmission timers: back off and resend, or give up.
    pub fn on_timer(&mut self, now: Instant, out: &mut Vec<TcpOut>) {
        let due: Vec<Key> = self
            .tcbs
            .iter()
            .filter(|(_, t)| t.deadline.is_some_and(|d| d <= now))
            .map(|(k, _)| *k)
            .collect();
        for key in due {
            let Some(t) = self.tcbs.get_mut(&key) else {
                continue;
            };
            t.retries += 1;
            let limit = if matches!(t.state, State::SynSent | State::SynRcvd) {
                SYN_RETRIES
            } else {
                RETRIES2
            };
            if t.retries > limit {
                let state = t.state;
                if let Some(t) = self.forget(key)
                    && state != State::SynRcvd
                {
                    out.push(TcpOut::Event {
                        app: t.app,
                        conn: t.conn,
                        event: StreamEvent::Closed(CloseReason::TimedOut),
                    });
                }
                continue;
            }
            t.rto = (t.rto + t.rto).min(RTO_MAX);
            t.deadline = Some(now + t.rto);
            match t.state {
                State::SynSent => out.push(Self::segment(key, t.iss, 0, F::SYN, vec![])),
                State::SynRcvd => out.push(Self::segment(
                    key,
                    t.iss,
                    t.rcv_nxt,
                    F::SYN | F::ACK,
                    vec![],
                )),
                _ => {
                    for seg in &t.unacked {
                        let mut seg = seg.clone();
                        seg.ack = t.rcv_nxt;
                        out.push(TcpOut::Send {
                            src: key.0,
                            dst: key.1,
                            seg,
                        });
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
