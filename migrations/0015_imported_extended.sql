-- Step 15: imported extended.
-- imported_skills gains skill_type, version, model, argument_hint (TEXT) and
-- user_invocable, disable_model_invocation (INTEGER), all nullable.

ALTER TABLE imported_skills ADD COLUMN skill_type TEXT;
ALTER TABLE imported_skills ADD COLUMN version TEXT;
ALTER TABLE imported_skills ADD COLUMN model TEXT;
ALTER TABLE imported_skills ADD COLUMN argument_hint TEXT;
ALTER TABLE imported_skills ADD COLUMN user_invocable INTEGER;
ALTER TABLE imported_skills ADD COLUMN disable_model_invocation INTEGER;
