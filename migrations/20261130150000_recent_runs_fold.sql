-- The recent-runs list without an index on agent_runs (issue 12 item 4): the partial
-- index agent_runs_recent of step 20261130120000 wrote one more B-tree leaf per new
-- agent run, ~8 us of the insert (BENCHMARKS.md). Its entries now live in a table of
-- their own, kept like the usage totals (step 20261130140000): for the agent runs at
-- or below the fold boundary, by triggers; a new run lands in the tail and the fold
-- adds its entry (crates/db/src/usage_totals.rs, fold_chunk), many per transaction.
-- get_recent_runs (crates/db/src/agent_runs.rs) merges the table's first entries, in
-- index order, with the tail's runs, sorted: it reads what it shows plus the tail.
--
-- recent_agent_runs: one row per agent run at or below the boundary without a reset
-- marker, holding its rowid and its sort key as stored (`running` = completed_at IS
-- NULL; the columns have no type, so each value keeps its storage class and sorts as
-- the agent_runs column does). Ties are broken by rowid, as the index did.
-- A row removed without its DELETE trigger (another tool's INSERT OR REPLACE) leaves
-- an entry whose rowid no longer exists: the list skips every entry that does not
-- match its row (gone, reset, other values), and `check` reports them.

CREATE TABLE recent_agent_runs (
    row_id INTEGER PRIMARY KEY,
    running NOT NULL,
    completed_at,
    started_at
);

CREATE INDEX recent_agent_runs_order
    ON recent_agent_runs (running, completed_at DESC, started_at DESC);

INSERT INTO recent_agent_runs (row_id, running, completed_at, started_at)
SELECT rowid, completed_at IS NULL, completed_at, started_at FROM agent_runs
WHERE reset_marker IS NULL
  AND rowid <= (SELECT through_row_id FROM usage_totals_fold WHERE id = 0);

DROP INDEX agent_runs_recent;

-- An entry left at a rowid by a row removed without its DELETE trigger is replaced
-- (or removed) when the rowid is used again; plain INSERTs after the DELETE, so no
-- conflict clause of the outer statement can change what happens.
CREATE TRIGGER agent_runs_recent_insert AFTER INSERT ON agent_runs
WHEN NEW.rowid <= (SELECT through_row_id FROM usage_totals_fold WHERE id = 0)
BEGIN
    DELETE FROM recent_agent_runs WHERE row_id = NEW.rowid;
    INSERT INTO recent_agent_runs (row_id, running, completed_at, started_at)
    SELECT NEW.rowid, NEW.completed_at IS NULL, NEW.completed_at, NEW.started_at
    WHERE NEW.reset_marker IS NULL;
END;

CREATE TRIGGER agent_runs_recent_delete AFTER DELETE ON agent_runs
WHEN OLD.rowid <= (SELECT through_row_id FROM usage_totals_fold WHERE id = 0)
BEGIN
    DELETE FROM recent_agent_runs WHERE row_id = OLD.rowid;
END;

CREATE TRIGGER agent_runs_recent_update AFTER UPDATE ON agent_runs
WHEN (OLD.rowid <= (SELECT through_row_id FROM usage_totals_fold WHERE id = 0)
      OR NEW.rowid <= (SELECT through_row_id FROM usage_totals_fold WHERE id = 0))
 AND (OLD.rowid IS NOT NEW.rowid
      OR (OLD.reset_marker IS NULL) <> (NEW.reset_marker IS NULL)
      OR OLD.completed_at IS NOT NEW.completed_at
      OR OLD.started_at IS NOT NEW.started_at
      OR typeof(OLD.completed_at) <> typeof(NEW.completed_at)
      OR typeof(OLD.started_at) <> typeof(NEW.started_at))
BEGIN
    DELETE FROM recent_agent_runs WHERE row_id = OLD.rowid;
    DELETE FROM recent_agent_runs WHERE row_id = NEW.rowid;
    INSERT INTO recent_agent_runs (row_id, running, completed_at, started_at)
    SELECT NEW.rowid, NEW.completed_at IS NULL, NEW.completed_at, NEW.started_at
    WHERE NEW.reset_marker IS NULL
      AND NEW.rowid <= (SELECT through_row_id FROM usage_totals_fold WHERE id = 0);
END;
