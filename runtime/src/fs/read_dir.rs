//! `read_dir`: a directory's entries as a stream, read in batches on the blocking pool.
//!
//! `std::fs::ReadDir` is an iterator whose every `next` may block (a `getdents` call for each
//! few dozen entries), so it moves into a blocking job that reads [`BATCH`] entries at a time
//! and comes back with them: one hand-off per batch, not per entry. The first batch is read by
//! the same job that opens the directory. Each entry's file type is taken in the job as well (on
//! Linux and most Unixes it comes with the entry, no extra call), so
//! [`DirEntry::file_type`] seldom needs a trip of its own; [`DirEntry::metadata`] always does.

use crate::coop;
use crate::task::JoinHandle;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{FileType, Metadata};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// Entries one blocking job reads (tokio's figure).
const BATCH: usize = 32;

/// The entries read so far and the rest of the directory.
struct Batch {
    entries: VecDeque<io::Result<DirEntry>>,
    /// `None` once the directory is read to its end (or could not be read on).
    rest: Option<std::fs::ReadDir>,
}

impl Batch {
    /// Reads up to [`BATCH`] more entries (blocking).
    fn fill(&mut self, dir: &Path) {
        let Some(rest) = &mut self.rest else { return };
        for _ in 0..BATCH {
            match rest.next() {
                Some(Ok(entry)) => self.entries.push_back(Ok(DirEntry::new(entry))),
                Some(Err(e)) => self.entries.push_back(Err(super::path_error(
                    "read directory",
                    dir.to_owned(),
                    None,
                    e,
                ))),
                None => {
                    self.rest = None;
                    return;
                }
            }
        }
    }
}

enum State {
    Idle(Batch),
    Busy(JoinHandle<Batch>),
    /// A job was lost (the runtime shut down); the stream has ended.
    Done,
}

/// The entries of a directory, from [`read_dir`]: a `Stream` of `io::Result<DirEntry>`, or
/// [`next_entry`](ReadDir::next_entry) in a loop. In the order the OS gives (no order at all).
///
/// ```
/// filch::run(async {
///     let mut entries = filch::fs::read_dir(".").await?;
///     let mut names = Vec::new();
///     while let Some(entry) = entries.next_entry().await? {
///         names.push(entry.file_name());
///     }
///     assert!(names.iter().any(|n| n == "Cargo.toml"));
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct ReadDir {
    path: Arc<Path>,
    state: State,
}

/// Opens the directory at `path` and reads its first entries, on the blocking pool
/// (`std::fs::read_dir`). The error names the path. `.` and `..` are not listed.
///
/// ```
/// filch::run(async {
///     let err = filch::fs::read_dir("/no/such/dir").await.unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
///     assert!(err.to_string().contains("/no/such/dir"), "{err}");
/// });
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path: Arc<Path> = path.as_ref().into();
    let dir = path.clone();
    let batch = super::run("read directory", path.to_path_buf(), None, move |p, _| {
        let mut batch = Batch {
            entries: VecDeque::with_capacity(BATCH),
            rest: Some(std::fs::read_dir(p)?),
        };
        batch.fill(&dir);
        Ok(batch)
    })
    .await?;
    Ok(ReadDir {
        path,
        state: State::Idle(batch),
    })
}

impl ReadDir {
    /// The next entry; `Ok(None)` at the end. An entry that could not be read is an `Err`
    /// naming the directory; the entries after it may still follow.
    ///
    /// ```
    /// filch::run(async {
    ///     let mut entries = filch::fs::read_dir("src").await?;
    ///     while let Some(entry) = entries.next_entry().await? {
    ///         assert!(entry.path().starts_with("src"));
    ///     }
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        std::future::poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// [`next_entry`](ReadDir::next_entry) as a poll function, for a hand-written future.
    /// Entries served from the batch in memory spend the task's cooperative budget, as a ready
    /// socket does.
    ///
    /// ```
    /// filch::run(async {
    ///     let mut entries = filch::fs::read_dir(".").await?;
    ///     let first = std::future::poll_fn(|cx| entries.poll_next_entry(cx)).await?;
    ///     assert!(first.is_some());
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        // Set once a job's poll spent the budget's unit for this call.
        let mut spent = false;
        loop {
            match &mut self.state {
                State::Done => return Poll::Ready(Ok(None)),
                State::Busy(handle) => match ready!(Pin::new(handle).poll(cx)) {
                    Ok(batch) => {
                        self.state = State::Idle(batch);
                        spent = true;
                    }
                    Err(e) => {
                        self.state = State::Done;
                        let e = io::Error::other(e);
                        let path = self.path.to_path_buf();
                        return Poll::Ready(Err(super::path_error(
                            "read directory",
                            path,
                            None,
                            e,
                        )));
                    }
                },
                State::Idle(batch) => {
                    if batch.entries.is_empty() {
                        if batch.rest.is_none() {
                            return Poll::Ready(Ok(None));
                        }
                        let mut batch = std::mem::replace(
                            batch,
                            Batch {
                                entries: VecDeque::new(),
                                rest: None,
                            },
                        );
                        let dir = self.path.clone();
                        self.state = State::Busy(crate::spawn_blocking(move || {
                            batch.fill(&dir);
                            batch
                        }));
                        continue;
                    }
                    if !spent {
                        ready!(coop::poll_proceed(cx)).made_progress();
                    }
                    let entry = batch.entries.pop_front().expect("checked: not empty");
                    return Poll::Ready(entry.map(Some));
                }
            }
        }
    }
}

