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
-- One small table holds every total: the summary row (kind 0), one row per model
-- (kind 1) and one per step (kind 2), so a write touches one more page. Per-session
-- costs are not stored: the summary needs a session's cost before and after a
-- change, and reads it from the session's entries of the covering index below (the
-- entries the write itself touches). What a write pays is mostly the statements the
-- triggers run; they are kept few and simple (BENCHMARKS.md has the measurements).
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
-- Row-less views carry the arithmetic once: `usage_row_moves` takes an agent run's
-- old and new version (either absent), decides for each whether it is counted and
-- readable, and passes them to `usage_row_applies`, which updates the counters, the
-- model and step totals, and moves the row's session(s) through
-- `usage_session_moves`, which adds the change of a live session's contribution via
-- `usage_session_changes`. The view `agent_runs_usage` gives the same two tests per
-- stored row.
--
-- The triggers of step 20261130100000 that create a missing workflow session row for
-- an agent run become BEFORE triggers, so a session row they create exists before the
-- AFTER triggers move the agent run into the totals: its contribution is added once,
-- whatever order SQLite runs triggers of the same timing in.
--
-- Tables, views, triggers and one index change; no table's rows or columns do.

DROP TRIGGER agent_runs_ensure_session;
DROP TRIGGER agent_runs_ensure_session_on_update;

-- The session's usage entries, covering every column the summary reads (it replaces
-- step 20261126103208's index on the first three columns, which it also serves).
DROP INDEX agent_runs_workflow_session;
CREATE INDEX agent_runs_usage_session
    ON agent_runs (workflow_session_id, reset_marker, total_cost, model, step_id);

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

-- One session's contribution to the summary: sign 1 adds it, -1 removes it. `runs`
-- is 0 for a session without readable usage rows (any other number otherwise), `cost`
-- its cost.
CREATE VIEW usage_session_changes AS
SELECT NULL AS sign, NULL AS runs, NULL AS cost
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
    WHERE kind = 0 AND key = 0;
END;

