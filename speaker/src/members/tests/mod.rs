//! The deterministic test harness ([`net`]) and the scenarios that measure the
//! targets: detection time (a), no false failure under loss (b), traffic that does not
//! grow with the cluster (c), graceful leave (d), restarts (e), hostile input (f).
//!
//! Run with `--nocapture` to see the measured distributions, e.g.
//! `cargo test -p ferrolb-speaker members -- --nocapture`; the hour-long sweep is
//! `cargo test --release -p ferrolb-speaker members -- --ignored --nocapture`.

mod detection;
mod fuzz;
mod lifecycle;
mod net;
mod stability;
mod traffic;
