//! Any bytes into a BFD session: no panic, and the session stays consistent.
#![no_main]

use ferrolb_speaker::bfd::{BfdConfig, BfdSession};
use ferrolb_speaker::time::Instant;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut s = BfdSession::new(Instant::ZERO, BfdConfig::default(), 7, 1);
    for (i, chunk) in data.chunks(24).enumerate() {
        let now = Instant::from_nanos(i as u64 * 1_000_000);
        let _ = s.handle_control(now, chunk, 255);
        s.handle_echo(now, chunk);
        s.handle_timeout(now);
        while s.poll_transmit().is_some() {}
    }
});
