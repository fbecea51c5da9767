//! One BFD session in asynchronous mode (RFC 5880 §6), with the echo function.
//!
//! Sans-IO like the rest of the speaker: received packets and the time come in,
//! packets to send, state events and the next deadline come out. Jitter comes from a
//! seeded generator, so a simulation replays exactly.
//!
//! Choices where the RFC allows several: slow start at 1 s while not Up (§6.8.3); every
//! change of our timing parameters runs a Poll sequence, and a longer transmit interval
//! only takes effect once the peer's Final arrives; echo packets carry our
//! discriminator and a sequence number; if no echo ever comes back the peer does not
//! loop them, and the session carries on with control packets alone.

use std::collections::VecDeque;

use core::time::Duration;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::packet::{ControlPacket, Diag, PacketError, State};
use crate::time::Instant;

/// Session parameters (a BFDProfile after defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BfdConfig {
    /// Desired minimum transmit interval (profile `transmitInterval`, default 300 ms).
    pub desired_min_tx: Duration,
    /// Required minimum receive interval (profile `receiveInterval`, default 300 ms).
    pub required_min_rx: Duration,
    /// Detection multiplier (default 3).
    pub detect_mult: u8,
    /// Wait for the peer to speak first.
    pub passive: bool,
    /// Echo function with this interval (profile `echoMode` / `echoInterval`).
    pub echo: Option<Duration>,
    /// Multihop session (RFC 5883): checked against `minimum_ttl` instead of 255.
    pub multihop: bool,
    /// Multihop: lowest acceptable received TTL (profile `minimumTtl`, default 254).
    pub minimum_ttl: u8,
    /// Required Min Echo RX Interval we advertise: zero unless this system loops the
    /// peer's echo packets back (a router does; a Kubernetes node normally does not).
    pub echo_rx: Duration,
}

impl Default for BfdConfig {
    fn default() -> Self {
        Self {
            desired_min_tx: Duration::from_millis(300),
            required_min_rx: Duration::from_millis(300),
            detect_mult: 3,
            passive: false,
            echo: None,
            multihop: false,
            minimum_ttl: 254,
            echo_rx: Duration::ZERO,
        }
    }
}

/// Something to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// A control packet, to the peer's control port.
    Control([u8; 24]),
    /// An echo packet, to be looped back by the peer's forwarding plane (UDP 3785).
    Echo(Vec<u8>),
}

/// A change the application acts on (BGP goes down with BFD).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BfdEvent {
    /// The session came up.
    Up,
    /// The session went down, with why.
    Down(Diag),
}

/// Counters, for metrics (`metallb_bfd_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BfdStats {
    /// Control packets sent.
    pub control_out: u64,
    /// Control packets accepted.
    pub control_in: u64,
    /// Echo packets sent.
    pub echo_out: u64,
    /// Echo packets returned.
    pub echo_in: u64,
    /// Packets discarded by the reception checks.
    pub discarded: u64,
    /// Transitions to Up.
    pub up_events: u64,
    /// Transitions from Up.
    pub down_events: u64,
}

const SLOW_START: Duration = Duration::from_secs(1);
const ECHO_MAGIC: &[u8; 4] = b"FLBE";

/// One session.
#[derive(Debug)]
pub struct BfdSession {
    cfg: BfdConfig,
    state: State,
    diag: Diag,
    local_discr: u32,
    remote_discr: u32,
    remote_state: State,
    remote_min_rx: Duration,
    remote_desired_min_tx: Duration,
    remote_detect_mult: u8,
    remote_echo_rx: Duration,
    /// Desired min TX we advertise; the one peers compute detection with.
    desired_tx: Duration,
    /// Interval actually used for transmission (lags an increase until Final).
    tx_in_use: Duration,
    polling: bool,
    next_tx: Option<Instant>,
    detect_at: Option<Instant>,
    echo_next: Option<Instant>,
    echo_deadline: Option<Instant>,
    echo_seq: u32,
    echo_seen: bool,
    echo_disabled: bool,
    rng: ChaCha8Rng,
    out: VecDeque<Transmit>,
    events: VecDeque<BfdEvent>,
    stats: BfdStats,
}

