//! Files and directories, asynchronously: `std::fs` on the blocking pool.
//!
//! There is no readiness for regular files in epoll (a file is always "ready", and a read of a
//! cold page blocks the thread), so filch does what tokio and async-std do: the operation runs on
//! a thread of the blocking pool (`spawn_blocking`) and the task waits for it without holding its
//! worker. The cost is a hand-off to a pool thread and back per call, a few microseconds.
//!
//! # What is here
//!
//! - Whole-file and directory calls ([`read`], [`read_to_string`], [`write`](write()), [`copy`],
//!   [`rename`], [`remove_file`], [`create_dir_all`], [`remove_dir_all`], [`metadata`], ...):
//!   one hand-off each, which is what they are worth.
//! - [`File`] (opened by [`File::open`], [`File::create`] or [`OpenOptions`]): `AsyncRead`,
//!   `AsyncWrite` and `AsyncSeek` from `futures-io`, used through [`filch::io`]'s `AsyncReadExt`,
//!   `AsyncWriteExt` and `AsyncSeekExt`.
//! - [`read_dir`]: a directory's entries as a `Stream` (or [`ReadDir::next_entry`]).
//!
//! # A `File` buffers
//!
//! A hand-off per `read` or `write` call would make a loop of small ones cost microseconds
//! each, so a `File` keeps a buffer and at most one blocking job in flight, as tokio's does; the
//! `std::fs::File` sits in an `Arc` that the job holds a clone of, and the buffer moves into the
//! job and back (the state machine is documented in `fs/buffer.rs`).
//!
//! - **Reads**: a read that finds the buffer empty makes one blocking read of 64 KiB (or of the
//!   caller's size, if larger, up to 2 MiB); later reads are copied from the buffer. A file that
//!   cannot seek (a FIFO, a terminal, a socket) is read no further than the caller asks, since
//!   bytes read ahead could not be given back to a write or a seek. A seek accounts for the bytes
//!   read ahead and not yet consumed (`SeekFrom::Current` counts from where the reading got to)
//!   and drops them; one that fails leaves the position where it was.
//! - **Writes** are copied into the buffer and return at once; the buffer is written on the pool
//!   when it holds 64 KiB, and before a flush, close, seek or read completes (a read sees the
//!   file's own writes). A write after a partial read goes where the reading got to.
//! - **Cost**: one hand-off per 64 KiB read or written, however small the calls; whole-file
//!   calls and `metadata`, `set_len`, `sync_all` one each.
//! - **Write errors come late**: a write returns `Ok` once its bytes are buffered; if writing
//!   them fails, the error goes to the next call that waits for that write (a write, flush,
//!   close, read or seek). Flush (or close) at the end, and check its result.
//! - **Dropping a `File` never loses its writes**, only their error: buffered writes are handed
//!   to the pool when the `File` is dropped, a write in flight finishes, and if the runtime
//!   shuts down before a pool thread takes the job, the thread that cancels it writes them.
//!   (The same promise tokio makes, kept here without a special kind of blocking job.)
//! - **The cooperative budget**: a read or write served from the buffer never waits, so it
//!   spends a unit of the task's budget as a ready socket does (through `coop::poll_proceed`,
//!   the check every leaf resource makes); a task reading a file one byte at a time still gives
//!   its worker back every 128 calls. So do `ReadDir`'s entries served from memory.
//!
//! # Directories are read in batches
//!
//! Each trip to the pool reads up to 32 entries (the first trip also opens the directory) and
//! the file type of each, which Linux and most Unixes give with the entry; so listing a large
//! directory costs one hand-off per 32 entries, and [`DirEntry::file_type`] seldom needs one.
//!
//! # Errors name their paths
//!
//! Every error names the path it concerns (and, for `copy`, `rename` and `hard_link`, both),
//! which `std::fs`'s errors do not: `read("config.toml")` fails with
//! ``read `config.toml`: No such file or directory (os error 2)``. The error's
//! [`kind`](std::io::Error::kind) is the original one, and the original error is its
//! [`source`](std::error::Error::source). A `File` opened by path names it in the errors of its
//! reads, writes, seeks and syncs too; one made by [`File::from_std`] cannot.
//!
//! ```
//! use filch::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, SeekFrom};
//!
//! filch::run(async {
//!     let dir = std::env::temp_dir().join(format!("filch-fs-doc-{}", std::process::id()));
//!     filch::fs::create_dir_all(&dir).await?;
//!
//!     // Whole files: one hand-off each.
//!     let hello = dir.join("hello.txt");
//!     filch::fs::write(&hello, "hello, filch").await?;
//!     assert_eq!(filch::fs::read_to_string(&hello).await?, "hello, filch");
//!     assert_eq!(filch::fs::metadata(&hello).await?.len(), 12);
//!     let missing = filch::fs::read(dir.join("missing")).await.unwrap_err();
//!     assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
//!     assert!(missing.to_string().contains("missing"), "{missing}");
//!
//!     // A File: 10,000 small writes (60 KB), one hand-off at the flush, where a write error
//!     // would show.
//!     let mut file = filch::fs::File::create(dir.join("numbers.txt")).await?;
//!     for i in 0..10_000 {
//!         file.write_all(format!("{i:05}\n").as_bytes()).await?;
//!     }
//!     file.flush().await?;
//!
//!     // Read one line, then seek relative to where the reading got to.
//!     let mut file = filch::fs::File::open(dir.join("numbers.txt")).await?;
//!     let mut line = [0u8; 6];
//!     file.read_exact(&mut line).await?; // 64 KiB read ahead
//!     assert_eq!(&line, b"00000\n");
//!     assert_eq!(file.seek(SeekFrom::Current(6 * 41)).await?, 6 * 42);
//!     file.read_exact(&mut line).await?;
//!     assert_eq!(&line, b"00042\n");
//!
//!     // The directory, 32 entries per hand-off.
//!     let mut entries = filch::fs::read_dir(&dir).await?;
//!     let mut names = Vec::new();
//!     while let Some(entry) = entries.next_entry().await? {
//!         names.push(entry.file_name());
//!     }
//!     names.sort();
//!     assert_eq!(names, ["hello.txt", "numbers.txt"]);
//!
//!     filch::fs::remove_dir_all(&dir).await?;
//!     Ok::<_, std::io::Error>(())
//! })
//! .unwrap();
//! ```
//!
//! [`filch::io`]: https://docs.rs/filch/latest/filch/io/

