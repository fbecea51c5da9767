//! The Prometheus text exposition (format 0.0.4) of what the speaker did, with
//! MetalLB's metric names and labels so that existing dashboards and alerts keep
//! working (`metallb_layer2_*`, `metallb_speaker_announced`,
//! `metallb_k8s_client_config_*`), plus ferrolb's own under `ferrolb_`: the failure
//! detector's counters, frames the driver saw and could not use, and reloads.
//!
//! Pure: the driver fills a [`Snapshot`] from the core and its own counters when a
//! scrape arrives, and [`render`] formats it. Families and series come out in a fixed
//! order (`BTreeMap`s), so two scrapes of the same state are the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::net::IpAddr;

use crate::layer2::responder::L2Counters;
use crate::members::Counters as MemberCounters;

/// What the driver counts itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DriverCounters {
    /// Frames received per interface (after the kernel filter).
    pub frames_received: BTreeMap<String, u64>,
    /// Frames that passed the filter but are not ARP / neighbour discovery we can
    /// parse, per interface.
    pub frames_unknown: BTreeMap<String, u64>,
    /// Frames the kernel refused to send, per interface.
    pub frame_send_errors: BTreeMap<String, u64>,
    /// Membership datagrams that could not be sent.
    pub datagram_send_errors: u64,
    /// Times an address could not be announced because the interfaces its
    /// L2Advertisements name do not exist here (MetalLB's `announceFailed`), per address.
    pub announce_failed: BTreeMap<IpAddr, u64>,
    /// Configuration reloads that were applied.
    pub reloads_ok: u64,
    /// Configuration reloads that were refused (the last good one kept running).
    pub reloads_failed: u64,
    /// Link notifications that made the driver re-read the interfaces.
    pub link_rescans: u64,
}

/// Everything one scrape shows.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// This node.
    pub node: String,
    /// Per address Layer 2 counters.
    pub l2: BTreeMap<IpAddr, L2Counters>,
    /// Addresses this node announces (desired state, as MetalLB's gauge), with the
    /// Services using each.
    pub announced: BTreeMap<IpAddr, BTreeSet<String>>,
    /// The failure detector's counters and live member count, when membership is on.
    pub members: Option<(MemberCounters, usize)>,
    /// Interfaces announced on.
    pub interfaces: Vec<String>,
    /// The driver's counters.
    pub driver: DriverCounters,
    /// Whether the last reload was refused.
    pub config_stale: bool,
    /// Address conflicts found (another host answered our RFC 5227 probe), per
    /// address.
    pub conflicts: BTreeMap<IpAddr, u64>,
}

/// Escapes a label value (`\`, `"`, newline).
fn escape(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: u64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    fn per_ip(
        &mut self,
        name: &str,
        help: &str,
        l2: &BTreeMap<IpAddr, L2Counters>,
        f: fn(&L2Counters) -> u64,
    ) {
        self.family(name, "counter", help);
        for (ip, c) in l2 {
            self.sample(name, &[("ip", &ip.to_string())], f(c));
        }
    }

    fn per_iface(&mut self, name: &str, help: &str, m: &BTreeMap<String, u64>) {
        self.family(name, "counter", help);
        for (i, v) in m {
            self.sample(name, &[("interface", i)], *v);
        }
    }
}

