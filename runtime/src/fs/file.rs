//! `File`: an open file, read and written through a buffer on the blocking pool.
//!
//! The public face of [`buffer`](super::buffer), which holds the state machine; the calls that do
//! not touch the buffer (`metadata`, `set_permissions`, `try_clone`) go to the pool directly.

use super::buffer::{name, Buffered};
use super::OpenOptions;
use std::fmt;
use std::fs::{File as StdFile, Metadata, Permissions};
use std::io::{self, SeekFrom};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

/// An open file: `std::fs::File` for tasks, with [`AsyncRead`](futures_io::AsyncRead),
/// [`AsyncWrite`](futures_io::AsyncWrite) and [`AsyncSeek`](futures_io::AsyncSeek) (use them
/// through [`filch::io`](https://docs.rs/filch/latest/filch/io/)'s `AsyncReadExt`,
/// `AsyncWriteExt` and `AsyncSeekExt`).
///
/// Reads and writes go through a buffer, so that small ones do not each cost a trip to the
/// blocking pool: a read that finds the buffer empty reads 64 KiB (or the caller's size, up to 2
/// MiB) on the pool, and later reads are served from memory (a file that cannot seek, such as a
/// FIFO, is read no further than each read asks); writes are copied into the buffer
/// and written on the pool once it holds 64 KiB, or on [`flush`](futures_io::AsyncWrite::poll_flush).
/// See the [module docs](super) for the design and the cost.
///
/// **Errors of buffered writes come late.** A write returns as soon as its bytes are in the
/// buffer; if writing them to the file fails, the error is returned by the next call that waits
/// for that write: the next write, or a flush, read or seek. The error is returned once, and the
/// bytes that failed are not tried again. Call `flush` (or `close`) at the end and check it. A
/// `File` dropped with writes still buffered or in flight has them written
/// all the same (even if the runtime shuts down meanwhile), but any error is lost, as with
/// tokio's `File`.
///
/// ```
/// use filch::fs::File;
/// use filch::io::{AsyncReadExt, AsyncWriteExt};
///
/// filch::run(async {
///     let path = std::env::temp_dir().join(format!("filch-doc-file-{}", std::process::id()));
///     let mut file = File::create(&path).await?;
///     for i in 0..1000 {
///         file.write_all(format!("line {i}\n").as_bytes()).await?; // into the buffer
///     }
///     file.flush().await?; // to the file, on the blocking pool; a write error shows here
///     let mut text = String::new();
///     File::open(&path).await?.read_to_string(&mut text).await?;
///     assert_eq!(text.lines().count(), 1000);
///     filch::fs::remove_file(&path).await
/// })
/// .unwrap();
/// ```
pub struct File {
    inner: Buffered,
}

impl File {
    /// Opens a file for reading (`std::fs::File::open`); the error names the path.
    ///
    /// ```
    /// filch::run(async {
    ///     let err = filch::fs::File::open("/no/such/file").await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    ///     assert!(err.to_string().contains("/no/such/file"), "{err}");
    /// });
    /// ```
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens a file for writing, creating it or truncating it (`std::fs::File::create`).
    ///
    /// ```
    /// use filch::io::AsyncWriteExt;
    ///
    /// filch::run(async {
    ///     let path = std::env::temp_dir().join(format!("filch-doc-create-{}", std::process::id()));
    ///     let mut file = filch::fs::File::create(&path).await?;
    ///     file.write_all(b"hello").await?;
    ///     file.flush().await?;
    ///     assert_eq!(filch::fs::read(&path).await?, b"hello");
    ///     filch::fs::remove_file(&path).await
    /// })
    /// .unwrap();
    /// ```
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Creates a new file for reading and writing; `AlreadyExists` if there is one
    /// (`std::fs::File::create_new`).
    ///
    /// ```
    /// filch::run(async {
    ///     let path = std::env::temp_dir().join(format!("filch-doc-new-{}", std::process::id()));
    ///     filch::fs::File::create_new(&path).await?;
    ///     let err = filch::fs::File::create_new(&path).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    ///     filch::fs::remove_file(&path).await
    /// })
    /// .unwrap();
    /// ```
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// The options to open a file with, all off: the same as [`OpenOptions::new`].
    ///
    /// ```
    /// filch::run(async {
    ///     let path = std::env::temp_dir().join(format!("filch-doc-options-{}", std::process::id()));
    ///     let file = filch::fs::File::options().write(true).create(true).open(&path).await?;
    ///     drop(file);
    ///     filch::fs::remove_file(&path).await
    /// })
    /// .unwrap();
    /// ```
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open `std::fs::File`. Its errors name no path: the path is not known.
    ///
    /// ```
    /// filch::run(async {
    ///     let std = std::fs::File::open("Cargo.toml")?;
    ///     let file = filch::fs::File::from_std(std);
    ///     assert!(file.metadata().await?.is_file());
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn from_std(std: StdFile) -> File {
        File {
            inner: Buffered::new(std, None),
        }
    }

