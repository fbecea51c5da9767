//! See `ferrolb_speaker::fuzz_harness::membership_datagram`: the same body runs over the seed
//! corpus in every `cargo test`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ferrolb_speaker::fuzz_harness::membership_datagram(data));
