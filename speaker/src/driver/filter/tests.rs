use std::net::{Ipv4Addr, Ipv6Addr};

use ferrolb_wire::{Arp, ArpOp, ETHERTYPE_IPV4, Mac, Nd, build_eth};

use super::*;

/// Runs the program the way the kernel does, for the instructions it uses: the
/// accepted length, or 0 for a drop. Out-of-frame loads drop, as in the kernel.
fn run(frame: &[u8], pkttype: u32) -> u32 {
    let mut a: u32 = 0;
    let mut pc = 0usize;
    for _ in 0..PROGRAM.len() {
        let i = PROGRAM[pc];
        let load = |off: u32, n: usize| -> Option<u32> {
            if off == PKTTYPE {
                return Some(pkttype);
            }
            let b = frame.get(off as usize..off as usize + n)?;
            Some(b.iter().fold(0u32, |acc, x| (acc << 8) | u32::from(*x)))
        };
        pc += 1;
        match i.code {
            LD_W_ABS | LD_H_ABS | LD_B_ABS => {
                let n = match i.code {
                    LD_W_ABS => 4,
                    LD_H_ABS => 2,
                    _ => 1,
                };
                match load(i.k, n) {
                    Some(v) => a = v,
                    None => return 0,
                }
            }
            JEQ_K => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
            RET_K => return i.k,
            other => panic!("opcode {other:#x} not modelled"),
        }
    }
    panic!("program fell off its end")
}

const US: Mac = Mac([2, 0, 0, 0, 0, 1]);
const THEM: Mac = Mac([2, 0, 0, 0, 0, 2]);

fn arp_request() -> Vec<u8> {
    let arp = Arp {
        op: ArpOp::Request,
        sha: THEM,
        spa: Ipv4Addr::new(192, 0, 2, 1),
        tha: Mac([0; 6]),
        tpa: Ipv4Addr::new(192, 0, 2, 10),
    };
    build_eth(Mac([0xff; 6]), THEM, ETHERTYPE_ARP, &arp.encode())
}

fn nd(msg: &Nd) -> Vec<u8> {
    let src: Ipv6Addr = "fe80::2".parse().unwrap();
    let dst: Ipv6Addr = "ff02::1:ff00:10".parse().unwrap();
    build_eth(
        Mac::ipv6_multicast(dst),
        THEM,
        ETHERTYPE_IPV6,
        &msg.build(src, dst),
    )
}

fn target() -> Ipv6Addr {
    "2001:db8::10".parse().unwrap()
}

#[test]
fn passes_incoming_arp_and_neighbour_discovery_only() {
    let ns = nd(&Nd::Solicit {
        target: target(),
        sllao: Some(THEM),
    });
    let na = nd(&Nd::Advert {
        target: target(),
        router: false,
        solicited: false,
        override_: true,
        tllao: Some(THEM),
    });
    for (f, name) in [(&arp_request(), "ARP"), (&ns, "NS"), (&na, "NA")] {
        assert_eq!(run(f, 0), 0xffff, "{name} from another host passes");
        assert_eq!(run(f, 1), 0xffff, "{name} to broadcast passes");
        assert_eq!(run(f, PACKET_OUTGOING), 0, "our own {name} is dropped");
    }
    assert_eq!(classify(&arp_request()), FrameKind::Arp);
    assert_eq!(classify(&ns), FrameKind::NeighbourDiscovery);
    assert_eq!(classify(&na), FrameKind::NeighbourDiscovery);
}

#[test]
fn drops_other_traffic_and_short_frames() {
    // IPv4, an ICMPv6 echo request (type 128), UDP over IPv6, and runts.
    let v4 = build_eth(US, THEM, ETHERTYPE_IPV4, &[0x45; 40]);
    assert_eq!(run(&v4, 0), 0);
    let mut echo = nd(&Nd::Solicit {
        target: target(),
        sllao: None,
    });
    echo[54] = 128;
    assert_eq!(run(&echo, 0), 0);
    let mut udp6 = echo.clone();
    udp6[20] = 17;
    assert_eq!(run(&udp6, 0), 0);
    assert_eq!(run(&[0u8; 10], 0), 0);
    assert_eq!(run(&echo[..40], 0), 0, "IPv6 cut before the ICMPv6 type");
}

#[test]
fn classify_counts_what_passes_the_filter_but_does_not_parse() {
    // Right ethertype and ICMPv6 type, broken checksum: the kernel filter cannot tell.
    let mut ns = nd(&Nd::Solicit {
        target: target(),
        sllao: Some(THEM),
    });
    assert_eq!(run(&ns, 0), 0xffff);
    let last = ns.len() - 1;
    ns[last] ^= 0xff;
    assert_eq!(classify(&ns), FrameKind::Unknown);
    let mut arp = arp_request();
    arp.truncate(20);
    assert_eq!(classify(&arp), FrameKind::Unknown);
    assert_eq!(classify(&[]), FrameKind::Unknown);
    assert_eq!(
        classify(&build_eth(US, THEM, ETHERTYPE_IPV4, &[0; 20])),
        FrameKind::Unknown
    );
}

proptest::proptest! {
    /// Whatever arrives, classifying it does not panic, and everything the user-space
    /// check accepts also passes the kernel filter (the filter never hides a frame the
    /// core could use). Frames start from real ARP / NS ones with bytes overwritten, so
    /// both accepted and refused frames are reached.
    #[test]
    fn classify_never_panics_and_agrees_with_the_filter(
        base in 0usize..3,
        edits in proptest::collection::vec((0usize..90, proptest::num::u8::ANY), 0..4),
        cut in 0usize..100,
    ) {
        let mut f = match base {
            0 => arp_request(),
            1 => nd(&Nd::Solicit { target: target(), sllao: Some(THEM) }),
            _ => nd(&Nd::Advert {
                target: target(),
                router: false,
                solicited: true,
                override_: false,
                tllao: Some(THEM),
            }),
        };
        for (at, v) in edits {
            if let Some(b) = f.get_mut(at) {
                *b = v;
            }
        }
        f.truncate(cut.max(1));
        let kind = classify(&f);
        if kind != FrameKind::Unknown {
            proptest::prop_assert_eq!(run(&f, 0), 0xffff, "{:?} accepted but filtered", kind);
        }
    }
}
