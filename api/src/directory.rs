//! The organization's people: patient search for staff ("+", pick a patient), and the
//! administration of patients and staff members by admins. Everything stays inside the caller's
//! organization; a person of another is not found.

use actix_web::{get, patch, post, web, HttpResponse};
use base64::Engine;
use domain::roles::Role;
use persistence::accounts::{NewPatient, NewStaffMember, Patient, StaffMember};
use persistence::directory::{
    self, DirectoryError, NamePage, PatientChanges, PatientQuery, StaffChanges,
};
use persistence::{DbConnection, StoreError};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::{Audit, RequestContext};
use crate::auth::passwords::hash_password;
use crate::auth::{AdminCaller, RoleName, StaffCaller, TeamName};
use crate::error::{ApiError, Problem, ProblemKind};
use crate::inbox::search_terms;
use crate::json_body::JsonObject;
use crate::pagination::{bad_cursor, PageParams, Paged};
use crate::state::AppState;
use crate::views::timestamp;

const MAX_NAME_CHARS: usize = 200;
const MAX_EMAIL_CHARS: usize = 254;
const MIN_PASSWORD_CHARS: usize = 8;
/// Bounds the work one request can ask of the password hash.
const MAX_PASSWORD_CHARS: usize = 256;
const MAX_EXTERNAL_ID_CHARS: usize = 100;

/// A patient of the organization.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a7b0-0000-7000-8000-000000000030",
    "display_name": "Alice Moreno",
    "external_id": "MRN-004211",
    "assigned_clinician_id": "0193a7b0-0000-7000-8000-000000000001",
    "created_at": "2026-11-24T15:04:05.123Z"
}))]
pub struct PatientView {
    #[schema(format = Uuid)]
    pub id: String,
    pub display_name: String,
    /// The clinic's own identifier (e.g. a medical record number), unique in the organization.
    #[schema(required = true)]
    pub external_id: Option<String>,
    /// The clinician care-team conversations of this patient are assigned to.
    #[schema(required = true, format = Uuid)]
    pub assigned_clinician_id: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<Patient> for PatientView {
    fn from(patient: Patient) -> Self {
        PatientView {
            id: patient.id,
            display_name: patient.display_name,
            external_id: patient.external_id,
            assigned_clinician_id: patient.assigned_clinician_id,
            created_at: timestamp(patient.created_at),
        }
    }
}

/// A staff member of the organization.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a7b0-0000-7000-8000-000000000001",
    "display_name": "Dr. Dana Rivera",
    "email": "rivera@demo.test",
    "role": "clinician",
    "team": "care_team",
    "active": true,
    "created_at": "2026-11-24T15:04:05.123Z"
}))]
pub struct StaffView {
    #[schema(format = Uuid)]
    pub id: String,
    pub display_name: String,
    /// The sign-in email.
    pub email: String,
    pub role: RoleName,
    pub team: TeamName,
    /// Deactivated members can no longer sign in.
    pub active: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
}

fn staff_views(
    conn: &mut DbConnection,
    members: Vec<StaffMember>,
) -> Result<Vec<StaffView>, ApiError> {
    let ids: Vec<String> = members.iter().map(|member| member.id.clone()).collect();
    let emails = directory::emails(conn, &ids)?;
    members
        .into_iter()
        .map(|member| {
            let (role, team) = Role::parse(&member.role)
                .and_then(|role| role.team().map(|team| (role, team)))
                .ok_or_else(|| {
                    ApiError::from(StoreError::Corrupt(format!(
                        "staff member {} has role {}",
                        member.id, member.role
                    )))
                })?;
            Ok(StaffView {
                email: emails.get(&member.id).cloned().unwrap_or_default(),
                id: member.id,
                display_name: member.display_name,
                role: role.into(),
                team: team.into(),
                active: member.active,
                created_at: timestamp(member.created_at),
            })
        })
        .collect()
}

fn staff_view(conn: &mut DbConnection, member: StaffMember) -> Result<StaffView, ApiError> {
    staff_views(conn, vec![member])?
        .pop()
        .ok_or_else(|| ApiError::internal("a staff view is missing"))
}

