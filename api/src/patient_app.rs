//! The MyXRHealth side: a patient's own conversations. Patients never see internal notes,
//! handoff summaries or routing details, and another patient's conversation is not found.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{get, post, web, HttpResponse};
use domain::acknowledgment::AcknowledgmentTexts;
use domain::message::{ClientMessageId, MessageBody};
use domain::routing::{RoutingDecision, ValidatedRuleSet};
use persistence::audit::NewAuditEvent;
use persistence::conversations::{self, ConversationRow, PatientMessage, Sent};
use persistence::read_markers::{self, Reader};
use persistence::{accounts, organizations, DbConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{Audit, RequestContext};
use crate::auth::PatientCaller;
use crate::conversation_errors::write_error;
use crate::error::{ApiError, Problem};
use crate::json_body::JsonObject;
use crate::organization_settings::acknowledgment_texts;
use crate::pagination::{encode_cursor, PageParams, Paged};
use crate::state::AppState;
use crate::views::{author_ids, timestamp, ConversationStatus, MessageView};

/// A message from the app. `client_message_id` makes the send idempotent: a retry with the same
/// id and text returns the original message (200) instead of storing a duplicate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "body": "Should I keep icing my knee after the exercises or switch to heat?",
    "client_message_id": "7f7c1c1e-3f0e-4a59-9a55-0d1f3c4b5a6e"
}))]
pub struct SendMessage {
    /// 1 to 4000 characters after trimming; no control characters but newline and tab.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*\S[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub body: String,
    /// The app's idempotency key: 1 to 128 printable ASCII characters, e.g. a UUID.
    pub client_message_id: Option<String>,
}

/// A conversation as the patient sees it: no team, routing or staff details.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a7b0-0000-7000-8000-000000000020",
    "status": "open",
    "last_message_preview": "Thanks for your message. Your care team will reply within one business day.",
    "last_message_at": "2026-11-24T15:04:05.456Z",
    "created_at": "2026-11-24T15:04:05.123Z"
}))]
pub struct PatientConversation {
    #[schema(format = Uuid)]
    pub id: String,
    pub status: ConversationStatus,
    /// The start of the latest message the patient can see.
    pub last_message_preview: String,
    #[schema(format = DateTime)]
    pub last_message_at: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Only in the conversation list: replies and acknowledgments the patient has not read
    /// (see `markPatientConversationRead`), for the app's badge.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub unread: Option<i64>,
}

impl PatientConversation {
    fn of(row: &ConversationRow) -> Self {
        PatientConversation {
            id: row.id.clone(),
            status: ConversationStatus::of(row),
            last_message_preview: row.last_message_preview.clone(),
            last_message_at: timestamp(row.last_message_at),
            created_at: timestamp(row.created_at),
            unread: None,
        }
    }
}

/// A new conversation, its first message and the clinic's acknowledgment of it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "conversation": {
        "id": "0193a7b0-0000-7000-8000-000000000020",
        "status": "open",
        "last_message_preview": "Thanks for your message. Your care team will reply within one business day.",
        "last_message_at": "2026-11-24T15:04:05.123Z",
        "created_at": "2026-11-24T15:04:05.123Z"
    },
    "message": {
        "id": "0193a7b0-0000-7000-8000-000000000010",
        "conversation_id": "0193a7b0-0000-7000-8000-000000000020",
        "kind": "patient",
        "author": {"id": "0193a7b0-0000-7000-8000-000000000030", "display_name": "Alice Moreno"},
        "body": "Should I keep icing my knee after the exercises or switch to heat?",
        "client_message_id": "7f7c1c1e-3f0e-4a59-9a55-0d1f3c4b5a6e",
        "created_at": "2026-11-24T15:04:05.123Z"
    },
    "acknowledgment": {
        "id": "0193a7b0-0000-7000-8000-000000000011",
        "conversation_id": "0193a7b0-0000-7000-8000-000000000020",
        "kind": "acknowledgment",
        "author": null,
        "body": "Thanks for your message. Your care team will reply within one business day.",
        "client_message_id": null,
        "created_at": "2026-11-24T15:04:05.123Z"
    }
}))]
pub struct StartedConversation {
    pub conversation: PatientConversation,
    pub message: MessageView,
    /// The clinic's automatic reply; urgent messages get one that says what to do in an
    /// emergency.
    #[schema(required = true)]
    pub acknowledgment: Option<MessageView>,
}

/// The patient's message in its conversation, and an acknowledgment when one was sent.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "conversation": {
        "id": "0193a7b0-0000-7000-8000-000000000020",
        "status": "open",
        "last_message_preview": "The swelling is down today, thanks!",
        "last_message_at": "2026-11-25T09:30:00.000Z",
        "created_at": "2026-11-24T15:04:05.123Z"
    },
    "message": {
        "id": "0193a7b0-0000-7000-8000-000000000012",
        "conversation_id": "0193a7b0-0000-7000-8000-000000000020",
        "kind": "patient",
        "author": {"id": "0193a7b0-0000-7000-8000-000000000030", "display_name": "Alice Moreno"},
        "body": "The swelling is down today, thanks!",
        "client_message_id": null,
        "created_at": "2026-11-25T09:30:00.000Z"
    },
    "acknowledgment": null
}))]
pub struct PostedMessage {
    pub conversation: PatientConversation,
    pub message: MessageView,
    /// Present on the first message of a reopened conversation and on urgent messages.
    #[schema(required = true)]
    pub acknowledgment: Option<MessageView>,
}

