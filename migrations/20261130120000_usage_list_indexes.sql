-- Usage screen lists that cost what they show (issue 12): the two "most recent"
-- lists read their first rows in order from an index instead of sorting the whole
-- table. Partial indexes over the rows not cleared by a usage reset, exactly the rows
-- the lists read. Indexes change no table, column or row.
--   get_recent_runs: ORDER BY completed_at IS NULL, completed_at DESC, started_at DESC
--     LIMIT n over agent_runs WHERE reset_marker IS NULL (was a scan and sort of every
--     agent run). Ties keep rowid order, as the scan-and-sort did.
--   get_recent_workflow_sessions: ORDER BY started_at DESC, session_id LIMIT n over
--     workflow_sessions WHERE reset_marker IS NULL (was a sort of every session).

CREATE INDEX agent_runs_recent
    ON agent_runs ((completed_at IS NULL), completed_at DESC, started_at DESC)
    WHERE reset_marker IS NULL;
CREATE INDEX workflow_sessions_recent
    ON workflow_sessions (started_at DESC, session_id)
    WHERE reset_marker IS NULL;
