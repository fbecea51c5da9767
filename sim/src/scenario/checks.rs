//! The `expect` section, resolved into checks evaluated after the run.

use std::collections::BTreeMap;

use super::plan::{AddressCheck, Checks, Ctx, FlowCheck, FlowPlan, NeighCheck, bounds, parse_ip};
use super::spec::{Bounds, ScenarioFile};
use crate::frame::Mac;
use crate::neigh::NudState;
use crate::time::Instant;

pub(super) fn checks(
    ctx: &mut Ctx,
    file: &ScenarioFile,
    end: Instant,
    host_idx: &BTreeMap<&str, usize>,
    flows: &[FlowPlan],
    flow_idx: &BTreeMap<&str, usize>,
    owned: &[std::net::IpAddr],
) -> Checks {
    let mut c = Checks::default();
    let host = |ctx: &mut Ctx, path: String, name: &str| -> Option<usize> {
        let h = host_idx.get(name).copied();
        if h.is_none() {
            ctx.err(path, format!("dangling reference: no host named `{name}`"));
        }
        h
    };
    for (i, f) in file.expect.flows.iter().enumerate() {
        let p = format!("expect.flows[{i}]");
        let Some(&flow) = flow_idx.get(f.flow.as_str()) else {
            ctx.err(
                format!("{p}.flow"),
                format!("dangling reference: no flow named `{}`", f.flow),
            );
            continue;
        };
        let ends_on = f
            .ends_on
            .as_ref()
            .and_then(|n| host(ctx, format!("{p}.ends_on"), n));
        let ends_on_mac = f.ends_on_mac.as_ref().and_then(|m| {
            Mac::parse(m)
                .map_err(|e| ctx.err(format!("{p}.ends_on_mac"), e))
                .ok()
        });
        if let (Some(lo), Some(hi)) = (f.min_outage, f.max_outage)
            && lo > hi
        {
            ctx.err(
                format!("{p}.min_outage"),
                "min_outage is greater than max_outage",
            );
        }
        let mut lost_by = vec![];
        for (kind, b) in &f.lost_by {
            let path = format!("{p}.lost_by.{kind}");
            if !crate::fate::Loss::KINDS.contains(&kind.as_str()) {
                ctx.err(
                    path,
                    format!(
                        "unknown cause `{kind}` (known: {})",
                        crate::fate::Loss::KINDS.join(", ")
                    ),
                );
                continue;
            }
            if let Some(cb) = bounds(
                ctx,
                path,
                &Some(Bounds {
                    min: b.min,
                    max: b.max,
                }),
            ) {
                lost_by.push((kind.clone(), cb));
            }
        }
        c.flows.push(FlowCheck {
            lost_by,
            flow,
            max_outage: f.max_outage.map(|d| d.0),
            min_outage: f.min_outage.map(|d| d.0),
            lost: bounds(ctx, format!("{p}.lost"), &f.lost),
            ends_on,
            ends_on_mac,
            mac_changes: bounds(ctx, format!("{p}.mac_changes"), &f.mac_changes),
        });
    }
    for (i, a) in file.expect.addresses.iter().enumerate() {
        let p = format!("expect.addresses[{i}]");
        let Ok(ip) = parse_ip(&a.address).map_err(|e| ctx.err(format!("{p}.address"), e)) else {
            continue;
        };
        if !flows.iter().any(|f| f.dst.ip() == ip) && !owned.contains(&ip) {
            ctx.err(
                format!("{p}.address"),
                format!("no flow sends to {ip} and no host owns it"),
            );
        }
        c.addresses.push(AddressCheck {
            address: ip,
            max_outage: a.max_outage.map(|d| d.0),
            min_outage: a.min_outage.map(|d| d.0),
            lost: bounds(ctx, format!("{p}.lost"), &a.lost),
            max_owners: a.max_owners,
        });
    }
    for (i, n) in file.expect.neighbours.iter().enumerate() {
        let p = format!("expect.neighbours[{i}]");
        let Some(h) = host(ctx, format!("{p}.host"), &n.host) else {
            continue;
        };
        let Ok(ip) = parse_ip(&n.address).map_err(|e| ctx.err(format!("{p}.address"), e)) else {
            continue;
        };
        let at = Instant::ZERO + n.at.0;
        if at > end {
            ctx.err(
                format!("{p}.at"),
                format!("{at} is after the end of the run ({end})"),
            );
        }
        let state = match n.state.as_deref() {
            None => None,
            Some(s) if s.eq_ignore_ascii_case("none") => Some(None),
            Some(s) => match NudState::parse(s) {
                Some(st) => Some(Some(st)),
                None => {
                    ctx.err(format!("{p}.state"), format!("unknown state `{s}` (REACHABLE, STALE, DELAY, PROBE, INCOMPLETE, FAILED, PERMANENT or none)"));
                    None
                }
            },
        };
        let mac = n.mac.as_ref().and_then(|m| {
            Mac::parse(m)
                .map_err(|e| ctx.err(format!("{p}.mac"), e))
                .ok()
        });
        c.neighbours.push(NeighCheck {
            host: h,
            address: ip,
            at,
            state,
            mac,
        });
    }
    c
}
