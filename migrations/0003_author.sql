-- Step 3: author.
-- workflow_runs gains author_login and author_avatar (TEXT, nullable).

ALTER TABLE workflow_runs ADD COLUMN author_login TEXT;
ALTER TABLE workflow_runs ADD COLUMN author_avatar TEXT;
