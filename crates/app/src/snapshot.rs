//! Consistent copies of a live database: [`crate::backup`] and the snapshot written
//! beside a file before every upgrade.
//!
//! Both go through `write_copy`: `VACUUM INTO` a temporary file in the destination's
//! folder (created empty, 0600 on Unix: settings hold API keys), `fsync` it, then move
//! it into place and `fsync` the folder. A copy killed at any moment leaves no file at
//! the destination, only a temporary `.NAME.PID.NANOS.tmp` (and its `-journal`) beside
//! it, which is removed on any error this process sees.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use skill_builder_migrations::SchemaState;
use sqlx::SqliteConnection;
use tracing::{Instrument, info, info_span, warn};

use crate::OpenError;

/// How many pre-upgrade snapshots are kept beside a database file (the newest ones).
pub const SNAPSHOTS_KEPT: usize = 3;

/// How [`write_copy`] treats an existing destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// Fail with [`std::io::ErrorKind::AlreadyExists`] when the destination exists
    /// (checked atomically with a hard link where the file system has them).
    NoClobber,
}

fn io(path: &Path, source: std::io::Error) -> OpenError {
    OpenError::Io {
        path: path.into(),
        source,
    }
}

/// The destination's folder as an absolute path (so SQLite can never read the
/// temporary name as a `file:` URI) and its file name.
fn split_destination(dest: &Path) -> Result<(PathBuf, OsString), OpenError> {
    let name = dest.file_name().map(ToOwned::to_owned).ok_or_else(|| {
        io(
            dest,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
        )
    })?;
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = std::fs::canonicalize(&parent).map_err(|e| io(&parent, e))?;
    Ok((dir, name))
}

/// Write a consistent copy of the database open on `conn` to `dest`, atomically.
///
/// `dest` exists only once the copy is complete and on disk; on any error the
/// temporary file is removed and `dest` is not created.
///
/// # Errors
/// [`OpenError::Io`] (destination exists, folder missing or not writable, path not
/// UTF-8), or the database error of `VACUUM INTO` (e.g. disk full), classified for
/// `source`.
pub(crate) async fn write_copy(
    conn: &mut SqliteConnection,
    source: &Path,
    dest: &Path,
    place: Place,
) -> Result<(), OpenError> {
    let (dir, name) = split_destination(dest)?;
    let target = dir.join(&name);
    if place == Place::NoClobber && target.symlink_metadata().is_ok() {
        return Err(io(
            dest,
            std::io::Error::new(std::io::ErrorKind::AlreadyExists, "File exists"),
        ));
    }
    if let Some(name) = name.to_str() {
        remove_stale_temporaries(&dir, &format!(".{name}."));
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut tmp_name = OsString::from(".");
    tmp_name.push(&name);
    tmp_name.push(format!(".{}.{nanos}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = copy_to(conn, source, &tmp, &target, &dir).await;
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    // VACUUM INTO may leave the target's rollback journal when it fails.
    let mut journal = tmp.into_os_string();
    journal.push("-journal");
    let _ = std::fs::remove_file(PathBuf::from(journal));
    result
}

/// Remove temporaries `<prefix>….PID.NANOS.tmp` (and their `-journal`) of earlier
/// copies whose process is gone (it was killed mid-copy). A temporary of a live process
/// (a copy in progress, or a PID reused since) is left alone.
fn remove_stale_temporaries(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let file_name = entry.file_name();
        let Some(rest) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|r| {
                r.strip_suffix(".tmp")
                    .or_else(|| r.strip_suffix(".tmp-journal"))
            })
        else {
            continue;
        };
        let Some((rest, nanos)) = rest.rsplit_once('.') else {
            continue;
        };
        let pid = rest.rsplit_once('.').map_or(rest, |(_, p)| p);
        let Ok(pid) = pid.parse::<i64>() else {
            continue;
        };
        if nanos.is_empty()
            || !nanos.bytes().all(|b| b.is_ascii_digit())
            || skill_builder_db::pid::is_alive(pid)
        {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => {
                info!(removed = %entry.path().display(), "removed the temporary of a killed copy")
            }
            Err(e) => {
                warn!(temporary = %entry.path().display(), error = %e, "cannot remove a stale temporary")
            }
        }
    }
}

async fn copy_to(
    conn: &mut SqliteConnection,
    source: &Path,
    tmp: &Path,
    target: &Path,
    dir: &Path,
) -> Result<(), OpenError> {
    let tmp_str = tmp.to_str().ok_or_else(|| {
        io(
            tmp,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the path is not valid UTF-8, which SQLite needs",
            ),
        )
    })?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    // SQLite accepts an existing empty file as the target and keeps its mode.
    drop(opts.open(tmp).map_err(|e| io(tmp, e))?);
    // unchecked-ok: VACUUM INTO takes the target as a bound parameter.
    sqlx::query("VACUUM INTO ?")
        .bind(tmp_str)
        .execute(&mut *conn)
        .await
        .map_err(|e| OpenError::from_sqlx(source, e))?;
    // SQLite does not sync the file VACUUM INTO writes.
    std::fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io(tmp, e))?;
    // A hard link fails atomically when the target exists (rename would replace it);
    // file systems without hard links fall back to rename after the check above.
    match std::fs::hard_link(tmp, target) {
        Ok(()) => {
            let _ = std::fs::remove_file(tmp);
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(io(target, e)),
        Err(_) => std::fs::rename(tmp, target).map_err(|e| io(target, e))?,
    }
    sync_dir(dir);
    Ok(())
}