    /// Opened by [`OpenOptions::open`]: errors will name `path`.
    pub(super) fn from_std_at(std: StdFile, path: &Path) -> File {
        File {
            inner: Buffered::new(std, Some(path.into())),
        }
    }

    /// The `std::fs::File`, once the buffered writes are written (their error is returned) and
    /// the OS cursor is moved back over any read-ahead, so that it is at this file's position.
    ///
    /// If an operation whose future was dropped still holds the file on the blocking pool, the
    /// result is a duplicate handle (`try_clone`), which shares the cursor.
    ///
    /// ```
    /// use filch::io::AsyncWriteExt;
    /// use std::io::{Read, Seek};
    ///
    /// filch::run(async {
    ///     let path = std::env::temp_dir().join(format!("filch-doc-into-{}", std::process::id()));
    ///     let mut file = filch::fs::File::options()
    ///         .read(true).write(true).create(true).truncate(true).open(&path).await?;
    ///     file.write_all(b"abc").await?; // still buffered
    ///     let mut std = file.into_std().await?; // written
    ///     std.rewind()?;
    ///     let mut back = String::new();
    ///     std.read_to_string(&mut back)?;
    ///     assert_eq!(back, "abc");
    ///     filch::fs::remove_file(&path).await
    /// })
    /// .unwrap();
    /// ```
    pub async fn into_std(mut self) -> io::Result<StdFile> {
        self.inner.in_line("flush", |_| Ok(())).await?;
        self.inner.into_std()
    }

    /// The file's metadata (`std::fs::File::metadata`). Its length does not count writes still
    /// in the buffer: flush first.
    ///
    /// ```
    /// filch::run(async {
    ///     let file = filch::fs::File::open("Cargo.toml").await?;
    ///     assert!(file.metadata().await?.len() > 0);
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn metadata(&self) -> io::Result<Metadata> {
        self.on_pool("stat", |f| f.metadata()).await
    }

