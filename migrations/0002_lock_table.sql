-- Step 2: lock table.
-- Creates skill_locks: one editor instance (instance_id, pid) per skill.

CREATE TABLE IF NOT EXISTS skill_locks (
    skill_name TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    pid INTEGER NOT NULL,
    acquired_at TEXT NOT NULL DEFAULT (datetime('now') || 'Z')
);
