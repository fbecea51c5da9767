//! Frames as a pcap file, so a run can be opened in Wireshark or read with tcpdump —
//! and so the simulator's frame codecs are checked by a real dissector.
//!
//! Every delivery on every link is written (as a capture on all links would see it),
//! with nanosecond timestamps of virtual time.

/// One delivered frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedFrame {
    pub t_ns: u64,
    pub link: u32,
    pub frame: Vec<u8>,
}

/// The nanosecond-resolution pcap magic.
const MAGIC_NS: u32 = 0xa1b2_3c4d;
const LINKTYPE_ETHERNET: u32 = 1;

/// Encodes frames as a pcap file (little-endian, nanosecond timestamps, Ethernet).
pub fn encode(frames: &[CapturedFrame]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + frames.iter().map(|f| 16 + f.frame.len()).sum::<usize>());
    out.extend_from_slice(&MAGIC_NS.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    for f in frames {
        let secs = (f.t_ns / 1_000_000_000) as u32;
        let nanos = (f.t_ns % 1_000_000_000) as u32;
        let len = f.frame.len() as u32;
        out.extend_from_slice(&secs.to_le_bytes());
        out.extend_from_slice(&nanos.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&f.frame);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_records_have_the_pcap_layout() {
        let frames = vec![CapturedFrame {
            t_ns: 1_500_000_007,
            link: 0,
            frame: vec![0xff; 60],
        }];
        let b = encode(&frames);
        assert_eq!(b.len(), 24 + 16 + 60);
        assert_eq!(&b[0..4], &MAGIC_NS.to_le_bytes());
        assert_eq!(
            u32::from_le_bytes([b[20], b[21], b[22], b[23]]),
            1,
            "Ethernet"
        );
        assert_eq!(
            u32::from_le_bytes([b[24], b[25], b[26], b[27]]),
            1,
            "seconds"
        );
        assert_eq!(
            u32::from_le_bytes([b[28], b[29], b[30], b[31]]),
            500_000_007,
            "nanoseconds"
        );
        assert_eq!(u32::from_le_bytes([b[32], b[33], b[34], b[35]]), 60);
    }
}
