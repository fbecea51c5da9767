//! A peer that sends arbitrary bytes after a valid OPEN exchange: the session never
//! panics and answers every malformed message with a NOTIFICATION.
#![no_main]

use std::net::Ipv4Addr;

use ferrolb_speaker::bgp::message::{Capability, Codec, Message, Open};
use ferrolb_speaker::bgp::session::{PeerAs, Session, SessionConfig};
use ferrolb_speaker::time::Instant;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut s = Session::new(SessionConfig::new(
        64512,
        PeerAs::Fixed(65000),
        Ipv4Addr::new(10, 0, 0, 2),
    ));
    let t = Instant::ZERO;
    s.start(t);
    s.handle_timeout(t);
    while s.poll_output().is_some() {}
    s.handle_connected(t, 1);
    let open = Message::Open(Open {
        my_as: 65000,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(10, 0, 0, 1),
        capabilities: vec![Capability::FourOctetAs(65000)],
    })
    .encode(Codec::default())
    .unwrap();
    s.handle_bytes(t, 1, &open);
    s.handle_bytes(t, 1, &Message::Keepalive.encode(Codec::default()).unwrap());
    for chunk in data.chunks(97) {
        s.handle_bytes(t, 1, chunk);
    }
    while s.poll_output().is_some() {}
});
