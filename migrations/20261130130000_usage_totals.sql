-- Usage totals maintained with every write (issue 12): the usage screen reads a few
-- rows instead of aggregating the whole history.
--
-- What is counted (the reports of crates/db/src/usage.rs):
--   a "usage row" is an agent run with a workflow session id and no reset marker;
--   it is "readable" when the columns the totals read hold what the typed API reads:
--   workflow_session_id text, step_id an integer, model text, total_cost NULL or a
--   number within +-2^53 (9,007,199,254,740,992 USD: no sum of such costs can
--   overflow a double, where an infinite sum would leave NaN in the compensation).
--   Readable usage rows are summed; unreadable ones (other tools' edits) are only
--   counted, as skipped.
--
-- One table holds every total: the summary row (kind 0), one row per model (kind 1),
-- one per step (kind 2) and one per workflow session id (kind 3). A write updates a
-- fixed number of rows, whatever the size of the history or of the session. What a
-- write pays is mostly the statements the triggers run; they are kept few and simple
-- (BENCHMARKS.md has the measurements).
--
-- Exact sums. A total is kept as two REALs, `cost` + `cost_err`: the running sum and
-- the compensation of the Kahan-Babuska-Neumaier summation that SQLite's own SUM()
-- uses (func.c, kahanBabuskaNeumaierStep), with the same operations. Removing a value
-- adds its negation. Every rounding error of an addition is captured exactly in
-- `cost_err`, so the pair holds the exact sum as long as the errors fit one double
-- (values whose magnitudes lie within ~2^25 of each other: any real usage history),
-- and `cost + cost_err` is then that exact sum correctly rounded, which is what SUM()
-- over the same values returns in any order. A total whose count drops to 0 restarts
-- from 0.0 exactly.
--
-- Summary row: `runs`/`cost` = the sessions without a reset marker and the sum of
-- their costs (each session's cost being SUM() over its readable usage rows, 0.0
-- without any, rounded as the plain report rounds it); `paid_runs`/`paid_cost` = the
-- same over the sessions `hide_cancelled` shows (cost above zero, or no readable
-- usage rows); `agent_rows` = every agent run, so a change that bypassed the
-- triggers (INSERT OR REPLACE by another tool without recursive triggers deletes
-- rows without DELETE triggers) shows as a different count, and `Database::open`
-- then rebuilds the totals (usage_totals::rebuild); `skipped_rows` = unreadable usage
-- rows. Model and step rows: `runs`/`cost` over every readable usage row of that
-- model or step, `paid_*` over those with a cost above zero (for `hide_cancelled`).
--
-- Session rows (kind 3): `runs`/`cost` over the session's readable usage rows.
--
-- Row-less views carry the arithmetic once: `usage_row_moves` takes an agent run's
-- old and new version (either absent), decides for each whether it is counted and
-- readable, and passes them to `usage_row_applies`, which updates the counters and
-- the model and step totals, and passes the session part to `usage_session_pairs`
-- and `usage_session_deltas`: a session's totals change, and while the session is
-- live (has a workflow_sessions row without a reset marker) its contribution to the
-- summary is removed as it was and added as it is (`usage_session_changes`). A
-- session row that appears, disappears or is reset adds or removes its contribution
-- from its stored totals, so the order in which SQLite runs this step's triggers and
-- the session-creating triggers of step 20261130100000 does not matter. The view
-- `agent_runs_usage` gives the same two tests per stored row. (VALUES, not SELECT,
-- into the views on the hot path: an INSERT … SELECT into a view goes through a
-- temporary table, several times slower.)
--
-- Tables, views and triggers are new; no table's rows or columns change.

CREATE TABLE usage_totals (
    kind INTEGER NOT NULL,
    key NOT NULL,
    runs INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0.0,
    cost_err REAL NOT NULL DEFAULT 0.0,
    paid_runs INTEGER NOT NULL DEFAULT 0,
    paid_cost REAL NOT NULL DEFAULT 0.0,
    paid_cost_err REAL NOT NULL DEFAULT 0.0,
    agent_rows INTEGER NOT NULL DEFAULT 0,
    skipped_rows INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;

-- Every agent run, with whether it is a usage row (`counted`) and `readable`.
CREATE VIEW agent_runs_usage AS
SELECT a.rowid AS row_id, a.*,
       a.workflow_session_id IS NOT NULL AND a.reset_marker IS NULL AS counted,
       typeof(a.workflow_session_id) = 'text' AND typeof(a.step_id) = 'integer'
       AND typeof(a.model) = 'text'
       AND (a.total_cost IS NULL
            OR (typeof(a.total_cost) IN ('real', 'integer')
                AND abs(a.total_cost) <= 9007199254740992.0)) AS readable
FROM agent_runs AS a;

-- One session's contribution to the summary: sign 1 adds it, -1 removes it; nothing
-- unless `live`. `runs` is 0 for a session without readable usage rows, `cost` its
-- cost.
CREATE VIEW usage_session_changes AS
SELECT NULL AS sign, NULL AS runs, NULL AS cost, NULL AS live
WHERE 0;

CREATE TRIGGER usage_session_changes_apply INSTEAD OF INSERT ON usage_session_changes
BEGIN
    -- (No UPDATE … FROM: its subquery made this statement several times slower.)
    UPDATE usage_totals SET
        runs = runs + NEW.sign,
        cost = cost + NEW.sign * NEW.cost,
        cost_err = cost_err + CASE
            WHEN abs(cost) > abs(NEW.sign * NEW.cost)
            THEN (cost - (cost + NEW.sign * NEW.cost)) + NEW.sign * NEW.cost
            ELSE (NEW.sign * NEW.cost - (cost + NEW.sign * NEW.cost)) + cost END,
        paid_runs = paid_runs
            + CASE WHEN NEW.runs = 0 OR NEW.cost > 0 THEN NEW.sign ELSE 0 END,
        paid_cost = paid_cost + CASE WHEN NEW.runs = 0 OR NEW.cost > 0 THEN NEW.sign * NEW.cost ELSE 0.0 END,
        paid_cost_err = paid_cost_err + CASE
            WHEN abs(paid_cost) > abs(CASE WHEN NEW.runs = 0 OR NEW.cost > 0 THEN NEW.sign * NEW.cost ELSE 0.0 END)
            THEN (paid_cost - (paid_cost + CASE WHEN NEW.runs = 0 OR NEW.cost > 0 THEN NEW.sign * NEW.cost ELSE 0.0 END)) + CASE WHEN NEW.runs = 0 OR NEW.cost > 0 THEN NEW.sign * NEW.cost ELSE 0.0 END
            ELSE (CASE WHEN NEW.runs = 0 OR NEW.cost > 0 THEN NEW.sign * NEW.cost ELSE 0.0 END - (paid_cost + CASE WHEN NEW.runs = 0 OR NEW.cost > 0 THEN NEW.sign * NEW.cost ELSE 0.0 END)) + paid_cost END
    WHERE kind = 0 AND key = 0 AND NEW.live;
END;

-- A session's totals change: remove `old_cost` (when `old_in`), add `new_cost` (when
-- `new_in`); its summary contribution is removed before and added after, when live.
CREATE VIEW usage_session_deltas AS
SELECT NULL AS session_id, NULL AS old_cost, NULL AS old_in, NULL AS new_cost,
       NULL AS new_in
WHERE 0;

CREATE TRIGGER usage_session_deltas_apply INSTEAD OF INSERT ON usage_session_deltas
BEGIN
    INSERT INTO usage_session_changes VALUES (
        -1,
        COALESCE((SELECT runs FROM usage_totals WHERE kind = 3 AND key = NEW.session_id), 0),
        COALESCE((SELECT cost + cost_err FROM usage_totals
                  WHERE kind = 3 AND key = NEW.session_id), 0.0),
        EXISTS (SELECT 1 FROM workflow_sessions
                WHERE session_id = NEW.session_id AND reset_marker IS NULL));
    INSERT INTO usage_totals (kind, key, runs, cost)
    SELECT 3, NEW.session_id, g.sign, 0.0 + g.sign * COALESCE(g.cost, 0.0)
    FROM (SELECT -1 AS sign, NEW.old_cost AS cost WHERE NEW.old_in
          UNION ALL SELECT 1, NEW.new_cost WHERE NEW.new_in) AS g
    WHERE 1
    ON CONFLICT (kind, key) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        cost_err = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost_err + CASE
            WHEN abs(cost) > abs(excluded.cost)
            THEN (cost - (cost + excluded.cost)) + excluded.cost
            ELSE (excluded.cost - (cost + excluded.cost)) + cost END END;
    INSERT INTO usage_session_changes VALUES (
        1,
        COALESCE((SELECT runs FROM usage_totals WHERE kind = 3 AND key = NEW.session_id), 0),
        COALESCE((SELECT cost + cost_err FROM usage_totals
                  WHERE kind = 3 AND key = NEW.session_id), 0.0),
        EXISTS (SELECT 1 FROM workflow_sessions
                WHERE session_id = NEW.session_id AND reset_marker IS NULL));
END;

-- The session part of one agent-run change (see usage_row_applies): one delta when
-- the row stays in the same session, else one per session it leaves or joins.
CREATE VIEW usage_session_pairs AS
SELECT NULL AS old_session, NULL AS old_cost, NULL AS old_ok,
       NULL AS new_session, NULL AS new_cost, NULL AS new_ok
WHERE 0;

CREATE TRIGGER usage_session_pairs_same INSTEAD OF INSERT ON usage_session_pairs
WHEN NEW.old_ok AND NEW.new_ok AND NEW.old_session = NEW.new_session
BEGIN
    INSERT INTO usage_session_deltas
    VALUES (NEW.old_session, NEW.old_cost, 1, NEW.new_cost, 1);
END;

CREATE TRIGGER usage_session_pairs_leave INSTEAD OF INSERT ON usage_session_pairs
WHEN NEW.old_ok AND NOT (NEW.new_ok AND NEW.old_session = NEW.new_session)
BEGIN
    INSERT INTO usage_session_deltas VALUES (NEW.old_session, NEW.old_cost, 1, NULL, 0);
END;

CREATE TRIGGER usage_session_pairs_join INSTEAD OF INSERT ON usage_session_pairs
WHEN NEW.new_ok AND NOT (NEW.old_ok AND NEW.old_session = NEW.new_session)
BEGIN
    INSERT INTO usage_session_deltas VALUES (NEW.new_session, NULL, 0, NEW.new_cost, 1);
END;

-- An agent run's change, with whether its old and new version are `counted` and
-- `readable`. Fed by usage_row_moves (and the initial fill).
CREATE VIEW usage_row_applies AS
SELECT NULL AS rows_delta, NULL AS row_id,
       NULL AS old_session, NULL AS old_model, NULL AS old_step, NULL AS old_cost,
       NULL AS old_counted, NULL AS old_readable,
       NULL AS new_session, NULL AS new_model, NULL AS new_step, NULL AS new_cost,
       NULL AS new_counted, NULL AS new_readable
WHERE 0;

CREATE TRIGGER usage_row_applies_apply INSTEAD OF INSERT ON usage_row_applies
BEGIN
    UPDATE usage_totals SET
        agent_rows = agent_rows + NEW.rows_delta,
        skipped_rows = skipped_rows + (NEW.new_counted AND NOT NEW.new_readable)
                                    - (NEW.old_counted AND NOT NEW.old_readable)
    WHERE kind = 0 AND key = 0
      AND (NEW.rows_delta <> 0
           OR (NEW.new_counted AND NOT NEW.new_readable)
              <> (NEW.old_counted AND NOT NEW.old_readable));

    -- Model and step totals: remove the old version, add the new one.
    INSERT INTO usage_totals (kind, key, runs, cost, paid_runs, paid_cost)
    SELECT g.kind, g.key, g.sign, 0.0 + g.sign * COALESCE(g.cost, 0.0),
           CASE WHEN g.cost > 0 THEN g.sign ELSE 0 END,
           CASE WHEN g.cost > 0 THEN g.sign * g.cost ELSE 0.0 END
    FROM (SELECT 1 AS kind, NEW.old_model AS key, -1 AS sign, NEW.old_cost AS cost
          WHERE NEW.old_counted AND NEW.old_readable
          UNION ALL SELECT 2, NEW.old_step, -1, NEW.old_cost WHERE NEW.old_counted AND NEW.old_readable
          UNION ALL SELECT 1, NEW.new_model, 1, NEW.new_cost WHERE NEW.new_counted AND NEW.new_readable
          UNION ALL SELECT 2, NEW.new_step, 1, NEW.new_cost WHERE NEW.new_counted AND NEW.new_readable) AS g
    WHERE 1
    ON CONFLICT (kind, key) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        cost_err = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost_err + CASE
            WHEN abs(cost) > abs(excluded.cost)
            THEN (cost - (cost + excluded.cost)) + excluded.cost
            ELSE (excluded.cost - (cost + excluded.cost)) + cost END END,
        paid_runs = paid_runs + excluded.paid_runs,
        paid_cost = CASE WHEN paid_runs + excluded.paid_runs = 0 THEN 0.0
            ELSE paid_cost + excluded.paid_cost END,
        paid_cost_err = CASE WHEN paid_runs + excluded.paid_runs = 0 THEN 0.0
            ELSE paid_cost_err + CASE
            WHEN abs(paid_cost) > abs(excluded.paid_cost)
            THEN (paid_cost - (paid_cost + excluded.paid_cost)) + excluded.paid_cost
            ELSE (excluded.paid_cost - (paid_cost + excluded.paid_cost)) + paid_cost END END;

    -- The session totals and the summary.
    INSERT INTO usage_session_pairs VALUES (
        NEW.old_session, NEW.old_cost, NEW.old_counted AND NEW.old_readable,
        NEW.new_session, NEW.new_cost, NEW.new_counted AND NEW.new_readable);
END;

-- An agent run's old and new version as stored (`old_present`/`new_present` 0 for
-- the side an insert or delete lacks). The view's columns have no affinity, so the
-- values keep the storage class they have in agent_runs.
CREATE VIEW usage_row_moves AS
SELECT NULL AS rows_delta, NULL AS row_id,
       NULL AS old_present, NULL AS old_session, NULL AS old_reset, NULL AS old_model,
       NULL AS old_step, NULL AS old_cost,
       NULL AS new_present, NULL AS new_session, NULL AS new_reset, NULL AS new_model,
       NULL AS new_step, NULL AS new_cost
