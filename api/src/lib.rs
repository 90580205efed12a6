//! HTTP API of the messages inbox: actix-web handlers, JWT auth, problem+json errors and the
//! OpenAPI document. Handlers stay thin: they parse, call `domain` and `persistence`, and answer.

pub mod auth;
pub mod config;
pub mod demo;
pub mod error;
pub mod fallback;
pub mod health;
pub mod openapi;
pub mod startup;
pub mod state;
pub mod telemetry;