/// Make the new directory entry durable (Unix; a no-op where folders cannot be opened).
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The pre-upgrade snapshot of `path`, when opening it is about to apply steps:
/// an existing file with at least one table and pending steps up to `target`.
/// `None` for a brand-new (empty) file and for an up-to-date one.
///
/// # Errors
/// [`OpenError::Snapshot`] when the copy cannot be written (disk full, read-only
/// folder, …): the upgrade must not run, and the database file was not changed.
pub(crate) async fn before_upgrade(
    conn: &mut SqliteConnection,
    path: &Path,
    state: &SchemaState,
    target: Option<i64>,
) -> Result<Option<PathBuf>, OpenError> {
    if state.pending(target).is_empty() {
        return Ok(None);
    }
    // unchecked-ok: a look at the file's catalogue, not at the schema of a table.
    let has_tables: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%')",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| OpenError::from_sqlx(path, e))?;
    if !has_tables {
        return Ok(None);
    }
    // Temporaries of snapshots killed mid-copy (each had its own destination name).
    if let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        remove_stale_temporaries(dir, &format!(".{name}.v"));
    }
    let span = info_span!("snapshot", path = %path.display(), version = state.version());
    let written = write_snapshot(conn, path, state.version())
        .instrument(span.clone())
        .await
        .map_err(|(snapshot, source)| OpenError::Snapshot {
            path: snapshot,
            source: Box::new(source),
        })?;
    info!(parent: &span, snapshot = %written.display(), "wrote pre-upgrade snapshot");
    rotate(path);
    Ok(Some(written))
}

async fn write_snapshot(
    conn: &mut SqliteConnection,
    path: &Path,
    version: i64,
) -> Result<PathBuf, (PathBuf, OpenError)> {
    // unchecked-ok: the clock, read from SQLite as the rest of the layer does.
    let stamp: String = sqlx::query_scalar("SELECT strftime('%Y%m%dT%H%M%SZ', 'now')")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| (path.to_path_buf(), OpenError::from_sqlx(path, e)))?;
    // Two upgrades within one second (or a clock gone back) get the next sequence
    // number after the highest on disk, so that names keep their order even after
    // rotation removed the lower ones.
    let mut seq = snapshots(path)
        .iter()
        .filter_map(|p| snapshot_key(p.file_name()?.to_str()?.rsplit_once(".v")?.1))
        .filter(|(s, _)| *s == stamp)
        .map(|(_, n)| n + 1)
        .max()
        .unwrap_or(1);
    loop {
        let dest = snapshot_path(path, version, &stamp, seq);
        match write_copy(conn, path, &dest, Place::NoClobber).await {
            // Another process took this name a moment ago: the next one.
            Err(OpenError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists && seq < 100 =>
            {
                seq += 1;
            }
            Err(e) => return Err((dest, e)),
            Ok(()) => return Ok(dest),
        }
    }
}

/// `<file>.v<version>-<YYYYMMDDTHHMMSSZ>[-<seq>].bak` beside `path`.
fn snapshot_path(path: &Path, version: i64, stamp: &str, seq: u32) -> PathBuf {
    let mut name = path.file_name().map(ToOwned::to_owned).unwrap_or_default();
    name.push(format!(".v{version}-{stamp}"));
    if seq > 1 {
        name.push(format!("-{seq}"));
    }
    name.push(".bak");
    path.with_file_name(name)
}

