//! The `timeline` section: ordered steps, resolved into world actions and the scripts
//! of the hosts' scripted applications.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::cluster::ClusterPlan;
use super::plan::{Ctx, HostPlan, LinkPlan, apply_props, clock_of, parse_ip};
use super::spec::{EndpointsAction, ScenarioFile};
use crate::app::same_subnet;
use crate::clock::HostClock;
use crate::link::LinkProps;
use crate::scripted::{GarpKind, ScriptAction};
use crate::time::{Duration, Instant};
use crate::world::WorldAction;
use ferrolb_speaker::election::Endpoint;

#[allow(clippy::too_many_arguments)]
pub(super) fn timeline(
    ctx: &mut Ctx,
    file: &ScenarioFile,
    end: Instant,
    hosts: &mut [HostPlan],
    host_idx: &BTreeMap<&str, usize>,
    links: &mut [LinkPlan],
    link_idx: &BTreeMap<String, usize>,
    cluster: Option<&ClusterPlan>,
) -> Vec<(Instant, WorldAction, String)> {
    let mut out = vec![];
    let mut last: Option<(Instant, usize)> = None;
    let mut partitions: BTreeMap<String, usize> = BTreeMap::new();
    let mut current: Vec<LinkProps> = links.iter().map(|l| l.props).collect();
    let mut clocks: Vec<HostClock> = hosts.iter().map(|h| h.clock).collect();
    for (i, e) in file.timeline.iter().enumerate() {
        let tp = format!("timeline[{i}]");
        let at = Instant::ZERO + e.at.0;
        if at > end {
            ctx.err(
                format!("{tp}.at"),
                format!("{at} is after the end of the run ({end})"),
            );
        }
        if let Some((prev, j)) = last
            && at < prev
        {
            ctx.err(
                format!("{tp}.at"),
                format!("out of order: {at} is in the past of timeline[{j}] at {prev}; keep entries in time order"),
            );
        }
        last = Some((at, i));
        let set: Vec<&str> = [
            ("own", e.own.is_some()),
            ("release", e.release.is_some()),
            ("garp", e.garp.is_some()),
            ("unsolicited_na", e.unsolicited_na.is_some()),
            ("link_down", e.link_down.is_some()),
            ("link_up", e.link_up.is_some()),
            ("set_link", e.set_link.is_some()),
            ("partition", e.partition.is_some()),
            ("heal", e.heal.is_some()),
            ("crash", e.crash.is_some()),
            ("restart", e.restart.is_some()),
            ("set_clock", e.set_clock.is_some()),
            ("kill", e.kill.is_some()),
            ("terminate", e.terminate.is_some()),
            ("start", e.start.is_some()),
            ("pause", e.pause.is_some()),
            ("resume", e.resume.is_some()),
            ("endpoints", e.endpoints.is_some()),
        ]
        .into_iter()
        .filter(|(_, s)| *s)
        .map(|(k, _)| k)
        .collect();
        if set.len() != 1 {
            ctx.err(
                &tp,
                if set.is_empty() {
                    "no action: add one of own, release, garp, unsolicited_na, link_down, link_up, set_link, partition, heal, crash, restart, set_clock, kill, terminate, start, pause, resume, endpoints".to_string()
                } else {
                    format!("one action per entry, found {}", set.join(", "))
                },
            );
            continue;
        }
        let host_of = |ctx: &mut Ctx, path: String, name: &str| -> Option<usize> {
            let h = host_idx.get(name).copied();
            if h.is_none() {
                ctx.err(path, format!("dangling reference: no host named `{name}`"));
            }
            h
        };
        let link_of = |ctx: &mut Ctx, path: String, name: &str| -> Option<usize> {
            let l = link_idx.get(name).copied();
            if l.is_none() {
                let known: Vec<&str> = link_idx.keys().map(String::as_str).collect();
                ctx.err(
                    path,
                    format!(
                        "dangling reference: no link named `{name}` (links: {})",
                        known.join(", ")
                    ),
                );
            }
            l
        };
        let addr_on = |ctx: &mut Ctx, path: String, h: usize, s: &str| -> Option<IpAddr> {
            let ip = parse_ip(s).map_err(|e| ctx.err(path.clone(), e)).ok()?;
            let host = &hosts[h];
            if !host
                .nics
                .iter()
                .flat_map(|n| n.addrs.iter())
                .any(|(a, p)| same_subnet(*a, ip, *p))
            {
                let subnets: Vec<String> = host
                    .nics
                    .iter()
                    .flat_map(|n| n.addrs.iter())
                    .map(|(a, p)| format!("{a}/{p}"))
                    .collect();
                ctx.err(
                    path,
                    format!(
                        "address outside its subnet: {ip} is in no subnet of host `{}` ({})",
                        host.name,
                        subnets.join(", ")
                    ),
                );
                return None;
            }
            Some(ip)
        };
        if let Some(a) = &e.own {
            if let Some(h) = host_of(ctx, format!("{tp}.own.host"), &a.host)
                && let Some(ip) = addr_on(ctx, format!("{tp}.own.address"), h, &a.address)
            {
                let step = if a.on_interface.unwrap_or(false) {
                    ScriptAction::OwnOnInterface(ip)
                } else {
                    ScriptAction::Own(ip)
                };
                hosts[h].script.push((at, step));
            }
        } else if let Some(a) = &e.release {
            if a.on_interface.is_some() {
                ctx.err(
                    format!("{tp}.release.on_interface"),
                    "only `own` takes on_interface; release removes the address either way",
                );
            }
            if let Some(h) = host_of(ctx, format!("{tp}.release.host"), &a.host)
                && let Some(ip) = addr_on(ctx, format!("{tp}.release.address"), h, &a.address)
            {
                hosts[h].script.push((at, ScriptAction::Release(ip)));
            }
        } else if let Some(g) = &e.garp {
            let kind = match g.kind.as_str() {
                "request" => Some(GarpKind::Request),
                "reply" => Some(GarpKind::Reply),
                "reply-broadcast-target" => Some(GarpKind::ReplyBroadcastTarget),
                k => {
                    ctx.err(
                        format!("{tp}.garp.kind"),
                        format!("unknown kind `{k}` (request, reply, reply-broadcast-target)"),
                    );
                    None
                }
            };
            let count = g.count.unwrap_or(1);
            if count == 0 {
                ctx.err(format!("{tp}.garp.count"), "must be at least 1");
            }
            if let Some(h) = host_of(ctx, format!("{tp}.garp.host"), &g.host)
                && let Some(ip) = addr_on(ctx, format!("{tp}.garp.address"), h, &g.address)
                && let Some(kind) = kind
            {
                if ip.is_ipv6() {
                    ctx.err(
                        format!("{tp}.garp.address"),
                        "gratuitous ARP is IPv4; use unsolicited_na for IPv6",
                    );
                } else {
                    hosts[h].script.push((
                        at,
                        ScriptAction::Garp {
                            addr: ip,
                            kind,
                            count,
                            interval: g.interval.map_or(Duration::from_millis(1100), |d| d.0),
                        },
                    ));
                }
            }
        } else if let Some(n) = &e.unsolicited_na {
            let count = n.count.unwrap_or(1);
            if count == 0 {
                ctx.err(format!("{tp}.unsolicited_na.count"), "must be at least 1");
            }
            if let Some(h) = host_of(ctx, format!("{tp}.unsolicited_na.host"), &n.host)
                && let Some(ip) =
                    addr_on(ctx, format!("{tp}.unsolicited_na.address"), h, &n.address)
            {
                if ip.is_ipv4() {
                    ctx.err(
                        format!("{tp}.unsolicited_na.address"),
                        "neighbour advertisements are IPv6; use garp for IPv4",
                    );
                } else {
                    hosts[h].script.push((
                        at,
                        ScriptAction::UnsolicitedNa {
                            addr: ip,
                            override_: n.override_.unwrap_or(true),
                            count,
                            interval: n.interval.map_or(Duration::from_millis(1100), |d| d.0),
                        },
                    ));
                }
            }
        } else if let Some(name) = e.link_down.as_ref().or(e.link_up.as_ref()) {
            let up = e.link_up.is_some();
            let key = if up { "link_up" } else { "link_down" };
            if let Some(l) = link_of(ctx, format!("{tp}.{key}"), name) {
                out.push((
                    at,
                    WorldAction::SetLinkUp { link: l as u32, up },
                    format!("link {name} {}", if up { "up" } else { "down" }),
                ));
            }
        } else if let Some(s) = &e.set_link {
            if let Some(l) = link_of(ctx, format!("{tp}.set_link.link"), &s.link) {
                let props = apply_props(ctx, &format!("{tp}.set_link"), current[l], s.props());
                current[l] = props;
                let (ab, ba) = match s.direction.as_deref().unwrap_or("both") {
                    "both" => (Some(props), Some(props)),
                    "a_to_b" => (Some(props), None),
                    "b_to_a" => (None, Some(props)),
                    d => {
                        ctx.err(
                            format!("{tp}.set_link.direction"),
                            format!("unknown direction `{d}` (both, a_to_b, b_to_a)"),
                        );
                        (None, None)
                    }
                };
                out.push((
                    at,
                    WorldAction::SetLinkProps {
                        link: l as u32,
                        a_to_b: ab,
                        b_to_a: ba,
                    },
                    format!(
                        "link {} now {} latency, {} loss",
                        s.link, props.latency, props.loss
                    ),
                ));
            }
        } else if let Some(p) = &e.partition {
            let mut side = |key: &str, names: &[String]| -> Vec<u32> {
                names
                    .iter()
                    .enumerate()
                    .filter_map(|(k, n)| {
                        host_of(ctx, format!("{tp}.partition.{key}[{k}]"), n).map(|h| h as u32)
                    })
                    .collect()
            };
            let from = side("from", &p.from);
            let to = side("to", &p.to);
            partitions.insert(p.name.clone(), i);
            let symmetric = p.symmetric.unwrap_or(true);
            let mut blocks = vec![(from.clone(), to.clone())];
            if symmetric {
                blocks.push((to, from));
            }
            let arrow = if symmetric { "<-/->" } else { "-/->" };
            out.push((
                at,
                WorldAction::Partition {
                    name: p.name.clone(),
                    blocks,
                },
                format!(
                    "partition {}: {} {arrow} {}",
                    p.name,
                    p.from.join(","),
                    p.to.join(",")
                ),
            ));
        } else if let Some(name) = &e.heal {
            if partitions.remove(name).is_none() {
                ctx.err(
                    format!("{tp}.heal"),
                    format!("dangling reference: no partition named `{name}` is in force here"),
                );
            } else {
                out.push((
                    at,
                    WorldAction::Heal { name: name.clone() },
                    format!("heal {name}"),
                ));
            }
        } else if let Some(name) = &e.crash {
            if let Some(h) = host_of(ctx, format!("{tp}.crash"), name) {
                out.push((
                    at,
                    WorldAction::Crash { host: h as u32 },
                    format!("crash {name} (power off)"),
                ));
            }
        } else if let Some(c) = &e.set_clock {
            if let Some(h) = host_of(ctx, format!("{tp}.set_clock.host"), &c.host) {
                let clock = clock_of(
                    ctx,
                    &format!("{tp}.set_clock"),
                    c.offset,
                    c.drift_ppm,
                    clocks[h],
                );
                clocks[h] = clock;
                out.push((
                    at,
                    WorldAction::SetClock {
                        host: h as u32,
                        clock,
                    },
                    format!(
                        "{}'s clock now {:+.3}s, {:+} ppm",
                        c.host,
                        clock.offset_ns as f64 / 1e9,
                        clock.drift_ppm
                    ),
                ));
            }
        } else if let Some((key, name)) = [
            ("kill", &e.kill),
            ("start", &e.start),
            ("terminate", &e.terminate),
            ("pause", &e.pause),
            ("resume", &e.resume),
        ]
        .into_iter()
        .find_map(|(k, v)| v.as_ref().map(|n| (k, n)))
        {
            if let Some(h) = host_of(ctx, format!("{tp}.{key}"), name) {
                let host = h as u32;
                let (action, label) = match key {
                    "kill" => (
                        WorldAction::KillApps { host },
                        format!("kill {name}'s applications"),
                    ),
                    "start" => (
                        WorldAction::StartApps { host },
                        format!("start {name}'s applications"),
                    ),
                    "terminate" => (
                        WorldAction::TerminateApps { host },
                        format!("SIGTERM {name}'s applications"),
                    ),
                    "pause" => (
                        WorldAction::PauseApps { host },
                        format!("pause {name}'s applications (SIGSTOP)"),
                    ),
                    _ => (
                        WorldAction::ResumeApps { host },
                        format!("resume {name}'s applications"),
                    ),
                };
                out.push((at, action, label));
            }
        } else if let Some(name) = &e.restart
            && let Some(h) = host_of(ctx, format!("{tp}.restart"), name)
        {
            out.push((
                at,
                WorldAction::Restart { host: h as u32 },
                format!("restart {name}"),
            ));
        } else if let Some(ep) = &e.endpoints
            && let Some(step) = endpoints_step(ctx, &format!("{tp}.endpoints"), ep, cluster)
        {
            out.push((at, step.0, step.1));
        }
    }
    out
}

