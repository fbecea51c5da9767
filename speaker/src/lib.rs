//! The ferrolb speaker: decides, on every node, which load-balancer addresses this node
//! announces, and announces them.
//!
//! Every core here is a synchronous state machine: time comes in as a value
//! ([`time::Instant`]), randomness from a seeded generator handed in, and effects go out
//! through the caller. The Linux driver and the simulator run the same code.

pub mod announce;
pub mod bfd;
pub mod bgp;
pub mod driver;
pub mod election;
#[doc(hidden)]
pub mod fuzz_harness;
pub mod interfaces;
pub mod io;
pub mod layer2;
pub mod members;
pub mod node_meta;
pub mod speaker;
pub mod standalone;
pub mod sys;
pub mod time;
pub use speaker::{Speaker, SpeakerConfig};
