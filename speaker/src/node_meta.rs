//! What a speaker tells the other members about itself through the membership
//! metadata: the interfaces it can announce on now, with their MACs.
//!
//! Every node runs the same election, so every node must agree on which nodes can
//! announce on which interface. MetalLB cannot see that another node's NIC is down
//! (its memberlist may run over another network, and the node stays Ready), so the
//! address stays on a node that cannot answer for it. With this metadata, a node
//! whose announcing interface goes down stops being a candidate everywhere within a
//! gossip round. The MACs let the conflict check tell another speaker from a
//! foreign host answering for an address.
//!
//! Layout (version 1): `flags u8` (bit 0: the list is complete), then per interface
//! `name length u8, name, MAC (6 bytes)`. A list that does not fit in
//! [`MAX_META_LEN`] is cut and marked incomplete: peers then learn the MACs but do not
//! conclude that a missing interface is down.

use std::collections::BTreeSet;

use ferrolb_wire::Mac;

use crate::members::wire::MAX_META_LEN;

const COMPLETE: u8 = 1;

/// A speaker's announcing interfaces as the other members see them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeMeta {
    /// Interfaces up and eligible, with their MACs, sorted by name.
    pub interfaces: Vec<(String, Mac)>,
    /// Whether `interfaces` is every one of them (false when cut to fit).
    pub complete: bool,
}

impl NodeMeta {
    /// The metadata for these interfaces, cut to fit one membership update.
    pub fn new<'a>(interfaces: impl IntoIterator<Item = (&'a str, Mac)>) -> Self {
        let mut list: Vec<(String, Mac)> = interfaces
            .into_iter()
            .map(|(n, m)| (n.to_owned(), m))
            .collect();
        list.sort();
        list.dedup_by(|a, b| a.0 == b.0);
        let mut used = 1;
        let mut complete = true;
        let mut kept = Vec::with_capacity(list.len());
        for (name, mac) in list {
            let need = 1 + name.len() + 6;
            if name.is_empty() || name.len() > usize::from(u8::MAX) || used + need > MAX_META_LEN {
                complete = false;
                continue;
            }
            used += need;
            kept.push((name, mac));
        }
        Self {
            interfaces: kept,
            complete,
        }
    }

    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![if self.complete { COMPLETE } else { 0 }];
        for (name, mac) in &self.interfaces {
            out.push(name.len() as u8);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&mac.0);
        }
        out
    }

    /// Parses metadata; `None` for empty (a member that says nothing, such as an older
    /// speaker) or malformed bytes, which the election treats as "assume able", as
    /// MetalLB does for every node.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (&flags, mut rest) = bytes.split_first()?;
        if flags & !COMPLETE != 0 {
            return None;
        }
        let mut interfaces = Vec::new();
        while let Some((&len, tail)) = rest.split_first() {
            let len = usize::from(len);
            if len == 0 || tail.len() < len + 6 {
                return None;
            }
            let name = std::str::from_utf8(&tail[..len]).ok()?.to_owned();
            let mut mac = [0u8; 6];
            mac.copy_from_slice(&tail[len..len + 6]);
            interfaces.push((name, Mac(mac)));
            rest = &tail[len + 6..];
        }
        Some(Self {
            interfaces,
            complete: flags & COMPLETE != 0,
        })
    }

    /// The interfaces the election may count as up, when the list is complete.
    pub fn up_interfaces(&self) -> Option<BTreeSet<String>> {
        self.complete
            .then(|| self.interfaces.iter().map(|(n, _)| n.clone()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M1: Mac = Mac([2, 0, 0, 0, 0, 1]);
    const M2: Mac = Mac([2, 0, 0, 0, 0, 2]);

    #[test]
    fn round_trips_sorted_and_complete() {
        let m = NodeMeta::new([("eth1", M2), ("eth0", M1)]);
        assert!(m.complete);
        assert_eq!(
            m.interfaces,
            vec![("eth0".to_owned(), M1), ("eth1".to_owned(), M2)]
        );
        let back = NodeMeta::decode(&m.encode()).expect("decodes");
        assert_eq!(back, m);
        assert_eq!(
            back.up_interfaces(),
            Some(BTreeSet::from(["eth0".to_owned(), "eth1".to_owned()]))
        );
    }

    #[test]
    fn no_interface_up_is_a_complete_empty_list_not_unknown() {
        let m = NodeMeta::new(std::iter::empty());
        let back = NodeMeta::decode(&m.encode()).unwrap();
        assert_eq!(back.up_interfaces(), Some(BTreeSet::new()));
    }

    #[test]
    fn too_many_interfaces_are_cut_and_marked_incomplete() {
        let names: Vec<String> = (0..40).map(|i| format!("enp{i}s0f1np1")).collect();
        let m = NodeMeta::new(names.iter().map(|n| (n.as_str(), M1)));
        assert!(!m.complete);
        assert!(m.encode().len() <= MAX_META_LEN);
        let back = NodeMeta::decode(&m.encode()).unwrap();
        assert_eq!(
            back.up_interfaces(),
            None,
            "a cut list says nothing is down"
        );
        assert_eq!(back.interfaces.len(), m.interfaces.len());
    }

    #[test]
    fn empty_or_malformed_bytes_are_unknown() {
        assert_eq!(NodeMeta::decode(&[]), None);
        assert_eq!(NodeMeta::decode(&[4]), None, "unknown flag bit");
        assert_eq!(
            NodeMeta::decode(&[1, 4, b'e', b't']),
            None,
            "truncated name"
        );
        assert_eq!(NodeMeta::decode(&[1, 1, b'e', 1, 2, 3]), None, "short MAC");
        assert_eq!(NodeMeta::decode(&[1, 0]), None, "empty name");
        assert_eq!(
            NodeMeta::decode(&[1, 1, 0xff, 1, 2, 3, 4, 5, 6]),
            None,
            "name not UTF-8"
        );
    }
}
