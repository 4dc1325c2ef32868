-- Step 21: workspace skills.
-- Creates workspace_skills (skills deployed to the workspace; no FK to skills)
-- and moves into it the imported_skills rows that are skill-builder skills or
-- bundled: insert-or-ignore in storage order, then delete them from imported_skills.

CREATE TABLE IF NOT EXISTS workspace_skills (
    skill_id     TEXT PRIMARY KEY,
    skill_name   TEXT UNIQUE NOT NULL,
    domain       TEXT,
    description  TEXT,
    is_active    INTEGER NOT NULL DEFAULT 1,
    is_bundled   INTEGER NOT NULL DEFAULT 0,
    disk_path    TEXT NOT NULL,
    imported_at  TEXT NOT NULL DEFAULT (datetime('now') || 'Z'),
    skill_type   TEXT,
    version      TEXT,
    model        TEXT,
    argument_hint TEXT,
    user_invocable INTEGER,
    disable_model_invocation INTEGER
);

INSERT OR IGNORE INTO workspace_skills (
    skill_id, skill_name, domain, is_active, is_bundled,
    disk_path, imported_at, skill_type, version, model,
    argument_hint, user_invocable, disable_model_invocation
)
SELECT
    skill_id, skill_name, domain, is_active, is_bundled,
    disk_path, imported_at, skill_type, version, model,
    argument_hint, user_invocable, disable_model_invocation
FROM imported_skills
WHERE skill_type = 'skill-builder' OR is_bundled = 1
ORDER BY rowid;

DELETE FROM imported_skills WHERE skill_type = 'skill-builder' OR is_bundled = 1;
