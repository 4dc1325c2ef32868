//! Waiting for another process that is upgrading the same file.
//!
//! A migration step holds the write lock for as long as it runs — seconds on a large
//! file, longer than the busy timeout. A second instance started meanwhile finds the
//! file at an older version with the write lock taken: instead of giving up after
//! [`crate::BUSY_TIMEOUT`], it keeps retrying while the other process visibly makes
//! progress, printing a progress line (a `WARN` event, shown by the CLI), and gives
//! up ([`OpenError::Locked`], exit 6) only after [`UPGRADE_STALL_LIMIT`] without a
//! change of the tracking table, or [`UPGRADE_WAIT_LIMIT`] in all.

use std::path::Path;
use std::time::{Duration, Instant};

use skill_builder_migrations::{MigrationReport, SchemaState};
use sqlx::SqliteConnection;
use tracing::warn;

use crate::OpenError;

/// How long an open waits for another process's upgrade to record its next step
/// (the tracking table `schema_migrations` to change) before it gives up with
/// [`OpenError::Locked`]. One step of a large file can take longer than the busy
/// timeout; each recorded step starts this wait again.
pub const UPGRADE_STALL_LIMIT: Duration = Duration::from_secs(60);

/// The longest an open waits in all for another process's upgrade.
pub const UPGRADE_WAIT_LIMIT: Duration = Duration::from_secs(30 * 60);

/// [`skill_builder_migrations::migrate`], retried while another process holds the
/// write lock of a file that still needs upgrading and keeps recording steps.
///
/// The runner takes the write lock only when the file needs writing (steps pending
/// or a repair), so a `Locked` here means another process holds the lock of a file
/// not yet up to date — normally another instance upgrading it.
pub(crate) async fn migrate_waiting(
    conn: &mut SqliteConnection,
    path: &Path,
    target: Option<i64>,
) -> Result<MigrationReport, OpenError> {
    let started = Instant::now();
    let mut last_change = started;
    let mut seen: Option<SchemaState> = None;
    loop {
        match skill_builder_migrations::migrate(conn, target).await {
            Ok(report) => return Ok(report),
            Err(e) => match OpenError::from_migration(path, e) {
                OpenError::Locked { .. } => {}
                other => return Err(other),
            },
        }
        // Reading needs no lock in WAL mode: what has the other process recorded?
        let state = skill_builder_migrations::inspect(conn)
            .await
            .map_err(|e| OpenError::from_migration(path, e))?;
        let now = Instant::now();
        match &seen {
            None => warn!(
                path = %path.display(),
                version = state.version(),
                "another process holds the write lock while the file needs upgrading; waiting for it"
            ),
            Some(before) if *before != state => {
                last_change = now;
                warn!(
                    path = %path.display(),
                    version = state.version(),
                    "another process is upgrading the file (now at version {}); still waiting",
                    state.version()
                );
            }
            Some(_) => {}
        }
        if now.duration_since(last_change) >= UPGRADE_STALL_LIMIT
            || now.duration_since(started) >= UPGRADE_WAIT_LIMIT
        {
            return Err(OpenError::Locked { path: path.into() });
        }
        seen = Some(state);
        // The busy timeout already waited; this only keeps an immediate BUSY from spinning.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
