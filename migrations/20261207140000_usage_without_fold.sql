-- Usage totals without the fold, writes without views (issue 20). No row or column of
-- the existing app's tables changes. The usage design: rustdoc of crates/db/src/usage.rs.
--
-- 1. Drops the write views of step 20261126130009: save_workflow_run and
--    set_skill_tags are plain SQL in one transaction in Rust.
-- 2. Drops the fold of steps 20261130140000/150000 and the totals machinery of step
--    20261130130000 (views, triggers, usage_totals); its view agent_runs_usage
--    (`counted`, `readable` per agent run) stays.
-- 3. New totals, filled from the rows: usage_groups per (model, step id) and
--    usage_sessions per workflow session id over the readable usage rows, one
--    usage_summary row; the partial index agent_runs_unreadable (normally empty).
-- 4. The partial index agent_runs_recent (as step 20261130120000 made it) for
--    get_recent_runs; agent_runs_skill_name (step 20261126103208) dropped.
--
-- Triggers left, each because every writer (this layer, the existing app's own SQL,
-- any tool) must obey its rule:
--   agent_runs_ensure_session(_on_update) (step 20261130100000): every usage row's
--     session has a workflow_sessions row, so every report counts the same sessions;
--   agent_runs_usage_insert/_delete/_update: the totals follow every change of a row;
--   agent_runs_usage_replace: INSERT OR REPLACE (the existing app's agent-run write,
--     and this layer's) deletes the old row without its DELETE trigger (unless
--     recursive_triggers, which must stay off: SQLite's default), so it leaves here;
--   usage_sessions_summary_insert/_update: a session's change reaches the summary;
--   workflow_sessions_usage_insert/_delete/_update: a session row that appears, goes
--     or is reset makes its totals live or not.

-- 1 -------------------------------------------------------------------------------

DROP TRIGGER workflow_run_saves_insert;
DROP VIEW workflow_run_saves;
DROP TRIGGER skill_tag_sets_insert;
DROP VIEW skill_tag_sets;

-- 2 -------------------------------------------------------------------------------

DROP TRIGGER agent_runs_recent_insert;
DROP TRIGGER agent_runs_recent_delete;
DROP TRIGGER agent_runs_recent_update;
DROP TABLE recent_agent_runs;
DROP VIEW agent_runs_usage_tail;
DROP TABLE usage_totals_fold;
DROP TRIGGER agent_runs_usage_insert;
DROP TRIGGER agent_runs_usage_delete;
DROP TRIGGER agent_runs_usage_update;
DROP TRIGGER workflow_sessions_usage_insert;
DROP TRIGGER workflow_sessions_usage_delete;
DROP TRIGGER workflow_sessions_usage_update;
DROP VIEW usage_row_moves;
DROP VIEW usage_row_applies;
DROP VIEW usage_session_pairs;
DROP VIEW usage_session_deltas;
DROP VIEW usage_session_changes;
DROP TABLE usage_totals;

-- 3 -------------------------------------------------------------------------------

CREATE TABLE usage_groups (
    model TEXT NOT NULL,
    step_id INTEGER NOT NULL,
    runs INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0.0,
    paid_runs INTEGER NOT NULL DEFAULT 0,
    paid_cost REAL NOT NULL DEFAULT 0.0,
    PRIMARY KEY (model, step_id)
) WITHOUT ROWID;

CREATE TABLE usage_sessions (
    session_id TEXT NOT NULL PRIMARY KEY,
    live INTEGER NOT NULL DEFAULT 0,
    runs INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0.0,
    paid_runs INTEGER NOT NULL DEFAULT 0,
    hidden INTEGER GENERATED ALWAYS AS
        (live AND runs > 0 AND NOT (paid_runs > 0 AND cost > 0)) VIRTUAL
) WITHOUT ROWID;

-- Live sessions; the hidden ones and their cost; the cost of usage rows whose session
-- is not live ("dead").
CREATE TABLE usage_summary (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    sessions INTEGER NOT NULL DEFAULT 0,
    hidden_sessions INTEGER NOT NULL DEFAULT 0,
    hidden_cost REAL NOT NULL DEFAULT 0.0,
    dead_cost REAL NOT NULL DEFAULT 0.0
);

INSERT INTO usage_groups (model, step_id, runs, cost, paid_runs, paid_cost)
SELECT model, step_id, count(*), TOTAL(total_cost), count(CASE WHEN total_cost > 0 THEN 1 END),
       TOTAL(CASE WHEN total_cost > 0 THEN total_cost END)
FROM agent_runs_usage WHERE counted AND readable
GROUP BY model, step_id;

INSERT INTO usage_sessions (session_id, live, runs, cost, paid_runs)
SELECT g.sid, max(g.live), sum(g.runs), TOTAL(g.cost), sum(g.paid)
FROM (SELECT workflow_session_id AS sid, 0 AS live, 1 AS runs, total_cost AS cost,
             COALESCE(total_cost > 0, 0) AS paid
      FROM agent_runs_usage WHERE counted AND readable
      UNION ALL
      SELECT session_id, 1, 0, 0.0, 0 FROM workflow_sessions
      WHERE reset_marker IS NULL AND session_id IS NOT NULL) AS g
GROUP BY g.sid;

INSERT INTO usage_summary (id, sessions, hidden_sessions, hidden_cost, dead_cost)
SELECT 0, (SELECT count(*) FROM workflow_sessions WHERE reset_marker IS NULL),
       (SELECT count(*) FROM usage_sessions AS u WHERE u.hidden),
       (SELECT TOTAL(cost) FROM usage_sessions AS u WHERE u.hidden),
       (SELECT TOTAL(cost) FROM usage_sessions WHERE NOT live);

CREATE TRIGGER usage_sessions_summary_insert AFTER INSERT ON usage_sessions
WHEN NOT NEW.live OR NEW.hidden
BEGIN
    UPDATE usage_summary SET
        dead_cost = dead_cost + (NOT NEW.live) * NEW.cost,
        hidden_sessions = hidden_sessions + NEW.hidden,
        hidden_cost = hidden_cost + NEW.hidden * NEW.cost;
END;

-- Free for a live session that is and was shown (the common case: no summary write).
CREATE TRIGGER usage_sessions_summary_update AFTER UPDATE ON usage_sessions
WHEN OLD.live <> NEW.live OR NOT NEW.live OR OLD.hidden OR NEW.hidden
BEGIN
    UPDATE usage_summary SET
        dead_cost = dead_cost + (NOT NEW.live) * NEW.cost - (NOT OLD.live) * OLD.cost,
        hidden_sessions = hidden_sessions + NEW.hidden - OLD.hidden,
        hidden_cost = hidden_cost + NEW.hidden * NEW.cost - OLD.hidden * OLD.cost;
END;

CREATE TRIGGER workflow_sessions_usage_insert AFTER INSERT ON workflow_sessions
WHEN NEW.reset_marker IS NULL
BEGIN
    UPDATE usage_summary SET sessions = sessions + 1;
    INSERT INTO usage_sessions (session_id, live) SELECT NEW.session_id, 1
    WHERE NEW.session_id IS NOT NULL
    ON CONFLICT (session_id) DO UPDATE SET live = 1;
END;

CREATE TRIGGER workflow_sessions_usage_delete AFTER DELETE ON workflow_sessions
WHEN OLD.reset_marker IS NULL
BEGIN
    UPDATE usage_summary SET sessions = sessions - 1;
    UPDATE usage_sessions SET live = 0 WHERE session_id = OLD.session_id;
END;

CREATE TRIGGER workflow_sessions_usage_update
AFTER UPDATE OF session_id, reset_marker ON workflow_sessions
WHEN (OLD.reset_marker IS NULL OR NEW.reset_marker IS NULL)
 AND (OLD.session_id IS NOT NEW.session_id
      OR (OLD.reset_marker IS NULL) <> (NEW.reset_marker IS NULL))
BEGIN
    UPDATE usage_summary
    SET sessions = sessions - (OLD.reset_marker IS NULL) + (NEW.reset_marker IS NULL);
    UPDATE usage_sessions SET live = 0
    WHERE session_id = OLD.session_id AND OLD.reset_marker IS NULL;
    INSERT INTO usage_sessions (session_id, live) SELECT NEW.session_id, 1
    WHERE NEW.reset_marker IS NULL AND NEW.session_id IS NOT NULL
    ON CONFLICT (session_id) DO UPDATE SET live = 1;
END;

-- The hot path: a new readable usage row is two upserts.
CREATE TRIGGER agent_runs_usage_insert AFTER INSERT ON agent_runs
WHEN NEW.workflow_session_id IS NOT NULL AND NEW.reset_marker IS NULL
 AND typeof(NEW.workflow_session_id) = 'text' AND typeof(NEW.step_id) = 'integer'
      AND typeof(NEW.model) = 'text' AND (NEW.total_cost IS NULL
           OR (typeof(NEW.total_cost) IN ('real', 'integer')
               AND abs(NEW.total_cost) <= 9007199254740992.0))
BEGIN
    INSERT INTO usage_groups (model, step_id, runs, cost, paid_runs, paid_cost)
    VALUES (NEW.model, NEW.step_id, 1, ifnull(NEW.total_cost, 0), (ifnull(NEW.total_cost, 0) > 0),
            max(ifnull(NEW.total_cost, 0), 0))
    ON CONFLICT (model, step_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs,
        paid_cost = CASE WHEN paid_runs + excluded.paid_runs = 0 THEN 0.0
                         ELSE paid_cost + excluded.paid_cost END;
    INSERT INTO usage_sessions (session_id, runs, cost, paid_runs)
    VALUES (NEW.workflow_session_id, 1, ifnull(NEW.total_cost, 0), (ifnull(NEW.total_cost, 0) > 0))
    ON CONFLICT (session_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs;
END;

CREATE TRIGGER agent_runs_usage_delete AFTER DELETE ON agent_runs
WHEN OLD.workflow_session_id IS NOT NULL AND OLD.reset_marker IS NULL
 AND typeof(OLD.workflow_session_id) = 'text' AND typeof(OLD.step_id) = 'integer'
      AND typeof(OLD.model) = 'text' AND (OLD.total_cost IS NULL
           OR (typeof(OLD.total_cost) IN ('real', 'integer')
               AND abs(OLD.total_cost) <= 9007199254740992.0))
BEGIN
    INSERT INTO usage_groups (model, step_id, runs, cost, paid_runs, paid_cost)
    VALUES (OLD.model, OLD.step_id, -1, -ifnull(OLD.total_cost, 0), -(ifnull(OLD.total_cost, 0) > 0),
            -max(ifnull(OLD.total_cost, 0), 0))
    ON CONFLICT (model, step_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs,
        paid_cost = CASE WHEN paid_runs + excluded.paid_runs = 0 THEN 0.0
                         ELSE paid_cost + excluded.paid_cost END;
    INSERT INTO usage_sessions (session_id, runs, cost, paid_runs)
    VALUES (OLD.workflow_session_id, -1, -ifnull(OLD.total_cost, 0), -(ifnull(OLD.total_cost, 0) > 0))
    ON CONFLICT (session_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs;
END;

-- The row an INSERT OR REPLACE is about to delete (same agent id and model) leaves
-- now; an insert of a new key pays one primary-key lookup.
CREATE TRIGGER agent_runs_usage_replace BEFORE INSERT ON agent_runs
WHEN EXISTS (SELECT 1 FROM agent_runs WHERE agent_id = NEW.agent_id AND model = NEW.model)
BEGIN
    INSERT INTO usage_groups (model, step_id, runs, cost, paid_runs, paid_cost)
    SELECT o.model, o.step_id, -1, -ifnull(o.total_cost, 0),
           -(ifnull(o.total_cost, 0) > 0),
           -max(ifnull(o.total_cost, 0), 0)
    FROM agent_runs_usage AS o
    WHERE o.agent_id = NEW.agent_id AND o.model = NEW.model AND o.counted AND o.readable
    ON CONFLICT (model, step_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs,
        paid_cost = CASE WHEN paid_runs + excluded.paid_runs = 0 THEN 0.0
                         ELSE paid_cost + excluded.paid_cost END;
    INSERT INTO usage_sessions (session_id, runs, cost, paid_runs)
    SELECT o.workflow_session_id, -1, -ifnull(o.total_cost, 0),
           -(ifnull(o.total_cost, 0) > 0)
    FROM agent_runs_usage AS o
    WHERE o.agent_id = NEW.agent_id AND o.model = NEW.model AND o.counted AND o.readable
    ON CONFLICT (session_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs;
END;

-- Only when something the totals read changed (a status-only update, e.g. the session
-- reconciliation, runs nothing); typeof() catches a change of storage class.
CREATE TRIGGER agent_runs_usage_update
AFTER UPDATE OF workflow_session_id, reset_marker, model, step_id, total_cost
ON agent_runs
WHEN OLD.workflow_session_id IS NOT NEW.workflow_session_id
  OR (OLD.reset_marker IS NULL) <> (NEW.reset_marker IS NULL)
  OR OLD.model IS NOT NEW.model OR OLD.step_id IS NOT NEW.step_id
  OR OLD.total_cost IS NOT NEW.total_cost
  OR typeof(OLD.workflow_session_id) <> typeof(NEW.workflow_session_id)
  OR typeof(OLD.model) <> typeof(NEW.model) OR typeof(OLD.step_id) <> typeof(NEW.step_id)
  OR typeof(OLD.total_cost) <> typeof(NEW.total_cost)
BEGIN
    INSERT INTO usage_groups (model, step_id, runs, cost, paid_runs, paid_cost)
    SELECT OLD.model, OLD.step_id, -1, -ifnull(OLD.total_cost, 0), -(ifnull(OLD.total_cost, 0) > 0),
           -max(ifnull(OLD.total_cost, 0), 0)
    WHERE OLD.workflow_session_id IS NOT NULL AND OLD.reset_marker IS NULL
      AND typeof(OLD.workflow_session_id) = 'text' AND typeof(OLD.step_id) = 'integer'
      AND typeof(OLD.model) = 'text' AND (OLD.total_cost IS NULL
           OR (typeof(OLD.total_cost) IN ('real', 'integer')
               AND abs(OLD.total_cost) <= 9007199254740992.0))
    ON CONFLICT (model, step_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs,
        paid_cost = CASE WHEN paid_runs + excluded.paid_runs = 0 THEN 0.0
                         ELSE paid_cost + excluded.paid_cost END;
    INSERT INTO usage_sessions (session_id, runs, cost, paid_runs)
    SELECT OLD.workflow_session_id, -1, -ifnull(OLD.total_cost, 0), -(ifnull(OLD.total_cost, 0) > 0)
    WHERE OLD.workflow_session_id IS NOT NULL AND OLD.reset_marker IS NULL
      AND typeof(OLD.workflow_session_id) = 'text' AND typeof(OLD.step_id) = 'integer'
      AND typeof(OLD.model) = 'text' AND (OLD.total_cost IS NULL
           OR (typeof(OLD.total_cost) IN ('real', 'integer')
               AND abs(OLD.total_cost) <= 9007199254740992.0))
    ON CONFLICT (session_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs;
    INSERT INTO usage_groups (model, step_id, runs, cost, paid_runs, paid_cost)
    SELECT NEW.model, NEW.step_id, 1, ifnull(NEW.total_cost, 0), (ifnull(NEW.total_cost, 0) > 0),
           max(ifnull(NEW.total_cost, 0), 0)
    WHERE NEW.workflow_session_id IS NOT NULL AND NEW.reset_marker IS NULL
      AND typeof(NEW.workflow_session_id) = 'text' AND typeof(NEW.step_id) = 'integer'
      AND typeof(NEW.model) = 'text' AND (NEW.total_cost IS NULL
           OR (typeof(NEW.total_cost) IN ('real', 'integer')
               AND abs(NEW.total_cost) <= 9007199254740992.0))
    ON CONFLICT (model, step_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs,
        paid_cost = CASE WHEN paid_runs + excluded.paid_runs = 0 THEN 0.0
                         ELSE paid_cost + excluded.paid_cost END;
    INSERT INTO usage_sessions (session_id, runs, cost, paid_runs)
    SELECT NEW.workflow_session_id, 1, ifnull(NEW.total_cost, 0), (ifnull(NEW.total_cost, 0) > 0)
    WHERE NEW.workflow_session_id IS NOT NULL AND NEW.reset_marker IS NULL
      AND typeof(NEW.workflow_session_id) = 'text' AND typeof(NEW.step_id) = 'integer'
      AND typeof(NEW.model) = 'text' AND (NEW.total_cost IS NULL
           OR (typeof(NEW.total_cost) IN ('real', 'integer')
               AND abs(NEW.total_cost) <= 9007199254740992.0))
    ON CONFLICT (session_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs;
END;

-- Unreadable usage rows (normally none), counted by the reports through this index.
CREATE INDEX agent_runs_unreadable ON agent_runs (workflow_session_id)
WHERE workflow_session_id IS NOT NULL AND reset_marker IS NULL
  AND NOT (typeof(workflow_session_id) = 'text' AND typeof(step_id) = 'integer'
           AND typeof(model) = 'text' AND (total_cost IS NULL
                OR (typeof(total_cost) IN ('real', 'integer')
                    AND abs(total_cost) <= 9007199254740992.0)));

-- 4 -------------------------------------------------------------------------------

CREATE INDEX agent_runs_recent
    ON agent_runs ((completed_at IS NULL), completed_at DESC, started_at DESC)
    WHERE reset_marker IS NULL;

-- Only a rename reads agent_runs by skill name now (the orphan linking it served was
-- dropped in step 20261130100000): a rare scan, instead of an index entry per run.
DROP INDEX agent_runs_skill_name;
