//! Runs a plan for one seed and gathers what a person (or a test) wants to know:
//! per-flow and per-address outcomes, the timeline of faults and announcements,
//! expectation results and the trace fingerprint.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::fate::Loss;
use crate::frame::Mac;
use crate::neigh::NudState;
use crate::pcap::CapturedFrame;
use crate::scenario::Plan;
use crate::time::{Duration, Instant};
use crate::trace::TraceRecord;
use crate::traffic::{FlowStats, analyse};
use crate::world::{FlowSpec, Marker, NeighEvent, ProbeRecord, World, WorldAction};

#[derive(Clone, Debug)]
pub struct FlowOutcome {
    pub spec: FlowSpec,
    pub client: String,
    pub stats: FlowStats,
    pub probes: Vec<ProbeRecord>,
    /// The client's neighbour entry for the flow's destination, change by change.
    pub neighbour: Vec<NeighEvent>,
}

#[derive(Clone, Debug)]
pub struct AddressOutcome {
    pub address: IpAddr,
    pub flows: usize,
    pub max_outage: Duration,
    pub lost: u64,
    /// The set of hosts accepting the address, after each change.
    pub owners: Vec<(Instant, Vec<u32>)>,
    /// Most hosts that accepted it at the same time (2+ is split brain, unless
    /// announcers are known).
    pub max_owners: usize,
    /// The set of hosts whose application announced the address, after each change
    /// (empty when no application reports announcements, as scripted hosts do not).
    pub announcers: Vec<(Instant, Vec<u32>)>,
    /// Most hosts that announced it at the same time (2+ is split brain).
    pub max_announcers: usize,
}

/// Which hosts held an address over time, as the report and the timeline show it.
#[derive(Clone, Copy, Debug)]
pub struct Holders<'a> {
    /// What the row is ("owners" or "announced by").
    pub label: &'static str,
    /// The set of hosts after each change.
    pub steps: &'a [(Instant, Vec<u32>)],
    /// Most hosts at once.
    pub max: usize,
    /// What two or more at once means for this row.
    pub overlap: &'static str,
    /// What one member of the row is called, in expectations.
    pub noun: &'static str,
}

impl AddressOutcome {
    /// The row that says which host clients reach: the announcers when known (every
    /// speaker node accepts every address, as kube-proxy makes it), else who accepts.
    /// Two owners are a split brain; two announcers may also be a planned handover
    /// (the old node answers on while clients move), so that row says what is seen.
    pub fn holders(&self) -> Holders<'_> {
        if self.announcers.is_empty() {
            Holders {
                label: "owners",
                steps: &self.owners,
                max: self.max_owners,
                overlap: "split brain",
                noun: "owner(s)",
            }
        } else {
            Holders {
                label: "announced by",
                steps: &self.announcers,
                max: self.max_announcers,
                overlap: "more than one answers",
                noun: "announcer(s)",
            }
        }
    }
}

