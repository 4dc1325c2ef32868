-- Step 28: purpose, drop domain.
-- Rebuilds four tables (SQLite table-rebuild procedure; the runner has foreign
-- key enforcement off, so dropping a parent table touches no child row):
--   skills:           domain dropped, skill_type renamed purpose
--   workflow_runs:    domain dropped, skill_type renamed purpose TEXT DEFAULT 'domain'
--   imported_skills:  domain dropped, skill_type renamed purpose,
--                     imported_at gets DEFAULT (datetime('now') || 'Z')
--   workspace_skills: domain dropped; purpose = existing purpose, else skill_type
-- Ids and every other value are kept. For the two AUTOINCREMENT tables the
-- sqlite_sequence high-water mark of the old table is carried over, so ids of
-- deleted rows are not handed out again.

-- skills ---------------------------------------------------------------------

CREATE TABLE new_skills (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    skill_source TEXT NOT NULL CHECK(skill_source IN ('skill-builder', 'marketplace', 'imported')),
    purpose      TEXT,
    created_at   TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at   TEXT NOT NULL DEFAULT (datetime('now')),
    description  TEXT,
    version      TEXT,
    model        TEXT,
    argument_hint TEXT,
    user_invocable INTEGER,
    disable_model_invocation INTEGER
);

INSERT INTO new_skills (
    id, name, skill_source, purpose, created_at, updated_at,
    description, version, model, argument_hint, user_invocable, disable_model_invocation
)
SELECT
    id, name, skill_source, skill_type, created_at, updated_at,
    description, version, model, argument_hint, user_invocable, disable_model_invocation
FROM skills
ORDER BY rowid;

DELETE FROM sqlite_sequence WHERE name = 'new_skills';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'new_skills', m FROM (
    SELECT MAX(v) AS m FROM (
        SELECT seq AS v FROM sqlite_sequence WHERE name = 'skills'
        UNION ALL
        SELECT MAX(id) AS v FROM new_skills
    )
)
WHERE m IS NOT NULL;

DROP TABLE skills;

ALTER TABLE new_skills RENAME TO skills;

-- workflow_runs --------------------------------------------------------------

CREATE TABLE new_workflow_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    skill_name  TEXT UNIQUE NOT NULL,
    current_step INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL DEFAULT 'pending',
    purpose     TEXT DEFAULT 'domain',
    created_at  TEXT NOT NULL DEFAULT (datetime('now') || 'Z'),
    updated_at  TEXT NOT NULL DEFAULT (datetime('now') || 'Z'),
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
    id, skill_name, current_step, status, purpose, created_at, updated_at,
    source, description, version, model, argument_hint,
    user_invocable, disable_model_invocation,
    author_login, author_avatar, display_name, intake_json, skill_id
)
SELECT
    id, skill_name, current_step, status, skill_type, created_at, updated_at,
    source, description, version, model, argument_hint,
    user_invocable, disable_model_invocation,
    author_login, author_avatar, display_name, intake_json, skill_id
FROM workflow_runs
ORDER BY rowid;

DELETE FROM sqlite_sequence WHERE name = 'new_workflow_runs';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'new_workflow_runs', m FROM (
    SELECT MAX(v) AS m FROM (
        SELECT seq AS v FROM sqlite_sequence WHERE name = 'workflow_runs'
        UNION ALL
        SELECT MAX(id) AS v FROM new_workflow_runs
    )
)
WHERE m IS NOT NULL;

DROP TABLE workflow_runs;

ALTER TABLE new_workflow_runs RENAME TO workflow_runs;

-- imported_skills ------------------------------------------------------------

CREATE TABLE new_imported_skills (
    skill_id TEXT PRIMARY KEY,
    skill_name TEXT NOT NULL UNIQUE,
    is_active INTEGER NOT NULL DEFAULT 1,
    disk_path TEXT NOT NULL,
    imported_at TEXT NOT NULL DEFAULT (datetime('now') || 'Z'),
    is_bundled INTEGER NOT NULL DEFAULT 0,
    purpose TEXT,
    version TEXT,
    model TEXT,
    argument_hint TEXT,
    user_invocable INTEGER,
    disable_model_invocation INTEGER,
    skill_master_id INTEGER REFERENCES skills(id),
    content_hash TEXT
);

INSERT INTO new_imported_skills (
    skill_id, skill_name, is_active, disk_path, imported_at, is_bundled,
    purpose, version, model, argument_hint, user_invocable, disable_model_invocation,
    skill_master_id, content_hash
)
SELECT
    skill_id, skill_name, is_active, disk_path, imported_at, is_bundled,
    skill_type, version, model, argument_hint, user_invocable, disable_model_invocation,
    skill_master_id, content_hash
FROM imported_skills
ORDER BY rowid;

DROP TABLE imported_skills;

ALTER TABLE new_imported_skills RENAME TO imported_skills;

-- workspace_skills -----------------------------------------------------------

CREATE TABLE new_workspace_skills (
    skill_id     TEXT PRIMARY KEY,
    skill_name   TEXT UNIQUE NOT NULL,
    description  TEXT,
    is_active    INTEGER NOT NULL DEFAULT 1,
    is_bundled   INTEGER NOT NULL DEFAULT 0,
    disk_path    TEXT NOT NULL,
    imported_at  TEXT NOT NULL DEFAULT (datetime('now') || 'Z'),
    purpose      TEXT,
    version      TEXT,
    model        TEXT,
    argument_hint TEXT,
    user_invocable INTEGER,
    disable_model_invocation INTEGER,
    content_hash TEXT
);

INSERT INTO new_workspace_skills (
    skill_id, skill_name, description, is_active, is_bundled, disk_path, imported_at,
    purpose, version, model, argument_hint, user_invocable, disable_model_invocation,
    content_hash
)
SELECT
    skill_id, skill_name, description, is_active, is_bundled, disk_path, imported_at,
    COALESCE(purpose, skill_type), version, model, argument_hint, user_invocable, disable_model_invocation,
    content_hash
FROM workspace_skills
ORDER BY rowid;

DROP TABLE workspace_skills;

ALTER TABLE new_workspace_skills RENAME TO workspace_skills;
