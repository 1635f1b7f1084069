//! TCP: [`TcpListener`], [`TcpStream`], the halves of a split stream, and [`TcpSocket`] to set
//! options before connecting or listening.

mod listener;
#[cfg(unix)]
mod socket;
mod split;
mod stream;

pub use listener::TcpListener;
#[cfg(unix)]
pub use socket::TcpSocket;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use stream::TcpStream;
