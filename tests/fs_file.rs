//! `filch::fs::File`, `OpenOptions` and `read_dir`: the buffer (small reads and writes, seeks
//! across it, late write errors, writes that outlive their `File`), errors that name their path,
//! batched directory reads, and the cooperative budget on reads served from memory.

mod common;

use common::TempDir;
use filch::fs::{File, OpenOptions};
use filch::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, SeekFrom};
use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

/// `len` bytes that differ from their neighbours and repeat only every 251 × 256.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ (i / 251) as u8 ^ seed)
        .collect()
}

#[test]
fn eight_mib_in_100_byte_writes_reads_back_in_small_reads() {
    let dir = TempDir::new("file-large");
    let path = dir.join("large.bin");
    let data = pattern(8 << 20, 1);
    filch::run(async {
        let mut file = File::create(&path).await?;
        for chunk in data.chunks(100) {
            file.write_all(chunk).await?;
        }
        file.flush().await?;
        assert_eq!(file.metadata().await?.len(), data.len() as u64);

        let mut file = File::open(&path).await?;
        let mut back = Vec::with_capacity(data.len());
        let mut small = [0u8; 37];
        loop {
            let n = file.read(&mut small).await?;
            if n == 0 {
                break;
            }
            back.extend_from_slice(&small[..n]);
        }
        assert!(
            back == data,
            "the bytes read back differ from those written"
        );
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

/// A write returns once its bytes are in the buffer: the file does not change until a flush.
#[test]
fn small_writes_wait_in_the_buffer_until_flush() {
    let dir = TempDir::new("file-buffered-writes");
    let path = dir.join("f");
    filch::run(async {
        let mut file = File::create(&path).await?;
        for _ in 0..100 {
            file.write_all(b"0123456789").await?;
        }
        assert_eq!(
            std::fs::metadata(&path)?.len(),
            0,
            "a small write went out unbuffered"
        );
        file.flush().await?;
        assert_eq!(std::fs::metadata(&path)?.len(), 1000);
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

/// A small read fills the buffer with 64 KiB: the next reads come from memory, not the file.
#[test]
fn small_reads_are_served_from_the_read_ahead() {
    let dir = TempDir::new("file-read-ahead");
    let path = dir.join("f");
    std::fs::write(&path, vec![b'a'; 100_000]).unwrap();
    filch::run(async {
        let mut file = File::open(&path).await?;
        let mut byte = [0u8; 1];
        file.read_exact(&mut byte).await?;
        // Change what follows on disk: a read from the buffer still sees the old bytes, up to
        // the end of the 64 KiB read ahead; then the new ones.
        std::fs::write(&path, vec![b'b'; 100_000])?;
        let mut rest = vec![0u8; 64 * 1024 - 1];
        file.read_exact(&mut rest).await?;
        assert!(rest.iter().all(|&b| b == b'a'), "a read went to the file");
        file.read_exact(&mut byte).await?;
        assert_eq!(byte[0], b'b');
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

#[test]
fn seeks_from_start_end_and_current() {
    let dir = TempDir::new("file-seek");
    let path = dir.join("f");
    let data = pattern(200_000, 2);
    std::fs::write(&path, &data).unwrap();
    filch::run(async {
        let mut file = File::open(&path).await?;
        let mut ten = [0u8; 10];
        assert_eq!(file.seek(SeekFrom::Start(1000)).await?, 1000);
        file.read_exact(&mut ten).await?;
        assert_eq!(ten, data[1000..1010]);
        assert_eq!(file.seek(SeekFrom::End(-10)).await?, 199_990);
        file.read_exact(&mut ten).await?;
        assert_eq!(ten, data[199_990..]);
        assert_eq!(file.read(&mut ten).await?, 0, "the end of the file");
        assert_eq!(file.seek(SeekFrom::Current(-100)).await?, 199_900);
        file.read_exact(&mut ten).await?;
        assert_eq!(ten, data[199_900..199_910]);
        let err = file.seek(SeekFrom::Current(-300_000)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

/// Regression guard: after a 10-byte read the buffer holds 64 KiB read ahead, so the OS cursor
/// is at 65536; `SeekFrom::Current` must count from 10.
#[test]
fn seek_from_current_after_a_partial_buffered_read_counts_from_the_read_position() {
    let dir = TempDir::new("file-seek-current");
    let path = dir.join("f");
    let data = pattern(200_000, 3);
    std::fs::write(&path, &data).unwrap();
    filch::run(async {
        let mut file = File::open(&path).await?;
        let mut ten = [0u8; 10];
        file.read_exact(&mut ten).await?;
        assert_eq!(file.stream_position().await?, 10);
        assert_eq!(file.seek(SeekFrom::Current(5)).await?, 15);
        file.read_exact(&mut ten).await?;
        assert_eq!(ten, data[15..25]);
        assert_eq!(file.seek(SeekFrom::Current(-20)).await?, 5);
        file.read_exact(&mut ten).await?;
        assert_eq!(ten, data[5..15]);
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

/// Regression guard: a seek writes the buffered writes first, at the position they were made.
#[test]
fn a_seek_after_buffered_writes_writes_them_first() {
    let dir = TempDir::new("file-seek-write");
    let path = dir.join("f");
    filch::run(async {
        let mut file = File::create(&path).await?;
        file.write_all(b"hello world").await?;
        assert_eq!(file.stream_position().await?, 11);
        assert_eq!(file.seek(SeekFrom::Start(0)).await?, 0);
        file.write_all(b"J").await?;
        assert_eq!(file.seek(SeekFrom::End(0)).await?, 11);
        file.write_all(b"!").await?;
        file.flush().await?;
        assert_eq!(std::fs::read(&path)?, b"Jello world!");
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

/// Regression guard: a write after a partial read goes where the reading got to, not where the
/// read-ahead left the OS cursor; a read after writes sees them.
#[test]
fn reads_and_writes_interleave_at_one_position() {
    let dir = TempDir::new("file-read-write");
    let path = dir.join("f");
    std::fs::write(&path, vec![b'.'; 100_000]).unwrap();
    filch::run(async {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .await?;
        let mut five = [0u8; 5];
        file.read_exact(&mut five).await?;
        file.write_all(b"XY").await?;
        file.read_exact(&mut five).await?; // writes "XY" first
        assert_eq!(&five, b".....");
        file.seek(SeekFrom::Start(0)).await?;
        let mut head = [0u8; 12];
        file.read_exact(&mut head).await?;
        assert_eq!(&head, b".....XY.....");
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
    let on_disk = std::fs::read(&path).unwrap();
    assert_eq!(on_disk.len(), 100_000);
    assert_eq!(&on_disk[..8], b".....XY.");
}

/// Eight tasks on two workers, each writing and reading back its own file through `File`.
#[test]
fn concurrent_readers_and_writers_on_different_files() {
    let dir = TempDir::new("file-concurrent");
    let rt = common::runtime(2, "fs-file");
    rt.block_on(async {
        let tasks = (0..8u8).map(|i| {
            let path = dir.join(&format!("f{i}"));
            filch::spawn(async move {
                let data = pattern(1 << 20, i);
                let mut file = File::create(&path).await?;
                for chunk in data.chunks(1000) {
                    file.write_all(chunk).await?;
                }
                file.close().await?;
                let mut back = Vec::new();
                let mut file = File::open(&path).await?;
                let mut piece = [0u8; 4096];
                loop {
                    match file.read(&mut piece).await? {
                        0 => break,
                        n => back.extend_from_slice(&piece[..n]),
                    }
                }
                assert!(back == data, "task {i} read back other bytes");
                Ok::<_, std::io::Error>(back.len())
            })
        });
        for done in filch::join_all(tasks).await {
            assert_eq!(done.unwrap().unwrap(), 1 << 20);
        }
    });
}

/// An open file outlives its name on Unix: reads after `remove_file` still return the data.
#[cfg(unix)]
#[test]
fn an_unlinked_file_still_reads() {
    let dir = TempDir::new("file-unlinked");
    let path = dir.join("f");
    let data = pattern(300_000, 4);
    std::fs::write(&path, &data).unwrap();
    filch::run(async {
        let mut file = File::open(&path).await?;
        std::fs::remove_file(&path)?;
        let mut back = Vec::new();
        file.read_to_end(&mut back).await?;
        assert!(back == data);
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

#[test]
fn opening_a_missing_file_is_not_found_and_names_the_path() {
    let dir = TempDir::new("file-missing");
    let path = dir.join("no-such-file.txt");
    filch::run(async {
        let err = File::open(&path).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let text = err.to_string();
        assert!(text.starts_with("open `"), "{text}");
        assert!(text.contains(&*path.to_string_lossy()), "{text}");
        let source = err.get_ref().and_then(|e| e.source()).expect("std's error");
        assert!(source.to_string().contains("No such file"), "{source}");
    });
}

/// A directory where a file is expected: the kind std gives, and the path in the message.
#[test]
fn a_directory_where_a_file_is_expected() {
    let dir = TempDir::new("file-dir");
    let path = dir.path().to_owned();
    let name = path.to_string_lossy().into_owned();
    let std_create = std::fs::File::create(&path).unwrap_err().kind();
    let std_read = std::fs::File::open(&path).and_then(|mut f| f.read(&mut [0; 8]));
    filch::run(async {
        let err = File::create(&path).await.unwrap_err();
        assert_eq!(err.kind(), std_create);
        assert!(err.to_string().contains(&name), "{err}");

        // Opening a directory for reading succeeds on Linux; reading it fails.
        match File::open(&path).await {
            Err(err) => assert!(err.to_string().contains(&name), "{err}"),
            Ok(mut file) => {
                let err = file.read(&mut [0; 8]).await.unwrap_err();
                assert_eq!(Some(err.kind()), std_read.as_ref().err().map(|e| e.kind()));
                assert!(err.to_string().starts_with("read `"), "{err}");
                assert!(err.to_string().contains(&name), "{err}");
            }
        }
    });
}

#[test]
fn append_mode_writes_at_the_end_wherever_the_position_is() {
    let dir = TempDir::new("file-append");
    let path = dir.join("log");
    filch::run(async {
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .await?;
        file.write_all(b"one\n").await?;
        file.close().await?;
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .await?;
        let mut first = [0u8; 2];
        file.read_exact(&mut first).await?;
        file.seek(SeekFrom::Start(0)).await?;
        file.write_all(b"two\n").await?;
        file.flush().await?;
        assert_eq!(std::fs::read_to_string(&path)?, "one\ntwo\n");
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

#[test]
fn create_new_on_an_existing_file_is_already_exists() {
    let dir = TempDir::new("file-create-new");
    let path = dir.join("taken");
    std::fs::write(&path, "x").unwrap();
    filch::run(async {
        let err = File::create_new(&path).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert!(err.to_string().contains("taken"), "{err}");
        let err = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    });
    assert_eq!(std::fs::read(&path).unwrap(), b"x");
}

/// A write that fails (the file is open for reading only) returns `Ok` once buffered; the error
/// comes from the flush, naming the path, with the kind std gives.
#[test]
fn a_buffered_write_error_is_reported_by_the_flush() {
    let dir = TempDir::new("file-write-error");
    let path = dir.join("read-only");
    std::fs::write(&path, "x").unwrap();
    let std_kind = std::fs::File::open(&path)
        .unwrap()
        .write(b"y")
        .unwrap_err()
        .kind();
    filch::run(async {
        let mut file = File::open(&path).await.unwrap();
        file.write_all(b"y").await.expect("buffered: no error yet");
        let err = file.flush().await.unwrap_err();
        assert_eq!(err.kind(), std_kind);
        assert!(err.to_string().starts_with("write `"), "{err}");
        assert!(err.to_string().contains("read-only"), "{err}");
        // Reported once: the failed bytes are dropped.
        file.flush().await.unwrap();
    });
}

/// A full buffer starts its write and returns at once; the next write reports its error.
#[test]
fn a_write_error_is_reported_by_the_next_write() {
    let dir = TempDir::new("file-write-error-next");
    let path = dir.join("read-only");
    std::fs::write(&path, "x").unwrap();
    filch::run(async {
        let mut file = File::open(&path).await.unwrap();
        file.write_all(&vec![0u8; 64 * 1024])
            .await
            .expect("the write has only started");
        let err = file.write_all(b"more").await.unwrap_err();
        assert!(err.to_string().contains("read-only"), "{err}");
    });
}

/// A `File` dropped with writes in its buffer hands them to the blocking pool.
#[test]
fn buffered_writes_reach_the_file_when_it_is_dropped_unflushed() {
    let dir = TempDir::new("file-drop");
    let path = dir.join("f");
    let rt = common::runtime(1, "fs-drop");
    rt.block_on(async {
        let mut file = File::create(&path).await.unwrap();
        file.write_all(b"not flushed").await.unwrap();
        drop(file);
        let written = common::spin_until(Duration::from_secs(10), || {
            std::fs::read(&path).is_ok_and(|b| b == b"not flushed")
        });
        assert!(written, "the buffered writes of a dropped File were lost");
    });
}

/// ... even when the runtime shuts down right after: the cancelled job writes them as it goes.
#[test]
fn buffered_writes_survive_the_runtime_shutting_down() {
    let dir = TempDir::new("file-shutdown");
    for i in 0..20 {
        let path = dir.join(&format!("f{i}"));
        let task_path = dir.join(&format!("task{i}"));
        filch::run(async {
            // One in a task that shutdown cancels, one dropped at the end of `run`'s future.
            let (buffered, wait) = filch::sync::oneshot::channel();
            let _detached = filch::spawn(async move {
                let mut file = File::create(&task_path).await.unwrap();
                file.write_all(b"from a task").await.unwrap();
                let _ = buffered.send(());
                std::future::pending::<()>().await;
            });
            let mut file = File::create(&path).await.unwrap();
            file.write_all(b"last words").await.unwrap();
            wait.await.unwrap();
        });
        assert_eq!(std::fs::read(&path).unwrap(), b"last words", "round {i}");
        assert_eq!(
            std::fs::read(dir.join(&format!("task{i}"))).unwrap(),
            b"from a task"
        );
    }
}

#[test]
fn set_len_and_sync_write_the_buffer_first() {
    let dir = TempDir::new("file-set-len");
    let path = dir.join("f");
    filch::run(async {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .await?;
        file.write_all(b"0123456789").await?;
        file.set_len(4).await?;
        assert_eq!(std::fs::read(&path)?, b"0123");
        file.write_all(b"abc").await?;
        file.sync_all().await?;
        // The position was 10: a hole of zeros from 4 to 10, then "abc".
        assert_eq!(std::fs::read(&path)?, b"0123\0\0\0\0\0\0abc");
        let std = file.into_std().await?;
        assert_eq!(std.metadata()?.len(), 13);
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

fn sorted_names(n: usize) -> Vec<String> {
    let mut names: Vec<String> = (0..n).map(|i| format!("entry-{i:03}")).collect();
    names.sort();
    names
}

#[test]
fn read_dir_of_100_files_yields_exactly_their_names_as_a_stream() {
    use futures_util::StreamExt;
    let dir = TempDir::new("read-dir-stream");
    for name in sorted_names(100) {
        std::fs::write(dir.join(&name), &name).unwrap();
    }
    filch::run(async {
        let mut entries = filch::fs::read_dir(dir.path()).await?;
        let mut names = Vec::new();
        while let Some(entry) = entries.next().await {
            let entry = entry?;
            assert!(entry.file_type().await?.is_file());
            assert_eq!(entry.metadata().await?.len(), 9);
            assert_eq!(entry.path(), dir.path().join(entry.file_name()));
            names.push(entry.file_name().into_string().unwrap());
        }
        names.sort();
        assert_eq!(names, sorted_names(100));
        assert!(entries.next().await.is_none(), "the stream stays ended");
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

#[test]
fn read_dir_of_100_files_yields_exactly_their_names_by_next_entry() {
    let dir = TempDir::new("read-dir-next");
    for name in sorted_names(100) {
        std::fs::write(dir.join(&name), "").unwrap();
    }
    std::fs::create_dir(dir.join("sub")).unwrap();
    filch::run(async {
        let mut entries = filch::fs::read_dir(dir.path()).await?;
        let mut names = Vec::new();
        while let Some(entry) = entries.next_entry().await? {
            if entry.file_type().await?.is_dir() {
                assert_eq!(entry.file_name(), "sub");
                continue;
            }
            names.push(entry.file_name().into_string().unwrap());
        }
        names.sort();
        assert_eq!(names, sorted_names(100));
        assert!(entries.next_entry().await?.is_none());
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

#[test]
fn read_dir_of_a_missing_directory_names_the_path() {
    let dir = TempDir::new("read-dir-missing");
    let missing = dir.join("not-here");
    filch::run(async {
        let err = filch::fs::read_dir(&missing).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().starts_with("read directory `"), "{err}");
        assert!(
            err.to_string().contains(&*missing.to_string_lossy()),
            "{err}"
        );
    });
}

/// Regression guard for the budget: after one pool trip fills the 64 KiB buffer, 1-byte reads
/// are served from memory and never see `Pending`; only the budget makes the task give its one
/// worker to a task spawned behind it.
#[test]
fn one_byte_reads_from_the_buffer_still_yield_the_worker() {
    let dir = TempDir::new("file-budget-read");
    let path = dir.join("f");
    std::fs::write(&path, vec![7u8; 64 * 1024]).unwrap();
    let midway = common::queued_task_runs_during(move |_| async move {
        let mut file = File::open(&path).await.unwrap();
        let mut byte = [0u8; 1];
        // The buffer is filled here, on the pool: the task waits, and the helper's task runs.
        file.read_exact(&mut byte).await.unwrap();
        let other_ran = Arc::new(AtomicBool::new(false));
        let other = filch::spawn({
            let other_ran = other_ran.clone();
            async move { other_ran.store(true, SeqCst) }
        });
        let mut midway = false;
        for i in 1..60_000 {
            file.read_exact(&mut byte).await.unwrap();
            midway |= i < 50_000 && other_ran.load(SeqCst);
        }
        other.await.unwrap();
        midway
    });
    assert!(
        midway,
        "the queued task ran only after the reads: buffered reads spent no budget"
    );
}

/// The same for 1-byte writes into the buffer (under 64 KiB: no pool trip).
#[test]
fn one_byte_writes_into_the_buffer_still_yield_the_worker() {
    let dir = TempDir::new("file-budget-write");
    let path = dir.join("f");
    let midway = common::queued_task_runs_during(move |_| async move {
        let mut file = File::create(&path).await.unwrap();
        let other_ran = Arc::new(AtomicBool::new(false));
        let other = filch::spawn({
            let other_ran = other_ran.clone();
            async move { other_ran.store(true, SeqCst) }
        });
        let mut midway = false;
        for i in 0..60_000 {
            file.write_all(b"x").await.unwrap();
            midway |= i < 50_000 && other_ran.load(SeqCst);
        }
        file.flush().await.unwrap();
        other.await.unwrap();
        midway
    });
    assert!(
        midway,
        "the queued task ran only after the writes: buffered writes spent no budget"
    );
}
