//! Checks a parsed scenario and resolves every name to an index. Every problem found is
//! reported (not just the first), each with its path in the document, so a person can
//! fix a file in one go.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use super::spec::{self, Bounds, Dur, LinkPropsSpec, ScenarioFile};
use crate::app::same_subnet;
use crate::clock::HostClock;
use crate::frame::Mac;
use crate::host::NicConfig;
use crate::link::{GilbertElliott, LinkProps};
use crate::neigh::{NeighParams, NudState};
use crate::scripted::{ScriptAction, ScriptedConfig};
use crate::speaker_app::SpeakerSetup;
use crate::switch::DEFAULT_AGEING;
use crate::time::{Duration, Instant};
use crate::world::WorldAction;

/// The most probes a run may record (about 2.4 GB of records).
pub const MAX_PROBES: u128 = 100_000_000;

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where in the document, e.g. `topology.links[2].b`.
    pub path: String,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct HostPlan {
    pub name: String,
    pub params: NeighParams,
    pub nics: Vec<NicConfig>,
    pub script: Vec<(Instant, ScriptAction)>,
    pub announcer: Option<ScriptedConfig>,
    pub clock: HostClock,
    /// The real speaker, when the host is a Kubernetes node.
    pub speaker: Option<SpeakerSetup>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndRef {
    Host { host: usize, nic: usize },
    Switch(usize),
}

#[derive(Clone, Debug)]
pub struct LinkPlan {
    pub name: String,
    pub a: EndRef,
    pub b: EndRef,
    pub props: LinkProps,
}

#[derive(Clone, Debug)]
pub struct FlowPlan {
    pub name: String,
    pub host: usize,
    pub src: IpAddr,
    /// `None`: drawn from the flow's own random stream (the ephemeral range).
    pub src_port: Option<u16>,
    pub dst: SocketAddr,
    pub interval: Duration,
    pub start: Instant,
    pub stop: Instant,
    pub timeout: Duration,
    pub confirm: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountBounds {
    pub min: Option<u64>,
    pub max: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct FlowCheck {
    pub flow: usize,
    pub max_outage: Option<Duration>,
    pub min_outage: Option<Duration>,
    pub lost: Option<CountBounds>,
    pub ends_on: Option<usize>,
    pub ends_on_mac: Option<Mac>,
    pub mac_changes: Option<CountBounds>,
    pub lost_by: Vec<(String, CountBounds)>,
}

#[derive(Clone, Debug)]
pub struct AddressCheck {
    pub address: IpAddr,
    pub max_outage: Option<Duration>,
    pub min_outage: Option<Duration>,
    pub lost: Option<CountBounds>,
    pub max_owners: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct NeighCheck {
    pub host: usize,
    pub address: IpAddr,
    pub at: Instant,
    /// `Some(None)` = no entry expected.
    pub state: Option<Option<NudState>>,
    pub mac: Option<Mac>,
}

#[derive(Clone, Debug, Default)]
pub struct Checks {
    pub flows: Vec<FlowCheck>,
    pub addresses: Vec<AddressCheck>,
    pub neighbours: Vec<NeighCheck>,
}

/// A scenario ready to run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub name: String,
    pub description: Option<String>,
    pub seed: u64,
    pub duration: Duration,
    pub switches: Vec<(String, Duration)>,
    pub hosts: Vec<HostPlan>,
    pub links: Vec<LinkPlan>,
    pub flows: Vec<FlowPlan>,
    pub actions: Vec<(Instant, WorldAction, String)>,
    pub checks: Checks,
    /// The Kubernetes cluster, for scenarios with `nodes`.
    pub cluster: Option<super::cluster::ClusterPlan>,
}

pub(super) struct Ctx {
    pub(super) problems: Vec<Problem>,
}

impl Ctx {
    pub(super) fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }
}

/// Parses `a.b.c.d/len` or `x::y/len`.
pub fn parse_cidr(s: &str) -> Result<(IpAddr, u8), String> {
    let (ip, len) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}` needs a prefix length, e.g. 198.51.100.10/24"))?;
    let ip: IpAddr = ip
        .parse()
        .map_err(|_| format!("`{ip}` is not an IP address"))?;
    let len: u8 = len
        .parse()
        .map_err(|_| format!("`{len}` is not a prefix length"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    if len > max {
        return Err(format!("prefix /{len} is longer than /{max}"));
    }
    Ok((ip, len))
}

pub(super) fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.parse().map_err(|_| format!("`{s}` is not an IP address"))
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn prob(ctx: &mut Ctx, path: String, v: Option<f64>) -> Option<f64> {
    let v = v?;
    if !(0.0..=1.0).contains(&v) {
        ctx.err(path, format!("{v} is not a probability between 0 and 1"));
        return None;
    }
    Some(v)
}

pub(super) fn apply_props(
    ctx: &mut Ctx,
    path: &str,
    base: LinkProps,
    p: LinkPropsSpec<'_>,
) -> LinkProps {
    let mut out = base;
    if let Some(Dur(d)) = p.latency {
        out.latency = d;
    }
    if let Some(Dur(d)) = p.jitter {
        out.jitter = d;
    }
    if let Some(v) = prob(ctx, format!("{path}.loss"), p.loss) {
        out.loss = v;
    }
    if let Some(v) = prob(ctx, format!("{path}.duplicate"), p.duplicate) {
        out.duplicate = v;
    }
    if let Some(v) = prob(ctx, format!("{path}.reorder"), p.reorder) {
        out.reorder = v;
    }
    if let Some(Dur(d)) = p.reorder_delay {
        out.reorder_delay = d;
    }
    if let Some(b) = p.burst {
        let bp = format!("{path}.burst");
        let g = GilbertElliott {
            p_good_to_bad: prob(ctx, format!("{bp}.p_good_to_bad"), Some(b.p_good_to_bad))
                .unwrap_or(0.0),
            p_bad_to_good: prob(ctx, format!("{bp}.p_bad_to_good"), Some(b.p_bad_to_good))
                .unwrap_or(0.0),
            loss_good: prob(ctx, format!("{bp}.loss_good"), Some(b.loss_good)).unwrap_or(0.0),
            loss_bad: prob(ctx, format!("{bp}.loss_bad"), Some(b.loss_bad)).unwrap_or(0.0),
        };
        out.burst = Some(g);
    }
    out
}

pub(super) fn bounds(ctx: &mut Ctx, path: String, b: &Option<Bounds>) -> Option<CountBounds> {
    let b = b.as_ref()?;
    if let (Some(lo), Some(hi)) = (b.min, b.max)
        && lo > hi
    {
        ctx.err(path, format!("min {lo} is greater than max {hi}"));
    }
    Some(CountBounds {
        min: b.min,
        max: b.max,
    })
}

/// Checks and resolves a parsed file. `default_name` is used when the file has none.
pub fn plan(
    file: &ScenarioFile,
    default_name: &str,
    base: &std::path::Path,
) -> Result<Plan, Vec<Problem>> {
    let mut ctx = Ctx { problems: vec![] };
    let reserved: [(&str, &Option<serde_json::Value>, &str); 1] = [(
        "routers",
        &file.routers,
        "BGP routers with RIB/FIB and ECMP",
    )];
    for (key, value, what) in reserved {
        if value.is_some() {
            ctx.err(key, format!("not implemented yet: {what}; this key is reserved for it — remove it to run the scenario today"));
        }
    }
    let duration = file.duration.0;
    if duration.is_zero() {
        ctx.err("duration", "must be longer than 0s");
    }
    if duration > Duration::from_secs(30 * 24 * 3600) {
        ctx.err("duration", "longer than 30 days; split the scenario");
    }
    let end = Instant::ZERO + duration;

    // Names: switches and hosts share one namespace because links refer to both.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut name_check = |ctx: &mut Ctx, name: &str, path: String| {
        if !valid_name(name) {
            ctx.err(
                path.clone(),
                format!("`{name}` is not a valid name (letters, digits, `-`, `_`)"),
            );
        }
        if let Some(prev) = names.get(name) {
            ctx.err(
                path,
                format!("duplicate name `{name}` (first used at {prev})"),
            );
        } else {
            names.insert(name.to_string(), path);
        }
    };

    let mut switches = vec![];
    let mut switch_idx: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, s) in file.topology.switches.iter().enumerate() {
        name_check(&mut ctx, &s.name, format!("topology.switches[{i}].name"));
        switch_idx.insert(&s.name, i);
        switches.push((s.name.clone(), s.ageing.map_or(DEFAULT_AGEING, |d| d.0)));
    }

    let mut hosts: Vec<HostPlan> = vec![];
    let mut host_idx: BTreeMap<&str, usize> = BTreeMap::new();
    let mut addr_owner: BTreeMap<IpAddr, String> = BTreeMap::new();
    let mut mac_owner: BTreeMap<Mac, String> = BTreeMap::new();
    for (i, h) in file.topology.hosts.iter().enumerate() {
        let hp = format!("topology.hosts[{i}]");
        name_check(&mut ctx, &h.name, format!("{hp}.name"));
        host_idx.insert(&h.name, i);
        let mut params = match h.profile.as_deref() {
            None => NeighParams::LINUX,
            Some(p) => NeighParams::by_name(p).unwrap_or_else(|| {
                ctx.err(
                    format!("{hp}.profile"),
                    format!(
                        "unknown profile `{p}` (known: {})",
                        NeighParams::PROFILE_NAMES.join(", ")
                    ),
                );
                NeighParams::LINUX
            }),
        };
        apply_neigh(
            &mut ctx,
            &format!("{hp}.neighbour"),
            &mut params,
            &h.neighbour,
        );
        let nic_specs: Vec<(String, Option<String>, Vec<String>, String)> =
            match (&h.nics, &h.addresses) {
                (Some(_), Some(_)) | (Some(_), None) if h.mac.is_some() && h.nics.is_some() => {
                    ctx.err(
                        format!("{hp}.mac"),
                        "with `nics`, put `mac` on each interface",
                    );
                    vec![]
                }
                (Some(_), Some(_)) => {
                    ctx.err(
                        format!("{hp}.addresses"),
                        "use either `addresses` (one interface eth0) or `nics`, not both",
                    );
                    vec![]
                }
                (Some(nics), None) => nics
                    .iter()
                    .enumerate()
                    .map(|(j, n)| {
                        (
                            n.name.clone(),
                            n.mac.clone(),
                            n.addresses.clone(),
                            format!("{hp}.nics[{j}]"),
                        )
                    })
                    .collect(),
                (None, addrs) => vec![(
                    "eth0".to_string(),
                    h.mac.clone(),
                    addrs.clone().unwrap_or_default(),
                    hp.clone(),
                )],
            };
        let mut nics = vec![];
        for (name, mac, addrs, np) in nic_specs {
            if nics.iter().any(|n: &NicConfig| n.name == name) {
                ctx.err(
                    format!("{np}.name"),
                    format!("duplicate interface name `{name}`"),
                );
            }
            let mac = match mac {
                Some(m) => Mac::parse(&m).unwrap_or_else(|e| {
                    ctx.err(format!("{np}.mac"), e);
                    Mac::ZERO
                }),
                None => crate::frame::derived_mac(&format!("{}.{name}", h.name)),
            };
            if mac.is_multicast() {
                ctx.err(
                    format!("{np}.mac"),
                    format!("{mac} is a group address; a NIC needs a unicast MAC"),
                );
            }
            if let Some(prev) = mac_owner.insert(mac, format!("{}.{name}", h.name)) {
                ctx.err(
                    format!("{np}.mac"),
                    format!("MAC {mac} is also used by {prev}"),
                );
            }
            let mut parsed = vec![];
            for (k, a) in addrs.iter().enumerate() {
                let ap = format!("{np}.addresses[{k}]");
                match parse_cidr(a) {
                    Ok((ip, len)) => {
                        if let Some(msg) = host_bits_problem(ip, len) {
                            ctx.err(ap.clone(), msg);
                        }
                        if let Some(prev) = addr_owner.insert(ip, h.name.clone()) {
                            ctx.err(
                                ap,
                                format!("address {ip} is also configured on host `{prev}`"),
                            );
                        }
                        parsed.push((ip, len));
                    }
                    Err(e) => ctx.err(ap, e),
                }
            }
            nics.push(NicConfig {
                name,
                mac,
                addrs: parsed,
            });
        }
        let announcer = h.announcer.as_ref().map(|a| ScriptedConfig {
            answer: a.answer.unwrap_or(true),
            na_override: a.na_override.unwrap_or(false),
        });
        let clock = h.clock.as_ref().map_or_else(HostClock::default, |c| {
            clock_of(
                &mut ctx,
                &format!("{hp}.clock"),
                c.offset,
                c.drift_ppm,
                HostClock::default(),
            )
        });
        hosts.push(HostPlan {
            name: h.name.clone(),
            params,
            nics,
            script: vec![],
            announcer,
            clock,
            speaker: None,
        });
    }
    let cluster = super::cluster::plan_nodes(&mut ctx, file, base, &host_idx, &mut hosts);

    // Links.
    let mut links: Vec<LinkPlan> = vec![];
    let mut link_idx: BTreeMap<String, usize> = BTreeMap::new();
    let mut cabled: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    let mut uf: Vec<usize> = (0..switches.len()).collect();
    for (i, l) in file.topology.links.iter().enumerate() {
        let lp = format!("topology.links[{i}]");
        let resolve = |ctx: &mut Ctx, which: &str, s: &str| -> Option<EndRef> {
            let path = format!("{lp}.{which}");
            let (node, nic) = match s.split_once('.') {
                Some((n, i)) => (n, Some(i)),
                None => (s, None),
            };
            if let Some(&sw) = switch_idx.get(node) {
                if nic.is_some() {
                    ctx.err(
                        path,
                        format!(
                            "`{s}`: switch ports are allocated automatically; write just `{node}`"
                        ),
                    );
                    return None;
                }
                return Some(EndRef::Switch(sw));
            }
            let Some(&h) = host_idx.get(node) else {
                ctx.err(
                    path,
                    format!("dangling reference: no host or switch named `{node}`"),
                );
                return None;
            };
            let host = &hosts[h];
            let n = match nic {
                Some(nic) => match host.nics.iter().position(|n| n.name == nic) {
                    Some(n) => n,
                    None => {
                        ctx.err(
                            path,
                            format!("dangling reference: host `{node}` has no interface `{nic}`"),
                        );
                        return None;
                    }
                },
                None if host.nics.len() == 1 => 0,
                None => {
                    let names: Vec<&str> = host.nics.iter().map(|n| n.name.as_str()).collect();
                    ctx.err(
                        path,
                        format!(
                            "host `{node}` has interfaces {}; write `{node}.<interface>`",
                            names.join(", ")
                        ),
                    );
                    return None;
                }
            };
            Some(EndRef::Host { host: h, nic: n })
        };
        let a = resolve(&mut ctx, "a", &l.a);
        let b = resolve(&mut ctx, "b", &l.b);
        let name = l.name.clone().unwrap_or_else(|| format!("{}-{}", l.a, l.b));
        if link_idx.insert(name.clone(), i).is_some() {
            ctx.err(
                format!("{lp}.name"),
                format!("duplicate link name `{name}`"),
            );
        }
        let props = apply_props(&mut ctx, &lp, LinkProps::default(), l.props());
        let (Some(a), Some(b)) = (a, b) else { continue };
        if a == b {
            ctx.err(&lp, "a link needs two different ends");
            continue;
        }
        for (which, end) in [("a", a), ("b", b)] {
            if let EndRef::Host { host, nic } = end
                && let Some(prev) = cabled.insert((host, nic), i)
            {
                ctx.err(
                    format!("{lp}.{which}"),
                    format!(
                        "interface {}.{} is already cabled by topology.links[{prev}]",
                        hosts[host].name, hosts[host].nics[nic].name
                    ),
                );
            }
        }
        if let (EndRef::Switch(x), EndRef::Switch(y)) = (a, b) {
            let (rx, ry) = (find(&mut uf, x), find(&mut uf, y));
            if rx == ry {
                ctx.err(&lp, format!("link {name} closes a switching loop; the simulator has no spanning tree, so trunks must form a tree"));
            } else {
                uf[rx] = ry;
            }
        }
        links.push(LinkPlan { name, a, b, props });
    }

    // Flows.
    let mut flows: Vec<FlowPlan> = vec![];
    let mut flow_idx: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, f) in file.traffic.flows.iter().enumerate() {
        let fp = format!("traffic.flows[{i}]");
        if !valid_name(&f.name) {
            ctx.err(
                format!("{fp}.name"),
                format!("`{}` is not a valid name", f.name),
            );
        }
        if flow_idx.insert(&f.name, i).is_some() {
            ctx.err(
                format!("{fp}.name"),
                format!("duplicate flow name `{}`", f.name),
            );
        }
        let Some(&h) = host_idx.get(f.from.as_str()) else {
            ctx.err(
                format!("{fp}.from"),
                format!("dangling reference: no host named `{}`", f.from),
            );
            continue;
        };
        let dst_ip = match parse_ip(&f.to) {
            Ok(ip) => ip,
            Err(e) => {
                ctx.err(format!("{fp}.to"), e);
                continue;
            }
        };
        let host = &hosts[h];
        let src = match &f.source {
            Some(s) => match parse_ip(s) {
                Ok(ip)
                    if host
                        .nics
                        .iter()
                        .any(|n| n.addrs.iter().any(|(a, _)| *a == ip)) =>
                {
                    Some(ip)
                }
                Ok(ip) => {
                    ctx.err(
                        format!("{fp}.source"),
                        format!("{ip} is not an address of host `{}`", host.name),
                    );
                    None
                }
                Err(e) => {
                    ctx.err(format!("{fp}.source"), e);
                    None
                }
            },
            None => {
                let found = host
                    .nics
                    .iter()
                    .flat_map(|n| n.addrs.iter())
                    .find(|(a, p)| same_subnet(*a, dst_ip, *p))
                    .map(|(a, _)| *a);
                if found.is_none() {
                    ctx.err(
                        format!("{fp}.to"),
                        format!("{dst_ip} is in no subnet of host `{}`; reaching other subnets needs routers (not implemented yet)", host.name),
                    );
                }
                found
            }
        };
        if !(f.rate.is_finite() && f.rate > 0.0 && f.rate <= 1_000_000.0) {
            ctx.err(
                format!("{fp}.rate"),
                format!(
                    "{} is not a rate between 0 and 1000000 probes per second",
                    f.rate
                ),
            );
            continue;
        }
        let interval = Duration::from_nanos((1e9 / f.rate).round() as u64);
        let start = Instant::ZERO + f.start.map_or(Duration::ZERO, |d| d.0);
        let stop = f.stop.map_or(end, |d| Instant::ZERO + d.0);
        if stop > end {
            ctx.err(
                format!("{fp}.stop"),
                format!("{} is after the end of the run ({})", stop, end),
            );
        }
        if start >= stop {
            ctx.err(
                format!("{fp}.start"),
                format!("start {start} is not before stop {stop}"),
            );
        }
        let timeout = f.timeout.map_or(Duration::from_secs(1), |d| d.0);
        if timeout.is_zero() {
            ctx.err(format!("{fp}.timeout"), "must be longer than 0s");
        }
        let Some(src) = src else { continue };
        flows.push(FlowPlan {
            name: f.name.clone(),
            host: h,
            src,
            src_port: f.src_port,
            dst: SocketAddr::new(dst_ip, f.port.unwrap_or(9)),
            interval,
            start,
            stop,
            timeout,
            confirm: f.confirm,
        });
    }

    // Every probe's fate is kept for the report: bound the total so a typo in a rate
    // is an error, not an out-of-memory kill.
    let total: u128 = flows
        .iter()
        .map(|f| {
            u128::from(f.stop.saturating_since(f.start).as_nanos() / f.interval.as_nanos().max(1))
        })
        .sum();
    if total > MAX_PROBES {
        ctx.err("traffic.flows", format!("the flows would send {total} probes in all (limit {MAX_PROBES}); lower a rate or the duration"));
    }
    let actions = super::timeline::timeline(
        &mut ctx,
        file,
        end,
        &mut hosts,
        &host_idx,
        &mut links,
        &link_idx,
        cluster.as_ref(),
    );
    let owned: Vec<IpAddr> = hosts
        .iter()
        .flat_map(|h| h.script.iter())
        .filter_map(|(_, a)| match a {
            ScriptAction::Own(ip) | ScriptAction::OwnOnInterface(ip) => Some(*ip),
            _ => None,
        })
        .collect();
    let checks = super::checks::checks(&mut ctx, file, end, &host_idx, &flows, &flow_idx, &owned);

    if !ctx.problems.is_empty() {
        return Err(ctx.problems);
    }
    Ok(Plan {
        name: file
            .name
            .clone()
            .unwrap_or_else(|| default_name.to_string()),
        description: file.description.clone(),
        seed: file.seed,
        duration,
        switches,
        hosts,
        links,
        flows,
        actions,
        checks,
        cluster,
    })
}

pub(super) fn clock_of(
    ctx: &mut Ctx,
    path: &str,
    offset: Option<spec::SignedDur>,
    drift_ppm: Option<i64>,
    base: HostClock,
) -> HostClock {
    let drift = drift_ppm.unwrap_or(base.drift_ppm);
    if !(-500_000..=500_000).contains(&drift) {
        ctx.err(
            format!("{path}.drift_ppm"),
            format!("{drift} ppm is not a clock drift (keep it within ±500000)"),
        );
    }
    HostClock {
        offset_ns: offset.map_or(base.offset_ns, |o| o.0),
        drift_ppm: drift.clamp(-500_000, 500_000),
    }
}

fn find(uf: &mut [usize], x: usize) -> usize {
    let mut r = x;
    while uf[r] != r {
        r = uf[r];
    }
    uf[x] = r;
    r
}

/// An interface address equal to its network (or IPv4 broadcast) address is a typo.
fn host_bits_problem(ip: IpAddr, len: u8) -> Option<String> {
    match ip {
        IpAddr::V4(v4) if len < 31 => {
            let host_mask = u32::MAX >> len;
            let bits = u32::from(v4) & host_mask;
            (bits == 0 || bits == host_mask).then(|| {
                format!("{ip}/{len} is the network or broadcast address of its subnet, not a host address")
            })
        }
        IpAddr::V6(v6) if len < 127 => {
            let host_mask = u128::MAX >> len;
            (u128::from(v6) & host_mask == 0).then(|| {
                format!("{ip}/{len} is the subnet-router anycast address, not a host address")
            })
        }
        _ => None,
    }
}

fn apply_neigh(ctx: &mut Ctx, path: &str, p: &mut NeighParams, o: &spec::NeighOverrides) {
    macro_rules! set {
        ($f:ident) => {
            if let Some(v) = o.$f {
                p.$f = v;
            }
        };
        ($f:ident, dur) => {
            if let Some(Dur(v)) = o.$f {
                p.$f = v;
            }
        };
    }
    set!(base_reachable_time, dur);
    set!(randomize_reachable_time);
    set!(delay_first_probe_time, dur);
    set!(retrans_time, dur);
    set!(ucast_solicit);
    set!(mcast_solicit);
    set!(mcast_resolicit);
    set!(locktime, dur);
    set!(gc_stale_time, dur);
    set!(gc_thresh1);
    set!(gc_thresh3);
    set!(unres_qlen_bytes);
    set!(arp_accept);
    set!(drop_gratuitous_arp);
    set!(accept_untracked_na);
    set!(forwarding);
    set!(evict_nocarrier);
    if p.arp_accept > 2 {
        ctx.err(format!("{path}.arp_accept"), "must be 0, 1 or 2");
    }
    if p.accept_untracked_na > 2 {
        ctx.err(format!("{path}.accept_untracked_na"), "must be 0, 1 or 2");
    }
    if p.base_reachable_time.is_zero() {
        ctx.err(
            format!("{path}.base_reachable_time"),
            "must be longer than 0s",
        );
    }
}
