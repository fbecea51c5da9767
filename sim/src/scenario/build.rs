//! Turns a checked [`Plan`] into a [`World`] for one seed.

use std::net::SocketAddr;

use super::plan::{EndRef, Plan};
use crate::cluster::ClusterModel;
use crate::host::{AppFactory, Host};
use crate::scripted::ScriptedApp;
use crate::world::{Endpoint, FlowSpec, World};

/// Builds the world. Hosts, switches and links get ids in file order, which is what the
/// plan's resolved indices refer to.
pub fn build(plan: &Plan, seed: u64, record_trace: bool) -> World {
    let mut world = World::new(seed, record_trace);
    let tree = world.rng_tree();
    for (name, ageing) in &plan.switches {
        world.add_switch(name, *ageing);
    }
    for h in &plan.hosts {
        let mut factories: Vec<AppFactory> = vec![];
        if !h.script.is_empty() || h.announcer.is_some() {
            let config = h.announcer.unwrap_or_default();
            let script = h.script.clone();
            factories.push(Box::new(move || {
                Box::new(ScriptedApp::new(config, script.clone()))
            }));
        }
        if let Some(setup) = &h.speaker {
            let setup = setup.clone();
            factories.push(Box::new(move || {
                Box::new(crate::speaker_app::SpeakerApp::new(setup.clone()))
            }));
        }
        let mut host = Host::new(
            world.hosts().len() as u32,
            &h.name,
            h.nics.clone(),
            h.params,
            tree,
            factories,
        );
        host.set_clock(h.clock);
        world.add_host(host);
    }
    let end = |e: EndRef| match e {
        EndRef::Host { host, nic } => Endpoint::Host {
            host: host as u32,
            nic,
        },
        EndRef::Switch(s) => Endpoint::Switch {
            switch: s as u32,
            port: 0,
        },
    };
    for l in &plan.links {
        world.add_link(&l.name, end(l.a), end(l.b), l.props, l.props);
    }
    for f in &plan.flows {
        let port = f.src_port.unwrap_or_else(|| {
            // Linux's default ephemeral range, from the flow's own stream.
            tree.stream(&format!("flow:{}", f.name)).range(32768, 61000) as u16
        });
        world.add_flow(FlowSpec {
            name: f.name.clone(),
            host: f.host as u32,
            src: SocketAddr::new(f.src, port),
            dst: f.dst,
            interval: f.interval,
            start: f.start,
            stop: f.stop,
            timeout: f.timeout,
            confirm: f.confirm,
        });
    }
    for (at, action, label) in &plan.actions {
        world.schedule(*at, action.clone(), label.clone());
    }
    if let Some(c) = &plan.cluster {
        let hosts: Vec<(String, u32)> = c
            .node_hosts
            .iter()
            .map(|(n, h)| (n.clone(), *h as u32))
            .collect();
        let mut model = ClusterModel::new(c.services.clone(), c.nodes.clone(), &hosts);
        model.watch_latency = c.watch_latency;
        model.watch_jitter = c.watch_jitter;
        model.node_monitor_grace = c.node_monitor_grace;
        world.set_cluster(model);
    }
    world
}