/// The exposition text.
pub fn render(s: &Snapshot) -> String {
    let mut o = Out(String::new());
    o.per_ip(
        "metallb_layer2_requests_received",
        "Number of layer2 requests received for owned IPs",
        &s.l2,
        |c| c.requests_received,
    );
    o.per_ip(
        "metallb_layer2_responses_sent",
        "Number of layer2 responses sent for owned IPs in response to requests",
        &s.l2,
        |c| c.responses_sent,
    );
    o.per_ip(
        "metallb_layer2_gratuitous_sent",
        "Number of gratuitous layer2 packets sent for owned IPs as a result of failovers",
        &s.l2,
        |c| c.gratuitous_sent,
    );
    o.family(
        "metallb_speaker_announced",
        "gauge",
        "Services being announced from this node. This is desired state, it does not guarantee that the routing protocols have converged.",
    );
    for (ip, services) in &s.announced {
        let ip = ip.to_string();
        for svc in services {
            o.sample(
                "metallb_speaker_announced",
                &[
                    ("ip", &ip),
                    ("node", &s.node),
                    ("protocol", "layer2"),
                    ("service", svc),
                ],
                1,
            );
        }
    }
    o.family(
        "metallb_k8s_client_config_loaded_bool",
        "gauge",
        "1 if the MetalLB configuration was successfully loaded at least once.",
    );
    o.sample("metallb_k8s_client_config_loaded_bool", &[], 1);
    o.family(
        "metallb_k8s_client_config_stale_bool",
        "gauge",
        "1 if running on a stale configuration, because the latest config failed to load.",
    );
    o.sample(
        "metallb_k8s_client_config_stale_bool",
        &[],
        u64::from(s.config_stale),
    );
    let d = &s.driver;
    o.family(
        "ferrolb_layer2_interfaces",
        "gauge",
        "Interfaces this node announces on (eligible: up, carrier, not enslaved, not NOARP, not excluded).",
    );
    for i in &s.interfaces {
        o.sample("ferrolb_layer2_interfaces", &[("interface", i)], 1);
    }
    o.per_iface(
        "ferrolb_layer2_frames_received_total",
        "Frames received on the packet sockets (ARP and neighbour discovery, after the kernel filter).",
        &d.frames_received,
    );
    o.per_iface(
        "ferrolb_layer2_frames_unknown_total",
        "Frames that passed the kernel filter but do not parse as ARP or neighbour discovery; dropped.",
        &d.frames_unknown,
    );
    o.per_iface(
        "ferrolb_layer2_frame_send_errors_total",
        "Frames the kernel refused to send.",
        &d.frame_send_errors,
    );
    o.family(
        "ferrolb_layer2_announce_failed_total",
        "counter",
        "Times an address won by this node could not be announced because none of the interfaces its L2Advertisements name exist here (MetalLB's announceFailed).",
    );
    for (ip, v) in &d.announce_failed {
        o.sample(
            "ferrolb_layer2_announce_failed_total",
            &[("ip", &ip.to_string())],
            *v,
        );
    }
    o.family(
        "ferrolb_layer2_address_conflicts_total",
        "counter",
        "Times another host answered the conflict probe for an address, which is then not announced (retried every 10 s).",
    );
    for (ip, v) in &s.conflicts {
        o.sample(
            "ferrolb_layer2_address_conflicts_total",
            &[("ip", &ip.to_string())],
            *v,
        );
    }
    o.family(
        "ferrolb_speaker_reloads_total",
        "counter",
        "Configuration reloads (SIGHUP), by result.",
    );
    o.sample(
        "ferrolb_speaker_reloads_total",
        &[("result", "applied")],
        d.reloads_ok,
    );
    o.sample(
        "ferrolb_speaker_reloads_total",
        &[("result", "refused")],
        d.reloads_failed,
    );
    o.family(
        "ferrolb_speaker_link_rescans_total",
        "counter",
        "Interface rescans triggered by netlink link or address notifications.",
    );
    o.sample("ferrolb_speaker_link_rescans_total", &[], d.link_rescans);
    o.family(
        "ferrolb_members_datagram_send_errors_total",
        "counter",
        "Membership datagrams the kernel refused to send.",
    );
    o.sample(
        "ferrolb_members_datagram_send_errors_total",
        &[],
        d.datagram_send_errors,
    );
    if let Some((c, live)) = &s.members {
        members(&mut o, c, *live);
    }
    o.0
}

