-- Usage totals folded in after the write (issue 12 item 4): a new agent run no longer
-- updates usage_totals in its own statement.
--
-- Measured on step 20261130130000 (BENCHMARKS.md): the triggers that keep the totals
-- with every insert cost ~25 us of CPU and two more dirty pages per agent run, +27% on
-- `persist_agent_run`; rewriting them as fewer statements saved at most a third.
-- Now:
--   `usage_totals_fold.through_row_id` is the highest agent_runs rowid the totals
--   include. Agent runs above it are the "tail": the triggers of step 20261130130000
--   act only on rows at or below it (an insert above it costs one comparison), and
--   the reports add the tail to the stored totals when they read
--   (crates/db/src/usage.rs: the same sums, exact in the same way).
--   The writer folds the tail into the totals (crates/db/src/usage_totals.rs, fold:
--   every tail row, in rowid order, through usage_row_applies exactly as a trigger
--   would have, then through_row_id moves up), at open and when it is idle, so the
--   tail stays small and a report stays O(what it shows).
-- An update or delete of a folded row still changes the totals in its own statement;
-- one of a tail row changes nothing (the row is read as it is when folded). An update
-- that moves a row across the boundary (a changed rowid) adds or removes it.
--
-- No table's rows change; usage_totals keeps its meaning for the folded rows
-- (`agent_rows` counts the agent runs at or below through_row_id).

CREATE TABLE usage_totals_fold (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    through_row_id INTEGER NOT NULL
);

-- Every row already stored is in the totals (step 20261130130000 filled them).
INSERT INTO usage_totals_fold (id, through_row_id)
SELECT 0, COALESCE(max(rowid), 0) FROM agent_runs;

-- The rows the totals do not include yet, with the tests of agent_runs_usage.
CREATE VIEW agent_runs_usage_tail AS
SELECT * FROM agent_runs_usage
WHERE row_id > (SELECT through_row_id FROM usage_totals_fold WHERE id = 0);

DROP TRIGGER agent_runs_usage_insert;
CREATE TRIGGER agent_runs_usage_insert AFTER INSERT ON agent_runs
WHEN NEW.rowid <= (SELECT through_row_id FROM usage_totals_fold WHERE id = 0)
BEGIN
    INSERT INTO usage_row_moves
    VALUES (1, NEW.rowid, 0, NULL, NULL, NULL, NULL, NULL,
            1, NEW.workflow_session_id, NEW.reset_marker, NEW.model, NEW.step_id,
            NEW.total_cost);
END;

DROP TRIGGER agent_runs_usage_delete;
CREATE TRIGGER agent_runs_usage_delete AFTER DELETE ON agent_runs
WHEN OLD.rowid <= (SELECT through_row_id FROM usage_totals_fold WHERE id = 0)
BEGIN
    INSERT INTO usage_row_moves
    VALUES (-1, OLD.rowid, 1, OLD.workflow_session_id, OLD.reset_marker, OLD.model,
            OLD.step_id, OLD.total_cost, 0, NULL, NULL, NULL, NULL, NULL);
END;

-- Any update (a changed rowid is not an UPDATE OF column): the old version leaves the
-- totals if it was folded, the new one joins them if it is.
DROP TRIGGER agent_runs_usage_update;
CREATE TRIGGER agent_runs_usage_update AFTER UPDATE ON agent_runs
WHEN (OLD.rowid <= (SELECT through_row_id FROM usage_totals_fold WHERE id = 0)
      OR NEW.rowid <= (SELECT through_row_id FROM usage_totals_fold WHERE id = 0))
 AND (OLD.rowid IS NOT NEW.rowid
      OR OLD.workflow_session_id IS NOT NEW.workflow_session_id
      OR (OLD.reset_marker IS NULL) <> (NEW.reset_marker IS NULL)
      OR OLD.model IS NOT NEW.model
      OR OLD.step_id IS NOT NEW.step_id
      OR OLD.total_cost IS NOT NEW.total_cost
      OR typeof(OLD.workflow_session_id) <> typeof(NEW.workflow_session_id)
      OR typeof(OLD.model) <> typeof(NEW.model)
      OR typeof(OLD.step_id) <> typeof(NEW.step_id)
      OR typeof(OLD.total_cost) <> typeof(NEW.total_cost))
BEGIN
    INSERT INTO usage_row_moves VALUES (
        (NEW.rowid <= (SELECT through_row_id FROM usage_totals_fold WHERE id = 0))
        - (OLD.rowid <= (SELECT through_row_id FROM usage_totals_fold WHERE id = 0)),
        NEW.rowid,
        OLD.rowid <= (SELECT through_row_id FROM usage_totals_fold WHERE id = 0),
        OLD.workflow_session_id, OLD.reset_marker, OLD.model, OLD.step_id, OLD.total_cost,
        NEW.rowid <= (SELECT through_row_id FROM usage_totals_fold WHERE id = 0),
        NEW.workflow_session_id, NEW.reset_marker, NEW.model, NEW.step_id, NEW.total_cost);
END;
