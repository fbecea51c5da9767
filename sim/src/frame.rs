//! The wire formats live in `ferrolb-wire`, shared with the speaker; this module
//! re-exports them under the simulator's old path and adds what only the simulator
//! needs.

pub use ferrolb_wire::*;

/// A locally administered unicast MAC derived from a name, so that scenario files need
/// not spell MACs out and adding a host does not renumber the others.
pub fn derived_mac(name: &str) -> Mac {
    let h = blake3::hash(name.as_bytes());
    let b = h.as_bytes();
    Mac([0x02, b[0], b[1], b[2], b[3], b[4]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_macs_are_stable_unicast_and_local() {
        let m = derived_mac("n1");
        assert!(!m.is_multicast());
        assert_eq!(m.0[0] & 2, 2, "locally administered");
        assert_eq!(m, derived_mac("n1"));
        assert_ne!(derived_mac("n1"), derived_mac("n2"));
    }
}
