//! Per-organization routing rules and acknowledgment texts, as stored (JSON, validated on write)
//! or the defaults that ship with the code. Compiled rule sets are cached by their stored text,
//! so a change through any instance is picked up at the next message without a restart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use domain::acknowledgment::AcknowledgmentTexts;
use domain::routing::{RuleSet, RuleSetError, ValidatedRuleSet};

use crate::error::ApiError;

pub struct RulesCache {
    defaults: Arc<ValidatedRuleSet>,
    compiled: Mutex<HashMap<String, (String, Arc<ValidatedRuleSet>)>>,
}

impl RulesCache {
    pub fn new() -> Result<Self, RuleSetError> {
        Ok(Self {
            defaults: Arc::new(RuleSet::default_rules().validate()?),
            compiled: Mutex::new(HashMap::new()),
        })
    }

    /// The organization's rules, given what its row stores.
    pub fn resolve(
        &self,
        organization_id: &str,
        stored: Option<&str>,
    ) -> Result<Arc<ValidatedRuleSet>, ApiError> {
        let Some(source) = stored else {
            return Ok(self.defaults.clone());
        };
        let mut compiled = self
            .compiled
            .lock()
            .map_err(|_| ApiError::internal("routing rules cache poisoned"))?;
        if let Some((cached_source, rules)) = compiled.get(organization_id) {
            if cached_source == source {
                return Ok(rules.clone());
            }
        }
        let rules: RuleSet = serde_json::from_str(source).map_err(|error| {
            ApiError::internal(format!("stored routing rules do not parse: {error}"))
        })?;
        let rules = Arc::new(rules.validate().map_err(|error| {
            ApiError::internal(format!("stored routing rules are invalid: {error}"))
        })?);
        compiled.insert(
            organization_id.to_owned(),
            (source.to_owned(), rules.clone()),
        );
        Ok(rules)
    }
}

/// The organization's acknowledgment texts, given what its row stores.
pub fn acknowledgment_texts(stored: Option<&str>) -> Result<AcknowledgmentTexts, ApiError> {
    match stored {
        None => Ok(AcknowledgmentTexts::default()),
        Some(source) => serde_json::from_str(source).map_err(|error| {
            ApiError::internal(format!("stored acknowledgment texts do not parse: {error}"))
        }),
    }
}
