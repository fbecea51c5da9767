//! The human summary of a run. The same text is what `ferrolb-sim run` prints and what
//! the scenario tests snapshot, so a behaviour change shows up as a readable diff.

use std::fmt::Write as _;

use crate::run::RunOutcome;
use crate::time::{Duration, Instant};

/// How many neighbour changes and segments to list per flow before summarising.
const MAX_LINES: usize = 24;

/// Renders the summary. `fingerprint` adds the trace hash and event count (left out of
/// snapshots so that internal refactors do not churn them).
pub fn render(o: &RunOutcome, fingerprint: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "scenario {} — seed {}, {} simulated",
        o.name, o.seed, o.duration
    );
    if let Some(d) = &o.description {
        for line in d.trim().lines() {
            let _ = writeln!(s, "  {}", line.trim());
        }
    }
    if fingerprint {
        let _ = writeln!(s, "trace {:016x} ({} events)", o.trace_hash, o.events);
    }
    if !o.markers.is_empty() {
        let _ = writeln!(s, "\ntimeline");
        for m in &o.markers {
            let _ = writeln!(s, "  {:>10}  {}", m.at.to_string(), m.text);
        }
    }
    let _ = writeln!(s, "\nflows");
    for f in &o.flows {
        let st = &f.stats;
        let _ = writeln!(
            s,
            "  {}: {} {} -> {}, every {}",
            f.spec.name, f.client, f.spec.src, f.spec.dst, f.spec.interval
        );
        let _ = writeln!(
            s,
            "    sent {}, answered {}, lost {}{}; max outage {}; MAC changes {}",
            st.sent,
            st.answered,
            st.lost,
            if st.in_flight > 0 {
                format!(", in flight at end {}", st.in_flight)
            } else {
                String::new()
            },
            st.max_outage,
            st.mac_changes
        );
        if !st.outages.is_empty() {
            let _ = writeln!(s, "    outages:");
            for out in st.outages.iter().take(MAX_LINES) {
                let end = out
                    .end
                    .map_or_else(|| "end (unrecovered)".to_string(), |e| e.to_string());
                let _ = writeln!(
                    s,
                    "      {} -> {}  {}  {} lost, mostly: {}",
                    out.start,
                    end,
                    out.duration,
                    out.lost,
                    o.loss_text(out.reason)
                );
            }
            more(&mut s, st.outages.len());
        }
        if !st.losses.is_empty() {
            let _ = writeln!(s, "    losses by cause:");
            for (loss, n) in &st.losses {
                let _ = writeln!(s, "      {n:>6}  {}", o.loss_text(*loss));
            }
        }
        if !st.segments.is_empty() {
            let _ = writeln!(s, "    answered by:");
            for seg in st.segments.iter().take(MAX_LINES) {
                let _ = writeln!(
                    s,
                    "      {} .. {}  {} via {}  ({} answered)",
                    seg.from,
                    seg.to,
                    o.host_name(seg.responder),
                    seg.mac,
                    seg.answered
                );
            }
            more(&mut s, st.segments.len());
        }
        if !f.neighbour.is_empty() {
            let _ = writeln!(
                s,
                "    {}'s neighbour entry for {}:",
                f.client,
                f.spec.dst.ip()
            );
            for e in f.neighbour.iter().take(MAX_LINES) {
                let _ = writeln!(
                    s,
                    "      {:>10}  {:<10} {}",
                    e.at.to_string(),
                    e.state.map_or("(removed)", |st| st.name()),
                    e.mac
                        .map_or_else(String::new, |m| format!("{m} ({})", owner(o, m)))
                );
            }
            more(&mut s, f.neighbour.len());
        }
    }
    if !o.addresses.is_empty() {
        let _ = writeln!(s, "\naddresses");
        for a in &o.addresses {
            let _ = writeln!(
                s,
                "  {}: {} flow(s), max outage {}, lost {}",
                a.address, a.flows, a.max_outage, a.lost
            );
            let h = a.holders();
            if !h.steps.is_empty() {
                let steps: Vec<String> = h
                    .steps
                    .iter()
                    .take(MAX_LINES)
                    .map(|(at, hosts)| {
                        let names: Vec<&str> = hosts.iter().map(|h| o.host_name(*h)).collect();
                        let who = if names.is_empty() {
                            "nobody".to_string()
                        } else {
                            names.join("+")
                        };
                        format!("{at} {who}")
                    })
                    .collect();
                let split = if h.max > 1 {
                    // How long, in all, more than one held it.
                    let end = Instant::ZERO + o.duration;
                    let mut total = Duration::ZERO;
                    for (i, (at, hosts)) in h.steps.iter().enumerate() {
                        if hosts.len() > 1 {
                            let until = h.steps.get(i + 1).map_or(end, |(t, _)| *t);
                            total = total + until.saturating_since(*at);
                        }
                    }
                    format!(
                        "  (up to {} at once, for {total} in all: {})",
                        h.max, h.overlap
                    )
                } else {
                    String::new()
                };
                let _ = writeln!(s, "    {}: {}{split}", h.label, steps.join(", "));
            }
        }
    }
    if !o.checks.is_empty() {
        let _ = writeln!(s, "\nexpectations");
        for c in &o.checks {
            let _ = writeln!(
                s,
                "  {}  {} (actual {})",
                if c.ok { "ok  " } else { "FAIL" },
                c.what,
                c.actual
            );
        }
    }
    s
}

fn more(s: &mut String, n: usize) {
    if n > MAX_LINES {
        let _ = writeln!(s, "      … and {} more", n - MAX_LINES);
    }
}

/// Which host a MAC belongs to, for readers who do not memorise MACs.
fn owner(o: &RunOutcome, mac: crate::frame::Mac) -> &str {
    o.hosts
        .iter()
        .find(|(_, macs)| macs.contains(&mac))
        .map_or("unknown", |(n, _)| n.as_str())
}

/// A one-line verdict for sweeps and test failures.
pub fn one_line(o: &RunOutcome) -> String {
    let failed: Vec<String> = o
        .failures()
        .map(|c| format!("{} (actual {})", c.what, c.actual))
        .collect();
    format!(
        "{} seed {}: max outage {}{}",
        o.name,
        o.seed,
        o.max_outage(),
        if failed.is_empty() {
            String::new()
        } else {
            format!("; FAILED: {}", failed.join("; "))
        }
    )
}

/// Seconds for a timeline axis label.
pub fn secs_label(t: Instant) -> String {
    let ms = t.as_nanos() / 1_000_000;
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{}.{:03}s", ms / 1000, ms % 1000)
    }
}
