//! HTTP API of the messages inbox: actix-web handlers, JWT auth, problem+json errors and the
//! OpenAPI document. Handlers stay thin: they parse, call `domain` and `persistence`, and answer.

pub mod audit;
pub mod auth;
pub mod batches;
pub mod config;
pub mod conversation_actions;
pub mod conversation_errors;
pub mod demo;
pub mod directory;
pub mod error;
pub mod fallback;
pub mod handoff;
pub mod health;
pub mod inbox;
pub mod json_body;
pub mod limits;
pub mod live;
pub mod metrics;
pub mod openapi;
pub mod organization_settings;
pub mod pagination;
pub mod patient_app;
pub mod read_markers;
pub mod routing_rules;
pub mod send_queue;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod summarizer;
pub mod telemetry;
pub mod views;
pub mod webhooks;
