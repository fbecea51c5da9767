//! The free addresses of one CIDR as a set of intervals.
//!
//! Finding the lowest free address is the first key of a `BTreeMap`, taking or
//! returning an address is a split or a merge: O(log n) in the number of holes, never
//! a scan of the CIDR. With `avoidBuggyIPs` the intervals never start or end on a
//! `.0` / `.255` address, so the lowest key is always allocatable.

use std::collections::BTreeMap;

/// Free addresses of one CIDR, as integers of its family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FreeSet {
    /// start -> end, inclusive, disjoint.
    runs: BTreeMap<u128, u128>,
    avoid_buggy: bool,
}

impl FreeSet {
    /// Every allocatable address in `first..=last`. `avoid_buggy` must only be set
    /// for IPv4.
    pub(crate) fn new(first: u128, last: u128, avoid_buggy: bool) -> Self {
        let mut s = Self {
            runs: BTreeMap::new(),
            avoid_buggy,
        };
        s.insert_run(first, last);
        s
    }

    fn buggy(&self, a: u128) -> bool {
        self.avoid_buggy && matches!(a & 0xff, 0 | 0xff)
    }

    /// Whether `a` may ever be handed out from this set.
    pub(crate) fn allocatable(&self, a: u128) -> bool {
        !self.buggy(a)
    }

    /// Inserts `s..=e` trimmed of buggy edges (buggy runs are at most two long).
    fn insert_run(&mut self, mut s: u128, mut e: u128) {
        while s <= e && self.buggy(s) {
            if s == u128::MAX {
                return;
            }
            s += 1;
        }
        while e >= s && self.buggy(e) {
            if e == 0 {
                return;
            }
            e -= 1;
        }
        if s <= e {
            self.runs.insert(s, e);
        }
    }

    /// Lowest free address.
    pub(crate) fn first(&self) -> Option<u128> {
        self.runs.first_key_value().map(|(s, _)| *s)
    }

    /// Whether `a` is free.
    pub(crate) fn contains(&self, a: u128) -> bool {
        self.runs
            .range(..=a)
            .next_back()
            .is_some_and(|(_, e)| a <= *e)
    }

    /// Removes `a`; false when it was not free.
    pub(crate) fn take(&mut self, a: u128) -> bool {
        let Some((&s, &e)) = self.runs.range(..=a).next_back() else {
            return false;
        };
        if a > e {
            return false;
        }
        self.runs.remove(&s);
        if s < a {
            self.insert_run(s, a - 1);
        }
        if a < e {
            self.insert_run(a + 1, e);
        }
        true
    }

    /// Returns `a` to the set, merging with neighbours separated from it only by
    /// addresses that are never allocatable.
    pub(crate) fn give(&mut self, a: u128) {
        if self.buggy(a) || self.contains(a) {
            return;
        }
        let mut start = a;
        let mut end = a;
        if let Some((&s, &e)) = self.runs.range(..a).next_back()
            && self.only_buggy_between(e, a)
        {
            self.runs.remove(&s);
            start = s;
        }
        if let Some((&s, &e)) = self.runs.range(a..).next()
            && self.only_buggy_between(a, s)
        {
            self.runs.remove(&s);
            end = e;
        }
        self.runs.insert(start, end);
    }

    /// Whether every address strictly between `lo` and `hi` is buggy (or there is none).
    fn only_buggy_between(&self, lo: u128, hi: u128) -> bool {
        let gap = hi - lo - 1;
        gap == 0 || (gap <= 2 && (lo + 1..hi).all(|x| self.buggy(x)))
    }

    /// Number of disjoint runs (a measure of fragmentation).
    #[cfg(test)]
    pub(crate) fn runs(&self) -> usize {
        self.runs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_first_then_split_and_merge() {
        let mut f = FreeSet::new(10, 20, false);
        assert_eq!(f.first(), Some(10));
        assert!(f.take(10));
        assert_eq!(f.first(), Some(11));
        assert!(f.take(15));
        assert!(!f.take(15));
        assert!(!f.contains(15));
        assert_eq!(f.runs(), 2);
        f.give(15);
        assert_eq!(f.runs(), 1);
        f.give(10);
        assert_eq!(f.first(), Some(10));
        assert_eq!(f.runs(), 1);
        assert!(!f.take(21));
    }

    #[test]
    fn buggy_addresses_are_never_first() {
        // 10.0.0.0/23 as integers.
        let base = 0x0a00_0000u128;
        let mut f = FreeSet::new(base, base + 511, true);
        assert_eq!(f.first(), Some(base + 1));
        for i in 1..255 {
            assert!(f.take(base + i));
        }
        // .255 of the first /24 and .0 of the second are skipped.
        assert_eq!(f.first(), Some(base + 257));
        assert!(!f.take(base + 255));
        f.give(base + 255);
        assert_eq!(f.first(), Some(base + 257));
        f.give(base + 254);
        assert_eq!(f.first(), Some(base + 254));
        assert_eq!(f.runs(), 1, "merged across the buggy gap");
    }

    #[test]
    fn top_of_ipv6_space_does_not_overflow() {
        let mut f = FreeSet::new(u128::MAX - 1, u128::MAX, false);
        assert!(f.take(u128::MAX));
        f.give(u128::MAX);
        assert!(f.contains(u128::MAX));
        assert_eq!(f.runs(), 1);
    }
}
