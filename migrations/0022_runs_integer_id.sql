-- Step 22: runs integer id.
-- Rebuilds workflow_runs with id INTEGER PRIMARY KEY AUTOINCREMENT and
-- skill_name TEXT UNIQUE NOT NULL; every other column is kept (a NULL source
-- becomes 'created'). Ids are assigned by the copy, in storage (rowid) order.

CREATE TABLE new_workflow_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    skill_name  TEXT UNIQUE NOT NULL,
    domain      TEXT NOT NULL,
    current_step INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL DEFAULT 'pending',
    created_at  TEXT NOT NULL DEFAULT (datetime('now') || 'Z'),
    updated_at  TEXT NOT NULL DEFAULT (datetime('now') || 'Z'),
    skill_type  TEXT DEFAULT 'domain',
    source      TEXT NOT NULL DEFAULT 'created',
    description TEXT,
    version     TEXT DEFAULT '1.0.0',
    model       TEXT,
    argument_hint TEXT,
    user_invocable INTEGER DEFAULT 1,
    disable_model_invocation INTEGER DEFAULT 0,
    author_login TEXT,
    author_avatar TEXT,
    display_name TEXT,
    intake_json TEXT,
    skill_id    INTEGER REFERENCES skills(id)
);

INSERT INTO new_workflow_runs (
    skill_name, domain, current_step, status, created_at, updated_at,
    skill_type, source, description, version, model, argument_hint,
    user_invocable, disable_model_invocation,
    author_login, author_avatar, display_name, intake_json, skill_id
)
SELECT
    skill_name, domain, current_step, status, created_at, updated_at,
    skill_type, COALESCE(source, 'created'), description, version, model, argument_hint,
    user_invocable, disable_model_invocation,
    author_login, author_avatar, display_name, intake_json, skill_id
FROM workflow_runs
ORDER BY rowid;

DROP TABLE workflow_runs;

ALTER TABLE new_workflow_runs RENAME TO workflow_runs;
