-- The columns go with migration 21's down; there is nothing to undo here.
SELECT 1;
