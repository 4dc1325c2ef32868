//! The usage totals the reports of [`crate::usage`] read: kept by triggers and folded
//! in after the write, checked against the plain aggregates, rebuilt when a change
//! bypassed the triggers.
//!
//! Step `20261130130000_usage_totals` keeps the rows of `usage_totals`: one summary
//! row (kind 0), one per model (kind 1), one per step (kind 2), one per workflow
//! session id (kind 3). Its header explains what is counted and why the sums are
//! exact. Step `20261130140000_usage_totals_fold` adds the fold boundary
//! (`usage_totals_fold.through_row_id`, [`folded_through`]): the totals include the
//! agent runs at or below it, and its triggers act on those rows only. A new agent run
//! lands above it, in the **tail**, and costs its insert nothing more (issue 12 item
//! 4: the per-insert triggers cost +27% on `persist_agent_run`). The reports add the
//! tail as they read (one SUM() per total over the stored pair and the tail's values:
//! exact in the same way), and [`fold`] moves the boundary up: the tail's rows go
//! through the same statements the triggers run, in rowid order.
//! `skill_builder_app::Database` folds at open and while its writer is idle, so the
//! tail stays short and a report costs what it shows.
//!
//! Triggers see every change made through SQL, by this layer or any other tool, with
//! one exception: `INSERT OR REPLACE` (or `REPLACE`) deletes the conflicting row
//! without running DELETE triggers unless the connection enabled
//! `recursive_triggers`. The summary row counts the folded agent runs (`agent_rows`),
//! so such a change to a folded row shows as a count that differs from the table's:
//! [`is_current`] compares the two, and `Database::open` of `skill-builder-app` calls
//! [`rebuild`] when they differ or the summary row or the boundary is missing.
//!
//! [`stored`] and [`recompute`] read the same shape — the totals as the reports see
//! them (stored plus tail), and the plain aggregate queries over `agent_runs` and
//! `workflow_sessions` — so a test or `skill-builder-db check` can compare them
//! exactly.
//!
//! ```no_run
//! # async fn demo(conn: &mut sqlx::SqliteConnection) -> skill_builder_db::Result<()> {
//! use skill_builder_db::usage_totals;
//!
//! if !usage_totals::is_current(conn).await? {
//!     usage_totals::rebuild(conn).await?;
//! }
//! let folded = usage_totals::fold(conn).await?; // agent runs moved out of the tail
//! # let _ = folded;
//! assert_eq!(usage_totals::stored(conn).await?, usage_totals::recompute(conn).await?);
//! # Ok(()) }
//! ```

use sqlx::SqliteConnection;
use tracing::instrument;

use crate::Result;

/// The migration step from which this build reads and folds the totals
/// (`20261130150000_recent_runs_fold`; step `20261130130000_usage_totals` made the
/// totals, `20261130140000_usage_totals_fold` the fold boundary, and
/// `20261130150000` the recent-runs entries a fold also adds): a file at an earlier
/// version has none it can read.
pub const STEP: i64 = 20_261_130_150_000;

/// Agent runs folded per transaction by [`fold`]: bounds how long one fold holds the
/// write lock (each row costs ~25 µs for its totals, measured before the recent-runs
/// entry was added to the fold, plus one indexed insert for that entry).
pub const FOLD_CHUNK: i64 = 512;

/// Totals of one group (a model, a step or a session), key as stored bytes (a key that
/// is not valid UTF-8 is still compared).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupTotals {
    /// The model, the step id as its decimal text, or the session id, as bytes.
    pub key: Vec<u8>,
    /// Readable usage rows.
    pub runs: i64,
    /// Their cost in US dollars (0.0 when every cost is NULL).
    pub cost: f64,
    /// Rows with a cost above zero (0 for sessions, which do not keep them).
    pub paid_runs: i64,
    /// Their cost (0.0 for sessions).
    pub paid_cost: f64,
}

/// Everything the usage reports read, in one comparable value.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageTotals {
    /// Agent runs in the table (every row).
    pub agent_rows: i64,
    /// Usage rows (with a workflow session id, not reset) left out as unreadable.
    pub skipped_rows: i64,
    /// Sessions without a reset marker.
    pub sessions: i64,
    /// The sum of their costs.
    pub cost: f64,
    /// Those of them `hide_cancelled` shows (cost above zero or no usage rows).
    pub shown_sessions: i64,
    /// The sum of their costs.
    pub shown_cost: f64,
    /// Per session id with at least one readable usage row, ordered by key bytes.
    pub per_session: Vec<GroupTotals>,
    /// Per model with at least one readable usage row, ordered by key.
    pub per_model: Vec<GroupTotals>,
    /// Per step id with at least one readable usage row, ordered by step id.
    pub per_step: Vec<GroupTotals>,
}

