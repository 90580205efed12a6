-- Replaces conversations_claimed_tab_idx (migration 19 drops it); why, in migration 14. Releasing
-- a departing colleague's claims finds them here, whatever their status.
-- CONCURRENTLY (hence metadata.toml), so that building it does not hold up patients' sends.
CREATE INDEX CONCURRENTLY conversations_claims_idx
    ON conversations (claimed_by)
    WHERE claimed_by IS NOT NULL;
