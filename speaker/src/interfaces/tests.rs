use super::*;
use crate::announce::L2Announcement;

const ETH: u32 = IFF_UP | IFF_BROADCAST | 0x1000; // UP, BROADCAST, MULTICAST

fn link(name: &str, flags: u32) -> Link {
    Link {
        name: name.to_owned(),
        flags,
        carrier: Some(true),
        has_master: false,
        mac: Some(Mac([2, 0, 0, 0, 0, 1])),
        link_local: Some("fe80::1".parse().unwrap()),
    }
}

#[test]
fn default_patterns_exclude_what_metallb_excludes_and_nothing_else() {
    let ex = ExcludeList::metallb_default();
    for name in [
        "docker0",
        "cbr0",
        "dummy0",
        "virbr0",
        "lxcbr0",
        "veth1a2b",
        "lo",
        "cali123",
        "tunl0",
        "flannel.1",
        "kube-ipvs0",
        "cni0",
        "nodelocaldns",
        "lxc99",
    ] {
        assert!(ex.matches(name), "{name} should be excluded");
    }
    // Anchored: only prefixes, and `lo` exactly.
    for name in [
        "eth0", "ens3", "bond0", "br0", "lo0", "mylo", "xdocker", "wlan0",
    ] {
        assert!(!ex.matches(name), "{name} should not be excluded");
    }
}

#[test]
fn an_empty_list_excludes_nothing_and_a_bad_pattern_is_named() {
    let none = ExcludeList::new([]).unwrap();
    assert!(!none.matches("docker0"));
    let err = ExcludeList::new(["^eth(", "^ok"]).unwrap_err();
    assert_eq!(err.pattern, "^eth(");
    assert!(err.to_string().contains("^eth("), "{err}");
}

#[test]
fn each_rule_rejects_for_its_own_reason() {
    let ex = ExcludeList::metallb_default();
    let cases = [
        (link("veth0", ETH), Some(Ineligible::Excluded)),
        (link("eth0", ETH & !IFF_UP), Some(Ineligible::Down)),
        (
            Link {
                has_master: true,
                ..link("eth1", ETH)
            },
            Some(Ineligible::Enslaved),
        ),
        (link("eth2", ETH | IFF_NOARP), Some(Ineligible::NoArp)),
        (link("tun0", IFF_UP | 0x10), Some(Ineligible::NoBroadcast)),
        (
            Link {
                mac: Some(Mac([0; 6])),
                ..link("eth3", ETH)
            },
            Some(Ineligible::NoMac),
        ),
        (
            Link {
                carrier: Some(false),
                ..link("eth4", ETH)
            },
            Some(Ineligible::NoCarrier),
        ),
        (
            Link {
                carrier: None,
                ..link("eth5", ETH)
            },
            Some(Ineligible::NoCarrier),
        ),
        (link("eth6", ETH), None),
        // An IPv4-only interface is still announced on (ARP).
        (
            Link {
                link_local: None,
                ..link("eth7", ETH)
            },
            None,
        ),
    ];
    for (l, want) in cases {
        assert_eq!(check(&l, &ex), want, "{}", l.name);
    }
}

#[test]
fn eligible_sorts_by_name_and_keeps_existing_names_for_the_announce_check() {
    let ex = ExcludeList::metallb_default();
    let links = vec![
        link("eth1", ETH),
        link("lo", IFF_UP | IFF_LOOPBACK),
        Link {
            carrier: Some(false),
            ..link("eth2", ETH)
        },
        link("eth0", ETH),
        link("dummy0", ETH | IFF_NOARP),
    ];
    let e = eligible(&links, &ex);
    let names: Vec<&str> = e.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["eth0", "eth1"]);
    // Down or carrier-less interfaces exist (no announceFailed); excluded ones do not.
    assert_eq!(
        e.existing.iter().map(String::as_str).collect::<Vec<_>>(),
        ["eth0", "eth1", "eth2"]
    );
    assert_eq!(e.skipped.get("eth2"), Some(&Ineligible::NoCarrier));
    assert_eq!(e.skipped.get("lo"), Some(&Ineligible::Excluded));
    assert_eq!(e.skipped.get("dummy0"), Some(&Ineligible::Excluded));
    // Without the default list, `lo` is refused for having no BROADCAST flag.
    let e = eligible(&links, &ExcludeList::new([]).unwrap());
    assert_eq!(e.skipped.get("lo"), Some(&Ineligible::NoBroadcast));
    assert_eq!(e.skipped.get("dummy0"), Some(&Ineligible::NoArp));
}

#[test]
fn announce_failures_only_when_every_named_interface_is_missing() {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
    let mut ann = Announcements::default();
    ann.layer2.insert(
        ip("192.0.2.10"),
        L2Announcement {
            interfaces: set(&["eth9"]),
            services: set(&["default/a"]),
        },
    );
    ann.layer2.insert(
        ip("192.0.2.11"),
        L2Announcement {
            interfaces: set(&["eth9", "eth0"]),
            services: set(&["default/b"]),
        },
    );
    ann.layer2.insert(
        ip("192.0.2.12"),
        L2Announcement {
            interfaces: BTreeSet::new(),
            services: set(&["default/c"]),
        },
    );
    let f = announce_failures(&ann, &set(&["eth0", "eth1"]));
    assert_eq!(
        f,
        vec![AnnounceFailure {
            ip: ip("192.0.2.10"),
            interfaces: set(&["eth9"]),
            services: set(&["default/a"]),
        }]
    );
    assert!(announce_failures(&ann, &set(&["eth9"])).is_empty());
}