/// Whether the totals can be trusted: the summary row and the fold boundary exist, the
/// boundary is an integer, and the summary counts as many agent runs as the table holds at or below the boundary.
/// A full count of `agent_runs` (SQLite counts the entries of its smallest index:
/// ~1 ms per 100,000 rows when cached, ~130 ms for 1,000,000 rows read from disk).
///
/// # Errors
/// The database error.
#[instrument(skip_all, fields(current), err)]
pub async fn is_current(conn: &mut SqliteConnection) -> Result<bool> {
    let current = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM usage_totals t, usage_totals_fold f
                          WHERE t.kind = 0 AND t.key = 0 AND f.id = 0
                            AND typeof(f.through_row_id) = 'integer'
                            AND t.agent_rows = (SELECT count(*) FROM agent_runs)
                                - (SELECT count(*) FROM agent_runs
                                   WHERE rowid > f.through_row_id))
               AS "current!: bool""#
    )
    .fetch_one(conn)
    .await?;
    tracing::Span::current().record("current", current);
    Ok(current)
}

/// The highest agent-run rowid the stored totals include (agent runs above it are
/// the tail the reports add as they read). Missing, or not an integer (another tool
/// wrote `'7x'`, 2.5 or a BLOB: compared as stored it would empty the tail) →
/// [`crate::Error::UsageTotalsMissing`].
///
/// # Errors
/// That, or the database error.
pub async fn folded_through(conn: &mut SqliteConnection) -> Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT through_row_id AS "through_row_id!: i64" FROM usage_totals_fold
           WHERE id = 0 AND typeof(through_row_id) = 'integer'"#
    )
    .fetch_optional(conn)
    .await?
    .ok_or(crate::Error::UsageTotalsMissing)
}

/// Where the fold stands (two lookups, constant time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoldState {
    /// The highest rowid of `agent_runs` (0 when empty).
    pub max_row_id: i64,
    /// The highest rowid the stored totals include.
    pub through_row_id: i64,
}

impl FoldState {
    /// Whether agent runs wait to be folded (the tail is not empty).
    pub fn pending(&self) -> bool {
        self.max_row_id > self.through_row_id
    }
}

