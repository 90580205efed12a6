DROP INDEX CONCURRENTLY IF EXISTS conversations_claims_idx;
