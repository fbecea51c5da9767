//! The scenario file format as written by people (see `scenarios/README.md`). Every
//! struct denies unknown keys, so a typo is an error that names the key instead of a
//! silently ignored setting. Values are checked and resolved in `plan.rs`.

use std::fmt;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::time::Duration;

/// A duration written as `250ms`, `1.5s`, `4h`, or a bare number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as 250ms, 1.5s or 4h")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                Duration::parse(v).map(Dur).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                v.checked_mul(1_000_000_000)
                    .map(|ns| Dur(Duration::from_nanos(ns)))
                    .ok_or_else(|| E::custom("duration too large"))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom("a duration cannot be negative"))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                if !v.is_finite() || v < 0.0 {
                    return Err(E::custom(
                        "a duration must be a finite, non-negative number",
                    ));
                }
                Duration::parse(&format!("{v}s"))
                    .map(Dur)
                    .map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A signed duration (`-1.5s`, `250ms`, or a number of seconds): clock offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedDur(pub i64);

impl<'de> Deserialize<'de> for SignedDur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SignedDur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a signed duration such as -1.5s or 250ms")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SignedDur, E> {
                let t = v.trim();
                let (neg, rest) = match t.strip_prefix('-') {
                    Some(r) => (true, r),
                    None => (false, t.strip_prefix('+').unwrap_or(t)),
                };
                let d = Duration::parse(rest).map_err(E::custom)?;
                let ns = i64::try_from(d.as_nanos()).map_err(|_| E::custom("offset too large"))?;
                Ok(SignedDur(if neg { -ns } else { ns }))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SignedDur, E> {
                v.checked_mul(1_000_000_000)
                    .map(SignedDur)
                    .ok_or_else(|| E::custom("offset too large"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SignedDur, E> {
                i64::try_from(v)
                    .map_err(|_| E::custom("offset too large"))
                    .and_then(|v| self.visit_i64(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<SignedDur, E> {
                if !v.is_finite() {
                    return Err(E::custom("offset must be finite"));
                }
                self.visit_str(&format!("{v}s"))
            }
        }
        d.deserialize_any(V)
    }
}

/// A host clock: offset from true time and drift in parts per million.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSpec {
    pub offset: Option<SignedDur>,
    pub drift_ppm: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetClockAction {
    pub host: String,
    pub offset: Option<SignedDur>,
    pub drift_ppm: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: Option<String>,
    pub description: Option<String>,
    pub seed: u64,
    pub duration: Dur,
    pub topology: Topology,
    #[serde(default)]
    pub traffic: Traffic,
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
    #[serde(default)]
    pub expect: Expect,
    /// Kubernetes nodes: hosts of the topology that run the real ferrolb speaker.
    #[serde(default)]
    pub nodes: Vec<NodeSpec>,
    /// Reserved: BGP routers (FRR-like) peering with the speakers.
    pub routers: Option<serde_json::Value>,
    /// Kubernetes objects (Services and Namespaces): inline multi-document YAML or
    /// files. The real controller assigns their addresses before the run starts.
    pub kubernetes: Option<YamlSource>,
    /// The MetalLB configuration: inline multi-document YAML or files.
    pub metallb: Option<YamlSource>,
    /// Timings of the simulated Kubernetes control plane (needs `nodes`).
    pub api_server: Option<ApiServerSpec>,
}

/// How fast the simulated control plane is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiServerSpec {
    /// From a change at the API server to every node acting on it (default 50 ms).
    pub watch_latency: Option<Dur>,
    /// Extra delay per node and change, uniform below this (default 50 ms).
    pub watch_jitter: Option<Dur>,
    /// How long a node that stopped heartbeating stays Ready (default 40 s, the
    /// kube-controller-manager's `--node-monitor-grace-period`).
    pub node_monitor_grace_period: Option<Dur>,
}

/// A Service's endpoints after pods moved.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointsAction {
    /// `namespace/name`.
    pub service: String,
    /// Nodes with a ready endpoint.
    #[serde(default)]
    pub ready: Vec<String>,
    /// Nodes with a terminating endpoint that still serves (ready false, serving true).
    #[serde(default)]
    pub terminating: Vec<String>,
}

/// Where Kubernetes YAML comes from: written into the scenario, or the operator's own
/// files, so the configuration a cluster runs is the one the scenario tests.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum YamlSource {
    /// Multi-document YAML in the scenario file itself.
    Inline(String),
    /// Files and directories (every `*.yaml`/`*.yml` in a directory, by name), relative
    /// to the scenario file's directory.
    Files {
        /// The paths, loaded in order.
        files: Vec<String>,
    },
}