/// The highest agent-run rowid and the fold boundary. Missing boundary →
/// [`crate::Error::UsageTotalsMissing`].
///
/// # Errors
/// That, or the database error.
pub async fn fold_state(conn: &mut SqliteConnection) -> Result<FoldState> {
    let through_row_id = folded_through(&mut *conn).await?;
    let max_row_id =
        sqlx::query_scalar!(r#"SELECT COALESCE(max(rowid), 0) AS "max!: i64" FROM agent_runs"#)
            .fetch_one(conn)
            .await?;
    Ok(FoldState {
        max_row_id,
        through_row_id,
    })
}

/// Fold the tail into the stored totals: every agent run above the boundary, in rowid
/// order and [`FOLD_CHUNK`] at a time (one `BEGIN IMMEDIATE` transaction each, see
/// [`fold_chunk`]). The reports give the same results before and after. Returns the
/// number of agent runs folded.
///
/// `skill_builder_app::Database` folds at open and whenever the writer is idle; a
/// caller that wants the tail folded now (a benchmark's setup, a test) calls this.
///
/// # Errors
/// [`crate::Error::UsageTotalsMissing`], or the database error (the chunks committed
/// before it stay folded).
#[instrument(skip_all, fields(folded), err)]
pub async fn fold(conn: &mut SqliteConnection) -> Result<u64> {
    let mut folded = 0_u64;
    // A read first: an empty tail takes no write lock.
    let state = fold_state(&mut *conn).await?;
    if !state.pending() {
        tracing::Span::current().record("folded", folded);
        return Ok(folded);
    }
    // Rowids can have gaps: the span is an upper bound of the tail's rows.
    let at_most = state.max_row_id - state.through_row_id;
    loop {
        let rows = fold_chunk(&mut *conn).await?;
        folded += rows;
        if rows < FOLD_CHUNK.unsigned_abs() {
            break;
        }
        // Progress of a long fold (a tail left by a process that never went idle).
        tracing::info!(folded, at_most, "folding the usage totals' tail");
    }
    tracing::Span::current().record("folded", folded);
    Ok(folded)
}

/// Fold at most [`FOLD_CHUNK`] agent runs of the tail, in one `BEGIN IMMEDIATE`
/// transaction: the rows, in rowid order, go through the same statements as the
/// triggers of step 20261130130000 (`usage_row_applies`), then the boundary moves up
/// to the last of them. Returns how many were folded (0: the tail was empty).
///
/// # Errors
/// [`crate::Error::UsageTotalsMissing`], or the database error (nothing is folded
/// then).
#[instrument(skip_all, fields(folded, through_row_id), err)]
pub async fn fold_chunk(conn: &mut SqliteConnection) -> Result<u64> {
    let mut tx = crate::tx::begin_immediate(conn).await?;
    let through = folded_through(&mut tx).await?;
    let chunk = sqlx::query!(
        r#"SELECT count(*) AS "rows!: i64", max(row_id) AS "upto?: i64"
           FROM (SELECT row_id FROM agent_runs_usage_tail ORDER BY row_id LIMIT ?1)"#,
        FOLD_CHUNK
    )
    .fetch_one(&mut *tx)
    .await?;
    let Some(upto) = chunk.upto else {
        tx.commit().await?;
        return Ok(0);
    };
    sqlx::query!(
        "INSERT INTO usage_row_applies
         SELECT 1, row_id, NULL, NULL, NULL, NULL, 0, 0,
                workflow_session_id, model, step_id, total_cost, counted, readable
         FROM agent_runs_usage WHERE row_id > ?1 AND row_id <= ?2 ORDER BY row_id",
        through,
        upto
    )
    .execute(&mut *tx)
    .await?;
    // The recent-runs entries of the same rows (step 20261130150000), replacing any
    // entry another tool's edits left at those rowids.
    sqlx::query!(
        "DELETE FROM recent_agent_runs WHERE row_id > ?1 AND row_id <= ?2",
        through,
        upto
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO recent_agent_runs (row_id, running, completed_at, started_at)
         SELECT rowid, completed_at IS NULL, completed_at, started_at FROM agent_runs
         WHERE rowid > ?1 AND rowid <= ?2 AND reset_marker IS NULL",
        through,
        upto
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE usage_totals_fold SET through_row_id = ?1 WHERE id = 0",
        upto
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let span = tracing::Span::current();
    span.record("folded", chunk.rows);
    span.record("through_row_id", upto);
    Ok(chunk.rows.unsigned_abs())
}

/// Recompute every total from the rows, in one `BEGIN IMMEDIATE` transaction:
/// `usage_totals` is emptied and fed again with the statements that end the migration
/// step (every live session as empty, then every agent run in rowid order), and the
/// fold boundary is set to the highest rowid (the tail is folded too); the recent-runs
/// entries (step 20261130150000) are written again. Logs a warning (it
/// means a change bypassed the triggers). Time grows with the history (a few seconds
/// per million agent runs).
///
/// # Errors
/// The database error; nothing changes then.
#[instrument(skip_all, fields(agent_rows), err)]
pub async fn rebuild(conn: &mut SqliteConnection) -> Result<()> {
    let mut tx = crate::tx::begin_immediate(conn).await?;
    sqlx::query!("DELETE FROM usage_totals")
        .execute(&mut *tx)
        .await?;
    sqlx::query!("INSERT INTO usage_totals (kind, key) VALUES (0, 0)")
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "INSERT OR REPLACE INTO usage_totals_fold (id, through_row_id)
         SELECT 0, COALESCE(max(rowid), 0) FROM agent_runs"
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("DELETE FROM recent_agent_runs")
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "INSERT INTO recent_agent_runs (row_id, running, completed_at, started_at)
         SELECT rowid, completed_at IS NULL, completed_at, started_at FROM agent_runs
         WHERE reset_marker IS NULL"
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO usage_session_changes (sign, runs, cost, live)
         SELECT 1, 0, 0.0, 1 FROM workflow_sessions WHERE reset_marker IS NULL"
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO usage_row_applies
         SELECT 1, row_id, NULL, NULL, NULL, NULL, 0, 0,
                workflow_session_id, model, step_id, total_cost, counted, readable
         FROM agent_runs_usage ORDER BY row_id"
    )
    .execute(&mut *tx)
    .await?;
    let agent_rows = sqlx::query_scalar!(
        r#"SELECT agent_rows AS "agent_rows!: i64" FROM usage_totals WHERE kind = 0 AND key = 0"#
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::Span::current().record("agent_rows", agent_rows);
    tracing::warn!("rebuilt the usage totals: a change to agent_runs had bypassed their triggers");
    Ok(())
}

/// Rebuild the totals when [`is_current`] says they cannot be trusted. Returns
/// whether it rebuilt them.
///
/// # Errors
/// The database error.
pub async fn ensure_current(conn: &mut SqliteConnection) -> Result<bool> {
    if is_current(conn).await? {
        return Ok(false);
    }
    rebuild(conn).await?;
    Ok(true)
}

/// Mismatches between `recent_agent_runs` (step 20261130150000, what
/// `get_recent_runs` reads) and the folded agent runs: folded runs without a reset
/// marker whose entry is missing or holds other values, plus entries that match no
/// such run (its row gone, reset, or above the fold boundary). 0 unless another tool
/// edited that table or removed rows without their triggers. The list never shows an
/// entry that does not match its row; a missing entry hides its run from the list
/// until [`rebuild`]. A full scan, for `check`.
///
/// # Errors
/// The database error.
pub async fn recent_entries_missing(conn: &mut SqliteConnection) -> Result<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT (SELECT count(*) FROM agent_runs a
                   WHERE a.reset_marker IS NULL
                     AND a.rowid <= (SELECT through_row_id FROM usage_totals_fold WHERE id = 0)
                     AND NOT EXISTS (SELECT 1 FROM recent_agent_runs r
                                     WHERE r.row_id = a.rowid
                                       AND r.running IS (a.completed_at IS NULL)
                                       AND r.completed_at IS a.completed_at
                                       AND r.started_at IS a.started_at))
                + (SELECT count(*) FROM recent_agent_runs r
                   WHERE NOT EXISTS (
                       SELECT 1 FROM agent_runs a
                       WHERE a.rowid = r.row_id AND a.reset_marker IS NULL
                         AND a.rowid <= (SELECT through_row_id FROM usage_totals_fold
                                         WHERE id = 0)))
               AS "n!: i64""#
    )
    .fetch_one(conn)
    .await?)
}

