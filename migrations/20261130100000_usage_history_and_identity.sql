-- Usage history and skill identity (issue 10). No table is rebuilt; rows change as
-- listed below (the legacy fixtures hold none of them, so their upgraded dumps are
-- unchanged).
--
-- 1. Drop the runtime orphan-linking triggers of step 20261126110433: a master row
--    or workflow run created later no longer adopts NULL-linked rows carrying its
--    name (a re-created skill adopted the deleted one's late writes and history).
-- 2. Link the NULL links of existing rows ONCE, here, to the parent that carries
--    their name now (what those triggers did for new parents): rows written by the
--    existing app before their parent row existed, and its agent runs, which it
--    never linked.
-- 3. Ghost running agent runs: `running` rows whose workflow session is ended, has
--    no row, or is NULL can never finish; they become `shutdown` with
--    `completed_at` = now (the existing app's later step 34 did this for every
--    running row). Running rows of still-open sessions are left to the start-up
--    session reconciliation, which checks whether their process is alive.
-- 4. Every agent run's workflow session gets a row (the existing app's later step
--    31, for all ids, not only `synthetic:` ones): pid 0, skill name of its runs,
--    started at the first run's start, ended at the last completion, linked to the
--    master row by name, reset only when every run of it is reset. So the usage
--    summary and the session list count the same runs as by-model and by-step.
-- 5. At most one active workspace skill per purpose: where several active rows share
--    a non-blank purpose, only the newest (highest rowid: the last inserted) stays
--    active; the others get is_active = 0 (their disk_path is unchanged: folders
--    are moved by the application, not by SQL). Then a partial unique index keeps
--    it so.
-- 6. A trigger makes sure a workflow session row exists for every agent run written
--    with a workflow session id (insert when missing; pid 0, open, linked by name).
--    Not `INSERT OR IGNORE`: inside a trigger the outer statement's conflict policy
--    (the upsert of persist_agent_run) would override the IGNORE.

-- 1 -------------------------------------------------------------------------------

DROP TRIGGER skills_link_orphans;
DROP TRIGGER workflow_runs_link_orphans;

-- 2 -------------------------------------------------------------------------------

UPDATE skill_tags SET skill_id = (SELECT id FROM skills WHERE name = skill_tags.skill_name)
WHERE skill_id IS NULL AND skill_name IN (SELECT name FROM skills);
UPDATE skill_locks SET skill_id = (SELECT id FROM skills WHERE name = skill_locks.skill_name)
WHERE skill_id IS NULL AND skill_name IN (SELECT name FROM skills);
UPDATE workflow_sessions
SET skill_id = (SELECT id FROM skills WHERE name = workflow_sessions.skill_name)
WHERE skill_id IS NULL AND skill_name IN (SELECT name FROM skills);
UPDATE imported_skills
SET skill_master_id = (SELECT id FROM skills WHERE name = imported_skills.skill_name)
WHERE skill_master_id IS NULL AND skill_name IN (SELECT name FROM skills);
UPDATE workflow_runs
SET skill_id = (SELECT id FROM skills WHERE name = workflow_runs.skill_name)
WHERE skill_id IS NULL AND skill_name IN (SELECT name FROM skills);
UPDATE workflow_steps
SET workflow_run_id = (SELECT id FROM workflow_runs WHERE skill_name = workflow_steps.skill_name)
WHERE workflow_run_id IS NULL AND skill_name IN (SELECT skill_name FROM workflow_runs);
UPDATE workflow_artifacts
SET workflow_run_id =
    (SELECT id FROM workflow_runs WHERE skill_name = workflow_artifacts.skill_name)
WHERE workflow_run_id IS NULL AND skill_name IN (SELECT skill_name FROM workflow_runs);
UPDATE agent_runs
SET workflow_run_id = (SELECT id FROM workflow_runs WHERE skill_name = agent_runs.skill_name)
WHERE workflow_run_id IS NULL AND skill_name IN (SELECT skill_name FROM workflow_runs);

-- 3 -------------------------------------------------------------------------------

UPDATE agent_runs
SET status = 'shutdown', completed_at = datetime('now') || 'Z'
WHERE status = 'running'
  AND (workflow_session_id IS NULL
       OR NOT EXISTS (SELECT 1 FROM workflow_sessions ws
                      WHERE ws.session_id = agent_runs.workflow_session_id
                        AND ws.ended_at IS NULL));

-- 4 -------------------------------------------------------------------------------

INSERT INTO workflow_sessions (session_id, skill_name, pid, started_at, ended_at,
                               reset_marker, skill_id)
SELECT g.sid, g.skill_name, 0, g.started_at, g.ended_at, g.reset_marker,
       (SELECT id FROM skills WHERE name = g.skill_name)
FROM (
    SELECT a.workflow_session_id AS sid,
           MIN(a.skill_name) AS skill_name,
           COALESCE(MIN(a.started_at), datetime('now') || 'Z') AS started_at,
           MAX(a.completed_at) AS ended_at,
           CASE WHEN COUNT(a.reset_marker) = COUNT(*) THEN MAX(a.reset_marker) END
               AS reset_marker,
           MIN(a.rowid) AS first_row
    FROM agent_runs a
    WHERE a.workflow_session_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM workflow_sessions ws
                      WHERE ws.session_id = a.workflow_session_id)
    GROUP BY a.workflow_session_id
) AS g
ORDER BY g.first_row;

-- 5 -------------------------------------------------------------------------------

UPDATE workspace_skills SET is_active = 0
WHERE is_active <> 0 AND trim(purpose) <> ''
  AND EXISTS (SELECT 1 FROM workspace_skills AS newer
              WHERE newer.purpose = workspace_skills.purpose
                AND newer.is_active <> 0
                AND newer.rowid > workspace_skills.rowid);

CREATE UNIQUE INDEX workspace_skills_one_active_purpose
ON workspace_skills (purpose) WHERE is_active <> 0 AND trim(purpose) <> '';

-- 6 -------------------------------------------------------------------------------

CREATE TRIGGER agent_runs_ensure_session AFTER INSERT ON agent_runs
WHEN NEW.workflow_session_id IS NOT NULL
BEGIN
    INSERT INTO workflow_sessions (session_id, skill_name, pid, started_at, skill_id)
    SELECT NEW.workflow_session_id, NEW.skill_name, 0,
           COALESCE(NEW.started_at, datetime('now') || 'Z'),
           (SELECT id FROM skills WHERE name = NEW.skill_name)
    WHERE NOT EXISTS (SELECT 1 FROM workflow_sessions
                      WHERE session_id = NEW.workflow_session_id);
END;

CREATE TRIGGER agent_runs_ensure_session_on_update
AFTER UPDATE OF workflow_session_id ON agent_runs
WHEN NEW.workflow_session_id IS NOT NULL
BEGIN
    INSERT INTO workflow_sessions (session_id, skill_name, pid, started_at, skill_id)
    SELECT NEW.workflow_session_id, NEW.skill_name, 0,
           COALESCE(NEW.started_at, datetime('now') || 'Z'),
           (SELECT id FROM skills WHERE name = NEW.skill_name)
    WHERE NOT EXISTS (SELECT 1 FROM workflow_sessions
                      WHERE session_id = NEW.workflow_session_id);
END;
