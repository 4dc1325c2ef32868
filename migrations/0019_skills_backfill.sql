-- Step 19: skills backfill.
-- 1. One skills row per workflow_runs row (insert-or-ignore, so an existing
--    skill of that name is kept): source 'marketplace' when the run's source is
--    'marketplace', else 'skill-builder'. New ids follow the runs' storage order.
-- 2. workflow_runs gains skill_id INTEGER REFERENCES skills(id), filled by name.
-- 3. Marketplace runs now live in skills only: their workflow_steps rows are
--    deleted, then the runs themselves.

INSERT OR IGNORE INTO skills (name, skill_source, domain, skill_type, created_at, updated_at)
SELECT
    skill_name,
    CASE WHEN source = 'marketplace' THEN 'marketplace' ELSE 'skill-builder' END,
    domain,
    skill_type,
    created_at,
    updated_at
FROM workflow_runs
ORDER BY rowid;

ALTER TABLE workflow_runs ADD COLUMN skill_id INTEGER REFERENCES skills(id);

UPDATE workflow_runs
SET skill_id = (SELECT s.id FROM skills s WHERE s.name = workflow_runs.skill_name);

DELETE FROM workflow_steps
WHERE skill_name IN (SELECT skill_name FROM workflow_runs WHERE source = 'marketplace');

DELETE FROM workflow_runs WHERE source = 'marketplace';
