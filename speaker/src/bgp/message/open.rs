//! OPEN (RFC 4271 §4.2) with capabilities (RFC 5492) and extended optional parameters
//! (RFC 9072).

use std::net::Ipv4Addr;

use super::error::{DecodeError, code, subcode};
use super::reader::Reader;

/// Address family identifiers.
pub mod afi {
    /// IPv4.
    pub const IPV4: u16 = 1;
    /// IPv6.
    pub const IPV6: u16 = 2;
}

/// Subsequent address family identifiers.
pub mod safi {
    /// Unicast.
    pub const UNICAST: u8 = 1;
}

/// AS_TRANS (RFC 6793): the 2-octet stand-in for a 4-octet AS number.
pub const AS_TRANS: u16 = 23456;

/// An OPEN message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open {
    /// The 2-octet "My Autonomous System" field (AS_TRANS for 4-octet ASNs).
    pub my_as: u16,
    /// Proposed hold time, seconds (0, or at least 3).
    pub hold_time: u16,
    /// BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Capabilities, in the order received.
    pub capabilities: Vec<Capability>,
}

/// One capability (RFC 5492).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Capability {
    /// Multiprotocol extensions (RFC 4760), code 1.
    Multiprotocol {
        /// Address family.
        afi: u16,
        /// Subsequent address family.
        safi: u8,
    },
    /// Route refresh (RFC 2918), code 2.
    RouteRefresh,
    /// Extended next hop encoding (RFC 8950), code 5: (NLRI AFI, SAFI, next-hop AFI).
    ExtendedNextHop(Vec<(u16, u16, u16)>),
    /// Graceful restart (RFC 4724), code 64.
    GracefulRestart(GracefulRestart),
    /// 4-octet AS numbers (RFC 6793), code 65.
    FourOctetAs(u32),
    /// Anything else, kept as received.
    Other {
        /// Capability code.
        code: u8,
        /// Value.
        value: Vec<u8>,
    },
}

/// The graceful-restart capability's value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GracefulRestart {
    /// The R bit: the sender has restarted.
    pub restarting: bool,
    /// The N bit (RFC 8538): notifications are handled gracefully too.
    pub notification: bool,
    /// Restart time, seconds (12 bits).
    pub restart_time: u16,
    /// (AFI, SAFI, forwarding state preserved) per family.
    pub families: Vec<(u16, u8, bool)>,
}

impl Open {
    /// The sender's AS: the 4-octet capability's value when present, else the field.
    pub fn asn(&self) -> u32 {
        self.capabilities
            .iter()
            .find_map(|c| match c {
                Capability::FourOctetAs(a) => Some(*a),
                _ => None,
            })
            .unwrap_or_else(|| u32::from(self.my_as))
    }

    /// Whether the sender offers multiprotocol support for (afi, safi).
    pub fn supports(&self, afi_: u16, safi_: u8) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, Capability::Multiprotocol { afi: a, safi: s } if *a == afi_ && *s == safi_))
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(4);
        out.extend_from_slice(&self.my_as.to_be_bytes());
        out.extend_from_slice(&self.hold_time.to_be_bytes());
        out.extend_from_slice(&self.bgp_id.octets());
        let mut caps = Vec::new();
        for c in &self.capabilities {
            c.encode(&mut caps);
        }
        if caps.is_empty() {
            out.push(0);
            return;
        }
        // One Capabilities parameter per capability keeps each under 255 bytes, which
        // every implementation accepts; RFC 9072's extended form only when needed.
        let mut params = Vec::new();
        let mut r = Reader::new(&caps);
        while !r.is_empty() {
            let code = r.u8().unwrap_or_default();
            let len = r.u8().unwrap_or_default();
            let value = r.take(usize::from(len)).unwrap_or_default();
            params.push(2);
            params.push(len + 2);
            params.push(code);
            params.push(len);
            params.extend_from_slice(value);
        }
        if params.len() <= 255 {
            out.push(params.len() as u8);
            out.extend_from_slice(&params);
        } else {
            // RFC 9072: 255, 255, then a 2-octet length and 2-octet parameter lengths.
            let mut ext = Vec::new();
            ext.push(2);
            ext.extend_from_slice(&(caps.len() as u16).to_be_bytes());
            ext.extend_from_slice(&caps);
            out.push(255);
            out.push(255);
            out.extend_from_slice(&(ext.len() as u16).to_be_bytes());
            out.extend_from_slice(&ext);
        }
    }

    pub(crate) fn decode_body(body: &[u8]) -> Result<Self, DecodeError> {
        let open_err = |sub: u8, data: Vec<u8>, why: &str| {
            DecodeError::new(code::OPEN_MESSAGE, sub, data, why)
        };
        let mut r = Reader::new(body);
        let short = || {
            open_err(
                subcode::OPEN_UNSPECIFIC,
                Vec::new(),
                "OPEN shorter than its fixed fields",
            )
        };
        let version = r.u8().ok_or_else(short)?;
        if version != 4 {
            return Err(open_err(
                subcode::UNSUPPORTED_VERSION,
                vec![0, 4],
                &format!("BGP version {version}"),
            ));
        }
        let my_as = r.u16().ok_or_else(short)?;
        let hold_time = r.u16().ok_or_else(short)?;
        if hold_time == 1 || hold_time == 2 {
            return Err(open_err(
                subcode::UNACCEPTABLE_HOLD_TIME,
                Vec::new(),
                &format!("hold time {hold_time} s (must be 0 or at least 3)"),
            ));
        }
        let id = r.u32().ok_or_else(short)?;
        if id == 0 {
            return Err(open_err(
                subcode::BAD_BGP_IDENTIFIER,
                Vec::new(),
                "BGP identifier 0.0.0.0",
            ));
        }
        let opt_len = r.u8().ok_or_else(short)?;
        let malformed = |why: &str| open_err(subcode::OPEN_UNSPECIFIC, Vec::new(), why);
        let mut capabilities = Vec::new();
        let extended = opt_len == 255 && r.remaining() >= 1 && body.get(10) == Some(&255);
        let params = if extended {
            r.u8();
            let len = r
                .u16()
                .ok_or_else(|| malformed("truncated extended optional parameters length"))?;
            r.take(usize::from(len))
                .ok_or_else(|| malformed("optional parameters overrun the OPEN"))?
        } else {
            r.take(usize::from(opt_len))
                .ok_or_else(|| malformed("optional parameters overrun the OPEN"))?
        };
        if !r.is_empty() {
            return Err(malformed("bytes after the optional parameters"));
        }
        let mut p = Reader::new(params);
        while !p.is_empty() {
            let ty = p
                .u8()
                .ok_or_else(|| malformed("truncated optional parameter"))?;
            let len = if extended {
                p.u16()
            } else {
                p.u8().map(u16::from)
            }
            .ok_or_else(|| malformed("truncated optional parameter"))?;
            let value = p
                .take(usize::from(len))
                .ok_or_else(|| malformed("optional parameter overruns its list"))?;
            if ty != 2 {
                return Err(open_err(
                    subcode::UNSUPPORTED_OPTIONAL_PARAMETER,
                    Vec::new(),
                    &format!("optional parameter type {ty}"),
                ));
            }
            let mut c = Reader::new(value);
            while !c.is_empty() {
                let code = c.u8().ok_or_else(|| malformed("truncated capability"))?;
                let len = c.u8().ok_or_else(|| malformed("truncated capability"))?;
                let v = c
                    .take(usize::from(len))
                    .ok_or_else(|| malformed("capability overruns its parameter"))?;
                capabilities.push(
                    Capability::decode(code, v)
                        .ok_or_else(|| malformed(&format!("malformed capability {code}")))?,
                );
            }
        }
        Ok(Self {
            my_as,
            hold_time,
            bgp_id: Ipv4Addr::from(id),
            capabilities,
        })
    }
}