fn members(o: &mut Out, c: &MemberCounters, live: usize) {
    o.family(
        "ferrolb_members_live",
        "gauge",
        "Speakers this node currently holds alive, itself included.",
    );
    o.sample("ferrolb_members_live", &[], live as u64);
    let rows: [(&str, u64, &str); 18] = [
        (
            "datagrams_sent",
            c.datagrams_sent,
            "Membership datagrams sent.",
        ),
        ("bytes_sent", c.bytes_sent, "Membership bytes sent."),
        (
            "datagrams_received",
            c.datagrams_received,
            "Membership datagrams received.",
        ),
        (
            "bytes_received",
            c.bytes_received,
            "Membership bytes received.",
        ),
        (
            "bad_mac",
            c.bad_mac,
            "Datagrams refused: authentication failed (wrong key?).",
        ),
        (
            "bad_version",
            c.bad_version,
            "Datagrams refused: unknown protocol version.",
        ),
        ("malformed", c.malformed, "Datagrams refused: malformed."),
        (
            "misdirected",
            c.misdirected,
            "Datagrams meant for another member.",
        ),
        ("pings_sent", c.pings_sent, "Direct probes sent."),
        ("acks_sent", c.acks_sent, "Probe acknowledgements sent."),
        (
            "ping_reqs_sent",
            c.ping_reqs_sent,
            "Indirect probe requests sent.",
        ),
        (
            "nacks_sent",
            c.nacks_sent,
            "Negative acknowledgements sent.",
        ),
        ("gossip_sent", c.gossip_sent, "Gossip datagrams sent."),
        ("syncs_sent", c.syncs_sent, "Full-state exchanges sent."),
        ("leaves_sent", c.leaves_sent, "Leave datagrams sent."),
        ("probes", c.probes, "Probes started."),
        (
            "probes_failed",
            c.probes_failed,
            "Probes that got no answer (target became suspect).",
        ),
        (
            "refutations",
            c.refutations,
            "Times this node refuted a suspicion of itself.",
        ),
    ];
    for (name, v, help) in rows {
        let full = format!("ferrolb_members_{name}_total");
        o.family(&full, "counter", help);
        o.sample(&full, &[], v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_conflicts_are_counted_per_address() {
        let mut s = Snapshot::default();
        s.conflicts.insert("192.0.2.7".parse().unwrap(), 2);
        let text = render(&s);
        assert!(
            text.contains("ferrolb_layer2_address_conflicts_total{ip=\"192.0.2.7\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE ferrolb_layer2_address_conflicts_total counter"));
    }

    #[test]
    fn metallb_names_labels_and_values() {
        let ip: IpAddr = "192.0.2.10".parse().unwrap();
        let mut s = Snapshot {
            node: "n1".into(),
            ..Snapshot::default()
        };
        s.l2.insert(
            ip,
            L2Counters {
                requests_received: 3,
                responses_sent: 2,
                gratuitous_sent: 10,
            },
        );
        s.announced.insert(
            ip,
            ["default/web".to_owned(), "dns/\"q\"".to_owned()].into(),
        );
        s.driver.frames_unknown.insert("eth0".into(), 4);
        s.config_stale = true;
        let text = render(&s);
        for line in [
            "# TYPE metallb_layer2_requests_received counter",
            "metallb_layer2_requests_received{ip=\"192.0.2.10\"} 3",
            "metallb_layer2_responses_sent{ip=\"192.0.2.10\"} 2",
            "metallb_layer2_gratuitous_sent{ip=\"192.0.2.10\"} 10",
            "# TYPE metallb_speaker_announced gauge",
            "metallb_speaker_announced{ip=\"192.0.2.10\",node=\"n1\",protocol=\"layer2\",service=\"default/web\"} 1",
            "metallb_speaker_announced{ip=\"192.0.2.10\",node=\"n1\",protocol=\"layer2\",service=\"dns/\\\"q\\\"\"} 1",
            "metallb_k8s_client_config_stale_bool 1",
            "ferrolb_layer2_frames_unknown_total{interface=\"eth0\"} 4",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        // No membership section without membership.
        assert!(!text.contains("ferrolb_members_live"));
        // Every sample belongs to the family announced just before it.
        let mut family = String::new();
        for l in text.lines() {
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                family = rest.split(' ').next().unwrap().to_owned();
            } else if !l.starts_with('#') {
                assert!(l.starts_with(&family), "{l} outside {family}");
            }
        }
        assert_eq!(render(&s), text, "same state, same bytes");
    }

    #[test]
    fn membership_counters_when_on() {
        let s = Snapshot {
            members: Some((
                MemberCounters {
                    pings_sent: 7,
                    ..MemberCounters::default()
                },
                3,
            )),
            ..Snapshot::default()
        };
        let text = render(&s);
        assert!(text.contains("\nferrolb_members_live 3\n"), "{text}");
        assert!(
            text.contains("\nferrolb_members_pings_sent_total 7\n"),
            "{text}"
        );
    }
}
