//! What the clients saw: per-flow statistics computed from every probe's recorded fate.
//!
//! Outage follows the lab's definition: from the first lost probe to the first
//! answered probe after it (both by send time). A run of losses that never recovers
//! lasts until the end of the run and is marked unrecovered. Probes still within their
//! timeout when the run ends are neither answered nor lost.

use std::collections::BTreeMap;

use crate::fate::{HostId, Loss};
use crate::frame::Mac;
use crate::time::{Duration, Instant};
use crate::world::{FlowSpec, ProbeRecord};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outage {
    pub start: Instant,
    /// Send time of the first answered probe after the losses; `None` = never.
    pub end: Option<Instant>,
    pub duration: Duration,
    pub lost: u64,
    /// The most frequent loss reason in this outage.
    pub reason: Loss,
}

/// A stretch of answered probes with the same responder and neighbour MAC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub from: Instant,
    pub to: Instant,
    pub responder: HostId,
    pub mac: Mac,
    pub answered: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowStats {
    pub sent: u64,
    pub answered: u64,
    pub lost: u64,
    pub in_flight: u64,
    pub losses: BTreeMap<Loss, u64>,
    pub outages: Vec<Outage>,
    pub max_outage: Duration,
    pub segments: Vec<Segment>,
    /// Changes of the MAC the client used between consecutive answered probes.
    pub mac_changes: u64,
}

impl FlowStats {
    pub fn final_segment(&self) -> Option<&Segment> {
        self.segments.last()
    }
    /// The worst outage, if any.
    pub fn worst(&self) -> Option<&Outage> {
        self.outages.iter().max_by_key(|o| o.duration)
    }
}

/// Computes a flow's statistics at the end of a run.
pub fn analyse(spec: &FlowSpec, probes: &[ProbeRecord], end: Instant) -> FlowStats {
    let mut st = FlowStats {
        sent: probes.len() as u64,
        answered: 0,
        lost: 0,
        in_flight: 0,
        losses: BTreeMap::new(),
        outages: vec![],
        max_outage: Duration::ZERO,
        segments: vec![],
        mac_changes: 0,
    };
    let mut run: Option<(Instant, u64, BTreeMap<Loss, u64>)> = None;
    for p in probes {
        if let Some(r) = p.reply {
            st.answered += 1;
            if let Some((start, lost, reasons)) = run.take() {
                st.outages.push(close(start, Some(p.sent), lost, &reasons));
            }
            match st.segments.last_mut() {
                Some(s) if s.responder == r.responder && s.mac == r.via_mac => {
                    s.to = p.sent;
                    s.answered += 1;
                }
                last => {
                    if last.is_some_and(|s| s.mac != r.via_mac) {
                        st.mac_changes += 1;
                    }
                    st.segments.push(Segment {
                        from: p.sent,
                        to: p.sent,
                        responder: r.responder,
                        mac: r.via_mac,
                        answered: 1,
                    });
                }
            }
        } else if p.sent + spec.timeout > end
            && p.loss.is_none_or(|l| matches!(l, Loss::Unresolved { .. }))
        {
            st.in_flight += 1;
        } else {
            st.lost += 1;
            let reason = p.loss.unwrap_or(Loss::Unexplained);
            *st.losses.entry(reason).or_default() += 1;
            let r = run.get_or_insert_with(|| (p.sent, 0, BTreeMap::new()));
            r.1 += 1;
            *r.2.entry(reason).or_default() += 1;
        }
    }
    if let Some((start, lost, reasons)) = run {
        let mut o = close(start, None, lost, &reasons);
        o.duration = end.saturating_since(start);
        st.outages.push(o);
    }
    st.max_outage = st
        .outages
        .iter()
        .map(|o| o.duration)
        .max()
        .unwrap_or(Duration::ZERO);
    st
}

fn close(start: Instant, end: Option<Instant>, lost: u64, reasons: &BTreeMap<Loss, u64>) -> Outage {
    let reason = reasons
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .map_or(Loss::Unexplained, |(l, _)| *l);
    Outage {
        start,
        end,
        duration: end.map_or(Duration::ZERO, |e| e.saturating_since(start)),
        lost,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::Reply;

    fn spec() -> FlowSpec {
        FlowSpec {
            name: "f".into(),
            host: 0,
            src: "198.51.100.100:40000".parse().unwrap(),
            dst: "198.51.100.200:9".parse().unwrap(),
            interval: Duration::from_millis(10),
            start: Instant::ZERO,
            stop: Instant::MAX,
            timeout: Duration::from_secs(1),
            confirm: false,
        }
    }
    fn ms(v: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(v)
    }
    fn ok(t: u64, host: HostId, mac: u8) -> ProbeRecord {
        ProbeRecord {
            sent: ms(t),
            reply: Some(Reply {
                at: ms(t + 1),
                responder: host,
                via_mac: Mac([2, 0, 0, 0, 0, mac]),
            }),
            loss: None,
        }
    }
    fn lost(t: u64, loss: Loss) -> ProbeRecord {
        ProbeRecord {
            sent: ms(t),
            reply: None,
            loss: Some(loss),
        }
    }

    #[test]
    fn outage_runs_from_first_loss_to_first_success_after_it() {
        let probes = vec![
            ok(0, 1, 1),
            lost(10, Loss::Flooded),
            lost(20, Loss::Flooded),
            lost(30, Loss::LinkRandom { link: 0 }),
            ok(40, 2, 2),
        ];
        let st = analyse(&spec(), &probes, ms(5000));
        assert_eq!(st.outages.len(), 1);
        assert_eq!(st.max_outage, Duration::from_millis(30));
        assert_eq!(st.outages[0].reason, Loss::Flooded);
        assert_eq!((st.answered, st.lost), (2, 3));
        assert_eq!(st.mac_changes, 1);
        assert_eq!(st.segments.len(), 2);
        assert_eq!(st.final_segment().unwrap().responder, 2);
    }

    #[test]
    fn unrecovered_outage_lasts_to_the_end_of_the_run() {
        let probes = vec![
            ok(0, 1, 1),
            lost(10, Loss::Flooded),
            lost(20, Loss::Flooded),
        ];
        let st = analyse(&spec(), &probes, ms(3000));
        assert_eq!(st.outages[0].end, None);
        assert_eq!(st.max_outage, Duration::from_millis(2990));
    }

    #[test]
    fn probes_within_timeout_at_the_end_are_in_flight_not_lost() {
        let mut p = lost(2500, Loss::Flooded);
        p.loss = None;
        let st = analyse(&spec(), &[ok(0, 1, 1), p], ms(3000));
        assert_eq!((st.lost, st.in_flight), (0, 1));
        assert!(st.outages.is_empty());
    }

    #[test]
    fn no_losses_no_outage() {
        let st = analyse(&spec(), &[ok(0, 1, 1), ok(10, 1, 1)], ms(100));
        assert_eq!(st.max_outage, Duration::ZERO);
        assert_eq!(st.segments.len(), 1);
        assert_eq!(st.segments[0].answered, 2);
    }
}
