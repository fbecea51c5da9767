//! UPDATE (RFC 4271 §4.3) with MP_REACH / MP_UNREACH (RFC 4760), 4-octet AS_PATH
//! (RFC 6793), COMMUNITIES (RFC 1997) and LARGE_COMMUNITY (RFC 8092); errors handled
//! per RFC 7606: what can be contained is "treat-as-withdraw", what cannot resets the
//! session.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net};

use super::error::{DecodeError, TreatAsWithdraw, code, subcode};
use super::open::{afi, safi};
use super::prefix;
use super::reader::Reader;

/// Path attribute type codes.
pub mod attr {
    /// ORIGIN.
    pub const ORIGIN: u8 = 1;
    /// AS_PATH.
    pub const AS_PATH: u8 = 2;
    /// NEXT_HOP.
    pub const NEXT_HOP: u8 = 3;
    /// MULTI_EXIT_DISC.
    pub const MED: u8 = 4;
    /// LOCAL_PREF.
    pub const LOCAL_PREF: u8 = 5;
    /// ATOMIC_AGGREGATE.
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// AGGREGATOR.
    pub const AGGREGATOR: u8 = 7;
    /// COMMUNITIES.
    pub const COMMUNITIES: u8 = 8;
    /// MP_REACH_NLRI.
    pub const MP_REACH: u8 = 14;
    /// MP_UNREACH_NLRI.
    pub const MP_UNREACH: u8 = 15;
    /// LARGE_COMMUNITY.
    pub const LARGE_COMMUNITY: u8 = 32;
}

const OPTIONAL: u8 = 0x80;
const TRANSITIVE: u8 = 0x40;
const PARTIAL: u8 = 0x20;
const EXTENDED: u8 = 0x10;

/// ORIGIN values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Learned from an IGP (what a load balancer announces).
    Igp = 0,
    /// Learned from EGP.
    Egp = 1,
    /// Learned some other way.
    Incomplete = 2,
}

/// One AS_PATH segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// AS_SET (unordered).
    Set(Vec<u32>),
    /// AS_SEQUENCE (ordered, nearest first).
    Sequence(Vec<u32>),
    /// AS_CONFED_SEQUENCE (RFC 5065).
    ConfedSequence(Vec<u32>),
    /// AS_CONFED_SET (RFC 5065).
    ConfedSet(Vec<u32>),
}

/// MP_REACH_NLRI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MpReach {
    /// AFI.
    pub afi: u16,
    /// SAFI.
    pub safi: u8,
    /// Next hops: one address, or an IPv6 global and link-local pair.
    pub next_hops: Vec<IpAddr>,
    /// Reachable prefixes.
    pub nlri: Vec<IpNet>,
}

/// MP_UNREACH_NLRI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MpUnreach {
    /// AFI.
    pub afi: u16,
    /// SAFI.
    pub safi: u8,
    /// Withdrawn prefixes.
    pub withdrawn: Vec<IpNet>,
}

/// An attribute this codec does not interpret, kept as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawAttribute {
    /// Flags (optional, transitive, partial; the extended-length bit is recomputed).
    pub flags: u8,
    /// Type code.
    pub type_code: u8,
    /// Value.
    pub value: Vec<u8>,
}

/// An UPDATE message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// Withdrawn IPv4 unicast prefixes.
    pub withdrawn: Vec<Ipv4Net>,
    /// ORIGIN.
    pub origin: Option<Origin>,
    /// AS_PATH segments.
    pub as_path: Option<Vec<Segment>>,
    /// NEXT_HOP (IPv4 unicast NLRI).
    pub next_hop: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF (iBGP).
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE.
    pub atomic_aggregate: bool,
    /// AGGREGATOR (AS, address).
    pub aggregator: Option<(u32, Ipv4Addr)>,
    /// COMMUNITIES, in order.
    pub communities: Vec<u32>,
    /// LARGE_COMMUNITY values, in order.
    pub large_communities: Vec<(u32, u32, u32)>,
    /// MP_REACH_NLRI.
    pub mp_reach: Option<MpReach>,
    /// MP_UNREACH_NLRI.
    pub mp_unreach: Option<MpUnreach>,
    /// Attributes not interpreted here.
    pub other: Vec<RawAttribute>,
    /// IPv4 unicast NLRI.
    pub nlri: Vec<Ipv4Net>,
    /// Set on decode when RFC 7606 says to treat the routes as withdrawn.
    pub treat_as_withdraw: Option<TreatAsWithdraw>,
}

