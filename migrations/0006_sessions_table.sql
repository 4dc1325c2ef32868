-- Step 6: sessions table.
-- Creates workflow_sessions: refine/workflow session lifetimes, with the PID
-- used for crash detection.

CREATE TABLE IF NOT EXISTS workflow_sessions (
    session_id TEXT PRIMARY KEY,
    skill_name TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL DEFAULT (datetime('now') || 'Z'),
    ended_at TEXT,
    reset_marker TEXT
);