/// A Kubernetes node running the speaker.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// The node name (what the election hashes).
    pub name: String,
    /// The topology host it runs on (default: the node name).
    pub host: Option<String>,
    /// Node labels (for node selectors and preferences).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Services (`namespace/name`) with a serving endpoint on this node.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// The `NetworkUnavailable` condition.
    #[serde(default)]
    pub network_unavailable: bool,
    /// The node's InternalIP, where its speaker listens for membership (default: the
    /// host's first IPv4 address). A node with a management network names its
    /// address there.
    pub internal_ip: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    #[serde(default)]
    pub switches: Vec<SwitchSpec>,
    #[serde(default)]
    pub hosts: Vec<HostSpec>,
    #[serde(default)]
    pub links: Vec<LinkSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchSpec {
    pub name: String,
    pub ageing: Option<Dur>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    pub name: String,
    /// `linux` (default) or `router-4h-no-garp`.
    pub profile: Option<String>,
    /// Overrides of the profile's neighbour settings.
    #[serde(default)]
    pub neighbour: NeighOverrides,
    /// Shorthand for one interface `eth0` with these addresses.
    pub addresses: Option<Vec<String>>,
    pub mac: Option<String>,
    pub nics: Option<Vec<NicSpec>>,
    /// Settings of the scripted announcer (answering ARP/ND for owned addresses).
    pub announcer: Option<AnnouncerSpec>,
    /// The host's clock as its applications read it (default: exact).
    pub clock: Option<ClockSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeighOverrides {
    pub base_reachable_time: Option<Dur>,
    pub randomize_reachable_time: Option<bool>,
    pub delay_first_probe_time: Option<Dur>,
    pub retrans_time: Option<Dur>,
    pub ucast_solicit: Option<u32>,
    pub mcast_solicit: Option<u32>,
    pub mcast_resolicit: Option<u32>,
    pub locktime: Option<Dur>,
    pub gc_stale_time: Option<Dur>,
    pub gc_thresh1: Option<usize>,
    pub gc_thresh3: Option<usize>,
    pub unres_qlen_bytes: Option<usize>,
    pub arp_accept: Option<u8>,
    pub drop_gratuitous_arp: Option<bool>,
    pub accept_untracked_na: Option<u8>,
    pub forwarding: Option<bool>,
    pub evict_nocarrier: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NicSpec {
    pub name: String,
    pub mac: Option<String>,
    #[serde(default)]
    pub addresses: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnouncerSpec {
    pub answer: Option<bool>,
    pub na_override: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GilbertSpec {
    pub p_good_to_bad: f64,
    pub p_bad_to_good: f64,
    #[serde(default)]
    pub loss_good: f64,
    #[serde(default = "one")]
    pub loss_bad: f64,
}

fn one() -> f64 {
    1.0
}

/// Link properties as written; every field optional so `set_link` can change just
/// one. (Not a flattened struct: serde cannot combine `flatten` with
/// `deny_unknown_fields`.)
#[derive(Debug, Default, Clone, Copy)]
pub struct LinkPropsSpec<'a> {
    pub latency: Option<Dur>,
    pub jitter: Option<Dur>,
    pub loss: Option<f64>,
    pub burst: Option<&'a GilbertSpec>,
    pub duplicate: Option<f64>,
    pub reorder: Option<f64>,
    pub reorder_delay: Option<Dur>,
}

macro_rules! props_of {
    ($t:ty) => {
        impl $t {
            pub fn props(&self) -> LinkPropsSpec<'_> {
                LinkPropsSpec {
                    latency: self.latency,
                    jitter: self.jitter,
                    loss: self.loss,
                    burst: self.burst.as_ref(),
                    duplicate: self.duplicate,
                    reorder: self.reorder,
                    reorder_delay: self.reorder_delay,
                }
            }
        }
    };
}
props_of!(LinkSpec);
props_of!(SetLinkAction);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    pub name: Option<String>,
    /// `host`, `host.nic` or `switch`.
    pub a: String,
    pub b: String,
    pub latency: Option<Dur>,
    pub jitter: Option<Dur>,
    pub loss: Option<f64>,
    pub burst: Option<GilbertSpec>,
    pub duplicate: Option<f64>,
    pub reorder: Option<f64>,
    pub reorder_delay: Option<Dur>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    #[serde(default)]
    pub flows: Vec<FlowSpecFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowSpecFile {
    pub name: String,
    pub from: String,
    pub to: String,
    pub port: Option<u16>,
    pub source: Option<String>,
    pub src_port: Option<u16>,
    /// Probes per second.
    pub rate: f64,
    pub start: Option<Dur>,
    pub stop: Option<Dur>,
    pub timeout: Option<Dur>,
    #[serde(default)]
    pub confirm: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressAction {
    pub host: String,
    pub address: String,
    /// `own` only: put the address on the interface so the kernel answers ARP/ND
    /// (keepalived, kube-vip) instead of answering from user space (MetalLB).
    pub on_interface: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GarpAction {
    pub host: String,
    pub address: String,
    /// `request`, `reply` or `reply-broadcast-target`.
    pub kind: String,
    pub count: Option<u32>,
    pub interval: Option<Dur>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NaAction {
    pub host: String,
    pub address: String,
    #[serde(rename = "override")]
    pub override_: Option<bool>,
    pub count: Option<u32>,
    pub interval: Option<Dur>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetLinkAction {
    pub link: String,
    /// `both` (default), `a_to_b` or `b_to_a`.
    pub direction: Option<String>,
    pub latency: Option<Dur>,
    pub jitter: Option<Dur>,
    pub loss: Option<f64>,
    pub burst: Option<GilbertSpec>,
    pub duplicate: Option<f64>,
    pub reorder: Option<f64>,
    pub reorder_delay: Option<Dur>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionAction {
    pub name: String,
    pub from: Vec<String>,
    pub to: Vec<String>,
    /// Also block `to` → `from` (default true).
    pub symmetric: Option<bool>,
}

/// One timeline step: `at` plus exactly one action key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineEntry {
    pub at: Dur,
    pub own: Option<AddressAction>,
    pub release: Option<AddressAction>,
    pub garp: Option<GarpAction>,
    pub unsolicited_na: Option<NaAction>,
    pub link_down: Option<String>,
    pub link_up: Option<String>,
    pub set_link: Option<SetLinkAction>,
    pub partition: Option<PartitionAction>,
    pub heal: Option<String>,
    pub crash: Option<String>,
    pub restart: Option<String>,
    pub set_clock: Option<SetClockAction>,
    pub kill: Option<String>,
    /// SIGTERM a host's applications (graceful shutdown).
    pub terminate: Option<String>,
    pub start: Option<String>,
    pub pause: Option<String>,
    pub resume: Option<String>,
    /// The endpoint controller publishes a Service's endpoints.
    pub endpoints: Option<EndpointsAction>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    pub min: Option<u64>,
    pub max: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub flows: Vec<FlowExpect>,
    #[serde(default)]
    pub addresses: Vec<AddressExpect>,
    #[serde(default)]
    pub neighbours: Vec<NeighExpect>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowExpect {
    pub flow: String,
    pub max_outage: Option<Dur>,
    pub min_outage: Option<Dur>,
    pub lost: Option<Bounds>,
    /// The host that answered the flow's last answered probe.
    pub ends_on: Option<String>,
    pub ends_on_mac: Option<String>,
    pub mac_changes: Option<Bounds>,
    /// Bounds on lost probes per cause kind (`flooded`, `link_down`, `neighbour`, …).
    #[serde(default)]
    pub lost_by: BTreeMap<String, Bounds>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressExpect {
    pub address: String,
    pub max_outage: Option<Dur>,
    pub min_outage: Option<Dur>,
    pub lost: Option<Bounds>,
    /// Most hosts that may hold the address at the same time: its announcers when an
    /// application reports them (speaker nodes), else the hosts that accept it.
    pub max_owners: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeighExpect {
    pub host: String,
    pub address: String,
    pub at: Dur,
    /// A NUD state name (`REACHABLE`, `FAILED`, …) or `none` for no entry.
    pub state: Option<String>,
    pub mac: Option<String>,
}
