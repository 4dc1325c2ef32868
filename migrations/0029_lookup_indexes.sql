-- Step 29: indexes for the lookups the data layer makes by name and by link.
-- The first step of this layer (1..28 are the existing app's contract). Indexes
-- change no row and no column: the canonical dump of a file is the same as at 28.
--   agent_runs by skill name: linking a new workflow run's orphans, delete cascade,
--     rename (each was a full scan of the largest table).
--   agent_runs by workflow session: usage analytics and session reconciliation.
--   agent_runs, workflow_steps, workflow_artifacts by workflow run: the step's agent
--     runs, and the foreign-key check when a workflow run is deleted.
--   workflow_sessions by skill name: linking orphans, delete cascade, rename.

CREATE INDEX agent_runs_skill_name ON agent_runs (skill_name);
CREATE INDEX agent_runs_workflow_session ON agent_runs (workflow_session_id);
CREATE INDEX agent_runs_workflow_run ON agent_runs (workflow_run_id, step_id);
CREATE INDEX workflow_steps_workflow_run ON workflow_steps (workflow_run_id);
CREATE INDEX workflow_artifacts_workflow_run ON workflow_artifacts (workflow_run_id);
CREATE INDEX workflow_sessions_skill_name ON workflow_sessions (skill_name);
