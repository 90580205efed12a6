//! The published OpenAPI document. Paths are collected from the handlers registered in
//! [`crate::startup::configure_routes`]; this module adds what is document-wide.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::startup::configure_routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Messages inbox API",
        description = "JSON REST API behind the MyXRHealth patient app and the Clinician Platform inbox. \
            Errors are RFC 9457 problem documents (`application/problem+json`) with a stable `code`.",
        version = "1.0.0"
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign in, refresh, who am I"),
        (name = "handoff", description = "Handing a conversation to the other team: a draft summary to review, then the confirmed handoff"),
        (name = "health", description = "Liveness and readiness"),
        (name = "patient app", description = "The MyXRHealth app: a patient's own conversations"),
        (name = "routing", description = "Routing preview, rules and acknowledgment texts"),
        (name = "inbox", description = "The staff inbox: tabs, counts, search, a conversation's detail and timeline, starting a conversation"),
        (name = "admin", description = "Patients and staff of the organization: search, and administration by admins"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("Access token from POST /v1/auth/token."))
                    .build(),
            ),
        );
    }
}

/// The document-wide part, before the handlers' paths are added.
pub fn document_base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The whole document, as served at `/openapi.json` and written by `inbox openapi`.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, openapi) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(document_base())
        .configure(configure_routes)
        .split_for_parts();
    openapi
}

/// The document as pretty JSON with a trailing newline, byte for byte what is committed in
/// `openapi/openapi.json`.
pub fn document_json() -> Result<String, serde_json::Error> {
    let mut json = serde_json::to_string_pretty(&document())?;
    json.push('\n');
    Ok(json)
}
