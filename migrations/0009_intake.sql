-- Step 9: intake.
-- workflow_runs gains display_name and intake_json (TEXT, nullable).

ALTER TABLE workflow_runs ADD COLUMN display_name TEXT;
ALTER TABLE workflow_runs ADD COLUMN intake_json TEXT;
