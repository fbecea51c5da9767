//! Each test pins one TCP behaviour that session failover depends on.

use super::*;
use crate::rng::RngTree;

const A: &str = "10.0.0.1:40000";
const B: &str = "10.0.0.2:179";

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}
fn t(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}

struct Pair {
    a: TcpStack,
    b: TcpStack,
    events_a: Vec<(ConnId, StreamEvent)>,
    events_b: Vec<(ConnId, StreamEvent)>,
    /// Segments sent and how many were dropped by the "wire".
    sent: usize,
}

impl Pair {
    fn new() -> Self {
        let tree = RngTree::new(5);
        let mut b = TcpStack::new(tree.stream("b"));
        b.listen(0, 179);
        Self {
            a: TcpStack::new(tree.stream("a")),
            b,
            events_a: vec![],
            events_b: vec![],
            sent: 0,
        }
    }

    /// Delivers segments back and forth until quiet; `drop` decides per segment.
    fn pump(
        &mut self,
        now: Instant,
        mut from_a: Vec<TcpOut>,
        drop: &mut dyn FnMut(&TcpSegment) -> bool,
    ) {
        let mut from_b: Vec<TcpOut> = vec![];
        for _ in 0..100 {
            if from_a.is_empty() && from_b.is_empty() {
                return;
            }
            let mut next_b = vec![];
            for o in from_a.drain(..) {
                match o {
                    TcpOut::Send { src, dst, seg } => {
                        self.sent += 1;
                        if !drop(&seg) {
                            self.b.input(now, dst, src, &seg, &mut next_b);
                        }
                    }
                    TcpOut::Event { conn, event, .. } => self.events_a.push((conn, event)),
                }
            }
            let mut next_a = vec![];
            for o in from_b.drain(..).chain(next_b) {
                match o {
                    TcpOut::Send { src, dst, seg } => {
                        self.sent += 1;
                        if !drop(&seg) {
                            self.a.input(now, dst, src, &seg, &mut next_a);
                        }
                    }
                    TcpOut::Event { conn, event, .. } => self.events_b.push((conn, event)),
                }
            }
            // Outputs of A's inputs go to B on the next round, and vice versa.
            let (to_b, events): (Vec<_>, Vec<_>) = next_a
                .into_iter()
                .partition(|o| matches!(o, TcpOut::Send { .. }));
            for e in events {
                if let TcpOut::Event { conn, event, .. } = e {
                    self.events_a.push((conn, event));
                }
            }
            from_a = to_b;
        }
        panic!("no quiescence");
    }

    fn connect(&mut self) {
        let mut out = vec![];
        self.a.connect(t(0), 0, 1, sa(A), sa(B), &mut out);
        self.pump(t(0), out, &mut |_| false);
    }
}

#[test]
fn three_way_handshake_connects_and_accepts() {
    let mut p = Pair::new();
    p.connect();
    assert_eq!(p.events_a, vec![(1, StreamEvent::Connected)]);
    assert_eq!(
        p.events_b,
        vec![(
            ACCEPTED_BASE,
            StreamEvent::Accepted {
                remote: sa(A),
                local: sa(B)
            }
        )]
    );
    assert_eq!(p.sent, 3, "SYN, SYN-ACK, ACK");
}

