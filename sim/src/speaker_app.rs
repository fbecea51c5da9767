//! The real `ferrolb_speaker::Speaker` running on a simulated host.
//!
//! The speaker owns its seam (`ferrolb_speaker::io::Io`); this adapter implements it
//! over the host's [`HostIo`] and forwards inputs the other way, nothing more: the same
//! election, announcer, ARP/NDP responder and BGP sessions run here as on Linux.
//! Like kube-proxy, every speaker node accepts traffic for every load-balancer address
//! (`set_claimed`); which node *receives* it is decided by who answers ARP/ND.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

use ferrolb_api::config::Config;
use ferrolb_speaker::announce::ServiceView;
use ferrolb_speaker::election::NodeInfo;
use ferrolb_speaker::io::{ConnId, ConnectSpec, Io};
use ferrolb_speaker::layer2::announcer::AnnouncerConfig;
use ferrolb_speaker::layer2::responder::Interface;
use ferrolb_speaker::members::{Member, Members, MembersConfig};
use ferrolb_speaker::time::Instant as SpeakerInstant;
use ferrolb_speaker::{Speaker, SpeakerConfig};

use crate::app::{AppInput, HostApp, HostIo, IfaceInfo};
use crate::tcp::StreamEvent;
use crate::time::Instant;

/// What a simulated speaker node is told at start (the Kubernetes view).
#[derive(Clone, Debug)]
pub struct SpeakerSetup {
    /// This node's name.
    pub node: String,
    /// The MetalLB configuration.
    pub config: Config,
    /// Services with endpoints.
    pub services: Vec<ServiceView>,
    /// Known nodes.
    pub nodes: BTreeMap<String, NodeInfo>,
    /// Live membership (`None`: membership disabled).
    pub members: Option<BTreeSet<String>>,
    /// Layer 2 announcement timing.
    pub announcer: AnnouncerConfig,
    /// The failure detector: its settings, the shared key, our address and the seeds
    /// to join through. `None` keeps `members` fixed.
    pub membership: Option<MembershipSetup>,
}

/// Membership settings of a simulated speaker.
#[derive(Clone, Debug)]
pub struct MembershipSetup {
    /// Protocol parameters.
    pub config: MembersConfig,
    /// The shared HMAC key.
    pub key: Vec<u8>,
    /// Where this speaker listens.
    pub addr: SocketAddr,
    /// Where to join.
    pub seeds: Vec<SocketAddr>,
}

/// A host application running the speaker.
pub struct SpeakerApp {
    setup: SpeakerSetup,
    speaker: Speaker,
    /// What the speaker answered for after the last input, to report changes.
    announced: Vec<IpAddr>,
    /// How many of the speaker's address conflicts are already reported.
    conflicts_seen: usize,
    /// SIGTERM arrived: once the speaker has handed over, the process exits.
    terminating: bool,
}

impl SpeakerApp {
    /// A speaker that starts when the host boots.
    pub fn new(setup: SpeakerSetup) -> Self {
        let speaker = Speaker::new(SpeakerConfig {
            node: setup.node.clone(),
            ignore_exclude_lb: false,
            announcer: setup.announcer.clone(),
        });
        Self {
            setup,
            speaker,
            announced: Vec::new(),
            conflicts_seen: 0,
            terminating: false,
        }
    }
}

/// `Io` over a host's `HostIo`.
struct Shim<'a> {
    io: &'a mut dyn HostIo,
    ifaces: Vec<IfaceInfo>,
}

fn to_speaker(t: Instant) -> SpeakerInstant {
    SpeakerInstant::from_nanos(t.as_nanos())
}

impl Io for Shim<'_> {
    fn now(&self) -> SpeakerInstant {
        to_speaker(self.io.now())
    }

    fn send_frame(&mut self, iface: &str, frame: &[u8]) {
        if let Some(i) = self.ifaces.iter().find(|i| i.name == iface) {
            self.io.send_frame(i.index, frame);
        }
    }

    fn send_datagram(&mut self, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        self.io.send_datagram(from, to, data);
    }

    fn connect(&mut self, conn: ConnId, spec: &ConnectSpec) {
        let source = spec
            .source
            .or_else(|| self.ifaces.iter().find_map(|i| i.addr_for(spec.peer.ip())))
            .unwrap_or_else(|| spec.peer.ip());
        self.io.connect(conn, SocketAddr::new(source, 0), spec.peer);
    }

    fn send_stream(&mut self, conn: ConnId, data: &[u8]) {
        self.io.send_stream(conn, data);
    }

    fn close(&mut self, conn: ConnId) {
        self.io.close(conn);
    }

    fn wake_at(&mut self, at: SpeakerInstant) {
        self.io.wake_at(Instant::from_nanos(at.as_nanos()));
    }
}

