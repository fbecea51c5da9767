//! The event queue at the heart of the simulator.
//!
//! Events are ordered by `(time, sequence)`: the sequence number is the order in which
//! they were scheduled, so two events at the same nanosecond always run in the same
//! order. The run loop pops the earliest event and jumps the clock straight to it; there
//! are no ticks, so an idle minute costs nothing.
//!
//! Most events are scheduled a fixed delay after the current time (a link's latency, a
//! flow's interval), so each such stream arrives already sorted. The queue keeps a few
//! sorted FIFO *lanes*: an event whose key is not below the last key of a lane is
//! appended to it (O(1)), and only events that fit no lane (jittered delays, timers)
//! go to a binary heap. Popping takes the smallest of the lane heads and the heap top.
//! The order popped is exactly `(time, sequence)` whichever container holds an event.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use crate::time::Instant;

/// How many sorted lanes to keep: enough for the usual streams (probes, link
/// deliveries, a few timers), few enough that scanning their heads stays cheaper than
/// a heap operation.
const LANES: usize = 4;

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

/// Where the earliest event is.
#[derive(Clone, Copy)]
enum Source {
    Lane(usize),
    Heap,
}

/// A deterministic priority queue of events with a virtual clock.
pub struct EventQueue<E> {
    /// Each lane is sorted by key (appends only ever add a larger key).
    lanes: [VecDeque<(u128, E)>; LANES],
    /// Each lane's last key (0 when empty, so that an empty lane takes anything but
    /// is the last choice), kept apart so choosing a lane touches one cache line.
    tails: [u128; LANES],
    /// Each lane's first key (`u128::MAX` when empty).
    heads: [u128; LANES],
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
            lanes: std::array::from_fn(|_| VecDeque::new()),
            tails: [0; LANES],
            heads: [u128::MAX; LANES],
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
    /// Inlined, like the pop: they run once per event and are small.
    #[inline]
    pub fn schedule(&mut self, at: Instant, event: E) {
        let at = at.max(self.now);
        let seq = self.next_seq;
        self.next_seq += 1;
        let key = (u128::from(at.as_nanos()) << 64) | u128::from(seq);
        // Best fit: the lane whose last key is the largest one not above `key`, so
        // lanes stay useful for the streams that fill them (an empty lane's 0 makes it
        // the last resort).
        let mut best = None;
        let mut best_tail = 0;
        for (i, &tail) in self.tails.iter().enumerate() {
            if tail <= key && (best.is_none() || tail > best_tail) {
                best = Some(i);
                best_tail = tail;
            }
        }
        if let Some(i) = best {
            if self.lanes[i].is_empty() {
                self.heads[i] = key;
            }
            self.tails[i] = key;
            self.lanes[i].push_back((key, event));
            return;
        }
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
        self.heap.push(Entry { key, slot });
    }

    /// The earliest event's key and where it is.
    #[inline]
    fn first(&self) -> Option<(u128, Source)> {
        let mut min = u128::MAX;
        let mut source = Source::Heap;
        for (i, &head) in self.heads.iter().enumerate() {
            if head < min {
                min = head;
                source = Source::Lane(i);
            }
        }
        match self.heap.peek() {
            Some(e) if e.key < min => Some((e.key, Source::Heap)),
            _ if min < u128::MAX => Some((min, source)),
            _ => None,
        }
    }

    /// Removes the earliest event if it is not later than `until`, advancing the clock.
    #[inline]
    pub fn pop_until(&mut self, until: Instant) -> Option<(Instant, E)> {
        let (key, source) = self.first()?;
        let at = time_of(key);
        if at > until {
            return None;
        }
        let event = match source {
            Source::Lane(i) => {
                let lane = &mut self.lanes[i];
                let (_, event) = lane.pop_front()?;
                match lane.front() {
                    Some(&(next, _)) => self.heads[i] = next,
                    None => {
                        self.heads[i] = u128::MAX;
                        self.tails[i] = 0;
                    }
                }
                event
            }
            Source::Heap => {
                let e = self.heap.pop()?;
                let event = self.slab[e.slot as usize].take()?;
                self.free.push(e.slot);
                event
            }
        };
        self.now = at;
        self.popped += 1;
        Some((at, event))
    }

    pub fn peek_time(&self) -> Option<Instant> {
        self.first().map(|(k, _)| time_of(k))
    }
    pub fn len(&self) -> usize {
        self.heap.len() + self.lanes.iter().map(VecDeque::len).sum::<usize>()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

fn time_of(key: u128) -> Instant {
    Instant::from_nanos((key >> 64) as u64)
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

    /// Lanes and heap together against a reference model: fixed-delay streams (which
    /// fill lanes), jittered ones and far timers (which spill into the heap), with every
    /// pop checked to be the reference's minimum `(time, sequence)`.
    #[test]
    fn lanes_and_heap_pop_the_reference_minimum() {
        let mut rng = crate::rng::RngTree::new(12).stream("lanes");
        let mut q = EventQueue::new();
        let mut reference: std::collections::BTreeSet<(u64, u64)> = Default::default();
        let mut seq = 0u64;
        for _ in 0..50_000 {
            if rng.chance(0.55) {
                let now = q.now().as_nanos();
                let t = match rng.below(6) {
                    0 => now + 10_000_000,
                    1 | 2 => now + 50_000,
                    3 => now + 50_000 + rng.below(10_000),
                    4 => now,
                    _ => now + rng.below(5_000_000_000),
                };
                q.schedule(Instant::from_nanos(t), seq);
                reference.insert((t, seq));
                seq += 1;
            } else {
                let want = reference.pop_first();
                let got = q.pop_until(Instant::MAX).map(|(t, e)| (t.as_nanos(), e));
                assert_eq!(got, want);
            }
            assert_eq!(q.len(), reference.len());
        }
        while let Some(want) = reference.pop_first() {
            let got = q.pop_until(Instant::MAX).map(|(t, e)| (t.as_nanos(), e));
            assert_eq!(got, Some(want));
        }
        assert!(q.is_empty());
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
