//! The datagram codec: a versioned, length-checked binary encoding authenticated with
//! HMAC-SHA256. The layout is documented in `members/README.md`; every length is checked
//! before it is used, so a hostile or corrupted datagram is an error value, never a
//! panic or an out-of-bounds read.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

type HmacSha256 = Hmac<Sha256>;

/// The only version this code speaks. A datagram with another version is dropped and
/// counted, so that a rolling upgrade to a future version is visible in metrics.
pub const VERSION: u8 = 1;
/// Length of the HMAC-SHA256 tag at the end of every datagram.
pub const TAG_LEN: usize = 32;
/// Longest member name (the length is one byte on the wire; DNS names fit).
pub const MAX_NAME_LEN: usize = 255;
/// Longest member metadata (one length byte on the wire). Every full-state sync
/// carries every member's metadata, so it is kept small.
pub const MAX_META_LEN: usize = 255;

/// Version byte, kind byte, sender-name length byte, update count (u16), tag.
const FIXED_OVERHEAD: usize = 1 + 1 + 1 + 2 + TAG_LEN;

/// What went wrong with a datagram. Each variant maps to a counter.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum WireError {
    /// Shorter than the smallest possible datagram.
    #[error("datagram too short ({0} bytes)")]
    TooShort(usize),
    /// A version this code does not speak.
    #[error("unsupported version {0}")]
    BadVersion(u8),
    /// The tag does not match: wrong key, corruption, or forgery.
    #[error("bad MAC")]
    BadMac,
    /// Authenticated but not a well-formed version-1 body.
    #[error("malformed datagram: {0}")]
    Malformed(&'static str),
}

/// One piece of membership knowledge, gossiped and exchanged in full-state syncs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Update {
    /// `name` is alive at `addr` as of `incarnation`.
    Alive {
        /// Member name.
        name: String,
        /// The member's incarnation number.
        incarnation: u32,
        /// Where the member listens.
        addr: SocketAddr,
        /// What the member says about itself (opaque here; the speaker puts its
        /// announcing interfaces in it). Changing it takes a new incarnation.
        meta: Vec<u8>,
    },
    /// `from` failed to reach `name` at `incarnation`.
    Suspect {
        /// Member name.
        name: String,
        /// The suspected incarnation.
        incarnation: u32,
        /// Who suspects it.
        from: String,
    },
    /// `from` declared `name` dead at `incarnation`.
    Dead {
        /// Member name.
        name: String,
        /// The dead incarnation.
        incarnation: u32,
        /// Who declared it.
        from: String,
    },
    /// `name` left gracefully at `incarnation`.
    Left {
        /// Member name.
        name: String,
        /// The incarnation that left.
        incarnation: u32,
    },
}

impl Update {
    /// The member this update is about.
    pub fn name(&self) -> &str {
        match self {
            Self::Alive { name, .. }
            | Self::Suspect { name, .. }
            | Self::Dead { name, .. }
            | Self::Left { name, .. } => name,
        }
    }

    /// The incarnation this update is about.
    pub fn incarnation(&self) -> u32 {
        match self {
            Self::Alive { incarnation, .. }
            | Self::Suspect { incarnation, .. }
            | Self::Dead { incarnation, .. }
            | Self::Left { incarnation, .. } => *incarnation,
        }
    }

    /// Bytes this update takes on the wire, so that piggybacking can fill a datagram
    /// without overflowing it.
    pub fn encoded_len(&self) -> usize {
        let head = 1 + 4 + 1 + self.name().len();
        match self {
            Self::Alive { addr, meta, .. } => head + addr_len(addr) + 1 + meta.len(),
            Self::Suspect { from, .. } | Self::Dead { from, .. } => head + 1 + from.len(),
            Self::Left { .. } => head,
        }
    }
}

