-- Step 16: runs extended.
-- workflow_runs gains the SKILL.md frontmatter fields: description, model,
-- argument_hint (TEXT), version (TEXT DEFAULT '1.0.0'),
-- user_invocable (INTEGER DEFAULT 1), disable_model_invocation (INTEGER DEFAULT 0).

ALTER TABLE workflow_runs ADD COLUMN description TEXT;
ALTER TABLE workflow_runs ADD COLUMN version TEXT DEFAULT '1.0.0';
ALTER TABLE workflow_runs ADD COLUMN model TEXT;
ALTER TABLE workflow_runs ADD COLUMN argument_hint TEXT;
ALTER TABLE workflow_runs ADD COLUMN user_invocable INTEGER DEFAULT 1;
ALTER TABLE workflow_runs ADD COLUMN disable_model_invocation INTEGER DEFAULT 0;
