//! The one error type of the API and its one mapping to RFC 9457 `application/problem+json`.
//! Every 4xx/5xx the server produces goes through here: handler errors, actix's extractor errors
//! (via the configs in [`extractor_configs`]), unknown routes and methods ([`fallback`]) and any
//! bare error response a middleware makes ([`problem_for_bare_errors`]).

use std::fmt;

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{error::JsonPayloadError, web, HttpRequest, HttpResponse, ResponseError};
use persistence::StoreError;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";
const PROBLEM_TYPE_BASE: &str = "https://inbox.xrhealth.example/problems/";

/// Seconds a client should wait before retrying when the database is unreachable.
const UNAVAILABLE_RETRY_AFTER_SECONDS: u32 = 5;

/// The kinds of failure a client can tell apart: each has its own status and a stable `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    InvalidRequest,
    ValidationFailed,
    Unauthorized,
    InvalidCredentials,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    ConversationClaimed,
    ConversationClosed,
    IdempotencyKeyReused,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    Internal,
    Unavailable,
}

impl ProblemKind {
    pub fn status(self) -> StatusCode {
        match self {
            ProblemKind::InvalidRequest => StatusCode::BAD_REQUEST,
            ProblemKind::ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::Unauthorized | ProblemKind::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ProblemKind::Forbidden => StatusCode::FORBIDDEN,
            ProblemKind::NotFound => StatusCode::NOT_FOUND,
            ProblemKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemKind::Conflict
            | ProblemKind::ConversationClaimed
            | ProblemKind::ConversationClosed
            | ProblemKind::IdempotencyKeyReused => StatusCode::CONFLICT,
            ProblemKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ProblemKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ProblemKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The machine-readable code clients switch on.
    pub fn code(self) -> &'static str {
        match self {
            ProblemKind::InvalidRequest => "invalid_request",
            ProblemKind::ValidationFailed => "validation_failed",
            ProblemKind::Unauthorized => "unauthorized",
            ProblemKind::InvalidCredentials => "invalid_credentials",
            ProblemKind::Forbidden => "forbidden",
            ProblemKind::NotFound => "not_found",
            ProblemKind::MethodNotAllowed => "method_not_allowed",
            ProblemKind::Conflict => "conflict",
            ProblemKind::ConversationClaimed => "conversation_claimed",
            ProblemKind::ConversationClosed => "conversation_closed",
            ProblemKind::IdempotencyKeyReused => "idempotency_key_reused",
            ProblemKind::PayloadTooLarge => "payload_too_large",
            ProblemKind::UnsupportedMediaType => "unsupported_media_type",
            ProblemKind::RateLimited => "rate_limited",
            ProblemKind::Internal => "internal_error",
            ProblemKind::Unavailable => "service_unavailable",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ProblemKind::InvalidRequest => "The request is malformed",
            ProblemKind::ValidationFailed => "The request has invalid values",
            ProblemKind::Unauthorized => "Authentication is required",
            ProblemKind::InvalidCredentials => "The email or password is wrong",
            ProblemKind::Forbidden => "This action is not allowed for the caller",
            ProblemKind::NotFound => "Not found",
            ProblemKind::MethodNotAllowed => "Method not allowed",
            ProblemKind::Conflict => "The request conflicts with the current state",
            ProblemKind::ConversationClaimed => "The conversation is claimed by a colleague",
            ProblemKind::ConversationClosed => "The conversation is closed",
            ProblemKind::IdempotencyKeyReused => {
                "The client_message_id was used for another message"
            }
            ProblemKind::PayloadTooLarge => "The request body is too large",
            ProblemKind::UnsupportedMediaType => "Unsupported media type",
            ProblemKind::RateLimited => "Too many requests",
            ProblemKind::Internal => "Internal server error",
            ProblemKind::Unavailable => "The service is temporarily unavailable",
        }
    }

    fn from_status(status: StatusCode) -> ProblemKind {
        match status {
            StatusCode::BAD_REQUEST => ProblemKind::InvalidRequest,
            StatusCode::UNAUTHORIZED => ProblemKind::Unauthorized,
            StatusCode::FORBIDDEN => ProblemKind::Forbidden,
            StatusCode::NOT_FOUND => ProblemKind::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ProblemKind::MethodNotAllowed,
            StatusCode::CONFLICT => ProblemKind::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => ProblemKind::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ProblemKind::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => ProblemKind::ValidationFailed,
            StatusCode::TOO_MANY_REQUESTS => ProblemKind::RateLimited,
            StatusCode::SERVICE_UNAVAILABLE => ProblemKind::Unavailable,
            status if status.is_client_error() => ProblemKind::InvalidRequest,
            _ => ProblemKind::Internal,
        }
    }
}

/// An RFC 9457 problem document as it goes over the wire.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "https://inbox.xrhealth.example/problems/conversation-claimed",
    "title": "The conversation is claimed by a colleague",
    "status": 409,
    "detail": "Dr. Dana Rivera is answering this conversation.",
    "code": "conversation_claimed",
    "claimed_by": {"id": "0193a7b0-0000-7000-8000-000000000001", "display_name": "Dr. Dana Rivera"}
}))]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    #[schema(format = "uri")]
    pub problem_type: String,
    /// The kind of problem, for people; the same for every occurrence of a `code`.
    pub title: String,
    /// The HTTP status, repeated.
    pub status: u16,
    /// What went wrong in this occurrence, for people.
    pub detail: String,
    /// Stable machine-readable code to switch on: `invalid_request`, `validation_failed`,
    /// `unauthorized`, `invalid_credentials`, `forbidden`, `not_found`, `method_not_allowed`,
    /// `conflict`, `conversation_claimed`, `conversation_closed`, `idempotency_key_reused`,
    /// `payload_too_large`, `unsupported_media_type`, `rate_limited`, `internal_error`,
    /// `service_unavailable`. New codes may be added.
    pub code: String,
    /// Extra members of some problems, e.g. `claimed_by` or `errors`.
    #[serde(flatten)]
    #[schema(additional_properties)]
    pub extra: Map<String, Value>,
}