/// Cursors of name-ordered lists name the last row by id only, so no name ends up in a URL.
fn encode_id_cursor(id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

fn decode_id_cursor(page: &PageParams) -> Result<Option<String>, ApiError> {
    page.cursor()
        .map(|cursor| {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(cursor)
                .map_err(|_| bad_cursor())?;
            let id = std::str::from_utf8(&bytes).map_err(|_| bad_cursor())?;
            uuid::Uuid::parse_str(id)
                .map(|id| id.to_string())
                .map_err(|_| bad_cursor())
        })
        .transpose()
}

/// A page of a name-ordered list; the cursor's row must still be in the organization.
fn name_paged<T, V: ToSchema>(
    page: Result<NamePage<T>, StoreError>,
    view: impl FnOnce(Vec<T>) -> Result<Vec<V>, ApiError>,
) -> Result<Paged<V>, ApiError> {
    let page = page.map_err(|error| match error {
        StoreError::NotFound => bad_cursor(),
        other => other.into(),
    })?;
    Ok(Paged {
        items: view(page.items)?,
        next_cursor: page.next_after.as_deref().map(encode_id_cursor),
    })
}

fn person_id(raw: &str, what: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|id| id.to_string())
        .map_err(|_| ApiError::not_found(what))
}

fn invalid(field: &str, problem: &str) -> ApiError {
    ApiError::validation(format!("{field}: {problem}."))
}

fn has_control_characters(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// A display name: trimmed, 1 to 200 characters, one line.
fn person_name(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(invalid("name", "must not be blank"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid("name", "must be at most 200 characters"));
    }
    if has_control_characters(name) {
        return Err(invalid("name", "must not contain control characters"));
    }
    Ok(name.to_owned())
}

/// The shape of an address (`local@domain.tld`); whether it receives mail is not ours to know.
fn email(raw: &str) -> Result<String, ApiError> {
    let email = raw.trim();
    let well_formed = email.chars().count() <= MAX_EMAIL_CHARS
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if well_formed {
        Ok(email.to_owned())
    } else {
        Err(invalid("email", "must be an email address"))
    }
}

fn password(raw: &str) -> Result<String, ApiError> {
    match raw.chars().count() {
        n if n < MIN_PASSWORD_CHARS => Err(invalid("password", "must be at least 8 characters")),
        n if n > MAX_PASSWORD_CHARS => Err(invalid("password", "must be at most 256 characters")),
        _ => Ok(raw.to_owned()),
    }
}

fn external_id(raw: &str) -> Result<String, ApiError> {
    let id = raw.trim();
    if id.is_empty() || id.chars().count() > MAX_EXTERNAL_ID_CHARS || has_control_characters(id) {
        return Err(invalid(
            "external_id",
            "must be 1 to 100 characters without control characters",
        ));
    }
    Ok(id.to_owned())
}

fn not_an_active_clinician() -> ApiError {
    invalid(
        "assigned_clinician_id",
        "must be an active clinician of your organization",
    )
}

/// A clinician id from a body; one that is not even an id names no clinician.
fn clinician_id(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|id| id.to_string())
        .map_err(|_| not_an_active_clinician())
}

/// The roles a staff member can have (patients are created through the patient endpoints).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StaffRoleName {
    Clinician,
    Coach,
    Support,
    Admin,
}

impl From<StaffRoleName> for Role {
    fn from(role: StaffRoleName) -> Self {
        match role {
            StaffRoleName::Clinician => Role::Clinician,
            StaffRoleName::Coach => Role::Coach,
            StaffRoleName::Support => Role::Support,
            StaffRoleName::Admin => Role::Admin,
        }
    }
}

/// Argon2 is slow by design: hash on the blocking pool, without holding a connection.
async fn hashed(password: String) -> Result<String, ApiError> {
    web::block(move || hash_password(&password))
        .await?
        .map_err(ApiError::internal)
}

/// `NotFound` as "no such <what>"; other failures as usual.
fn or_not_found(what: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |error| match error {
        StoreError::NotFound => ApiError::not_found(what),
        other => other.into(),
    }
}

