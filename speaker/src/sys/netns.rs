//! Entering a named network namespace (`ip netns add NAME`, i.e. `/run/netns/NAME`)
//! from the calling thread, so that one process can act on several namespaces: the
//! lab tests run their probes and echo servers as threads, each in its own namespace,
//! without depending on tools such as ping being installed.
//!
//! `setns(2)` has no safe wrapper in our dependencies. Audit notes: the descriptor is
//! an open `File` that outlives the call, and `CLONE_NEWNET` makes the kernel check it
//! is a network namespace; only the calling thread moves.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Moves the calling thread into network namespace `name`. Sockets opened afterwards
/// by this thread live there; other threads are not affected.
pub fn enter(name: &str) -> io::Result<()> {
    let f = File::open(format!("/run/netns/{name}"))?;
    // SAFETY: a valid, open descriptor for the duration of the call; the kernel
    // validates that it refers to a network namespace.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
