//! The BFD control packet (RFC 5880 §4.1) and its reception checks (§6.8.6).

use std::fmt;

/// Session states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// Administratively down.
    AdminDown = 0,
    /// Down.
    Down = 1,
    /// Init: the remote is heard, not yet confirmed.
    Init = 2,
    /// Up.
    Up = 3,
}

impl State {
    fn from_bits(b: u8) -> Self {
        match b & 3 {
            0 => Self::AdminDown,
            1 => Self::Down,
            2 => Self::Init,
            _ => Self::Up,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AdminDown => "AdminDown",
            Self::Down => "Down",
            Self::Init => "Init",
            Self::Up => "Up",
        })
    }
}

/// Diagnostic codes (§4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Diag {
    /// No diagnostic.
    None = 0,
    /// Control detection time expired.
    ControlDetectionTimeExpired = 1,
    /// Echo function failed.
    EchoFunctionFailed = 2,
    /// Neighbor signaled session down.
    NeighborSignaledDown = 3,
    /// Forwarding plane reset.
    ForwardingPlaneReset = 4,
    /// Path down.
    PathDown = 5,
    /// Concatenated path down.
    ConcatenatedPathDown = 6,
    /// Administratively down.
    AdministrativelyDown = 7,
    /// Reverse concatenated path down.
    ReverseConcatenatedPathDown = 8,
}

impl Diag {
    fn from_bits(b: u8) -> Self {
        match b & 0x1f {
            1 => Self::ControlDetectionTimeExpired,
            2 => Self::EchoFunctionFailed,
            3 => Self::NeighborSignaledDown,
            4 => Self::ForwardingPlaneReset,
            5 => Self::PathDown,
            6 => Self::ConcatenatedPathDown,
            7 => Self::AdministrativelyDown,
            8 => Self::ReverseConcatenatedPathDown,
            _ => Self::None,
        }
    }
}

/// A control packet without authentication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlPacket {
    /// Diagnostic.
    pub diag: Diag,
    /// Sender's state.
    pub state: State,
    /// Poll.
    pub poll: bool,
    /// Final.
    pub fin: bool,
    /// Control plane independent.
    pub cpi: bool,
    /// Demand mode.
    pub demand: bool,
    /// Detection multiplier.
    pub detect_mult: u8,
    /// Sender's discriminator.
    pub my_discr: u32,
    /// Receiver's discriminator as the sender knows it (0 if unknown).
    pub your_discr: u32,
    /// Desired min TX interval, microseconds.
    pub desired_min_tx_us: u32,
    /// Required min RX interval, microseconds.
    pub required_min_rx_us: u32,
    /// Required min echo RX interval, microseconds (0: no echo looping).
    pub required_min_echo_rx_us: u32,
}

/// Why a received packet is discarded (§6.8.6); counted, never answered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// Shorter than 24 bytes, or than its Length field.
    #[error("truncated BFD packet")]
    Truncated,
    /// Version other than 1.
    #[error("BFD version {0}")]
    Version(u8),
    /// Length field below 24 (or 26 with authentication).
    #[error("BFD length field {0}")]
    Length(u8),
    /// Detect multiplier 0.
    #[error("detect multiplier 0")]
    DetectMult,
    /// Multipoint bit set.
    #[error("multipoint bit set")]
    Multipoint,
    /// My Discriminator 0.
    #[error("my discriminator 0")]
    MyDiscriminator,
    /// Authentication present; none is configured.
    #[error("authentication present but not configured")]
    Authentication,
}

impl ControlPacket {
    /// The 24-byte wire form.
    pub fn encode(&self) -> [u8; 24] {
        let mut b = [0u8; 24];
        b[0] = (1 << 5) | (self.diag as u8 & 0x1f);
        b[1] = ((self.state as u8) << 6)
            | (u8::from(self.poll) << 5)
            | (u8::from(self.fin) << 4)
            | (u8::from(self.cpi) << 3)
            | (u8::from(self.demand) << 1);
        b[2] = self.detect_mult;
        b[3] = 24;
        b[4..8].copy_from_slice(&self.my_discr.to_be_bytes());
        b[8..12].copy_from_slice(&self.your_discr.to_be_bytes());
        b[12..16].copy_from_slice(&self.desired_min_tx_us.to_be_bytes());
        b[16..20].copy_from_slice(&self.required_min_rx_us.to_be_bytes());
        b[20..24].copy_from_slice(&self.required_min_echo_rx_us.to_be_bytes());
        b
    }

