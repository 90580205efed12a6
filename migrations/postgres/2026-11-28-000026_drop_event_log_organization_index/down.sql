CREATE INDEX CONCURRENTLY inbox_events_organization_idx ON inbox_events (organization_id, id);