mod buffer;
mod file;
mod open_options;
mod read_dir;

pub use file::File;
pub use open_options::OpenOptions;
pub use read_dir::{read_dir, DirEntry, ReadDir};

use std::error::Error;
use std::fmt;
use std::fs::{Metadata, Permissions};
use std::io;
use std::path::{Path, PathBuf};

/// An `io::Error` that says which operation failed on which path(s).
#[derive(Debug)]
struct PathError {
    op: &'static str,
    path: PathBuf,
    /// The second path of `copy`, `rename` and `hard_link`.
    to: Option<PathBuf>,
    source: io::Error,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}`", self.op, self.path.display())?;
        if let Some(to) = &self.to {
            write!(f, " to `{}`", to.display())?;
        }
        write!(f, ": {}", self.source)
    }
}

impl Error for PathError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// `source` as an `io::Error` of the same kind that names `op` and the path(s).
fn path_error(
    op: &'static str,
    path: PathBuf,
    to: Option<PathBuf>,
    source: io::Error,
) -> io::Error {
    io::Error::new(
        source.kind(),
        PathError {
            op,
            path,
            to,
            source,
        },
    )
}

/// Runs `f` on the blocking pool, naming `path` (and `to`) in its error.
async fn run<T, F>(op: &'static str, path: PathBuf, to: Option<PathBuf>, f: F) -> io::Result<T>
where
    F: FnOnce(&Path, Option<&Path>) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let joined = crate::spawn_blocking(move || {
        f(&path, to.as_deref()).map_err(|source| path_error(op, path, to, source))
    })
    .await;
    match joined {
        Ok(result) => result,
        // The runtime shut down before the job ran (or the job panicked, which std's file
        // calls do not).
        Err(e) => Err(io::Error::other(format!("{op}: {e}"))),
    }
}

/// An async function over one path: `std`'s function `$std` on the blocking pool, its error
/// naming the path.
macro_rules! one_path {
    ($(#[$doc:meta])* $name:ident -> $out:ty, $op:literal, $std:path) => {
        $(#[$doc])*
        pub async fn $name(path: impl AsRef<Path>) -> io::Result<$out> {
            run($op, path.as_ref().to_owned(), None, |p, _| $std(p)).await
        }
    };
}

/// An async function over two paths (`from`, `to`), both named in its error.
macro_rules! two_paths {
    ($(#[$doc:meta])* $name:ident -> $out:ty, $op:literal, $std:path) => {
        $(#[$doc])*
        pub async fn $name(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<$out> {
            let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
            run($op, from, Some(to), |from, to| {
                $std(from, to.expect("a destination is always given"))
            })
            .await
        }
    };
}

one_path!(
    /// Reads a whole file (`std::fs::read`).
    read -> Vec<u8>, "read", std::fs::read
);
one_path!(
    /// Reads a whole file as UTF-8 (`std::fs::read_to_string`); `InvalidData` if it is not.
    read_to_string -> String, "read", std::fs::read_to_string
);
one_path!(
    /// Removes a file (`std::fs::remove_file`).
    remove_file -> (), "remove", std::fs::remove_file
);
one_path!(
    /// Creates a directory; its parent must exist (`std::fs::create_dir`).
    create_dir -> (), "create directory", std::fs::create_dir
);
one_path!(
    /// Creates a directory and any missing parents (`std::fs::create_dir_all`).
    create_dir_all -> (), "create directory", std::fs::create_dir_all
);
one_path!(
    /// Removes an empty directory (`std::fs::remove_dir`).
    remove_dir -> (), "remove directory", std::fs::remove_dir
);
one_path!(
    /// Removes a directory and everything in it (`std::fs::remove_dir_all`).
    remove_dir_all -> (), "remove directory", std::fs::remove_dir_all
);
one_path!(
    /// A path's metadata, following symbolic links (`std::fs::metadata`).
    metadata -> Metadata, "stat", std::fs::metadata
);
one_path!(
    /// A path's metadata, not following a final symbolic link (`std::fs::symlink_metadata`).
    symlink_metadata -> Metadata, "stat", std::fs::symlink_metadata
);
one_path!(
    /// The absolute path with every link resolved (`std::fs::canonicalize`).
    canonicalize -> PathBuf, "canonicalize", std::fs::canonicalize
);
one_path!(
    /// What a symbolic link points to (`std::fs::read_link`).
    read_link -> PathBuf, "read link", std::fs::read_link
);
one_path!(
    /// Whether the path exists; an error if that cannot be told (a permission denied on the
    /// way), unlike `Path::exists`, which says false (`Path::try_exists`).
    try_exists -> bool, "stat", Path::try_exists
);

two_paths!(
    /// Copies a file's contents and permissions; returns the bytes copied (`std::fs::copy`).
    copy -> u64, "copy", std::fs::copy
);
two_paths!(
    /// Renames a file or directory, replacing the destination if it is a file
    /// (`std::fs::rename`).
    rename -> (), "rename", std::fs::rename
);
two_paths!(
    /// Makes a hard link `to` to the file `from` (`std::fs::hard_link`).
    hard_link -> (), "link", std::fs::hard_link
);

/// Writes `contents` as the whole file, creating or truncating it (`std::fs::write`).
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let contents = contents.as_ref().to_owned();
    run("write", path.as_ref().to_owned(), None, move |p, _| {
        std::fs::write(p, contents)
    })
    .await
}

/// Sets a file's permissions (`std::fs::set_permissions`).
pub async fn set_permissions(path: impl AsRef<Path>, perm: Permissions) -> io::Result<()> {
    run(
        "set permissions of",
        path.as_ref().to_owned(),
        None,
        move |p, _| std::fs::set_permissions(p, perm),
    )
    .await
}