    /// Parses and applies the checks of §6.8.6 that need no session state.
    pub fn decode(b: &[u8]) -> Result<Self, PacketError> {
        if b.len() < 24 {
            return Err(PacketError::Truncated);
        }
        let version = b[0] >> 5;
        if version != 1 {
            return Err(PacketError::Version(version));
        }
        let auth = b[1] & 0x04 != 0;
        let len = b[3];
        if len < 24 || (auth && len < 26) {
            return Err(PacketError::Length(len));
        }
        if usize::from(len) > b.len() {
            return Err(PacketError::Truncated);
        }
        if auth {
            return Err(PacketError::Authentication);
        }
        if b[2] == 0 {
            return Err(PacketError::DetectMult);
        }
        if b[1] & 0x01 != 0 {
            return Err(PacketError::Multipoint);
        }
        let word = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let my_discr = word(4);
        if my_discr == 0 {
            return Err(PacketError::MyDiscriminator);
        }
        Ok(Self {
            diag: Diag::from_bits(b[0]),
            state: State::from_bits(b[1] >> 6),
            poll: b[1] & 0x20 != 0,
            fin: b[1] & 0x10 != 0,
            cpi: b[1] & 0x08 != 0,
            demand: b[1] & 0x02 != 0,
            detect_mult: b[2],
            my_discr,
            your_discr: word(8),
            desired_min_tx_us: word(12),
            required_min_rx_us: word(16),
            required_min_echo_rx_us: word(20),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ControlPacket {
        ControlPacket {
            diag: Diag::ControlDetectionTimeExpired,
            state: State::Up,
            poll: true,
            fin: false,
            cpi: false,
            demand: false,
            detect_mult: 3,
            my_discr: 0x1111_2222,
            your_discr: 7,
            desired_min_tx_us: 300_000,
            required_min_rx_us: 300_000,
            required_min_echo_rx_us: 50_000,
        }
    }

    #[test]
    fn test_emit_control_packet() {
        let b = sample().encode();
        assert_eq!(&b[..4], &[0x21, 0xe0, 3, 24]);
        assert_eq!(&b[4..8], &[0x11, 0x11, 0x22, 0x22]);
        assert_eq!(ControlPacket::decode(&b).unwrap(), sample());
    }

    #[test]
    fn reception_checks_discard_bad_packets() {
        let good = sample().encode();
        let mut v = good;
        v[0] = 0x41;
        assert_eq!(ControlPacket::decode(&v), Err(PacketError::Version(2)));
        let mut v = good;
        v[3] = 23;
        assert_eq!(ControlPacket::decode(&v), Err(PacketError::Length(23)));
        let mut v = good;
        v[3] = 40;
        assert_eq!(ControlPacket::decode(&v), Err(PacketError::Truncated));
        let mut v = good;
        v[2] = 0;
        assert_eq!(ControlPacket::decode(&v), Err(PacketError::DetectMult));
        let mut v = good;
        v[1] |= 1;
        assert_eq!(ControlPacket::decode(&v), Err(PacketError::Multipoint));
        let mut v = good;
        v[4..8].fill(0);
        assert_eq!(ControlPacket::decode(&v), Err(PacketError::MyDiscriminator));
        let mut v = good;
        v[1] |= 4;
        v[3] = 26;
        assert!(ControlPacket::decode(&[&v[..], &[0, 0]].concat()).is_err());
        assert_eq!(
            ControlPacket::decode(&good[..20]),
            Err(PacketError::Truncated)
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let _ = ControlPacket::decode(&b);
        }
    }
}
