//! What staff do to a conversation: claim, release, reply or note, close, reopen, and the
//! confirmed "Send to Support" handoff. Each answers with the conversation as it now stands.

use actix_web::{post, web, HttpResponse};
use domain::message::MessageBody;
use persistence::conversations::{self, ConversationRow, StaffActor, WriteError};
use persistence::{accounts, DbConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{StaffCaller, TeamName};
use crate::conversation_errors::write_error;
use crate::error::{ApiError, Problem};
use crate::inbox::{staff_actor, summarize, ConversationSummary};
use crate::patient_app::conversation_id;
use crate::state::AppState;
use crate::views::{author_ids, MessageView};

/// Runs a staff action and answers with the conversation's summary.
async fn act(
    state: web::Data<AppState>,
    caller: StaffCaller,
    raw_id: &str,
    action: impl FnOnce(&mut DbConnection, &StaffActor<'_>, &str) -> Result<ConversationRow, WriteError>
        + Send
        + 'static,
) -> Result<web::Json<ConversationSummary>, ApiError> {
    let id = conversation_id(raw_id)?;
    let summary = state
        .db(move |conn| {
            let staff = staff_actor(&caller);
            let row = action(conn, &staff, &id).map_err(|error| write_error(conn, error))?;
            summarize(conn, &row)
        })
        .await?;
    Ok(web::Json(summary))
}

/// Take the claim, so the patient gets exactly one responder. Of any number of concurrent
/// claims exactly one wins; the others get 409 naming the holder.
#[utoipa::path(
    tag = "conversation actions",
    operation_id = "claimConversation",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The caller holds the conversation (also when it already did)", body = ConversationSummary),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conversation_claimed` (with `claimed_by`) or `conversation_closed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/claim")]
pub async fn claim_conversation(
    state: web::Data<AppState>,
    caller: StaffCaller,
    path: web::Path<String>,
) -> Result<web::Json<ConversationSummary>, ApiError> {
    act(state, caller, &path, conversations::claim).await
}

/// Give the claim back (the holder, or an admin). Releasing an unclaimed conversation is a
/// no-op.
#[utoipa::path(
    tag = "conversation actions",
    operation_id = "releaseConversation",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "Released", body = ConversationSummary),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A colleague holds it and the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation visible to the caller", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/release")]
pub async fn release_conversation(
    state: web::Data<AppState>,
    caller: StaffCaller,
    path: web::Path<String>,
) -> Result<web::Json<ConversationSummary>, ApiError> {
    act(state, caller, &path, conversations::release).await
}

/// Close: clears the claim and moves the conversation to `closed`, where it stays searchable.
/// Closing a closed conversation is a no-op.
#[utoipa::path(
    tag = "conversation actions",
    operation_id = "closeConversation",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "Closed", body = ConversationSummary),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conversation_claimed`: a colleague holds it", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/close")]
pub async fn close_conversation(
    state: web::Data<AppState>,
    caller: StaffCaller,
    path: web::Path<String>,
) -> Result<web::Json<ConversationSummary>, ApiError> {
    act(state, caller, &path, conversations::close).await
}

/// Reopen a closed conversation where it was. Reopening an open one is a no-op.
#[utoipa::path(
    tag = "conversation actions",
    operation_id = "reopenConversation",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "Open", body = ConversationSummary),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation visible to the caller", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/reopen")]
pub async fn reopen_conversation(
    state: web::Data<AppState>,
    caller: StaffCaller,
    path: web::Path<String>,
) -> Result<web::Json<ConversationSummary>, ApiError> {
    act(state, caller, &path, conversations::reopen).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Heat is fine after the first 48 hours. Keep the reps light.", "internal": false}))]
pub struct StaffMessageRequest {
    /// 1 to 4000 characters after trimming.
    pub body: String,
    /// An internal note: visible to staff only, allowed whoever holds the conversation.
    #[serde(default)]
    pub internal: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffMessageResponse {
    pub conversation: ConversationSummary,
    pub message: MessageView,
}

/// Reply to the patient, or add an internal note. A reply to an unclaimed conversation claims it
/// for the replier; a reply to one a colleague holds is 409, and to a closed one 409
/// `conversation_closed`.
#[utoipa::path(
    tag = "conversation actions",
    operation_id = "postStaffMessage",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    request_body = StaffMessageRequest,
    responses(
        (status = 201, description = "Sent", body = StaffMessageResponse),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conversation_claimed` (with `claimed_by`) or `conversation_closed`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Blank or too long", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many messages in a short time; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/messages")]
pub async fn post_staff_message(
    state: web::Data<AppState>,
    caller: StaffCaller,
    path: web::Path<String>,
    request: web::Json<StaffMessageRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = conversation_id(&path)?;
    let body = MessageBody::parse(&request.body)
        .map_err(|error| ApiError::validation(format!("body: {error}.")))?;
    let internal = request.internal;
    state.limits.check_send(&caller.id)?;
    let response = state
        .db(move |conn| {
            let staff = staff_actor(&caller);
            let (row, message) = conversations::post_by_staff(conn, &staff, &id, &body, internal)
                .map_err(|error| write_error(conn, error))?;
            let names = accounts::display_names(conn, &author_ids([&message]))?;
            Ok(StaffMessageResponse {
                conversation: summarize(conn, &row)?,
                message: MessageView::of(&message, &names),
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(response))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": "support", "summary": "Alice cannot log in to the app since the update; reinstalling did not help. Needs a password reset. Not urgent."}))]
pub struct HandoffRequest {
    pub to: TeamName,
    /// The reviewed summary; stored as an internal note by the sender.
    pub summary: String,
}

/// "Confirm and Send to Support" (or back to the care team): moves the conversation, clears
/// assignment and claim (a conversation returning to the care team is auto-assigned again),
/// and stores the reviewed summary as a staff-only note.
#[utoipa::path(
    tag = "handoff",
    operation_id = "handOffConversation",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    request_body = HandoffRequest,
    responses(
        (status = 200, description = "Handed off", body = ConversationSummary),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such conversation visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Closed, or already with that team", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Blank or too long summary", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/handoff")]
pub async fn hand_off_conversation(
    state: web::Data<AppState>,
    caller: StaffCaller,
    path: web::Path<String>,
    request: web::Json<HandoffRequest>,
) -> Result<web::Json<ConversationSummary>, ApiError> {
    let summary = MessageBody::parse(&request.summary)
        .map_err(|error| ApiError::validation(format!("summary: {error}.")))?;
    let to = match request.to {
        TeamName::CareTeam => domain::routing::Team::CareTeam,
        TeamName::Support => domain::routing::Team::Support,
    };
    act(state, caller, &path, move |conn, staff, id| {
        conversations::hand_off(conn, staff, id, to, &summary)
    })
    .await
}

pub fn configure(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(claim_conversation)
        .service(release_conversation)
        .service(close_conversation)
        .service(reopen_conversation)
        .service(post_staff_message)
        .service(hand_off_conversation);
}
