//! Target (c): probe traffic per member does not grow with the cluster size.

use core::time::Duration;

use super::net::{Link, Net};
use crate::time::Instant;

/// Per-member (datagrams/s, bytes/s) sent over a steady-state window: mean and max.
fn rates(n: usize, seed: u64, window: Duration) -> ((f64, f64), (f64, f64)) {
    let mut net = Net::cluster(n, Link::LAN, seed);
    net.run_until_converged(n, Instant::from_nanos(3_000_000_000))
        .expect("converged");
    net.run_for(Duration::from_secs(1));
    let before: Vec<(u64, u64)> = net
        .nodes
        .iter()
        .map(|x| (x.m.counters().datagrams_sent, x.m.counters().bytes_sent))
        .collect();
    net.run_for(window);
    let secs = window.as_secs_f64();
    let per: Vec<(f64, f64)> = net
        .nodes
        .iter()
        .zip(&before)
        .map(|(x, (d0, b0))| {
            let c = x.m.counters();
            (
                (c.datagrams_sent - d0) as f64 / secs,
                (c.bytes_sent - b0) as f64 / secs,
            )
        })
        .collect();
    let mean = (
        per.iter().map(|p| p.0).sum::<f64>() / n as f64,
        per.iter().map(|p| p.1).sum::<f64>() / n as f64,
    );
    let max = (
        per.iter().map(|p| p.0).fold(0.0, f64::max),
        per.iter().map(|p| p.1).fold(0.0, f64::max),
    );
    assert_eq!(net.downs_since(Instant::ZERO).len(), 0);
    (mean, max)
}

#[test]
fn probe_traffic_per_member_is_independent_of_cluster_size() {
    let window = Duration::from_secs(40);
    let (base, _) = rates(3, 5, window);
    eprintln!(
        "(c) n=3: {:.1} datagrams/s, {:.0} bytes/s per member (mean)",
        base.0, base.1
    );
    // One probe per 20 ms each way: 50 pings and ~50 acks per second.
    assert!((95.0..=105.0).contains(&base.0), "{base:?}");
    for n in [10usize, 50] {
        let (mean, max) = rates(n, 5, window);
        eprintln!(
            "(c) n={n}: {:.1} datagrams/s, {:.0} bytes/s per member (mean); max member {:.1}/s, {:.0} B/s",
            mean.0, mean.1, max.0, max.1
        );
        assert!(
            (mean.0 / base.0 - 1.0).abs() < 0.03,
            "n={n}: datagram rate {mean:?} vs {base:?}"
        );
        assert!(
            (mean.1 / base.1 - 1.0).abs() < 0.05,
            "n={n}: byte rate {mean:?} vs {base:?}"
        );
        assert!(max.0 / base.0 < 1.15, "n={n}: busiest member {max:?}");
    }
}
