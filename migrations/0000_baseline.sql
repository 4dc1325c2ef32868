-- Baseline (version 0): the tables of the very first Skill Builder schema.
-- Runs on every startup before the numbered steps and is never recorded in
-- schema_migrations. Every statement is CREATE TABLE IF NOT EXISTS, so it is a
-- no-op on any existing file and gives a new file the shape that step 1 expects.
-- schema_migrations itself is created by the runner, not here.

CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS workflow_runs (
    skill_name TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    current_step INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    created_at TEXT NOT NULL DEFAULT (datetime('now') || 'Z'),
    updated_at TEXT NOT NULL DEFAULT (datetime('now') || 'Z')
);

CREATE TABLE IF NOT EXISTS workflow_steps (
    skill_name TEXT NOT NULL,
    step_id INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    started_at TEXT,
    completed_at TEXT,
    PRIMARY KEY (skill_name, step_id)
);

CREATE TABLE IF NOT EXISTS agent_runs (
    agent_id TEXT PRIMARY KEY,
    skill_name TEXT NOT NULL,
    step_id INTEGER NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'running',
    input_tokens INTEGER,
    output_tokens INTEGER,
    total_cost REAL,
    session_id TEXT,
    started_at TEXT NOT NULL DEFAULT (datetime('now') || 'Z'),
    completed_at TEXT
);

CREATE TABLE IF NOT EXISTS workflow_artifacts (
    skill_name TEXT NOT NULL,
    step_id INTEGER NOT NULL,
    relative_path TEXT NOT NULL,
    content TEXT NOT NULL,
    size_bytes INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT (datetime('now') || 'Z'),
    updated_at TEXT NOT NULL DEFAULT (datetime('now') || 'Z'),
    PRIMARY KEY (skill_name, step_id, relative_path)
);

CREATE TABLE IF NOT EXISTS skill_tags (
    skill_name TEXT NOT NULL,
    tag TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now') || 'Z'),
    PRIMARY KEY (skill_name, tag)
);

CREATE TABLE IF NOT EXISTS imported_skills (
    skill_id TEXT PRIMARY KEY,
    skill_name TEXT UNIQUE NOT NULL,
    domain TEXT,
    description TEXT,
    is_active INTEGER DEFAULT 1,
    disk_path TEXT NOT NULL,
    imported_at TEXT DEFAULT (datetime('now') || 'Z')
);

CREATE TABLE IF NOT EXISTS skills (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    skill_source TEXT NOT NULL CHECK(skill_source IN ('skill-builder', 'marketplace', 'imported')),
    domain       TEXT,
    skill_type   TEXT,
    created_at   TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at   TEXT NOT NULL DEFAULT (datetime('now'))
);
