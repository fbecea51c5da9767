//! The few operating-system calls no safe crate wraps. Each lives in its own small
//! module, is the only `unsafe` in the crate, and exposes a safe function.

pub mod md5;
pub mod netlink;
pub mod netns;
pub mod packet;

/// Registers a socket this module owns with the tokio reactor for readability (sends
/// are non-blocking calls made directly).
///
/// Only for the types of this module that own their descriptor: [`OwnsFd`] is sealed.
pub(crate) fn register_readable<T: OwnsFd>(
    sock: T,
) -> std::io::Result<tokio::io::unix::AsyncFd<T>> {
    #[allow(unsafe_code)]
    // SAFETY (tokio's `register` contract): an `OwnsFd` type owns its descriptor for as
    // long as it lives, nothing else closes it, and `as_raw_fd` always returns it.
    let r = unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(sock, tokio::io::Interest::READABLE)
    };
    r.map_err(|e| e.into_parts().1)
}

/// Sockets of this module, each owning its descriptor for its whole life.
pub(crate) trait OwnsFd: std::os::fd::AsRawFd {}
