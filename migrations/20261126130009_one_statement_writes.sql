-- Step 31: one-statement writes for the two multi-table saves of the workflow screen.
-- Each is a view that holds no rows plus an INSTEAD OF INSERT trigger doing the
-- work, so `INSERT INTO <view> VALUES (...)` is ONE statement: atomic on its own
-- (any failure undoes all of it), it takes the write lock when it starts (the busy
-- timeout applies), and it costs one round trip to the connection's worker thread
-- instead of a BEGIN, two or three statements and a COMMIT (see BENCHMARKS.md).
-- The Rust functions that use them are the only writers: workflow_runs::
-- save_workflow_run and tags::set_skill_tags, which document the behaviour.
-- Views and triggers change no table, column or existing row.

-- save_workflow_run: upsert the master row (source `skill-builder`; an existing
-- row keeps its source and gets purpose and updated_at), then upsert the run row
-- (an existing one gets current_step, status, purpose, skill_id and updated_at;
-- created_at, author, display name, intake and frontmatter are kept).
CREATE VIEW workflow_run_saves AS
SELECT NULL AS skill_name, NULL AS current_step, NULL AS status, NULL AS purpose
WHERE 0;

CREATE TRIGGER workflow_run_saves_insert INSTEAD OF INSERT ON workflow_run_saves
BEGIN
    INSERT INTO skills (name, skill_source, purpose)
    VALUES (NEW.skill_name, 'skill-builder', NEW.purpose)
    ON CONFLICT (name) DO UPDATE SET
        purpose = excluded.purpose,
        updated_at = datetime('now');
    INSERT INTO workflow_runs (skill_name, current_step, status, purpose, skill_id)
    VALUES (NEW.skill_name, NEW.current_step, NEW.status, NEW.purpose,
            (SELECT id FROM skills WHERE name = NEW.skill_name))
    ON CONFLICT (skill_name) DO UPDATE SET
        current_step = excluded.current_step,
        status = excluded.status,
        purpose = excluded.purpose,
        skill_id = excluded.skill_id,
        updated_at = datetime('now') || 'Z';
END;

-- set_skill_tags: replace every tag of a skill (rows linked to the master row or
-- carrying its name) by the JSON array of tags given. A name without a master row
-- aborts the statement with the message below, which the Rust side maps to
-- NotFound; nothing changes then.
CREATE VIEW skill_tag_sets AS
SELECT NULL AS skill_name, NULL AS tags_json
WHERE 0;

CREATE TRIGGER skill_tag_sets_insert INSTEAD OF INSERT ON skill_tag_sets
BEGIN
    SELECT RAISE(ABORT, 'skill-builder: no skill with this name')
    WHERE NOT EXISTS (SELECT 1 FROM skills WHERE name = NEW.skill_name);
    DELETE FROM skill_tags
    WHERE skill_id = (SELECT id FROM skills WHERE name = NEW.skill_name)
       OR skill_name = NEW.skill_name;
    INSERT OR IGNORE INTO skill_tags (skill_name, tag, skill_id)
    SELECT NEW.skill_name, j.value, s.id
    FROM skills AS s, json_each(NEW.tags_json) AS j
    WHERE s.name = NEW.skill_name;
END;
