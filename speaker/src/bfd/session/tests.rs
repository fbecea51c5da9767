//! Two sessions facing each other through a perfect or broken link, in virtual time.

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn t(n_ms: u64) -> Instant {
    Instant::from_nanos(n_ms * 1_000_000)
}

fn fast() -> BfdConfig {
    BfdConfig {
        desired_min_tx: ms(100),
        required_min_rx: ms(100),
        detect_mult: 3,
        ..BfdConfig::default()
    }
}

/// Runs both sessions until `until`, delivering each control packet after `delay` while
/// `link_up(now)`; echo packets loop back to their sender when `loops`.
struct Pair {
    a: BfdSession,
    b: BfdSession,
    now: Instant,
    delay: Duration,
    loops: bool,
    in_flight: Vec<(Instant, bool, Transmit)>,
    a_events: Vec<(Instant, BfdEvent)>,
    b_events: Vec<(Instant, BfdEvent)>,
}

impl Pair {
    fn new(ca: BfdConfig, cb: BfdConfig) -> Self {
        Self {
            a: BfdSession::new(Instant::ZERO, ca, 1, 1),
            b: BfdSession::new(Instant::ZERO, cb, 2, 2),
            now: Instant::ZERO,
            delay: ms(1),
            loops: true,
            in_flight: Vec::new(),
            a_events: Vec::new(),
            b_events: Vec::new(),
        }
    }

    fn run(&mut self, until: Instant, link_up: impl Fn(Instant) -> bool) {
        for _ in 0..1_000_000 {
            for (to_b, s) in [(true, &mut self.a), (false, &mut self.b)] {
                while let Some(x) = s.poll_transmit() {
                    if link_up(self.now) {
                        self.in_flight.push((self.now + self.delay, to_b, x));
                    }
                }
            }
            while let Some(e) = self.a.poll_event() {
                self.a_events.push((self.now, e));
            }
            while let Some(e) = self.b.poll_event() {
                self.b_events.push((self.now, e));
            }
            let next_pkt = self.in_flight.iter().map(|p| p.0).min();
            let next = [self.a.poll_timeout(), self.b.poll_timeout(), next_pkt]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next.filter(|n| *n <= until) else {
                self.now = until;
                return;
            };
            self.now = next;
            let (due, rest): (Vec<_>, Vec<_>) = self.in_flight.drain(..).partition(|p| p.0 <= next);
            self.in_flight = rest;
            for (_, to_b, x) in due {
                match x {
                    Transmit::Control(bytes) => {
                        let dst = if to_b { &mut self.b } else { &mut self.a };
                        dst.handle_control(next, &bytes, 255).unwrap();
                    }
                    Transmit::Echo(bytes) => {
                        if self.loops {
                            let back = if to_b { &mut self.a } else { &mut self.b };
                            back.handle_echo(next, &bytes);
                        }
                    }
                }
            }
            self.a.handle_timeout(next);
            self.b.handle_timeout(next);
        }
        panic!("simulation did not finish");
    }
}

#[test]
fn three_way_handshake_brings_both_sides_up() {
    let mut p = Pair::new(fast(), fast());
    p.run(t(3000), |_| true);
    assert_eq!(p.a.state(), State::Up);
    assert_eq!(p.b.state(), State::Up);
    assert_eq!(p.a_events.len(), 1);
    assert!(
        p.a_events[0].0 < t(100),
        "up within a few packets: {:?}",
        p.a_events
    );
}

#[test]
fn silence_is_detected_within_detect_mult_intervals() {
    let mut p = Pair::new(fast(), fast());
    p.run(t(5000), |_| true);
    assert_eq!(p.a.state(), State::Up);
    let cut = t(5000);
    p.run(t(8000), |now| now < cut);
    let down = p
        .a_events
        .iter()
        .find(|(_, e)| matches!(e, BfdEvent::Down(_)))
        .expect("went down");
    assert_eq!(down.1, BfdEvent::Down(Diag::ControlDetectionTimeExpired));
    let took = down.0.since(cut);
    assert!(
        took <= ms(301) && took >= ms(150),
        "detected after {took:?}"
    );
}