WHERE 0;

CREATE TRIGGER usage_row_moves_apply INSTEAD OF INSERT ON usage_row_moves
BEGIN
    INSERT INTO usage_row_applies VALUES (
        NEW.rows_delta, NEW.row_id,
        NEW.old_session, NEW.old_model, NEW.old_step, NEW.old_cost,
        NEW.old_present AND NEW.old_session IS NOT NULL AND NEW.old_reset IS NULL,
        typeof(NEW.old_session) = 'text' AND typeof(NEW.old_step) = 'integer'
        AND typeof(NEW.old_model) = 'text'
        AND (NEW.old_cost IS NULL
             OR (typeof(NEW.old_cost) IN ('real', 'integer')
                 AND abs(NEW.old_cost) <= 9007199254740992.0)),
        NEW.new_session, NEW.new_model, NEW.new_step, NEW.new_cost,
        NEW.new_present AND NEW.new_session IS NOT NULL AND NEW.new_reset IS NULL,
        typeof(NEW.new_session) = 'text' AND typeof(NEW.new_step) = 'integer'
        AND typeof(NEW.new_model) = 'text'
        AND (NEW.new_cost IS NULL
             OR (typeof(NEW.new_cost) IN ('real', 'integer')
                 AND abs(NEW.new_cost) <= 9007199254740992.0)));
