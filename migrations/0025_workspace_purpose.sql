-- Step 25: workspace purpose.
-- workspace_skills gains purpose TEXT (step 28 fills it from skill_type where NULL).

ALTER TABLE workspace_skills ADD COLUMN purpose TEXT;