impl futures_core::Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_entry(cx).map(Result::transpose)
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ReadDir");
        d.field("path", &self.path);
        match &self.state {
            State::Idle(batch) => d
                .field("buffered", &batch.entries.len())
                .field("ended", &batch.rest.is_none()),
            State::Busy(_) => d.field("busy", &true),
            State::Done => d.field("ended", &true),
        };
        d.finish()
    }
}

/// An entry of a directory, from [`ReadDir`]: its name and path at once, its file type and
/// metadata on the blocking pool when not known already.
///
/// ```
/// filch::run(async {
///     let mut entries = filch::fs::read_dir(".").await?;
///     while let Some(entry) = entries.next_entry().await? {
///         if entry.file_name() == "Cargo.toml" {
///             assert!(entry.file_type().await?.is_file());
///             assert!(entry.metadata().await?.len() > 0);
///         }
///     }
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct DirEntry {
    std: Arc<std::fs::DirEntry>,
    /// Taken when the entry was read, where that needed no call of its own.
    file_type: Option<FileType>,
}

impl DirEntry {
    fn new(std: std::fs::DirEntry) -> DirEntry {
        // From the entry itself on most Unixes; an `lstat` where the file system does not say.
        let file_type = std.file_type().ok();
        DirEntry {
            std: Arc::new(std),
            file_type,
        }
    }

    /// The entry's full path: the directory given to [`read_dir`] joined with the file name.
    ///
    /// ```
    /// filch::run(async {
    ///     let mut entries = filch::fs::read_dir("src").await?;
    ///     let entry = entries.next_entry().await?.expect("src is not empty");
    ///     assert_eq!(entry.path(), std::path::Path::new("src").join(entry.file_name()));
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The entry's file name, without the directory.
    ///
    /// ```
    /// filch::run(async {
    ///     let mut entries = filch::fs::read_dir("src").await?;
    ///     let entry = entries.next_entry().await?.expect("src is not empty");
    ///     assert!(!entry.file_name().is_empty());
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// The entry's metadata, not following a symbolic link (`std::fs::DirEntry::metadata`), on
    /// the blocking pool; the error names the entry's path.
    ///
    /// ```
    /// filch::run(async {
    ///     let mut entries = filch::fs::read_dir(".").await?;
    ///     while let Some(entry) = entries.next_entry().await? {
    ///         let _modified = entry.metadata().await?.modified()?;
    ///     }
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        match crate::spawn_blocking(move || std.metadata().map_err(|e| (std.path(), e))).await {
            Ok(Ok(metadata)) => Ok(metadata),
            Ok(Err((path, e))) => Err(super::path_error("stat", path, None, e)),
            Err(e) => Err(super::path_error(
                "stat",
                self.path(),
                None,
                io::Error::other(e),
            )),
        }
    }

    /// The entry's file type, not following a symbolic link: at once when the directory listing
    /// gave it, else on the blocking pool as [`metadata`](DirEntry::metadata).
    ///
    /// ```
    /// filch::run(async {
    ///     let mut entries = filch::fs::read_dir(".").await?;
    ///     let mut dirs = 0;
    ///     while let Some(entry) = entries.next_entry().await? {
    ///         dirs += usize::from(entry.file_type().await?.is_dir());
    ///     }
    ///     assert!(dirs > 0); // src, tests, ...
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn file_type(&self) -> io::Result<FileType> {
        match self.file_type {
            Some(file_type) => Ok(file_type),
            None => self.metadata().await.map(|m| m.file_type()),
        }
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.std.path()).finish()
    }
}
