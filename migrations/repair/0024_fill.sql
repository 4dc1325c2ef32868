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
