-- Its one reader, the release of a departing colleague's claims, reads conversations_claims_idx
-- since migration 18.
-- CONCURRENTLY (hence metadata.toml), so that dropping it does not hold up patients' sends.
DROP INDEX CONCURRENTLY IF EXISTS conversations_claimed_tab_idx;
