-- Usage totals maintained with every write (issue 12): the usage screen reads a few
-- rows instead of aggregating the whole history.
--
-- What is counted (the reports of crates/db/src/usage.rs):
--   a "usage row" is an agent run with a workflow session id and no reset marker;
--   it is "readable" when the columns the reports read hold what the typed API
--   reads: step_id an integer, model text, workflow_session_id text, total_cost a
--   number within +-2^53 (9,007,199,254,740,992 USD: no sum of such costs can
--   overflow a double, where an infinite sum would leave NaN in the compensation) or
--   NULL, the token and duration columns integers or NULL.
--   Readable usage rows are summed per session, per model and per step; unreadable
--   ones (other tools' edits) are only counted, as skipped.
--
-- Exact sums. A total is kept as two REALs, `cost` + `cost_err`: the running sum and
-- the compensation of the Kahan-Babuska-Neumaier summation that SQLite's own SUM()
-- uses (func.c, kahanBabuskaNeumaierStep), with the same operations. Removing a row
-- adds its negated cost. Every rounding error of an addition is captured exactly in
-- `cost_err`, so the pair holds the exact sum of the costs as long as the errors fit
-- one double (costs whose magnitudes lie within ~2^25 of each other: any real usage
-- history), and `cost + cost_err` is then that exact sum correctly rounded, which is
-- what SUM() over the same rows returns in any order. A total whose row count drops
-- to 0 restarts from 0.0 exactly.
--
-- Per session: runs and cost. Summary (one row): over sessions without a reset
-- marker, their number and the sum of their costs (each session's cost rounded, as
-- the plain report sums them), once for every session and once for the sessions
-- `hide_cancelled` shows (cost above zero, or no readable usage rows). Per model and
-- per step: runs and cost of every readable usage row, and of those with a cost
-- above zero ("paid", for `hide_cancelled`). `agent_rows` counts every agent run, so
-- a change that bypassed the triggers (INSERT OR REPLACE by another tool without
-- recursive triggers deletes rows without DELETE triggers) shows as a different
-- count; `Database::open` then rebuilds the totals (usage_totals::rebuild).
--
-- Row-less views carry the arithmetic once: inserting into `usage_row_changes` adds
-- (sign 1) or removes (sign -1) one agent run's contribution (it decides whether the
-- row is counted and readable and passes it to `usage_row_deltas`, which updates the
-- totals); inserting into `usage_session_changes` adds or removes one session's
-- contribution to the summary. The view `agent_runs_usage` gives the same two tests
-- per stored row, for queries that read rows.
-- Tables, views and triggers are new; no existing table, column or row changes.

CREATE TABLE usage_totals (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    agent_rows INTEGER NOT NULL,
    skipped_rows INTEGER NOT NULL,
    sessions INTEGER NOT NULL,
    cost REAL NOT NULL,
    cost_err REAL NOT NULL,
    shown_sessions INTEGER NOT NULL,
    shown_cost REAL NOT NULL,
    shown_cost_err REAL NOT NULL
);

CREATE TABLE usage_session_totals (
    session_id TEXT PRIMARY KEY NOT NULL,
    runs INTEGER NOT NULL,
    cost REAL NOT NULL,
    cost_err REAL NOT NULL
) WITHOUT ROWID;

CREATE TABLE usage_model_totals (
    model TEXT PRIMARY KEY NOT NULL,
    runs INTEGER NOT NULL,
    cost REAL NOT NULL,
    cost_err REAL NOT NULL,
    paid_runs INTEGER NOT NULL,
    paid_cost REAL NOT NULL,
    paid_cost_err REAL NOT NULL
) WITHOUT ROWID;

CREATE TABLE usage_step_totals (
    step_id INTEGER PRIMARY KEY NOT NULL,
    runs INTEGER NOT NULL,
    cost REAL NOT NULL,
    cost_err REAL NOT NULL,
    paid_runs INTEGER NOT NULL,
    paid_cost REAL NOT NULL,
    paid_cost_err REAL NOT NULL
);

-- One session's contribution to the summary: sign 1 adds it, -1 removes it.
CREATE VIEW usage_session_changes AS
SELECT NULL AS sign, NULL AS runs, NULL AS cost
WHERE 0;

