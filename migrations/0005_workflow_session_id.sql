-- Step 5: workflow session id.
-- agent_runs gains workflow_session_id TEXT (links to workflow_sessions by text).

ALTER TABLE agent_runs ADD COLUMN workflow_session_id TEXT;