END;

-- Agent runs feed their changes.
CREATE TRIGGER agent_runs_usage_insert AFTER INSERT ON agent_runs
BEGIN
    INSERT INTO usage_row_moves
    VALUES (1, NEW.rowid, 0, NULL, NULL, NULL, NULL, NULL,
            1, NEW.workflow_session_id, NEW.reset_marker, NEW.model, NEW.step_id,
            NEW.total_cost);
END;

CREATE TRIGGER agent_runs_usage_delete AFTER DELETE ON agent_runs
BEGIN
    INSERT INTO usage_row_moves
    VALUES (-1, OLD.rowid, 1, OLD.workflow_session_id, OLD.reset_marker, OLD.model,
            OLD.step_id, OLD.total_cost, 0, NULL, NULL, NULL, NULL, NULL);
END;

-- An update moves the row only when something the totals read changed (a
-- status-only update, e.g. the session reconciliation, costs nothing). `IS NOT`
-- compares values; the typeof() tests catch a change of storage class between
-- equal values.
CREATE TRIGGER agent_runs_usage_update
AFTER UPDATE OF workflow_session_id, reset_marker, model, step_id, total_cost
ON agent_runs
WHEN OLD.workflow_session_id IS NOT NEW.workflow_session_id
  OR (OLD.reset_marker IS NULL) <> (NEW.reset_marker IS NULL)
  OR OLD.model IS NOT NEW.model
  OR OLD.step_id IS NOT NEW.step_id
  OR OLD.total_cost IS NOT NEW.total_cost
  OR typeof(OLD.workflow_session_id) <> typeof(NEW.workflow_session_id)
  OR typeof(OLD.model) <> typeof(NEW.model)
  OR typeof(OLD.step_id) <> typeof(NEW.step_id)
  OR typeof(OLD.total_cost) <> typeof(NEW.total_cost)
