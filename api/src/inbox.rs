//! The staff inbox of the Clinician Platform: the tabs and their counts, search, a
//! conversation's detail and full timeline, and starting a conversation with a patient. Support
//! agents see only Support's conversations everywhere here; nobody sees another organization's.

use std::collections::HashMap;

use actix_web::{get, post, web, HttpResponse};
use domain::access::visible_team;
use domain::message::MessageBody;
use domain::roles::Role;
use persistence::conversations::{
    self, ConversationRow, EventRow, MessageRow, StaffActor, WriteError,
};
use persistence::inbox::{self, InboxFilter, Tab};
use persistence::read_markers::{self, Reader};
use persistence::search::{SearchTerms, HIGHLIGHT_END, HIGHLIGHT_START};
use persistence::{accounts, DbConnection, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{AllOfBuilder, Discriminator, OneOfBuilder, Schema};
use utoipa::openapi::{ObjectBuilder, Ref, RefOr, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::audit::{Audit, RequestContext};
use crate::auth::{Caller, StaffCaller, TeamName};
use crate::conversation_actions::StaffMessageResponse;
use crate::conversation_errors::write_error;
use crate::error::{ApiError, Problem};
use crate::json_body::JsonObject;
use crate::pagination::{encode_cursor, PageParams, Paged};
use crate::patient_app::conversation_id;
use crate::routing_rules::CategoryName;
use crate::state::AppState;
use crate::views::{
    author_ids, optional_timestamp, timestamp, ConversationStatus, MessageView, PersonRef,
};

/// The caller as the conversation queries and writes know them.
pub fn staff_actor(caller: &Caller) -> StaffActor<'_> {
    StaffActor {
        id: &caller.id,
        organization_id: &caller.organization_id,
        is_admin: caller.role == Role::Admin,
        visible_team: visible_team(caller.role),
    }
}

/// A row of the inbox.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a7b0-0000-7000-8000-000000000020",
    "patient": {"id": "0193a7b0-0000-7000-8000-000000000030", "display_name": "Alice Moreno"},
    "team": "care_team",
    "status": "open",
    "urgent": false,
    "category": "clinical",
    "assigned_to": {"id": "0193a7b0-0000-7000-8000-000000000001", "display_name": "Dr. Dana Rivera"},
    "claimed_by": null,
    "last_message_preview": "My knee is still swollen after the exercises",
    "last_message_at": "2026-11-24T15:04:05.123Z",
    "last_activity_at": "2026-11-24T15:04:05.123Z",
    "unanswered_since": "2026-11-24T15:04:05.123Z",
    "created_at": "2026-11-24T15:04:05.123Z"
}))]
pub struct ConversationSummary {
    #[schema(format = Uuid)]
    pub id: String,
    pub patient: PersonRef,
    /// The team the conversation is with.
    pub team: TeamName,
    pub status: ConversationStatus,
    /// Urgent or safety-sensitive: with Support, listed first.
    pub urgent: bool,
    /// What routing decided the conversation is about; `null` for conversations staff started.
    #[schema(required = true)]
    pub category: Option<CategoryName>,
    /// The patient's clinician, for care-team conversations of a patient who has one.
    #[schema(required = true)]
    pub assigned_to: Option<PersonRef>,
    /// Who is answering; only they can reply or close it.
    #[schema(required = true)]
    pub claimed_by: Option<PersonRef>,
    /// The start of the latest message, internal notes included.
    pub last_message_preview: String,
    #[schema(format = DateTime)]
    pub last_message_at: String,
    /// The most recent patient activity (creation, for conversations staff started): the order
    /// of the inbox.
    #[schema(format = DateTime)]
    pub last_activity_at: String,
    /// Since when a patient message waits for a staff reply; `null` when answered.
    #[schema(required = true, format = DateTime)]
    pub unanswered_since: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Only in search results (`q`): an excerpt of the latest message with one of the words
    /// (about 24 words, `…` where text was left out), as an HTML fragment — the text escaped,
    /// the matched words in `<mark>`. Absent when only the patient's name matched, and outside
    /// search results.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub snippet: Option<String>,
    /// Only in the inbox list: messages the caller has not read (see `markConversationRead`),
    /// their own aside.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub unread: Option<i64>,
}