/// The summary the reports show: the stored summary row with the tail added (the
/// sessions the tail's rows belong to change their contribution).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CurrentSummary {
    /// Agent runs in the table (every row, folded or not).
    pub agent_rows: i64,
    /// Unreadable usage rows.
    pub skipped_rows: i64,
    /// Sessions without a reset marker.
    pub sessions: i64,
    /// The sum of their costs.
    pub cost: f64,
    /// Those `hide_cancelled` shows.
    pub shown_sessions: i64,
    /// The sum of their costs.
    pub shown_cost: f64,
}

/// The summary as of now: stored totals plus the tail (see the module docs of
/// [`crate::usage`] for why the sums stay exact). The tail's rows are read once;
/// each session they touch is looked up by key. Missing totals →
/// [`crate::Error::UsageTotalsMissing`].
pub(crate) async fn current_summary(conn: &mut SqliteConnection) -> Result<CurrentSummary> {
    // `changed`: per live session the tail touches, its stored runs and value (0 and
    // 0.0 without a stored row) and its value with the tail, one SUM() over the stored
    // pair and the tail's costs. The summary then removes each old value and adds each
    // new one, in one SUM() over its own pair and those values.
    let r = sqlx::query!(
        r#"WITH tail AS MATERIALIZED (
               SELECT workflow_session_id AS sid, 0.0 + COALESCE(total_cost, 0.0) AS cost
               FROM agent_runs_usage_tail WHERE counted AND readable
           ),
           changed AS MATERIALIZED (
               SELECT COALESCE(MAX(p.runs_o), 0) AS runs_o,
                      COALESCE(MAX(p.value_o), 0.0) AS value_o,
                      SUM(p.v) AS value_n
               FROM (SELECT sid, cost AS v, NULL AS runs_o, NULL AS value_o FROM tail
                     UNION ALL
                     SELECT key, cost, runs, cost + cost_err FROM usage_totals
                     WHERE kind = 3 AND key IN (SELECT sid FROM tail)
                     UNION ALL
                     SELECT key, cost_err, NULL, NULL FROM usage_totals
                     WHERE kind = 3 AND key IN (SELECT sid FROM tail)) AS p
               WHERE EXISTS (SELECT 1 FROM workflow_sessions ws
                             WHERE ws.session_id = p.sid AND ws.reset_marker IS NULL)
               GROUP BY p.sid
           )
           SELECT s.agent_rows + (SELECT count(*) FROM agent_runs_usage_tail)
                      AS "agent_rows!: i64",
                  s.skipped_rows
                      + (SELECT count(*) FROM agent_runs_usage_tail
                         WHERE counted AND NOT readable) AS "skipped_rows!: i64",
                  s.runs AS "sessions!: i64",
                  (SELECT SUM(v) FROM (SELECT s.cost AS v UNION ALL SELECT s.cost_err
                                       UNION ALL SELECT -value_o FROM changed
                                       UNION ALL SELECT value_n FROM changed))
                      AS "cost!: f64",
                  s.paid_runs
                      - (SELECT count(*) FROM changed WHERE runs_o = 0 OR value_o > 0)
                      + (SELECT count(*) FROM changed WHERE value_n > 0)
                      AS "shown_sessions!: i64",
                  (SELECT SUM(v) FROM (SELECT s.paid_cost AS v UNION ALL SELECT s.paid_cost_err
                                       UNION ALL SELECT -value_o FROM changed
                                                 WHERE runs_o = 0 OR value_o > 0
                                       UNION ALL SELECT value_n FROM changed
                                                 WHERE value_n > 0))
                      AS "shown_cost!: f64"
           FROM usage_totals s, usage_totals_fold f
           WHERE s.kind = 0 AND s.key = 0 AND f.id = 0
             AND typeof(f.through_row_id) = 'integer'"#
    )
    .fetch_optional(conn)
    .await?
    .ok_or(crate::Error::UsageTotalsMissing)?;
    Ok(CurrentSummary {
        agent_rows: r.agent_rows,
        skipped_rows: r.skipped_rows,
        sessions: r.sessions,
        cost: r.cost,
        shown_sessions: r.shown_sessions,
        shown_cost: r.shown_cost,
    })
}

