//! Unix domain sockets: [`UnixListener`], [`UnixStream`] and [`UnixDatagram`].
//!
//! They work like their TCP and UDP counterparts, with file-system paths (or unnamed sockets)
//! as addresses, given as `std::os::unix::net::SocketAddr`. A listener or a bound datagram socket
//! does not remove its path when dropped, as with `std`: remove it yourself.

mod datagram;
mod listener;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use stream::UnixStream;
