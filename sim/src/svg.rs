//! The timeline picture: one band per client flow, time left to right, each probe
//! painted in the colour of the host that answered it and lost probes in red, with the
//! scenario's faults and announcements as labelled vertical lines. Made to be looked
//! at: where the outage is, how long, and who the client ended up talking to should be
//! obvious without reading a number. Hovering a band shows the details (SVG `<title>`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::neigh::NudState;
use crate::run::{FlowOutcome, RunOutcome};
use crate::time::{Duration, Instant};

/// Colour-blind-safe palette (Paul Tol's "bright", without its red).
const HOST_COLOURS: &[&str] = &[
    "#4477AA", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#997700", "#555555",
];
const LOST: &str = "#D62728";
const PENDING: &str = "#DDDDDD";

const WIDTH: f64 = 1200.0;
const LEFT: f64 = 190.0;
const RIGHT: f64 = 30.0;
const ROW: f64 = 80.0;
const STRIP: f64 = 13.0;
const OWNER_ROW: f64 = 44.0;
const BAND: f64 = 24.0;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cat {
    Answered(u32),
    Lost,
    Pending,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" tick step giving at most about ten ticks.
fn tick_step(total: Duration) -> Duration {
    let secs = total.as_secs_f64().max(0.001);
    for step in [
        0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0,
        600.0, 1800.0, 3600.0,
    ] {
        if secs / step <= 12.0 {
            return Duration::from_nanos((step * 1e9) as u64);
        }
    }
    Duration::from_secs(7200)
}

fn fmt_secs(t: Instant, step: Duration) -> String {
    let s = t.as_secs_f64();
    if step.as_nanos() >= 1_000_000_000 {
        format!("{s:.0}s")
    } else if step.as_nanos() >= 100_000_000 {
        format!("{s:.1}s")
    } else {
        format!("{s:.2}s")
    }
}

/// Renders the timeline of a run.
pub fn render(o: &RunOutcome) -> String {
    let end = Instant::ZERO + o.duration;
    let span = (WIDTH - LEFT - RIGHT) / o.duration.as_secs_f64().max(1e-9);
    let x = |t: Instant| LEFT + t.as_secs_f64() * span;

    // Colours for hosts that answered anything, in order of first appearance.
    let mut colours: BTreeMap<u32, &str> = BTreeMap::new();
    let mut order: Vec<u32> = vec![];
    let responders = o
        .flows
        .iter()
        .flat_map(|f| f.stats.segments.iter().map(|s| s.responder));
    let owners = o.addresses.iter().flat_map(|a| {
        a.holders()
            .steps
            .iter()
            .flat_map(|(_, hs)| hs.iter().copied())
    });
    for h in responders.chain(owners) {
        if let std::collections::btree_map::Entry::Vacant(e) = colours.entry(h) {
            e.insert(HOST_COLOURS[order.len() % HOST_COLOURS.len()]);
            order.push(h);
        }
    }
    let owned: Vec<&crate::run::AddressOutcome> = o
        .addresses
        .iter()
        .filter(|a| !a.holders().steps.is_empty())
        .collect();

    // Marker labels are stacked in lanes so they never overlap.
    let mut lanes: Vec<f64> = vec![];
    let mut placed = vec![];
    for m in &o.markers {
        let mx = x(m.at);
        let w = 6.5 * m.text.chars().count() as f64 + 8.0;
        let start = if mx + w > WIDTH - 4.0 { mx - w } else { mx };
        let lane = lanes.iter().position(|&r| r < start).unwrap_or_else(|| {
            lanes.push(f64::MIN);
            lanes.len() - 1
        });
        lanes[lane] = start + w;
        placed.push((mx, lane, m));
    }
    let title_h = 58.0;
    let marker_h = 16.0 * lanes.len() as f64 + 8.0;
    let top = title_h + marker_h;
    let rows_h = ROW * o.flows.len() as f64 + OWNER_ROW * owned.len() as f64;
    let height = top + rows_h + 70.0;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r##"<text x="16" y="24" font-size="17" font-weight="bold">{}</text><text x="16" y="44" fill="#555">seed {} · {} simulated · worst outage {}</text>"##,
        esc(&o.name),
        o.seed,
        o.duration,
        o.max_outage()
    );
    // Legend, right-aligned on the title line.
    let mut lx = WIDTH - RIGHT;
    let mut legend: Vec<(String, &str)> = order
        .iter()
        .map(|h| (o.host_name(*h).to_string(), colours[h]))
        .collect();
    legend.push(("lost".into(), LOST));
    for (label, colour) in legend.iter().rev() {
        let w = 7.0 * label.chars().count() as f64 + 22.0;
        lx -= w;
        let _ = writeln!(
            s,
            r#"<rect x="{lx:.1}" y="14" width="12" height="12" fill="{colour}"/><text x="{:.1}" y="25">{}</text>"#,
            lx + 16.0,
            esc(label)
        );
    }

    // Axis grid.
    let step = tick_step(o.duration);
    let mut t = Instant::ZERO;
    while t <= end {
        let tx = x(t);
        let _ = writeln!(
            s,
            r##"<line x1="{tx:.1}" y1="{top:.1}" x2="{tx:.1}" y2="{:.1}" stroke="#eee"/><text x="{tx:.1}" y="{:.1}" text-anchor="middle" fill="#333">{}</text>"##,
            top + rows_h,
            top + rows_h + 18.0,
            fmt_secs(t, step)
        );
        t += step;
    }
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#333"/><text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#333">time (virtual seconds)</text>"##,
        top + rows_h + 4.0,
        WIDTH - RIGHT,
        top + rows_h + 4.0,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        top + rows_h + 40.0
    );

    for (i, f) in o.flows.iter().enumerate() {
        let y = top + ROW * i as f64 + 20.0;
        flow_row(&mut s, o, f, y, &colours, &x, end);
    }
    for (i, a) in owned.iter().enumerate() {
        let y = top + ROW * o.flows.len() as f64 + OWNER_ROW * i as f64 + 12.0;
        owner_row(&mut s, o, a, y, &colours, &x, end);
    }

    // Markers on top of the bands.
    for (mx, lane, m) in placed {
        let ly = title_h + 14.0 + 16.0 * lane as f64;
        let w = 6.5 * m.text.chars().count() as f64;
        // Labels that would run off the right edge hang to the left of their line.
        let (tx, anchor) = if mx + 4.0 + w > WIDTH - 4.0 {
            (mx - 4.0, "end")
        } else {
            (mx + 4.0, "start")
        };
        let _ = writeln!(
            s,
            r##"<line x1="{mx:.1}" y1="{:.1}" x2="{mx:.1}" y2="{:.1}" stroke="#222" stroke-dasharray="4 3" stroke-width="1"/><circle cx="{mx:.1}" cy="{:.1}" r="2.5" fill="#222"/><text x="{tx:.1}" y="{ly:.1}" text-anchor="{anchor}" fill="#222">{}<title>{} {}</title></text>"##,
            ly - 4.0,
            top + rows_h,
            ly - 4.0,
            esc(&m.text),
            m.at,
            esc(&m.text)
        );
    }
    let _ = writeln!(s, "</svg>");
    s
}