#[test]
fn data_is_delivered_in_order_and_segmented_at_the_mss() {
    let mut p = Pair::new();
    p.connect();
    let data: Vec<u8> = (0..4000u32).map(|i| i as u8).collect();
    let mut out = vec![];
    p.a.send(t(1), 0, 1, &data, &mut out);
    assert_eq!(out.len(), 3, "1460 + 1460 + 1080");
    p.pump(t(1), out, &mut |_| false);
    let got: Vec<u8> = p
        .events_b
        .iter()
        .filter_map(|(_, e)| match e {
            StreamEvent::Data(d) => Some(d.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(got, data);
    assert_eq!(p.a.next_wakeup(), None, "everything acknowledged");
}

#[test]
fn a_lost_segment_is_retransmitted_after_the_rto() {
    let mut p = Pair::new();
    p.connect();
    let mut out = vec![];
    p.a.send(t(1), 0, 1, b"update", &mut out);
    p.pump(t(1), out, &mut |s| !s.payload.is_empty());
    assert_eq!(p.a.next_wakeup(), Some(t(201)), "RTO_MIN after the send");
    let mut out = vec![];
    p.a.on_timer(t(201), &mut out);
    p.pump(t(201), out, &mut |_| false);
    assert!(
        p.events_b
            .iter()
            .any(|(_, e)| *e == StreamEvent::Data(b"update".to_vec()))
    );
}

#[test]
fn a_silent_peer_times_out_after_fifteen_retransmissions_about_924s() {
    let mut p = Pair::new();
    p.connect();
    let mut out = vec![];
    p.a.send(t(0), 0, 1, b"keepalive", &mut out);
    let mut now = t(0);
    let mut closed_at = None;
    for _ in 0..20 {
        let Some(w) = p.a.next_wakeup() else { break };
        now = w;
        let mut out = vec![];
        p.a.on_timer(now, &mut out);
        if out.iter().any(|o| {
            matches!(
                o,
                TcpOut::Event {
                    event: StreamEvent::Closed(CloseReason::TimedOut),
                    ..
                }
            )
        }) {
            closed_at = Some(now);
        }
    }
    let secs = closed_at.expect("gave up").as_secs_f64();
    assert!((900.0..950.0).contains(&secs), "{secs}");
    let _ = now;
}

#[test]
fn syn_to_a_port_without_listener_is_refused_with_rst() {
    let mut p = Pair::new();
    let mut out = vec![];
    p.a.connect(t(0), 0, 9, sa(A), sa("10.0.0.2:80"), &mut out);
    p.pump(t(0), out, &mut |_| false);
    assert_eq!(
        p.events_a,
        vec![(9, StreamEvent::Closed(CloseReason::Refused))]
    );
}

#[test]
fn a_restarted_peer_answers_with_rst_and_the_session_resets() {
    let mut p = Pair::new();
    p.connect();
    p.b = TcpStack::new(RngTree::new(6).stream("b-rebooted"));
    let mut out = vec![];
    p.a.send(t(5), 0, 1, b"update", &mut out);
    p.pump(t(5), out, &mut |_| false);
    assert!(
        p.events_a
            .contains(&(1, StreamEvent::Closed(CloseReason::Reset)))
    );
}

#[test]
fn fin_closes_gracefully_on_both_sides() {
    let mut p = Pair::new();
    p.connect();
    let mut out = vec![];
    p.a.close(t(2), 0, 1, &mut out);
    p.pump(t(2), out, &mut |_| false);
    assert!(
        p.events_b
            .contains(&(ACCEPTED_BASE, StreamEvent::Closed(CloseReason::PeerClosed)))
    );
    let mut out = vec![];
    p.b.close(t(3), 0, ACCEPTED_BASE, &mut out);
    // Deliver B's FIN to A and A's ACK back.
    let mut back = vec![];
    for o in out {
        if let TcpOut::Send { src, dst, seg } = o {
            p.a.input(t(3), dst, src, &seg, &mut back);
        }
    }
    for o in back {
        if let TcpOut::Send { src, dst, seg } = o {
            let mut none = vec![];
            p.b.input(t(3), dst, src, &seg, &mut none);
        }
    }
    assert_eq!(p.a.connections(), 0);
    assert_eq!(p.b.connections(), 0);
}

#[test]
fn a_lost_syn_is_retried_after_one_second() {
    let mut p = Pair::new();
    let mut out = vec![];
    p.a.connect(t(0), 0, 1, sa(A), sa(B), &mut out);
    p.pump(t(0), out, &mut |_| true);
    assert_eq!(p.a.next_wakeup(), Some(t(1000)), "TCP_TIMEOUT_INIT");
    let mut out = vec![];
    p.a.on_timer(t(1000), &mut out);
    p.pump(t(1000), out, &mut |_| false);
    assert_eq!(p.events_a, vec![(1, StreamEvent::Connected)]);
}