fn corrupt(what: String) -> ApiError {
    StoreError::Corrupt(what).into()
}

impl ConversationSummary {
    fn of(row: &ConversationRow, names: &HashMap<String, String>) -> Result<Self, ApiError> {
        let category = row
            .category
            .as_deref()
            .map(|stored| {
                domain::routing::Category::parse(stored)
                    .map(CategoryName::from)
                    .ok_or_else(|| {
                        corrupt(format!("conversation {} has category {stored}", row.id))
                    })
            })
            .transpose()?;
        Ok(ConversationSummary {
            id: row.id.clone(),
            patient: PersonRef {
                id: row.patient_id.clone(),
                display_name: names.get(&row.patient_id).cloned().unwrap_or_default(),
            },
            team: row.state()?.team.into(),
            status: ConversationStatus::of(row),
            urgent: row.urgent,
            category,
            assigned_to: PersonRef::lookup(row.assigned_to.as_ref(), names),
            claimed_by: PersonRef::lookup(row.claimed_by.as_ref(), names),
            last_message_preview: row.last_message_preview.clone(),
            last_message_at: timestamp(row.last_message_at),
            last_activity_at: timestamp(row.last_activity_at),
            unanswered_since: optional_timestamp(row.unanswered_since),
            created_at: timestamp(row.created_at),
            snippet: None,
            unread: None,
        })
    }
}

/// Summaries of conversations, with one lookup of the people they name.
pub fn summaries(
    conn: &mut DbConnection,
    rows: &[ConversationRow],
) -> Result<Vec<ConversationSummary>, ApiError> {
    let mut ids: Vec<String> = rows
        .iter()
        .flat_map(|row| {
            [
                Some(&row.patient_id),
                row.assigned_to.as_ref(),
                row.claimed_by.as_ref(),
            ]
        })
        .flatten()
        .cloned()
        .collect();
    ids.sort();
    ids.dedup();
    let names = accounts::display_names(conn, &ids)?;
    rows.iter()
        .map(|row| ConversationSummary::of(row, &names))
        .collect()
}

pub fn summarize(
    conn: &mut DbConnection,
    row: &ConversationRow,
) -> Result<ConversationSummary, ApiError> {
    summaries(conn, std::slice::from_ref(row))?
        .pop()
        .ok_or_else(|| ApiError::internal("a summary of one conversation is missing"))
}

/// The words of a `q` parameter; a blank `q` is no search.
pub fn search_terms(q: Option<&str>) -> Result<Option<SearchTerms>, ApiError> {
    q.filter(|q| !q.trim().is_empty())
        .map(SearchTerms::parse)
        .transpose()
        .map_err(|error| ApiError::invalid_request(format!("q: {error}.")))
}

/// The snippet as an HTML fragment: escaped text, matches in `<mark>`.
fn highlighted(snippet: &str) -> String {
    let mut html = String::with_capacity(snippet.len() + 32);
    for c in snippet.chars() {
        match c {
            HIGHLIGHT_START => html.push_str("<mark>"),
            HIGHLIGHT_END => html.push_str("</mark>"),
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            c => html.push(c),
        }
    }
    html
}

/// The tabs of the inbox.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InboxTab {
    /// Open, and assigned to or claimed by the caller.
    #[default]
    Assigned,
    /// Open care-team conversations nobody is assigned to.
    MyClinic,
    /// Open conversations with Support.
    Support,
    Closed,
}

