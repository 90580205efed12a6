//! Sign-in: password login, refresh-token rotation, and who the caller is.

pub mod caller;
pub mod passwords;
pub mod tokens;

use std::net::IpAddr;

use actix_web::{get, post, web, HttpRequest};
use chrono::Utc;
use domain::roles::Role;
use persistence::accounts::{self, NewRefreshToken, RefreshOutcome};
use persistence::db::write_transaction;
use persistence::{new_id, DbConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use caller::{AdminCaller, Caller, PatientCaller, StaffCaller};

use crate::audit::{Audit, RequestContext};
use crate::error::{ApiError, Problem, ProblemKind};
use crate::json_body::JsonObject;
use crate::state::AppState;

/// Credentials of a staff member or a patient.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "rivera@demo.test", "password": "demo-pass"}))]
pub struct TokenRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "q3X…"}))]
pub struct RefreshRequest {
    /// The newest `refresh_token` of the session; each is good once.
    pub refresh_token: String,
}

/// The only token type this API issues.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
pub enum TokenType {
    Bearer,
}

/// A token pair: a short-lived access token and the refresh token that renews it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiJ9.…",
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_token": "q3X…"
}))]
pub struct TokenResponse {
    /// Short-lived JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(value_type = TokenType)]
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Single-use token for `POST /v1/auth/refresh`; using it twice revokes the whole session.
    pub refresh_token: String,
}

/// Teams, as `/v1/me` and conversations name them: `care_team` (clinicians, coaches, admins)
/// and `support` (support agents).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TeamName {
    CareTeam,
    Support,
}

impl From<domain::routing::Team> for TeamName {
    fn from(team: domain::routing::Team) -> Self {
        match team {
            domain::routing::Team::CareTeam => TeamName::CareTeam,
            domain::routing::Team::Support => TeamName::Support,
        }
    }
}

/// Roles, as the JWT `role` claim names them.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    Patient,
    Clinician,
    Coach,
    Support,
    Admin,
}

impl From<Role> for RoleName {
    fn from(role: Role) -> Self {
        match role {
            Role::Patient => RoleName::Patient,
            Role::Clinician => RoleName::Clinician,
            Role::Coach => RoleName::Coach,
            Role::Support => RoleName::Support,
            Role::Admin => RoleName::Admin,
        }
    }
}

/// The signed-in account.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a7b0-0000-7000-8000-000000000001",
    "organization_id": "0193a7b0-0000-7000-8000-0000000000aa",
    "role": "clinician",
    "team": "care_team",
    "display_name": "Dr. Dana Rivera"
}))]
pub struct Me {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub organization_id: String,
    pub role: RoleName,
    /// `null` for patients.
    #[schema(required = true)]
    pub team: Option<TeamName>,
    pub display_name: String,
}

fn invalid_credentials() -> ApiError {
    ApiError::new(
        ProblemKind::InvalidCredentials,
        "The email or password is wrong.",
    )
}

/// Starts a new refresh-token family (login) or continues one (rotation) and signs an access token.
fn issue_pair(
    state: &AppState,
    conn: &mut DbConnection,
    principal: &accounts::Principal,
    family_id: &str,
) -> Result<TokenResponse, ApiError> {
    let access_token = state
        .keys
        .issue_access_token(&principal.id, &principal.organization_id, principal.role)
        .map_err(ApiError::internal)?;
    let refresh_token = tokens::new_refresh_token();
    let refresh_ttl =
        chrono::Duration::from_std(state.keys.refresh_ttl()).map_err(ApiError::internal)?;
    accounts::insert_refresh_token(
        conn,
        &NewRefreshToken {
            family_id,
            principal_id: &principal.id,
            token_hash: &tokens::refresh_token_hash(&refresh_token),
            expires_at: (Utc::now() + refresh_ttl).naive_utc(),
        },
    )?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".to_owned(),
        expires_in: state.keys.access_ttl().as_secs(),
        refresh_token,
    })
}