/// What a datagram asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// "Are you alive?" `target` is the name the sender believes lives at the address,
    /// so that a different node reusing the address does not answer for it.
    Ping {
        /// Sequence number echoed in the ack.
        seq: u32,
        /// Intended recipient.
        target: String,
    },
    /// Answer to a ping (direct, or relayed for an indirect probe).
    Ack {
        /// The ping's sequence number.
        seq: u32,
    },
    /// A relay's "I am alive but the target did not answer me" (Lifeguard), which
    /// tells the requester its own network is fine.
    Nack {
        /// The ping-req's sequence number.
        seq: u32,
    },
    /// "Please ping `target` at `addr` for me and relay the ack."
    PingReq {
        /// Sequence number of the requester's probe.
        seq: u32,
        /// Member to probe.
        target: String,
        /// Its address.
        addr: SocketAddr,
    },
    /// Updates only.
    Gossip,
    /// Part of a full-state exchange; `reply` asks the receiver for its own state.
    Sync {
        /// Send me your state back.
        reply: bool,
    },
    /// Graceful leave; acknowledged with an ack carrying `seq`.
    Leave {
        /// Sequence number echoed in the ack.
        seq: u32,
    },
}

const KIND_PING: u8 = 1;
const KIND_ACK: u8 = 2;
const KIND_NACK: u8 = 3;
const KIND_PING_REQ: u8 = 4;
const KIND_GOSSIP: u8 = 5;
const KIND_SYNC: u8 = 6;
const KIND_LEAVE: u8 = 7;

const UPD_ALIVE: u8 = 1;
const UPD_SUSPECT: u8 = 2;
const UPD_DEAD: u8 = 3;
const UPD_LEFT: u8 = 4;

const SYNC_REPLY: u8 = 0b0000_0001;

impl Body {
    fn kind(&self) -> u8 {
        match self {
            Self::Ping { .. } => KIND_PING,
            Self::Ack { .. } => KIND_ACK,
            Self::Nack { .. } => KIND_NACK,
            Self::PingReq { .. } => KIND_PING_REQ,
            Self::Gossip => KIND_GOSSIP,
            Self::Sync { .. } => KIND_SYNC,
            Self::Leave { .. } => KIND_LEAVE,
        }
    }

    fn encoded_len(&self) -> usize {
        match self {
            Self::Ping { target, .. } => 4 + 1 + target.len(),
            Self::Ack { .. } | Self::Nack { .. } | Self::Leave { .. } => 4,
            Self::PingReq { target, addr, .. } => 4 + 1 + target.len() + addr_len(addr),
            Self::Gossip => 0,
            Self::Sync { .. } => 1,
        }
    }
}

/// A decoded datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The member that sent it (authenticated by the MAC, i.e. by the shared key).
    pub sender: String,
    /// What it asks.
    pub body: Body,
    /// Piggybacked membership updates.
    pub updates: Vec<Update>,
}

impl Message {
    /// Bytes on the wire, tag included.
    pub fn encoded_len(&self) -> usize {
        Self::overhead(&self.sender, &self.body)
            + self.updates.iter().map(Update::encoded_len).sum::<usize>()
    }

    /// Bytes on the wire of a message with no updates: what is left of a datagram
    /// budget after this is the room for piggybacking.
    pub fn overhead(sender: &str, body: &Body) -> usize {
        FIXED_OVERHEAD + sender.len() + body.encoded_len()
    }
}

fn addr_len(addr: &SocketAddr) -> usize {
    match addr {
        SocketAddr::V4(_) => 1 + 4 + 2,
        SocketAddr::V6(_) => 1 + 16 + 2,
    }
}

/// Encodes and authenticates, decodes and verifies. Holds the keyed MAC state so that
/// the key schedule is computed once, not per datagram.
#[derive(Clone)]
pub struct Codec {
    mac: HmacSha256,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.write_str("Codec { .. }")
    }
}

impl Codec {
    /// A codec for `key`. HMAC accepts keys of any length; an empty key is refused by
    /// the caller, not here.
    pub fn new(key: &[u8]) -> Self {
        let mac = <HmacSha256 as Mac>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
        Self { mac }
    }

