DROP INDEX CONCURRENTLY IF EXISTS conversations_my_clinic_idx;