/// How to read AS numbers in AS_PATH and AGGREGATOR: 4 octets once both sides sent the
/// 4-octet AS capability (RFC 6793), else 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Codec {
    /// 4-octet AS numbers negotiated.
    pub four_octet_as: bool,
}

impl Default for Codec {
    fn default() -> Self {
        Self {
            four_octet_as: true,
        }
    }
}

fn attr_header(flags: u8, type_code: u8, len: usize, out: &mut Vec<u8>) {
    if len > 255 {
        out.push(flags | EXTENDED);
        out.push(type_code);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(flags & !EXTENDED);
        out.push(type_code);
        out.push(len as u8);
    }
}

fn put_attr(flags: u8, type_code: u8, value: &[u8], out: &mut Vec<u8>) {
    attr_header(flags, type_code, value.len(), out);
    out.extend_from_slice(value);
}

impl Update {
    /// Whether this UPDATE is an End-of-RIB marker (RFC 4724): an empty IPv4 UPDATE, or
    /// one with only an empty MP_UNREACH.
    pub fn is_end_of_rib(&self) -> Option<(u16, u8)> {
        let nothing_else = self.withdrawn.is_empty()
            && self.nlri.is_empty()
            && self.origin.is_none()
            && self.as_path.is_none()
            && self.mp_reach.is_none()
            && self.other.is_empty()
            && self.communities.is_empty();
        if !nothing_else {
            return None;
        }
        match &self.mp_unreach {
            None => Some((afi::IPV4, safi::UNICAST)),
            Some(u) if u.withdrawn.is_empty() => Some((u.afi, u.safi)),
            Some(_) => None,
        }
    }

    /// The End-of-RIB marker for a family.
    pub fn end_of_rib(afi_: u16, safi_: u8) -> Self {
        if afi_ == afi::IPV4 && safi_ == safi::UNICAST {
            return Self::default();
        }
        Self {
            mp_unreach: Some(MpUnreach {
                afi: afi_,
                safi: safi_,
                withdrawn: Vec::new(),
            }),
            ..Self::default()
        }
    }

