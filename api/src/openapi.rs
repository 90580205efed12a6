//! The published OpenAPI document. Paths are collected from the handlers registered in
//! [`crate::startup::configure_routes`]; this module adds what is document-wide: the bearer
//! scheme, and the problem responses every operation of a kind can give (401 when it needs a
//! token, 400/413/415/422 when it reads a JSON body, 500/503 when it reaches the database), so
//! annotations list only what is particular to them and none can forget the common ones.

use std::collections::BTreeMap;

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ArrayItems, Schema};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, Type};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::error::PROBLEM_JSON;
use crate::startup::configure_routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Messages inbox API",
        description = "JSON REST API behind the MyXRHealth patient app and the Clinician Platform inbox.\n\n\
            Authenticate with `POST /v1/auth/token` and send `Authorization: Bearer <access_token>`; \
            refresh with `POST /v1/auth/refresh` (refresh tokens are single-use). Lists are \
            cursor-paginated (`limit`, `cursor` → `next_cursor`). Patient sends are idempotent with \
            `client_message_id`. Errors are RFC 9457 problem documents \
            (`application/problem+json`) with a stable `code` to switch on; 429 and 503 carry \
            `Retry-After`. Every response carries `x-request-id`.",
        version = "1.0.0",
        license(name = "Proprietary")
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign in, refresh, who am I"),
        (name = "patient app", description = "The MyXRHealth app: a patient's own conversations"),
        (name = "inbox", description = "The staff inbox: tabs, counts, search, a conversation's detail and timeline, starting a conversation"),
        (name = "conversation actions", description = "What staff do to a conversation: claim, release, reply or note, close, reopen"),
        (name = "handoff", description = "Handing a conversation to the other team: a draft summary to review, then the confirmed handoff"),
        (name = "routing", description = "Routing preview, rules and acknowledgment texts"),
        (name = "live", description = "Server-sent events: the live inbox and the app's new messages"),
        (name = "admin", description = "Patients and staff of the organization: search, and administration by admins"),
        (name = "health", description = "Liveness, readiness and metrics"),
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

/// Operations that never reach the database, and so never answer 500 or 503.
const WITHOUT_DATABASE: [&str; 2] = ["getHealth", "getMetrics"];

/// Adds the problem responses an operation gives because of what it is, unless its annotation
/// already describes them more precisely.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let has_path_parameters = path.contains('{');
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                add_common_responses(operation, has_path_parameters);
            }
        }
    }
}

fn add_common_responses(operation: &mut Operation, has_path_parameters: bool) {
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let uses_database = operation
        .operation_id
        .as_deref()
        .is_none_or(|id| !WITHOUT_DATABASE.contains(&id));
    let reads_body = operation.request_body.is_some();
    let responses = &mut operation.responses.responses;
    if reads_body {
        ensure(
            responses,
            400,
            "`invalid_request`: the body is not well-formed JSON",
        );
        ensure(
            responses,
            413,
            "`payload_too_large`: the body is larger than 64 KiB",
        );
        ensure(
            responses,
            415,
            "`unsupported_media_type`: the body is not sent as `application/json`",
        );
        ensure(
            responses,
            422,
            "`validation_failed`: the JSON does not fit the operation (a missing or unknown \
             field, a value of the wrong type) or a value is invalid",
        );
    }
    if has_path_parameters {
        ensure(
            responses,
            404,
            "`not_found`: nothing with that id is visible to the caller (a malformed id included)",
        );
    }
    if secured {
        ensure(
            responses,
            401,
            "`unauthorized`: the access token is missing, malformed, expired or revoked",
        );
        add_header(
            responses,
            401,
            "WWW-Authenticate",
            Type::String,
            "`Bearer error=\"invalid_token\"`",
        );
    }
    if uses_database {
        ensure(
            responses,
            500,
            "`internal_error`: the server failed; quote `x-request-id` when reporting it",
        );
        ensure(
            responses,
            503,
            "`service_unavailable`: the server cannot take the request now (the database cannot be \
             reached, or more work is waiting for it than the server queues); retry after \
             `Retry-After` seconds",
        );
    }
    for status in [429, 503] {
        add_header(
            responses,
            status,
            "Retry-After",
            Type::Integer,
            "Seconds to wait before retrying.",
        );
    }
}

