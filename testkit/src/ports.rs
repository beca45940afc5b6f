//! Free loopback ports.

use std::net::TcpListener;

/// A loopback port free right now (the OS picks it; another process could take it before
/// the caller binds it, which on a test machine does not happen in practice).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("binding a free port")
        .local_addr()
        .expect("local address")
        .port()
}
