-- Step 8: agent stats.
-- agent_runs gains num_turns, tool_use_count, compaction_count
-- (INTEGER DEFAULT 0), stop_reason (TEXT) and duration_api_ms (INTEGER).

ALTER TABLE agent_runs ADD COLUMN num_turns INTEGER DEFAULT 0;
ALTER TABLE agent_runs ADD COLUMN stop_reason TEXT;
ALTER TABLE agent_runs ADD COLUMN duration_api_ms INTEGER;
ALTER TABLE agent_runs ADD COLUMN tool_use_count INTEGER DEFAULT 0;
ALTER TABLE agent_runs ADD COLUMN compaction_count INTEGER DEFAULT 0;
