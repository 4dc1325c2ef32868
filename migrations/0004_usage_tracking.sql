-- Step 4: usage tracking.
-- agent_runs gains cache_read_tokens, cache_write_tokens (INTEGER DEFAULT 0),
-- duration_ms (INTEGER) and reset_marker (TEXT).

ALTER TABLE agent_runs ADD COLUMN cache_read_tokens INTEGER DEFAULT 0;
ALTER TABLE agent_runs ADD COLUMN cache_write_tokens INTEGER DEFAULT 0;
ALTER TABLE agent_runs ADD COLUMN duration_ms INTEGER;
ALTER TABLE agent_runs ADD COLUMN reset_marker TEXT;