impl Capability {
    fn encode(&self, out: &mut Vec<u8>) {
        let (code, value): (u8, Vec<u8>) = match self {
            Self::Multiprotocol { afi, safi } => {
                let mut v = afi.to_be_bytes().to_vec();
                v.extend_from_slice(&[0, *safi]);
                (1, v)
            }
            Self::RouteRefresh => (2, Vec::new()),
            Self::ExtendedNextHop(list) => {
                let mut v = Vec::new();
                for (a, s, n) in list {
                    v.extend_from_slice(&a.to_be_bytes());
                    v.extend_from_slice(&s.to_be_bytes());
                    v.extend_from_slice(&n.to_be_bytes());
                }
                (5, v)
            }
            Self::GracefulRestart(gr) => {
                let flags = (u16::from(gr.restarting) << 15) | (u16::from(gr.notification) << 14);
                let mut v = (flags | (gr.restart_time & 0x0fff)).to_be_bytes().to_vec();
                for (a, s, f) in &gr.families {
                    v.extend_from_slice(&a.to_be_bytes());
                    v.push(*s);
                    v.push(if *f { 0x80 } else { 0 });
                }
                (64, v)
            }
            Self::FourOctetAs(asn) => (65, asn.to_be_bytes().to_vec()),
            Self::Other { code, value } => (*code, value.clone()),
        };
        out.push(code);
        out.push(value.len() as u8);
        out.extend_from_slice(&value);
    }

    fn decode(code: u8, v: &[u8]) -> Option<Self> {
        let mut r = Reader::new(v);
        let cap = match code {
            1 => {
                let afi = r.u16()?;
                r.u8()?;
                let safi = r.u8()?;
                Self::Multiprotocol { afi, safi }
            }
            2 => Self::RouteRefresh,
            5 => {
                if !v.len().is_multiple_of(6) {
                    return None;
                }
                let mut list = Vec::new();
                while !r.is_empty() {
                    list.push((r.u16()?, r.u16()?, r.u16()?));
                }
                Self::ExtendedNextHop(list)
            }
            64 => {
                let head = r.u16()?;
                if !r.remaining().is_multiple_of(4) {
                    return None;
                }
                let mut families = Vec::new();
                while !r.is_empty() {
                    let afi = r.u16()?;
                    let safi = r.u8()?;
                    let flags = r.u8()?;
                    families.push((afi, safi, flags & 0x80 != 0));
                }
                Self::GracefulRestart(GracefulRestart {
                    restarting: head & 0x8000 != 0,
                    notification: head & 0x4000 != 0,
                    restart_time: head & 0x0fff,
                    families,
                })
            }
            65 => Self::FourOctetAs(r.u32()?),
            _ => {
                return Some(Self::Other {
                    code,
                    value: v.to_vec(),
                });
            }
        };
        // Fixed-size capabilities must be exactly their size.
        if !r.is_empty() {
            return None;
        }
        Some(cap)
    }
}
