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

/// A frame in flight: an index into a [`FramePool`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameId(u32);

/// Frames in flight, shared by reference count: a flooded frame crosses several links
/// at once, and a duplicated one arrives twice, without being copied. The last release
/// hands the buffer back so that it can be built in again: the steady state of a run
/// allocates nothing per packet (an `Rc<Vec<u8>>` per frame cost two allocations and
/// two frees).
#[derive(Debug, Default)]
pub struct FramePool {
    bufs: Vec<Vec<u8>>,
    refs: Vec<u32>,
    free: Vec<u32>,
}

impl FramePool {
    /// Takes ownership of `frame`, with `refs` references (one per pending delivery).
    pub fn insert(&mut self, frame: Vec<u8>, refs: u32) -> FrameId {
        match self.free.pop() {
            Some(i) => {
                self.bufs[i as usize] = frame;
                self.refs[i as usize] = refs;
                FrameId(i)
            }
            None => {
                self.bufs.push(frame);
                self.refs.push(refs);
                FrameId((self.bufs.len() - 1) as u32)
            }
        }
    }
    /// More holders of `id` (a switch forwarding it on).
    pub fn retain(&mut self, id: FrameId, more: u32) {
        self.refs[id.0 as usize] += more;
    }
    /// Lends the bytes out while the frame is processed (the world needs `&mut self`
    /// meanwhile); [`FramePool::put_back`] returns them.
    pub fn take(&mut self, id: FrameId) -> Vec<u8> {
        std::mem::take(&mut self.bufs[id.0 as usize])
    }
    /// Returns lent bytes and drops one reference. The buffer comes back out when that
    /// was the last one, for reuse.
    pub fn put_back(&mut self, id: FrameId, frame: Vec<u8>) -> Option<Vec<u8>> {
        let i = id.0 as usize;
        self.refs[i] -= 1;
        if self.refs[i] == 0 {
            self.free.push(id.0);
            return Some(frame);
        }
        self.bufs[i] = frame;
        None
    }
    /// Frames currently held (for tests).
    pub fn live(&self) -> usize {
        self.bufs.len() - self.free.len()
    }
}

/// A stack of empty buffers to build frames in, refilled with delivered frames.
#[derive(Debug, Default)]
pub struct SpareBuffers(Vec<Vec<u8>>);

/// Spare buffers kept beyond this are dropped (a burst of floods should not pin
/// memory for the rest of the run).
const MAX_SPARE: usize = 1024;

impl SpareBuffers {
    /// An empty buffer (a recycled one when there is one).
    pub fn take(&mut self) -> Vec<u8> {
        self.0.pop().unwrap_or_default()
    }
    pub fn give(&mut self, mut buf: Vec<u8>) {
        if self.0.len() < MAX_SPARE && buf.capacity() > 0 {
            buf.clear();
            self.0.push(buf);
        }
    }
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

    #[test]
    fn pooled_frames_live_until_the_last_release_and_buffers_come_back() {
        let mut pool = FramePool::default();
        let a = pool.insert(vec![1, 2, 3], 1);
        pool.retain(a, 1);
        let f = pool.take(a);
        assert_eq!(f, [1, 2, 3]);
        assert_eq!(pool.put_back(a, f), None);
        assert_eq!(pool.live(), 1);
        let f = pool.take(a);
        let back = pool.put_back(a, f).expect("last holder gets the buffer");
        assert_eq!(pool.live(), 0);
        let mut spare = SpareBuffers::default();
        spare.give(back);
        let buf = spare.take();
        assert!(buf.is_empty() && buf.capacity() >= 3);
        assert_eq!(pool.insert(vec![9], 1), a, "the slot is reused");
    }
}