impl From<InboxTab> for Tab {
    fn from(tab: InboxTab) -> Self {
        match tab {
            InboxTab::Assigned => Tab::Assigned,
            InboxTab::MyClinic => Tab::MyClinic,
            InboxTab::Support => Tab::Support,
            InboxTab::Closed => Tab::Closed,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxParams {
    /// The tab; `assigned` when absent. Open tabs list urgent conversations first, then the most
    /// recent patient activity; `closed` lists by activity alone.
    #[param(inline)]
    pub tab: Option<InboxTab>,
    /// Words to find, up to 200 characters: every word must occur (in any form: "bleeding"
    /// finds "bleed") in the conversation's messages — staff replies and internal notes
    /// included, not necessarily all in one — or, as the start of a word, in the patient's
    /// name. Each result's `snippet` is from its latest message with one of the words. Works in
    /// every tab, `closed` included.
    pub q: Option<String>,
    /// Only urgent (`true`) or only non-urgent (`false`) conversations.
    pub urgent: Option<bool>,
    /// Only this patient's conversations.
    #[param(format = Uuid)]
    pub patient_id: Option<String>,
}

/// Counts of the caller's tabs: the open conversations of `assigned`, `my_clinic` and
/// `support`, and the closed conversations they may see.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"assigned": 3, "my_clinic": 7, "support": 2, "closed": 41, "unread": 2}))]
pub struct InboxCounts {
    pub assigned: i64,
    pub my_clinic: i64,
    pub support: i64,
    pub closed: i64,
    /// Open conversations the caller may see that hold a message they have not read.
    pub unread: i64,
}

impl From<inbox::Counts> for InboxCounts {
    fn from(counts: inbox::Counts) -> Self {
        InboxCounts {
            assigned: counts.assigned,
            my_clinic: counts.my_clinic,
            support: counts.support,
            closed: counts.closed,
            unread: counts.unread,
        }
    }
}

/// The inbox: one tab, optionally searched and filtered.
///
/// `assigned`: open conversations assigned to or claimed by the caller; `my_clinic`: open
/// care-team conversations nobody is assigned to; `support`: open conversations with Support;
/// `closed`: closed ones. Support agents see only conversations currently with Support. Every row shows the patient, team, urgency, assignee, claim holder
/// and a preview of the latest message; search results (`q`) add a highlighted `snippet`.
#[utoipa::path(
    tag = "inbox",
    operation_id = "listConversations",
    security(("bearer" = [])),
    params(InboxParams, PageParams),
    responses(
        (status = 200, description = "A page of the tab", body = Paged<ConversationSummary>),
        (status = 400, description = "`invalid_request`: unknown tab, bad filter, `q` too long, bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not staff", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/conversations")]
pub async fn list_conversations(
    state: web::Data<AppState>,
    caller: StaffCaller,
    context: RequestContext,
    params: web::Query<InboxParams>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Paged<ConversationSummary>>, ApiError> {
    let limit = page.limit()?;
    let after = page.after()?;
    let InboxParams {
        tab,
        q,
        urgent,
        patient_id,
    } = params.into_inner();
    let search = search_terms(q.as_deref())?;
    let patient_id = patient_id
        .as_deref()
        .map(uuid::Uuid::parse_str)
        .transpose()
        .map_err(|_| ApiError::invalid_request("patient_id must be a patient's id (a UUID)."))?
        .map(|id| id.to_string());
    let audit = Audit::new(&context, &caller, "conversation.list");
    audit
        .read(&state, move |conn| {
            let filter = InboxFilter {
                tab: tab.unwrap_or_default().into(),
                search: search.as_ref(),
                urgent,
                patient_id: patient_id.as_deref(),
            };
            let page = inbox::list(conn, &staff_actor(&caller), &filter, after.as_ref(), limit)?;
            let mut items = summaries(conn, &page.items)?;
            let ids: Vec<String> = page.items.iter().map(|row| row.id.clone()).collect();
            let reader = Reader {
                id: &caller.id,
                is_patient: false,
            };
            let unread = read_markers::unread_counts(conn, reader, &ids)?;
            for item in &mut items {
                item.unread = Some(unread.get(&item.id).copied().unwrap_or(0));
            }
            if let Some(terms) = &search {
                let snippets = inbox::snippets(conn, terms, &ids)?;
                for item in &mut items {
                    item.snippet = snippets.get(&item.id).map(|snippet| highlighted(snippet));
                }
            }
            Ok(web::Json(Paged {
                items,
                next_cursor: page.next.as_ref().map(encode_cursor),
            }))
        })
        .await
}

/// How many conversations each of the caller's tabs holds.
///
/// The same visibility as `GET /v1/conversations`: the open conversations of `assigned`,
/// `my_clinic` and `support`, and the closed ones the caller may see. For the tab badges.
#[utoipa::path(
    tag = "inbox",
    operation_id = "getInboxCounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The counts", body = InboxCounts),
        (status = 403, description = "`forbidden`: the caller is not staff", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/inbox/counts")]
pub async fn get_inbox_counts(
    state: web::Data<AppState>,
    caller: StaffCaller,
) -> Result<web::Json<InboxCounts>, ApiError> {
    let counts = state
        .db(move |conn| Ok(inbox::counts(conn, &staff_actor(&caller))?))
        .await?;
    Ok(web::Json(counts.into()))
}

/// Why routing placed the conversation where it is.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"category": "tech", "matched_rules": ["urgent.chest_pain", "tech.login"]}))]
pub struct RoutingView {
    /// `null` for conversations staff started.
    #[schema(required = true)]
    pub category: Option<CategoryName>,
    /// Ids of the rules that fired on the message that placed it.
    pub matched_rules: Vec<String>,
}

/// A "Send to Support" (or back to the care team).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "from": "care_team",
    "to": "support",
    "by": {"id": "0193a7b0-0000-7000-8000-000000000001", "display_name": "Dr. Dana Rivera"},
    "at": "2026-11-24T16:00:00.000Z"
}))]
pub struct HandoffView {
    pub from: TeamName,
    pub to: TeamName,
    /// Who confirmed it; `null` when that account is gone.
    #[schema(required = true)]
    pub by: Option<PersonRef>,
    #[schema(format = DateTime)]
    pub at: String,
}

/// The details a `handed_off` event stores.
#[derive(Deserialize)]
struct Moved {
    from: TeamName,
    to: TeamName,
}

/// A conversation as the inbox row shows it, with why routing placed it and its handoffs.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a7b0-0000-7000-8000-000000000020",
    "patient": {"id": "0193a7b0-0000-7000-8000-000000000030", "display_name": "Alice Moreno"},
    "team": "support",
    "status": "open",
    "urgent": false,
    "category": "tech",
    "assigned_to": null,
    "claimed_by": null,
    "last_message_preview": "Alice cannot log in to the app since the update.",
    "last_message_at": "2026-11-24T16:00:00.000Z",
    "last_activity_at": "2026-11-24T15:04:05.123Z",
    "unanswered_since": null,
    "created_at": "2026-11-24T15:04:05.123Z",
    "routing": {"category": "tech", "matched_rules": ["tech.login"]},
    "handoffs": [{
        "from": "care_team",
        "to": "support",
        "by": {"id": "0193a7b0-0000-7000-8000-000000000001", "display_name": "Dr. Dana Rivera"},
        "at": "2026-11-24T16:00:00.000Z"
    }]
}))]
pub struct ConversationDetail {
    #[serde(flatten)]
    pub conversation: ConversationSummary,
    pub routing: RoutingView,
    /// Oldest first.
    pub handoffs: Vec<HandoffView>,
}

