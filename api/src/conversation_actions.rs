//! What staff do to a conversation: claim, release, reply or note, close, reopen, and the
//! confirmed "Send to Support" handoff. Each answers with the conversation as it now stands.

use actix_web::{post, web, HttpResponse};
use domain::message::MessageBody;
use persistence::conversations::{self, ConversationRow, StaffActor, WriteError};
use persistence::{accounts, DbConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{Audit, RequestContext};
use crate::auth::{StaffCaller, TeamName};
use crate::conversation_errors::write_error;
use crate::error::{ApiError, Problem};
use crate::inbox::{staff_actor, summarize, ConversationSummary};
use crate::json_body::JsonObject;
use crate::patient_app::conversation_id;
use crate::state::AppState;
use crate::views::{author_ids, MessageView};

/// Runs a staff action and answers with the conversation's summary.
async fn act(
    state: web::Data<AppState>,
    caller: StaffCaller,
    context: RequestContext,
    audited_action: &str,
    raw_id: &str,
    action: impl FnOnce(&mut DbConnection, &StaffActor<'_>, &str) -> Result<ConversationRow, WriteError>
        + Send
        + 'static,
) -> Result<web::Json<ConversationSummary>, ApiError> {
    let id = conversation_id(raw_id)?;
    let audit = Audit::new(&context, &caller, audited_action).on("conversation", &id);
    let summary = state
        .db(move |conn| {
            let row = audit.write(conn, |conn| {
                action(conn, &staff_actor(&caller), &id).map_err(|error| write_error(conn, error))
            })?;
            summarize(conn, &row)
        })
        .await?;
    Ok(web::Json(summary))
}

/// Claim a conversation.
///
/// Take the claim, so the patient gets exactly one responder: only the holder can reply or
/// close it. Of any number of concurrent claims exactly one wins; the others get 409
/// `conversation_claimed` naming the holder in `claimed_by`. Claiming a conversation the caller
/// already holds is 200 and changes nothing.
#[utoipa::path(
    tag = "conversation actions",
    operation_id = "claimConversation",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The caller holds the conversation (also when it already did)", body = ConversationSummary),
        (status = 403, description = "`forbidden`: the caller is not staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such conversation visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conversation_claimed` (with `claimed_by`) or `conversation_closed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/claim")]
pub async fn claim_conversation(
    state: web::Data<AppState>,
    caller: StaffCaller,
    context: RequestContext,
    path: web::Path<String>,
) -> Result<web::Json<ConversationSummary>, ApiError> {
    act(
        state,
        caller,
        context,
        "conversation.claim",
        &path,
        conversations::claim,
    )
    .await
}

/// Release a claim.
///
/// Give the claim back, so a colleague can take the conversation. Only the holder, or an admin,
/// may release it; releasing an unclaimed conversation is 200 and changes nothing.
#[utoipa::path(
    tag = "conversation actions",
    operation_id = "releaseConversation",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "Released", body = ConversationSummary),
        (status = 403, description = "`forbidden`: a colleague holds it and the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such conversation visible to the caller", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/release")]
pub async fn release_conversation(
    state: web::Data<AppState>,
    caller: StaffCaller,
    context: RequestContext,
    path: web::Path<String>,
) -> Result<web::Json<ConversationSummary>, ApiError> {
    act(
        state,
        caller,
        context,
        "conversation.release",
        &path,
        conversations::release,
    )
    .await
}

/// Close a conversation.
///
/// Clears the claim and moves the conversation to `closed`, where it stays searchable. A
/// colleague's claim blocks it (409) unless the caller is an admin. Closing a closed
/// conversation is 200 and changes nothing; the patient writing again reopens it.
#[utoipa::path(
    tag = "conversation actions",
    operation_id = "closeConversation",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "Closed", body = ConversationSummary),
        (status = 403, description = "`forbidden`: the caller is not staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such conversation visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conversation_claimed`: a colleague holds it", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/close")]
pub async fn close_conversation(
    state: web::Data<AppState>,
    caller: StaffCaller,
    context: RequestContext,
    path: web::Path<String>,
) -> Result<web::Json<ConversationSummary>, ApiError> {
    act(
        state,
        caller,
        context,
        "conversation.close",
        &path,
        conversations::close,
    )
    .await
}

/// Reopen a conversation.
///
/// A closed conversation opens again where it was (same team, assignee and urgency).
/// Reopening an open one is 200 and changes nothing.
#[utoipa::path(
    tag = "conversation actions",
    operation_id = "reopenConversation",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "Open", body = ConversationSummary),
        (status = 403, description = "`forbidden`: the caller is not staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such conversation visible to the caller", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/reopen")]
pub async fn reopen_conversation(
    state: web::Data<AppState>,
    caller: StaffCaller,
    context: RequestContext,
    path: web::Path<String>,
) -> Result<web::Json<ConversationSummary>, ApiError> {
    act(
        state,
        caller,
        context,
        "conversation.reopen",
        &path,
        conversations::reopen,
    )
    .await
}

/// A staff reply or internal note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Heat is fine after the first 48 hours. Keep the reps light.", "internal": false}))]
pub struct StaffMessageRequest {
    /// 1 to 4000 characters after trimming.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*\S[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub body: String,
    /// An internal note: visible to staff only, allowed whoever holds the conversation.
    #[serde(default)]
    pub internal: bool,
}

/// The conversation as it now stands, and the message just written.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "conversation": {
        "id": "0193a7b0-0000-7000-8000-000000000020",
        "patient": {"id": "0193a7b0-0000-7000-8000-000000000030", "display_name": "Alice Moreno"},
        "team": "care_team",
        "status": "open",
        "urgent": false,
        "category": "clinical",
        "assigned_to": {"id": "0193a7b0-0000-7000-8000-000000000001", "display_name": "Dr. Dana Rivera"},
        "claimed_by": {"id": "0193a7b0-0000-7000-8000-000000000001", "display_name": "Dr. Dana Rivera"},
        "last_message_preview": "Heat is fine after the first 48 hours. Keep the reps light.",
        "last_message_at": "2026-11-24T15:30:00.000Z",
        "last_activity_at": "2026-11-24T15:04:05.123Z",
        "unanswered_since": null,
        "created_at": "2026-11-24T15:04:05.123Z"
    },
    "message": {
        "id": "0193a7b0-0000-7000-8000-000000000013",
        "conversation_id": "0193a7b0-0000-7000-8000-000000000020",
        "kind": "staff",
        "author": {"id": "0193a7b0-0000-7000-8000-000000000001", "display_name": "Dr. Dana Rivera"},
        "body": "Heat is fine after the first 48 hours. Keep the reps light.",
        "client_message_id": null,
        "created_at": "2026-11-24T15:30:00.000Z"
    }
}))]
pub struct StaffMessageResponse {
    pub conversation: ConversationSummary,
    pub message: MessageView,
}