/// Unreadable usage rows as of now (stored count plus the tail's). Missing totals →
/// [`crate::Error::UsageTotalsMissing`].
pub(crate) async fn current_skipped(conn: &mut SqliteConnection) -> Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT s.skipped_rows
                  + (SELECT count(*) FROM agent_runs_usage_tail WHERE counted AND NOT readable)
                  AS "n!: i64"
           FROM usage_totals s, usage_totals_fold f
           WHERE s.kind = 0 AND s.key = 0 AND f.id = 0
             AND typeof(f.through_row_id) = 'integer'"#
    )
    .fetch_optional(conn)
    .await?
    .ok_or(crate::Error::UsageTotalsMissing)
}

/// The group totals of one kind (1 = per model, 2 = per step, 3 = per session) as of
/// now, ordered by key, groups with runs only: the stored pair and the tail's values
/// in one SUM() per group. Sessions keep no paid totals (0 and 0.0).
pub(crate) async fn current_groups(
    conn: &mut SqliteConnection,
    kind: i64,
) -> Result<Vec<GroupTotals>> {
    Ok(sqlx::query_as!(
        GroupTotals,
        r#"SELECT CAST(p.key AS BLOB) AS "key!: Vec<u8>", SUM(p.runs) AS "runs!: i64",
                  SUM(p.cost) AS "cost!: f64", SUM(p.paid_runs) AS "paid_runs!: i64",
                  SUM(p.paid_cost) AS "paid_cost!: f64"
           FROM (SELECT key, runs, cost, paid_runs, paid_cost FROM usage_totals
                 WHERE kind = ?1
                 UNION ALL
                 SELECT key, 0, cost_err, 0, paid_cost_err FROM usage_totals
                 WHERE kind = ?1
                 UNION ALL
                 SELECT CASE ?1 WHEN 1 THEN model WHEN 2 THEN step_id
                                ELSE workflow_session_id END,
                        1, 0.0 + COALESCE(total_cost, 0.0),
                        ?1 <> 3 AND total_cost > 0,
                        CASE WHEN ?1 <> 3 AND total_cost > 0 THEN total_cost ELSE 0.0 END
                 FROM agent_runs_usage_tail WHERE counted AND readable) AS p
           GROUP BY p.key HAVING SUM(p.runs) <> 0 ORDER BY p.key"#,
        kind
    )
    .fetch_all(conn)
    .await?)
}