CREATE TRIGGER usage_session_changes_apply INSTEAD OF INSERT ON usage_session_changes
BEGIN
    UPDATE usage_totals SET
        sessions = sessions + NEW.sign,
        cost = cost + NEW.sign * NEW.cost,
        cost_err = cost_err + CASE
            WHEN abs(cost) > abs(NEW.sign * NEW.cost)
            THEN (cost - (cost + NEW.sign * NEW.cost)) + NEW.sign * NEW.cost
            ELSE (NEW.sign * NEW.cost - (cost + NEW.sign * NEW.cost)) + cost END,
        shown_sessions = shown_sessions + shown.delta_sessions,
        shown_cost = shown_cost + shown.delta_cost,
        shown_cost_err = shown_cost_err + CASE
            WHEN abs(shown_cost) > abs(shown.delta_cost)
            THEN (shown_cost - (shown_cost + shown.delta_cost)) + shown.delta_cost
            ELSE (shown.delta_cost - (shown_cost + shown.delta_cost)) + shown_cost END
    FROM (SELECT CASE WHEN NEW.runs = 0 OR NEW.cost > 0 THEN NEW.sign ELSE 0 END AS delta_sessions,
                 CASE WHEN NEW.runs = 0 OR NEW.cost > 0 THEN NEW.sign * NEW.cost
                      ELSE 0.0 END AS delta_cost) AS shown
    WHERE id = 0;
END;

-- One agent run's contribution: sign 1 adds it, -1 removes it. `counted`: a usage
-- row; `readable`: see the header. Fed by usage_row_changes below.
CREATE VIEW usage_row_deltas AS
SELECT NULL AS sign, NULL AS session_id, NULL AS model, NULL AS step_id, NULL AS cost,
       NULL AS counted, NULL AS readable
WHERE 0;

CREATE TRIGGER usage_row_deltas_apply INSTEAD OF INSERT ON usage_row_deltas
BEGIN
    UPDATE usage_totals SET skipped_rows = skipped_rows + NEW.sign
    WHERE id = 0 AND NEW.counted AND NOT NEW.readable;

    INSERT INTO usage_session_totals (session_id, runs, cost, cost_err)
    SELECT NEW.session_id, NEW.sign, 0.0 + NEW.sign * COALESCE(NEW.cost, 0.0), 0.0
    WHERE NEW.counted AND NEW.readable
    ON CONFLICT (session_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        cost_err = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost_err + CASE
            WHEN abs(cost) > abs(excluded.cost)
            THEN (cost - (cost + excluded.cost)) + excluded.cost
            ELSE (excluded.cost - (cost + excluded.cost)) + cost END END;

    INSERT INTO usage_model_totals
        (model, runs, cost, cost_err, paid_runs, paid_cost, paid_cost_err)
    SELECT NEW.model, NEW.sign, 0.0 + NEW.sign * COALESCE(NEW.cost, 0.0), 0.0,
           CASE WHEN NEW.cost > 0 THEN NEW.sign ELSE 0 END,
           CASE WHEN NEW.cost > 0 THEN NEW.sign * NEW.cost ELSE 0.0 END, 0.0
    WHERE NEW.counted AND NEW.readable
    ON CONFLICT (model) DO UPDATE SET
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

    INSERT INTO usage_step_totals
        (step_id, runs, cost, cost_err, paid_runs, paid_cost, paid_cost_err)
    SELECT NEW.step_id, NEW.sign, 0.0 + NEW.sign * COALESCE(NEW.cost, 0.0), 0.0,
           CASE WHEN NEW.cost > 0 THEN NEW.sign ELSE 0 END,
           CASE WHEN NEW.cost > 0 THEN NEW.sign * NEW.cost ELSE 0.0 END, 0.0
    WHERE NEW.counted AND NEW.readable
    ON CONFLICT (step_id) DO UPDATE SET
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
END;

-- A session's summary contribution follows its totals (when the session is live:
-- it has a row without a reset marker). A new totals row replaces the contribution
-- of an empty session (no runs, cost 0) that the session row added.
CREATE TRIGGER usage_session_totals_insert AFTER INSERT ON usage_session_totals
WHEN EXISTS (SELECT 1 FROM workflow_sessions
             WHERE session_id = NEW.session_id AND reset_marker IS NULL)
BEGIN
    INSERT INTO usage_session_changes (sign, runs, cost) VALUES (-1, 0, 0.0);
    INSERT INTO usage_session_changes (sign, runs, cost)
    VALUES (1, NEW.runs, NEW.cost + NEW.cost_err);
END;

CREATE TRIGGER usage_session_totals_update AFTER UPDATE ON usage_session_totals
WHEN EXISTS (SELECT 1 FROM workflow_sessions
             WHERE session_id = NEW.session_id AND reset_marker IS NULL)
BEGIN
    INSERT INTO usage_session_changes (sign, runs, cost)
    VALUES (-1, OLD.runs, OLD.cost + OLD.cost_err);
    INSERT INTO usage_session_changes (sign, runs, cost)
    VALUES (1, NEW.runs, NEW.cost + NEW.cost_err);
END;

