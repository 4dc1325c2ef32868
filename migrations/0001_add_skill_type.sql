-- Step 1: add skill type.
-- workflow_runs gains skill_type TEXT DEFAULT 'domain'; rows with a NULL
-- skill_type are set to 'domain'.

ALTER TABLE workflow_runs ADD COLUMN skill_type TEXT DEFAULT 'domain';

UPDATE workflow_runs SET skill_type = 'domain' WHERE skill_type IS NULL;
