-- The usage totals stay right whatever an INSERT on agent_runs or workflow_sessions
-- does with a stored row of the same key. No row or column of the existing app's
-- tables changes. The usage design: rustdoc of crates/db/src/usage.rs.
--
-- SQLite resolves such a conflict after the BEFORE INSERT triggers ran: REPLACE
-- deletes the stored row (without its DELETE trigger unless recursive_triggers is
-- on), IGNORE and DO NOTHING keep it, an upsert's DO UPDATE updates it (the UPDATE
-- triggers run), FAIL fails but keeps what the statement did before. Step
-- 20261207140000 took the stored row out of the totals in its BEFORE INSERT trigger,
-- which is right only for a REPLACE with recursive_triggers off: `INSERT OR IGNORE`,
-- an upsert or a failing `INSERT OR FAIL` by another tool left the totals short of a
-- row that is still there, and a REPLACE with recursive_triggers on took it out twice.
--
-- Now the BEFORE INSERT trigger only notes the stored row's usage values in
-- usage_replaced (one row at most), and an AFTER INSERT trigger (which runs only
-- when the new row was inserted, so the stored one was replaced) takes them out of
-- the totals. A note left by an insert that did not replace is cleared by the next
-- insert. With `PRAGMA recursive_triggers = ON` (off by default) a REPLACE runs the
-- DELETE triggers for the row it deletes, which take it out already: a delete clears
-- the note. An insert of a new key pays a primary-key lookup in agent_runs and two in
-- the one-row note.
--
-- workflow_sessions has no BEFORE INSERT trigger: `INSERT OR REPLACE` of a stored
-- session id (the existing app inserts with OR IGNORE; another tool may replace)
-- deleted the stored row without its DELETE trigger and counted the session twice.
-- Its AFTER INSERT trigger now reads whether a live row of that id was there from
-- usage_sessions.live (kept true exactly while one is) instead of assuming none was.
--
-- Not covered (`check` reports it): a REPLACE that deletes a row of another key (an
-- explicit rowid that another row holds, an UPDATE OR REPLACE onto a stored key).
--
-- A file those two writes reached before this step holds totals short of its rows:
-- they are computed again from the rows at the end (as step 20261207140000 filled
-- them; the summary row is put back if another tool deleted it).

DROP TRIGGER agent_runs_usage_replace;

CREATE TABLE usage_replaced (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    model TEXT NOT NULL,
    step_id INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    cost REAL
);

-- A stored readable usage row with the new row's key: noted (and an older note gone).
CREATE TRIGGER agent_runs_usage_replace BEFORE INSERT ON agent_runs
BEGIN
    DELETE FROM usage_replaced WHERE id = 0;
    INSERT INTO usage_replaced (id, model, step_id, session_id, cost)
    SELECT 0, model, step_id, workflow_session_id, total_cost
    FROM agent_runs_usage
    WHERE agent_id = NEW.agent_id AND model = NEW.model AND counted AND readable;
END;

-- The new row is in: the noted row was replaced, and leaves the totals.
CREATE TRIGGER agent_runs_usage_replaced AFTER INSERT ON agent_runs
WHEN EXISTS (SELECT 1 FROM usage_replaced WHERE id = 0)
BEGIN
    INSERT INTO usage_groups (model, step_id, runs, cost, paid_runs, paid_cost)
    SELECT model, step_id, -1, -ifnull(cost, 0), -(ifnull(cost, 0) > 0),
           -max(ifnull(cost, 0), 0)
    FROM usage_replaced WHERE id = 0
    ON CONFLICT (model, step_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs,
        paid_cost = CASE WHEN paid_runs + excluded.paid_runs = 0 THEN 0.0
                         ELSE paid_cost + excluded.paid_cost END;
    INSERT INTO usage_sessions (session_id, runs, cost, paid_runs)
    SELECT session_id, -1, -ifnull(cost, 0), -(ifnull(cost, 0) > 0)
    FROM usage_replaced WHERE id = 0
    ON CONFLICT (session_id) DO UPDATE SET
        runs = runs + excluded.runs,
        cost = CASE WHEN runs + excluded.runs = 0 THEN 0.0 ELSE cost + excluded.cost END,
        paid_runs = paid_runs + excluded.paid_runs;
    DELETE FROM usage_replaced WHERE id = 0;
END;

-- A deleted row left the totals through its own trigger: no note may take it out again.
CREATE TRIGGER agent_runs_usage_note_cleared AFTER DELETE ON agent_runs
WHEN EXISTS (SELECT 1 FROM usage_replaced WHERE id = 0)
BEGIN
    DELETE FROM usage_replaced WHERE id = 0;
END;

-- The session count and liveness after a row of this id is inserted: +1 when the new
-- row is live, -1 when a live row of the id was there (only a REPLACE deletes one).
DROP TRIGGER workflow_sessions_usage_insert;

CREATE TRIGGER workflow_sessions_usage_insert AFTER INSERT ON workflow_sessions
BEGIN
    UPDATE usage_summary SET sessions = sessions + (NEW.reset_marker IS NULL)
        - ifnull((SELECT live FROM usage_sessions WHERE session_id = NEW.session_id), 0);
    INSERT INTO usage_sessions (session_id, live)
    SELECT NEW.session_id, NEW.reset_marker IS NULL WHERE NEW.session_id IS NOT NULL
    ON CONFLICT (session_id) DO UPDATE SET live = excluded.live;
END;

-- The totals again, from the rows ------------------------------------------------------

DELETE FROM usage_groups;
INSERT INTO usage_groups (model, step_id, runs, cost, paid_runs, paid_cost)
SELECT model, step_id, count(*), TOTAL(total_cost), count(CASE WHEN total_cost > 0 THEN 1 END),
       TOTAL(CASE WHEN total_cost > 0 THEN total_cost END)
FROM agent_runs_usage WHERE counted AND readable
GROUP BY model, step_id;

DELETE FROM usage_sessions;
INSERT INTO usage_sessions (session_id, live, runs, cost, paid_runs)
SELECT g.sid, max(g.live), sum(g.runs), TOTAL(g.cost), sum(g.paid)
FROM (SELECT workflow_session_id AS sid, 0 AS live, 1 AS runs, total_cost AS cost,
             COALESCE(total_cost > 0, 0) AS paid
      FROM agent_runs_usage WHERE counted AND readable
      UNION ALL
      SELECT session_id, 1, 0, 0.0, 0 FROM workflow_sessions
      WHERE reset_marker IS NULL AND session_id IS NOT NULL) AS g
GROUP BY g.sid;

-- After the inserts above (whose trigger moved the summary): the summary from scratch.
INSERT OR REPLACE INTO usage_summary (id, sessions, hidden_sessions, hidden_cost, dead_cost)
SELECT 0, (SELECT count(*) FROM workflow_sessions WHERE reset_marker IS NULL),
       (SELECT count(*) FROM usage_sessions AS u WHERE u.hidden),
       (SELECT TOTAL(cost) FROM usage_sessions AS u WHERE u.hidden),
       (SELECT TOTAL(cost) FROM usage_sessions WHERE NOT live);
