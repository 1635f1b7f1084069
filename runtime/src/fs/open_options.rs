//! `OpenOptions`: how to open a [`File`]; `std::fs::OpenOptions`, opening on the blocking pool.

use super::File;
use std::io;
use std::path::Path;

/// How to open a [`File`]: read, write, append, truncate, create; on Unix, the mode of a new
/// file and extra `open` flags. The same options as `std::fs::OpenOptions` (all off at first),
/// with an `open` that runs on the blocking pool and whose error names the path.
///
/// ```
/// use filch::fs::OpenOptions;
/// use filch::io::AsyncWriteExt;
///
/// filch::run(async {
///     let path = std::env::temp_dir().join(format!("filch-doc-oo-{}", std::process::id()));
///     let mut log = OpenOptions::new().append(true).create(true).open(&path).await?;
///     log.write_all(b"one\n").await?;
///     log.flush().await?;
///     let mut log = OpenOptions::new().append(true).open(&path).await?;
///     log.write_all(b"two\n").await?;
///     log.flush().await?;
///     assert_eq!(filch::fs::read_to_string(&path).await?, "one\ntwo\n");
///     filch::fs::remove_file(&path).await
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

/// A setter that forwards to std's.
macro_rules! option {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub fn $name(&mut self, on: bool) -> &mut OpenOptions {
            self.0.$name(on);
            self
        }
    };
}

impl OpenOptions {
    /// Every option off: set at least `read`, `write` or `append` before opening.
    ///
    /// ```
    /// filch::run(async {
    ///     let file = filch::fs::OpenOptions::new().read(true).open("Cargo.toml").await?;
    ///     assert!(file.metadata().await?.is_file());
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn new() -> OpenOptions {
        OpenOptions(std::fs::OpenOptions::new())
    }

    option!(
        /// Open for reading.
        ///
        /// ```
        /// let mut options = filch::fs::OpenOptions::new();
        /// options.read(true);
        /// ```
        read
    );
    option!(
        /// Open for writing, at the position (the start, unless `append`).
        ///
        /// ```
        /// let mut options = filch::fs::OpenOptions::new();
        /// options.write(true);
        /// ```
        write
    );
    option!(
        /// Open for writing at the end: every write goes to the end of the file, wherever the
        /// position is (`O_APPEND`).
        ///
        /// ```
        /// let mut options = filch::fs::OpenOptions::new();
        /// options.append(true);
        /// ```
        append
    );
    option!(
        /// Truncate the file to 0 bytes on opening; needs `write`.
        ///
        /// ```
        /// let mut options = filch::fs::OpenOptions::new();
        /// options.write(true).truncate(true);
        /// ```
        truncate
    );
    option!(
        /// Create the file if it does not exist; needs `write` or `append`.
        ///
        /// ```
        /// let mut options = filch::fs::OpenOptions::new();
        /// options.write(true).create(true);
        /// ```
        create
    );
    option!(
        /// Create the file, failing with `AlreadyExists` if it exists (atomically: `O_EXCL`);
        /// `create` and `truncate` are then ignored. Needs `write` or `append`.
        ///
        /// ```
        /// let mut options = filch::fs::OpenOptions::new();
        /// options.write(true).create_new(true);
        /// ```
        create_new
    );

    /// The permission bits of a file that `open` creates, before the umask (Unix; default
    /// `0o666`).
    ///
    /// ```
    /// let mut options = filch::fs::OpenOptions::new();
    /// options.write(true).create(true).mode(0o600);
    /// ```
    #[cfg(unix)]
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::mode(&mut self.0, mode);
        self
    }

    /// Extra flags for `open(2)`, such as `O_NOFOLLOW` (Unix). The access mode bits are taken
    /// from `read`, `write` and `append`, not from here.
    ///
    /// ```
    /// let mut options = filch::fs::OpenOptions::new();
    /// options.read(true).custom_flags(0);
    /// ```
    #[cfg(unix)]
    pub fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut self.0, flags);
        self
    }

    /// Opens the file at `path` with these options, on the blocking pool. The error names the
    /// path, with std's kind: `NotFound`, `AlreadyExists` (`create_new`), `PermissionDenied`,
    /// `IsADirectory` (writing to a directory), `InvalidInput` (no access mode set).
    ///
    /// ```
    /// filch::run(async {
    ///     let err = filch::fs::OpenOptions::new().read(true).open("missing.txt").await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    ///     assert!(err.to_string().starts_with("open `missing.txt`"), "{err}");
    /// });
    /// ```
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let options = self.0.clone();
        let path = path.as_ref().to_owned();
        let std = super::run("open", path.clone(), None, move |p, _| options.open(p)).await?;
        Ok(File::from_std_at(std, &path))
    }
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

impl From<std::fs::OpenOptions> for OpenOptions {
    /// Takes std's options as they are set, the Unix extensions with them.
    fn from(options: std::fs::OpenOptions) -> OpenOptions {
        OpenOptions(options)
    }
}
