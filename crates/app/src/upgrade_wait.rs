//! Waiting for another process that is upgrading the same file.
//!
//! A migration step holds the write lock for as long as it runs — seconds on a large
//! file, longer than the busy timeout. A second instance started meanwhile finds the
//! file not yet up to date and the write lock taken. Instead of giving up after one
//! [`crate::BUSY_TIMEOUT`], it retries while the other process is visibly migrating —
//! between two retries the tracking table `schema_migrations` changed (a step was
//! recorded) or the `-wal` grew (a step is writing) — printing a progress line (a
//! `WARN` event, shown by the CLI), for up to [`UPGRADE_WAIT_LIMIT`]. A busy timeout
//! without any such sign (a lock held by an idle process) ends the wait:
//! [`OpenError::Locked`] (exit 6), after two busy timeouts instead of one.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use skill_builder_migrations::{MigrationReport, SchemaState};
use sqlx::SqliteConnection;
use tracing::warn;

use crate::OpenError;

/// The longest an open waits in all for another process's upgrade that keeps making
/// visible progress.
pub const UPGRADE_WAIT_LIMIT: Duration = Duration::from_secs(30 * 60);

/// What another process's upgrade visibly changes: the recorded steps and the WAL.
#[derive(Debug, PartialEq)]
struct Progress {
    state: SchemaState,
    wal_bytes: u64,
}

async fn progress(
    conn: &mut SqliteConnection,
    path: &Path,
    wal: &Path,
) -> Result<Progress, OpenError> {
    // Reading needs no lock in WAL mode.
    let state = skill_builder_migrations::inspect(conn)
        .await
        .map_err(|e| OpenError::from_migration(path, e))?;
    let wal_bytes = std::fs::metadata(wal).map_or(0, |m| m.len());
    Ok(Progress { state, wal_bytes })
}

/// [`skill_builder_migrations::migrate`], retried while another process holds the
/// write lock of a file that still needs upgrading and visibly makes progress.
///
/// The runner takes the write lock only when the file needs writing (steps pending
/// or a repair), so a `Locked` here means another process holds the lock of a file
/// not yet up to date — normally another instance upgrading it.
///
/// After a wait, the report's `from_version` is the version the file had when the
/// wait began, and `applied` lists the steps of the final attempt only (the other
/// process applied the rest; steps this process applied in an attempt that then met
/// the lock are recorded in the file, not in the report).
pub(crate) async fn migrate_waiting(
    conn: &mut SqliteConnection,
    path: &Path,
    target: Option<i64>,
) -> Result<MigrationReport, OpenError> {
    let started = Instant::now();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    let mut seen: Option<Progress> = None;
    let mut first: Option<Progress> = None;
    loop {
        match skill_builder_migrations::migrate(conn, target).await {
            Ok(mut report) => {
                if let Some(first) = &first {
                    report.from_version = report.from_version.min(first.state.version());
                }
                return Ok(report);
            }
            Err(e) => match OpenError::from_migration(path, e) {
                OpenError::Locked { .. } => {}
                other => return Err(other),
            },
        }
        let now = progress(conn, path, &wal).await?;
        match &seen {
            None => warn!(
                path = %path.display(),
                version = now.state.version(),
                "another process holds the write lock while the file needs upgrading; waiting for it"
            ),
            Some(before) if *before != now => warn!(
                path = %path.display(),
                version = now.state.version(),
                wal_bytes = now.wal_bytes,
                "another process is upgrading the file (at version {}); still waiting",
                now.state.version()
            ),
            Some(_) => return Err(OpenError::Locked { path: path.into() }),
        }
        if started.elapsed() >= UPGRADE_WAIT_LIMIT {
            return Err(OpenError::Locked { path: path.into() });
        }
        if first.is_none() {
            first = Some(Progress {
                state: now.state.clone(),
                wal_bytes: now.wal_bytes,
            });
        }
        seen = Some(now);
        // The busy timeout already waited; this only keeps an immediate BUSY from spinning.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
