//! `filch::fs`: the whole-file and directory calls on the blocking pool, and errors that name
//! their paths.

mod common;

use common::TempDir;
use std::io::ErrorKind;

#[test]
fn a_large_file_round_trips_and_copies() {
    let dir = TempDir::new("large");
    filch::run(async {
        let data: Vec<u8> = (0..8 << 20).map(|i: u32| (i * 7 + i / 251) as u8).collect();
        let a = dir.path().join("a.bin");
        let b = dir.path().join("sub/dir/b.bin");
        filch::fs::write(&a, &data).await?;
        filch::fs::create_dir_all(b.parent().unwrap()).await?;
        assert_eq!(filch::fs::copy(&a, &b).await?, data.len() as u64);
        assert_eq!(filch::fs::read(&b).await?, data);
        assert_eq!(filch::fs::metadata(&b).await?.len(), data.len() as u64);
        let c = dir.path().join("c.bin");
        filch::fs::rename(&b, &c).await?;
        assert!(!filch::fs::try_exists(&b).await?);
        assert!(filch::fs::try_exists(&c).await?);
        filch::fs::remove_file(&c).await?;
        filch::fs::remove_dir_all(dir.path().join("sub")).await?;
        assert!(!filch::fs::try_exists(dir.path().join("sub")).await?);
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

/// 32 tasks write their own files and read them all back at once, on 2 workers: the blocking
/// pool takes the calls; the workers stay free (a timer keeps firing meanwhile).
#[test]
fn concurrent_readers_and_writers() {
    let dir = TempDir::new("concurrent");
    let rt = filch::Builder::new().worker_threads(2).build().unwrap();
    rt.block_on(async {
        let ticker = filch::spawn(async {
            let mut ticks = 0;
            for _ in 0..20 {
                filch::sleep(std::time::Duration::from_millis(1)).await;
                ticks += 1;
            }
            ticks
        });
        let tasks: Vec<_> = (0..32u32)
            .map(|i| {
                let path = dir.path().join(format!("f{i}"));
                filch::spawn(async move {
                    let body = format!("file {i}\n").repeat(1000);
                    filch::fs::write(&path, &body).await?;
                    let back = filch::fs::read_to_string(&path).await?;
                    assert_eq!(back, body);
                    Ok::<_, std::io::Error>(back.len())
                })
            })
            .collect();
        for t in filch::join_all(tasks).await {
            assert!(t.unwrap().unwrap() > 0);
        }
        assert_eq!(ticker.await.unwrap(), 20);
    });
}

#[test]
fn errors_name_the_path_and_keep_the_kind_and_source() {
    let dir = TempDir::new("errors");
    filch::run(async {
        let missing = dir.path().join("does-not-exist.txt");
        let err = filch::fs::read(&missing).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let text = err.to_string();
        assert!(text.starts_with("read `"), "{text}");
        assert!(text.contains("does-not-exist.txt"), "{text}");
        let source = err
            .get_ref()
            .and_then(|inner| inner.source())
            .expect("the std error is the source");
        assert!(source.to_string().contains("No such file"), "{source}");

        // A directory where a file is expected.
        let err = filch::fs::read_to_string(dir.path()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::IsADirectory);
        assert!(
            err.to_string().contains(&*dir.path().to_string_lossy()),
            "{err}"
        );

        // Two paths: both named.
        let err = filch::fs::copy(&missing, dir.path().join("to.txt"))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("does-not-exist.txt") && text.contains("to.txt"),
            "{text}"
        );

        // Not UTF-8.
        let bin = dir.path().join("bin");
        filch::fs::write(&bin, [0xff, 0xfe, 0x00]).await?;
        assert_eq!(
            filch::fs::read_to_string(&bin).await.unwrap_err().kind(),
            ErrorKind::InvalidData
        );
        // A directory that is not empty.
        filch::fs::create_dir(dir.path().join("full")).await?;
        filch::fs::write(dir.path().join("full/x"), "x").await?;
        assert!(filch::fs::remove_dir(dir.path().join("full"))
            .await
            .is_err());
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}

#[cfg(unix)]
#[test]
fn links_and_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("links");
    filch::run(async {
        let file = dir.path().join("target.txt");
        filch::fs::write(&file, "t").await?;
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link)?;
        assert_eq!(filch::fs::read_link(&link).await?, file);
        assert!(filch::fs::symlink_metadata(&link)
            .await?
            .file_type()
            .is_symlink());
        assert_eq!(
            filch::fs::canonicalize(&link).await?,
            std::fs::canonicalize(&file)?
        );
        filch::fs::hard_link(&file, dir.path().join("hard")).await?;
        assert_eq!(
            filch::fs::read_to_string(dir.path().join("hard")).await?,
            "t"
        );
        filch::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).await?;
        assert_eq!(
            filch::fs::metadata(&file).await?.permissions().mode() & 0o777,
            0o600
        );
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
}