/// Folds a log of (host, address, on/off) into each address's set over time and the
/// largest such set.
fn fold_sets(
    log: &[crate::world::OwnerEvent],
    by_addr: &mut BTreeMap<IpAddr, AddressOutcome>,
    blank: impl Fn(IpAddr) -> AddressOutcome,
    row: impl Fn(&mut AddressOutcome) -> (&mut Vec<(Instant, Vec<u32>)>, &mut usize),
) {
    let mut sets: BTreeMap<IpAddr, std::collections::BTreeSet<u32>> = BTreeMap::new();
    for e in log {
        let set = sets.entry(e.ip).or_default();
        if e.owned {
            set.insert(e.host);
        } else {
            set.remove(&e.host);
        }
        let now: Vec<u32> = set.iter().copied().collect();
        let (steps, max) = row(by_addr.entry(e.ip).or_insert_with(|| blank(e.ip)));
        *max = (*max).max(now.len());
        match steps.last_mut() {
            Some((_, hosts)) if *hosts == now => {}
            Some((at, hosts)) if *at == e.at => *hosts = now,
            _ => steps.push((e.at, now)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    pub what: String,
    pub ok: bool,
    pub actual: String,
}

#[derive(Clone, Debug)]
pub struct RunOutcome {
    pub name: String,
    pub description: Option<String>,
    pub seed: u64,
    pub duration: Duration,
    pub hosts: Vec<(String, Vec<Mac>)>,
    pub links: Vec<String>,
    pub flows: Vec<FlowOutcome>,
    pub addresses: Vec<AddressOutcome>,
    pub markers: Vec<Marker>,
    pub checks: Vec<CheckResult>,
    pub trace_hash: u64,
    pub events: u64,
}

impl RunOutcome {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
    pub fn failures(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| !c.ok)
    }
    /// The worst outage over all flows (the sweep's figure of merit).
    pub fn max_outage(&self) -> Duration {
        self.flows
            .iter()
            .map(|f| f.stats.max_outage)
            .max()
            .unwrap_or(Duration::ZERO)
    }
    pub fn host_name(&self, id: u32) -> &str {
        self.hosts.get(id as usize).map_or("?", |h| h.0.as_str())
    }
    /// A loss reason in words, with names resolved.
    pub fn loss_text(&self, loss: Loss) -> String {
        let link = |l: u32| self.links.get(l as usize).map_or("?", String::as_str);
        match loss {
            Loss::Flooded => "flooded as unknown unicast; no host has that MAC".into(),
            Loss::WrongMac { host } => format!(
                "delivered to {} with another MAC (stale FDB)",
                self.host_name(host)
            ),
            Loss::LinkRandom { link: l } => format!("random loss on {}", link(l)),
            Loss::LinkBurst { link: l } => format!("burst loss on {}", link(l)),
            Loss::LinkDown { link: l } => format!("link {} down", link(l)),
            Loss::Partition { to } => format!("partition (blocked at {})", self.host_name(to)),
            Loss::NotOwner { host } => format!(
                "delivered to {}, which does not own the address",
                self.host_name(host)
            ),
            Loss::NoEndpoint { host } => format!(
                "dropped by kube-proxy on {}: no endpoint it may use",
                self.host_name(host)
            ),
            Loss::Neigh { host, reason } => format!("{}: {}", self.host_name(host), reason.name()),
            Loss::NicDown { host } => {
                format!("{}: interface without carrier", self.host_name(host))
            }
            Loss::NoRoute { host } => format!("{}: no route", self.host_name(host)),
            Loss::HostDown { host } => format!("{} is powered off", self.host_name(host)),
            Loss::Unresolved { host } => format!(
                "{}: still waiting for neighbour resolution at the end",
                self.host_name(host)
            ),
            Loss::Late => "reply later than the flow's timeout".into(),
            Loss::Unexplained => "no reply (cause not recorded)".into(),
        }
    }
}

/// What to record besides the outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Every event as a trace record (for `--trace`).
    pub trace: bool,
    /// Every delivered frame (for `--pcap`).
    pub capture: bool,
}

/// Recordings a run was asked for.
#[derive(Clone, Debug, Default)]
pub struct Recording {
    pub trace: Vec<TraceRecord>,
    pub frames: Vec<CapturedFrame>,
}

/// Runs `plan` with its own seed or `seed`. Returns the outcome and, if
/// `record_trace`, every trace record.
pub fn run(plan: &Plan, seed: Option<u64>, record_trace: bool) -> (RunOutcome, Vec<TraceRecord>) {
    let (o, r) = run_with(
        plan,
        seed,
        RunOptions {
            trace: record_trace,
            capture: false,
        },
    );
    (o, r.trace)
}

/// [`run`] with every recording option.
pub fn run_with(plan: &Plan, seed: Option<u64>, opts: RunOptions) -> (RunOutcome, Recording) {
    let seed = seed.unwrap_or(plan.seed);
    let mut world = crate::scenario::build(plan, seed, opts.trace);
    world.capture_frames(opts.capture);
    let end = Instant::ZERO + plan.duration;
    world.run_until(end);
    world.finish();
    let rec = Recording {
        trace: world.take_trace_records(),
        frames: world.take_captured_frames(),
    };
    // The world is done with: its probe records move into the outcome instead of being
    // copied (at 1,000 flows for a minute they are most of the run's memory).
    let probes = world.take_probes();
    (outcome_of(plan, seed, &world, probes, end), rec)
}

/// Builds the outcome of a finished world.
pub fn outcome(plan: &Plan, seed: u64, world: &World, end: Instant) -> RunOutcome {
    let probes = world.flows().map(|(_, p)| p.to_vec()).collect();
    outcome_of(plan, seed, world, probes, end)
}

/// [`outcome`] with each flow's probe records (in flow order) handed over.
fn outcome_of(
    plan: &Plan,
    seed: u64,
    world: &World,
    probes: Vec<Vec<ProbeRecord>>,
    end: Instant,
) -> RunOutcome {
    let flows: Vec<FlowOutcome> = world
        .flows()
        .zip(probes)
        .map(|((spec, _), probes)| FlowOutcome {
            spec: spec.clone(),
            client: world.host_name(spec.host).to_string(),
            stats: analyse(spec, &probes, end),
            probes,
            neighbour: world
                .neigh_log()
                .iter()
                .filter(|e| e.host == spec.host && e.ip == spec.dst.ip())
                .copied()
                .collect(),
        })
        .collect();
    let mut by_addr: BTreeMap<IpAddr, AddressOutcome> = BTreeMap::new();
    let blank = |address: IpAddr| AddressOutcome {
        address,
        flows: 0,
        max_outage: Duration::ZERO,
        lost: 0,
        owners: vec![],
        max_owners: 0,
        announcers: vec![],
        max_announcers: 0,
    };
    for f in &flows {
        let a = by_addr
            .entry(f.spec.dst.ip())
            .or_insert_with(|| blank(f.spec.dst.ip()));
        a.flows += 1;
        a.max_outage = a.max_outage.max(f.stats.max_outage);
        a.lost += f.stats.lost;
    }
    fold_sets(world.owner_log(), &mut by_addr, blank, |a| {
        (&mut a.owners, &mut a.max_owners)
    });
    fold_sets(world.announce_log(), &mut by_addr, blank, |a| {
        (&mut a.announcers, &mut a.max_announcers)
    });
    let mut out = RunOutcome {
        name: plan.name.clone(),
        description: plan.description.clone(),
        seed,
        duration: plan.duration,
        hosts: world
            .hosts()
            .iter()
            .map(|h| {
                (
                    h.name.clone(),
                    h.interfaces().iter().map(|i| i.mac).collect(),
                )
            })
            .collect(),
        links: (0..plan.links.len() as u32)
            .map(|l| world.link_name(l).to_string())
            .collect(),
        flows,
        addresses: by_addr.into_values().collect(),
        markers: world.markers().to_vec(),
        checks: vec![],
        trace_hash: world.trace_hash(),
        events: world.events_processed(),
    };
    out.checks = evaluate(plan, &out, world.neigh_log());
    out.checks.extend(invariants(plan, &out, end));
    out
}

/// Longer than any overlap the speaker makes on purpose with its default timings: the
/// 1 s hand-over grace after SIGTERM, and the 1.3 s it answers on for a node that has
/// just (re)joined while that node settles and probes.
pub const MAX_PLANNED_OVERLAP: Duration = Duration::from_millis(1500);

/// What must hold in every cluster scenario, whatever it expects: nothing is
/// announced that the controller did not assign, and two nodes announce one address
/// only briefly (a planned hand-over) unless a partition keeps the membership from
/// settling.
pub fn invariants(plan: &Plan, out: &RunOutcome, end: Instant) -> Vec<CheckResult> {
    let Some(cluster) = &plan.cluster else {
        return vec![];
    };
    let assigned: std::collections::BTreeSet<IpAddr> = cluster
        .services
        .iter()
        .flat_map(|v| v.service.ingress_ips.iter())
        .filter_map(|ip| ip.parse().ok())
        .collect();
    let stray: Vec<String> = out
        .addresses
        .iter()
        .filter(|a| !assigned.contains(&a.address))
        .filter(|a| a.announcers.iter().any(|(_, hs)| !hs.is_empty()))
        .map(|a| a.address.to_string())
        .collect();
    // When partitions were in force.
    let mut open: BTreeMap<&str, Instant> = BTreeMap::new();
    let mut partitioned: Vec<(Instant, Instant)> = vec![];
    for (at, action, _) in &plan.actions {
        match action {
            WorldAction::Partition { name, .. } => {
                open.entry(name.as_str()).or_insert(*at);
            }
            WorldAction::Heal { name } => {
                if let Some(from) = open.remove(name.as_str()) {
                    partitioned.push((from, *at));
                }
            }
            _ => {}
        }
    }
    partitioned.extend(open.into_values().map(|from| (from, end)));
    let mut long: Vec<String> = vec![];
    for a in &out.addresses {
        let steps = &a.announcers;
        for (i, (from, hosts)) in steps.iter().enumerate() {
            if hosts.len() < 2 {
                continue;
            }
            // The overlap lasts until the set shrinks below two.
            let until = steps[i + 1..]
                .iter()
                .find(|(_, h)| h.len() < 2)
                .map_or(end, |(t, _)| *t);
            if i > 0 && steps[i - 1].1.len() >= 2 {
                continue; // counted from where it began
            }
            let excused = partitioned.iter().any(|(p, q)| *p < until && *from < *q);
            if until.saturating_since(*from) > MAX_PLANNED_OVERLAP && !excused {
                long.push(format!("{} from {from} to {until}", a.address));
            }
        }
    }
    vec![
        CheckResult {
            what: "invariant: only assigned addresses are announced".into(),
            ok: stray.is_empty(),
            actual: if stray.is_empty() {
                "none other".into()
            } else {
                format!("also {}", stray.join(", "))
            },
        },
        CheckResult {
            what: format!(
                "invariant: one announcer per address, but for hand-overs (<= {MAX_PLANNED_OVERLAP}) and partitions"
            ),
            ok: long.is_empty(),
            actual: if long.is_empty() {
                "held".into()
            } else {
                format!("two or more announced {}", long.join("; "))
            },
        },
    ]
}

fn within(v: u64, b: &crate::scenario::plan::CountBounds) -> bool {
    b.min.is_none_or(|m| v >= m) && b.max.is_none_or(|m| v <= m)
}

fn bounds_text(b: &crate::scenario::plan::CountBounds) -> String {
    match (b.min, b.max) {
        (Some(lo), Some(hi)) => format!("in [{lo}, {hi}]"),
        (Some(lo), None) => format!(">= {lo}"),
        (None, Some(hi)) => format!("<= {hi}"),
        (None, None) => "any".into(),
    }
}

fn evaluate(plan: &Plan, out: &RunOutcome, log: &[NeighEvent]) -> Vec<CheckResult> {
    let mut res = vec![];
    let mut push =
        |what: String, ok: bool, actual: String| res.push(CheckResult { what, ok, actual });
    for c in &plan.checks.flows {
        let f = &out.flows[c.flow];
        let name = &f.spec.name;
        let st = &f.stats;
        if let Some(m) = c.max_outage {
            push(
                format!("flow {name}: max outage <= {m}"),
                st.max_outage <= m,
                st.max_outage.to_string(),
            );
        }
        if let Some(m) = c.min_outage {
            push(
                format!("flow {name}: max outage >= {m}"),
                st.max_outage >= m,
                st.max_outage.to_string(),
            );
        }
        if let Some(b) = &c.lost {
            push(
                format!("flow {name}: lost {}", bounds_text(b)),
                within(st.lost, b),
                st.lost.to_string(),
            );
        }
        if let Some(b) = &c.mac_changes {
            push(
                format!("flow {name}: MAC changes {}", bounds_text(b)),
                within(st.mac_changes, b),
                st.mac_changes.to_string(),
            );
        }
        for (kind, b) in &c.lost_by {
            let n: u64 = st
                .losses
                .iter()
                .filter(|(l, _)| l.kind() == kind)
                .map(|(_, n)| n)
                .sum();
            push(
                format!("flow {name}: lost by {kind} {}", bounds_text(b)),
                within(n, b),
                n.to_string(),
            );
        }
        let last = st.final_segment();
        if let Some(h) = c.ends_on {
            let want = &plan.hosts[h].name;
            let got = last.map_or_else(
                || "nobody".to_string(),
                |s| out.host_name(s.responder).to_string(),
            );
            push(format!("flow {name}: ends on {want}"), &got == want, got);
        }
        if let Some(m) = c.ends_on_mac {
            let got = last.map(|s| s.mac);
            push(
                format!("flow {name}: ends on MAC {m}"),
                got == Some(m),
                got.map_or_else(|| "none".into(), |m| m.to_string()),
            );
        }
    }
    for c in &plan.checks.addresses {
        let a = out.addresses.iter().find(|a| a.address == c.address);
        let (outage, lost) = a.map_or((Duration::ZERO, 0), |a| (a.max_outage, a.lost));
        if let Some(m) = c.max_outage {
            push(
                format!("address {}: max outage <= {m}", c.address),
                outage <= m,
                outage.to_string(),
            );
        }
        if let Some(m) = c.min_outage {
            push(
                format!("address {}: max outage >= {m}", c.address),
                outage >= m,
                outage.to_string(),
            );
        }
        if let Some(b) = &c.lost {
            push(
                format!("address {}: lost {}", c.address, bounds_text(b)),
                within(lost, b),
                lost.to_string(),
            );
        }
        if let Some(m) = c.max_owners {
            let (got, noun) = a
                .map(AddressOutcome::holders)
                .map_or((0, "owner(s)"), |h| (h.max, h.noun));
            push(
                format!("address {}: at most {m} {noun} at a time", c.address),
                got <= m,
                got.to_string(),
            );
        }
    }
    for c in &plan.checks.neighbours {
        let host = c.host as u32;
        let last = log
            .iter()
            .rfind(|e| e.host == host && e.ip == c.address && e.at <= c.at);
        let state = last.and_then(|e| e.state);
        let mac = last.and_then(|e| e.mac);
        let actual = format!(
            "{} {}",
            state.map_or("none", NudState::name),
            mac.map_or_else(|| "-".to_string(), |m| m.to_string())
        );
        let who = &plan.hosts[c.host].name;
        if let Some(want) = c.state {
            push(
                format!(
                    "{who}: neighbour {} at {} is {}",
                    c.address,
                    c.at,
                    want.map_or("none", NudState::name)
                ),
                state == want,
                actual.clone(),
            );
        }
        if let Some(m) = c.mac {
            push(
                format!("{who}: neighbour {} at {} has MAC {m}", c.address, c.at),
                mac == Some(m),
                actual.clone(),
            );
        }
    }
    res
}
