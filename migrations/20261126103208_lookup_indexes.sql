-- Step 29: indexes for the lookups the data layer makes by name and by link.
-- The first step of this layer (1..28 are the existing app's contract). Indexes
-- change no row and no column: the canonical dump of a file is the same as at 28.
--   agent_runs by skill name: linking a new workflow run's orphans, delete cascade,
--     rename (each was a full scan of the largest table).
--   agent_runs by workflow session (covering the usage summary, which then groups
--     without sorting): usage analytics and session reconciliation.
--   agent_runs, workflow_steps, workflow_artifacts by workflow run: the step's agent
--     runs, and the foreign-key check when a workflow run is deleted.
--   workflow_sessions by skill name: linking orphans, delete cascade, rename.
--   every link to the skills master (below).

CREATE INDEX agent_runs_skill_name ON agent_runs (skill_name);
CREATE INDEX agent_runs_workflow_session ON agent_runs (workflow_session_id, reset_marker, total_cost);
CREATE INDEX agent_runs_workflow_run ON agent_runs (workflow_run_id, step_id);
CREATE INDEX workflow_steps_workflow_run ON workflow_steps (workflow_run_id);
CREATE INDEX workflow_artifacts_workflow_run ON workflow_artifacts (workflow_run_id);
CREATE INDEX workflow_sessions_skill_name ON workflow_sessions (skill_name);

-- Links to the skills master, for the delete cascades and the foreign-key checks a
-- delete of a skills row makes (each was a full scan of its table; skill_tags also
-- on every tag replacement).
CREATE INDEX skill_tags_skill_id ON skill_tags (skill_id);
CREATE INDEX skill_locks_skill_id ON skill_locks (skill_id);
CREATE INDEX workflow_sessions_skill_id ON workflow_sessions (skill_id);
CREATE INDEX workflow_runs_skill_id ON workflow_runs (skill_id);
CREATE INDEX imported_skills_skill_master_id ON imported_skills (skill_master_id);