fn event_names(
    conn: &mut DbConnection,
    messages: &[conversations::MessageRow],
    events: &[EventRow],
) -> Result<HashMap<String, String>, StoreError> {
    let mut ids = author_ids(messages);
    ids.extend(events.iter().filter_map(|event| event.actor_id.clone()));
    ids.sort();
    ids.dedup();
    accounts::display_names(conn, &ids)
}

fn handoffs(
    events: &[EventRow],
    names: &HashMap<String, String>,
) -> Result<Vec<HandoffView>, ApiError> {
    events
        .iter()
        .filter(|event| event.kind == "handed_off")
        .map(|event| {
            let moved: Moved = serde_json::from_str(&event.details)
                .map_err(|error| corrupt(format!("handoff event {}: {error}", event.id)))?;
            Ok(HandoffView {
                from: moved.from,
                to: moved.to,
                by: PersonRef::lookup(event.actor_id.as_ref(), names),
                at: timestamp(event.created_at),
            })
        })
        .collect()
}

/// One conversation.
///
/// Where it is (team, status, urgency), who it is assigned to and who holds the claim, why
/// routing placed it there (category and the rules that fired), and its handoffs. A
/// conversation the caller may not see — another organization's, or a care-team one for a
/// support agent — is not found.
#[utoipa::path(
    tag = "inbox",
    operation_id = "getConversation",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation", body = ConversationDetail),
        (status = 403, description = "`forbidden`: the caller is not staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such conversation visible to the caller", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/conversations/{id}")]
pub async fn get_conversation(
    state: web::Data<AppState>,
    caller: StaffCaller,
    context: RequestContext,
    path: web::Path<String>,
) -> Result<web::Json<ConversationDetail>, ApiError> {
    let id = conversation_id(&path)?;
    let audit = Audit::new(&context, &caller, "conversation.read").on("conversation", &id);
    audit
        .read(&state, move |conn| {
            let row = find_visible(conn, &caller, &id)?;
            let events = conversations::events_of(conn, &id)?;
            let names = event_names(conn, &[], &events)?;
            let conversation = summarize(conn, &row)?;
            Ok(web::Json(ConversationDetail {
                routing: RoutingView {
                    category: conversation.category,
                    matched_rules: row.matched_rules(),
                },
                handoffs: handoffs(&events, &names)?,
                conversation,
            }))
        })
        .await
}

fn find_visible(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
) -> Result<ConversationRow, ApiError> {
    conversations::find_for_staff(conn, &staff_actor(caller), id).map_err(|error| match error {
        StoreError::NotFound => ApiError::not_found("conversation"),
        other => other.into(),
    })
}

/// Kinds of timeline events.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A staff member started the conversation.
    Started,
    /// Routing placed it (details: team, category, urgent, matched_rules).
    Routed,
    /// Auto-assigned to the patient's clinician (details: assigned_to).
    Assigned,
    /// An urgent message moved it from the care team to Support (details: from, to, category,
    /// matched_rules).
    Escalated,
    /// An urgent message arrived in a Support conversation.
    FlaggedUrgent,
    Claimed,
    Released,
    Closed,
    /// Details: reason (`patient_message` or `staff_request`).
    Reopened,
    /// Details: from, to.
    HandedOff,
}