/// A refused write: the unique email or external id is taken, or the clinician is not one.
fn directory_error(
    conn: &mut DbConnection,
    email: Option<&str>,
    error: DirectoryError,
) -> ApiError {
    match error {
        DirectoryError::NotAnActiveClinician => not_an_active_clinician(),
        DirectoryError::Store(StoreError::Conflict(_)) => {
            let email_taken = email
                .map(|email| directory::email_taken(conn, email))
                .transpose()
                .ok()
                .flatten()
                .unwrap_or(false);
            let detail = if email_taken {
                "An account with this email already exists."
            } else {
                "Another patient of your organization has this external_id."
            };
            ApiError::new(ProblemKind::Conflict, detail)
        }
        DirectoryError::Store(other) => or_not_found("patient")(other),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatientSearchParams {
    /// Up to 200 characters: words that start the patient's name parts ("ali mor" finds Alice
    /// Moreno), or the exact external id.
    pub q: Option<String>,
}

/// Search patients.
///
/// Patients of the caller's organization whose name parts start with the words of `q`, or whose
/// external id is `q` exactly, in name order; without `q`, all of them. Any staff role — this is
/// the "+", pick a patient, "Create Chat" search.
#[utoipa::path(
    tag = "admin",
    operation_id = "searchPatients",
    security(("bearer" = [])),
    params(PatientSearchParams, PageParams),
    responses(
        (status = 200, description = "A page of patients", body = Paged<PatientView>),
        (status = 400, description = "`invalid_request`: `q` too long, bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not staff", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/patients")]
pub async fn search_patients(
    state: web::Data<AppState>,
    caller: StaffCaller,
    params: web::Query<PatientSearchParams>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Paged<PatientView>>, ApiError> {
    let limit = page.limit()?;
    let after = decode_id_cursor(&page)?;
    let q = params.into_inner().q;
    let terms = search_terms(q.as_deref())?;
    // Stored external ids are trimmed and never hold control characters (which PostgreSQL may
    // refuse as text).
    let external_id = q
        .map(|q| q.trim().to_owned())
        .filter(|q| !has_control_characters(q));
    let paged = state
        .db(move |conn| {
            let query = terms.as_ref().map(|terms| PatientQuery {
                terms,
                external_id: external_id.as_deref(),
            });
            name_paged(
                directory::search_patients(
                    conn,
                    &caller.organization_id,
                    query,
                    after.as_deref(),
                    limit,
                ),
                |patients| Ok(patients.into_iter().map(PatientView::from).collect()),
            )
        })
        .await?;
    Ok(web::Json(paged))
}

/// One patient.
///
/// A patient of the caller's organization, with the clinician their care-team conversations are
/// assigned to. Any staff role.
#[utoipa::path(
    tag = "admin",
    operation_id = "getPatient",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id")),
    responses(
        (status = 200, description = "The patient", body = PatientView),
        (status = 403, description = "`forbidden`: the caller is not staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such patient in the caller's organization", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/patients/{id}")]
pub async fn get_patient(
    state: web::Data<AppState>,
    caller: StaffCaller,
    path: web::Path<String>,
) -> Result<web::Json<PatientView>, ApiError> {
    let id = person_id(&path, "patient")?;
    let patient = state
        .db(move |conn| {
            directory::find_patient(conn, &caller.organization_id, &id)
                .map_err(or_not_found("patient"))
        })
        .await?;
    Ok(web::Json(patient.into()))
}

/// A new patient and their app login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Dana Whitfield",
    "email": "dana.whitfield@example.com",
    "password": "a-long-first-password",
    "external_id": "MRN-004212",
    "assigned_clinician_id": "0193a7b0-0000-7000-8000-000000000001"
}))]
pub struct CreatePatientRequest {
    /// 1 to 200 characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*\S[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
    /// The patient's sign-in for the MyXRHealth app; unique across all accounts.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 8 to 256 characters.
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
    /// Unique in the organization, up to 100 characters.
    pub external_id: Option<String>,
    /// An active clinician of the organization.
    #[schema(format = Uuid)]
    pub assigned_clinician_id: Option<String>,
}

/// Create a patient (admins).
///
/// Adds a patient to the caller's organization with a login for the MyXRHealth app, and
/// optionally the clinician their care-team conversations are assigned to.
#[utoipa::path(
    tag = "admin",
    operation_id = "createPatient",
    security(("bearer" = [])),
    request_body = CreatePatientRequest,
    responses(
        (status = 201, description = "Created", body = PatientView),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the email or the external id is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: invalid name, email, password or external id; the assigned clinician is not an active clinician of the organization; unknown fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/patients")]
pub async fn create_patient(
    state: web::Data<AppState>,
    caller: AdminCaller,
    context: RequestContext,
    request: JsonObject<CreatePatientRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = request.into_inner();
    let name = person_name(&request.name)?;
    let email = email(&request.email)?;
    let password = password(&request.password)?;
    let external_id = request
        .external_id
        .as_deref()
        .map(external_id)
        .transpose()?;
    let clinician = request
        .assigned_clinician_id
        .as_deref()
        .map(clinician_id)
        .transpose()?;
    let password_hash = hashed(password).await?;
    let audit = Audit::new(&context, &caller, "patient.create");
    let patient = state
        .db(move |conn| {
            let new = NewPatient {
                organization_id: &caller.organization_id,
                display_name: &name,
                external_id: external_id.as_deref(),
                assigned_clinician_id: clinician.as_deref(),
                email: &email,
                password_hash: &password_hash,
            };
            audit.write_about(
                conn,
                "patient",
                |patient: &Patient| patient.id.clone(),
                |conn| {
                    directory::create_patient(conn, &new)
                        .map_err(|error| directory_error(conn, Some(&email), error))
                },
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(PatientView::from(patient)))
}

/// Reads a field that may be absent (leave it), `null` (clear it) or a value: `Some(None)` is
/// the `null`.
fn nullable_field<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// Changes to a patient: only the fields present change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"assigned_clinician_id": null, "external_id": "MRN-004299"}))]
pub struct UpdatePatientRequest {
    /// 1 to 200 characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*\S[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: Option<String>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "nullable_field")]
    #[schema(value_type = Option<String>)]
    pub external_id: Option<Option<String>>,
    /// An active clinician of the organization; `null` unassigns the patient.
    #[serde(default, deserialize_with = "nullable_field")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub assigned_clinician_id: Option<Option<String>>,
}

/// Change a patient (admins).
///
/// Change a patient's name, external id or assigned clinician. Fields left out stay as they
/// are; `null` clears `external_id` or `assigned_clinician_id`.
#[utoipa::path(
    tag = "admin",
    operation_id = "updatePatient",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Patient id")),
    request_body = UpdatePatientRequest,
    responses(
        (status = 200, description = "The patient as it now stands", body = PatientView),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such patient in the caller's organization", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the external id is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: invalid name or external id; the assigned clinician is not an active clinician of the organization; unknown fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/patients/{id}")]
pub async fn update_patient(
    state: web::Data<AppState>,
    caller: AdminCaller,
    context: RequestContext,
    path: web::Path<String>,
    request: JsonObject<UpdatePatientRequest>,
) -> Result<web::Json<PatientView>, ApiError> {
    let id = person_id(&path, "patient")?;
    let request = request.into_inner();
    let name = request.name.as_deref().map(person_name).transpose()?;
    let external = request
        .external_id
        .map(|value| value.as_deref().map(external_id).transpose())
        .transpose()?;
    let clinician = request
        .assigned_clinician_id
        .map(|value| value.as_deref().map(clinician_id).transpose())
        .transpose()?;
    let audit = Audit::new(&context, &caller, "patient.update").on("patient", &id);
    let patient = state
        .db(move |conn| {
            let changes = PatientChanges {
                display_name: name.as_deref(),
                external_id: external.as_ref().map(Option::as_deref),
                assigned_clinician_id: clinician.as_ref().map(Option::as_deref),
            };
            audit.write(conn, |conn| {
                directory::update_patient(conn, &caller.organization_id, &id, &changes)
                    .map_err(|error| directory_error(conn, None, error))
            })
        })
        .await?;
    Ok(web::Json(patient.into()))
}

/// List staff members (admins).
///
/// Staff members of the caller's organization in name order, deactivated ones included, with
/// their role, team and sign-in email.
#[utoipa::path(
    tag = "admin",
    operation_id = "listStaff",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of staff members", body = Paged<StaffView>),
        (status = 400, description = "`invalid_request`: bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff")]
pub async fn list_staff(
    state: web::Data<AppState>,
    caller: AdminCaller,
    page: web::Query<PageParams>,
) -> Result<web::Json<Paged<StaffView>>, ApiError> {
    let limit = page.limit()?;
    let after = decode_id_cursor(&page)?;
    let paged = state
        .db(move |conn| {
            let page =
                directory::list_staff(conn, &caller.organization_id, after.as_deref(), limit);
            name_paged(page, |members| staff_views(conn, members))
        })
        .await?;
    Ok(web::Json(paged))
}

/// A new staff member and their login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Dr. Sam Okafor",
    "email": "okafor@demo.test",
    "password": "a-long-first-password",
    "role": "clinician"
}))]
pub struct CreateStaffRequest {
    /// 1 to 200 characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*\S[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
    /// The sign-in for the Clinician Platform; unique across all accounts.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 8 to 256 characters.
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
    pub role: StaffRoleName,
}

/// Add a staff member (admins).
///
/// Creates a clinician, coach, support agent or admin of the caller's organization with a
/// login for the Clinician Platform. The team follows from the role.
#[utoipa::path(
    tag = "admin",
    operation_id = "createStaff",
    security(("bearer" = [])),
    request_body = CreateStaffRequest,
    responses(
        (status = 201, description = "Created", body = StaffView),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the email is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: invalid name, email, password or role; unknown fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/staff")]
pub async fn create_staff(
    state: web::Data<AppState>,
    caller: AdminCaller,
    context: RequestContext,
    request: JsonObject<CreateStaffRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = request.into_inner();
    let name = person_name(&request.name)?;
    let email = email(&request.email)?;
    let password = password(&request.password)?;
    let role = Role::from(request.role);
    let password_hash = hashed(password).await?;
    let audit = Audit::new(&context, &caller, "staff.create");
    let member = state
        .db(move |conn| {
            let new = NewStaffMember {
                organization_id: &caller.organization_id,
                display_name: &name,
                role,
                email: &email,
                password_hash: &password_hash,
            };
            let member = audit.write_about(
                conn,
                "staff_member",
                |member: &StaffMember| member.id.clone(),
                |conn| {
                    directory::create_staff(conn, &new)
                        .map_err(|error| directory_error(conn, Some(&email), error.into()))
                },
            )?;
            staff_view(conn, member)
        })
        .await?;
    Ok(HttpResponse::Created().json(member))
}

/// Changes to a staff member: only the fields present change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"active": false}))]
pub struct UpdateStaffRequest {
    /// 1 to 200 characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*\S[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: Option<String>,
    pub role: Option<StaffRoleName>,
    /// `false` deactivates: the member can no longer sign in or refresh a session.
    pub active: Option<bool>,
}

/// Change a staff member (admins).
///
/// Rename, change the role of, deactivate or reactivate a staff member. Whoever stops being an
/// active clinician is unassigned from their patients and their open conversations (which then
/// show under `my_clinic`); a deactivated member's claims are released, and a member moved to
/// Support gives back the care-team conversations they held. Admins cannot deactivate
/// themselves or change their own role.
#[utoipa::path(
    tag = "admin",
    operation_id = "updateStaff",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Staff member id")),
    request_body = UpdateStaffRequest,
    responses(
        (status = 200, description = "The staff member as they now stand", body = StaffView),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such staff member in the caller's organization", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: an admin deactivating themselves or changing their own role", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: invalid name or role; unknown fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/staff/{id}")]
pub async fn update_staff(
    state: web::Data<AppState>,
    caller: AdminCaller,
    context: RequestContext,
    path: web::Path<String>,
    request: JsonObject<UpdateStaffRequest>,
) -> Result<web::Json<StaffView>, ApiError> {
    let id = person_id(&path, "staff member")?;
    let request = request.into_inner();
    let name = request.name.as_deref().map(person_name).transpose()?;
    let role = request.role.map(Role::from);
    let locks_self_out =
        request.active == Some(false) || role.is_some_and(|role| role != Role::Admin);
    if id == caller.id && locks_self_out {
        return Err(ApiError::new(
            ProblemKind::Conflict,
            "You cannot deactivate yourself or change your own role; ask another admin.",
        ));
    }
    let active = request.active;
    let audit = Audit::new(&context, &caller, "staff.update").on("staff_member", &id);
    let member = state
        .db(move |conn| {
            let changes = StaffChanges {
                display_name: name.as_deref(),
                role: role.map(Role::as_str),
                active,
            };
            let member = audit.write(conn, |conn| {
                directory::update_staff(conn, &caller.organization_id, &id, &changes)
                    .map_err(or_not_found("staff member"))
            })?;
            staff_view(conn, member)
        })
        .await?;
    Ok(web::Json(member))
}

pub fn configure(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(search_patients)
        .service(get_patient)
        .service(create_patient)
        .service(update_patient)
        .service(list_staff)
        .service(create_staff)
        .service(update_staff);
}