-- A session whose usage rows change: when it is live (has a row without a reset
-- marker), remove its contribution as it was (its readable usage rows other than
-- `row_id`, plus the row's old cost when `before_in`) and add it as it is (plus the
-- row's new cost when `after_in`). SUM() over the same values as the plain report, so
-- the same rounding. (VALUES, not SELECT, into the views: an INSERT … SELECT into a
-- view goes through a temporary table, several times slower here.)
CREATE VIEW usage_session_moves AS
SELECT NULL AS session_id, NULL AS row_id, NULL AS before_cost, NULL AS before_in,
       NULL AS after_cost, NULL AS after_in
WHERE 0;

CREATE TRIGGER usage_session_moves_apply INSTEAD OF INSERT ON usage_session_moves
WHEN EXISTS (SELECT 1 FROM workflow_sessions
             WHERE session_id = NEW.session_id AND reset_marker IS NULL)
BEGIN
    INSERT INTO usage_session_changes (sign, runs, cost) VALUES (
        -1,
        EXISTS (SELECT 1 FROM agent_runs_usage
                WHERE workflow_session_id = NEW.session_id AND counted AND readable
                  AND row_id <> NEW.row_id) OR NEW.before_in,
        (SELECT COALESCE(SUM(c), 0.0)
         FROM (SELECT total_cost AS c FROM agent_runs_usage
               WHERE workflow_session_id = NEW.session_id AND counted AND readable
                 AND row_id <> NEW.row_id
               UNION ALL
               SELECT NEW.before_cost WHERE NEW.before_in)));
    INSERT INTO usage_session_changes (sign, runs, cost) VALUES (
        1,
        EXISTS (SELECT 1 FROM agent_runs_usage
                WHERE workflow_session_id = NEW.session_id AND counted AND readable
                  AND row_id <> NEW.row_id) OR NEW.after_in,
        (SELECT COALESCE(SUM(c), 0.0)
         FROM (SELECT total_cost AS c FROM agent_runs_usage
               WHERE workflow_session_id = NEW.session_id AND counted AND readable
                 AND row_id <> NEW.row_id
               UNION ALL
               SELECT NEW.after_cost WHERE NEW.after_in)));
END;

-- The session moves of one agent-run change (see usage_row_applies).
CREATE VIEW usage_session_pairs AS
SELECT NULL AS active, NULL AS row_id, NULL AS old_session, NULL AS old_cost,
       NULL AS old_ok, NULL AS new_session, NULL AS new_cost, NULL AS new_ok
WHERE 0;

CREATE TRIGGER usage_session_pairs_same INSTEAD OF INSERT ON usage_session_pairs
WHEN NEW.active AND NEW.old_ok AND NEW.new_ok AND NEW.old_session = NEW.new_session
BEGIN
    INSERT INTO usage_session_moves
    VALUES (NEW.old_session, NEW.row_id, NEW.old_cost, 1, NEW.new_cost, 1);
END;

CREATE TRIGGER usage_session_pairs_leave INSTEAD OF INSERT ON usage_session_pairs
WHEN NEW.active AND NEW.old_ok
 AND NOT (NEW.new_ok AND NEW.old_session = NEW.new_session)
BEGIN
    INSERT INTO usage_session_moves
    VALUES (NEW.old_session, NEW.row_id, NEW.old_cost, 1, NULL, 0);
END;

CREATE TRIGGER usage_session_pairs_join INSTEAD OF INSERT ON usage_session_pairs
WHEN NEW.active AND NEW.new_ok
 AND NOT (NEW.old_ok AND NEW.old_session = NEW.new_session)
BEGIN
    INSERT INTO usage_session_moves
    VALUES (NEW.new_session, NEW.row_id, NULL, 0, NEW.new_cost, 1);
END;

-- An agent run's change, with whether its old and new version are `counted` and
-- `readable`. Fed by usage_row_moves (and the initial fill).
CREATE VIEW usage_row_applies AS
SELECT NULL AS rows_delta, NULL AS row_id,
       NULL AS old_session, NULL AS old_model, NULL AS old_step, NULL AS old_cost,
       NULL AS old_counted, NULL AS old_readable,
       NULL AS new_session, NULL AS new_model, NULL AS new_step, NULL AS new_cost,
       NULL AS new_counted, NULL AS new_readable, NULL AS moves_sessions
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

    -- The summary (unless `moves_sessions` is 0: the initial fill adds every
    -- session's contribution afterwards): one move when the row stays in the same
    -- session, else one per session it leaves or joins.
    INSERT INTO usage_session_pairs VALUES (
        NEW.moves_sessions, NEW.row_id,
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
                 AND abs(NEW.new_cost) <= 9007199254740992.0)),
        1);
END;

-- An agent run with a workflow session id gets a session row when it has none (as
-- step 20261130100000's AFTER triggers did): pid 0, open, linked to the master row
-- by name. BEFORE the row is written, so the new session row adds the contribution
-- of the session's other rows, and the AFTER trigger below then moves this row in
-- (the order of two AFTER triggers is not defined). The insert trigger acts only
-- when the row is new: an upsert that meets an existing row goes through the update
-- trigger (and writes nothing when its WHERE declines the update, as before). Not
-- `INSERT OR IGNORE`: inside a trigger the outer statement's conflict policy (the
-- upsert of persist_agent_run) would override it.
CREATE TRIGGER agent_runs_ensure_session BEFORE INSERT ON agent_runs
WHEN NEW.workflow_session_id IS NOT NULL
 AND NOT EXISTS (SELECT 1 FROM agent_runs
                 WHERE agent_id = NEW.agent_id AND model = NEW.model)
BEGIN
    INSERT INTO workflow_sessions (session_id, skill_name, pid, started_at, skill_id)
    SELECT NEW.workflow_session_id, NEW.skill_name, 0,
           COALESCE(NEW.started_at, datetime('now') || 'Z'),
           (SELECT id FROM skills WHERE name = NEW.skill_name)
    WHERE NOT EXISTS (SELECT 1 FROM workflow_sessions
                      WHERE session_id = NEW.workflow_session_id);