    /// Sets the file's permissions (`std::fs::File::set_permissions`).
    ///
    /// ```
    /// filch::run(async {
    ///     let path = std::env::temp_dir().join(format!("filch-doc-perm-{}", std::process::id()));
    ///     let file = filch::fs::File::create(&path).await?;
    ///     let mut perm = file.metadata().await?.permissions();
    ///     perm.set_readonly(true);
    ///     file.set_permissions(perm).await?;
    ///     assert!(file.metadata().await?.permissions().readonly());
    ///     filch::fs::remove_file(&path).await
    /// })
    /// .unwrap();
    /// ```
    pub async fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        self.on_pool("set permissions of", move |f| f.set_permissions(perm))
            .await
    }

    /// A second `File` for the same open file (`std::fs::File::try_clone`): the two share the OS
    /// cursor, but each has its own buffer. The cursor is past this file's position by its
    /// unread read-ahead and short of it by its buffered writes. A flush writes the buffered
    /// writes but keeps the read-ahead; only a seek (`seek(SeekFrom::Current(0))`, say) hands the
    /// exact position back to the OS cursor: seek each one before relying on where the other is.
    ///
    /// ```
    /// filch::run(async {
    ///     let file = filch::fs::File::open("Cargo.toml").await?;
    ///     let twin = file.try_clone().await?;
    ///     assert_eq!(twin.metadata().await?.len(), file.metadata().await?.len());
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn try_clone(&self) -> io::Result<File> {
        let std = self.on_pool("clone", |f| f.try_clone()).await?;
        Ok(File {
            inner: Buffered::new(std, self.inner.path().clone()),
        })
    }

    /// Truncates or extends the file to `size` bytes (`std::fs::File::set_len`), after writing
    /// the buffered writes and dropping the read-ahead; the position does not move.
    ///
    /// Takes `&mut self`, where std takes `&self`: it must first empty this file's buffer, and
    /// the borrow is what keeps a read or write from running meanwhile (no lock is needed).
    ///
    /// ```
    /// filch::run(async {
    ///     let path = std::env::temp_dir().join(format!("filch-doc-len-{}", std::process::id()));
    ///     let mut file = filch::fs::File::create(&path).await?;
    ///     file.set_len(4096).await?;
    ///     assert_eq!(file.metadata().await?.len(), 4096);
    ///     filch::fs::remove_file(&path).await
    /// })
    /// .unwrap();
    /// ```
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        self.inner
            .in_line("set length of", move |f| f.set_len(size))
            .await
    }

    /// Writes the buffered writes, then waits until the file's data and metadata reach the
    /// disk (`std::fs::File::sync_all`). `&mut self` for the reason given at
    /// [`set_len`](File::set_len).
    ///
    /// ```
    /// use filch::io::AsyncWriteExt;
    ///
    /// filch::run(async {
    ///     let path = std::env::temp_dir().join(format!("filch-doc-sync-{}", std::process::id()));
    ///     let mut file = filch::fs::File::create(&path).await?;
    ///     file.write_all(b"durable").await?;
    ///     file.sync_all().await?;
    ///     filch::fs::remove_file(&path).await
    /// })
    /// .unwrap();
    /// ```
    pub async fn sync_all(&mut self) -> io::Result<()> {
        self.inner.in_line("sync", |f| f.sync_all()).await
    }

    /// As [`sync_all`](File::sync_all), but the metadata only as far as reading the data back
    /// needs it (`std::fs::File::sync_data`).
    ///
    /// ```
    /// use filch::io::AsyncWriteExt;
    ///
    /// filch::run(async {
    ///     let path = std::env::temp_dir().join(format!("filch-doc-syncd-{}", std::process::id()));
    ///     let mut file = filch::fs::File::create(&path).await?;
    ///     file.write_all(b"durable").await?;
    ///     file.sync_data().await?;
    ///     filch::fs::remove_file(&path).await
    /// })
    /// .unwrap();
    /// ```
    pub async fn sync_data(&mut self) -> io::Result<()> {
        self.inner.in_line("sync", |f| f.sync_data()).await
    }

    /// Runs `f` on the file on the blocking pool, beside the buffer (for calls that need neither
    /// the buffer nor the position).
    async fn on_pool<T: Send + 'static>(
        &self,
        op: &'static str,
        f: impl FnOnce(&StdFile) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let std = self.inner.std().clone();
        let path = self.inner.path().clone();
        match crate::spawn_blocking(move || f(&std).map_err(|e| name(op, &path, e))).await {
            Ok(res) => res,
            Err(e) => Err(name(op, self.inner.path(), io::Error::other(e))),
        }
    }
}

impl From<StdFile> for File {
    fn from(std: StdFile) -> File {
        File::from_std(std)
    }
}

impl futures_io::AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().inner.poll_read(cx, buf)
    }
}

impl futures_io::AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().inner.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inner.poll_flush(cx)
    }

    /// Flushes; the file itself is closed when the `File` is dropped.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inner.poll_flush(cx)
    }
}

impl futures_io::AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        self.get_mut().inner.poll_seek(cx, pos)
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}
