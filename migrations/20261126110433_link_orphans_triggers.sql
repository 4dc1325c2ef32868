-- Step 30: link rows written before their parent existed, inside SQLite.
-- Rows carry both a skill name and an integer link; a row written while its parent
-- row was missing stores a NULL link (existing app, operations.md §14.6). When the
-- parent row is created, these triggers link every such row of that name, in the
-- same statement as the insert (so in the same transaction, and in one round trip
-- to the connection instead of eight separate UPDATEs).
-- Triggers change no table, column or existing row.

CREATE TRIGGER skills_link_orphans AFTER INSERT ON skills
BEGIN
    UPDATE skill_tags SET skill_id = NEW.id
     WHERE skill_name = NEW.name AND skill_id IS NULL;
    UPDATE skill_locks SET skill_id = NEW.id
     WHERE skill_name = NEW.name AND skill_id IS NULL;
    UPDATE workflow_sessions SET skill_id = NEW.id
     WHERE skill_name = NEW.name AND skill_id IS NULL;
    UPDATE imported_skills SET skill_master_id = NEW.id
     WHERE skill_name = NEW.name AND skill_master_id IS NULL;
    UPDATE workflow_runs SET skill_id = NEW.id
     WHERE skill_name = NEW.name AND skill_id IS NULL;
END;

CREATE TRIGGER workflow_runs_link_orphans AFTER INSERT ON workflow_runs
BEGIN
    UPDATE workflow_steps SET workflow_run_id = NEW.id
     WHERE skill_name = NEW.skill_name AND workflow_run_id IS NULL;
    UPDATE workflow_artifacts SET workflow_run_id = NEW.id
     WHERE skill_name = NEW.skill_name AND workflow_run_id IS NULL;
    UPDATE agent_runs SET workflow_run_id = NEW.id
     WHERE skill_name = NEW.skill_name AND workflow_run_id IS NULL;
END;
