-- The assigned tab's second part: open conversations the caller claimed that are assigned to
-- someone else or nobody (the first part lists those assigned to the caller). It was read from
-- conversations_claimed_tab_idx, which holds every claim, and a clinician claims mostly their
-- own patients' conversations: at 1 M messages a page of this part fetched and dropped 54 heap
-- rows, and a search's walk of it 609 of 625 (1.25 ms for `knee`). This index holds the part's
-- rows alone, in the tab's order: the same walk reads the part's 229 rows to keep the 16
-- (0.64 ms).
--
-- The inbox spells the condition as written here (`assigned_to <> claimed_by`, not the caller's
-- id), so that the planner can prove the query within it. PostgreSQL only, as
-- conversations_my_clinic_idx (migration 10) is. conversations_claimed_tab_idx stays: releasing
-- a departing colleague's claims reads every one of them.
--
-- CONCURRENTLY (hence metadata.toml), so that building it does not hold up patients' sends. No
-- IF NOT EXISTS: a build that fails leaves an invalid index of this name, and a second run must
-- stop and say so (drop the invalid one by hand, then migrate again).
CREATE INDEX CONCURRENTLY conversations_claimed_elsewhere_idx
    ON conversations (claimed_by, urgent, last_activity_at, id)
    WHERE status = 'open' AND (assigned_to IS NULL OR assigned_to <> claimed_by);