/// All messages of a conversation the patient may see, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageList {
    pub items: Vec<MessageView>,
}

/// Ids in paths are UUIDs; anything else names nothing.
pub fn conversation_id(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|id| id.to_string())
        .map_err(|_| ApiError::not_found("conversation"))
}

/// A patient's send, validated.
pub struct ParsedSend {
    body: MessageBody,
    client_message_id: Option<ClientMessageId>,
}

pub(crate) fn parse_send(request: SendMessage) -> Result<ParsedSend, ApiError> {
    let body = MessageBody::parse(&request.body)
        .map_err(|error| ApiError::validation(format!("body: {error}.")))?;
    let client_message_id = request
        .client_message_id
        .as_deref()
        .map(ClientMessageId::parse)
        .transpose()
        .map_err(|error| ApiError::validation(format!("{error}.")))?;
    Ok(ParsedSend {
        body,
        client_message_id,
    })
}

/// A patient's send, start or reply alike, validated and within the send limit, with the audit
/// row it will be stored with.
fn accept_send(
    state: &AppState,
    caller: &PatientCaller,
    context: &RequestContext,
    request: SendMessage,
) -> Result<(ParsedSend, Audit), ApiError> {
    let send = parse_send(request)?;
    state.limits.check_send(&caller.id)?;
    Ok((send, Audit::new(context, caller, "message.send")))
}

/// What an organization's patient messages are routed and acknowledged with, as stored now.
pub struct SendSettings {
    rules: Arc<ValidatedRuleSet>,
    acknowledgments: AcknowledgmentTexts,
}

impl SendSettings {
    pub fn of(
        state: &AppState,
        conn: &mut DbConnection,
        organization_id: &str,
    ) -> Result<SendSettings, ApiError> {
        let organization = organizations::find(conn, organization_id)?;
        Ok(SendSettings {
            rules: state
                .rules
                .resolve(&organization.id, organization.routing_rules.as_deref())?,
            acknowledgments: acknowledgment_texts(organization.acknowledgment_texts.as_deref())?,
        })
    }

    pub fn route(&self, send: &ParsedSend) -> RoutingDecision {
        let decision = self.rules.route(send.body.as_str());
        crate::metrics::record_routing(&decision);
        decision
    }

    /// The send as persistence stores it, routed by `decision` and audited with `audit`.
    pub fn message<'a>(
        &'a self,
        send: &'a ParsedSend,
        decision: &'a RoutingDecision,
        audit: &'a NewAuditEvent,
    ) -> PatientMessage<'a> {
        PatientMessage {
            body: &send.body,
            client_message_id: send.client_message_id.as_ref(),
            decision,
            acknowledgments: &self.acknowledgments,
            audit,
        }
    }
}

/// The views of a send's message (its author is the sender) and of its acknowledgment (which
/// has none).
fn message_views(sent: &Sent) -> (MessageView, Option<MessageView>) {
    let names = HashMap::from([(sent.patient.id.clone(), sent.patient.display_name.clone())]);
    (
        MessageView::of(&sent.message, &names),
        sent.acknowledgment
            .as_ref()
            .map(|row| MessageView::of(row, &names)),
    )
}

fn created_or_replayed(replayed: bool) -> actix_web::HttpResponseBuilder {
    if replayed {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    }
}

