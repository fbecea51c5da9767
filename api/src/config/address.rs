//! Address entries of a pool: CIDRs and `start-end` ranges, summarised into CIDRs
//! exactly as MetalLB does (so that "first free address" walks the same order).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// IPv4 or IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self::V4,
            IpAddr::V6(_) => Self::V6,
        }
    }

    /// Address width in bits.
    pub fn bits(self) -> u8 {
        match self {
            Self::V4 => 32,
            Self::V6 => 128,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V4 => "IPv4",
            Self::V6 => "IPv6",
        })
    }
}

/// An address as an integer of its family, for range arithmetic.
pub fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The inverse of [`to_u128`].
pub fn from_u128(family: Family, v: u128) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(v as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(v)),
    }
}

/// Whether old firmware mistakes this address for a network or broadcast address
/// (IPv4 ending in `.0` or `.255`).
pub fn is_buggy(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => matches!(a.octets()[3], 0 | 255),
        IpAddr::V6(_) => false,
    }
}

/// First and last address of a CIDR, as integers.
pub fn bounds(net: &IpNet) -> (u128, u128) {
    (to_u128(net.network()), to_u128(net.broadcast()))
}

/// Why an address entry was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Not a CIDR.
    #[error("invalid CIDR {0:?}")]
    Cidr(String),
    /// Not a valid start address.
    #[error("invalid IP range {0:?}: invalid start IP {1:?}")]
    Start(String, String),
    /// Not a valid end address.
    #[error("invalid IP range {0:?}: invalid end IP {1:?}")]
    End(String, String),
    /// Start after end.
    #[error("invalid IP range {0:?}: start IP {1} is after the end IP {2}")]
    Order(String, IpAddr, IpAddr),
    /// IPv4 start with IPv6 end or the reverse.
    #[error("invalid IP range {0:?}: start and end are of different address families")]
    Mixed(String),
}

/// Parses one `spec.addresses` entry into CIDRs, in ascending order.
///
/// A CIDR with host bits set (`192.0.2.5/24`) means its network, as Go's
/// `net.ParseCIDR` does.
pub fn parse_entry(entry: &str) -> Result<Vec<IpNet>, AddressError> {
    let Some((start, end)) = entry.split_once('-') else {
        let net: IpNet = entry
            .trim()
            .parse()
            .map_err(|_| AddressError::Cidr(entry.to_owned()))?;
        return Ok(vec![net.trunc()]);
    };
    let s: IpAddr = start
        .trim()
        .parse()
        .map_err(|_| AddressError::Start(entry.to_owned(), start.to_owned()))?;
    let e: IpAddr = end
        .trim()
        .parse()
        .map_err(|_| AddressError::End(entry.to_owned(), end.to_owned()))?;
    if Family::of(s) != Family::of(e) {
        return Err(AddressError::Mixed(entry.to_owned()));
    }
    if to_u128(s) > to_u128(e) {
        return Err(AddressError::Order(entry.to_owned(), s, e));
    }
    Ok(summarize(Family::of(s), to_u128(s), to_u128(e)))
}

/// The shortest list of CIDRs covering exactly `start..=end`, ascending.
pub fn summarize(family: Family, start: u128, end: u128) -> Vec<IpNet> {
    let bits = u32::from(family.bits());
    let mut out = Vec::new();
    let mut cur = start;
    loop {
        // Largest block aligned at `cur`...
        let align = if cur == 0 {
            bits
        } else {
            cur.trailing_zeros().min(bits)
        };
        // ...that does not run past `end`.
        let span = end - cur;
        let fit = if span == u128::MAX {
            128
        } else {
            127 - (span + 1).leading_zeros()
        };
        let host_bits = align.min(fit);
        let prefix = (bits - host_bits) as u8;
        out.push(make_net(family, cur, prefix));
        let size_minus_one = if host_bits == 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        let last = cur + size_minus_one;
        if last >= end {
            break;
        }
        cur = last + 1;
    }
    out
}

