-- Step 24: frontmatter to skills.
-- skills gains the SKILL.md frontmatter fields description, version, model,
-- argument_hint (TEXT), user_invocable, disable_model_invocation (INTEGER),
-- then each is filled where NULL. The fill (everything after the "-- fill:"
-- line) is byte-identical to migrations/repair/0024_fill.sql, which the repair
-- pass runs on files that recorded step 24 without its columns.

ALTER TABLE skills ADD COLUMN description TEXT;
ALTER TABLE skills ADD COLUMN version TEXT;
ALTER TABLE skills ADD COLUMN model TEXT;
ALTER TABLE skills ADD COLUMN argument_hint TEXT;
ALTER TABLE skills ADD COLUMN user_invocable INTEGER;
ALTER TABLE skills ADD COLUMN disable_model_invocation INTEGER;

-- fill:
-- Fill the six frontmatter columns of skills where they are NULL:
-- skill-builder skills from their workflow_runs row, marketplace/imported
-- skills from their imported_skills row (which has no description).

UPDATE skills
SET
    description = COALESCE(skills.description, (
        SELECT wr.description FROM workflow_runs wr WHERE wr.skill_name = skills.name)),
    version = COALESCE(skills.version, (
        SELECT wr.version FROM workflow_runs wr WHERE wr.skill_name = skills.name)),
    model = COALESCE(skills.model, (
        SELECT wr.model FROM workflow_runs wr WHERE wr.skill_name = skills.name)),
    argument_hint = COALESCE(skills.argument_hint, (
        SELECT wr.argument_hint FROM workflow_runs wr WHERE wr.skill_name = skills.name)),
    user_invocable = COALESCE(skills.user_invocable, (
        SELECT wr.user_invocable FROM workflow_runs wr WHERE wr.skill_name = skills.name)),
    disable_model_invocation = COALESCE(skills.disable_model_invocation, (
        SELECT wr.disable_model_invocation FROM workflow_runs wr WHERE wr.skill_name = skills.name))
WHERE skill_source = 'skill-builder';

UPDATE skills
SET
    version = COALESCE(skills.version, (
        SELECT imp.version FROM imported_skills imp WHERE imp.skill_name = skills.name)),
    model = COALESCE(skills.model, (
        SELECT imp.model FROM imported_skills imp WHERE imp.skill_name = skills.name)),
    argument_hint = COALESCE(skills.argument_hint, (
        SELECT imp.argument_hint FROM imported_skills imp WHERE imp.skill_name = skills.name)),
    user_invocable = COALESCE(skills.user_invocable, (
        SELECT imp.user_invocable FROM imported_skills imp WHERE imp.skill_name = skills.name)),
    disable_model_invocation = COALESCE(skills.disable_model_invocation, (
        SELECT imp.disable_model_invocation FROM imported_skills imp WHERE imp.skill_name = skills.name))
WHERE skill_source IN ('marketplace', 'imported');
