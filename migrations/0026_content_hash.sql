-- Step 26: content hash.
-- workspace_skills and imported_skills gain content_hash TEXT; existing rows
-- keep NULL ("unmodified baseline unknown").

ALTER TABLE workspace_skills ADD COLUMN content_hash TEXT;
ALTER TABLE imported_skills ADD COLUMN content_hash TEXT;
