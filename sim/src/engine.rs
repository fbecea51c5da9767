//! The event queue at the heart of the simulator.
//!
//! Events are ordered by `(time, sequence)`: the sequence number is the order in which
//! they were scheduled, so two events at the same nanosecond always run in the same
//! order. The run loop pops the earliest event and jumps the clock straight to it; there
//! are no ticks, so an idle minute costs nothing.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::Instant;

/// The heap holds only the ordering key and a slot index (24 bytes), so sifting moves
/// little memory; the events themselves sit in a slab and never move.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    /// `(time << 64) | sequence`: one comparison orders by time, then sequence.
    key: u128,
    slot: u32,
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed so that `BinaryHeap` (a max-heap) pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}

/// A deterministic priority queue of events with a virtual clock.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    now: Instant,
    next_seq: u64,
    popped: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            now: Instant::ZERO,
            next_seq: 0,
            popped: 0,
        }
    }

    /// The time of the event being processed (or of the last one).
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Schedules `event` at `at`. A time in the past is clamped to now: causality is
    /// preserved (an effect never runs before its cause) instead of panicking.
    pub fn schedule(&mut self, at: Instant, event: E) {
        let at = at.max(self.now);
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = Some(event);
                s
            }
            None => {
                self.slab.push(Some(event));
                (self.slab.len() - 1) as u32
            }
        };
        self.heap.push(Entry {
            key: (u128::from(at.as_nanos()) << 64) | u128::from(seq),
            slot,
        });
    }

    /// Removes the earliest event if it is not later than `until`, advancing the clock.
    pub fn pop_until(&mut self, until: Instant) -> Option<(Instant, E)> {
        if Self::time_of(self.heap.peek()?) > until {
            return None;
        }
        let e = self.heap.pop()?;
        let at = Self::time_of(&e);
        self.now = at;
        self.popped += 1;
        let event = self.slab[e.slot as usize].take()?;
        self.free.push(e.slot);
        Some((at, event))
    }

    fn time_of(e: &Entry) -> Instant {
        Instant::from_nanos((e.key >> 64) as u64)
    }

    pub fn peek_time(&self) -> Option<Instant> {
        self.heap.peek().map(Self::time_of)
    }
    pub fn len(&self) -> usize {
        self.heap.len()
    }
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
    /// How many events have run: the unit of simulator work in timing reports.
    pub fn events_processed(&self) -> u64 {
        self.popped
    }
    /// Moves the clock forward to `t` without an event (end of run).
    pub fn advance_to(&mut self, t: Instant) {
        self.now = self.now.max(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    #[test]
    fn pops_in_time_order_and_jumps_the_clock() {
        let mut q = EventQueue::new();
        q.schedule(Instant::from_nanos(30), "c");
        q.schedule(Instant::from_nanos(10), "a");
        q.schedule(Instant::from_nanos(20), "b");
        let got: Vec<_> = std::iter::from_fn(|| q.pop_until(Instant::MAX)).collect();
        assert_eq!(
            got.iter().map(|(_, e)| *e).collect::<Vec<_>>(),
            vec!["a", "b", "c"]
        );
        assert_eq!(q.now(), Instant::from_nanos(30));
        assert_eq!(q.events_processed(), 3);
    }

    #[test]
    fn same_time_events_run_in_scheduling_order() {
        let mut q = EventQueue::new();
        for i in 0..100 {
            q.schedule(Instant::from_nanos(5), i);
        }
        let got: Vec<_> = std::iter::from_fn(|| q.pop_until(Instant::MAX))
            .map(|(_, e)| e)
            .collect();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn past_events_are_clamped_to_now() {
        let mut q = EventQueue::new();
        q.schedule(Instant::from_nanos(100), 1);
        q.pop_until(Instant::MAX);
        q.schedule(Instant::from_nanos(5), 2);
        assert_eq!(
            q.pop_until(Instant::MAX),
            Some((Instant::from_nanos(100), 2))
        );
    }

    /// Against a reference (sort by time, then scheduling order) with random
    /// interleavings of pushes and pops, clustered and spread times.
    #[test]
    fn pops_exactly_in_time_then_sequence_order_under_random_use() {
        let mut rng = crate::rng::RngTree::new(11).stream("queue");
        for round in 0..50 {
            let mut q = EventQueue::new();
            let mut reference: Vec<(u64, u64)> = vec![];
            let mut got = vec![];
            let mut seq = 0u64;
            for _ in 0..2000 {
                if rng.chance(0.6) {
                    let spread = if round % 2 == 0 { 5 } else { 1_000_000 };
                    let t = q.now().as_nanos() + rng.below(spread);
                    q.schedule(Instant::from_nanos(t), seq);
                    reference.push((t, seq));
                    seq += 1;
                } else if let Some((t, e)) = q.pop_until(Instant::MAX) {
                    got.push((t.as_nanos(), e));
                }
            }
            while let Some((t, e)) = q.pop_until(Instant::MAX) {
                got.push((t.as_nanos(), e));
            }
            // Replaying the reference: at each pop the minimum (time, seq) among the
            // events scheduled so far must come out; since times never go below the
            // clock, the global sort by (time, seq) of what was popped is the order.
            let mut sorted = got.clone();
            sorted.sort();
            assert_eq!(got, sorted, "round {round}");
            assert_eq!(got.len(), reference.len());
        }
    }

    #[test]
    fn an_event_scheduled_after_a_stopped_pop_still_comes_first() {
        let mut q = EventQueue::new();
        q.schedule(Instant::from_nanos(1_000), "late");
        assert!(q.pop_until(Instant::from_nanos(10)).is_none());
        q.advance_to(Instant::from_nanos(10));
        q.schedule(Instant::from_nanos(20), "early");
        assert_eq!(
            q.pop_until(Instant::MAX),
            Some((Instant::from_nanos(20), "early"))
        );
        assert_eq!(
            q.pop_until(Instant::MAX),
            Some((Instant::from_nanos(1_000), "late"))
        );
    }

    #[test]
    fn pop_until_leaves_later_events_queued() {
        let mut q = EventQueue::new();
        q.schedule(Instant::ZERO + Duration::from_secs(2), ());
        assert!(
            q.pop_until(Instant::ZERO + Duration::from_secs(1))
                .is_none()
        );
        assert_eq!(q.len(), 1);
    }
}