    pub(crate) fn encode_body(&self, codec: Codec, out: &mut Vec<u8>) {
        let mut withdrawn = Vec::new();
        for n in &self.withdrawn {
            prefix::encode(&IpNet::V4(*n), &mut withdrawn);
        }
        out.extend_from_slice(&(withdrawn.len() as u16).to_be_bytes());
        out.extend_from_slice(&withdrawn);
        let mut a = Vec::new();
        // Attributes in ascending type order (RFC 4271 §5 recommends it).
        if let Some(o) = self.origin {
            put_attr(TRANSITIVE, attr::ORIGIN, &[o as u8], &mut a);
        }
        if let Some(path) = &self.as_path {
            let mut v = Vec::new();
            for seg in path {
                let (ty, asns) = match seg {
                    Segment::Set(x) => (1, x),
                    Segment::Sequence(x) => (2, x),
                    Segment::ConfedSequence(x) => (3, x),
                    Segment::ConfedSet(x) => (4, x),
                };
                for chunk in asns.chunks(255) {
                    v.push(ty);
                    v.push(chunk.len() as u8);
                    for asn in chunk {
                        if codec.four_octet_as {
                            v.extend_from_slice(&asn.to_be_bytes());
                        } else {
                            let two = u16::try_from(*asn).unwrap_or(super::open::AS_TRANS);
                            v.extend_from_slice(&two.to_be_bytes());
                        }
                    }
                }
            }
            put_attr(TRANSITIVE, attr::AS_PATH, &v, &mut a);
        }
        if let Some(nh) = self.next_hop {
            put_attr(TRANSITIVE, attr::NEXT_HOP, &nh.octets(), &mut a);
        }
        if let Some(m) = self.med {
            put_attr(OPTIONAL, attr::MED, &m.to_be_bytes(), &mut a);
        }
        if let Some(lp) = self.local_pref {
            put_attr(TRANSITIVE, attr::LOCAL_PREF, &lp.to_be_bytes(), &mut a);
        }
        if self.atomic_aggregate {
            put_attr(TRANSITIVE, attr::ATOMIC_AGGREGATE, &[], &mut a);
        }
        if let Some((asn, ip)) = self.aggregator {
            let mut v = Vec::new();
            if codec.four_octet_as {
                v.extend_from_slice(&asn.to_be_bytes());
            } else {
                v.extend_from_slice(
                    &u16::try_from(asn)
                        .unwrap_or(super::open::AS_TRANS)
                        .to_be_bytes(),
                );
            }
            v.extend_from_slice(&ip.octets());
            put_attr(OPTIONAL | TRANSITIVE, attr::AGGREGATOR, &v, &mut a);
        }
        if !self.communities.is_empty() {
            let v: Vec<u8> = self
                .communities
                .iter()
                .flat_map(|c| c.to_be_bytes())
                .collect();
            put_attr(OPTIONAL | TRANSITIVE, attr::COMMUNITIES, &v, &mut a);
        }
        if let Some(mp) = &self.mp_reach {
            let mut v = mp.afi.to_be_bytes().to_vec();
            v.push(mp.safi);
            let mut nh = Vec::new();
            for ip in &mp.next_hops {
                match ip {
                    IpAddr::V4(x) => nh.extend_from_slice(&x.octets()),
                    IpAddr::V6(x) => nh.extend_from_slice(&x.octets()),
                }
            }
            v.push(nh.len() as u8);
            v.extend_from_slice(&nh);
            v.push(0);
            for n in &mp.nlri {
                prefix::encode(n, &mut v);
            }
            put_attr(OPTIONAL, attr::MP_REACH, &v, &mut a);
        }
        if let Some(mp) = &self.mp_unreach {
            let mut v = mp.afi.to_be_bytes().to_vec();
            v.push(mp.safi);
            for n in &mp.withdrawn {
                prefix::encode(n, &mut v);
            }
            put_attr(OPTIONAL, attr::MP_UNREACH, &v, &mut a);
        }
        if !self.large_communities.is_empty() {
            let v: Vec<u8> = self
                .large_communities
                .iter()
                .flat_map(|(x, y, z)| [x.to_be_bytes(), y.to_be_bytes(), z.to_be_bytes()].concat())
                .collect();
            put_attr(OPTIONAL | TRANSITIVE, attr::LARGE_COMMUNITY, &v, &mut a);
        }
        for raw in &self.other {
            put_attr(raw.flags, raw.type_code, &raw.value, &mut a);
        }
        out.extend_from_slice(&(a.len() as u16).to_be_bytes());
        out.extend_from_slice(&a);
        for n in &self.nlri {
            prefix::encode(&IpNet::V4(*n), out);
        }
    }

