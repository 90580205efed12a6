//! Shared state of the handlers, and the one way they reach the database: on the blocking pool,
//! never on actix's async workers.

use std::sync::Arc;

use actix_web::web;
use persistence::{DbConnection, Pool, StoreError};

use crate::audit::ReadAudits;
use crate::auth::tokens::TokenKeys;
use crate::error::ApiError;
use crate::limits::RateLimits;
use crate::live::{EventHub, LiveSettings};
use crate::organization_settings::RulesCache;
use crate::send_queue::SendQueue;
use crate::summarizer::Summarizer;

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub keys: Arc<TokenKeys>,
    pub rules: Arc<RulesCache>,
    /// Drafts handoff summaries (LLM or extractive).
    pub summarizer: Arc<Summarizer>,
    pub limits: Arc<RateLimits>,
    /// Wakes this instance's event streams (see [`crate::live`]).
    pub events: Arc<EventHub>,
    pub live: LiveSettings,
    /// Patients' messages to their conversations, stored in batches.
    pub sends: SendQueue,
    /// Where reads' audit rows are written: in batches on PostgreSQL.
    pub read_audits: ReadAudits,
}

impl AppState {
    /// Runs blocking database work with a pooled connection.
    pub async fn db<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let events = self.events.clone();
        web::block(move || {
            let mut conn = pool.get().map_err(StoreError::from)?;
            // Blocking threads are reused: forget what earlier work on this one appended.
            persistence::live::take_appended();
            let result = work(&mut conn);
            // A rolled-back write announces nothing new, which costs the streams one empty read.
            if persistence::live::take_appended() {
                events.committed(conn.backend());
            }
            result
        })
        .await?
    }
}
