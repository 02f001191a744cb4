//! Host ports chosen by us rather than by Docker or the kernel at each start, because a URL must
//! survive a restart: chaos experiments kill a server and expect clients to find it again.

use std::net::{Ipv4Addr, TcpListener};

use crate::error::ProvisionError;

/// Asks the kernel for a free loopback port and releases it.
///
/// There is a window in which another process can take the port; the native backend retries
/// with a new port when the server fails to bind, which closes it in practice.
pub fn free_loopback_port() -> Result<u16, ProvisionError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| ProvisionError::io("binding 127.0.0.1:0 to find a free port", e))?;
    let port = listener
        .local_addr()
        .map_err(|e| ProvisionError::io("reading the port the kernel chose", e))?
        .port();
    Ok(port)
}