    pub(crate) fn decode_body(body: &[u8], codec: Codec) -> Result<Self, DecodeError> {
        let malformed_list = |why: &str| {
            DecodeError::new(
                code::UPDATE_MESSAGE,
                subcode::MALFORMED_ATTRIBUTE_LIST,
                Vec::new(),
                why,
            )
        };
        let mut r = Reader::new(body);
        let wlen = r
            .u16()
            .ok_or_else(|| malformed_list("truncated withdrawn routes length"))?;
        let wbytes = r
            .take(usize::from(wlen))
            .ok_or_else(|| malformed_list("withdrawn routes overrun the UPDATE"))?;
        let alen = r
            .u16()
            .ok_or_else(|| malformed_list("truncated path attribute length"))?;
        let abytes = r
            .take(usize::from(alen))
            .ok_or_else(|| malformed_list("path attributes overrun the UPDATE"))?;
        let nbytes = r.rest();
        let bad_network = |why: &str| {
            DecodeError::new(
                code::UPDATE_MESSAGE,
                subcode::INVALID_NETWORK_FIELD,
                Vec::new(),
                why,
            )
        };
        let v4 = |nets: Vec<IpNet>| -> Vec<Ipv4Net> {
            nets.into_iter()
                .filter_map(|n| match n {
                    IpNet::V4(x) => Some(x),
                    IpNet::V6(_) => None,
                })
                .collect()
        };
        let mut u = Self {
            withdrawn: v4(prefix::decode_all(wbytes, false)
                .ok_or_else(|| bad_network("malformed withdrawn prefix"))?),
            nlri: v4(prefix::decode_all(nbytes, false)
                .ok_or_else(|| bad_network("malformed NLRI prefix"))?),
            ..Self::default()
        };
        let mut seen = [false; 256];
        let mut a = Reader::new(abytes);
        while !a.is_empty() {
            let flags = a
                .u8()
                .ok_or_else(|| malformed_list("truncated attribute header"))?;
            let ty = a
                .u8()
                .ok_or_else(|| malformed_list("truncated attribute header"))?;
            let len = if flags & EXTENDED != 0 {
                a.u16()
            } else {
                a.u8().map(u16::from)
            }
            .ok_or_else(|| malformed_list("truncated attribute length"))?;
            let value = a.take(usize::from(len)).ok_or_else(|| {
                malformed_list(&format!("attribute {ty} overruns the attribute list"))
            })?;
            if seen[usize::from(ty)] {
                if ty == attr::MP_REACH || ty == attr::MP_UNREACH {
                    return Err(malformed_list(&format!("attribute {ty} appears twice")));
                }
                continue; // RFC 7606 §3(g): keep the first, discard the rest.
            }
            seen[usize::from(ty)] = true;
            u.decode_attribute(flags, ty, value, codec)?;
        }
        let reaches = !u.nlri.is_empty();
        if reaches && u.treat_as_withdraw.is_none() {
            for (ty, present) in [
                (attr::ORIGIN, u.origin.is_some()),
                (attr::AS_PATH, u.as_path.is_some()),
                (attr::NEXT_HOP, u.next_hop.is_some()),
            ] {
                if !present {
                    u.withdraw(
                        ty,
                        subcode::MISSING_WELL_KNOWN,
                        format!("missing well-known attribute {ty}"),
                    );
                }
            }
        }
        if u.mp_reach.is_some()
            && u.treat_as_withdraw.is_none()
            && (u.origin.is_none() || u.as_path.is_none())
        {
            u.withdraw(
                attr::ORIGIN,
                subcode::MISSING_WELL_KNOWN,
                "MP_REACH_NLRI without ORIGIN or AS_PATH".into(),
            );
        }
        Ok(u)
    }

    fn withdraw(&mut self, attribute: u8, subcode: u8, reason: String) {
        if self.treat_as_withdraw.is_none() {
            self.treat_as_withdraw = Some(TreatAsWithdraw {
                attribute,
                subcode,
                reason,
            });
        }
    }

