//! Generated scenarios for measuring the simulator itself: `clients` hosts sending
//! `flows` probe flows to addresses owned by `servers` hosts on one switch. They are
//! produced as scenario text and go through the normal parser, so a benchmark measures
//! exactly what a user's scenario costs.

use std::fmt::Write as _;

use crate::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    pub hosts: usize,
    pub flows: usize,
    pub rate: f64,
    pub duration: Duration,
    /// Link jitter: spreads events over distinct instants (real networks do).
    pub jitter: Duration,
}

/// Scenario text for `shape`: the first third of the hosts (at least one) are
/// clients, the rest servers each owning one address; flow `i` goes from client
/// `i % clients` to server address `i % servers`.
pub fn scenario_text(shape: Shape, seed: u64) -> String {
    let hosts = shape.hosts.max(2);
    let clients = (hosts / 3).max(1);
    let servers = hosts - clients;
    let ip = |i: usize| format!("10.{}.{}.{}", 1 + i / 65_536, (i / 256) % 256, i % 256);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "name: synthetic-{hosts}h-{}f\nseed: {seed}\nduration: {}ns",
        shape.flows,
        shape.duration.as_nanos()
    );
    let _ = writeln!(s, "topology:\n  switches:\n    - name: sw\n  hosts:");
    for h in 0..hosts {
        let _ = writeln!(s, "    - {{ name: h{h}, addresses: [{}/8] }}", ip(10 + h));
    }
    let _ = writeln!(s, "  links:");
    for h in 0..hosts {
        let _ = writeln!(
            s,
            "    - {{ a: h{h}, b: sw, jitter: {}ns }}",
            shape.jitter.as_nanos()
        );
    }
    let _ = writeln!(s, "traffic:\n  flows:");
    for f in 0..shape.flows {
        let c = f % clients;
        let v = clients + f % servers;
        let _ = writeln!(
            s,
            "    - {{ name: f{f}, from: h{c}, to: {}, rate: {}, src_port: {} }}",
            ip(100_000 + v),
            shape.rate,
            20_000 + (f % 40_000)
        );
    }
    let _ = writeln!(s, "timeline:");
    for v in clients..hosts {
        let _ = writeln!(
            s,
            "  - {{ at: 0s, own: {{ host: h{v}, address: {} }} }}",
            ip(100_000 + v)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_scenarios_parse_and_every_flow_is_answered() {
        let shape = Shape {
            hosts: 6,
            flows: 9,
            rate: 10.0,
            duration: Duration::from_secs(3),
            jitter: Duration::from_micros(5),
        };
        let plan = crate::scenario::parse("synthetic", &scenario_text(shape, 1)).unwrap();
        assert_eq!(plan.flows.len(), 9);
        let (o, _) = crate::run::run(&plan, None, false);
        for f in &o.flows {
            assert_eq!(f.stats.lost, 0, "{}", f.spec.name);
            assert!(f.stats.answered >= 29);
        }
    }
}
