-- Step 13: remove validate step.
-- Deletes workflow_steps rows with step_id >= 6 (the validate step and beyond);
-- runs whose current_step is 6 or more go back to step 5, status 'completed'.

DELETE FROM workflow_steps WHERE step_id >= 6;

UPDATE workflow_runs
SET current_step = 5, status = 'completed'
WHERE current_step >= 6;
