//! Any bytes: decoding never panics, and whatever decodes cleanly re-encodes to bytes
//! that decode to the same message. (An UPDATE decoded as "treat-as-withdraw" carries
//! a diagnosis of bytes the encoder never writes back, so it has no round trip.)
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
        if let Ok(m) = Message::decode(data, codec)
            && !matches!(&m, Message::Update(u) if u.treat_as_withdraw.is_some())
        {
            if let Ok(again) = m.encode(codec) {
                let back = Message::decode(&again, codec).expect("our own encoding decodes");
                assert_eq!(back, m);
            }
        }
    }
});