BEGIN
    INSERT INTO usage_row_moves
    VALUES (0, NEW.rowid, 1, OLD.workflow_session_id, OLD.reset_marker, OLD.model,
            OLD.step_id, OLD.total_cost, 1, NEW.workflow_session_id, NEW.reset_marker,
            NEW.model, NEW.step_id, NEW.total_cost);
END;

-- A session row without a reset marker is live: it adds its contribution (from its
-- stored totals) while it is.
CREATE TRIGGER workflow_sessions_usage_insert AFTER INSERT ON workflow_sessions
WHEN NEW.reset_marker IS NULL
BEGIN
    INSERT INTO usage_session_changes VALUES (
        1,
        COALESCE((SELECT runs FROM usage_totals WHERE kind = 3 AND key = NEW.session_id), 0),
        COALESCE((SELECT cost + cost_err FROM usage_totals
                  WHERE kind = 3 AND key = NEW.session_id), 0.0),
        1);
END;

CREATE TRIGGER workflow_sessions_usage_delete AFTER DELETE ON workflow_sessions
WHEN OLD.reset_marker IS NULL
BEGIN
    INSERT INTO usage_session_changes VALUES (
        -1,
        COALESCE((SELECT runs FROM usage_totals WHERE kind = 3 AND key = OLD.session_id), 0),
        COALESCE((SELECT cost + cost_err FROM usage_totals
                  WHERE kind = 3 AND key = OLD.session_id), 0.0),
        1);
