//! TCP MD5 signatures (RFC 2385) for BGP sessions: `setsockopt(TCP_MD5SIG)`.
//!
//! Neither socket2 nor nix wrap this option, and libc has the constant but not
//! `struct tcp_md5sig`; so it is declared here, matching `include/uapi/linux/tcp.h`.
//!
//! Audit notes for the one `unsafe` block: the struct is `#[repr(C)]` with the kernel's
//! layout (216 bytes, checked by a test); it is fully initialised (zeroed, then every
//! field written); the pointer and length passed to `setsockopt` describe that struct
//! exactly and it outlives the call; the descriptor is borrowed from a live socket.

#![allow(unsafe_code)]

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Longest key the kernel accepts.
pub const MAX_KEY_LEN: usize = 80;

#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: libc::c_int,
    key: [u8; MAX_KEY_LEN],
}

/// Signs every segment to and from `peer` on `socket` with `key`; an empty key removes
/// the signature. Call before `connect` (or on the listening socket).
pub fn set_tcp_md5sig(socket: BorrowedFd<'_>, peer: SocketAddr, key: &[u8]) -> io::Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "TCP MD5 key of {} bytes exceeds the kernel's {MAX_KEY_LEN}",
                key.len()
            ),
        ));
    }
    // SAFETY: all-zero bytes are a valid value for every field of this plain C struct.
    let mut sig: TcpMd5Sig = unsafe { std::mem::zeroed() };
    match peer {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*a.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            write_into(&mut sig.addr, &sin);
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            write_into(&mut sig.addr, &sin6);
        }
    }
    sig.keylen = key.len() as u16;
    sig.key[..key.len()].copy_from_slice(key);
    // SAFETY: see the module's audit notes; `sig` is a fully initialised repr(C) value
    // whose exact size is passed, and the fd is valid for the duration of the call.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_MD5SIG,
            (&raw const sig).cast(),
            size_of::<TcpMd5Sig>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Copies a socket address into the storage's leading bytes.
fn write_into<T: Copy>(storage: &mut libc::sockaddr_storage, value: &T) {
    assert!(size_of::<T>() <= size_of::<libc::sockaddr_storage>());
    // SAFETY: `sockaddr_storage` is larger than and suitably aligned for every
    // `sockaddr_*` (that is its purpose), and `T` is a plain C struct.
    unsafe { std::ptr::write((storage as *mut libc::sockaddr_storage).cast::<T>(), *value) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn struct_matches_the_kernel_layout() {
        assert_eq!(size_of::<TcpMd5Sig>(), 216);
    }

    #[test]
    fn kernel_accepts_the_option_on_a_tcp_socket() {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        set_tcp_md5sig(s.as_fd(), "127.0.0.1:179".parse().unwrap(), b"secret").unwrap();
        set_tcp_md5sig(s.as_fd(), "127.0.0.1:179".parse().unwrap(), b"").unwrap();
        let s6 = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None).unwrap();
        set_tcp_md5sig(s6.as_fd(), "[::1]:179".parse().unwrap(), b"secret").unwrap();
        assert!(set_tcp_md5sig(s.as_fd(), "127.0.0.1:179".parse().unwrap(), &[0; 81]).is_err());
    }
}