/// Something that happened to a conversation: routing, assignment, claims, handoffs.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a7b0-0000-7000-8000-000000000040",
    "kind": "routed",
    "actor": null,
    "details": {"team": "care_team", "category": "clinical", "urgent": false, "matched_rules": ["clinical.swelling"]},
    "created_at": "2026-11-24T15:04:05.123Z"
}))]
pub struct TimelineEvent {
    #[schema(format = Uuid)]
    pub id: String,
    pub kind: EventKind,
    /// `null` when the system acted (routing, assignment, escalation).
    #[schema(required = true)]
    pub actor: Option<PersonRef>,
    /// What happened, by kind (see `kind`).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl TimelineEvent {
    fn of(row: &EventRow, names: &HashMap<String, String>) -> Result<Self, ApiError> {
        let malformed = |error: serde_json::Error| corrupt(format!("event {}: {error}", row.id));
        Ok(TimelineEvent {
            id: row.id.clone(),
            kind: serde_json::from_value(serde_json::Value::String(row.kind.clone()))
                .map_err(malformed)?,
            actor: PersonRef::lookup(row.actor_id.as_ref(), names),
            details: serde_json::from_str(&row.details).map_err(malformed)?,
            created_at: timestamp(row.created_at),
        })
    }
}

/// One entry of the staff timeline.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimelineItem {
    Message(MessageView),
    Event(TimelineEvent),
}