/// The caller's conversations.
///
/// The patient's own conversations, open and closed, newest activity first, with the status
/// and a preview of the latest message they can see. Patients only.
#[utoipa::path(
    tag = "patient app",
    operation_id = "listPatientConversations",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of the caller's conversations", body = Paged<PatientConversation>),
        (status = 400, description = "`invalid_request`: bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not a patient", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/patient/conversations")]
pub async fn list_patient_conversations(
    state: web::Data<AppState>,
    caller: PatientCaller,
    context: RequestContext,
    page: web::Query<PageParams>,
) -> Result<web::Json<Paged<PatientConversation>>, ApiError> {
    let limit = page.limit()?;
    let after = page.after()?;
    let audit = Audit::new(&context, &caller, "conversation.list");
    let reader_id = caller.id.clone();
    let page = audit
        .read(&state, move |conn| {
            Ok(conversations::list_for_patient(
                conn,
                &caller.id,
                after.as_ref(),
                limit,
            )?)
        })
        .await?;
    let ids: Vec<String> = page.items.iter().map(|row| row.id.clone()).collect();
    let unread = state
        .db(move |conn| {
            let reader = Reader {
                id: &reader_id,
                is_patient: true,
            };
            Ok(read_markers::unread_counts(conn, reader, &ids)?)
        })
        .await?;
    Ok(web::Json(Paged {
        items: page
            .items
            .iter()
            .map(|row| PatientConversation {
                unread: Some(unread.get(&row.id).copied().unwrap_or(0)),
                ..PatientConversation::of(row)
            })
            .collect(),
        next_cursor: page.next.as_ref().map(encode_cursor),
    }))
}

/// Start a conversation.
///
/// The first message is routed by its content (care team or Support, urgent or not) and the
/// patient gets an automatic acknowledgment at once. A retry with the same `client_message_id`
/// and text returns the original (200).
#[utoipa::path(
    tag = "patient app",
    operation_id = "startPatientConversation",
    security(("bearer" = [])),
    request_body = SendMessage,
    responses(
        (status = 201, description = "Started", body = StartedConversation),
        (status = 200, description = "A retry of an earlier send: the original", body = StartedConversation),
        (status = 403, description = "`forbidden`: the caller is not a patient", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`idempotency_key_reused`: the `client_message_id` was already used for a different message", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: blank, too long or otherwise invalid message", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many messages in a short time; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/patient/conversations")]
pub async fn start_patient_conversation(
    state: web::Data<AppState>,
    caller: PatientCaller,
    context: RequestContext,
    request: JsonObject<SendMessage>,
) -> Result<HttpResponse, ApiError> {
    let (send, audit) = accept_send(&state, &caller, &context, request.into_inner())?;
    let handler_state = state.get_ref().clone();
    let sent = state
        .db(move |conn| {
            let settings = SendSettings::of(&handler_state, conn, &caller.organization_id)?;
            let decision = settings.route(&send);
            let message = settings.message(&send, &decision, audit.event());
            conversations::start_by_patient(conn, &caller.id, &message)
                .map_err(|error| write_error(conn, error))
        })
        .await?;
    let (message, acknowledgment) = message_views(&sent);
    Ok(
        created_or_replayed(sent.replayed).json(StartedConversation {
            conversation: PatientConversation::of(&sent.conversation),
            message,
            acknowledgment,
        }),
    )
}

/// Messages of one of the caller's conversations.
///
/// Oldest first: the patient's own messages, staff replies and the clinic's acknowledgments —
/// never internal notes, handoff summaries or routing details. Another patient's conversation
/// is not found.
#[utoipa::path(
    tag = "patient app",
    operation_id = "listPatientMessages",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The messages", body = MessageList),
        (status = 403, description = "`forbidden`: the caller is not a patient", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such conversation of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/patient/conversations/{id}/messages")]
pub async fn list_patient_messages(
    state: web::Data<AppState>,
    caller: PatientCaller,
    context: RequestContext,
    path: web::Path<String>,
) -> Result<web::Json<MessageList>, ApiError> {
    let id = conversation_id(&path)?;
    let audit = Audit::new(&context, &caller, "conversation.messages.read").on("conversation", &id);
    let items = audit
        .read(&state, move |conn| {
            conversations::find_for_patient(conn, &caller.id, &id)
                .map_err(|_| ApiError::not_found("conversation"))?;
            let rows = conversations::messages_of(conn, &id, false)?;
            let names = accounts::display_names(conn, &author_ids(&rows))?;
            Ok(rows
                .iter()
                .map(|row| MessageView::of(row, &names))
                .collect())
        })
        .await?;
    Ok(web::Json(MessageList { items }))
}

/// Write in one of the caller's conversations.
///
/// A closed conversation reopens (and is acknowledged again); an urgent message moves a
/// care-team conversation to Support and is always acknowledged with emergency advice.
#[utoipa::path(
    tag = "patient app",
    operation_id = "postPatientMessage",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Conversation id")),
    request_body = SendMessage,
    responses(
        (status = 201, description = "Sent", body = PostedMessage),
        (status = 200, description = "A retry of an earlier send: the original", body = PostedMessage),
        (status = 403, description = "`forbidden`: the caller is not a patient", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such conversation of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`idempotency_key_reused`: the `client_message_id` was already used for a different message", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: blank, too long or otherwise invalid message", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many messages in a short time; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/patient/conversations/{id}/messages")]
pub async fn post_patient_message(
    state: web::Data<AppState>,
    caller: PatientCaller,
    context: RequestContext,
    path: web::Path<String>,
    request: JsonObject<SendMessage>,
) -> Result<HttpResponse, ApiError> {
    let id = conversation_id(&path)?;
    let (send, audit) = accept_send(&state, &caller, &context, request.into_inner())?;
    let sent = state
        .sends
        .post(caller.0.clone(), id, send, audit.event().clone())
        .await?;
    let (message, acknowledgment) = message_views(&sent);
    Ok(created_or_replayed(sent.replayed).json(PostedMessage {
        conversation: PatientConversation::of(&sent.conversation),
        message,
        acknowledgment,
    }))
}

pub fn configure(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(list_patient_conversations)
        .service(start_patient_conversation)
        .service(list_patient_messages)
        .service(post_patient_message);
}
