//! Address resolution: literal addresses inline, host names on a short-lived helper thread.
//!
//! The reactor must not depend on the runtime, so a lookup cannot use `spawn_blocking`: a name
//! that needs DNS is resolved by `std`'s blocking resolver on a thread of its own, which hands the
//! result back through a one-shot slot and wakes the awaiting task. Everything that can be decided
//! without DNS (a literal `SocketAddr`, an `(IpAddr, u16)`, a `"1.2.3.4:80"` string, a string
//! with no port or a port that is not a `u16`) is answered on the caller's thread at once.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

/// Something that names one or more socket addresses: what [`TcpListener::bind`],
/// [`TcpStream::connect`] and [`UdpSocket::bind`] take.
///
/// Implemented for [`SocketAddr`] (and its V4/V6 forms), `(IpAddr, u16)` (and the V4/V6 forms),
/// `(&str, u16)`, `(String, u16)`, `&str` and `String` (`"host:port"`), `&[SocketAddr]`, and
/// references to any of these. Literal addresses resolve without blocking; a host name is
/// looked up on a short-lived helper thread, so awaiting it never blocks a worker. A malformed
/// address or one the resolver cannot find is an `io::Error`, never a panic.
///
/// The trait is sealed: its method is private to filch.
///
/// # Examples
///
/// ```no_run
/// use std::net::{Ipv4Addr, SocketAddr};
///
/// filch::run(async {
///     // All of these name the same address:
///     let a = filch::net::TcpListener::bind("127.0.0.1:0").await?;
///     let b = filch::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
///     let c = filch::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
///     // This one asks the system resolver, on a helper thread:
///     let d = filch::net::TcpListener::bind("localhost:0").await?;
///     # drop((a, b, c, d));
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap();
/// ```
///
/// [`TcpListener::bind`]: crate::net::TcpListener::bind
/// [`TcpStream::connect`]: crate::net::TcpStream::connect
/// [`UdpSocket::bind`]: crate::net::UdpSocket::bind
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

// The sealing trait must be `pub` to be a supertrait of a public trait, but it sits in a private
// module so that no one outside can name or implement it.
// The same goes for the type its method returns.
#[allow(unreachable_pub)]
mod sealed {
    use std::io;
    use std::net::SocketAddr;

    /// The private half of [`super::ToSocketAddrs`].
    pub trait ToSocketAddrsPriv {
        /// Resolves what can be resolved without blocking; names a lookup for the rest.
        fn resolution(&self) -> Resolution;
    }

    /// The first step of resolving: either the answer, or the lookup to run on a helper thread.
    #[derive(Debug)]
    pub enum Resolution {
        Done(io::Result<Vec<SocketAddr>>),
        Lookup { host: String, port: u16 },
    }
}

use sealed::Resolution;

/// Resolves `addr` to its socket addresses (never empty on success).
pub(crate) async fn resolve<A: ToSocketAddrs>(addr: A) -> io::Result<Vec<SocketAddr>> {
    let addrs = match addr.resolution() {
        Resolution::Done(result) => result?,
        Resolution::Lookup { host, port } => Lookup::start(host, port)?.await?,
    };
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to no socket address",
        ));
    }
    Ok(addrs)
}

/// Runs `attempt` on each address of `addr` in turn; the first success, or the last error.
pub(crate) async fn each_addr<A, T, F, Fut>(addr: A, mut attempt: F) -> io::Result<T>
where
    A: ToSocketAddrs,
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let mut last_err = None;
    for addr in resolve(addr).await? {
        match attempt(addr).await {
            Ok(value) => return Ok(value),
            Err(e) => last_err = Some(e),
        }
    }
    // `resolve` never returns an empty list, so an attempt was made and failed.
    Err(last_err.unwrap_or_else(|| io::Error::other("no address to try")))
}

impl ToSocketAddrs for SocketAddr {}
impl sealed::ToSocketAddrsPriv for SocketAddr {
    fn resolution(&self) -> Resolution {
        Resolution::Done(Ok(vec![*self]))
    }
}

impl ToSocketAddrs for SocketAddrV4 {}
impl sealed::ToSocketAddrsPriv for SocketAddrV4 {
    fn resolution(&self) -> Resolution {
        SocketAddr::V4(*self).resolution()
    }
}

impl ToSocketAddrs for SocketAddrV6 {}
impl sealed::ToSocketAddrsPriv for SocketAddrV6 {
    fn resolution(&self) -> Resolution {
        SocketAddr::V6(*self).resolution()
    }
}

impl ToSocketAddrs for (IpAddr, u16) {}
impl sealed::ToSocketAddrsPriv for (IpAddr, u16) {
    fn resolution(&self) -> Resolution {
        SocketAddr::from(*self).resolution()
    }
}

impl ToSocketAddrs for (Ipv4Addr, u16) {}
impl sealed::ToSocketAddrsPriv for (Ipv4Addr, u16) {
    fn resolution(&self) -> Resolution {
        SocketAddr::from(*self).resolution()
    }
}