/// An error the API answers with. Internal causes are logged, never sent.
#[derive(Debug, Clone)]
pub struct ApiError {
    kind: ProblemKind,
    detail: String,
    extra: Map<String, Value>,
    headers: Vec<(header::HeaderName, HeaderValue)>,
    /// The cause of a 5xx, for the log only.
    internal: Option<String>,
}

impl ApiError {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            extra: Map::new(),
            headers: Vec::new(),
            internal: None,
        }
    }

    pub fn kind(&self) -> ProblemKind {
        self.kind
    }

    pub fn invalid_request(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::InvalidRequest, detail)
    }

    pub fn validation(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::ValidationFailed, detail)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            ProblemKind::NotFound,
            format!("No {what} with that id is visible to you."),
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Forbidden, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Unauthorized, detail).with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        )
    }

    pub fn internal(cause: impl fmt::Display) -> Self {
        let mut error = Self::new(
            ProblemKind::Internal,
            "The server failed to handle the request.",
        );
        error.internal = Some(cause.to_string());
        error
    }

    /// 503 `service_unavailable`: the server cannot take the request now; `Retry-After` says
    /// in how many seconds to try again, as the spec promises of every 503.
    pub fn retry_later(detail: impl Into<String>, seconds: u32) -> Self {
        Self::new(ProblemKind::Unavailable, detail)
            .with_header(header::RETRY_AFTER, HeaderValue::from(seconds))
    }

    /// The database cannot be reached (the pool has no connection for it, or it dropped one).
    pub fn unavailable(cause: impl fmt::Display) -> Self {
        let mut error = Self::retry_later(
            "The database cannot be reached right now; retry shortly.",
            UNAVAILABLE_RETRY_AFTER_SECONDS,
        );
        error.internal = Some(cause.to_string());
        error
    }

    /// Adds a member to the problem document (e.g. `claimed_by`).
    pub fn with(mut self, member: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.extra.insert(member.to_owned(), value);
        self
    }

    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    fn problem(&self) -> Problem {
        Problem {
            problem_type: format!("{PROBLEM_TYPE_BASE}{}", self.kind.code().replace('_', "-")),
            title: self.kind.title().to_owned(),
            status: self.kind.status().as_u16(),
            detail: self.detail.clone(),
            code: self.kind.code().to_owned(),
            extra: self.extra.clone(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.kind.status()
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        if let Some(cause) = &self.internal {
            tracing::error!(code = self.kind.code(), cause = %cause, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(PROBLEM_JSON);
        for (name, value) in &self.headers {
            response.insert_header((name.clone(), value.clone()));
        }
        response.json(self.problem())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::new(ProblemKind::NotFound, "Not found."),
            StoreError::Conflict(constraint) => ApiError::new(
                ProblemKind::Conflict,
                format!("The value conflicts with an existing record ({constraint})."),
            ),
            StoreError::Unavailable(cause) => ApiError::unavailable(cause),
            other => ApiError::internal(other),
        }
    }
}

impl From<persistence::DieselError> for ApiError {
    fn from(error: persistence::DieselError) -> Self {
        StoreError::from(error).into()
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        ApiError::internal(error)
    }
}

fn json_error(error: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let api_error = match &error {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            ProblemKind::PayloadTooLarge,
            format!("The JSON body is larger than the limit of {limit} bytes."),
        ),
        JsonPayloadError::ContentType => ApiError::new(
            ProblemKind::UnsupportedMediaType,
            "The body must be JSON with Content-Type: application/json.",
        ),
        JsonPayloadError::Deserialize(cause) if cause.is_data() => ApiError::validation(format!(
            "The JSON body does not fit this operation: {cause}"
        )),
        JsonPayloadError::Deserialize(cause) => {
            ApiError::invalid_request(format!("The body is not valid JSON: {cause}"))
        }
        other => ApiError::invalid_request(format!("The body could not be read: {other}")),
    };
    api_error.into()
}

/// The largest JSON body any operation accepts; messages are capped far below it.
pub const JSON_BODY_LIMIT: usize = 64 * 1024;

/// Extractor configurations that turn actix's own errors into problem documents.
pub fn extractor_configs() -> (web::JsonConfig, web::PathConfig, web::QueryConfig) {
    let json = web::JsonConfig::default()
        .limit(JSON_BODY_LIMIT)
        .error_handler(json_error);
    let path = web::PathConfig::default().error_handler(|error, _| {
        ApiError::new(
            ProblemKind::NotFound,
            format!("The path is not valid: {error}"),
        )
        .into()
    });
    let query = web::QueryConfig::default().error_handler(|error, _| {
        ApiError::invalid_request(format!("The query string is not valid: {error}")).into()
    });
    (json, path, query)
}

/// Wraps any error response that is not yet a problem document (actix's own 404/405/413,
/// a middleware's error) into one, so no response escapes the error format.
pub fn problem_for_bare_errors<B>(
    response: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let already_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if already_problem {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    let kind = ProblemKind::from_status(response.status());
    let (request, _) = response.into_parts();
    let problem = ApiError::new(kind, kind.title().to_owned() + ".").error_response();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(request, problem).map_into_right_body(),
    ))
}
