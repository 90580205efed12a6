//! Prometheus metrics without patient data: requests by route template and status, latency,
//! database pool use, routing decisions by team and category, urgent messages.

use std::sync::OnceLock;

use actix_web::{get, web, HttpResponse};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The process-wide recorder; installed once, however many servers a process starts (tests).
fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&LATENCY_BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

/// Installs the recorder at start-up so the first requests are counted.
pub fn init() {
    let _ = handle();
}

pub fn record_request(method: &str, route: &str, status: u16, seconds: f64) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!("inbox_http_requests_total", &labels).increment(1);
    metrics::histogram!(
        "inbox_http_request_duration_seconds",
        "method" => method.to_owned(),
        "route" => route.to_owned()
    )
    .record(seconds);
}

pub fn record_routing(decision: &domain::routing::RoutingDecision) {
    metrics::counter!(
        "inbox_routing_decisions_total",
        "team" => decision.team.as_str(),
        "category" => decision.category.as_str()
    )
    .increment(1);
    if decision.urgent {
        metrics::counter!("inbox_urgent_messages_total").increment(1);
    }
}

/// Metrics.
///
/// Prometheus text exposition: requests by route template and status, latency, database pool
/// use, routing decisions by team and category, urgent messages. No patient data; no token, so
/// keep it off the public network.
#[utoipa::path(
    tag = "health",
    operation_id = "getMetrics",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"))
)]
#[get("/metrics")]
pub async fn metrics_endpoint(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.state();
    metrics::gauge!("inbox_db_pool_connections").set(f64::from(pool.connections));
    metrics::gauge!("inbox_db_pool_idle_connections").set(f64::from(pool.idle_connections));
    let body = handle().map(PrometheusHandle::render).unwrap_or_default();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}

pub fn configure(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config.service(metrics_endpoint);
}
