-- Step 23: FK columns.
-- Integer links next to the text ones:
--   workflow_steps, workflow_artifacts, agent_runs: workflow_run_id -> workflow_runs(id)
--   skill_tags, skill_locks, workflow_sessions:     skill_id -> skills(id)
--   imported_skills:                                skill_master_id -> skills(id)
-- Each new column is filled (where NULL) by matching skill_name to
-- workflow_runs.skill_name / skills.name; rows without a parent keep NULL.

ALTER TABLE workflow_steps ADD COLUMN workflow_run_id INTEGER REFERENCES workflow_runs(id);
ALTER TABLE workflow_artifacts ADD COLUMN workflow_run_id INTEGER REFERENCES workflow_runs(id);
ALTER TABLE agent_runs ADD COLUMN workflow_run_id INTEGER REFERENCES workflow_runs(id);
ALTER TABLE skill_tags ADD COLUMN skill_id INTEGER REFERENCES skills(id);
ALTER TABLE skill_locks ADD COLUMN skill_id INTEGER REFERENCES skills(id);
ALTER TABLE workflow_sessions ADD COLUMN skill_id INTEGER REFERENCES skills(id);
ALTER TABLE imported_skills ADD COLUMN skill_master_id INTEGER REFERENCES skills(id);

UPDATE workflow_steps
SET workflow_run_id = (
    SELECT wr.id FROM workflow_runs wr WHERE wr.skill_name = workflow_steps.skill_name
)
WHERE workflow_run_id IS NULL;

UPDATE workflow_artifacts
SET workflow_run_id = (
    SELECT wr.id FROM workflow_runs wr WHERE wr.skill_name = workflow_artifacts.skill_name
)
WHERE workflow_run_id IS NULL;

UPDATE agent_runs
SET workflow_run_id = (
    SELECT wr.id FROM workflow_runs wr WHERE wr.skill_name = agent_runs.skill_name
)
WHERE workflow_run_id IS NULL;

UPDATE skill_tags
SET skill_id = (
    SELECT s.id FROM skills s WHERE s.name = skill_tags.skill_name
)
WHERE skill_id IS NULL;

UPDATE skill_locks
SET skill_id = (
    SELECT s.id FROM skills s WHERE s.name = skill_locks.skill_name
)
WHERE skill_id IS NULL;

UPDATE workflow_sessions
SET skill_id = (
    SELECT s.id FROM skills s WHERE s.name = workflow_sessions.skill_name
)
WHERE skill_id IS NULL;

UPDATE imported_skills
SET skill_master_id = (
    SELECT s.id FROM skills s WHERE s.name = imported_skills.skill_name
)
WHERE skill_master_id IS NULL;
