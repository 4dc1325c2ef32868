-- Step 17: stale running rows.
-- agent_runs rows still in status 'running' were left by crashed sessions:
-- they become 'shutdown', completed now.

UPDATE agent_runs
SET status = 'shutdown', completed_at = datetime('now') || 'Z'
WHERE status = 'running';
