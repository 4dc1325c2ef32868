-- Usage totals without the fold, writes without views (issue 20). No row or column of
-- the existing app's tables changes; derived objects are dropped and made again.
--
-- 1. Drops the write views of step 20261126130009 (workflow_run_saves, skill_tag_sets):
--    save_workflow_run and set_skill_tags are plain SQL in one transaction in Rust.
-- 2. Drops the fold of steps 20261130140000/150000 (usage_totals_fold, the tail view,
--    recent_agent_runs and their triggers) and the totals machinery of step
--    20261130130000 (five row-less views, their eight triggers, six table triggers,
--    usage_totals). The view agent_runs_usage (counted/readable per row) stays.
-- 3. New usage_totals, kept by triggers in the statement that changes agent_runs or
--    workflow_sessions, and filled here from the rows (every number kept):
--      kind 0 key 0  summary: runs = sessions without a reset marker ("live"), cost =
--                    their cost; paid_runs/paid_cost = the live sessions the
--                    hide_cancelled summary shows;
--      kind 0 key 1  runs = usage rows left out as unreadable;
--      kind 1, 2, 3  per model, per step id, per workflow session id: runs/cost over the
--                    readable usage rows, paid_runs/paid_cost over those costing > 0.
--    A usage row is an agent run with a workflow session id and no reset marker
--    (view agent_runs_usage: `counted`); it is `readable` when its session id and model
--    are text, its step an integer and its cost NULL or a number within +-2^53.
--    A session is shown by hide_cancelled when it has no usage rows, or some costing
--    > 0 and a cost > 0. Costs are running sums of doubles (equal to SUM() within
--    rounding); a total whose count drops to 0 restarts from 0.0.
-- 4. The partial index agent_runs_recent (as step 20261130120000 made it) for
--    get_recent_runs.
--
-- Triggers left after this step, each kept because every writer (this layer, the
-- existing app's own SQL, any tool) must obey the rule it enforces:
--   agent_runs_ensure_session(_on_update) (step 20261130100000): every usage row's
--     session has a workflow_sessions row, so every report counts the same sessions;
--   agent_runs_usage_insert/_delete/_update: the totals follow every change of a row;
--   agent_runs_usage_replace: INSERT OR REPLACE (the existing app's agent-run write,
--     and this layer's) deletes the old row without its DELETE trigger: its totals
--     leave here, before the new row's are added;
--   usage_totals_session_insert/_update: a live session's change reaches the summary;
--   workflow_sessions_usage_insert/_delete/_update: a session that appears, goes or is
--     reset adds or removes its totals from the summary.
-- (recursive_triggers must stay off, SQLite's default, on connections that REPLACE
-- agent runs: with it on, the replaced row would also leave through its DELETE
-- trigger.)

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
DROP TRIGGER usage_row_moves_apply;
DROP TRIGGER usage_row_applies_apply;
DROP TRIGGER usage_session_pairs_same;
DROP TRIGGER usage_session_pairs_leave;
DROP TRIGGER usage_session_pairs_join;
DROP TRIGGER usage_session_deltas_apply;
DROP TRIGGER usage_session_changes_apply;
DROP VIEW usage_row_moves;
DROP VIEW usage_row_applies;
DROP VIEW usage_session_pairs;
DROP VIEW usage_session_deltas;
DROP VIEW usage_session_changes;
DROP TABLE usage_totals;

-- 3 -------------------------------------------------------------------------------

-- Per model and step id: the readable usage rows, and those costing > 0.
CREATE TABLE usage_groups (
    model TEXT NOT NULL,
    step_id INTEGER NOT NULL,
    runs INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0.0,
    paid_runs INTEGER NOT NULL DEFAULT 0,
    paid_cost REAL NOT NULL DEFAULT 0.0,
    PRIMARY KEY (model, step_id)
) WITHOUT ROWID;

-- Per workflow session id: whether it is live (a workflow_sessions row without a reset
-- marker), its readable usage rows, their cost, those costing > 0.
CREATE TABLE usage_sessions (
    session_id TEXT NOT NULL PRIMARY KEY,
    live INTEGER NOT NULL DEFAULT 0,
    runs INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0.0,
    paid_runs INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- One row: live sessions; the live sessions hide_cancelled hides (usage rows, none
-- costing > 0 or a cost <= 0) and their cost; the cost of usage rows whose session is
-- not live; unreadable usage rows.
CREATE TABLE usage_summary (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    sessions INTEGER NOT NULL DEFAULT 0,
    hidden_sessions INTEGER NOT NULL DEFAULT 0,
    hidden_cost REAL NOT NULL DEFAULT 0.0,
    dead_cost REAL NOT NULL DEFAULT 0.0,
    skipped INTEGER NOT NULL DEFAULT 0
);

-- The totals of the rows already stored.
INSERT INTO usage_groups (model, step_id, runs, cost, paid_runs, paid_cost)
SELECT model, step_id, count(*), TOTAL(total_cost), count(CASE WHEN total_cost > 0 THEN 1 END),
       TOTAL(CASE WHEN total_cost > 0 THEN total_cost END)
FROM agent_runs_usage WHERE counted AND readable
GROUP BY model, step_id;

INSERT INTO usage_sessions (session_id, live, runs, cost, paid_runs)
SELECT g.sid, max(g.live), TOTAL(g.runs), TOTAL(g.cost), TOTAL(g.paid)
FROM (SELECT workflow_session_id AS sid, 0 AS live, 1 AS runs, total_cost AS cost,
             total_cost > 0 AS paid
      FROM agent_runs_usage WHERE counted AND readable
      UNION ALL
      SELECT session_id, 1, 0, 0.0, 0 FROM workflow_sessions
      WHERE reset_marker IS NULL AND session_id IS NOT NULL) AS g
GROUP BY g.sid;

INSERT INTO usage_summary (id, sessions, hidden_sessions, hidden_cost, dead_cost, skipped)
SELECT 0,
       (SELECT count(*) FROM workflow_sessions WHERE reset_marker IS NULL),
       (SELECT count(*) FROM usage_sessions AS u WHERE (u.live AND u.runs > 0 AND NOT (u.paid_runs > 0 AND u.cost > 0))),
       (SELECT TOTAL(cost) FROM usage_sessions AS u WHERE (u.live AND u.runs > 0 AND NOT (u.paid_runs > 0 AND u.cost > 0))),
       (SELECT TOTAL(cost) FROM usage_sessions WHERE NOT live),
       (SELECT count(*) FROM agent_runs_usage WHERE counted AND NOT readable);

-- A session's totals or liveness changed: the summary follows when it is, or was, not
-- live or hidden (a paid live session's new runs cost nothing here).
CREATE TRIGGER usage_sessions_summary_insert AFTER INSERT ON usage_sessions
WHEN (NOT NEW.live AND NEW.cost <> 0.0) OR (NEW.live AND NEW.runs > 0 AND NOT (NEW.paid_runs > 0 AND NEW.cost > 0))
BEGIN
    UPDATE usage_summary SET
        dead_cost = dead_cost + (NOT NEW.live) * NEW.cost,
        hidden_sessions = hidden_sessions + (NEW.live AND NEW.runs > 0 AND NOT (NEW.paid_runs > 0 AND NEW.cost > 0)),
        hidden_cost = hidden_cost + (NEW.live AND NEW.runs > 0 AND NOT (NEW.paid_runs > 0 AND NEW.cost > 0)) * NEW.cost
    WHERE id = 0;
END;

CREATE TRIGGER usage_sessions_summary_update AFTER UPDATE ON usage_sessions
WHEN OLD.live <> NEW.live
  OR (NOT NEW.live AND OLD.cost <> NEW.cost)
  OR (OLD.live AND OLD.runs > 0 AND NOT (OLD.paid_runs > 0 AND OLD.cost > 0)) <> (NEW.live AND NEW.runs > 0 AND NOT (NEW.paid_runs > 0 AND NEW.cost > 0))
  OR ((NEW.live AND NEW.runs > 0 AND NOT (NEW.paid_runs > 0 AND NEW.cost > 0)) AND OLD.cost <> NEW.cost)
  OR OLD.session_id IS NOT NEW.session_id
BEGIN
    UPDATE usage_summary SET
        dead_cost = dead_cost + (NOT NEW.live) * NEW.cost - (NOT OLD.live) * OLD.cost,
        hidden_sessions = hidden_sessions + (NEW.live AND NEW.runs > 0 AND NOT (NEW.paid_runs > 0 AND NEW.cost > 0)) - (OLD.live AND OLD.runs > 0 AND NOT (OLD.paid_runs > 0 AND OLD.cost > 0)),
        hidden_cost = hidden_cost + (NEW.live AND NEW.runs > 0 AND NOT (NEW.paid_runs > 0 AND NEW.cost > 0)) * NEW.cost
                                  - (OLD.live AND OLD.runs > 0 AND NOT (OLD.paid_runs > 0 AND OLD.cost > 0)) * OLD.cost
    WHERE id = 0;
END;

CREATE TRIGGER usage_sessions_summary_delete AFTER DELETE ON usage_sessions
BEGIN
    UPDATE usage_summary SET
        dead_cost = dead_cost - (NOT OLD.live) * OLD.cost,
        hidden_sessions = hidden_sessions - (OLD.live AND OLD.runs > 0 AND NOT (OLD.paid_runs > 0 AND OLD.cost > 0)),
        hidden_cost = hidden_cost - (OLD.live AND OLD.runs > 0 AND NOT (OLD.paid_runs > 0 AND OLD.cost > 0)) * OLD.cost
    WHERE id = 0;
END;

-- A workflow session row without a reset marker is live while it is.
CREATE TRIGGER workflow_sessions_usage_insert AFTER INSERT ON workflow_sessions
WHEN NEW.reset_marker IS NULL
BEGIN
    UPDATE usage_summary SET sessions = sessions + 1 WHERE id = 0;
    INSERT INTO usage_sessions (session_id, live)
    SELECT NEW.session_id, 1 WHERE NEW.session_id IS NOT NULL
    ON CONFLICT (session_id) DO UPDATE SET live = 1;
END;

CREATE TRIGGER workflow_sessions_usage_delete AFTER DELETE ON workflow_sessions
WHEN OLD.reset_marker IS NULL
BEGIN
    UPDATE usage_summary SET sessions = sessions - 1 WHERE id = 0;
    UPDATE usage_sessions SET live = 0 WHERE session_id = OLD.session_id;
END;

CREATE TRIGGER workflow_sessions_usage_update
AFTER UPDATE OF session_id, reset_marker ON workflow_sessions
WHEN (OLD.reset_marker IS NULL OR NEW.reset_marker IS NULL)
 AND (OLD.session_id IS NOT NEW.session_id
      OR (OLD.reset_marker IS NULL) <> (NEW.reset_marker IS NULL))
BEGIN
    UPDATE usage_summary
    SET sessions = sessions - (OLD.reset_marker IS NULL) + (NEW.reset_marker IS NULL)
    WHERE id = 0;
    UPDATE usage_sessions SET live = 0
    WHERE session_id = OLD.session_id AND OLD.reset_marker IS NULL;
    INSERT INTO usage_sessions (session_id, live)
    SELECT NEW.session_id, 1 WHERE NEW.reset_marker IS NULL AND NEW.session_id IS NOT NULL
    ON CONFLICT (session_id) DO UPDATE SET live = 1;
END;

-- Agent runs: a usage row's version joins (or leaves) its model/step and session
-- totals; an unreadable one is only counted. The hot path, a new readable row, is the
-- first trigger: two upserts, no other lookup.
CREATE TRIGGER agent_runs_usage_insert AFTER INSERT ON agent_runs
WHEN NEW.workflow_session_id IS NOT NULL AND NEW.reset_marker IS NULL
 AND typeof(NEW.workflow_session_id) = 'text' AND typeof(NEW.step_id) = 'integer'
      AND typeof(NEW.model) = 'text'
      AND (NEW.total_cost IS NULL OR (typeof(NEW.total_cost) IN ('real', 'integer')
                                    AND abs(NEW.total_cost) <= 9007199254740992.0))
BEGIN
    INSERT INTO usage_groups (model, step_id, runs, cost, paid_runs, paid_cost)
    VALUES (NEW.model, NEW.step_id, 1, 0.0 + COALESCE(NEW.total_cost, 0.0), 0.0 + COALESCE(NEW.total_cost, 0.0) > 0,
            CASE WHEN 0.0 + COALESCE(NEW.total_cost, 0.0) > 0 THEN 0.0 + COALESCE(NEW.total_cost, 0.0) ELSE 0.0 END)
    ON CONFLICT (model, step_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs,
        paid_cost = CASE WHEN paid_runs + excluded.paid_runs = 0 THEN 0.0
                         ELSE paid_cost + excluded.paid_cost END;
    INSERT INTO usage_sessions (session_id, runs, cost, paid_runs)
    VALUES (NEW.workflow_session_id, 1, 0.0 + COALESCE(NEW.total_cost, 0.0), 0.0 + COALESCE(NEW.total_cost, 0.0) > 0)
    ON CONFLICT (session_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs;
END;

CREATE TRIGGER agent_runs_usage_insert_unreadable AFTER INSERT ON agent_runs
WHEN NEW.workflow_session_id IS NOT NULL AND NEW.reset_marker IS NULL
 AND NOT (typeof(NEW.workflow_session_id) = 'text' AND typeof(NEW.step_id) = 'integer'
      AND typeof(NEW.model) = 'text'
      AND (NEW.total_cost IS NULL OR (typeof(NEW.total_cost) IN ('real', 'integer')
                                    AND abs(NEW.total_cost) <= 9007199254740992.0)))
BEGIN
    UPDATE usage_summary SET skipped = skipped + 1 WHERE id = 0;
END;

CREATE TRIGGER agent_runs_usage_delete AFTER DELETE ON agent_runs
WHEN OLD.workflow_session_id IS NOT NULL AND OLD.reset_marker IS NULL
BEGIN
    INSERT INTO usage_groups (model, step_id, runs, cost, paid_runs, paid_cost)
    SELECT OLD.model, OLD.step_id, -1, -(0.0 + COALESCE(OLD.total_cost, 0.0)), -(0.0 + COALESCE(OLD.total_cost, 0.0) > 0),
           -CASE WHEN 0.0 + COALESCE(OLD.total_cost, 0.0) > 0 THEN 0.0 + COALESCE(OLD.total_cost, 0.0) ELSE 0.0 END
    WHERE typeof(OLD.workflow_session_id) = 'text' AND typeof(OLD.step_id) = 'integer'
      AND typeof(OLD.model) = 'text'
      AND (OLD.total_cost IS NULL OR (typeof(OLD.total_cost) IN ('real', 'integer')
                                    AND abs(OLD.total_cost) <= 9007199254740992.0))
    ON CONFLICT (model, step_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs,
        paid_cost = CASE WHEN paid_runs + excluded.paid_runs = 0 THEN 0.0
                         ELSE paid_cost + excluded.paid_cost END;
    INSERT INTO usage_sessions (session_id, runs, cost, paid_runs)
    SELECT OLD.workflow_session_id, -1, -(0.0 + COALESCE(OLD.total_cost, 0.0)), -(0.0 + COALESCE(OLD.total_cost, 0.0) > 0)
    WHERE typeof(OLD.workflow_session_id) = 'text' AND typeof(OLD.step_id) = 'integer'
      AND typeof(OLD.model) = 'text'
      AND (OLD.total_cost IS NULL OR (typeof(OLD.total_cost) IN ('real', 'integer')
                                    AND abs(OLD.total_cost) <= 9007199254740992.0))
    ON CONFLICT (session_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs;
    UPDATE usage_summary SET skipped = skipped - 1
    WHERE id = 0 AND NOT (typeof(OLD.workflow_session_id) = 'text' AND typeof(OLD.step_id) = 'integer'
      AND typeof(OLD.model) = 'text'
      AND (OLD.total_cost IS NULL OR (typeof(OLD.total_cost) IN ('real', 'integer')
                                    AND abs(OLD.total_cost) <= 9007199254740992.0)));
END;

-- INSERT OR REPLACE deletes the row it replaces without its DELETE trigger: that row
-- leaves the totals here, before the new one joins them.
CREATE TRIGGER agent_runs_usage_replace BEFORE INSERT ON agent_runs
WHEN EXISTS (SELECT 1 FROM agent_runs
             WHERE agent_id = NEW.agent_id AND model = NEW.model
               AND workflow_session_id IS NOT NULL AND reset_marker IS NULL)
BEGIN
    INSERT INTO usage_groups (model, step_id, runs, cost, paid_runs, paid_cost)
    SELECT o.model, o.step_id, -1, -(0.0 + COALESCE(o.total_cost, 0.0)), -(0.0 + COALESCE(o.total_cost, 0.0) > 0),
           -CASE WHEN 0.0 + COALESCE(o.total_cost, 0.0) > 0 THEN 0.0 + o.total_cost ELSE 0.0 END
    FROM agent_runs AS o
    WHERE o.agent_id = NEW.agent_id AND o.model = NEW.model AND typeof(o.workflow_session_id) = 'text' AND typeof(o.step_id) = 'integer'
          AND typeof(o.model) = 'text'
          AND (o.total_cost IS NULL OR (typeof(o.total_cost) IN ('real', 'integer')
                                        AND abs(o.total_cost) <= 9007199254740992.0))
    ON CONFLICT (model, step_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs,
        paid_cost = CASE WHEN paid_runs + excluded.paid_runs = 0 THEN 0.0
                         ELSE paid_cost + excluded.paid_cost END;
    INSERT INTO usage_sessions (session_id, runs, cost, paid_runs)
    SELECT o.workflow_session_id, -1, -(0.0 + COALESCE(o.total_cost, 0.0)), -(0.0 + COALESCE(o.total_cost, 0.0) > 0)
    FROM agent_runs AS o
    WHERE o.agent_id = NEW.agent_id AND o.model = NEW.model AND typeof(o.workflow_session_id) = 'text' AND typeof(o.step_id) = 'integer'
          AND typeof(o.model) = 'text'
          AND (o.total_cost IS NULL OR (typeof(o.total_cost) IN ('real', 'integer')
                                        AND abs(o.total_cost) <= 9007199254740992.0))
    ON CONFLICT (session_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs;
    UPDATE usage_summary SET skipped = skipped - 1
    WHERE id = 0 AND EXISTS (SELECT 1 FROM agent_runs AS o
                             WHERE o.agent_id = NEW.agent_id AND o.model = NEW.model
                               AND NOT (typeof(o.workflow_session_id) = 'text' AND typeof(o.step_id) = 'integer'
                                     AND typeof(o.model) = 'text'
                                     AND (o.total_cost IS NULL OR (typeof(o.total_cost) IN ('real', 'integer')
                                                                   AND abs(o.total_cost) <= 9007199254740992.0))));
END;

-- An update moves the row only when something the totals read changed (a status-only
-- update, e.g. the session reconciliation, runs nothing). `IS NOT` compares values;
-- the typeof() tests catch a change of storage class between equal values.
CREATE TRIGGER agent_runs_usage_update
AFTER UPDATE OF workflow_session_id, reset_marker, model, step_id, total_cost
ON agent_runs
WHEN (OLD.workflow_session_id IS NOT NULL AND OLD.reset_marker IS NULL OR NEW.workflow_session_id IS NOT NULL AND NEW.reset_marker IS NULL)
 AND (OLD.workflow_session_id IS NOT NEW.workflow_session_id
      OR (OLD.reset_marker IS NULL) <> (NEW.reset_marker IS NULL)
      OR OLD.model IS NOT NEW.model
      OR OLD.step_id IS NOT NEW.step_id
      OR OLD.total_cost IS NOT NEW.total_cost
      OR typeof(OLD.workflow_session_id) <> typeof(NEW.workflow_session_id)
      OR typeof(OLD.model) <> typeof(NEW.model)
      OR typeof(OLD.step_id) <> typeof(NEW.step_id)
      OR typeof(OLD.total_cost) <> typeof(NEW.total_cost))
BEGIN
    INSERT INTO usage_groups (model, step_id, runs, cost, paid_runs, paid_cost)
    SELECT OLD.model, OLD.step_id, -1, -(0.0 + COALESCE(OLD.total_cost, 0.0)), -(0.0 + COALESCE(OLD.total_cost, 0.0) > 0),
           -CASE WHEN 0.0 + COALESCE(OLD.total_cost, 0.0) > 0 THEN 0.0 + COALESCE(OLD.total_cost, 0.0) ELSE 0.0 END
    WHERE OLD.workflow_session_id IS NOT NULL AND OLD.reset_marker IS NULL AND typeof(OLD.workflow_session_id) = 'text' AND typeof(OLD.step_id) = 'integer'
      AND typeof(OLD.model) = 'text'
      AND (OLD.total_cost IS NULL OR (typeof(OLD.total_cost) IN ('real', 'integer')
                                    AND abs(OLD.total_cost) <= 9007199254740992.0))
    ON CONFLICT (model, step_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs,
        paid_cost = CASE WHEN paid_runs + excluded.paid_runs = 0 THEN 0.0
                         ELSE paid_cost + excluded.paid_cost END;
    INSERT INTO usage_sessions (session_id, runs, cost, paid_runs)
    SELECT OLD.workflow_session_id, -1, -(0.0 + COALESCE(OLD.total_cost, 0.0)), -(0.0 + COALESCE(OLD.total_cost, 0.0) > 0)
    WHERE OLD.workflow_session_id IS NOT NULL AND OLD.reset_marker IS NULL AND typeof(OLD.workflow_session_id) = 'text' AND typeof(OLD.step_id) = 'integer'
      AND typeof(OLD.model) = 'text'
      AND (OLD.total_cost IS NULL OR (typeof(OLD.total_cost) IN ('real', 'integer')
                                    AND abs(OLD.total_cost) <= 9007199254740992.0))
    ON CONFLICT (session_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs;
    INSERT INTO usage_groups (model, step_id, runs, cost, paid_runs, paid_cost)
    SELECT NEW.model, NEW.step_id, 1, (0.0 + COALESCE(NEW.total_cost, 0.0)), (0.0 + COALESCE(NEW.total_cost, 0.0) > 0),
           CASE WHEN 0.0 + COALESCE(NEW.total_cost, 0.0) > 0 THEN 0.0 + COALESCE(NEW.total_cost, 0.0) ELSE 0.0 END
    WHERE NEW.workflow_session_id IS NOT NULL AND NEW.reset_marker IS NULL AND typeof(NEW.workflow_session_id) = 'text' AND typeof(NEW.step_id) = 'integer'
      AND typeof(NEW.model) = 'text'
      AND (NEW.total_cost IS NULL OR (typeof(NEW.total_cost) IN ('real', 'integer')
                                    AND abs(NEW.total_cost) <= 9007199254740992.0))
    ON CONFLICT (model, step_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs,
        paid_cost = CASE WHEN paid_runs + excluded.paid_runs = 0 THEN 0.0
                         ELSE paid_cost + excluded.paid_cost END;
    INSERT INTO usage_sessions (session_id, runs, cost, paid_runs)
    SELECT NEW.workflow_session_id, 1, (0.0 + COALESCE(NEW.total_cost, 0.0)), (0.0 + COALESCE(NEW.total_cost, 0.0) > 0)
    WHERE NEW.workflow_session_id IS NOT NULL AND NEW.reset_marker IS NULL AND typeof(NEW.workflow_session_id) = 'text' AND typeof(NEW.step_id) = 'integer'
      AND typeof(NEW.model) = 'text'
      AND (NEW.total_cost IS NULL OR (typeof(NEW.total_cost) IN ('real', 'integer')
                                    AND abs(NEW.total_cost) <= 9007199254740992.0))
    ON CONFLICT (session_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs;
    UPDATE usage_summary
    SET skipped = skipped - (OLD.workflow_session_id IS NOT NULL AND OLD.reset_marker IS NULL AND NOT (typeof(OLD.workflow_session_id) = 'text' AND typeof(OLD.step_id) = 'integer'
      AND typeof(OLD.model) = 'text'
      AND (OLD.total_cost IS NULL OR (typeof(OLD.total_cost) IN ('real', 'integer')
                                    AND abs(OLD.total_cost) <= 9007199254740992.0))))
                          + (NEW.workflow_session_id IS NOT NULL AND NEW.reset_marker IS NULL AND NOT (typeof(NEW.workflow_session_id) = 'text' AND typeof(NEW.step_id) = 'integer'
      AND typeof(NEW.model) = 'text'
      AND (NEW.total_cost IS NULL OR (typeof(NEW.total_cost) IN ('real', 'integer')
                                    AND abs(NEW.total_cost) <= 9007199254740992.0))))
    WHERE id = 0;
END;

-- 4 -------------------------------------------------------------------------------

CREATE INDEX agent_runs_recent
    ON agent_runs ((completed_at IS NULL), completed_at DESC, started_at DESC)
    WHERE reset_marker IS NULL;
