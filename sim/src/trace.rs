//! The run's trace: a running hash of everything that happened (the determinism
//! fingerprint: same seed, same hash) and, when asked for, a record per event for a
//! JSONL file. Recording is off by default because describing millions of frames costs
//! more than simulating them.

use serde::Serialize;

use crate::frame::{self, Arp, ArpOp, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, Nd};
use crate::probe::{self, Probe};
use crate::time::Instant;

/// One line of a `--trace` file.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TraceRecord {
    /// Nanoseconds of virtual time.
    pub t_ns: u64,
    pub kind: &'static str,
    /// Where: a link (`client1-sw1 a>b`), a host, a switch.
    pub at: String,
    pub detail: String,
}

#[derive(Clone, Debug)]
pub struct Trace {
    hash: u64,
    events: u64,
    records: Option<Vec<TraceRecord>>,
}

const K: u64 = 0x517c_c1b7_2722_0a95;

impl Trace {
    pub fn new(record: bool) -> Self {
        Self {
            hash: 0xcbf2_9ce4_8422_2325,
            events: 0,
            records: record.then(Vec::new),
        }
    }

    #[inline]
    fn mix(&mut self, v: u64) {
        self.hash = (self.hash.rotate_left(5) ^ v).wrapping_mul(K);
    }

    /// Four independent lanes so the multiply chains overlap; the simulator hashes
    /// every frame it delivers, so this is on the hot path.
    #[inline]
    fn mix_bytes(&mut self, b: &[u8]) {
        let mut lanes = [self.hash, K, K.rotate_left(17), K.rotate_left(31)];
        let mut chunks = b.chunks_exact(32);
        for c in &mut chunks {
            for (i, lane) in lanes.iter_mut().enumerate() {
                let mut w = [0u8; 8];
                w.copy_from_slice(&c[i * 8..i * 8 + 8]);
                *lane = (lane.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
            }
        }
        let rest = chunks.remainder();
        for (i, c) in rest.chunks(8).enumerate() {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            lanes[i] = (lanes[i].rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        self.mix(
            b.len() as u64
                ^ lanes[0]
                ^ lanes[1].rotate_left(19)
                ^ lanes[2].rotate_left(37)
                ^ lanes[3].rotate_left(53),
        );
    }

    /// A short static name as one word (its first 8 bytes and its length). Inlined so
    /// that a literal kind folds to a constant.
    #[inline]
    fn mix_name(&mut self, name: &str) {
        let b = name.as_bytes();
        let mut w = [0u8; 8];
        let n = b.len().min(8);
        w[..n].copy_from_slice(&b[..n]);
        self.mix(u64::from_le_bytes(w) ^ ((b.len() as u64) << 56));
    }

    /// Records an event: `code` and `ids` go into the hash; `describe` runs only when
    /// records are kept. Inlined: it runs for every delivered frame, and the kind
    /// and the number of ids are constants at each call site.
    #[inline]
    pub fn event(
        &mut self,
        t: Instant,
        kind: &'static str,
        ids: &[u64],
        bytes: &[u8],
        describe: impl FnOnce() -> (String, String),
    ) {
        self.events += 1;
        self.mix(t.as_nanos());
        self.mix_name(kind);
        for id in ids {
            self.mix(*id);
        }
        if !bytes.is_empty() {
            self.mix_bytes(bytes);
        }
        if let Some(r) = &mut self.records {
            let (at, detail) = describe();
            r.push(TraceRecord {
                t_ns: t.as_nanos(),
                kind,
                at,
                detail,
            });
        }
    }

    /// The fingerprint of the run so far.
    pub fn hash(&self) -> u64 {
        self.hash
    }
    pub fn events(&self) -> u64 {
        self.events
    }
    pub fn take_records(&mut self) -> Vec<TraceRecord> {
        self.records.take().unwrap_or_default()
    }
}

/// A one-line human description of a frame, for trace files.
pub fn describe_frame(f: &[u8]) -> String {
    let Ok(eth) = frame::parse_eth(f) else {
        return format!("runt frame ({} bytes)", f.len());
    };
    let head = format!("{} > {}", eth.src, eth.dst);
    match eth.ethertype {
        ETHERTYPE_ARP => match Arp::decode(eth.payload) {
            Ok(a) if a.op == ArpOp::Request => format!(
                "{head} ARP who-has {} tell {} ({}){}",
                a.tpa,
                a.spa,
                a.sha,
                if a.spa == a.tpa { " [gratuitous]" } else { "" }
            ),
            Ok(a) => format!(
                "{head} ARP reply {} is-at {} (tha {}){}",
                a.spa,
                a.sha,
                a.tha,
                if crate::neigh::is_garp(&a) {
                    " [gratuitous]"
                } else {
                    ""
                }
            ),
            Err(e) => format!("{head} bad ARP: {e}"),
        },
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => {
            let Ok(ip) = frame::parse_ip(eth.payload) else {
                return format!("{head} bad IP");
            };
            if ip.proto == frame::IPPROTO_ICMPV6 {
                return match Nd::parse(&ip) {
                    Ok(Some(Nd::Solicit { target, .. })) => {
                        format!("{head} NS {} > {} who-has {target}", ip.src, ip.dst)
                    }
                    Ok(Some(Nd::Advert {
                        target,
                        solicited,
                        override_,
                        tllao,
                        ..
                    })) => format!(
                        "{head} NA {} > {} {target} is-at {} S={} O={}",
                        ip.src,
                        ip.dst,
                        tllao.map_or_else(|| "-".to_string(), |m| m.to_string()),
                        u8::from(solicited),
                        u8::from(override_)
                    ),
                    _ => format!("{head} ICMPv6 {} > {}", ip.src, ip.dst),
                };
            }
            if ip.proto == frame::IPPROTO_TCP
                && let Ok(seg) = frame::parse_tcp(&ip)
            {
                let flags: String = [
                    (frame::tcp_flags::SYN, 'S'),
                    (frame::tcp_flags::ACK, '.'),
                    (frame::tcp_flags::FIN, 'F'),
                    (frame::tcp_flags::RST, 'R'),
                    (frame::tcp_flags::PSH, 'P'),
                ]
                .iter()
                .filter(|(f, _)| seg.has(*f))
                .map(|(_, c)| *c)
                .collect();
                return format!(
                    "{head} TCP {}:{} > {}:{} [{flags}] seq {} ack {} len {}",
                    ip.src,
                    seg.sport,
                    ip.dst,
                    seg.dport,
                    seg.seq,
                    seg.ack,
                    seg.payload.len()
                );
            }
            match Probe::in_ip_packet(eth.payload) {
                Some(p) => format!(
                    "{head} {} {} > {} probe flow {} seq {}",
                    if p.kind == probe::Kind::Request {
                        "request"
                    } else {
                        "reply"
                    },
                    ip.src,
                    ip.dst,
                    p.flow,
                    p.seq
                ),
                None => format!("{head} IP proto {} {} > {}", ip.proto, ip.src, ip.dst),
            }
        }
        other => format!("{head} ethertype {other:#06x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_every_input_and_order() {
        let run = |events: &[(&'static str, u64)]| {
            let mut t = Trace::new(false);
            for (k, v) in events {
                t.event(
                    Instant::from_nanos(*v),
                    k,
                    &[*v],
                    &[1, 2, 3],
                    || unreachable!(),
                );
            }
            t.hash()
        };
        let a = run(&[("x", 1), ("y", 2)]);
        assert_eq!(a, run(&[("x", 1), ("y", 2)]));
        assert_ne!(a, run(&[("y", 2), ("x", 1)]));
        assert_ne!(a, run(&[("x", 1), ("y", 3)]));
    }

    /// Every byte of a frame, at every length the frames have, reaches the hash, and so
    /// does the length (a frame and the same frame with a zero byte appended differ).
    #[test]
    fn hash_depends_on_every_byte_and_the_length() {
        let hash = |b: &[u8]| {
            let mut t = Trace::new(false);
            t.event(Instant::ZERO, "rx", &[1, 0], b, || unreachable!());
            t.hash()
        };
        for len in [1usize, 7, 8, 15, 16, 42, 64, 65, 90] {
            let frame: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let h = hash(&frame);
            for i in 0..len {
                let mut f = frame.clone();
                f[i] ^= 0x40;
                assert_ne!(hash(&f), h, "byte {i} of {len}");
            }
            let mut longer = frame.clone();
            longer.push(0);
            assert_ne!(hash(&longer), h, "length {len}");
        }
    }

    #[test]
    fn records_only_when_asked() {
        let mut t = Trace::new(true);
        t.event(Instant::ZERO, "k", &[], &[], || {
            ("here".into(), "what".into())
        });
        let r = t.take_records();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].at, "here");
    }

    #[test]
    fn describes_a_gratuitous_arp() {
        let mac = frame::Mac([2, 0, 0, 0, 0, 1]);
        let ip = "198.51.100.200".parse().unwrap();
        let a = Arp {
            op: ArpOp::Request,
            sha: mac,
            spa: ip,
            tha: frame::Mac::ZERO,
            tpa: ip,
        };
        let f = frame::build_eth(frame::Mac::BROADCAST, mac, ETHERTYPE_ARP, &a.encode());
        let d = describe_frame(&f);
        assert!(
            d.contains("who-has 198.51.100.200") && d.contains("[gratuitous]"),
            "{d}"
        );
    }
}