#[allow(clippy::too_many_arguments)]
fn flow_row(
    s: &mut String,
    o: &RunOutcome,
    f: &FlowOutcome,
    y: f64,
    colours: &BTreeMap<u32, &str>,
    x: &dyn Fn(Instant) -> f64,
    end: Instant,
) {
    let _ = writeln!(
        s,
        r##"<text x="16" y="{:.1}" font-weight="bold">{}</text><text x="16" y="{:.1}" fill="#555" font-size="11">{} → {}</text>"##,
        y + 10.0,
        esc(&f.spec.name),
        y + 24.0,
        esc(&f.client),
        f.spec.dst.ip()
    );
    let _ = writeln!(
        s,
        r##"<text x="16" y="{:.1}" fill="#777" font-size="10">neighbour entry</text>"##,
        y + BAND + 13.0
    );
    let _ = writeln!(
        s,
        r##"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{BAND}" fill="#f6f6f6"/>"##,
        x(f.spec.start),
        (x(f.spec.stop.min(end)) - x(f.spec.start)).max(0.0)
    );
    let timeout = f.spec.timeout;
    let cat = |i: usize| {
        let p = &f.probes[i];
        match p.reply {
            Some(r) => Cat::Answered(r.responder),
            None if p.loss.is_none() && p.sent + timeout > end => Cat::Pending,
            None => Cat::Lost,
        }
    };
    let mut i = 0;
    while i < f.probes.len() {
        let c = cat(i);
        let mut j = i;
        while j + 1 < f.probes.len() && cat(j + 1) == c {
            j += 1;
        }
        let from = f.probes[i].sent;
        let to = f
            .probes
            .get(j + 1)
            .map_or(f.probes[j].sent + f.spec.interval, |p| p.sent)
            .min(end);
        let (fill, what) = match c {
            Cat::Answered(h) => (
                colours.get(&h).copied().unwrap_or("#999"),
                format!("answered by {}", o.host_name(h)),
            ),
            Cat::Lost => (LOST, "lost".to_string()),
            Cat::Pending => (PENDING, "in flight at the end".to_string()),
        };
        let w = (x(to) - x(from)).max(1.0);
        let _ = writeln!(
            s,
            r#"<rect x="{:.2}" y="{y:.1}" width="{w:.2}" height="{BAND}" fill="{fill}"><title>{} – {}: {} probe(s) {}</title></rect>"#,
            x(from),
            from,
            to,
            j - i + 1,
            esc(&what)
        );
        i = j + 1;
    }
    // MAC changes: a small black tick above the band where the client switched.
    let mut last_mac = None;
    for p in &f.probes {
        if let Some(r) = p.reply {
            if last_mac.is_some_and(|m| m != r.via_mac) {
                let mx = x(p.sent);
                let _ = writeln!(
                    s,
                    r##"<path d="M{:.1} {:.1} l4 -6 h-8 z" fill="#000"><title>{}: client now sends to {}</title></path>"##,
                    mx,
                    y - 1.0,
                    p.sent,
                    r.via_mac
                );
            }
            last_mac = Some(r.via_mac);
        }
    }
    neighbour_strip(s, f, y + BAND + 3.0, x, end);
    // Outage labels under the band.
    for out in &f.stats.outages {
        if out.duration < Duration::from_millis(1) && out.lost < 2 {
            continue;
        }
        let ox = x(out.start);
        let label = format!(
            "outage {}{} — {}",
            out.duration,
            if out.end.is_none() {
                " (unrecovered)"
            } else {
                ""
            },
            o.loss_text(out.reason)
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" fill="{LOST}" font-size="11">{}</text>"#,
            ox + 3.0,
            y + BAND + STRIP + 17.0,
            esc(&label)
        );
    }
}

