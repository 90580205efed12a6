DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
DROP TABLE read_markers;
DROP TABLE inbox_events;
