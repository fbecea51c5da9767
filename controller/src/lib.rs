//! The ferrolb controller: assigns addresses from IPAddressPools to LoadBalancer
//! Services with MetalLB's semantics.
//!
//! * [`ipam`]: the allocator (pools, sharing, counters).
//! * [`converge`]: the decision for one Service (status, annotation, events).
//! * [`plan`]: the start-up pass over a set of Services, as `ferrolb-controller plan`
//!   runs it from files.
//!
//! Everything here is synchronous and deterministic: no clock, no IO, no randomness.

pub mod converge;
pub mod events;
pub mod ipam;
pub mod plan;

pub use converge::{Controller, Outcome, Sync};
pub use events::{Event, EventType};
pub use plan::{Plan, plan};
