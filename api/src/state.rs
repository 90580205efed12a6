//! Shared state of the handlers, and the one way they reach the database: on the blocking pool,
//! never on actix's async workers.

use std::sync::Arc;

use actix_web::web;
use persistence::{DbConnection, Pool, StoreError};

use crate::auth::tokens::TokenKeys;
use crate::error::ApiError;
use crate::organization_settings::RulesCache;

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub keys: Arc<TokenKeys>,
    pub rules: Arc<RulesCache>,
}

impl AppState {
    /// Runs blocking database work with a pooled connection.
    pub async fn db<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get().map_err(StoreError::from)?;
            work(&mut conn)
        })
        .await?
    }
}