/// Reply to the patient, or add an internal note.
///
/// A reply to an unclaimed conversation claims it for the replier; a reply to one a colleague
/// holds is 409 `conversation_claimed`, and to a closed one 409 `conversation_closed`. Internal
/// notes (`internal: true`) are visible to staff only and allowed whoever holds the
/// conversation.
#[utoipa::path(
    tag = "conversation actions",
    operation_id = "postStaffMessage",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Conversation id")),
    request_body = StaffMessageRequest,
    responses(
        (status = 201, description = "Sent", body = StaffMessageResponse),
        (status = 403, description = "`forbidden`: the caller is not staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such conversation visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conversation_claimed` (with `claimed_by`) or `conversation_closed`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: blank or too long", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many messages in a short time; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/messages")]
pub async fn post_staff_message(
    state: web::Data<AppState>,
    caller: StaffCaller,
    context: RequestContext,
    path: web::Path<String>,
    request: JsonObject<StaffMessageRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = conversation_id(&path)?;
    let body = MessageBody::parse(&request.body)
        .map_err(|error| ApiError::validation(format!("body: {error}.")))?;
    let internal = request.internal;
    state.limits.check_send(&caller.id)?;
    let action = if internal { "note.add" } else { "message.send" };
    let audit = Audit::new(&context, &caller, action).on("conversation", &id);
    let response = state
        .db(move |conn| {
            let (row, message) = audit.write(conn, |conn| {
                conversations::post_by_staff(conn, &staff_actor(&caller), &id, &body, internal)
                    .map_err(|error| write_error(conn, error))
            })?;
            let names = accounts::display_names(conn, &author_ids([&message]))?;
            Ok(StaffMessageResponse {
                conversation: summarize(conn, &row)?,
                message: MessageView::of(&message, &names),
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(response))
}

/// The confirmed handoff: where to, and the reviewed summary.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": "support", "summary": "Alice cannot log in to the app since the update; reinstalling did not help. Needs a password reset. Not urgent."}))]
pub struct HandoffRequest {
    pub to: TeamName,
    /// The reviewed summary; stored as an internal note by the sender.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*\S[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub summary: String,
}

/// Hand a conversation to the other team.
///
/// "Confirm and Send to Support" (or back to the care team): moves the conversation, clears
/// assignment and claim (a conversation returning to the care team is auto-assigned again),
/// and stores the reviewed summary as a staff-only note signed by the caller. Draft the summary
/// first with `POST /v1/conversations/{id}/handoff/summary`.
#[utoipa::path(
    tag = "handoff",
    operation_id = "handOffConversation",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Conversation id")),
    request_body = HandoffRequest,
    responses(
        (status = 200, description = "Handed off", body = ConversationSummary),
        (status = 403, description = "`forbidden`: the caller is not staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such conversation visible to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conversation_closed`, or `conflict`: the conversation is already with that team", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: blank or too long summary", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/handoff")]
pub async fn hand_off_conversation(
    state: web::Data<AppState>,
    caller: StaffCaller,
    context: RequestContext,
    path: web::Path<String>,
    request: JsonObject<HandoffRequest>,
) -> Result<web::Json<ConversationSummary>, ApiError> {
    let summary = MessageBody::parse(&request.summary)
        .map_err(|error| ApiError::validation(format!("summary: {error}.")))?;
    let to = match request.to {
        TeamName::CareTeam => domain::routing::Team::CareTeam,
        TeamName::Support => domain::routing::Team::Support,
    };
    act(
        state,
        caller,
        context,
        "conversation.handoff",
        &path,
        move |conn, staff, id| conversations::hand_off(conn, staff, id, to, &summary),
    )
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
