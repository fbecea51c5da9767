//! The bodies of the fuzz targets in `fuzz/`, kept here so that every `cargo test`
//! replays the checked-in seed corpus (`fuzz/corpus/<target>/`) through exactly the
//! code the fuzzers run, without libFuzzer. Each function panics only when an
//! invariant it checks is broken, which is what a fuzzer reports.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

use ferrolb_wire::{Mac, parse_eth};

use crate::layer2::announcer::{Announcer, AnnouncerConfig};
use crate::layer2::responder::{Interface, handle_frame};
use crate::members::wire::Codec;
use crate::members::{Member, Members, MembersConfig};
use crate::node_meta::NodeMeta;
use crate::time::Instant;

const OURS: Mac = Mac([0x02, 0, 0, 0, 0, 0x11]);
const KEY: &[u8] = b"fuzz-key";

/// One frame into the ARP/NDP responder of a speaker announcing an IPv4 and an IPv6
/// address: no panic, and every reply is an Ethernet frame from our MAC.
pub fn layer2_frame(data: &[u8]) {
    let iface = Interface {
        name: "eth0".into(),
        mac: OURS,
        link_local: Some("fe80::11".parse().unwrap_or_else(|_| unreachable!())),
    };
    let mut announcer = Announcer::new(AnnouncerConfig {
        probes: 0,
        ..AnnouncerConfig::default()
    });
    let want: BTreeMap<IpAddr, BTreeSet<String>> = ["198.51.100.200", "2001:db8::200"]
        .iter()
        .filter_map(|ip| ip.parse().ok())
        .map(|ip| (ip, BTreeSet::from(["eth0".to_owned()])))
        .collect();
    announcer.set(Instant::ZERO, &want, |_| true);
    announcer.drain_actions();
    let mut counters = BTreeMap::new();
    let now = Instant::from_nanos(1_000_000);
    let replies = handle_frame(now, &mut announcer, &iface, data, |_| false, &mut counters);
    for r in &replies {
        let eth = parse_eth(r).unwrap_or_else(|e| panic!("reply does not parse: {e:?}"));
        assert_eq!(eth.src, OURS, "a reply from another MAC");
    }
    announcer.handle_timeout(now);
    announcer.drain_actions();
    announcer.drain_conflicts();
}