    /// The datagram for `msg`. Names longer than [`MAX_NAME_LEN`] and more than 65535
    /// updates cannot be encoded; callers never build those (names are validated when
    /// they enter the table, and updates are budgeted by datagram size).
    pub fn encode(&self, msg: &Message) -> Vec<u8> {
        let mut out = Vec::with_capacity(msg.encoded_len());
        out.push(VERSION);
        out.push(msg.body.kind());
        put_name(&mut out, &msg.sender);
        match &msg.body {
            Body::Ping { seq, target } => {
                out.extend_from_slice(&seq.to_be_bytes());
                put_name(&mut out, target);
            }
            Body::Ack { seq } | Body::Nack { seq } | Body::Leave { seq } => {
                out.extend_from_slice(&seq.to_be_bytes());
            }
            Body::PingReq { seq, target, addr } => {
                out.extend_from_slice(&seq.to_be_bytes());
                put_name(&mut out, target);
                put_addr(&mut out, addr);
            }
            Body::Gossip => {}
            Body::Sync { reply } => out.push(if *reply { SYNC_REPLY } else { 0 }),
        }
        let count = u16::try_from(msg.updates.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for u in msg.updates.iter().take(usize::from(count)) {
            put_update(&mut out, u);
        }
        let mut mac = self.mac.clone();
        mac.update(&out);
        out.extend_from_slice(&mac.finalize().into_bytes());
        out
    }

    /// `body` with our tag appended, whatever it holds: lets tests and fuzzers put
    /// arbitrary bytes past the MAC check, to reach the body parser.
    pub fn seal(&self, body: &[u8]) -> Vec<u8> {
        let mut mac = self.mac.clone();
        mac.update(body);
        let mut out = body.to_vec();
        out.extend_from_slice(&mac.finalize().into_bytes());
        out
    }

    /// Checks version, then the tag, then parses. The order matters: nothing of an
    /// unauthenticated body is interpreted.
    pub fn decode(&self, data: &[u8]) -> Result<Message, WireError> {
        if data.len() < FIXED_OVERHEAD + 1 {
            return Err(WireError::TooShort(data.len()));
        }
        if data[0] != VERSION {
            return Err(WireError::BadVersion(data[0]));
        }
        let (signed, tag) = data.split_at(data.len() - TAG_LEN);
        let mut mac = self.mac.clone();
        mac.update(signed);
        mac.verify_slice(tag).map_err(|_| WireError::BadMac)?;
        parse(&signed[1..])
    }
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    let len = name.len().min(MAX_NAME_LEN);
    out.push(len as u8);
    out.extend_from_slice(&name.as_bytes()[..len]);
}

fn put_addr(out: &mut Vec<u8>, addr: &SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => {
            out.push(4);
            out.extend_from_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            out.push(6);
            out.extend_from_slice(&ip.octets());
        }
    }
    out.extend_from_slice(&addr.port().to_be_bytes());
}

fn put_update(out: &mut Vec<u8>, u: &Update) {
    let (tag, name, inc) = match u {
        Update::Alive {
            name, incarnation, ..
        } => (UPD_ALIVE, name, incarnation),
        Update::Suspect {
            name, incarnation, ..
        } => (UPD_SUSPECT, name, incarnation),
        Update::Dead {
            name, incarnation, ..
        } => (UPD_DEAD, name, incarnation),
        Update::Left { name, incarnation } => (UPD_LEFT, name, incarnation),
    };
    out.push(tag);
    out.extend_from_slice(&inc.to_be_bytes());
    put_name(out, name);
    match u {
        Update::Alive { addr, meta, .. } => {
            put_addr(out, addr);
            // Encoders only ever hold metadata `Members` accepted (at most
            // MAX_META_LEN); the clamp keeps the length byte honest regardless.
            let meta = &meta[..meta.len().min(MAX_META_LEN)];
            out.push(meta.len() as u8);
            out.extend_from_slice(meta);
        }
        Update::Suspect { from, .. } | Update::Dead { from, .. } => put_name(out, from),
        Update::Left { .. } => {}
    }
}

