//! Reads the node's interfaces from sysfs and `/proc/net/if_inet6` into
//! [`Link`]s for [`crate::interfaces::eligible`]. The same files MetalLB reads
//! (`/sys/class/net/<if>/master`, `flags`), so both judge an interface alike.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::Ipv6Addr;
use std::path::Path;

use ferrolb_wire::Mac;

use crate::interfaces::Link;

const SYS_NET: &str = "/sys/class/net";

/// One interface with its kernel index, which tells a re-created interface of the same
/// name from the old one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SysLink {
    /// What eligibility reads.
    pub link: Link,
    /// `ifindex`.
    pub ifindex: u32,
}

/// Every interface of this network namespace. An interface that disappears while it is
/// being read is left out.
pub fn read() -> io::Result<Vec<SysLink>> {
    let link_locals = link_locals(&fs::read_to_string("/proc/net/if_inet6").unwrap_or_default());
    let mut out = Vec::new();
    for entry in fs::read_dir(SYS_NET)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if let Some(l) = read_one(&entry.path(), &name, &link_locals) {
            out.push(l);
        }
    }
    out.sort_by(|a, b| a.link.name.cmp(&b.link.name));
    Ok(out)
}

fn read_one(dir: &Path, name: &str, link_locals: &BTreeMap<String, Ipv6Addr>) -> Option<SysLink> {
    let text = |f: &str| fs::read_to_string(dir.join(f)).ok();
    let flags = parse_hex(text("flags")?.trim())?;
    let ifindex = text("ifindex")?.trim().parse().ok()?;
    // The kernel refuses to read `carrier` while the interface is down (EINVAL).
    let carrier = text("carrier").and_then(|c| match c.trim() {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    });
    let mac = text("address").and_then(|a| Mac::parse(a.trim()).ok());
    Some(SysLink {
        link: Link {
            name: name.to_owned(),
            flags,
            carrier,
            has_master: dir.join("master").exists(),
            mac,
            link_local: link_locals.get(name).copied(),
        },
        ifindex,
    })
}

fn parse_hex(s: &str) -> Option<u32> {
    u32::from_str_radix(s.trim_start_matches("0x"), 16).ok()
}

/// `IFA_F_TENTATIVE | IFA_F_DADFAILED`: not usable as a source yet (or ever).
const UNUSABLE: u32 = 0x40 | 0x08;

/// The first usable link-local address of each interface, from `/proc/net/if_inet6`
/// (`address ifindex prefixlen scope flags name`, hex without colons).
pub fn link_locals(text: &str) -> BTreeMap<String, Ipv6Addr> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [addr, _, _, scope, flags, name] = f[..] else {
            continue;
        };
        if parse_hex(scope) != Some(0x20) || parse_hex(flags).is_none_or(|f| f & UNUSABLE != 0) {
            continue;
        }
        let Ok(bits) = u128::from_str_radix(addr, 16) else {
            continue;
        };
        if addr.len() == 32 {
            out.entry(name.to_owned())
                .or_insert_with(|| Ipv6Addr::from(bits));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_locals_skip_tentative_global_and_garbage_lines() {
        let text = "\
20010db8000000000000000000000001 02 40 00 80     eth0
fe800000000000000000000000000001 02 40 20 c0     eth0
fe800000000000000000000000000002 02 40 20 80     eth0
fe800000000000000000000000000003 03 40 20 80     eth1
fe800000000000000000000000000004 04 40 20 80
zz800000000000000000000000000005 05 40 20 80     eth3
00000000000000000000000000000001 01 80 10 80       lo
";
        let ll = link_locals(text);
        // eth0's first link-local is still tentative (flag 0x40): the second is used.
        assert_eq!(ll.get("eth0"), Some(&"fe80::2".parse().unwrap()));
        assert_eq!(ll.get("eth1"), Some(&"fe80::3".parse().unwrap()));
        assert_eq!(ll.len(), 2, "{ll:?}");
    }

    #[test]
    fn reads_this_namespaces_loopback() {
        let links = read().expect("sysfs is readable");
        let lo = links
            .iter()
            .find(|l| l.link.name == "lo")
            .expect("lo exists");
        assert_ne!(lo.link.flags & crate::interfaces::IFF_LOOPBACK, 0);
        assert_eq!(lo.ifindex, 1);
    }
}
