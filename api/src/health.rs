//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// What a health check found.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct HealthStatus {
    #[schema(value_type = HealthState)]
    pub status: String,
}

/// `ok` from the liveness check, `ready` from the readiness check.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    Ok,
    Ready,
}

/// Liveness.
///
/// The process is up and answers HTTP. No token, no database: for a load balancer's or
/// orchestrator's liveness probe.
#[utoipa::path(
    tag = "health",
    operation_id = "getHealth",
    responses((status = 200, description = "The process is up", body = HealthStatus))
)]
#[get("/healthz")]
pub async fn healthz() -> web::Json<HealthStatus> {
    web::Json(HealthStatus {
        status: "ok".to_owned(),
    })
}

/// Readiness.
///
/// The database answers, so the instance can take traffic; 503 while it does not. No token:
/// for a load balancer's or orchestrator's readiness probe.
#[utoipa::path(
    tag = "health",
    operation_id = "getReadiness",
    responses(
        (status = 200, description = "Ready", body = HealthStatus),
        (status = 503, description = "`service_unavailable`: the database does not answer; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<HealthStatus>, ApiError> {
    state
        .db(|conn| persistence::db::ping(conn).map_err(ApiError::unavailable))
        .await?;
    Ok(web::Json(HealthStatus {
        status: "ready".to_owned(),
    }))
}

pub fn configure(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config.service(healthz).service(readyz);
}