fn interfaces(ifaces: &[IfaceInfo]) -> Vec<Interface> {
    ifaces
        .iter()
        .filter(|i| i.up)
        .map(|i| Interface {
            name: i.name.clone(),
            mac: i.mac,
            link_local: Some(link_local(i.mac)),
        })
        .collect()
}

/// The EUI-64 link-local address of a MAC, as the kernel would configure it.
fn link_local(mac: ferrolb_wire::Mac) -> std::net::Ipv6Addr {
    let m = mac.0;
    std::net::Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        m[0] ^ 2,
        m[1],
        m[2],
        0xff,
        0xfe,
        m[3],
        m[4],
        m[5],
    ])
}

impl HostApp for SpeakerApp {
    fn handle(&mut self, io: &mut dyn HostIo, input: AppInput<'_>) {
        let ifaces = io.interfaces().to_vec();
        if let AppInput::Start = input {
            // kube-proxy: every node accepts every load-balancer address.
            let ips: BTreeSet<IpAddr> = self
                .setup
                .services
                .iter()
                .flat_map(|s| {
                    s.service
                        .ingress_ips
                        .iter()
                        .filter_map(|ip| ip.parse().ok())
                })
                .collect();
            for ip in ips {
                io.set_claimed(ip, true);
                io.set_announcing(ip, false);
            }
        }
        if matches!(input, AppInput::Start) {
            let up = ifaces.iter().filter(|i| i.up).count();
            io.annotate(&format!("speaker starts with {up} interface(s) up"));
        }
        let mut shim = Shim {
            io,
            ifaces: ifaces.clone(),
        };
        let s = &mut self.speaker;
        match input {
            AppInput::Start => {
                *s = Speaker::new(SpeakerConfig {
                    node: self.setup.node.clone(),
                    ignore_exclude_lb: false,
                    announcer: self.setup.announcer.clone(),
                });
                s.set_interfaces(&mut shim, interfaces(&ifaces));
                s.set_nodes(&mut shim, self.setup.nodes.clone());
                s.set_members(&mut shim, self.setup.members.clone());
                s.set_services(&mut shim, self.setup.services.clone());
                s.set_config(&mut shim, self.setup.config.clone());
                if let Some(m) = &self.setup.membership {
                    shim.io.bind_udp(m.addr.port());
                    let seed = shim.io.rng().next_u64();
                    let me = Member {
                        name: self.setup.node.clone(),
                        addr: m.addr,
                    };
                    match Members::new(m.config.clone(), me, &m.key, seed) {
                        Ok(members) => s.enable_membership(&mut shim, members, m.addr, &m.seeds),
                        Err(e) => shim.io.annotate(&format!("membership not started: {e}")),
                    }
                }
            }
            AppInput::Frame { iface, frame } => {
                if let Some(i) = ifaces.iter().find(|i| i.index == iface) {
                    s.handle_frame(&mut shim, &i.name, frame);
                }
            }
            AppInput::Timer => s.handle_timeout(&mut shim),
            AppInput::Carrier { .. } => s.set_interfaces(&mut shim, interfaces(&ifaces)),
            AppInput::Stream { conn, event } => match event {
                StreamEvent::Connected => s.handle_connected(&mut shim, conn),
                StreamEvent::Data(d) => s.handle_stream(&mut shim, conn, d),
                StreamEvent::Closed(_) => s.handle_closed(&mut shim, conn),
                StreamEvent::Accepted { .. } => shim.io.close(conn),
            },
            AppInput::Datagram { from, data, .. } => s.handle_datagram(&mut shim, from, data),
            AppInput::Watch(snap) => {
                s.set_nodes(&mut shim, snap.nodes.clone());
                s.set_services(&mut shim, snap.services.clone());
            }
            AppInput::Terminate => {
                self.terminating = true;
                s.shutdown(&mut shim, "SIGTERM");
            }
        }
        if let AppInput::Start = input {
            self.conflicts_seen = 0;
        }
        for c in s.conflicts().iter().skip(self.conflicts_seen) {
            let m = c.mac;
            shim.io.annotate(&format!(
                "speaker: address conflict: {} answers for {} on {}; not announcing it",
                crate::frame::Mac(m),
                c.ip,
                c.iface
            ));
        }
        self.conflicts_seen = s.conflicts().len();
        let now: Vec<IpAddr> = s.l2_announced();
        if now != self.announced {
            for ip in now.iter().filter(|ip| !self.announced.contains(ip)) {
                shim.io.annotate(&format!("speaker announces {ip}"));
                shim.io.set_announcing(*ip, true);
            }
            for ip in self.announced.iter().filter(|ip| !now.contains(ip)) {
                shim.io.annotate(&format!("speaker withdraws {ip}"));
                shim.io.set_announcing(*ip, false);
            }
            self.announced = now;
        }
        if self.terminating && s.is_stopped() {
            shim.io.annotate("speaker: handover done, exiting");
            shim.io.exit();
        }
    }
}
