//! Readiness and interest bit sets.

use std::fmt;
use std::ops;

/// What a source is ready for, as last reported by the OS. Only `WouldBlock` clears readiness,
/// and it never clears the closed bits, which are sticky (a closed direction stays closed). It
/// does clear the error bit: the socket's pending error is handed to the first operation that
/// asks (the kernel reports it once), so an operation that says `WouldBlock` found none left.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Ready(u8);

impl Ready {
    /// Nothing.
    pub const EMPTY: Ready = Ready(0);
    /// Reading will not block.
    pub const READABLE: Ready = Ready(0b0_0001);
    /// Writing will not block.
    pub const WRITABLE: Ready = Ready(0b0_0010);
    /// The peer closed its writing half: reads return 0 from now on.
    pub const READ_CLOSED: Ready = Ready(0b0_0100);
    /// The writing half is closed: writes fail from now on.
    pub const WRITE_CLOSED: Ready = Ready(0b0_1000);
    /// The source has a pending error: the next operation (or `take_error`) returns it. Cleared
    /// by `WouldBlock`, like readiness.
    pub const ERROR: Ready = Ready(0b1_0000);
    /// Every bit.
    pub const ALL: Ready = Ready(0b1_1111);

    pub(crate) fn from_event(event: &mio::event::Event) -> Ready {
        let mut ready = Ready::EMPTY;
        if event.is_readable() {
            ready |= Ready::READABLE;
        }
        if event.is_writable() {
            ready |= Ready::WRITABLE;
        }
        if event.is_read_closed() {
            ready |= Ready::READ_CLOSED;
        }
        // mio calls an error without a hang-up write-closed, as it is for a pipe (whose only
        // error is its reader gone). On a socket such an error closes nothing (an ICMP error on
        // a UDP socket, an entry on the error queue): it is the error bit alone, which
        // `WouldBlock` clears. A socket that failed for good also hangs up, and mio reports a
        // hang-up as read-closed too.
        let error_only = event.is_error() && !event.is_read_closed();
        if event.is_write_closed() && !error_only {
            ready |= Ready::WRITE_CLOSED;
        }
        if event.is_error() {
            ready |= Ready::ERROR;
        }
        ready
    }

    pub(crate) const fn from_bits(bits: u8) -> Ready {
        Ready(bits & Ready::ALL.0)
    }

    pub(crate) const fn bits(self) -> u8 {
        self.0
    }

    /// True if no bit is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True if every bit of `other` is set.
    pub fn contains(self, other: Ready) -> bool {
        self.0 & other.0 == other.0
    }

    /// True if any bit of `other` is set.
    pub fn intersects(self, other: Ready) -> bool {
        self.0 & other.0 != 0
    }

    /// The bits an interest cares about: its own readiness and closed bits, plus the error bit,
    /// which wakes every waiter (whichever operation comes first is answered with the pending
    /// error; the others find none, say `WouldBlock`, and wait again).
    pub(crate) fn mask_for(interest: Interest) -> Ready {
        let mut mask = Ready::ERROR;
        if interest.is_readable() {
            mask |= Ready::READABLE | Ready::READ_CLOSED;
        }
        if interest.is_writable() {
            mask |= Ready::WRITABLE | Ready::WRITE_CLOSED;
        }
        mask
    }
}

impl ops::BitOr for Ready {
    type Output = Ready;
    fn bitor(self, rhs: Ready) -> Ready {
        Ready(self.0 | rhs.0)
    }
}

impl ops::BitOrAssign for Ready {
    fn bitor_assign(&mut self, rhs: Ready) {
        self.0 |= rhs.0;
    }
}

impl ops::BitAnd for Ready {
    type Output = Ready;
    fn bitand(self, rhs: Ready) -> Ready {
        Ready(self.0 & rhs.0)
    }
}

impl ops::Sub for Ready {
    type Output = Ready;
    fn sub(self, rhs: Ready) -> Ready {
        Ready(self.0 & !rhs.0)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Ready::READABLE, "READABLE"),
            (Ready::WRITABLE, "WRITABLE"),
            (Ready::READ_CLOSED, "READ_CLOSED"),
            (Ready::WRITE_CLOSED, "WRITE_CLOSED"),
            (Ready::ERROR, "ERROR"),
        ];
        let mut set = f.debug_set();
        for (bit, name) in names {
            if self.contains(bit) {
                set.entry(&format_args!("{name}"));
            }
        }
        set.finish()
    }
}

/// What a task waits for: reading, writing, or both.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Interest(u8);

impl Interest {
    /// Waiting to read.
    pub const READABLE: Interest = Interest(0b01);
    /// Waiting to write.
    pub const WRITABLE: Interest = Interest(0b10);
    /// Either.
    pub const BOTH: Interest = Interest(0b11);

    /// Includes reading.
    pub fn is_readable(self) -> bool {
        self.0 & 0b01 != 0
    }

    /// Includes writing.
    pub fn is_writable(self) -> bool {
        self.0 & 0b10 != 0
    }
}

#[cfg(all(test, target_os = "linux", not(filch_loom)))]
mod tests {
    use super::Ready;
    use std::io;
    use std::time::{Duration, Instant};

    /// A datagram sent to a closed port brings back an ICMP error, which epoll reports as
    /// `EPOLLERR | EPOLLOUT` and mio as write-closed (what it means for a pipe). The socket still
    /// sends: a sticky write-closed bit would make every send that meets `WouldBlock` retry at
    /// once, forever, inside one poll. It must read as the error bit alone.
    #[test]
    fn an_icmp_error_on_a_udp_socket_closes_nothing() {
        // Port 1 (tcpmux): unused, and below the range that binding to port 0 hands out.
        let closed = "127.0.0.1:1".parse().unwrap();
        let mut poll = mio::Poll::new().unwrap();
        let mut socket = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        poll.registry()
            .register(
                &mut socket,
                mio::Token(0),
                mio::Interest::READABLE | mio::Interest::WRITABLE,
            )
            .unwrap();
        socket.connect(closed).unwrap();
        socket.send(b"anyone there?").unwrap();
        let mut events = mio::Events::with_capacity(8);
        let mut ready = Ready::EMPTY;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ready.contains(Ready::ERROR) && Instant::now() < deadline {
            match poll.poll(&mut events, Some(Duration::from_millis(100))) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                result => result.unwrap(),
            }
            for event in events.iter() {
                ready |= Ready::from_event(event);
            }
        }
        assert!(ready.contains(Ready::ERROR), "no error reported: {ready:?}");
        assert!(
            !ready.intersects(Ready::READ_CLOSED | Ready::WRITE_CLOSED),
            "an ICMP error closed the socket: {ready:?}"
        );
    }
}
