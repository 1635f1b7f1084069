//! Files on filch: write 20 files of different sizes through `filch::fs::File`, list the
//! directory with `read_dir`, then read every file concurrently, at most 4 at a time (a
//! `Semaphore`), printing when each read starts and finishes. The directory is removed at the end.
//!
//! Each `File` buffers: the 4 KiB writes and reads below cost one hand-off to the blocking pool
//! per 64 KiB, not one per call, and the workers stay free while the pool does the I/O.
//!
//! `cargo run --example files`

use filch::fs::{self, File};
use filch::io::{AsyncReadExt, AsyncWriteExt};
use filch::sync::Semaphore;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// At most this many files are read at once.
const CONCURRENT_READS: usize = 4;

/// The size of file `i`: from 512 bytes to about 4 MB, growing as the cube of `i`.
fn size_of(i: u64) -> u64 {
    (i + 1).pow(3) * 512
}

/// Writes `size` bytes to `path` in 4 KiB writes; the flush reports any write error.
async fn write_file(path: &PathBuf, size: u64) -> io::Result<()> {
    let chunk = [b'x'; 4096];
    let mut file = File::create(path).await?;
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        file.write_all(&chunk[..n]).await?;
        left -= n as u64;
    }
    file.flush().await
}

/// Reads `path` to its end in 4 KiB reads; the number of bytes.
async fn read_file(path: &PathBuf) -> io::Result<u64> {
    let mut file = File::open(path).await?;
    let mut chunk = [0u8; 4096];
    let mut total = 0;
    loop {
        match file.read(&mut chunk).await? {
            0 => return Ok(total),
            n => total += n as u64,
        }
    }
}

fn main() -> io::Result<()> {
    let start = Instant::now();
    let ms = move || start.elapsed().as_secs_f64() * 1e3;
    filch::run(async move {
        let dir = std::env::temp_dir().join(format!("filch-example-files-{}", std::process::id()));
        fs::create_dir_all(&dir).await?;

        let writes = (0..20u64).map(|i| {
            let path = dir.join(format!("file-{i:02}.bin"));
            filch::spawn(async move { write_file(&path, size_of(i)).await })
        });
        for written in filch::join_all(writes).await {
            written.expect("a writer panicked")?;
        }
        let total: u64 = (0..20).map(size_of).sum();
        println!("[{:>8.1} ms] wrote 20 files, {total} bytes", ms());

        let mut entries = fs::read_dir(&dir).await?;
        let mut paths = Vec::new();
        while let Some(entry) = entries.next_entry().await? {
            paths.push(entry.path());
        }
        paths.sort();
        println!("[{:>8.1} ms] read_dir found {} files", ms(), paths.len());

        let limit = Arc::new(Semaphore::new(CONCURRENT_READS));
        let reads = paths.into_iter().map(|path| {
            let limit = limit.clone();
            filch::spawn(async move {
                let _permit = limit.acquire_owned().await;
                let name = path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                println!("[{:>8.1} ms] start  {name}", ms());
                let bytes = read_file(&path).await?;
                println!("[{:>8.1} ms] finish {name}: {bytes} bytes", ms());
                Ok::<_, io::Error>(bytes)
            })
        });
        let mut read = 0;
        for done in filch::join_all(reads).await {
            read += done.expect("a reader panicked")?;
        }
        assert_eq!(read, total, "every byte written was read back");
        println!(
            "[{:>8.1} ms] read {read} bytes, {CONCURRENT_READS} files at a time",
            ms()
        );

        fs::remove_dir_all(&dir).await?;
        println!("[{:>8.1} ms] removed {}", ms(), dir.display());
        Ok(())
    })
}