END;

CREATE TRIGGER workflow_sessions_usage_update
AFTER UPDATE OF session_id, reset_marker ON workflow_sessions
WHEN (OLD.reset_marker IS NULL OR NEW.reset_marker IS NULL)
 AND (OLD.session_id IS NOT NEW.session_id
      OR (OLD.reset_marker IS NULL) <> (NEW.reset_marker IS NULL))
BEGIN
    INSERT INTO usage_session_changes VALUES (
        -1,
        COALESCE((SELECT runs FROM usage_totals WHERE kind = 3 AND key = OLD.session_id), 0),
        COALESCE((SELECT cost + cost_err FROM usage_totals
                  WHERE kind = 3 AND key = OLD.session_id), 0.0),
        OLD.reset_marker IS NULL);
    INSERT INTO usage_session_changes VALUES (
        1,
        COALESCE((SELECT runs FROM usage_totals WHERE kind = 3 AND key = NEW.session_id), 0),
        COALESCE((SELECT cost + cost_err FROM usage_totals
                  WHERE kind = 3 AND key = NEW.session_id), 0.0),
        NEW.reset_marker IS NULL);
END;

-- The totals of the rows already stored: the summary row, every live session as
-- empty, then every agent run in rowid order through the same path as a write. The
-- same statements rebuild the totals (crates/db/src/usage_totals.rs).
INSERT INTO usage_totals (kind, key) VALUES (0, 0);

INSERT INTO usage_session_changes (sign, runs, cost, live)
SELECT 1, 0, 0.0, 1 FROM workflow_sessions WHERE reset_marker IS NULL;

INSERT INTO usage_row_applies
SELECT 1, row_id, NULL, NULL, NULL, NULL, 0, 0,
       workflow_session_id, model, step_id, total_cost, counted, readable
FROM agent_runs_usage ORDER BY row_id;
