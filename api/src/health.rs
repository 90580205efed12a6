//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct HealthStatus {
    pub status: String,
}

/// The process is up.
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

/// The database answers: the instance can take traffic.
#[utoipa::path(
    tag = "health",
    operation_id = "getReadiness",
    responses(
        (status = 200, description = "Ready", body = HealthStatus),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
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
