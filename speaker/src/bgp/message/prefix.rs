//! NLRI prefixes: a length in bits followed by the fewest bytes holding them.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::reader::Reader;

/// Appends one prefix in NLRI encoding.
pub(crate) fn encode(net: &IpNet, out: &mut Vec<u8>) {
    let len = net.prefix_len();
    out.push(len);
    let bytes = usize::from(len).div_ceil(8);
    match net {
        IpNet::V4(n) => out.extend_from_slice(&n.network().octets()[..bytes]),
        IpNet::V6(n) => out.extend_from_slice(&n.network().octets()[..bytes]),
    }
}

/// Decodes prefixes of one family until `buf` ends; `None` on a length beyond the
/// family's width or a truncated prefix. Host bits set in the last byte are cleared, as
/// routers do.
pub(crate) fn decode_all(buf: &[u8], v6: bool) -> Option<Vec<IpNet>> {
    let mut r = Reader::new(buf);
    let mut out = Vec::new();
    let max = if v6 { 128 } else { 32 };
    while !r.is_empty() {
        let len = r.u8()?;
        if len > max {
            return None;
        }
        let bytes = r.take(usize::from(len).div_ceil(8))?;
        if v6 {
            let mut o = [0u8; 16];
            o[..bytes.len()].copy_from_slice(bytes);
            out.push(IpNet::V6(
                Ipv6Net::new(Ipv6Addr::from(o), len).ok()?.trunc(),
            ));
        } else {
            let mut o = [0u8; 4];
            o[..bytes.len()].copy_from_slice(bytes);
            out.push(IpNet::V4(
                Ipv4Net::new(Ipv4Addr::from(o), len).ok()?.trunc(),
            ));
        }
    }
    Some(out)
}