#[test]
fn transmit_interval_is_jittered_between_75_and_100_percent() {
    let mut s = BfdSession::new(Instant::ZERO, fast(), 9, 42);
    s.tx_in_use = ms(100);
    s.remote_min_rx = ms(100);
    let gaps: Vec<Duration> = (0..200).map(|_| s.jittered().unwrap()).collect();
    assert!(
        gaps.iter().all(|g| *g >= ms(75) && *g <= ms(100)),
        "{gaps:?}"
    );
    assert!(gaps.iter().any(|g| *g < ms(85)) && gaps.iter().any(|g| *g > ms(95)));
    let mut one = BfdSession::new(
        Instant::ZERO,
        BfdConfig {
            detect_mult: 1,
            ..fast()
        },
        9,
        42,
    );
    one.tx_in_use = ms(100);
    one.remote_min_rx = ms(100);
    assert!((0..200).all(|_| one.jittered().unwrap() <= ms(90)));
}

#[test]
fn slow_start_at_one_second_until_up() {
    let s = BfdSession::new(Instant::ZERO, fast(), 9, 1);
    let p = ControlPacket::decode(&s.packet(false).encode()).unwrap();
    assert_eq!(p.desired_min_tx_us, 1_000_000);
    let mut pair = Pair::new(fast(), fast());
    pair.run(t(2000), |_| true);
    let p = ControlPacket::decode(&pair.a.packet(false).encode()).unwrap();
    assert_eq!(p.desired_min_tx_us, 100_000, "configured rate once up");
}

#[test]
fn slower_interval_waits_for_the_final_bit() {
    let mut pair = Pair::new(fast(), fast());
    pair.run(t(2000), |_| true);
    pair.a.set_desired_tx(ms(500));
    assert_eq!(
        pair.a.tx_in_use,
        ms(100),
        "old interval until the poll completes"
    );
    assert!(pair.a.polling);
    pair.run(t(3000), |_| true);
    assert!(!pair.a.polling);
    assert_eq!(pair.a.tx_in_use, ms(500));
}

#[test]
fn the_slower_side_sets_the_pace() {
    let slow = BfdConfig {
        required_min_rx: ms(400),
        ..fast()
    };
    let mut pair = Pair::new(fast(), slow);
    pair.run(t(3000), |_| true);
    assert_eq!(pair.b.detection_time(), ms(1200));
    assert_eq!(pair.a.detection_time(), ms(300));
    let before = pair.a.stats().control_out;
    pair.run(t(5000), |_| true);
    let sent = pair.a.stats().control_out - before;
    // 2 s at 300-400 ms per packet (400 ms floor from b, jittered down to 75 %).
    assert!((5..=7).contains(&sent), "a sent {sent} packets in 2 s");
}

#[test]
fn passive_side_waits_to_be_spoken_to() {
    let passive = BfdConfig {
        passive: true,
        ..fast()
    };
    let mut lone = BfdSession::new(Instant::ZERO, passive.clone(), 5, 1);
    lone.handle_timeout(t(10_000));
    assert!(lone.poll_transmit().is_none());
    assert_eq!(lone.poll_timeout(), None);
    let mut pair = Pair::new(fast(), passive);
    pair.run(t(3000), |_| true);
    assert_eq!(pair.b.state(), State::Up);
}

#[test]
fn admin_down_is_signalled_and_the_peer_goes_down() {
    let mut pair = Pair::new(fast(), fast());
    pair.run(t(2000), |_| true);
    pair.a.set_admin_down(pair.now, true);
    pair.run(t(2100), |_| true);
    assert_eq!(pair.b.state(), State::Down);
    assert_eq!(
        pair.b_events.last().unwrap().1,
        BfdEvent::Down(Diag::NeighborSignaledDown)
    );
    pair.a.set_admin_down(pair.now, false);
    pair.run(t(6000), |_| true);
    assert_eq!(pair.a.state(), State::Up);
    assert_eq!(pair.b.state(), State::Up);
}

