//! Read markers: staff and patients mark a conversation read, which resets its unread count in
//! the inbox, the inbox counts and the app's conversation list (the badge).

use actix_web::{post, web, HttpResponse};
use persistence::{conversations, read_markers, DbConnection, StoreError};

use crate::auth::{PatientCaller, StaffCaller};
use crate::error::{ApiError, Problem};
use crate::inbox::staff_actor;
use crate::patient_app::conversation_id;
use crate::state::AppState;

/// Mark a conversation read.
///
/// Everything in the conversation up to now counts as read by the caller: its `unread` count in
/// the inbox drops to zero. Any staff role that may see the conversation.
#[utoipa::path(
    tag = "inbox",
    operation_id = "markConversationRead",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 204, description = "Marked read"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation visible to the caller", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/read")]
pub async fn mark_conversation_read(
    state: web::Data<AppState>,
    caller: StaffCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    mark_read(state, &path, move |conn, id| {
        conversations::find_for_staff(conn, &staff_actor(&caller), id)?;
        Ok(caller.0.id)
    })
    .await
}

/// Mark one of the caller's conversations read.
///
/// Everything in it up to now counts as read by the patient, which clears its badge in the
/// app. Another patient's conversation is not found.
#[utoipa::path(
    tag = "patient app",
    operation_id = "markPatientConversationRead",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 204, description = "Marked read"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not a patient", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/patient/conversations/{id}/read")]
pub async fn mark_patient_conversation_read(
    state: web::Data<AppState>,
    caller: PatientCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    mark_read(state, &path, move |conn, id| {
        conversations::find_for_patient(conn, &caller.id, id)?;
        Ok(caller.0.id)
    })
    .await
}

/// Marks the conversation read by the reader that `reader_of` returns once it has found the
/// conversation visible to them.
async fn mark_read(
    state: web::Data<AppState>,
    raw_id: &str,
    reader_of: impl FnOnce(&mut DbConnection, &str) -> Result<String, StoreError> + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    let id = conversation_id(raw_id)?;
    state
        .db(move |conn| {
            let reader_id = reader_of(conn, &id).map_err(|error| match error {
                StoreError::NotFound => ApiError::not_found("conversation"),
                other => other.into(),
            })?;
            Ok(read_markers::mark_read(
                conn,
                &reader_id,
                &id,
                persistence::now(),
            )?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(mark_conversation_read)
        .service(mark_patient_conversation_read);
}