/// Who held the address over time (its announcers when known, else who accepted it):
/// one colour per host, split lanes when two hold it at once (split brain), empty when
/// nobody does.
fn owner_row(
    s: &mut String,
    o: &RunOutcome,
    a: &crate::run::AddressOutcome,
    y: f64,
    colours: &BTreeMap<u32, &str>,
    x: &dyn Fn(Instant) -> f64,
    end: Instant,
) {
    let h = a.holders();
    let (label, holders) = (h.label, h.steps);
    let _ = writeln!(
        s,
        r##"<text x="16" y="{:.1}" font-weight="bold">{label}</text><text x="16" y="{:.1}" fill="#555" font-size="11">{}</text>"##,
        y + 10.0,
        y + 24.0,
        a.address
    );
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{y:.1}" width="{:.1}" height="{STRIP}" fill="#f6f6f6"/>"##,
        x(end) - LEFT
    );
    for (i, (at, hosts)) in holders.iter().enumerate() {
        let to = holders.get(i + 1).map_or(end, |n| n.0);
        let (x0, x1) = (x(*at), x(to));
        if hosts.is_empty() || x1 <= x0 {
            continue;
        }
        let lane = STRIP / hosts.len() as f64;
        let names: Vec<&str> = hosts.iter().map(|h| o.host_name(*h)).collect();
        for (k, h) in hosts.iter().enumerate() {
            let _ = writeln!(
                s,
                r#"<rect x="{x0:.2}" y="{:.2}" width="{:.2}" height="{lane:.2}" fill="{}"><title>{} – {}: {}</title></rect>"#,
                y + lane * k as f64,
                x1 - x0,
                colours.get(h).copied().unwrap_or("#999"),
                at,
                to,
                esc(&names.join(" + "))
            );
        }
        let label = if hosts.len() > 1 {
            format!("{} ({})", names.join(" + "), h.overlap)
        } else {
            names.join("")
        };
        if x1 - x0 > 7.0 * label.len() as f64 + 6.0 {
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" font-size="9.5" fill="#fff">{}</text>"##,
                x0 + 3.0,
                y + 10.0,
                esc(&label)
            );
        }
    }
}

