-- The start time (seconds since the Unix epoch) of the process that took a lock or
-- opened a session, recorded beside its pid: a lock or session whose pid now belongs
-- to a process started later was left by a process that died (the OS reused its pid).
-- NULL for rows written by the existing app or before this step: checked by pid alone.
ALTER TABLE skill_locks ADD COLUMN pid_started_at INTEGER;
ALTER TABLE workflow_sessions ADD COLUMN pid_started_at INTEGER;