    fn decode_attribute(
        &mut self,
        flags: u8,
        ty: u8,
        v: &[u8],
        codec: Codec,
    ) -> Result<(), DecodeError> {
        let class = flags & (OPTIONAL | TRANSITIVE);
        let expect = |want: u8| class == want;
        let asn_len = if codec.four_octet_as { 4 } else { 2 };
        match ty {
            attr::ORIGIN => {
                if !expect(TRANSITIVE) {
                    self.withdraw(ty, subcode::ATTRIBUTE_FLAGS, "ORIGIN flags".into());
                } else if v.len() != 1 {
                    self.withdraw(
                        ty,
                        subcode::ATTRIBUTE_LENGTH,
                        format!("ORIGIN length {}", v.len()),
                    );
                } else {
                    self.origin = Some(match v[0] {
                        0 => Origin::Igp,
                        1 => Origin::Egp,
                        2 => Origin::Incomplete,
                        x => {
                            self.withdraw(ty, subcode::INVALID_ORIGIN, format!("ORIGIN value {x}"));
                            return Ok(());
                        }
                    });
                }
            }
            attr::AS_PATH => {
                if !expect(TRANSITIVE) {
                    self.withdraw(ty, subcode::ATTRIBUTE_FLAGS, "AS_PATH flags".into());
                    return Ok(());
                }
                let mut r = Reader::new(v);
                let mut segs = Vec::new();
                while !r.is_empty() {
                    let (Some(st), Some(n)) = (r.u8(), r.u8()) else {
                        self.withdraw(
                            ty,
                            subcode::MALFORMED_AS_PATH,
                            "truncated AS_PATH segment".into(),
                        );
                        return Ok(());
                    };
                    let Some(raw) = r.take(usize::from(n) * asn_len).filter(|_| n > 0) else {
                        self.withdraw(
                            ty,
                            subcode::MALFORMED_AS_PATH,
                            "AS_PATH segment length".into(),
                        );
                        return Ok(());
                    };
                    let asns: Vec<u32> = raw
                        .chunks(asn_len)
                        .map(|c| {
                            if asn_len == 4 {
                                u32::from_be_bytes([c[0], c[1], c[2], c[3]])
                            } else {
                                u32::from(u16::from_be_bytes([c[0], c[1]]))
                            }
                        })
                        .collect();
                    segs.push(match st {
                        1 => Segment::Set(asns),
                        2 => Segment::Sequence(asns),
                        3 => Segment::ConfedSequence(asns),
                        4 => Segment::ConfedSet(asns),
                        x => {
                            self.withdraw(
                                ty,
                                subcode::MALFORMED_AS_PATH,
                                format!("AS_PATH segment type {x}"),
                            );
                            return Ok(());
                        }
                    });
                }
                self.as_path = Some(segs);
            }
            attr::NEXT_HOP => {
                if !expect(TRANSITIVE) {
                    self.withdraw(ty, subcode::ATTRIBUTE_FLAGS, "NEXT_HOP flags".into());
                } else if v.len() != 4 {
                    self.withdraw(
                        ty,
                        subcode::ATTRIBUTE_LENGTH,
                        format!("NEXT_HOP length {}", v.len()),
                    );
                } else {
                    self.next_hop = Some(Ipv4Addr::new(v[0], v[1], v[2], v[3]));
                }
            }
            attr::MED | attr::LOCAL_PREF => {
                let want = if ty == attr::MED {
                    OPTIONAL
                } else {
                    TRANSITIVE
                };
                if !expect(want) {
                    self.withdraw(
                        ty,
                        subcode::ATTRIBUTE_FLAGS,
                        format!("attribute {ty} flags"),
                    );
                } else if v.len() != 4 {
                    self.withdraw(
                        ty,
                        subcode::ATTRIBUTE_LENGTH,
                        format!("attribute {ty} length {}", v.len()),
                    );
                } else {
                    let x = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
                    if ty == attr::MED {
                        self.med = Some(x);
                    } else {
                        self.local_pref = Some(x);
                    }
                }
            }
            // RFC 7606 §7.6-7.7: malformed ATOMIC_AGGREGATE / AGGREGATOR are discarded.
            attr::ATOMIC_AGGREGATE => self.atomic_aggregate = v.is_empty() && expect(TRANSITIVE),
            attr::AGGREGATOR => {
                if expect(OPTIONAL | TRANSITIVE) && v.len() == asn_len + 4 {
                    let asn = if asn_len == 4 {
                        u32::from_be_bytes([v[0], v[1], v[2], v[3]])
                    } else {
                        u32::from(u16::from_be_bytes([v[0], v[1]]))
                    };
                    let ip = &v[asn_len..];
                    self.aggregator = Some((asn, Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3])));
                }
            }
            attr::COMMUNITIES => {
                if !expect(OPTIONAL | TRANSITIVE) {
                    self.withdraw(ty, subcode::ATTRIBUTE_FLAGS, "COMMUNITIES flags".into());
                } else if v.is_empty() || !v.len().is_multiple_of(4) {
                    self.withdraw(
                        ty,
                        subcode::OPTIONAL_ATTRIBUTE,
                        format!("COMMUNITIES length {}", v.len()),
                    );
                } else {
                    self.communities = v
                        .chunks(4)
                        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                        .collect();
                }
            }
            attr::LARGE_COMMUNITY => {
                if !expect(OPTIONAL | TRANSITIVE) {
                    self.withdraw(ty, subcode::ATTRIBUTE_FLAGS, "LARGE_COMMUNITY flags".into());
                } else if v.is_empty() || !v.len().is_multiple_of(12) {
                    self.withdraw(
                        ty,
                        subcode::OPTIONAL_ATTRIBUTE,
                        format!("LARGE_COMMUNITY length {}", v.len()),
                    );
                } else {
                    self.large_communities = v
                        .chunks(12)
                        .map(|c| {
                            let w =
                                |i: usize| u32::from_be_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
                            (w(0), w(4), w(8))
                        })
                        .collect();
                }
            }
            attr::MP_REACH => self.mp_reach = Some(decode_mp_reach(v)?),
            attr::MP_UNREACH => self.mp_unreach = Some(decode_mp_unreach(v)?),
            _ => {
                if flags & OPTIONAL == 0 {
                    return Err(DecodeError::new(
                        code::UPDATE_MESSAGE,
                        subcode::UNRECOGNIZED_WELL_KNOWN,
                        attribute_bytes(flags, ty, v),
                        format!("unrecognized well-known attribute {ty}"),
                    ));
                }
                // Unknown optional transitive attributes travel on with Partial set;
                // unknown optional non-transitive ones are dropped (RFC 4271 §5).
                if flags & TRANSITIVE != 0 {
                    self.other.push(RawAttribute {
                        flags: (flags & !EXTENDED) | PARTIAL,
                        type_code: ty,
                        value: v.to_vec(),
                    });
                }
            }
        }
        Ok(())
    }
}

