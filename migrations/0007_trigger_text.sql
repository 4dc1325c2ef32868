-- Step 7: trigger text.
-- imported_skills gains trigger_text TEXT (dropped again by step 12).

ALTER TABLE imported_skills ADD COLUMN trigger_text TEXT;
