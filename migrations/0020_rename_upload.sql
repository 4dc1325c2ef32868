-- Step 20: rename upload.
-- skills with source 'upload' become 'imported'. Non-bundled imported_skills
-- rows whose name has no skills row are orphans and are deleted (part of the
-- contract: the existing app deletes them too).

UPDATE skills SET skill_source = 'imported' WHERE skill_source = 'upload';

DELETE FROM imported_skills
WHERE is_bundled = 0
  AND skill_name NOT IN (SELECT name FROM skills);