END;

CREATE TRIGGER agent_runs_ensure_session_on_update
BEFORE UPDATE OF workflow_session_id ON agent_runs
WHEN NEW.workflow_session_id IS NOT NULL
BEGIN
    INSERT INTO workflow_sessions (session_id, skill_name, pid, started_at, skill_id)
    SELECT NEW.workflow_session_id, NEW.skill_name, 0,
           COALESCE(NEW.started_at, datetime('now') || 'Z'),
           (SELECT id FROM skills WHERE name = NEW.skill_name)
    WHERE NOT EXISTS (SELECT 1 FROM workflow_sessions
                      WHERE session_id = NEW.workflow_session_id);
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

-- A session row without a reset marker is live: it adds its contribution while it
-- is (its readable usage rows, read from the covering index).
CREATE TRIGGER workflow_sessions_usage_insert AFTER INSERT ON workflow_sessions
WHEN NEW.reset_marker IS NULL
BEGIN
    INSERT INTO usage_session_changes (sign, runs, cost)
    SELECT 1, COUNT(*), COALESCE(SUM(total_cost), 0.0) FROM agent_runs_usage
    WHERE workflow_session_id = NEW.session_id AND counted AND readable;
END;

CREATE TRIGGER workflow_sessions_usage_delete AFTER DELETE ON workflow_sessions
WHEN OLD.reset_marker IS NULL
BEGIN
    INSERT INTO usage_session_changes (sign, runs, cost)
    SELECT -1, COUNT(*), COALESCE(SUM(total_cost), 0.0) FROM agent_runs_usage
    WHERE workflow_session_id = OLD.session_id AND counted AND readable;
END;

CREATE TRIGGER workflow_sessions_usage_update
AFTER UPDATE OF session_id, reset_marker ON workflow_sessions
WHEN (OLD.reset_marker IS NULL OR NEW.reset_marker IS NULL)
 AND (OLD.session_id IS NOT NEW.session_id
      OR (OLD.reset_marker IS NULL) <> (NEW.reset_marker IS NULL))
BEGIN
    INSERT INTO usage_session_changes (sign, runs, cost)
    SELECT -1, n, c
    FROM (SELECT COUNT(*) AS n, COALESCE(SUM(total_cost), 0.0) AS c FROM agent_runs_usage
          WHERE workflow_session_id = OLD.session_id AND counted AND readable)
    WHERE OLD.reset_marker IS NULL;
    INSERT INTO usage_session_changes (sign, runs, cost)
    SELECT 1, n, c
    FROM (SELECT COUNT(*) AS n, COALESCE(SUM(total_cost), 0.0) AS c FROM agent_runs_usage
          WHERE workflow_session_id = NEW.session_id AND counted AND readable)
    WHERE NEW.reset_marker IS NULL;
END;

-- The totals of the rows already stored: the summary row; every agent run in rowid
-- order (counters, model and step totals); then every live session's contribution.
-- The same statements rebuild the totals (crates/db/src/usage_totals.rs).
INSERT INTO usage_totals (kind, key) VALUES (0, 0);

INSERT INTO usage_row_applies
SELECT 1, row_id, NULL, NULL, NULL, NULL, 0, 0,
       workflow_session_id, model, step_id, total_cost, counted, readable, 0
FROM agent_runs_usage ORDER BY row_id;

INSERT INTO usage_session_changes (sign, runs, cost)
SELECT 1, COUNT(u.row_id), COALESCE(SUM(u.total_cost), 0.0)
FROM workflow_sessions ws
     LEFT JOIN agent_runs_usage u
            ON u.workflow_session_id = ws.session_id AND u.counted AND u.readable
WHERE ws.reset_marker IS NULL
GROUP BY ws.rowid;