/// A cursor that refuses to read past the end.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.buf.len() < n {
            return Err(WireError::Malformed("truncated"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn name(&mut self) -> Result<String, WireError> {
        let len = usize::from(self.u8()?);
        if len == 0 {
            return Err(WireError::Malformed("empty name"));
        }
        let bytes = self.take(len)?;
        let s = std::str::from_utf8(bytes).map_err(|_| WireError::Malformed("name not UTF-8"))?;
        Ok(s.to_owned())
    }

    fn addr(&mut self) -> Result<SocketAddr, WireError> {
        let ip = match self.u8()? {
            4 => {
                let b = self.take(4)?;
                IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            }
            6 => {
                let b = self.take(16)?;
                let mut o = [0u8; 16];
                o.copy_from_slice(b);
                IpAddr::V6(Ipv6Addr::from(o))
            }
            _ => return Err(WireError::Malformed("unknown address family")),
        };
        Ok(SocketAddr::new(ip, self.u16()?))
    }

    fn update(&mut self) -> Result<Update, WireError> {
        let tag = self.u8()?;
        let incarnation = self.u32()?;
        let name = self.name()?;
        Ok(match tag {
            UPD_ALIVE => {
                let addr = self.addr()?;
                let len = usize::from(self.u8()?);
                Update::Alive {
                    name,
                    incarnation,
                    addr,
                    meta: self.take(len)?.to_vec(),
                }
            }
            UPD_SUSPECT => Update::Suspect {
                name,
                incarnation,
                from: self.name()?,
            },
            UPD_DEAD => Update::Dead {
                name,
                incarnation,
                from: self.name()?,
            },
            UPD_LEFT => Update::Left { name, incarnation },
            _ => return Err(WireError::Malformed("unknown update type")),
        })
    }
}

/// Parses everything after the version byte and before the tag.
fn parse(buf: &[u8]) -> Result<Message, WireError> {
    let mut r = Reader { buf };
    let kind = r.u8()?;
    let sender = r.name()?;
    let body = match kind {
        KIND_PING => Body::Ping {
            seq: r.u32()?,
            target: r.name()?,
        },
        KIND_ACK => Body::Ack { seq: r.u32()? },
        KIND_NACK => Body::Nack { seq: r.u32()? },
        KIND_PING_REQ => Body::PingReq {
            seq: r.u32()?,
            target: r.name()?,
            addr: r.addr()?,
        },
        KIND_GOSSIP => Body::Gossip,
        KIND_SYNC => {
            let flags = r.u8()?;
            if flags & !SYNC_REPLY != 0 {
                return Err(WireError::Malformed("reserved sync flags set"));
            }
            Body::Sync {
                reply: flags & SYNC_REPLY != 0,
            }
        }
        KIND_LEAVE => Body::Leave { seq: r.u32()? },
        _ => return Err(WireError::Malformed("unknown message kind")),
    };
    let count = usize::from(r.u16()?);
    // The smallest update is 7 bytes; refuse counts the remaining bytes cannot hold
    // before allocating for them.
    if count > r.buf.len() / 7 {
        return Err(WireError::Malformed("update count exceeds datagram"));
    }
    let mut updates = Vec::with_capacity(count);
    for _ in 0..count {
        updates.push(r.update()?);
    }
    if !r.buf.is_empty() {
        return Err(WireError::Malformed("trailing bytes"));
    }
    Ok(Message {
        sender,
        body,
        updates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a4() -> SocketAddr {
        "192.0.2.7:7946".parse().unwrap()
    }
    fn a6() -> SocketAddr {
        "[2001:db8::7]:7946".parse().unwrap()
    }

    fn sample_updates() -> Vec<Update> {
        vec![
            Update::Alive {
                name: "node-a".into(),
                incarnation: 7,
                addr: a4(),
                meta: b"\x01\x04eth0".to_vec(),
            },
            Update::Alive {
                name: "node-é".into(),
                incarnation: u32::MAX,
                addr: a6(),
                meta: Vec::new(),
            },
            Update::Suspect {
                name: "b".into(),
                incarnation: 1,
                from: "c".into(),
            },
            Update::Dead {
                name: "d".into(),
                incarnation: 2,
                from: "e".into(),
            },
            Update::Left {
                name: "f".into(),
                incarnation: 3,
            },
        ]
    }

    fn bodies() -> Vec<Body> {
        vec![
            Body::Ping {
                seq: 1,
                target: "x".into(),
            },
            Body::Ack { seq: 2 },
            Body::Nack { seq: 3 },
            Body::PingReq {
                seq: 4,
                target: "y".into(),
                addr: a6(),
            },
            Body::Gossip,
            Body::Sync { reply: true },
            Body::Sync { reply: false },
            Body::Leave { seq: 5 },
        ]
    }

    #[test]
    fn every_message_round_trips_and_lengths_are_exact() {
        let codec = Codec::new(b"secret");
        for body in bodies() {
            for updates in [vec![], sample_updates()] {
                let msg = Message {
                    sender: "sender-1".into(),
                    body: body.clone(),
                    updates,
                };
                let bytes = codec.encode(&msg);
                assert_eq!(bytes.len(), msg.encoded_len(), "{msg:?}");
                assert_eq!(codec.decode(&bytes), Ok(msg));
            }
        }
    }

    #[test]
    fn a_wrong_key_wrong_version_or_flipped_bit_is_rejected() {
        let codec = Codec::new(b"secret");
        let msg = Message {
            sender: "s".into(),
            body: Body::Ping {
                seq: 9,
                target: "t".into(),
            },
            updates: sample_updates(),
        };
        let bytes = codec.encode(&msg);
        assert_eq!(Codec::new(b"other").decode(&bytes), Err(WireError::BadMac));
        let mut v = bytes.clone();
        v[0] = 2;
        assert_eq!(codec.decode(&v), Err(WireError::BadVersion(2)));
        for i in 1..bytes.len() {
            let mut v = bytes.clone();
            v[i] ^= 0x01;
            assert_eq!(codec.decode(&v), Err(WireError::BadMac), "byte {i}");
        }
        assert_eq!(codec.decode(&bytes[..10]), Err(WireError::TooShort(10)));
        assert_eq!(
            codec.decode(&bytes[..bytes.len() - 1]),
            Err(WireError::BadMac)
        );
    }

    /// Signs arbitrary bodies with the right key, which is what a buggy (or hostile
    /// but keyed) peer could send: the parser must still refuse without panicking.
    fn sign(codec: &Codec, body: &[u8]) -> Vec<u8> {
        let mut v = vec![VERSION];
        v.extend_from_slice(body);
        let mut mac = codec.mac.clone();
        mac.update(&v);
        v.extend_from_slice(&mac.finalize().into_bytes());
        v
    }

    #[test]
    fn authenticated_but_malformed_bodies_are_errors() {
        let codec = Codec::new(b"k");
        let cases: &[(&[u8], &str)] = &[
            (&[99, 1, b's', 0, 0], "unknown message kind"),
            (&[KIND_GOSSIP, 0, 0, 0, 0], "empty name"),
            (&[KIND_GOSSIP, 1, 0xff, 0, 0], "name not UTF-8"),
            (&[KIND_GOSSIP, 1, b's', 0, 0, 9], "trailing bytes"),
            (
                &[KIND_GOSSIP, 1, b's', 0xff, 0xff, 0],
                "update count exceeds datagram",
            ),
            (&[KIND_SYNC, 1, b's', 0b10, 0, 0], "reserved sync flags set"),
            (&[KIND_ACK, 1, b's', 0, 0], "truncated"),
            (
                &[KIND_GOSSIP, 1, b's', 0, 1, 9, 0, 0, 0, 0, 1, b'x'],
                "unknown update type",
            ),
            (
                &[
                    KIND_GOSSIP,
                    1,
                    b's',
                    0,
                    1,
                    UPD_ALIVE,
                    0,
                    0,
                    0,
                    0,
                    1,
                    b'x',
                    5,
                    1,
                    2,
                    3,
                    4,
                    0,
                    1,
                ],
                "unknown address family",
            ),
        ];
        for (body, why) in cases {
            assert_eq!(
                codec.decode(&sign(&codec, body)),
                Err(WireError::Malformed(why)),
                "{why}"
            );
        }
    }

    #[test]
    fn overhead_matches_the_encoder() {
        let codec = Codec::new(b"k");
        for body in bodies() {
            let msg = Message {
                sender: "abc".into(),
                body: body.clone(),
                updates: vec![],
            };
            assert_eq!(codec.encode(&msg).len(), Message::overhead("abc", &body));
        }
    }
}
