-- Step 12: drop trigger/description.
-- Rebuilds imported_skills without trigger_text and description (metadata is
-- read from SKILL.md on disk). is_active and imported_at become NOT NULL,
-- imported_at loses its default. Rows are copied with INSERT OR IGNORE, as the
-- existing app did: a row that violates the new constraints is skipped.

CREATE TABLE new_imported_skills (
    skill_id TEXT PRIMARY KEY,
    skill_name TEXT NOT NULL UNIQUE,
    domain TEXT,
    is_active INTEGER NOT NULL DEFAULT 1,
    disk_path TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    is_bundled INTEGER NOT NULL DEFAULT 0
);

INSERT OR IGNORE INTO new_imported_skills (
    skill_id, skill_name, domain, is_active, disk_path, imported_at, is_bundled
)
SELECT
    skill_id, skill_name, domain, is_active, disk_path, imported_at, is_bundled
FROM imported_skills
ORDER BY rowid;

DROP TABLE imported_skills;

ALTER TABLE new_imported_skills RENAME TO imported_skills;