/// Written out rather than derived so that each variant is a named schema: the derive makes a
/// `oneOf` of inline `allOf`s, which client generators (openapi-python-client) cannot read.
impl utoipa::PartialSchema for TimelineItem {
    fn schema() -> RefOr<Schema> {
        let variant = |name: &str| format!("#/components/schemas/{name}");
        OneOfBuilder::new()
            .item(Ref::from_schema_name(TIMELINE_MESSAGE))
            .item(Ref::from_schema_name(TIMELINE_EVENT))
            .discriminator(Some(Discriminator::with_mapping(
                "type",
                [
                    ("message", variant(TIMELINE_MESSAGE)),
                    ("event", variant(TIMELINE_EVENT)),
                ],
            )))
            .description(Some(
                "One entry of the staff timeline: a message (`type: message`) or an event \
                 (`type: event`).",
            ))
            .into()
    }
}

const TIMELINE_MESSAGE: &str = "TimelineMessageItem";
const TIMELINE_EVENT: &str = "TimelineEventItem";

impl ToSchema for TimelineItem {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            TIMELINE_MESSAGE.to_owned(),
            tagged::<MessageView>("message", "A message in the timeline."),
        ));
        schemas.push((
            TIMELINE_EVENT.to_owned(),
            tagged::<TimelineEvent>("event", "An event in the timeline."),
        ));
        schemas.push((MessageView::name().into_owned(), MessageView::schema()));
        MessageView::schemas(schemas);
        schemas.push((TimelineEvent::name().into_owned(), TimelineEvent::schema()));
        TimelineEvent::schemas(schemas);
    }
}

/// `T` with the `type` member that tells the variants of [`TimelineItem`] apart.
fn tagged<T: ToSchema>(tag: &str, description: &str) -> RefOr<Schema> {
    AllOfBuilder::new()
        .item(Ref::from_schema_name(T::name()))
        .item(
            ObjectBuilder::new()
                .property(
                    "type",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some([tag])),
                )
                .required("type"),
        )
        .description(Some(description))
        .into()
}

/// Messages and events in time order; at the same instant the message comes first (the events
/// it caused follow it).
fn timeline(
    messages: &[conversations::MessageRow],
    events: &[EventRow],
    names: &HashMap<String, String>,
) -> Result<Vec<TimelineItem>, ApiError> {
    let mut items = Vec::with_capacity(messages.len() + events.len());
    let mut events = events.iter().peekable();
    for message in messages {
        while let Some(event) = events.next_if(|event| event.created_at < message.created_at) {
            items.push(TimelineItem::Event(TimelineEvent::of(event, names)?));
        }
        items.push(TimelineItem::Message(MessageView::of(message, names)));
    }
    for event in events {
        items.push(TimelineItem::Event(TimelineEvent::of(event, names)?));
    }
    Ok(items)
}

