-- Step 10: composite key.
-- Rebuilds agent_runs with agent_id TEXT NOT NULL and PRIMARY KEY (agent_id, model)
-- (a sub-agent on another model gets its own row); every other column is kept
-- as it is and every row is copied. SQLite table-rebuild procedure: create the
-- new table, copy in storage order, drop the old one, rename.

CREATE TABLE new_agent_runs (
    agent_id TEXT NOT NULL,
    skill_name TEXT NOT NULL,
    step_id INTEGER NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'running',
    input_tokens INTEGER,
    output_tokens INTEGER,
    total_cost REAL,
    session_id TEXT,
    started_at TEXT NOT NULL DEFAULT (datetime('now') || 'Z'),
    completed_at TEXT,
    cache_read_tokens INTEGER DEFAULT 0,
    cache_write_tokens INTEGER DEFAULT 0,
    duration_ms INTEGER,
    reset_marker TEXT,
    workflow_session_id TEXT,
    num_turns INTEGER DEFAULT 0,
    stop_reason TEXT,
    duration_api_ms INTEGER,
    tool_use_count INTEGER DEFAULT 0,
    compaction_count INTEGER DEFAULT 0,
    PRIMARY KEY (agent_id, model)
);

INSERT INTO new_agent_runs (
    agent_id, skill_name, step_id, model, status,
    input_tokens, output_tokens, total_cost, session_id,
    started_at, completed_at,
    cache_read_tokens, cache_write_tokens, duration_ms, reset_marker,
    workflow_session_id,
    num_turns, stop_reason, duration_api_ms, tool_use_count, compaction_count
)
SELECT
    agent_id, skill_name, step_id, model, status,
    input_tokens, output_tokens, total_cost, session_id,
    started_at, completed_at,
    cache_read_tokens, cache_write_tokens, duration_ms, reset_marker,
    workflow_session_id,
    num_turns, stop_reason, duration_api_ms, tool_use_count, compaction_count
FROM agent_runs
ORDER BY rowid;

DROP TABLE agent_runs;

ALTER TABLE new_agent_runs RENAME TO agent_runs;
