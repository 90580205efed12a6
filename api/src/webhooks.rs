//! Urgent-alert webhooks: per organization a URL and a secret; every urgent patient message
//! gets one signed delivery, sent from a transactional outbox by a background worker.

use std::time::Duration;

/// How the outbox worker delivers.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Wait before the first retry; each retry doubles it, up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// Attempts before a delivery is marked failed.
    pub max_attempts: u32,
    /// How often the worker looks for due deliveries.
    pub poll_interval: Duration,
    pub connect_timeout: Duration,
    /// Most time one attempt may take, response included.
    pub request_timeout: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            retry_base: Duration::from_secs(5),
            retry_cap: Duration::from_secs(3600),
            max_attempts: 12,
            poll_interval: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
        }
    }
}