/// The totals the reports read as of now: the stored totals with the tail added
/// (what [`recompute`] must equal). Missing summary row or fold boundary →
/// [`crate::Error::UsageTotalsMissing`].
///
/// # Errors
/// That, or the database error.
#[instrument(skip_all, err)]
pub async fn stored(conn: &mut SqliteConnection) -> Result<UsageTotals> {
    let s = current_summary(&mut *conn).await?;
    let per_session = current_groups(&mut *conn, 3).await?;
    let per_model = current_groups(&mut *conn, 1).await?;
    let per_step = current_groups(&mut *conn, 2).await?;
    Ok(UsageTotals {
        agent_rows: s.agent_rows,
        skipped_rows: s.skipped_rows,
        sessions: s.sessions,
        cost: s.cost,
        shown_sessions: s.shown_sessions,
        shown_cost: s.shown_cost,
        per_session,
        per_model,
        per_step,
    })
}

/// The same totals from the plain aggregate queries over `agent_runs` (through the
/// view `agent_runs_usage`, which adds the counted/readable tests) and
/// `workflow_sessions`: a full scan, for checks and tests.
///
/// # Errors
/// The database error.
#[instrument(skip_all, err)]
pub async fn recompute(conn: &mut SqliteConnection) -> Result<UsageTotals> {
    let s = sqlx::query!(
        r#"WITH per_session AS (
               SELECT workflow_session_id AS sid, SUM(total_cost) AS cost, COUNT(*) AS n
               FROM agent_runs_usage WHERE counted AND readable
               GROUP BY workflow_session_id
           ),
           live AS (
               SELECT COALESCE(a.cost, 0.0) AS cost, a.n IS NULL OR a.cost > 0 AS shown
               FROM workflow_sessions ws LEFT JOIN per_session a ON a.sid = ws.session_id
               WHERE ws.reset_marker IS NULL
           )
           SELECT (SELECT count(*) FROM agent_runs) AS "agent_rows!: i64",
                  (SELECT count(*) FROM agent_runs_usage WHERE counted AND NOT readable)
                      AS "skipped_rows!: i64",
                  (SELECT count(*) FROM live) AS "sessions!: i64",
                  (SELECT COALESCE(SUM(cost), 0.0) FROM live) AS "cost!: f64",
                  (SELECT count(*) FROM live WHERE shown) AS "shown_sessions!: i64",
                  (SELECT COALESCE(SUM(cost), 0.0) FROM live WHERE shown) AS "shown_cost!: f64""#
    )
    .fetch_one(&mut *conn)
    .await?;
    let per_session = sqlx::query_as!(
        GroupTotals,
        r#"SELECT CAST(workflow_session_id AS BLOB) AS "key!: Vec<u8>",
                  COUNT(*) AS "runs!: i64", COALESCE(SUM(total_cost), 0.0) AS "cost!: f64",
                  0 AS "paid_runs!: i64", 0.0 AS "paid_cost!: f64"
           FROM agent_runs_usage WHERE counted AND readable
           GROUP BY workflow_session_id ORDER BY 1"#
    )
    .fetch_all(&mut *conn)
    .await?;
    let per_model = sqlx::query_as!(
        GroupTotals,
        r#"SELECT CAST(model AS BLOB) AS "key!: Vec<u8>",
                  COUNT(*) AS "runs!: i64", COALESCE(SUM(total_cost), 0.0) AS "cost!: f64",
                  COUNT(CASE WHEN total_cost > 0 THEN 1 END) AS "paid_runs!: i64",
                  COALESCE(SUM(CASE WHEN total_cost > 0 THEN total_cost END), 0.0)
                      AS "paid_cost!: f64"
           FROM agent_runs_usage WHERE counted AND readable
           GROUP BY model ORDER BY model"#
    )
    .fetch_all(&mut *conn)
    .await?;
    let per_step = sqlx::query_as!(
        GroupTotals,
        r#"SELECT CAST(CAST(step_id AS TEXT) AS BLOB) AS "key!: Vec<u8>",
                  COUNT(*) AS "runs!: i64", COALESCE(SUM(total_cost), 0.0) AS "cost!: f64",
                  COUNT(CASE WHEN total_cost > 0 THEN 1 END) AS "paid_runs!: i64",
                  COALESCE(SUM(CASE WHEN total_cost > 0 THEN total_cost END), 0.0)
                      AS "paid_cost!: f64"
           FROM agent_runs_usage WHERE counted AND readable
           GROUP BY step_id ORDER BY step_id"#
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(UsageTotals {
        agent_rows: s.agent_rows,
        skipped_rows: s.skipped_rows,
        sessions: s.sessions,
        cost: s.cost,
        shown_sessions: s.shown_sessions,
        shown_cost: s.shown_cost,
        per_session,
        per_model,
        per_step,
    })
}