-- A session row without a reset marker is live: it adds its contribution (its
-- totals, or an empty session's) while it is.
CREATE TRIGGER workflow_sessions_usage_insert AFTER INSERT ON workflow_sessions
WHEN NEW.reset_marker IS NULL
BEGIN
    INSERT INTO usage_session_changes (sign, runs, cost)
    SELECT 1, COALESCE(t.runs, 0), COALESCE(t.cost + t.cost_err, 0.0)
    FROM (SELECT 1) LEFT JOIN usage_session_totals t ON t.session_id = NEW.session_id;
END;

CREATE TRIGGER workflow_sessions_usage_delete AFTER DELETE ON workflow_sessions
WHEN OLD.reset_marker IS NULL
BEGIN
    INSERT INTO usage_session_changes (sign, runs, cost)
    SELECT -1, COALESCE(t.runs, 0), COALESCE(t.cost + t.cost_err, 0.0)
    FROM (SELECT 1) LEFT JOIN usage_session_totals t ON t.session_id = OLD.session_id;
END;

CREATE TRIGGER workflow_sessions_usage_update
AFTER UPDATE OF session_id, reset_marker ON workflow_sessions
WHEN (OLD.reset_marker IS NULL OR NEW.reset_marker IS NULL)
 AND (OLD.session_id IS NOT NEW.session_id
      OR (OLD.reset_marker IS NULL) <> (NEW.reset_marker IS NULL))
BEGIN
    INSERT INTO usage_session_changes (sign, runs, cost)
    SELECT -1, COALESCE(t.runs, 0), COALESCE(t.cost + t.cost_err, 0.0)
    FROM (SELECT 1) LEFT JOIN usage_session_totals t ON t.session_id = OLD.session_id
    WHERE OLD.reset_marker IS NULL;
    INSERT INTO usage_session_changes (sign, runs, cost)
    SELECT 1, COALESCE(t.runs, 0), COALESCE(t.cost + t.cost_err, 0.0)
    FROM (SELECT 1) LEFT JOIN usage_session_totals t ON t.session_id = NEW.session_id
    WHERE NEW.reset_marker IS NULL;
END;

-- One agent run as stored (sign 1: add it, -1: remove it): decides once whether it
-- is counted and readable, and passes it on to usage_row_deltas. The view's columns
-- have no affinity, so the values keep the storage class they have in agent_runs.
CREATE VIEW usage_row_changes AS
SELECT NULL AS sign, NULL AS workflow_session_id, NULL AS reset_marker, NULL AS model,
       NULL AS step_id, NULL AS total_cost, NULL AS input_tokens, NULL AS output_tokens,
       NULL AS cache_read_tokens, NULL AS cache_write_tokens, NULL AS duration_ms
WHERE 0;

CREATE TRIGGER usage_row_changes_apply INSTEAD OF INSERT ON usage_row_changes
BEGIN
    INSERT INTO usage_row_deltas (sign, session_id, model, step_id, cost, counted, readable)
    VALUES (NEW.sign, NEW.workflow_session_id, NEW.model, NEW.step_id, NEW.total_cost,
            NEW.workflow_session_id IS NOT NULL AND NEW.reset_marker IS NULL,
            typeof(NEW.step_id) = 'integer' AND typeof(NEW.model) = 'text'
            AND typeof(NEW.workflow_session_id) = 'text'
            AND (NEW.total_cost IS NULL
                 OR (typeof(NEW.total_cost) IN ('real', 'integer')
                     AND abs(NEW.total_cost) <= 9007199254740992.0))
            AND typeof(NEW.input_tokens) IN ('integer', 'null')
            AND typeof(NEW.output_tokens) IN ('integer', 'null')
            AND typeof(NEW.cache_read_tokens) IN ('integer', 'null')
            AND typeof(NEW.cache_write_tokens) IN ('integer', 'null')
            AND typeof(NEW.duration_ms) IN ('integer', 'null'));
END;

-- Agent runs feed their contribution.
CREATE TRIGGER agent_runs_usage_insert AFTER INSERT ON agent_runs
BEGIN
    UPDATE usage_totals SET agent_rows = agent_rows + 1 WHERE id = 0;
    INSERT INTO usage_row_changes
    VALUES (1, NEW.workflow_session_id, NEW.reset_marker, NEW.model, NEW.step_id,
            NEW.total_cost, NEW.input_tokens, NEW.output_tokens, NEW.cache_read_tokens,
            NEW.cache_write_tokens, NEW.duration_ms);
END;

CREATE TRIGGER agent_runs_usage_delete AFTER DELETE ON agent_runs
BEGIN
    UPDATE usage_totals SET agent_rows = agent_rows - 1 WHERE id = 0;
    INSERT INTO usage_row_changes
    VALUES (-1, OLD.workflow_session_id, OLD.reset_marker, OLD.model, OLD.step_id,
            OLD.total_cost, OLD.input_tokens, OLD.output_tokens, OLD.cache_read_tokens,
            OLD.cache_write_tokens, OLD.duration_ms);
END;

-- An update moves the row's contribution only when something the totals read
-- changed (a status-only update, e.g. the session reconciliation, costs nothing).
-- `IS NOT` compares values; the typeof() tests catch a change of storage class
-- between equal values.
CREATE TRIGGER agent_runs_usage_update
AFTER UPDATE OF workflow_session_id, reset_marker, model, step_id, total_cost,
                input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
                duration_ms ON agent_runs
WHEN OLD.workflow_session_id IS NOT NEW.workflow_session_id
  OR (OLD.reset_marker IS NULL) <> (NEW.reset_marker IS NULL)
  OR OLD.model IS NOT NEW.model
  OR OLD.step_id IS NOT NEW.step_id
  OR OLD.total_cost IS NOT NEW.total_cost
  OR typeof(OLD.workflow_session_id) <> typeof(NEW.workflow_session_id)
  OR typeof(OLD.model) <> typeof(NEW.model)
  OR typeof(OLD.step_id) <> typeof(NEW.step_id)
  OR typeof(OLD.total_cost) <> typeof(NEW.total_cost)
  OR typeof(OLD.input_tokens) <> typeof(NEW.input_tokens)
  OR typeof(OLD.output_tokens) <> typeof(NEW.output_tokens)
  OR typeof(OLD.cache_read_tokens) <> typeof(NEW.cache_read_tokens)
  OR typeof(OLD.cache_write_tokens) <> typeof(NEW.cache_write_tokens)
  OR typeof(OLD.duration_ms) <> typeof(NEW.duration_ms)
BEGIN
    INSERT INTO usage_row_changes
    VALUES (-1, OLD.workflow_session_id, OLD.reset_marker, OLD.model, OLD.step_id,
            OLD.total_cost, OLD.input_tokens, OLD.output_tokens, OLD.cache_read_tokens,
            OLD.cache_write_tokens, OLD.duration_ms);
    INSERT INTO usage_row_changes
    VALUES (1, NEW.workflow_session_id, NEW.reset_marker, NEW.model, NEW.step_id,
            NEW.total_cost, NEW.input_tokens, NEW.output_tokens, NEW.cache_read_tokens,
            NEW.cache_write_tokens, NEW.duration_ms);
END;

-- Every agent run with the two tests of usage_row_changes, for the queries that read
-- rows rather than totals (the recent-sessions list, `check`'s recomputation). A
-- plain view: SQLite flattens it into the query, indexes of agent_runs apply.
CREATE VIEW agent_runs_usage AS
SELECT a.rowid AS row_id, a.*,
       a.workflow_session_id IS NOT NULL AND a.reset_marker IS NULL AS counted,
       typeof(a.step_id) = 'integer' AND typeof(a.model) = 'text'
       AND typeof(a.workflow_session_id) = 'text'
       AND (a.total_cost IS NULL
            OR (typeof(a.total_cost) IN ('real', 'integer') AND abs(a.total_cost) <= 9007199254740992.0))
       AND typeof(a.input_tokens) IN ('integer', 'null')
       AND typeof(a.output_tokens) IN ('integer', 'null')
       AND typeof(a.cache_read_tokens) IN ('integer', 'null')
       AND typeof(a.cache_write_tokens) IN ('integer', 'null')
       AND typeof(a.duration_ms) IN ('integer', 'null') AS readable
FROM agent_runs AS a;

-- The totals of the rows already stored: every live session as empty, then every
-- agent run in rowid order (the order a plain scan sums them in). The same
-- statements rebuild the totals (crates/db/src/usage_totals.rs).
INSERT INTO usage_totals (id, agent_rows, skipped_rows, sessions, cost, cost_err,
                          shown_sessions, shown_cost, shown_cost_err)
VALUES (0, 0, 0, 0, 0.0, 0.0, 0, 0.0, 0.0);

INSERT INTO usage_session_changes (sign, runs, cost)
SELECT 1, 0, 0.0 FROM workflow_sessions WHERE reset_marker IS NULL;

INSERT INTO usage_row_changes
SELECT 1, workflow_session_id, reset_marker, model, step_id, total_cost, input_tokens,
       output_tokens, cache_read_tokens, cache_write_tokens, duration_ms
FROM agent_runs ORDER BY rowid;

UPDATE usage_totals SET agent_rows = (SELECT count(*) FROM agent_runs) WHERE id = 0;
