//! The few operating-system calls no safe crate wraps. Each lives in its own small
//! module, is the only `unsafe` in the crate, and exposes a safe function.

pub mod md5;
pub mod packet;