/// An `endpoints` step: the Service and every node it names must exist.
fn endpoints_step(
    ctx: &mut Ctx,
    path: &str,
    ep: &EndpointsAction,
    cluster: Option<&ClusterPlan>,
) -> Option<(WorldAction, String)> {
    let Some(c) = cluster else {
        ctx.err(path, "needs `nodes`: endpoints live on Kubernetes nodes");
        return None;
    };
    if !c.services.iter().any(|v| v.service.key() == ep.service) {
        let known: Vec<String> = c.services.iter().map(|v| v.service.key()).collect();
        ctx.err(
            format!("{path}.service"),
            format!(
                "no Service `{}` in `kubernetes` (Services: {})",
                ep.service,
                known.join(", ")
            ),
        );
        return None;
    }
    let mut ok = true;
    let mut endpoints = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (key, list, ready) in [
        ("ready", &ep.ready, true),
        ("terminating", &ep.terminating, false),
    ] {
        for (j, node) in list.iter().enumerate() {
            if !c.nodes.contains_key(node) {
                ctx.err(
                    format!("{path}.{key}[{j}]"),
                    format!("no node `{node}` in `nodes`"),
                );
                ok = false;
                continue;
            }
            if !seen.insert(node.as_str()) {
                ctx.err(
                    format!("{path}.{key}[{j}]"),
                    format!("node `{node}` is listed twice"),
                );
                ok = false;
                continue;
            }
            endpoints.push(Endpoint {
                node: Some(node.clone()),
                ready: Some(ready),
                // A terminating pod that still passes its readiness probe.
                serving: Some(true),
                addresses: vec![IpAddr::from([10, 244, 255, endpoints.len() as u8 + 1])],
            });
        }
    }
    if !ok {
        return None;
    }
    let mut label = format!("api: endpoints of {}:", ep.service);
    if ep.ready.is_empty() && ep.terminating.is_empty() {
        label.push_str(" none");
    }
    if !ep.ready.is_empty() {
        label.push_str(&format!(" ready on {}", ep.ready.join(", ")));
    }
    if !ep.terminating.is_empty() {
        label.push_str(&format!(" terminating on {}", ep.terminating.join(", ")));
    }
    Some((
        WorldAction::SetEndpoints {
            service: ep.service.clone(),
            endpoints,
        },
        label,
    ))
}