/// One datagram into a membership member that knows two peers: as received (the MAC
/// check rejects almost everything), and again sealed with the cluster key so that the
/// bytes reach the body parser. No panic; we never lose ourselves; the metadata codec
/// takes the same bytes.
pub fn membership_datagram(data: &[u8]) {
    let me = Member {
        name: "me".into(),
        addr: SocketAddr::from(([10, 0, 0, 1], 7946)),
    };
    let Ok(mut m) = Members::new(MembersConfig::default(), me, KEY, 1) else {
        unreachable!("a valid configuration");
    };
    let t = Instant::from_nanos(1_000_000);
    m.join(t, &[]);
    let from = SocketAddr::from(([10, 0, 0, 2], 7946));
    m.handle_datagram(t, from, data);
    m.handle_datagram(t, from, &Codec::new(KEY).seal(data));
    m.handle_timeout(Instant::from_nanos(50_000_000));
    while m.poll_transmit().is_some() {}
    while m.poll_event().is_some() {}
    assert!(m.members().any(|n| n == "me"), "we dropped ourselves");
    if let Some(meta) = NodeMeta::decode(data) {
        assert_eq!(NodeMeta::decode(&meta.encode()), Some(meta));
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let dir =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../fuzz/corpus/{target}"));
        let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| {
                let p = e.expect("entry").path();
                let bytes = std::fs::read(&p).expect("readable");
                (p, bytes)
            })
            .collect();
        out.sort();
        assert!(
            out.len() >= 5,
            "{}: a seed corpus of a few files",
            dir.display()
        );
        out
    }

    #[test]
    fn the_layer2_seed_corpus_replays_without_a_panic() {
        for (path, bytes) in corpus("layer2_frame") {
            eprintln!("{}", path.display());
            layer2_frame(&bytes);
        }
    }

    #[test]
    fn the_membership_seed_corpus_replays_without_a_panic() {
        for (path, bytes) in corpus("membership_datagram") {
            eprintln!("{}", path.display());
            membership_datagram(&bytes);
        }
    }

    /// Writes the seed corpus: `FERROLB_WRITE_CORPUS=1 cargo test -p ferrolb-speaker
    /// write_seed_corpus -- --ignored`. The files are checked in; this is how they were
    /// made.
    #[test]
    #[ignore = "writes fuzz/corpus; run by hand"]
    fn write_seed_corpus() {
        use ferrolb_wire::{
            ALL_NODES, Arp, ArpOp, ETHERTYPE_ARP, ETHERTYPE_IPV6, Nd, build_eth, solicited_node,
        };
        use std::net::{Ipv4Addr, Ipv6Addr};

        use crate::members::wire::{Body, Message, TAG_LEN, Update};

        if std::env::var_os("FERROLB_WRITE_CORPUS").is_none() {
            return;
        }
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
        let write = |target: &str, name: &str, bytes: &[u8]| {
            let dir = root.join(target);
            std::fs::create_dir_all(&dir).expect("mkdir");
            std::fs::write(dir.join(name), bytes).expect("write");
        };
        let client = Mac([0x02, 0, 0, 0, 0, 0x99]);
        let vip4: Ipv4Addr = "198.51.100.200".parse().unwrap();
        let vip6: Ipv6Addr = "2001:db8::200".parse().unwrap();
        let arp = |op, sha, spa: &str, tpa: Ipv4Addr| {
            let a = Arp {
                op,
                sha,
                spa: spa.parse().unwrap(),
                tha: Mac::ZERO,
                tpa,
            };
            build_eth(Mac::BROADCAST, sha, ETHERTYPE_ARP, &a.encode())
        };
        let req = arp(ArpOp::Request, client, "198.51.100.100", vip4);
        write("layer2_frame", "arp-request", &req);
        write(
            "layer2_frame",
            "arp-probe",
            &arp(ArpOp::Request, client, "0.0.0.0", vip4),
        );
        write(
            "layer2_frame",
            "arp-garp-foreign",
            &arp(ArpOp::Request, client, "198.51.100.200", vip4),
        );
        write(
            "layer2_frame",
            "arp-reply",
            &arp(ArpOp::Reply, client, "198.51.100.200", vip4),
        );
        write("layer2_frame", "arp-truncated", &req[..req.len() - 9]);
        let ns = |src: Ipv6Addr, sllao| {
            let group = solicited_node(vip6);
            let nd = Nd::Solicit {
                target: vip6,
                sllao,
            };
            build_eth(
                Mac::ipv6_multicast(group),
                client,
                ETHERTYPE_IPV6,
                &nd.build(src, group),
            )
        };
        let sol = ns("2001:db8::100".parse().unwrap(), Some(client));
        write("layer2_frame", "ndp-solicit", &sol);
        write("layer2_frame", "ndp-dad", &ns(Ipv6Addr::UNSPECIFIED, None));
        let na = Nd::Advert {
            target: vip6,
            router: false,
            solicited: false,
            override_: true,
            tllao: Some(client),
        };
        write(
            "layer2_frame",
            "ndp-unsolicited-na",
            &build_eth(
                Mac::BROADCAST,
                client,
                ETHERTYPE_IPV6,
                &na.build("fe80::99".parse().unwrap(), ALL_NODES),
            ),
        );
        write("layer2_frame", "ndp-truncated", &sol[..sol.len() - 12]);

        let codec = Codec::new(KEY);
        let peer: SocketAddr = "10.0.0.2:7946".parse().unwrap();
        let meta = NodeMeta::new([("eth0", Mac([2, 0, 0, 0, 0, 2]))]).encode();
        let msgs = [
            (
                "ping",
                Body::Ping {
                    seq: 1,
                    target: "me".into(),
                },
                vec![],
            ),
            ("ack", Body::Ack { seq: 1 }, vec![]),
            (
                "ping-req",
                Body::PingReq {
                    seq: 2,
                    target: "p3".into(),
                    addr: peer,
                },
                vec![],
            ),
            (
                "sync",
                Body::Sync { reply: true },
                vec![Update::Alive {
                    name: "p2".into(),
                    incarnation: 4,
                    addr: peer,
                    meta: meta.clone(),
                }],
            ),
            (
                "gossip",
                Body::Gossip,
                vec![
                    Update::Suspect {
                        name: "me".into(),
                        incarnation: 0,
                        from: "p2".into(),
                    },
                    Update::Dead {
                        name: "p3".into(),
                        incarnation: 1,
                        from: "p2".into(),
                    },
                    Update::Left {
                        name: "p4".into(),
                        incarnation: 2,
                    },
                ],
            ),
            (
                "leave",
                Body::Leave { seq: 9 },
                vec![Update::Left {
                    name: "p2".into(),
                    incarnation: 4,
                }],
            ),
        ];
        for (name, body, updates) in msgs {
            let sealed = codec.encode(&Message {
                sender: "p2".into(),
                body,
                updates,
            });
            // The harness seals what it is given: the body alone reaches the parser.
            write(
                "membership_datagram",
                name,
                &sealed[..sealed.len() - TAG_LEN],
            );
            write("membership_datagram", &format!("{name}-sealed"), &sealed);
        }
        write("membership_datagram", "node-meta", &meta);
    }

    /// The membership seeds are real messages: sealed as the harness seals them, a
    /// sync from p2 makes it a member.
    #[test]
    fn the_membership_corpus_reaches_the_parser() {
        let (_, sync) = corpus("membership_datagram")
            .into_iter()
            .find(|(p, _)| p.ends_with("sync"))
            .expect("sync seed");
        let me = Member {
            name: "me".into(),
            addr: SocketAddr::from(([10, 0, 0, 1], 7946)),
        };
        let mut m = Members::new(MembersConfig::default(), me, KEY, 1).unwrap();
        let t = Instant::from_nanos(1_000_000);
        m.join(t, &[]);
        m.handle_datagram(
            t,
            SocketAddr::from(([10, 0, 0, 2], 7946)),
            &Codec::new(KEY).seal(&sync),
        );
        assert!(m.members().any(|n| n == "p2"), "{:?}", m.counters());
        let meta = NodeMeta::decode(m.member_meta("p2").unwrap()).unwrap();
        assert_eq!(meta.up_interfaces().unwrap().len(), 1);
    }

    /// The corpus holds real requests, not only noise: an ARP request for our address
    /// gets a reply.
    #[test]
    fn the_layer2_corpus_holds_a_request_we_answer() {
        let frames = corpus("layer2_frame");
        let (_, req) = frames
            .iter()
            .find(|(p, _)| p.ends_with("arp-request"))
            .expect("arp-request seed");
        let iface = Interface {
            name: "eth0".into(),
            mac: OURS,
            link_local: None,
        };
        let mut a = Announcer::new(AnnouncerConfig {
            probes: 0,
            ..AnnouncerConfig::default()
        });
        let want = BTreeMap::from([(
            "198.51.100.200".parse().unwrap(),
            BTreeSet::from(["eth0".to_owned()]),
        )]);
        a.set(Instant::ZERO, &want, |_| true);
        let replies = handle_frame(
            Instant::from_nanos(1),
            &mut a,
            &iface,
            req,
            |_| false,
            &mut BTreeMap::new(),
        );
        assert_eq!(replies.len(), 1);
    }
}
