-- Step 11: bundled flag.
-- imported_skills gains is_bundled INTEGER NOT NULL DEFAULT 0.

ALTER TABLE imported_skills ADD COLUMN is_bundled INTEGER NOT NULL DEFAULT 0;
