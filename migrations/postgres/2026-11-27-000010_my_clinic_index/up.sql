-- My Clinic (open care-team conversations nobody is assigned to) was read from
-- conversations_team_tab_idx, which holds the assigned ones too: at 1 M messages, 60 % of the
-- care team's open conversations are assigned, so a page of My Clinic fetched and dropped about
-- 1.5 heap rows for every row it listed, and a search's walk of the tab's newest 1,000 rows read
-- 2,554. This index holds My Clinic's rows alone, in the tab's order.
--
-- Measured on copies of the benchmark's freshly seeded 1 M database (BENCHMARKS.md), search
-- alone with 8 clients, alternated twice: 247 and 239 requests/s without it, 260 and 299 with
-- it; patients' sends alone (32 clients) 2,618 and 2,749 without, 2,714 and 2,636 with.
--
-- PostgreSQL only: SQLite uses a partial index only when the query spells the index's condition
-- with the same constants, and the inbox binds its values.
--
-- CONCURRENTLY (hence metadata.toml), so that building it does not hold up patients' sends. No
-- IF NOT EXISTS: a build that fails leaves an invalid index of this name, and a second run must
-- stop and say so (drop the invalid one by hand, then migrate again).
CREATE INDEX CONCURRENTLY conversations_my_clinic_idx
    ON conversations (organization_id, urgent, last_activity_at, id)
    WHERE status = 'open' AND team = 'care_team' AND assigned_to IS NULL;