fn make_net(family: Family, addr: u128, prefix: u8) -> IpNet {
    match family {
        Family::V4 => IpNet::V4(
            Ipv4Net::new(Ipv4Addr::from(addr as u32), prefix).expect("prefix within 0..=32"),
        ),
        Family::V6 => {
            IpNet::V6(Ipv6Net::new(Ipv6Addr::from(addr), prefix).expect("prefix within 0..=128"))
        }
    }
}

/// Number of addresses in a CIDR, saturating at `u128::MAX`.
pub fn size(net: &IpNet) -> u128 {
    let host_bits = u32::from(net.max_prefix_len() - net.prefix_len());
    if host_bits >= 128 {
        u128::MAX
    } else {
        1u128 << host_bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(v: &[&str]) -> Vec<IpNet> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn cidr_entry_is_one_net() {
        assert_eq!(
            parse_entry("192.0.2.0/24").unwrap(),
            nets(&["192.0.2.0/24"])
        );
        assert_eq!(parse_entry(" fc00::/120 ").unwrap(), nets(&["fc00::/120"]));
        assert_eq!(
            parse_entry("192.0.2.5/24").unwrap(),
            nets(&["192.0.2.0/24"])
        );
    }

    #[test]
    fn range_is_summarised_like_metallb() {
        assert_eq!(
            parse_entry("192.168.10.0-192.168.10.255").unwrap(),
            nets(&["192.168.10.0/24"])
        );
        assert_eq!(
            parse_entry("10.0.3.100 - 10.0.3.150").unwrap(),
            nets(&[
                "10.0.3.100/30",
                "10.0.3.104/29",
                "10.0.3.112/28",
                "10.0.3.128/28",
                "10.0.3.144/30",
                "10.0.3.148/31",
                "10.0.3.150/32"
            ])
        );
        assert_eq!(
            parse_entry("1.2.3.4-1.2.3.4").unwrap(),
            nets(&["1.2.3.4/32"])
        );
        assert_eq!(parse_entry("fd00::1-fd00::10").unwrap().len(), 5);
        assert_eq!(
            parse_entry("0.0.0.0-255.255.255.255").unwrap(),
            nets(&["0.0.0.0/0"])
        );
        assert_eq!(
            parse_entry("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").unwrap(),
            nets(&["::/0"])
        );
    }

    #[test]
    fn bad_entries_are_refused() {
        assert!(matches!(
            parse_entry("192.0.2.0/33"),
            Err(AddressError::Cidr(_))
        ));
        assert!(matches!(
            parse_entry("not-an-ip"),
            Err(AddressError::Start(..))
        ));
        assert!(matches!(
            parse_entry("192.0.2.1-x"),
            Err(AddressError::End(..))
        ));
        assert!(matches!(
            parse_entry("192.0.2.9-192.0.2.1"),
            Err(AddressError::Order(..))
        ));
        assert!(matches!(
            parse_entry("192.0.2.1-fd00::1"),
            Err(AddressError::Mixed(_))
        ));
        assert!(matches!(
            parse_entry("192.0.2.1"),
            Err(AddressError::Cidr(_))
        ));
    }

    #[test]
    fn buggy_ips_are_dot_zero_and_dot_255() {
        assert!(is_buggy("10.0.1.0".parse().unwrap()));
        assert!(is_buggy("10.0.1.255".parse().unwrap()));
        assert!(!is_buggy("10.0.1.1".parse().unwrap()));
        assert!(!is_buggy("fd00::ff".parse().unwrap()));
    }

    proptest::proptest! {
        #[test]
        fn summary_covers_exactly_the_range(a in 0u32.., b in 0u32..) {
            let (s, e) = (u128::from(a.min(b)), u128::from(a.max(b)));
            let out = summarize(Family::V4, s, e);
            let mut next = s;
            for n in &out {
                let (lo, hi) = bounds(n);
                proptest::prop_assert_eq!(lo, next);
                next = hi + 1;
            }
            proptest::prop_assert_eq!(next, e + 1);
            proptest::prop_assert!(out.len() <= 62);
        }
    }
}
