//! The BGP wire format: framing, and the five message types.
//!
//! Decoding is total: any byte sequence yields a message or a [`DecodeError`] naming
//! the NOTIFICATION to answer with, never a panic. Encoding writes what the decoder
//! reads back unchanged (property-tested).

mod error;
mod notification;
mod open;
mod prefix;
mod reader;
mod update;

pub use error::{DecodeError, TreatAsWithdraw, code, subcode};
pub use notification::Notification;
pub use open::{AS_TRANS, Capability, GracefulRestart, Open, afi, safi};
pub use update::{Codec, MpReach, MpUnreach, Origin, RawAttribute, Segment, Update, attr};

/// Length of the fixed header: marker, length, type.
pub const HEADER_LEN: usize = 19;
/// Largest message without the extended-message capability (RFC 8654).
pub const MAX_LEN: usize = 4096;

const OPEN: u8 = 1;
const UPDATE: u8 = 2;
const NOTIFICATION: u8 = 3;
const KEEPALIVE: u8 = 4;
const ROUTE_REFRESH: u8 = 5;

/// A BGP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// OPEN.
    Open(Open),
    /// UPDATE (boxed: it is by far the largest variant).
    Update(Box<Update>),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH (RFC 2918): (AFI, SAFI).
    RouteRefresh(u16, u8),
}

/// Why a message could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The message would exceed 4096 bytes; split its prefixes over several UPDATEs.
    #[error("message of {0} bytes exceeds the BGP maximum of 4096")]
    TooLong(usize),
}

fn header_error(sub: u8, data: Vec<u8>, why: &str) -> DecodeError {
    DecodeError::new(code::MESSAGE_HEADER, sub, data, why)
}

/// Looks at the start of a byte stream: `Ok(None)` until a whole header is there, then
/// the length of the first message (which may not have fully arrived yet).
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    if buf[..16].iter().any(|b| *b != 0xff) {
        return Err(header_error(
            subcode::CONNECTION_NOT_SYNCHRONIZED,
            Vec::new(),
            "marker is not all ones",
        ));
    }
    let len = usize::from(u16::from_be_bytes([buf[16], buf[17]]));
    let ty = buf[18];
    let bad_len = || {
        header_error(
            subcode::BAD_MESSAGE_LENGTH,
            buf[16..18].to_vec(),
            &format!("length {len} for message type {ty}"),
        )
    };
    if !(HEADER_LEN..=MAX_LEN).contains(&len) {
        return Err(bad_len());
    }
    let ok = match ty {
        OPEN => len >= 29,
        UPDATE => len >= 23,
        NOTIFICATION => len >= 21,
        KEEPALIVE => len == 19,
        ROUTE_REFRESH => len == 23,
        _ => {
            return Err(header_error(
                subcode::BAD_MESSAGE_TYPE,
                vec![ty],
                &format!("message type {ty}"),
            ));
        }
    };
    if !ok {
        return Err(bad_len());
    }
    Ok(Some(len))
}

impl Message {
    /// Decodes exactly one message occupying all of `buf` (use [`frame_len`] to cut a
    /// stream). `codec` says how AS numbers are encoded in UPDATEs.
    pub fn decode(buf: &[u8], codec: Codec) -> Result<Self, DecodeError> {
        let len = frame_len(buf)?.ok_or_else(|| {
            header_error(
                subcode::BAD_MESSAGE_LENGTH,
                Vec::new(),
                "shorter than the BGP header",
            )
        })?;
        if len != buf.len() {
            return Err(header_error(
                subcode::BAD_MESSAGE_LENGTH,
                buf[16..18].to_vec(),
                &format!("length field {len} but {} bytes given", buf.len()),
            ));
        }
        let body = &buf[HEADER_LEN..];
        Ok(match buf[18] {
            OPEN => Self::Open(Open::decode_body(body)?),
            UPDATE => Self::Update(Box::new(Update::decode_body(body, codec)?)),
            NOTIFICATION => Self::Notification(Notification {
                code: body[0],
                subcode: body[1],
                data: body[2..].to_vec(),
            }),
            KEEPALIVE => Self::Keepalive,
            _ => {
                let afi_ = u16::from_be_bytes([body[0], body[1]]);
                Self::RouteRefresh(afi_, body[3])
            }
        })
    }

    /// Encodes the message, header included.
    pub fn encode(&self, codec: Codec) -> Result<Vec<u8>, EncodeError> {
        let mut out = vec![0xff; 16];
        out.extend_from_slice(&[0, 0, 0]);
        let ty = match self {
            Self::Open(o) => {
                o.encode_body(&mut out);
                OPEN
            }
            Self::Update(u) => {
                u.encode_body(codec, &mut out);
                UPDATE
            }
            Self::Notification(n) => {
                out.push(n.code);
                out.push(n.subcode);
                out.extend_from_slice(&n.data);
                NOTIFICATION
            }
            Self::Keepalive => KEEPALIVE,
            Self::RouteRefresh(a, s) => {
                out.extend_from_slice(&a.to_be_bytes());
                out.push(0);
                out.push(*s);
                ROUTE_REFRESH
            }
        };
        if out.len() > MAX_LEN {
            return Err(EncodeError::TooLong(out.len()));
        }
        let len = out.len() as u16;
        out[16..18].copy_from_slice(&len.to_be_bytes());
        out[18] = ty;
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
