#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The read-only reader pool beside the one-connection writer: it sees committed
//! writes, refuses writes with a typed error, and opening a refused file still leaves
//! it untouched (the readers open only after the migrations, lazily).

use std::time::Duration;

use skill_builder_app::{Database, READER_CONNECTIONS, ReadConnection};
use skill_builder_cli::bench::agent_run;
use skill_builder_db::{Error, Reader, agent_runs, usage};
use sqlx::{Row, SqliteConnection};

/// The raw connection under a reader handle, for statements no operation runs
/// (pragmas, a raw write that must be refused at run time). A write operation given
/// the handle itself does not compile (see the `compile_fail` example of
/// `skill_builder_app::handle`).
fn raw(reader: &mut ReadConnection) -> &mut SqliteConnection {
    Reader::connection(reader)
}

async fn pragma_on_reader(db: &Database, name: &str) -> i64 {
    let mut reader = db.read().await.expect("reader");
    sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA {name}")))
        .fetch_one(raw(&mut reader))
        .await
        .expect("pragma")
        .try_get::<i64, _>(0)
        .expect("integer pragma")
}

#[tokio::test]
async fn the_reader_is_a_few_query_only_connections_with_the_busy_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path().join("a.db")).await.expect("open");
    {
        // One writer: the task holding it cannot take a second one.
        let _conn = db.write().await.expect("writer");
        let again = db.write().await.expect_err("one writer");
        assert!(matches!(again, Error::WriterHeldByThisTask), "{again:?}");
    }
    const { assert!(READER_CONNECTIONS > 1) };
    {
        // READER_CONNECTIONS readers at once, and no more.
        let mut held = Vec::new();
        for _ in 0..READER_CONNECTIONS {
            held.push(db.read().await.expect("reader"));
        }
        assert!(
            tokio::time::timeout(Duration::from_millis(300), db.read())
                .await
                .is_err(),
            "a reader beyond READER_CONNECTIONS waits"
        );
    }
    assert_eq!(pragma_on_reader(&db, "query_only").await, 1);
    assert_eq!(pragma_on_reader(&db, "busy_timeout").await, 5000);
    let mut reader = db.read().await.expect("reader");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(raw(&mut reader))
        .await
        .expect("journal mode");
    assert_eq!(mode, "wal");
    drop(reader);
    db.close().await;
}

#[tokio::test]
async fn a_read_on_the_reader_after_a_committed_write_sees_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path().join("a.db")).await.expect("open");
    // Open a reader first, so it already holds a connection from before the write.
    let mut reader = db.read().await.expect("reader");
    assert!(
        agent_runs::get_recent_runs(&mut reader, 10)
            .await
            .expect("empty read")
            .is_empty()
    );
    let mut run = agent_run(7);
    run.total_cost = 0.25;
    agent_runs::persist_agent_run(&mut db.write().await.expect("writer"), &run)
        .await
        .expect("write");
    let recent = agent_runs::get_recent_runs(&mut reader, 10)
        .await
        .expect("read");
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].agent_id, run.agent_id);
    assert_eq!(recent[0].total_cost, 0.25);
    let by_model = usage::get_usage_by_model(&mut reader, false)
        .await
        .expect("report");
    assert_eq!(by_model.len(), 1);
    assert_eq!(by_model[0].model, run.model);

    // A second write, committed inside a transaction, is visible once committed.
    let mut tx = db.begin().await.expect("begin");
    agent_runs::persist_agent_run(&mut tx, &agent_run(8))
        .await
        .expect("write in tx");
    assert_eq!(
        agent_runs::get_recent_runs(&mut reader, 10)
            .await
            .expect("read during tx")
            .len(),
        1,
        "not committed yet"
    );
    tx.commit().await.expect("commit");
    assert_eq!(
        agent_runs::get_recent_runs(&mut reader, 10)
            .await
            .expect("read after commit")
            .len(),
        2
    );
    drop(reader);
    db.close().await;
}

#[tokio::test]
async fn a_write_through_the_reader_fails_with_a_typed_error_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path().join("a.db")).await.expect("open");
    // `persist_agent_run(&mut reader, …)` does not compile; the connection under the
    // handle still refuses a write at run time (query_only), with the typed error.
    let mut reader = db.read().await.expect("reader");
    let err = agent_runs::persist_agent_run(raw(&mut reader), &agent_run(1))
        .await
        .expect_err("the reader must refuse writes");
    assert!(
        matches!(err, Error::ReadOnlyConnection(_)),
        "expected ReadOnlyConnection, got {err:?}"
    );
    assert!(err.to_string().contains("read-only"), "{err}");
    let err = usage::reset_usage(raw(&mut reader))
        .await
        .expect_err("a multi-statement write through the reader");
    assert!(matches!(err, Error::ReadOnlyConnection(_)), "{err:?}");
    drop(reader);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM agent_runs")
        .fetch_one(&mut *db.write().await.expect("writer"))
        .await
        .expect("count");
    assert_eq!(rows, 0);
    db.close().await;
}

#[tokio::test]
async fn closing_checkpoints_the_wal_after_reads_on_the_reader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.db");
    let db = Database::open(&path).await.expect("open");
    agent_runs::persist_agent_run(&mut db.write().await.expect("writer"), &agent_run(1))
        .await
        .expect("write");
    agent_runs::get_recent_runs(&mut db.read().await.expect("reader"), 5)
        .await
        .expect("read");
    db.close().await;
    let wal = std::fs::metadata(format!("{}-wal", path.display()))
        .map(|m| m.len())
        .unwrap_or(0);
    assert_eq!(wal, 0, "the writer closes last and checkpoints");
    let reopened = Database::open(&path).await.expect("reopen");
    let mut reader = reopened.read().await.expect("reader");
    let row = sqlx::query("SELECT 1")
        .fetch_optional(raw(&mut reader))
        .await
        .expect("read after reopen");
    assert!(row.is_some());
}