/// The full timeline of a conversation.
///
/// Patient and staff messages, acknowledgments, internal notes and system events, oldest first.
/// The whole timeline comes in one page: `next_cursor` is always `null`.
#[utoipa::path(
    tag = "inbox",
    operation_id = "getConversationTimeline",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The timeline", body = Paged<TimelineItem>),
        (status = 403, description = "`forbidden`: the caller is not staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such conversation visible to the caller", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/conversations/{id}/messages")]
pub async fn get_conversation_timeline(
    state: web::Data<AppState>,
    caller: StaffCaller,
    context: RequestContext,
    path: web::Path<String>,
) -> Result<web::Json<Paged<TimelineItem>>, ApiError> {
    let id = conversation_id(&path)?;
    let audit = Audit::new(&context, &caller, "conversation.messages.read").on("conversation", &id);
    audit
        .read(&state, move |conn| {
            find_visible(conn, &caller, &id)?;
            let messages = conversations::messages_of(conn, &id, true)?;
            let events = conversations::events_of(conn, &id)?;
            let names = event_names(conn, &messages, &events)?;
            Ok(web::Json(Paged {
                items: timeline(&messages, &events, &names)?,
                next_cursor: None,
            }))
        })
        .await
}

/// "+", pick a patient, "Create Chat".
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "patient_id": "0193a7b0-0000-7000-8000-000000000030",
    "body": "Hi Alice, how is the knee after this week's sessions?"
}))]
pub struct StartConversationRequest {
    /// A patient of the caller's organization.
    #[schema(format = Uuid)]
    pub patient_id: String,
    /// The first message, 1 to 4000 characters after trimming.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*\S[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub body: String,
}

/// Start a conversation with a patient.
///
/// It opens in the caller's team, held by the caller (they are the one writing), and is
/// assigned to the patient's clinician when it is a care-team conversation. The patient sees it
/// in their app at once.
#[utoipa::path(
    tag = "inbox",
    operation_id = "startConversation",
    security(("bearer" = [])),
    request_body = StartConversationRequest,
    responses(
        (status = 201, description = "Started", body = StaffMessageResponse),
        (status = 403, description = "`forbidden`: the caller is not staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such patient in the caller's organization", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: blank or too long message, or unknown fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations")]
pub async fn start_conversation(
    state: web::Data<AppState>,
    caller: StaffCaller,
    context: RequestContext,
    request: JsonObject<StartConversationRequest>,
) -> Result<HttpResponse, ApiError> {
    let StartConversationRequest { patient_id, body } = request.into_inner();
    let body = MessageBody::parse(&body)
        .map_err(|error| ApiError::validation(format!("body: {error}.")))?;
    let no_patient = || ApiError::not_found("patient");
    let patient_id = uuid::Uuid::parse_str(&patient_id)
        .map_err(|_| no_patient())?
        .to_string();
    let team = caller
        .role
        .team()
        .ok_or_else(|| ApiError::forbidden("Only staff start conversations."))?;
    let audit = Audit::new(&context, &caller, "conversation.start");
    let started = state
        .db(move |conn| {
            let (row, message) = audit.write_about(
                conn,
                "conversation",
                |(row, _): &(ConversationRow, MessageRow)| row.id.clone(),
                |conn| {
                    conversations::start_by_staff(
                        conn,
                        &staff_actor(&caller),
                        team,
                        &patient_id,
                        &body,
                    )
                    .map_err(|error| match error {
                        WriteError::Store(StoreError::NotFound) => no_patient(),
                        other => write_error(conn, other),
                    })
                },
            )?;
            let names = accounts::display_names(conn, &author_ids([&message]))?;
            Ok(StaffMessageResponse {
                conversation: summarize(conn, &row)?,
                message: MessageView::of(&message, &names),
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(started))
}

pub fn configure(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(list_conversations)
        .service(get_inbox_counts)
        .service(start_conversation)
        .service(get_conversation)
        .service(get_conversation_timeline);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_escaped_then_marked() {
        let raw = format!("a <b>&'\" {HIGHLIGHT_START}bleeding{HIGHLIGHT_END} knee");
        assert_eq!(
            highlighted(&raw),
            "a &lt;b&gt;&amp;&#39;&quot; <mark>bleeding</mark> knee"
        );
    }
}