fn state_colour(st: Option<NudState>) -> &'static str {
    match st {
        Some(NudState::Reachable) | Some(NudState::Permanent) => "#b8e186",
        Some(NudState::Stale) => "#fdd49e",
        Some(NudState::Delay) => "#fdae6b",
        Some(NudState::Probe) => "#c2a5cf",
        Some(NudState::Incomplete) | Some(NudState::New) => "#9ecae1",
        Some(NudState::Failed) => "#444444",
        None => "#ffffff",
    }
}

/// The client's neighbour entry for the flow's address, state by state, so the
/// picture shows *why* an outage lasts as long as it does.
fn neighbour_strip(
    s: &mut String,
    f: &FlowOutcome,
    y: f64,
    x: &dyn Fn(Instant) -> f64,
    end: Instant,
) {
    let ev = &f.neighbour;
    for (i, e) in ev.iter().enumerate() {
        let to = ev.get(i + 1).map_or(end, |n| n.at);
        if to <= e.at && i + 1 < ev.len() {
            continue;
        }
        let (x0, x1) = (x(e.at), x(to));
        let w = (x1 - x0).max(0.5);
        let name = e.state.map_or("none", NudState::name);
        let _ = writeln!(
            s,
            r##"<rect x="{x0:.2}" y="{y:.1}" width="{w:.2}" height="{STRIP}" fill="{}" stroke="#fff" stroke-width="0.5"><title>{} – {}: {} {}</title></rect>"##,
            state_colour(e.state),
            e.at,
            to,
            name,
            e.mac.map_or_else(String::new, |m| m.to_string())
        );
        let label = if w > 7.0 * name.len() as f64 + 6.0 {
            name.to_string()
        } else if w > 14.0 {
            name[..1].to_string()
        } else {
            String::new()
        };
        if !label.is_empty() {
            let fill = if e.state == Some(NudState::Failed) {
                "#fff"
            } else {
                "#333"
            };
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" font-size="9.5" fill="{fill}">{label}</text>"#,
                x0 + 3.0,
                y + 10.0
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_steps_are_round_and_few() {
        assert_eq!(tick_step(Duration::from_secs(60)), Duration::from_secs(5));
        assert_eq!(tick_step(Duration::from_secs(10)), Duration::from_secs(1));
        assert_eq!(
            tick_step(Duration::from_millis(500)),
            Duration::from_millis(50)
        );
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
    }
}