/// The pre-upgrade snapshots of `path` on disk, newest first.
///
/// Recognised by name: `<file>.v<version>-<YYYYMMDDTHHMMSSZ>[-<seq>].bak` in the
/// file's folder, ordered by the time in the name, then the sequence number.
pub fn snapshots(path: &Path) -> Vec<PathBuf> {
    let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    let prefix = format!("{file_name}.v");
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut found: Vec<((String, u32), PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let key = snapshot_key(name.strip_prefix(&prefix)?)?;
            Some((key, path.with_file_name(name)))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, p)| p).collect()
}

/// `(stamp, seq)` of `<version>-<stamp>[-<seq>].bak`.
fn snapshot_key(rest: &str) -> Option<(String, u32)> {
    let rest = rest.strip_suffix(".bak")?;
    let (version, rest) = rest.split_once('-')?;
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (stamp, seq) = match rest.split_once('-') {
        Some((stamp, seq)) => (stamp, seq.parse().ok()?),
        None => (rest, 1),
    };
    let well_formed = stamp.len() == 16
        && stamp.as_bytes()[8] == b'T'
        && stamp.ends_with('Z')
        && stamp
            .bytes()
            .enumerate()
            .all(|(i, b)| matches!(i, 8 | 15) || b.is_ascii_digit());
    well_formed.then(|| (stamp.to_owned(), seq))
}

/// Remove all but the newest [`SNAPSHOTS_KEPT`] snapshots; a failure to remove one is
/// logged, never fatal (the upgrade itself is safe).
fn rotate(path: &Path) {
    for old in snapshots(path).into_iter().skip(SNAPSHOTS_KEPT) {
        match std::fs::remove_file(&old) {
            Ok(()) => info!(removed = %old.display(), "removed old snapshot"),
            Err(e) => warn!(snapshot = %old.display(), error = %e, "cannot remove old snapshot"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporaries_of_dead_copies_are_removed_live_ones_kept() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let me = std::process::id();
        let dead = format!(".db.v13-20261130T120000Z.bak.{}.1.tmp", i32::MAX);
        let dead_journal = format!(".copy.bak.{}.2.tmp-journal", i32::MAX);
        let live = format!(".db.v13-20261130T120000Z.bak.{me}.3.tmp");
        let other = "db.v13-20261130T120000Z.bak".to_owned();
        for name in [&dead, &dead_journal, &live, &other] {
            std::fs::write(dir.path().join(name), b"")?;
        }
        remove_stale_temporaries(dir.path(), ".db.v");
        remove_stale_temporaries(dir.path(), ".copy.bak.");
        assert!(!dir.path().join(&dead).exists());
        assert!(!dir.path().join(&dead_journal).exists());
        assert!(dir.path().join(&live).exists());
        assert!(dir.path().join(&other).exists());
        Ok(())
    }

    #[test]
    fn snapshot_names_round_trip_and_order_newest_first() {
        let db = Path::new("/data/skill-builder.db");
        let p = snapshot_path(db, 13, "20261130T120000Z", 1);
        assert_eq!(
            p,
            Path::new("/data/skill-builder.db.v13-20261130T120000Z.bak")
        );
        let p2 = snapshot_path(db, 13, "20261130T120000Z", 2);
        assert_eq!(
            p2,
            Path::new("/data/skill-builder.db.v13-20261130T120000Z-2.bak")
        );
        assert_eq!(
            snapshot_key("13-20261130T120000Z-2.bak"),
            Some(("20261130T120000Z".into(), 2))
        );
        assert_eq!(
            snapshot_key("28-20261130T120000Z.bak"),
            Some(("20261130T120000Z".into(), 1))
        );
        assert!(
            snapshot_key("13-20261130T120000Z-2.bak") > snapshot_key("28-20261130T120000Z.bak")
        );
        for bad in [
            "13-20261130T120000Z.bak.tmp",
            "x-20261130T120000Z.bak",
            "13-2026113T120000Z.bak",
            "13-20261130T120000Z-x.bak",
            "13.bak",
        ] {
            assert_eq!(snapshot_key(bad), None, "{bad}");
        }
    }
}
