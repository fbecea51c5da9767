//! Any bytes: decoding never panics, and whatever decodes re-encodes to bytes that
//! decode to the same message.
#![no_main]

use ferrolb_speaker::bgp::message::{Codec, Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for codec in [
        Codec {
            four_octet_as: true,
        },
        Codec {
            four_octet_as: false,
        },
    ] {
        if let Ok(m) = Message::decode(data, codec) {
            if let Ok(again) = m.encode(codec) {
                let back = Message::decode(&again, codec).expect("our own encoding decodes");
                assert_eq!(back, m);
            }
        }
    }
});