/// A problem response for `status`, unless the operation documents that status itself.
fn ensure(responses: &mut BTreeMap<String, RefOr<Response>>, status: u16, description: &str) {
    responses.entry(status.to_string()).or_insert_with(|| {
        ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
            .into()
    });
}

fn add_header(
    responses: &mut BTreeMap<String, RefOr<Response>>,
    status: u16,
    name: &str,
    schema_type: Type,
    description: &str,
) {
    if let Some(RefOr::T(response)) = responses.get_mut(&status.to_string()) {
        response.headers.entry(name.to_owned()).or_insert_with(|| {
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(schema_type))
                .description(Some(description))
                .build()
        });
    }
}

/// utoipa inlines the type argument of a generic schema (juhaku/utoipa#1586): `Paged_StaffView`
/// would hold its own copy of `StaffView`, and a generated client a duplicate class for it. This
/// points such copies at the component of the argument (`Outer_Argument` names the argument).
struct ReferenceGenericArguments;

impl Modify for ReferenceGenericArguments {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let named = components.schemas.clone();
        for (name, schema) in components.schemas.iter_mut() {
            let argument = name.split_once('_').map(|(_, argument)| argument);
            if let Some((argument, copy)) =
                argument.and_then(|argument| named.get_key_value(argument))
            {
                reference_copies(schema, argument, copy);
            }
        }
    }
}

fn reference_copies(schema: &mut RefOr<Schema>, name: &str, copy: &RefOr<Schema>) {
    if schema == copy {
        *schema = RefOr::Ref(Ref::from_schema_name(name));
        return;
    }
    match schema {
        RefOr::T(Schema::Object(object)) => {
            for property in object.properties.values_mut() {
                reference_copies(property, name, copy);
            }
        }
        RefOr::T(Schema::Array(array)) => {
            if let ArrayItems::RefOrSchema(items) = &mut array.items {
                reference_copies(items, name, copy);
            }
        }
        _ => {}
    }
}

/// The document-wide part, before the handlers' paths are added.
pub fn document_base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The whole document, as served at `/openapi.json` and written by `inbox openapi`.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut openapi) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(document_base())
        .configure(configure_routes)
        .split_for_parts();
    // After the paths are in: `ApiDoc`'s own modifiers run before there are any.
    CommonResponses.modify(&mut openapi);
    ReferenceGenericArguments.modify(&mut openapi);
    OptionalHeadersAreNotNull.modify(&mut openapi);
    openapi
}

/// utoipa documents an `Option<T>` header as nullable, but a header is absent or has a value:
/// there is no `null` on the wire, and clients (and fuzzers) would send the text "null".
struct OptionalHeadersAreNotNull;

impl Modify for OptionalHeadersAreNotNull {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::schema::{Schema, SchemaType, Type};
        use utoipa::openapi::RefOr;
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let headers = operation
                    .parameters
                    .iter_mut()
                    .flatten()
                    .filter(|parameter| parameter.parameter_in == ParameterIn::Header);
                for header in headers {
                    if let Some(RefOr::T(Schema::Object(object))) = header.schema.as_mut() {
                        if let SchemaType::Array(types) = &object.schema_type {
                            let present: Vec<Type> = types
                                .iter()
                                .filter(|ty| **ty != Type::Null)
                                .cloned()
                                .collect();
                            if let [only] = present.as_slice() {
                                object.schema_type = SchemaType::Type(only.clone());
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The document as pretty JSON with a trailing newline, byte for byte what is committed in
/// `openapi/openapi.json`.
pub fn document_json() -> Result<String, serde_json::Error> {
    let mut json = serde_json::to_string_pretty(&document())?;
    json.push('\n');
    Ok(json)
}
