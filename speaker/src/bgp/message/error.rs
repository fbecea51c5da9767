//! Decoding errors, each mapped to the NOTIFICATION the RFCs prescribe.

use super::notification::Notification;

/// NOTIFICATION error codes (RFC 4271 §4.5, RFC 4486, RFC 7313).
pub mod code {
    /// Message Header Error.
    pub const MESSAGE_HEADER: u8 = 1;
    /// OPEN Message Error.
    pub const OPEN_MESSAGE: u8 = 2;
    /// UPDATE Message Error.
    pub const UPDATE_MESSAGE: u8 = 3;
    /// Hold Timer Expired.
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    /// Finite State Machine Error.
    pub const FSM: u8 = 5;
    /// Cease.
    pub const CEASE: u8 = 6;
    /// ROUTE-REFRESH Message Error (RFC 7313).
    pub const ROUTE_REFRESH: u8 = 7;
}

/// Subcodes, by error code.
pub mod subcode {
    /// Message Header Error: Connection Not Synchronized.
    pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
    /// Message Header Error: Bad Message Length.
    pub const BAD_MESSAGE_LENGTH: u8 = 2;
    /// Message Header Error: Bad Message Type.
    pub const BAD_MESSAGE_TYPE: u8 = 3;

    /// OPEN: no specific subcode (malformed optional parameters, RFC 5492).
    pub const OPEN_UNSPECIFIC: u8 = 0;
    /// OPEN: Unsupported Version Number.
    pub const UNSUPPORTED_VERSION: u8 = 1;
    /// OPEN: Bad Peer AS.
    pub const BAD_PEER_AS: u8 = 2;
    /// OPEN: Bad BGP Identifier.
    pub const BAD_BGP_IDENTIFIER: u8 = 3;
    /// OPEN: Unsupported Optional Parameter.
    pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
    /// OPEN: Unacceptable Hold Time.
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    /// OPEN: Unsupported Capability (RFC 5492).
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;

    /// UPDATE: Malformed Attribute List.
    pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
    /// UPDATE: Unrecognized Well-known Attribute.
    pub const UNRECOGNIZED_WELL_KNOWN: u8 = 2;
    /// UPDATE: Missing Well-known Attribute.
    pub const MISSING_WELL_KNOWN: u8 = 3;
    /// UPDATE: Attribute Flags Error.
    pub const ATTRIBUTE_FLAGS: u8 = 4;
    /// UPDATE: Attribute Length Error.
    pub const ATTRIBUTE_LENGTH: u8 = 5;
    /// UPDATE: Invalid ORIGIN Attribute.
    pub const INVALID_ORIGIN: u8 = 6;
    /// UPDATE: Invalid NEXT_HOP Attribute.
    pub const INVALID_NEXT_HOP: u8 = 8;
    /// UPDATE: Optional Attribute Error.
    pub const OPTIONAL_ATTRIBUTE: u8 = 9;
    /// UPDATE: Invalid Network Field.
    pub const INVALID_NETWORK_FIELD: u8 = 10;
    /// UPDATE: Malformed AS_PATH.
    pub const MALFORMED_AS_PATH: u8 = 11;

    /// Cease: Maximum Number of Prefixes Reached.
    pub const MAX_PREFIXES: u8 = 1;
    /// Cease: Administrative Shutdown.
    pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
    /// Cease: Peer De-configured.
    pub const PEER_DECONFIGURED: u8 = 3;
    /// Cease: Administrative Reset.
    pub const ADMINISTRATIVE_RESET: u8 = 4;
    /// Cease: Connection Rejected.
    pub const CONNECTION_REJECTED: u8 = 5;
    /// Cease: Other Configuration Change.
    pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
    /// Cease: Connection Collision Resolution.
    pub const CONNECTION_COLLISION: u8 = 7;
    /// Cease: Out of Resources.
    pub const OUT_OF_RESOURCES: u8 = 8;
    /// Cease: Hard Reset (RFC 8538).
    pub const HARD_RESET: u8 = 9;

    /// ROUTE-REFRESH: Invalid Message Length (RFC 7313).
    pub const INVALID_ROUTE_REFRESH_LENGTH: u8 = 1;
}

/// A message that cannot be accepted; the session must be reset with the NOTIFICATION
/// this error names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (NOTIFICATION {code}/{subcode})")]
pub struct DecodeError {
    /// NOTIFICATION error code.
    pub code: u8,
    /// NOTIFICATION error subcode.
    pub subcode: u8,
    /// NOTIFICATION data.
    pub data: Vec<u8>,
    /// What was wrong, for logs.
    pub reason: String,
}

impl DecodeError {
    pub(crate) fn new(
        code: u8,
        subcode: u8,
        data: impl Into<Vec<u8>>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            code,
            subcode,
            data: data.into(),
            reason: reason.into(),
        }
    }

    /// The NOTIFICATION to send before closing the session.
    pub fn notification(&self) -> Notification {
        Notification {
            code: self.code,
            subcode: self.subcode,
            data: self.data.clone(),
        }
    }
}

/// A problem in an UPDATE's attributes that RFC 7606 resolves without resetting the
/// session: the UPDATE's routes are treated as withdrawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreatAsWithdraw {
    /// The attribute type code at fault.
    pub attribute: u8,
    /// The subcode RFC 4271 would have sent.
    pub subcode: u8,
    /// What was wrong, for logs and counters.
    pub reason: String,
}
