-- Step 27: null versions.
-- A NULL version becomes '1.0.0' in skills, imported_skills and workspace_skills.

UPDATE skills SET version = '1.0.0' WHERE version IS NULL;
UPDATE imported_skills SET version = '1.0.0' WHERE version IS NULL;
UPDATE workspace_skills SET version = '1.0.0' WHERE version IS NULL;
