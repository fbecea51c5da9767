//! ferrolb's deterministic network simulator.
//!
//! A discrete-event simulator in virtual time: Ethernet frames over links and learning
//! switches, hosts with Linux-exact neighbour caches, pluggable host applications (the
//! seam the real speaker will plug into), traffic probes whose every fate is recorded,
//! scenario files, reports and timeline pictures. Nothing in the core reads a clock,
//! spawns a thread or draws an unseeded random number: a seed replays bit for bit.

pub mod app;
pub mod clock;
pub mod cluster;
pub mod engine;
pub mod fate;
pub mod frame;
pub mod host;
pub mod link;
pub mod neigh;
pub mod pcap;
pub mod probe;
pub mod report;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod scripted;
pub mod speaker_app;
pub mod svg;
pub mod switch;
pub mod synthetic;
pub mod tcp;
pub mod time;
pub mod trace;
pub mod traffic;
pub mod world;