fn attribute_bytes(flags: u8, ty: u8, v: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_attr(flags, ty, v, &mut out);
    out
}

fn mp_error(why: &str) -> DecodeError {
    // RFC 7606 §7.11: an MP_REACH/MP_UNREACH that cannot be parsed leaves nothing to
    // withdraw safely; reset the session.
    DecodeError::new(
        code::UPDATE_MESSAGE,
        subcode::OPTIONAL_ATTRIBUTE,
        Vec::new(),
        why,
    )
}

fn decode_mp_reach(v: &[u8]) -> Result<MpReach, DecodeError> {
    let mut r = Reader::new(v);
    let afi_ = r.u16().ok_or_else(|| mp_error("truncated MP_REACH_NLRI"))?;
    let safi_ = r.u8().ok_or_else(|| mp_error("truncated MP_REACH_NLRI"))?;
    let nh_len = r.u8().ok_or_else(|| mp_error("truncated MP_REACH_NLRI"))?;
    let nh = r
        .take(usize::from(nh_len))
        .ok_or_else(|| mp_error("MP_REACH_NLRI next hop overruns"))?;
    r.u8().ok_or_else(|| mp_error("truncated MP_REACH_NLRI"))?;
    let next_hops = match nh.len() {
        4 => vec![IpAddr::V4(Ipv4Addr::new(nh[0], nh[1], nh[2], nh[3]))],
        16 | 32 => nh
            .chunks(16)
            .map(|c| {
                let mut o = [0u8; 16];
                o.copy_from_slice(c);
                IpAddr::V6(Ipv6Addr::from(o))
            })
            .collect(),
        n => return Err(mp_error(&format!("MP_REACH_NLRI next hop length {n}"))),
    };
    let nlri = match afi_ {
        afi::IPV4 | afi::IPV6 => prefix::decode_all(r.rest(), afi_ == afi::IPV6)
            .ok_or_else(|| mp_error("malformed MP_REACH_NLRI prefix"))?,
        _ => {
            r.rest();
            Vec::new()
        }
    };
    Ok(MpReach {
        afi: afi_,
        safi: safi_,
        next_hops,
        nlri,
    })
}

fn decode_mp_unreach(v: &[u8]) -> Result<MpUnreach, DecodeError> {
    let mut r = Reader::new(v);
    let afi_ = r
        .u16()
        .ok_or_else(|| mp_error("truncated MP_UNREACH_NLRI"))?;
    let safi_ = r
        .u8()
        .ok_or_else(|| mp_error("truncated MP_UNREACH_NLRI"))?;
    let withdrawn = match afi_ {
        afi::IPV4 | afi::IPV6 => prefix::decode_all(r.rest(), afi_ == afi::IPV6)
            .ok_or_else(|| mp_error("malformed MP_UNREACH_NLRI prefix"))?,
        _ => Vec::new(),
    };
    Ok(MpUnreach {
        afi: afi_,
        safi: safi_,
        withdrawn,
    })
}