fn us(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

impl BfdSession {
    /// A session in Down, sending (unless passive) from `now`.
    pub fn new(now: Instant, cfg: BfdConfig, local_discr: u32, seed: u64) -> Self {
        let desired = cfg.desired_min_tx.max(SLOW_START);
        let next_tx = (!cfg.passive).then_some(now);
        Self {
            state: State::Down,
            diag: Diag::None,
            local_discr: local_discr.max(1),
            remote_discr: 0,
            remote_state: State::Down,
            // RFC 5880 §6.8.1: initialised to 1 so that we send until we hear otherwise.
            remote_min_rx: Duration::from_micros(1),
            remote_desired_min_tx: Duration::ZERO,
            remote_detect_mult: 0,
            remote_echo_rx: Duration::ZERO,
            desired_tx: desired,
            tx_in_use: desired,
            polling: false,
            next_tx,
            detect_at: None,
            echo_next: None,
            echo_deadline: None,
            echo_seq: 0,
            echo_seen: false,
            echo_disabled: false,
            rng: ChaCha8Rng::seed_from_u64(seed),
            out: VecDeque::new(),
            events: VecDeque::new(),
            stats: BfdStats::default(),
            cfg,
        }
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Counters.
    pub fn stats(&self) -> BfdStats {
        self.stats
    }

    /// Whether the echo function is running.
    pub fn echo_active(&self) -> bool {
        self.echo_next.is_some()
    }

    /// Our discriminator (demultiplexes received packets).
    pub fn local_discriminator(&self) -> u32 {
        self.local_discr
    }

    /// Next packet to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    /// Next state event.
    pub fn poll_event(&mut self) -> Option<BfdEvent> {
        self.events.pop_front()
    }

    /// When to call [`BfdSession::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.next_tx,
            self.detect_at,
            self.echo_next,
            self.echo_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Detection time the session uses now (§6.8.4).
    pub fn detection_time(&self) -> Duration {
        self.cfg.required_min_rx.max(self.remote_desired_min_tx)
            * u32::from(self.remote_detect_mult)
    }

    fn packet(&self, fin: bool) -> ControlPacket {
        ControlPacket {
            diag: self.diag,
            state: self.state,
            poll: self.polling && !fin,
            fin,
            cpi: false,
            demand: false,
            detect_mult: self.cfg.detect_mult,
            my_discr: self.local_discr,
            your_discr: self.remote_discr,
            desired_min_tx_us: us(self.desired_tx),
            required_min_rx_us: us(self.cfg.required_min_rx),
            required_min_echo_rx_us: us(self.cfg.echo_rx),
        }
    }

    fn send_control(&mut self, fin: bool) {
        self.out
            .push_back(Transmit::Control(self.packet(fin).encode()));
        self.stats.control_out += 1;
    }

    /// Periodic interval with RFC 5880 §6.8.7 jitter: 75-100 % (75-90 % with a
    /// detection multiplier of 1).
    fn jittered(&mut self) -> Option<Duration> {
        if self.remote_min_rx.is_zero() {
            return None;
        }
        let base = self.tx_in_use.max(self.remote_min_rx);
        let hi = if self.cfg.detect_mult == 1 { 90 } else { 100 };
        let pct: u32 = self.rng.random_range(75..=hi);
        Some(base * pct / 100)
    }

    fn schedule_tx(&mut self, now: Instant) {
        let quiet = self.cfg.passive && self.remote_discr == 0;
        self.next_tx = if quiet {
            None
        } else {
            self.jittered().map(|d| now + d)
        };
    }

    fn set_desired_tx(&mut self, d: Duration) {
        if d == self.desired_tx {
            return;
        }
        let faster = d < self.desired_tx;
        self.desired_tx = d;
        self.polling = true;
        if faster || self.state != State::Up {
            self.tx_in_use = d;
        }
    }

    fn go(&mut self, now: Instant, to: State, diag: Diag) {
        if self.state == to {
            return;
        }
        let was_up = self.state == State::Up;
        self.state = to;
        self.diag = diag;
        if to == State::Up {
            self.stats.up_events += 1;
            self.events.push_back(BfdEvent::Up);
            self.set_desired_tx(self.cfg.desired_min_tx);
            self.maybe_start_echo(now);
        } else {
            if was_up {
                self.stats.down_events += 1;
                self.events.push_back(BfdEvent::Down(diag));
            }
            self.set_desired_tx(self.cfg.desired_min_tx.max(SLOW_START));
            self.echo_next = None;
            self.echo_deadline = None;
        }
        if matches!(to, State::Down | State::AdminDown) {
            self.detect_at = None;
            self.remote_discr = if to == State::Down && diag == Diag::ControlDetectionTimeExpired {
                0
            } else {
                self.remote_discr
            };
        }
        // State changes go out at once rather than at the next tick.
        self.send_control(false);
        self.schedule_tx(now);
    }

    fn maybe_start_echo(&mut self, now: Instant) {
        let Some(interval) = self.cfg.echo else {
            return;
        };
        if self.cfg.multihop
            || self.echo_disabled
            || self.remote_echo_rx.is_zero()
            || self.state != State::Up
        {
            return;
        }
        if self.echo_next.is_none() {
            self.echo_seen = false;
            self.echo_next = Some(now);
            self.echo_deadline =
                Some(now + interval.max(self.remote_echo_rx) * u32::from(self.cfg.detect_mult));
        }
    }

    fn echo_interval(&self) -> Duration {
        self.cfg.echo.unwrap_or_default().max(self.remote_echo_rx)
    }

    /// A control packet arrived, with the IP TTL (hop limit) it arrived with.
    pub fn handle_control(
        &mut self,
        now: Instant,
        bytes: &[u8],
        ttl: u8,
    ) -> Result<(), PacketError> {
        let ttl_ok = if self.cfg.multihop {
            ttl >= self.cfg.minimum_ttl
        } else {
            ttl == 255
        };
        let p = match ControlPacket::decode(bytes) {
            Ok(p) if ttl_ok => p,
            Ok(_) => {
                self.stats.discarded += 1;
                return Ok(());
            }
            Err(e) => {
                self.stats.discarded += 1;
                return Err(e);
            }
        };
        // Demultiplexing checks that need the session (§6.8.6).
        if p.your_discr == 0 && !matches!(p.state, State::Down | State::AdminDown) {
            self.stats.discarded += 1;
            return Ok(());
        }
        if p.your_discr != 0 && p.your_discr != self.local_discr {
            self.stats.discarded += 1;
            return Ok(());
        }
        if self.state == State::AdminDown {
            return Ok(());
        }
        self.stats.control_in += 1;
        let first = self.remote_discr == 0;
        self.remote_discr = p.my_discr;
        self.remote_state = p.state;
        self.remote_min_rx = Duration::from_micros(u64::from(p.required_min_rx_us));
        self.remote_desired_min_tx = Duration::from_micros(u64::from(p.desired_min_tx_us));
        self.remote_detect_mult = p.detect_mult;
        self.remote_echo_rx = Duration::from_micros(u64::from(p.required_min_echo_rx_us));
        if p.fin && self.polling {
            self.polling = false;
            self.tx_in_use = self.desired_tx;
        }
        match (self.state, p.state) {
            (_, State::AdminDown) => self.go(now, State::Down, Diag::NeighborSignaledDown),
            (State::Down, State::Down) => self.go(now, State::Init, Diag::None),
            (State::Down, State::Init) => self.go(now, State::Up, Diag::None),
            (State::Init, State::Init | State::Up) => self.go(now, State::Up, Diag::None),
            (State::Up, State::Down) => self.go(now, State::Down, Diag::NeighborSignaledDown),
            _ => {}
        }
        if p.poll {
            self.send_control(true);
        }
        if matches!(self.state, State::Init | State::Up) {
            self.detect_at = Some(now + self.detection_time());
        }
        if first && self.next_tx.is_none() {
            // Passive sessions start talking once spoken to.
            self.send_control(false);
            self.schedule_tx(now);
        }
        if self.state == State::Up {
            self.maybe_start_echo(now);
        }
        Ok(())
    }

    /// An echo packet came back.
    pub fn handle_echo(&mut self, now: Instant, bytes: &[u8]) {
        if bytes.len() != 12
            || &bytes[..4] != ECHO_MAGIC
            || bytes[4..8] != self.local_discr.to_be_bytes()
        {
            self.stats.discarded += 1;
            return;
        }
        self.stats.echo_in += 1;
        if self.echo_next.is_some() {
            self.echo_seen = true;
            self.echo_deadline = Some(now + self.echo_interval() * u32::from(self.cfg.detect_mult));
        }
    }

    /// Timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.detect_at.is_some_and(|t| t <= now) {
            self.detect_at = None;
            self.go(now, State::Down, Diag::ControlDetectionTimeExpired);
        }
        if self.echo_deadline.is_some_and(|t| t <= now) {
            self.echo_deadline = None;
            self.echo_next = None;
            if self.echo_seen {
                self.go(now, State::Down, Diag::EchoFunctionFailed);
            } else {
                // Nothing ever came back: the peer does not loop echoes.
                self.echo_disabled = true;
                tracing::info!("BFD echo never returned; continuing with control packets only");
            }
        }
        if self.echo_next.is_some_and(|t| t <= now) {
            self.echo_seq = self.echo_seq.wrapping_add(1);
            let mut e = ECHO_MAGIC.to_vec();
            e.extend_from_slice(&self.local_discr.to_be_bytes());
            e.extend_from_slice(&self.echo_seq.to_be_bytes());
            self.out.push_back(Transmit::Echo(e));
            self.stats.echo_out += 1;
            self.echo_next = Some(now + self.echo_interval());
        }
        if self.next_tx.is_some_and(|t| t <= now) {
            self.send_control(false);
            self.schedule_tx(now);
        }
    }

    /// Administratively disables (`true`) or re-enables the session.
    pub fn set_admin_down(&mut self, now: Instant, down: bool) {
        if down {
            self.go(now, State::AdminDown, Diag::AdministrativelyDown);
        } else if self.state == State::AdminDown {
            self.go(now, State::Down, Diag::None);
        }
    }
}

#[cfg(test)]
mod tests;
