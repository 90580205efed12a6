//! Response bodies shared by the patient app and the staff inbox.

use std::collections::HashMap;

use chrono::{NaiveDateTime, SecondsFormat};
use persistence::conversations::{message_kind, ConversationRow, MessageRow};
use serde::Serialize;
use utoipa::ToSchema;

/// RFC 3339 UTC with milliseconds, as the contract writes times.
pub fn timestamp(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn optional_timestamp(at: Option<NaiveDateTime>) -> Option<String> {
    at.map(timestamp)
}

/// Whether a conversation is open (in the tabs `assigned`, `my_clinic` or `support`) or closed.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Open,
    Closed,
}

impl ConversationStatus {
    pub fn of(row: &ConversationRow) -> Self {
        if row.status == "closed" {
            ConversationStatus::Closed
        } else {
            ConversationStatus::Open
        }
    }
}

/// Who wrote a message, as the patient app shows it.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Written by the patient.
    Patient,
    /// A reply from a clinician, coach, support agent or admin.
    Staff,
    /// The automatic acknowledgment of the clinic.
    Acknowledgment,
    /// Staff-only note (never shown to patients); handoff summaries are notes too.
    InternalNote,
}

impl MessageKind {
    fn of(row: &MessageRow) -> Self {
        match row.kind.as_str() {
            message_kind::PATIENT => MessageKind::Patient,
            message_kind::ACKNOWLEDGMENT => MessageKind::Acknowledgment,
            message_kind::INTERNAL_NOTE => MessageKind::InternalNote,
            _ => MessageKind::Staff,
        }
    }
}

/// A person, by id and name.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a7b0-0000-7000-8000-000000000001", "display_name": "Dr. Dana Rivera"}))]
pub struct PersonRef {
    #[schema(format = Uuid)]
    pub id: String,
    pub display_name: String,
}

impl PersonRef {
    pub fn lookup(id: Option<&String>, names: &HashMap<String, String>) -> Option<PersonRef> {
        id.map(|id| PersonRef {
            id: id.clone(),
            display_name: names.get(id).cloned().unwrap_or_default(),
        })
    }
}

/// A message as its readers see it: from the patient, from staff, the clinic's automatic
/// acknowledgment, or (staff only) an internal note.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a7b0-0000-7000-8000-000000000010",
    "conversation_id": "0193a7b0-0000-7000-8000-000000000020",
    "kind": "patient",
    "author": {"id": "0193a7b0-0000-7000-8000-000000000030", "display_name": "Alice Moreno"},
    "body": "Should I keep icing my knee after the exercises?",
    "client_message_id": "7f7c1c1e-3f0e-4a59-9a55-0d1f3c4b5a6e",
    "created_at": "2026-11-24T15:04:05.123Z"
}))]
pub struct MessageView {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub conversation_id: String,
    pub kind: MessageKind,
    /// `null` for automatic acknowledgments.
    #[schema(required = true)]
    pub author: Option<PersonRef>,
    pub body: String,
    /// The sender's idempotency key, when one was given.
    #[schema(required = true)]
    pub client_message_id: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl MessageView {
    pub fn of(row: &MessageRow, names: &HashMap<String, String>) -> Self {
        MessageView {
            id: row.id.clone(),
            conversation_id: row.conversation_id.clone(),
            kind: MessageKind::of(row),
            author: PersonRef::lookup(row.author_id.as_ref(), names),
            body: row.body.clone(),
            client_message_id: row.client_message_id.clone(),
            created_at: timestamp(row.created_at),
        }
    }
}

/// Author ids of messages, for one name lookup.
pub fn author_ids<'a>(rows: impl IntoIterator<Item = &'a MessageRow>) -> Vec<String> {
    let mut ids: Vec<String> = rows
        .into_iter()
        .filter_map(|row| row.author_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}