impl ToSocketAddrs for (Ipv6Addr, u16) {}
impl sealed::ToSocketAddrsPriv for (Ipv6Addr, u16) {
    fn resolution(&self) -> Resolution {
        SocketAddr::from(*self).resolution()
    }
}

impl ToSocketAddrs for [SocketAddr] {}
impl sealed::ToSocketAddrsPriv for [SocketAddr] {
    fn resolution(&self) -> Resolution {
        Resolution::Done(Ok(self.to_vec()))
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl sealed::ToSocketAddrsPriv for (&str, u16) {
    fn resolution(&self) -> Resolution {
        let (host, port) = *self;
        match host.parse::<IpAddr>() {
            Ok(ip) => (ip, port).resolution(),
            Err(_) => Resolution::Lookup {
                host: host.to_owned(),
                port,
            },
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl sealed::ToSocketAddrsPriv for (String, u16) {
    fn resolution(&self) -> Resolution {
        (self.0.as_str(), self.1).resolution()
    }
}

impl ToSocketAddrs for str {}
impl sealed::ToSocketAddrsPriv for str {
    /// The checks `std` makes before it asks the resolver, made here so that a malformed
    /// address costs no thread.
    fn resolution(&self) -> Resolution {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return addr.resolution();
        }
        let invalid = |msg: &str| {
            Resolution::Done(Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{msg}: {self:?}"),
            )))
        };
        let Some((host, port)) = self.rsplit_once(':') else {
            return invalid("invalid socket address (expected \"host:port\")");
        };
        let Ok(port) = port.parse::<u16>() else {
            return invalid("invalid port in socket address");
        };
        if host.is_empty() {
            return invalid("invalid socket address (no host)");
        }
        (host, port).resolution()
    }
}

impl ToSocketAddrs for String {}
impl sealed::ToSocketAddrsPriv for String {
    fn resolution(&self) -> Resolution {
        self.as_str().resolution()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrs + ?Sized> sealed::ToSocketAddrsPriv for &T {
    fn resolution(&self) -> Resolution {
        (**self).resolution()
    }
}

/// A host-name lookup running on a helper thread; resolves to its result.
///
/// Dropping it does not stop the thread (a blocking `getaddrinfo` cannot be cancelled): the
/// thread finishes on its own and its result is dropped.
struct Lookup {
    slot: Arc<Mutex<Slot>>,
}

#[derive(Default)]
struct Slot {
    result: Option<io::Result<Vec<SocketAddr>>>,
    waker: Option<Waker>,
}

impl Lookup {
    fn start(host: String, port: u16) -> io::Result<Lookup> {
        let slot = Arc::new(Mutex::new(Slot::default()));
        let theirs = slot.clone();
        std::thread::Builder::new()
            .name("filch-resolver".to_owned())
            .spawn(move || {
                let result = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
                    .map(Iterator::collect);
                let waker = {
                    let mut slot = theirs.lock().unwrap_or_else(PoisonError::into_inner);
                    slot.result = Some(result);
                    slot.waker.take()
                };
                // Woken with no lock held: the waker may run arbitrary code.
                if let Some(waker) = waker {
                    waker.wake();
                }
            })?;
        Ok(Lookup { slot })
    }
}

impl Future for Lookup {
    type Output = io::Result<Vec<SocketAddr>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let lock = || self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        {
            let mut slot = lock();
            if let Some(result) = slot.result.take() {
                return Poll::Ready(result);
            }
            if slot.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                return Poll::Pending;
            }
        }
        // A waker's clone and drop are user code: outside the lock.
        let new = cx.waker().clone();
        let mut slot = lock();
        if let Some(result) = slot.result.take() {
            return Poll::Ready(result);
        }
        let old = slot.waker.replace(new);
        drop(slot);
        drop(old);
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::sealed::ToSocketAddrsPriv;
    use super::Resolution;
    use std::io;

    fn inline(addr: &str) -> io::Result<Vec<std::net::SocketAddr>> {
        match addr.resolution() {
            Resolution::Done(result) => result,
            Resolution::Lookup { host, port } => panic!("{addr:?} needs a lookup of {host}:{port}"),
        }
    }

    #[test]
    fn literal_addresses_resolve_inline() {
        assert_eq!(
            inline("127.0.0.1:80").unwrap(),
            vec!["127.0.0.1:80".parse().unwrap()]
        );
        assert_eq!(
            inline("[::1]:80").unwrap(),
            vec!["[::1]:80".parse().unwrap()]
        );
        assert!(matches!(
            ("127.0.0.1", 9).resolution(),
            Resolution::Done(Ok(_))
        ));
    }

    #[test]
    fn malformed_addresses_fail_inline_with_invalid_input() {
        for bad in [
            "not an address",
            "127.0.0.1:99999",
            "127.0.0.1:",
            ":80",
            "host:port",
        ] {
            let err = inline(bad).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn host_names_need_a_lookup() {
        assert!(matches!(
            "localhost:80".resolution(),
            Resolution::Lookup { ref host, port: 80 } if host == "localhost"
        ));
    }
}