#[test]
fn single_hop_requires_ttl_255_and_multihop_the_minimum_ttl() {
    let mut a = BfdSession::new(Instant::ZERO, fast(), 1, 1);
    let b = BfdSession::new(Instant::ZERO, fast(), 2, 2);
    let pkt = b.packet(false).encode();
    a.handle_control(t(1), &pkt, 254).unwrap();
    assert_eq!(a.state(), State::Down);
    assert_eq!(a.stats().discarded, 1);
    a.handle_control(t(1), &pkt, 255).unwrap();
    assert_eq!(a.state(), State::Init);
    let mut m = BfdSession::new(
        Instant::ZERO,
        BfdConfig {
            multihop: true,
            minimum_ttl: 250,
            ..fast()
        },
        1,
        1,
    );
    m.handle_control(t(1), &pkt, 249).unwrap();
    assert_eq!(m.state(), State::Down);
    m.handle_control(t(1), &pkt, 251).unwrap();
    assert_eq!(m.state(), State::Init);
}

#[test]
fn packets_for_another_session_or_malformed_are_discarded() {
    let mut a = BfdSession::new(Instant::ZERO, fast(), 1, 1);
    let mut other = ControlPacket::decode(
        &BfdSession::new(Instant::ZERO, fast(), 2, 2)
            .packet(false)
            .encode(),
    )
    .unwrap();
    other.your_discr = 77;
    a.handle_control(t(1), &other.encode(), 255).unwrap();
    other.your_discr = 0;
    other.state = State::Up;
    a.handle_control(t(1), &other.encode(), 255).unwrap();
    assert!(a.handle_control(t(1), &[1, 2, 3], 255).is_err());
    assert_eq!(a.stats().discarded, 3);
    assert_eq!(a.state(), State::Down);
}

fn echo_cfg() -> BfdConfig {
    BfdConfig {
        echo: Some(ms(50)),
        ..fast()
    }
}

/// A peer that loops echo packets (a router) advertises a required min echo RX.
fn looping_peer() -> BfdConfig {
    BfdConfig {
        echo_rx: ms(50),
        ..fast()
    }
}

#[test]
fn echo_runs_when_the_peer_loops_and_detects_loss_faster() {
    let mut pair = Pair::new(echo_cfg(), looping_peer());
    pair.run(t(3000), |_| true);
    assert!(pair.a.echo_active());
    assert!(pair.a.stats().echo_in > 10);
    assert_eq!(pair.b.stats().echo_out, 0, "b has no echo configured");
    // Echoes stop coming back while control packets still flow.
    pair.loops = false;
    let cut = pair.now;
    pair.run(t(4000), |_| true);
    let down = pair
        .a_events
        .iter()
        .find(|(_, e)| matches!(e, BfdEvent::Down(_)))
        .expect("down");
    assert_eq!(down.1, BfdEvent::Down(Diag::EchoFunctionFailed));
    assert!(
        down.0.since(cut) <= ms(160),
        "echo detection in {:?}",
        down.0.since(cut)
    );
}

#[test]
fn echo_that_never_returns_falls_back_to_control_packets() {
    let mut pair = Pair::new(echo_cfg(), looping_peer());
    pair.loops = false;
    pair.run(t(3000), |_| true);
    assert_eq!(pair.a.state(), State::Up);
    assert!(!pair.a.echo_active());
    assert!(pair.a.echo_disabled);
    assert!(pair.a.stats().echo_out >= 1);
}

#[test]
fn no_echo_without_the_peers_consent() {
    let mut pair = Pair::new(echo_cfg(), fast());
    pair.run(t(3000), |_| true);
    assert_eq!(pair.a.state(), State::Up);
    assert!(
        !pair.a.echo_active(),
        "peer advertises required min echo rx 0"
    );
    assert_eq!(pair.a.stats().echo_out, 0);
}

#[test]
fn same_seed_same_packets() {
    let run = || {
        let mut p = Pair::new(fast(), fast());
        p.run(t(4000), |_| true);
        (p.a.stats(), p.b.stats(), p.a_events.clone())
    };
    assert_eq!(run(), run());
}