/// Sign in with email and password.
///
/// Staff and patients alike. A wrong password and an unknown email give the same 401, after
/// the same work.
#[utoipa::path(
    tag = "auth",
    operation_id = "issueToken",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`: wrong email or password, or the account is deactivated", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a field is missing, unknown or of the wrong type", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many attempts from this address or on this account; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/token")]
pub async fn issue_token(
    state: web::Data<AppState>,
    http: HttpRequest,
    context: RequestContext,
    request: JsonObject<TokenRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    state.limits.check_auth(client_address(&http))?;
    let TokenRequest { email, password } = request.into_inner();
    let account = accounts::normalize_email(&email);
    state.limits.check_login(&account)?;
    let account_email = account.clone();
    let found = state
        .db(move |conn| {
            let Some(credential) = accounts::find_credential_by_email(conn, &account_email)? else {
                return Ok(None);
            };
            let principal = match accounts::find_principal(conn, &credential.principal_id) {
                Err(persistence::StoreError::NotFound) => None,
                other => Some(other?),
            };
            Ok(Some((credential, principal)))
        })
        .await?;
    // Hashing takes tens of milliseconds: off the async workers, and without a connection held.
    let (found, verified) = web::block(move || {
        let verified = match &found {
            Some((credential, _)) => {
                passwords::verify_password(&password, &credential.password_hash)
            }
            None => {
                passwords::burn_verification_time(&password);
                false
            }
        };
        (found, verified)
    })
    .await?;
    let handler_state = state.get_ref().clone();
    let pair = state
        .db(move |conn| match found {
            Some((_, Some(principal))) if verified => {
                let role = principal.role.as_str();
                Audit::sign_in(
                    &context,
                    "auth.sign_in",
                    Some((&principal.id, &principal.organization_id, role)),
                )
                .write(conn, |conn| {
                    issue_pair(&handler_state, conn, &principal, &new_id())
                })
            }
            found => {
                let actor = found.as_ref().map(|(credential, _)| {
                    (
                        credential.principal_id.as_str(),
                        credential.organization_id.as_str(),
                        credential.principal_kind.as_str(),
                    )
                });
                Audit::sign_in(&context, "auth.sign_in_failed", actor).record_alone(conn)?;
                Err(invalid_credentials())
            }
        })
        .await;
    if let Err(error) = &pair {
        if error.kind() != ProblemKind::InvalidCredentials {
            return pair.map(web::Json);
        }
    }
    state.limits.record_login(&account, pair.is_ok());
    pair.map(web::Json)
}

/// The socket peer: `X-Forwarded-For` is client-controlled and not trusted for limits.
fn client_address(http: &HttpRequest) -> IpAddr {
    http.peer_addr()
        .map(|address| address.ip())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

/// Exchange a refresh token for a new pair.
///
/// Refresh tokens rotate: each is good once. Presenting a spent one again means a copy exists,
/// so the whole family (every token descended from that login) is revoked.
#[utoipa::path(
    tag = "auth",
    operation_id = "refreshToken",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair", body = TokenResponse),
        (status = 401, description = "`unauthorized`: the refresh token is unknown, expired, revoked or was already used (which revokes the whole session)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a field is missing, unknown or of the wrong type", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many requests from this address; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/refresh")]
pub async fn rotate_refresh_token(
    state: web::Data<AppState>,
    http: HttpRequest,
    context: RequestContext,
    request: JsonObject<RefreshRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    state.limits.check_auth(client_address(&http))?;
    let token_hash = tokens::refresh_token_hash(&request.refresh_token);
    let handler_state = state.get_ref().clone();
    // Spending the old token and storing the new one commit together; a detected reuse commits
    // its revocation (and its audit row) even though the caller gets a 401.
    let pair = state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                Ok(match accounts::spend_refresh_token(conn, &token_hash)? {
                    RefreshOutcome::Rotated {
                        principal_id,
                        family_id,
                    } => match accounts::find_principal(conn, &principal_id) {
                        Ok(principal) => {
                            let pair = issue_pair(&handler_state, conn, &principal, &family_id)?;
                            let role = principal.role.as_str();
                            Audit::sign_in(&context, "auth.refresh", Some((&principal.id, &principal.organization_id, role)))
                                .record(conn)?;
                            Ok(pair)
                        }
                        Err(_) => Err(ApiError::unauthorized("The refresh token is no longer valid.")),
                    },
                    RefreshOutcome::Reused { principal_id } => {
                        let principal = accounts::find_principal(conn, &principal_id).ok();
                        let actor = principal.as_ref().map(|principal| {
                            (principal.id.as_str(), principal.organization_id.as_str(), principal.role.as_str())
                        });
                        Audit::sign_in(&context, "auth.refresh_reused", actor).record(conn)?;
                        Err(ApiError::unauthorized(
                            "The refresh token was already used; the session is revoked. Sign in again.",
                        ))
                    }
                    RefreshOutcome::Invalid => Err(ApiError::unauthorized("The refresh token is not valid.")),
                })
            })
        })
        .await??;
    Ok(web::Json(pair))
}

/// The caller.
///
/// Who the access token belongs to: id, organization, role, team (`null` for patients) and the
/// name to show. Any role may call it.
#[utoipa::path(
    tag = "auth",
    operation_id = "getMe",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "`unauthorized`: the access token is missing, malformed, expired or revoked, or its account no longer exists", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Me>, ApiError> {
    let principal = state
        .db(move |conn| {
            accounts::find_principal(conn, &caller.id).map_err(|_| {
                ApiError::unauthorized("The account behind this token no longer exists.")
            })
        })
        .await?;
    Ok(web::Json(Me {
        id: principal.id,
        organization_id: principal.organization_id,
        role: principal.role.into(),
        team: principal.role.team().map(TeamName::from),
        display_name: principal.display_name,
    }))
}

pub fn configure(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(issue_token)
        .service(rotate_refresh_token)
        .service(me);
}
