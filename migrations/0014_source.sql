-- Step 14: source.
-- workflow_runs gains source TEXT NOT NULL DEFAULT 'created'
-- ('created' for user-built skills, 'marketplace' for marketplace imports).

ALTER TABLE workflow_runs ADD COLUMN source TEXT NOT NULL DEFAULT 'created';
