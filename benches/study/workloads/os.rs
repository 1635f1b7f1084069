//! What goes through the operating system besides sockets: Unix signals, child processes and
//! files, each with the runtime's own API.

use super::{timed, Params};
use crate::rt::Rt;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

pub(super) fn signal_round_trip<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    timed(|| rt.signal_round_trips(p.pick(1_000, 200)))
}

/// Children spawned at once in `process_spawn_wait`.
const AT_ONCE: usize = 50;

/// Returns the seconds of the sequential spawns, then of the concurrent ones.
pub(super) fn process_spawn_wait<R: Rt>(rt: &R, p: &Params) -> Vec<f64> {
    let sequential = p.pick(100, 20);
    let one_by_one = timed(|| {
        rt.block_on(rt.spawn(async move {
            for _ in 0..sequential {
                R::spawn_true_and_wait().await;
            }
        }))
    });
    let inner = rt.clone();
    let at_once = timed(|| {
        let inner = inner.clone();
        rt.block_on(rt.spawn(async move {
            let children = (0..AT_ONCE)
                .map(|_| inner.spawn(R::spawn_true_and_wait()))
                .collect();
            R::join_all(children).await;
        }))
    });
    vec![one_by_one[0], at_once[0]]
}

pub(super) fn process_cat_1mib<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    let bytes = Arc::new((0..1 << 20).map(|i: u32| i as u8).collect::<Vec<u8>>());
    let inner = rt.clone();
    timed(|| {
        let (inner, bytes) = (inner.clone(), bytes.clone());
        rt.block_on(rt.spawn(async move {
            for _ in 0..10 {
                let out = inner.through_cat(bytes.clone()).await;
                assert!(out == *bytes, "cat gave back what it was given");
            }
        }))
    })
}

/// A directory of its own for one run of a file row, under the system's temporary directory;
/// removed with what is in it when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(row: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "filch-study-{}-{row}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir(&path).expect("a temporary directory for the file rows");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The size of the file rows' files, and how many reads or writes a run makes.
const FILE_SIZE: usize = 4096;
const FILE_OPS: usize = 1_000;

pub(super) fn fs_read_small<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    let dir = TempDir::new("read");
    let path = dir.0.join("small");
    std::fs::write(&path, vec![7u8; FILE_SIZE]).expect("the file to read");
    timed(|| {
        let path = path.clone();
        rt.block_on(rt.spawn(async move {
            for _ in 0..FILE_OPS {
                assert_eq!(R::read_file(&path).await.len(), FILE_SIZE);
            }
        }))
    })
}

pub(super) fn fs_write_small<R: Rt>(rt: &R, _: &Params) -> Vec<f64> {
    let dir = TempDir::new("write");
    let paths: Vec<PathBuf> = (0..FILE_OPS).map(|i| dir.0.join(i.to_string())).collect();
    // Created before the clock starts: the timed writes truncate and fill them.
    for path in &paths {
        std::fs::write(path, []).expect("a file to write");
    }
    let paths = Arc::new(paths);
    let out = timed(|| {
        let paths = paths.clone();
        rt.block_on(rt.spawn(async move {
            let contents = vec![7u8; FILE_SIZE];
            for path in paths.iter() {
                R::write_file(path, &contents).await;
            }
        }))
    });
    assert_eq!(
        std::fs::metadata(&paths[FILE_OPS - 1])
            .map(|m| m.len())
            .ok(),
        Some(FILE_SIZE as u64)
    );
    out
}
