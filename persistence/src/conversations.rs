//! Conversations, their messages and timeline events: the writes of the patient app and the
//! staff actions. Every write commits the conversation's new state, its messages and its events
//! together or not at all; the rules come from `domain::conversation`.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text, Timestamp};
use domain::acknowledgment::AcknowledgmentTexts;
use domain::conversation::{Actor, Conversation, ConversationError, Event, Status, Transition};
use domain::message::{ClientMessageId, MessageBody};
use domain::routing::{RoutingDecision, Team};

use crate::accounts::Patient;
use crate::audit::{self, NewAuditEvent};
use crate::column_arrays::{array_rows, ArrayRows};
use crate::db::write_transaction;
use crate::schema::{
    closed_conversation_counts, conversation_events, conversations, messages, patients,
};
use crate::search::Condition;
use crate::{live, webhooks};
use crate::{new_id, now, DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, PartialEq, Eq)]
#[diesel(table_name = conversations, treat_none_as_null = true)]
pub struct ConversationRow {
    pub id: String,
    pub organization_id: String,
    pub patient_id: String,
    pub team: String,
    pub status: String,
    pub urgent: bool,
    pub category: Option<String>,
    pub matched_rules: String,
    pub assigned_to: Option<String>,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<NaiveDateTime>,
    pub last_activity_at: NaiveDateTime,
    pub last_message_at: NaiveDateTime,
    pub last_message_preview: String,
    pub unanswered_since: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
    /// The time of the newest message visible to staff (internal notes too, acknowledgments
    /// aside), its author, and the time of the newest such message by anyone else: staff member
    /// S has something unread after their marker iff the newest message S did not write is after
    /// it, which is the newest message when S did not write it and else the newest other one
    /// (see [`ConversationRow::take_message`] and `read_markers::unread_conversations`).
    pub newest_message_at: NaiveDateTime,
    pub newest_message_author_id: Option<String>,
    pub newest_other_message_at: Option<NaiveDateTime>,
}

impl EventRow {
    /// The stored form of `event` of `conversation`, caused by `actor_id` at `at`.
    pub fn of(
        conversation: &ConversationRow,
        event: &Event,
        actor_id: Option<&str>,
        at: NaiveDateTime,
    ) -> Result<EventRow, StoreError> {
        Ok(EventRow {
            id: new_id(),
            conversation_id: conversation.id.clone(),
            organization_id: conversation.organization_id.clone(),
            kind: event.kind().to_owned(),
            actor_id: match event {
                // The system routes and assigns; people do the rest.
                Event::Routed { .. }
                | Event::Assigned { .. }
                | Event::Escalated { .. }
                | Event::FlaggedUrgent { .. } => None,
                _ => actor_id.map(str::to_owned),
            },
            details: json(event)?,
            created_at: at,
        })
    }
}

impl ConversationRow {
    /// Takes on a transition's placement, claim and status as of `at`, stamping when the claim
    /// and the closing happened.
    pub fn take_state(&mut self, next: &Conversation, at: NaiveDateTime) {
        if self.claimed_by != next.claimed_by {
            self.claimed_at = next.claimed_by.as_ref().map(|_| at);
        }
        if next.status == Status::Closed && self.status != Status::Closed.as_str() {
            self.closed_at = Some(at);
        }
        if next.status == Status::Open {
            self.closed_at = None;
        }
        self.team = next.team.as_str().to_owned();
        self.status = next.status.as_str().to_owned();
        self.urgent = next.urgent;
        self.assigned_to = next.assigned_to.clone();
        self.claimed_by = next.claimed_by.clone();
    }

    /// Takes on a message added to the conversation, for the unread count. A new row's literal
    /// describes its first message, so taking that message again changes nothing.
    pub fn take_message(&mut self, message: &MessageRow) {
        if message.kind == message_kind::ACKNOWLEDGMENT {
            return;
        }
        let by_newest_author = self.newest_message_author_id == message.author_id;
        // Writes to a conversation take turns on its row, but each instance stamps with its own
        // clock: a message can come in older than the newest.
        if message.created_at < self.newest_message_at {
            if !by_newest_author {
                self.newest_other_message_at =
                    self.newest_other_message_at.max(Some(message.created_at));
            }
            return;
        }
        if !by_newest_author {
            // The newest message so far is by someone other than the new author, and newer than
            // all the others: the newest not by the new author.
            self.newest_other_message_at = Some(self.newest_message_at);
            self.newest_message_author_id = message.author_id.clone();
        }
        self.newest_message_at = message.created_at;
    }

    /// An open care-team conversation of `organization_id` whose first message is no one's.
    #[cfg(test)]
    pub(crate) fn for_tests(organization_id: &str) -> ConversationRow {
        let at = now();
        ConversationRow {
            id: new_id(),
            organization_id: organization_id.to_owned(),
            patient_id: new_id(),
            team: Team::CareTeam.as_str().to_owned(),
            status: Status::Open.as_str().to_owned(),
            urgent: false,
            category: None,
            matched_rules: "[]".to_owned(),
            assigned_to: None,
            claimed_by: None,
            claimed_at: None,
            last_activity_at: at,
            last_message_at: at,
            last_message_preview: String::new(),
            unanswered_since: None,
            created_at: at,
            closed_at: None,
            newest_message_at: at,
            newest_message_author_id: None,
            newest_other_message_at: None,
        }
    }
}

/// Message kinds as stored.
pub mod message_kind {
    pub const PATIENT: &str = "patient";
    pub const STAFF: &str = "staff";
    pub const ACKNOWLEDGMENT: &str = "acknowledgment";
    pub const INTERNAL_NOTE: &str = "internal_note";
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq, Eq)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    pub id: String,
    pub conversation_id: String,
    pub organization_id: String,
    pub kind: String,
    pub author_id: Option<String>,
    pub body: String,
    pub client_message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq, Eq)]
#[diesel(table_name = conversation_events)]
pub struct EventRow {
    pub id: String,
    pub conversation_id: String,
    pub organization_id: String,
    pub kind: String,
    pub actor_id: Option<String>,
    pub details: String,
    pub created_at: NaiveDateTime,
}

array_rows!(
    ConversationRow,
    conversations {
        id,
        organization_id,
        patient_id,
        team,
        status,
        urgent,
        category,
        matched_rules,
        assigned_to,
        claimed_by,
        claimed_at,
        last_activity_at,
        last_message_at,
        last_message_preview,
        unanswered_since,
        created_at,
        closed_at,
        newest_message_at,
        newest_message_author_id,
        newest_other_message_at
    }
);

array_rows!(
    MessageRow,
    messages {
        id,
        conversation_id,
        organization_id,
        kind,
        author_id,
        body,
        client_message_id,
        in_reply_to,
        created_at
    }
);

array_rows!(
    EventRow,
    conversation_events {
        id,
        conversation_id,
        organization_id,
        kind,
        actor_id,
        details,
        created_at
    }
);

/// Why a conversation write was refused.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Rule(#[from] ConversationError),
    /// The same author sent this `client_message_id` before with other text or elsewhere.
    #[error("client_message_id was already used for a different message")]
    IdempotencyKeyReused,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for WriteError {
    fn from(error: diesel::result::Error) -> Self {
        WriteError::Store(error.into())
    }
}

impl ConversationRow {
    /// The rule-relevant state; stored values that no longer parse are reported, not guessed.
    pub fn state(&self) -> Result<Conversation, StoreError> {
        let team = Team::parse(&self.team).ok_or_else(|| {
            StoreError::Corrupt(format!("conversation {} has team {}", self.id, self.team))
        })?;
        let status = Status::parse(&self.status).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "conversation {} has status {}",
                self.id, self.status
            ))
        })?;
        Ok(Conversation {
            team,
            status,
            urgent: self.urgent,
            assigned_to: self.assigned_to.clone(),
            claimed_by: self.claimed_by.clone(),
        })
    }

    pub fn matched_rules(&self) -> Vec<String> {
        serde_json::from_str(&self.matched_rules).unwrap_or_default()
    }
}

/// What a send stored, or found stored by an earlier try with the same `client_message_id`.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The sender, so the caller can show their name without another query.
    pub patient: Patient,
    pub conversation: ConversationRow,
    pub message: MessageRow,
    pub acknowledgment: Option<MessageRow>,
    /// True when this is the earlier send, returned again.
    pub replayed: bool,
}

/// A patient's message, parsed and routed.
pub struct PatientMessage<'a> {
    pub body: &'a MessageBody,
    pub client_message_id: Option<&'a ClientMessageId>,
    pub decision: &'a RoutingDecision,
    pub acknowledgments: &'a AcknowledgmentTexts,
    /// The sender's audit row, recorded about the conversation in the send's transaction.
    pub audit: &'a NewAuditEvent,
}

fn json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|error| StoreError::Corrupt(error.to_string()))
}

/// The patients among `ids` (one query, however many).
fn find_patients(
    conn: &mut DbConnection,
    ids: &[&str],
) -> Result<HashMap<String, Patient>, StoreError> {
    Ok(patients::table
        .filter(patients::id.eq_any(ids))
        .select(Patient::as_select())
        .load(conn)?
        .into_iter()
        .map(|patient| (patient.id.clone(), patient))
        .collect())
}

fn find_patient(conn: &mut DbConnection, patient_id: &str) -> Result<Patient, StoreError> {
    find_patients(conn, &[patient_id])?
        .remove(patient_id)
        .ok_or(StoreError::NotFound)
}

/// Looks for an earlier send with the same key. The same text (in the same conversation, when
/// one is named) is a retry; anything else is a client bug worth refusing.
fn earlier_send(
    conn: &mut DbConnection,
    patient: &Patient,
    key: Option<&ClientMessageId>,
    body: &MessageBody,
    conversation_id: Option<&str>,
) -> Result<Option<Sent>, WriteError> {
    let Some(key) = key else { return Ok(None) };
    let Some(message) = messages::table
        .filter(messages::author_id.eq(&patient.id))
        .filter(messages::client_message_id.eq(key.as_str()))
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let same_place = conversation_id.is_none_or(|id| id == message.conversation_id);
    if message.body != body.as_str() || !same_place {
        return Err(WriteError::IdempotencyKeyReused);
    }
    let acknowledgment = messages::table
        .filter(messages::in_reply_to.eq(&message.id))
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?;
    let conversation = conversations::table
        .find(&message.conversation_id)
        .select(ConversationRow::as_select())
        .first(conn)?;
    Ok(Some(Sent {
        patient: patient.clone(),
        conversation,
        message,
        acknowledgment,
        replayed: true,
    }))
}

/// Reads conversations for a state change. On PostgreSQL the rows are locked until the
/// transaction ends (`FOR UPDATE`), so concurrent writers queue instead of overwriting each
/// other, and in id order, so that two batches locking the same rows queue instead of
/// deadlocking; SQLite's `BEGIN IMMEDIATE` already holds the database's one write lock.
fn lock_all(
    conn: &mut DbConnection,
    ids: &[&str],
) -> Result<HashMap<String, ConversationRow>, StoreError> {
    let query = conversations::table
        .filter(conversations::id.eq_any(ids))
        .order(conversations::id);
    let rows = match conn {
        DbConnection::Postgresql(pg) => query
            .select(ConversationRow::as_select())
            .for_update()
            .load(pg)?,
        DbConnection::Sqlite(sqlite) => query.select(ConversationRow::as_select()).load(sqlite)?,
    };
    Ok(rows.into_iter().map(|row| (row.id.clone(), row)).collect())
}

fn lock(conn: &mut DbConnection, id: &str) -> Result<ConversationRow, StoreError> {
    lock_all(conn, &[id])?
        .remove(id)
        .ok_or(StoreError::NotFound)
}

/// Locks the closed-count rows (migration 27) of `organization_ids` in their order. A write
/// that reopens conversations of several organizations changes those rows through a row
/// trigger, in the order PostgreSQL updates the conversations, which its plan decides; locked
/// first in one order, two such writes queue instead of deadlocking. SQLite's `BEGIN
/// IMMEDIATE` already holds the database's one write lock.
fn lock_closed_counts(
    conn: &mut DbConnection,
    organization_ids: &[&str],
) -> Result<(), StoreError> {
    if let DbConnection::Postgresql(pg) = conn {
        closed_conversation_counts::table
            .filter(closed_conversation_counts::organization_id.eq_any(organization_ids))
            .order(closed_conversation_counts::organization_id)
            .select(closed_conversation_counts::organization_id)
            .for_update()
            .load::<String>(pg)?;
    }
    Ok(())
}

/// The rows of a transition's events, announced to the live log (which commits with them).
fn announced_events(
    conversation: &ConversationRow,
    events: &[Event],
    actor_id: Option<&str>,
    at: NaiveDateTime,
) -> Result<Vec<EventRow>, StoreError> {
    let rows = events
        .iter()
        .map(|event| EventRow::of(conversation, event, actor_id, at))
        .collect::<Result<Vec<_>, StoreError>>()?;
    for (row, event) in rows.iter().zip(events) {
        live::record_conversation_event(conversation, event, row.actor_id.as_deref());
    }
    Ok(rows)
}

fn insert_events(
    conn: &mut DbConnection,
    conversation: &ConversationRow,
    events: &[Event],
    actor_id: Option<&str>,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    let rows = announced_events(conversation, events, actor_id, at)?;
    if !rows.is_empty() {
        insert_all!(conn, conversation_events::table, &rows)?;
    }
    Ok(())
}

/// Stores messages of `conversation` (as it stands after the write) and announces them.
fn insert_messages(
    conn: &mut DbConnection,
    conversation: &ConversationRow,
    messages: &[MessageRow],
) -> Result<(), StoreError> {
    insert_all!(conn, messages::table, messages)?;
    for message in messages {
        live::record_message(conversation, message);
    }
    Ok(())
}

/// Writes the new state of conversations read by [`lock_all`]: on PostgreSQL with one
/// statement for any number of rows, on SQLite, where a statement is a function call rather than
/// a round trip, one `UPDATE` each.
fn store_states(conn: &mut DbConnection, rows: &[ConversationRow]) -> Result<(), StoreError> {
    match conn {
        DbConnection::Postgresql(pg) => {
            ConversationRow::columns(rows).update().execute(pg)?;
        }
        DbConnection::Sqlite(sqlite) => {
            for row in rows {
                diesel::update(conversations::table.find(&row.id))
                    .set(row)
                    .execute(sqlite)?;
            }
        }
    }
    Ok(())
}

/// The assignment of [`store_sent_states`]: a conversation's word signature (migration 29) takes
/// the bits of the words of its `"rows".sent_text`.
const SIGNS_SENT_TEXT: &str = "lexemes_signature = conversations.lexemes_signature \
     | signature_of_lexemes(tsvector_to_array(to_tsvector('english', \"rows\".sent_text)))";

/// Stores the states of conversations patients have just written in, `texts` being what each
/// row's patient wrote (in `rows`' order). On PostgreSQL the same statement sets the bits of
/// those words in each row's word signature (migration 29), which the word table's trigger
/// would otherwise set with an update of its own, a second version of the row for each send
/// that brings its conversation a new word (BENCHMARKS.md item 36).
fn store_sent_states(
    conn: &mut DbConnection,
    rows: &[ConversationRow],
    texts: &[&str],
) -> Result<(), StoreError> {
    match conn {
        DbConnection::Postgresql(pg) => {
            ConversationRow::columns(rows)
                .derived::<Text, _>("sent_text", texts.iter().copied(), SIGNS_SENT_TEXT)
                .update()
                .execute(pg)?;
            Ok(())
        }
        DbConnection::Sqlite(_) => store_states(conn, rows),
    }
}

/// Applies a transition's state to the stored row (placement, claim, status) and records its
/// events.
fn apply(
    conn: &mut DbConnection,
    row: &mut ConversationRow,
    transition: &Transition,
    actor_id: Option<&str>,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    row.take_state(&transition.conversation, at);
    store_states(conn, std::slice::from_ref(row))?;
    insert_events(conn, row, &transition.events, actor_id, at)
}

/// What patients' sends add besides their conversations' state, gathered so that a batch writes
/// each table with one statement.
#[derive(Default)]
struct SendWrites {
    messages: Vec<MessageRow>,
    events: Vec<EventRow>,
    audit: Vec<NewAuditEvent>,
    urgent_alerts: Vec<(ConversationRow, MessageRow, &'static str)>,
}

impl SendWrites {
    /// Adds the patient's message to `row` (as it stands after the send), the acknowledgment
    /// and events of its transition, and the send's audit row; returns the message and the
    /// acknowledgment.
    fn add(
        &mut self,
        row: &mut ConversationRow,
        patient: &Patient,
        message: &PatientMessage<'_>,
        transition: &Transition,
        at: NaiveDateTime,
    ) -> Result<(MessageRow, Option<MessageRow>), StoreError> {
        self.events.extend(announced_events(
            row,
            &transition.events,
            Some(&patient.id),
            at,
        )?);
        let stored = MessageRow {
            id: new_id(),
            conversation_id: row.id.clone(),
            organization_id: row.organization_id.clone(),
            kind: message_kind::PATIENT.to_owned(),
            author_id: Some(patient.id.clone()),
            body: message.body.as_str().to_owned(),
            client_message_id: message.client_message_id.map(|key| key.as_str().to_owned()),
            in_reply_to: None,
            created_at: at,
        };
        let acknowledgment = transition.acknowledgment.map(|kind| MessageRow {
            id: new_id(),
            conversation_id: row.id.clone(),
            organization_id: row.organization_id.clone(),
            kind: message_kind::ACKNOWLEDGMENT.to_owned(),
            author_id: None,
            body: message.acknowledgments.text(kind).to_owned(),
            client_message_id: None,
            in_reply_to: Some(stored.id.clone()),
            // A microsecond later, so the timeline shows it after the message it answers.
            created_at: at + Duration::microseconds(1),
        });
        row.take_message(&stored);
        for added in std::iter::once(&stored).chain(&acknowledgment) {
            live::record_message(row, added);
            self.messages.push(added.clone());
        }
        if message.decision.urgent {
            self.urgent_alerts.push((
                row.clone(),
                stored.clone(),
                message.decision.category.as_str(),
            ));
        }
        self.audit
            .push(message.audit.about("conversation", &row.id));
        Ok((stored, acknowledgment))
    }

    fn store(self, conn: &mut DbConnection) -> Result<(), StoreError> {
        if !self.events.is_empty() {
            insert_all!(conn, conversation_events::table, &self.events)?;
        }
        if !self.messages.is_empty() {
            insert_all!(conn, messages::table, &self.messages)?;
        }
        for (row, message, category) in &self.urgent_alerts {
            webhooks::enqueue_urgent_alert(conn, row, message, category)?;
        }
        audit::record_all(conn, &self.audit)
    }
}

fn routing_columns(
    row: &mut ConversationRow,
    decision: &RoutingDecision,
) -> Result<(), StoreError> {
    row.category = Some(decision.category.as_str().to_owned());
    row.matched_rules = json(&decision.matched_rules)?;
    Ok(())
}

/// Runs a patient's send (`send`, told whether to replay an earlier one) in one write
/// transaction. The first try does not look the `client_message_id` up: retries are rare, and
/// the unique index on (author, key) refuses a duplicate anyway. That refusal (a retry, or a
/// concurrent twin that won the race) undoes the whole try; the second looks the key up and
/// replays the earlier send.
fn idempotent_send(
    conn: &mut DbConnection,
    message: &PatientMessage<'_>,
    send: impl Fn(&mut DbConnection, bool) -> Result<Sent, WriteError>,
) -> Result<Sent, WriteError> {
    let attempt =
        |conn: &mut DbConnection, replay| write_transaction(conn, |conn| send(conn, replay));
    match attempt(conn, false) {
        Err(WriteError::Store(StoreError::Conflict(_))) if message.client_message_id.is_some() => {
            attempt(conn, true)
        }
        other => other,
    }
}

/// A patient starts a conversation with its first message.
pub fn start_by_patient(
    conn: &mut DbConnection,
    patient_id: &str,
    message: &PatientMessage<'_>,
) -> Result<Sent, WriteError> {
    idempotent_send(conn, message, |conn, replay| {
        let patient = find_patient(conn, patient_id)?;
        if replay {
            let key = message.client_message_id;
            if let Some(sent) = earlier_send(conn, &patient, key, message.body, None)? {
                return Ok(sent);
            }
        }
        let transition = Conversation::start_by_patient(
            message.decision,
            patient.assigned_clinician_id.as_deref(),
        );
        let at = now();
        let mut row = ConversationRow {
            id: new_id(),
            organization_id: patient.organization_id.clone(),
            patient_id: patient.id.clone(),
            team: String::new(),
            status: String::new(),
            urgent: false,
            category: None,
            matched_rules: String::new(),
            assigned_to: None,
            claimed_by: None,
            claimed_at: None,
            last_activity_at: at,
            last_message_at: at,
            last_message_preview: message.body.preview(),
            unanswered_since: Some(at),
            created_at: at,
            closed_at: None,
            newest_message_at: at,
            newest_message_author_id: Some(patient.id.clone()),
            newest_other_message_at: None,
        };
        routing_columns(&mut row, message.decision)?;
        let state = &transition.conversation;
        row.team = state.team.as_str().to_owned();
        row.status = state.status.as_str().to_owned();
        row.urgent = state.urgent;
        row.assigned_to = state.assigned_to.clone();
        diesel::insert_into(conversations::table)
            .values(&row)
            .execute(conn)?;
        live::record_created(&row);
        let mut writes = SendWrites::default();
        let (stored, acknowledgment) = writes.add(&mut row, &patient, message, &transition, at)?;
        writes.store(conn)?;
        Ok(Sent {
            patient,
            conversation: row,
            message: stored,
            acknowledgment,
            replayed: false,
        })
    })
}

/// A patient's message for one of their own conversations.
pub struct PatientPost<'a> {
    pub patient_id: &'a str,
    pub conversation_id: &'a str,
    pub message: PatientMessage<'a>,
}

/// Stores posts in order, in the caller's transaction, with one statement per table however
/// many there are. A post to a conversation that is not its patient's is not found, alone;
/// anything else that fails, fails them all.
fn receive_posts(
    conn: &mut DbConnection,
    posts: &[PatientPost<'_>],
) -> Result<Vec<Result<Sent, WriteError>>, WriteError> {
    let conversation_ids: Vec<&str> = posts.iter().map(|post| post.conversation_id).collect();
    let mut rows = lock_all(conn, &conversation_ids)?;
    let mut closed_in: Vec<&str> = rows
        .values()
        .filter(|row| row.status == Status::Closed.as_str())
        .map(|row| row.organization_id.as_str())
        .collect();
    closed_in.sort_unstable();
    closed_in.dedup();
    if closed_in.len() > 1 {
        lock_closed_counts(conn, &closed_in)?;
    }
    let patient_ids: Vec<&str> = posts.iter().map(|post| post.patient_id).collect();
    let patients = find_patients(conn, &patient_ids)?;
    let mut writes = SendWrites::default();
    let mut changed: Vec<&str> = Vec::new();
    let mut sent_texts: HashMap<&str, String> = HashMap::new();
    let mut outcomes = Vec::with_capacity(posts.len());
    for post in posts {
        let row = rows
            .get_mut(post.conversation_id)
            .filter(|row| row.patient_id == post.patient_id);
        let (Some(row), Some(patient)) = (row, patients.get(post.patient_id)) else {
            outcomes.push(Err(StoreError::NotFound.into()));
            continue;
        };
        let decision = post.message.decision;
        let transition = row
            .state()?
            .receive_patient_message(decision, patient.assigned_clinician_id.as_deref());
        let at = now();
        let rerouted = transition.events.iter().any(|event| {
            matches!(
                event,
                Event::Routed { .. } | Event::Escalated { .. } | Event::FlaggedUrgent { .. }
            )
        });
        if rerouted {
            routing_columns(row, decision)?;
        }
        row.last_activity_at = at;
        row.last_message_at = at;
        row.last_message_preview = post.message.body.preview();
        row.unanswered_since = row.unanswered_since.or(Some(at));
        row.take_state(&transition.conversation, at);
        let (message, acknowledgment) = writes.add(row, patient, &post.message, &transition, at)?;
        if !changed.contains(&post.conversation_id) {
            changed.push(post.conversation_id);
        }
        let sent_text = sent_texts.entry(post.conversation_id).or_default();
        sent_text.push('\n');
        sent_text.push_str(post.message.body.as_str());
        outcomes.push(Ok(Sent {
            patient: patient.clone(),
            conversation: row.clone(),
            message,
            acknowledgment,
            replayed: false,
        }));
    }
    let states: Vec<ConversationRow> = changed.iter().filter_map(|id| rows.remove(*id)).collect();
    if !states.is_empty() {
        let texts: Vec<&str> = states
            .iter()
            .map(|state| sent_texts.get(state.id.as_str()).map_or("", String::as_str))
            .collect();
        store_sent_states(conn, &states, &texts)?;
    }
    writes.store(conn)?;
    Ok(outcomes)
}

/// A patient writes in one of their conversations (another patient's is not found).
pub fn post_by_patient(
    conn: &mut DbConnection,
    post: &PatientPost<'_>,
) -> Result<Sent, WriteError> {
    idempotent_send(conn, &post.message, |conn, replay| {
        if replay {
            find_for_patient(conn, post.patient_id, post.conversation_id)?;
            let patient = find_patient(conn, post.patient_id)?;
            let message = &post.message;
            let key = message.client_message_id;
            let place = Some(post.conversation_id);
            if let Some(sent) = earlier_send(conn, &patient, key, message.body, place)? {
                return Ok(sent);
            }
        }
        receive_posts(conn, std::slice::from_ref(post))?
            .pop()
            .unwrap_or(Err(StoreError::NotFound.into()))
    })
}

/// Patients' posts (concurrent sends, queued) stored in one transaction, so that they share its
/// round trips and its commit. When the batch fails as a whole — a reused key, a lost race, a
/// failed statement — each post is stored alone, and gets the outcome (stored, replayed,
/// refused) it would have had without company.
pub fn post_batch_by_patients(
    conn: &mut DbConnection,
    posts: &[PatientPost<'_>],
) -> Vec<Result<Sent, WriteError>> {
    if let [post] = posts {
        return vec![post_by_patient(conn, post)];
    }
    match write_transaction(conn, |conn| receive_posts(conn, posts)) {
        Ok(outcomes) => outcomes,
        Err(_) => posts
            .iter()
            .map(|post| post_by_patient(conn, post))
            .collect(),
    }
}

/// A page of keyset pagination: the rows and the key after the last one, if more may follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<ActivityKey>,
}

/// Position in a list ordered by most recent activity (then id), newest first.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = conversations)]
pub struct ActivityKey {
    pub urgent: bool,
    pub last_activity_at: NaiveDateTime,
    pub id: String,
}

impl ActivityKey {
    pub fn of(row: &ConversationRow) -> ActivityKey {
        ActivityKey {
            urgent: row.urgent,
            last_activity_at: row.last_activity_at,
            id: row.id.clone(),
        }
    }

    /// The rows listed after the key in a list ordered newest first — urgent first too when
    /// `by_urgency` — as one row comparison. An index whose trailing columns are these is read
    /// from the key; the same test spelled as `OR`s of column comparisons is only a filter, so
    /// every page would read the list from its top.
    pub fn rows_after(&self, by_urgency: bool) -> Condition<conversations::table> {
        // The urgency is spelled out rather than bound: with or without it the SQL differs anyway.
        let compared = match (by_urgency, self.urgent) {
            (false, _) => "(conversations.last_activity_at, conversations.id) < (".to_owned(),
            // The same rows as the row comparison below. PostgreSQL estimates a row comparison
            // by its first column alone, and `urgent < false` holds for no row: estimating the
            // rest of a tab at one row, it walked 11,000 rows of the tab's index for a search
            // (250 ms) instead of starting from the word's matches.
            (true, false) => "conversations.urgent = false AND \
                 (conversations.last_activity_at, conversations.id) < ("
                .to_owned(),
            (true, true) => "(conversations.urgent, conversations.last_activity_at, \
                 conversations.id) < (true, "
                .to_owned(),
        };
        self.compared_with(&compared)
    }

    /// The rows listed before the key, as one row comparison. PostgreSQL (before 18) reads an
    /// index for it from the top of the list down to the end of the key's urgency, not to the
    /// key (see [`ActivityKey::ranges_up_to`]), but tests the comparison on the index entries
    /// alone: cheap for a list of hundreds, a caseload, not for a clinic's tab.
    pub fn rows_before(&self, by_urgency: bool) -> Condition<conversations::table> {
        if by_urgency {
            self.compared_with(&format!(
                "(conversations.urgent, conversations.last_activity_at, conversations.id) > ({}, ",
                self.urgent
            ))
        } else {
            self.compared_with("(conversations.last_activity_at, conversations.id) > (")
        }
    }

    /// The key's row and the rows listed before it, as ranges of the list's index to read in
    /// turn, first listed first. A range is an urgency and, for the key's own urgency, a bound
    /// on activity: PostgreSQL (before 18) stops an index scan on a row comparison's first
    /// column only, so `(urgent, last_activity_at, id) >= (false, …)` read on through every
    /// older non-urgent row of the tab (23,000 index entries of My Clinic at 1 M messages,
    /// 11 ms) where it should have stopped at the key.
    pub fn ranges_up_to(&self, by_urgency: bool) -> Vec<Condition<conversations::table>> {
        let activity_from = "(conversations.last_activity_at, conversations.id) >= (";
        if !by_urgency {
            return vec![self.compared_with(activity_from)];
        }
        let own_urgency = self.compared_with(&format!(
            "conversations.urgent = {} AND {activity_from}",
            self.urgent
        ));
        if self.urgent {
            vec![own_urgency]
        } else {
            vec![
                Box::new(sql::<Bool>("conversations.urgent = true")),
                own_urgency,
            ]
        }
    }

    /// `compared` followed by the key's activity and id, and a closing parenthesis.
    fn compared_with(&self, compared: &str) -> Condition<conversations::table> {
        Box::new(
            sql::<Bool>(compared)
                .bind::<Timestamp, _>(self.last_activity_at)
                .sql(", ")
                .bind::<Text, _>(self.id.clone())
                .sql(")"),
        )
    }
}

/// The patient's own conversations, newest activity first.
pub fn list_for_patient(
    conn: &mut DbConnection,
    patient_id: &str,
    after: Option<&ActivityKey>,
    limit: i64,
) -> Result<Page<ConversationRow>, StoreError> {
    let mut query = conversations::table
        .filter(conversations::patient_id.eq(patient_id))
        .select(ConversationRow::as_select())
        .order((
            conversations::last_activity_at.desc(),
            conversations::id.desc(),
        ))
        .limit(limit + 1)
        .into_boxed();
    if let Some(key) = after {
        query = query.filter(key.rows_after(false));
    }
    let rows = query.load(conn)?;
    Ok(page(rows, limit))
}

/// Cuts the extra row fetched to learn whether another page exists.
pub fn page(mut rows: Vec<ConversationRow>, limit: i64) -> Page<ConversationRow> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = if more {
        rows.last().map(ActivityKey::of)
    } else {
        None
    };
    Page { items: rows, next }
}

/// One conversation of the patient's (another patient's is not found).
pub fn find_for_patient(
    conn: &mut DbConnection,
    patient_id: &str,
    conversation_id: &str,
) -> Result<ConversationRow, StoreError> {
    Ok(conversations::table
        .find(conversation_id)
        .filter(conversations::patient_id.eq(patient_id))
        .select(ConversationRow::as_select())
        .first(conn)?)
}

/// Messages of a conversation in order; `include_internal` adds internal notes (staff only).
pub fn messages_of(
    conn: &mut DbConnection,
    conversation_id: &str,
    include_internal: bool,
) -> Result<Vec<MessageRow>, StoreError> {
    let mut query = messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .select(MessageRow::as_select())
        .order((messages::created_at.asc(), messages::id.asc()))
        .into_boxed();
    if !include_internal {
        query = query.filter(messages::kind.ne(message_kind::INTERNAL_NOTE));
    }
    Ok(query.load(conn)?)
}

/// Timeline events of a conversation in order.
pub fn events_of(
    conn: &mut DbConnection,
    conversation_id: &str,
) -> Result<Vec<EventRow>, StoreError> {
    Ok(conversation_events::table
        .filter(conversation_events::conversation_id.eq(conversation_id))
        .select(EventRow::as_select())
        .order((
            conversation_events::created_at.asc(),
            conversation_events::id.asc(),
        ))
        .load(conn)?)
}

/// The caller of a staff action.
#[derive(Debug, Clone, Copy)]
pub struct StaffActor<'a> {
    pub id: &'a str,
    pub organization_id: &'a str,
    pub is_admin: bool,
    /// Support agents reach only conversations with this team.
    pub visible_team: Option<Team>,
}

impl StaffActor<'_> {
    fn actor(&self) -> Actor<'_> {
        Actor {
            id: self.id,
            is_admin: self.is_admin,
        }
    }

    fn may_see(&self, row: &ConversationRow) -> bool {
        row.organization_id == self.organization_id
            && self
                .visible_team
                .is_none_or(|team| team.as_str() == row.team)
    }
}

/// A conversation the staff member may see; others' are not found.
pub fn find_for_staff(
    conn: &mut DbConnection,
    staff: &StaffActor<'_>,
    conversation_id: &str,
) -> Result<ConversationRow, StoreError> {
    let row = conversations::table
        .find(conversation_id)
        .select(ConversationRow::as_select())
        .first(conn)?;
    if staff.may_see(&row) {
        Ok(row)
    } else {
        Err(StoreError::NotFound)
    }
}

/// Locks a conversation the staff member may see, applies `decide`'s transition if it returns
/// one, and returns the row as it now stands.
fn staff_transition(
    conn: &mut DbConnection,
    staff: &StaffActor<'_>,
    conversation_id: &str,
    decide: impl FnOnce(
        &mut DbConnection,
        &mut ConversationRow,
        &Conversation,
    ) -> Result<Option<Transition>, WriteError>,
) -> Result<ConversationRow, WriteError> {
    write_transaction(conn, |conn| {
        let mut row = lock(conn, conversation_id)?;
        if !staff.may_see(&row) {
            return Err(StoreError::NotFound.into());
        }
        let state = row.state()?;
        if let Some(transition) = decide(conn, &mut row, &state)? {
            apply(conn, &mut row, &transition, Some(staff.id), now())?;
        }
        Ok(row)
    })
}

/// Takes the claim. The claim is settled by one conditional write — `UPDATE … WHERE claimed_by
/// IS NULL` — so of any number of concurrent claims exactly one changes the row; the others
/// read back who holds it.
pub fn claim(
    conn: &mut DbConnection,
    staff: &StaffActor<'_>,
    conversation_id: &str,
) -> Result<ConversationRow, WriteError> {
    write_transaction(conn, |conn| {
        let row = find_for_staff(conn, staff, conversation_id)?;
        let at = now();
        let won = diesel::update(
            conversations::table
                .find(conversation_id)
                .filter(conversations::status.eq(Status::Open.as_str()))
                .filter(conversations::claimed_by.is_null()),
        )
        .set((
            conversations::claimed_by.eq(staff.id),
            conversations::claimed_at.eq(at),
        ))
        .execute(conn)?;
        if won == 1 {
            insert_events(conn, &row, &[Event::Claimed], Some(staff.id), at)?;
        } else {
            // Lost, or held already: the current row says which.
            let current = find_for_staff(conn, staff, conversation_id)?;
            current.state()?.claim(staff.id)?;
        }
        Ok(find_for_staff(conn, staff, conversation_id)?)
    })
}

pub fn release(
    conn: &mut DbConnection,
    staff: &StaffActor<'_>,
    conversation_id: &str,
) -> Result<ConversationRow, WriteError> {
    staff_transition(conn, staff, conversation_id, |_, _, state| {
        Ok(state.release(staff.actor())?)
    })
}

pub fn close(
    conn: &mut DbConnection,
    staff: &StaffActor<'_>,
    conversation_id: &str,
) -> Result<ConversationRow, WriteError> {
    staff_transition(conn, staff, conversation_id, |_, _, state| {
        Ok(state.close(staff.actor())?)
    })
}

pub fn reopen(
    conn: &mut DbConnection,
    staff: &StaffActor<'_>,
    conversation_id: &str,
) -> Result<ConversationRow, WriteError> {
    staff_transition(conn, staff, conversation_id, |_, _, state| {
        Ok(state.reopen())
    })
}

/// Moves the conversation to the other team; the reviewed summary is stored as an internal note
/// by the sender, in the same transaction.
pub fn hand_off(
    conn: &mut DbConnection,
    staff: &StaffActor<'_>,
    conversation_id: &str,
    to: Team,
    summary: &MessageBody,
) -> Result<ConversationRow, WriteError> {
    staff_transition(conn, staff, conversation_id, |conn, row, state| {
        let patient = find_patient(conn, &row.patient_id)?;
        let transition = state.hand_off(to, patient.assigned_clinician_id.as_deref())?;
        let note = MessageRow {
            id: new_id(),
            conversation_id: row.id.clone(),
            organization_id: row.organization_id.clone(),
            kind: message_kind::INTERNAL_NOTE.to_owned(),
            author_id: Some(staff.id.to_owned()),
            body: summary.as_str().to_owned(),
            client_message_id: None,
            in_reply_to: None,
            created_at: now(),
        };
        // The transition's write stores the row with the note taken on.
        row.take_message(&note);
        insert_messages(conn, row, &[note])?;
        Ok(Some(transition))
    })
}

/// A staff reply or internal note. A reply to an unclaimed conversation claims it for the
/// replier; notes are always allowed, even on closed conversations.
pub fn post_by_staff(
    conn: &mut DbConnection,
    staff: &StaffActor<'_>,
    conversation_id: &str,
    body: &MessageBody,
    internal: bool,
) -> Result<(ConversationRow, MessageRow), WriteError> {
    write_transaction(conn, |conn| {
        let mut row = lock(conn, conversation_id)?;
        if !staff.may_see(&row) {
            return Err(StoreError::NotFound.into());
        }
        let at = now();
        let message = MessageRow {
            id: new_id(),
            conversation_id: row.id.clone(),
            organization_id: row.organization_id.clone(),
            kind: if internal {
                message_kind::INTERNAL_NOTE
            } else {
                message_kind::STAFF
            }
            .to_owned(),
            author_id: Some(staff.id.to_owned()),
            body: body.as_str().to_owned(),
            client_message_id: None,
            in_reply_to: None,
            created_at: at,
        };
        row.take_message(&message);
        if internal {
            store_states(conn, std::slice::from_ref(&row))?;
        } else {
            let state = row.state()?;
            let transition = state.staff_reply(staff.id)?.unwrap_or(Transition {
                conversation: state,
                events: Vec::new(),
                acknowledgment: None,
            });
            row.last_message_at = at;
            row.last_message_preview = body.preview();
            row.unanswered_since = None;
            apply(conn, &mut row, &transition, Some(staff.id), at)?;
        }
        insert_messages(conn, &row, std::slice::from_ref(&message))?;
        Ok((row, message))
    })
}

/// A staff member starts a conversation with a patient of their organization, in `team`, and
/// holds it (they are the one writing); the first message is their reply.
pub fn start_by_staff(
    conn: &mut DbConnection,
    staff: &StaffActor<'_>,
    team: Team,
    patient_id: &str,
    body: &MessageBody,
) -> Result<(ConversationRow, MessageRow), WriteError> {
    write_transaction(conn, |conn| {
        let patient = find_patient(conn, patient_id)?;
        if patient.organization_id != staff.organization_id {
            return Err(StoreError::NotFound.into());
        }
        let transition =
            Conversation::start_by_staff(team, staff.id, patient.assigned_clinician_id.as_deref());
        let state = &transition.conversation;
        let at = now();
        let row = ConversationRow {
            id: new_id(),
            organization_id: patient.organization_id,
            patient_id: patient.id,
            team: state.team.as_str().to_owned(),
            status: state.status.as_str().to_owned(),
            urgent: state.urgent,
            category: None,
            matched_rules: json(&Vec::<String>::new())?,
            assigned_to: state.assigned_to.clone(),
            claimed_by: state.claimed_by.clone(),
            claimed_at: Some(at),
            last_activity_at: at,
            last_message_at: at,
            last_message_preview: body.preview(),
            unanswered_since: None,
            created_at: at,
            closed_at: None,
            newest_message_at: at,
            newest_message_author_id: Some(staff.id.to_owned()),
            newest_other_message_at: None,
        };
        diesel::insert_into(conversations::table)
            .values(&row)
            .execute(conn)?;
        live::record_created(&row);
        insert_events(conn, &row, &transition.events, Some(staff.id), at)?;
        post_by_staff(conn, staff, &row.id, body, false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(
        row: &ConversationRow,
        kind: &str,
        author: Option<&str>,
        at: NaiveDateTime,
    ) -> MessageRow {
        MessageRow {
            id: new_id(),
            conversation_id: row.id.clone(),
            organization_id: row.organization_id.clone(),
            kind: kind.to_owned(),
            author_id: author.map(str::to_owned),
            body: String::new(),
            client_message_id: None,
            in_reply_to: None,
            created_at: at,
        }
    }

    /// What `read_markers::unread_conversations` asks of the columns.
    fn unread_by_columns(
        row: &ConversationRow,
        staff: &str,
        marker: Option<NaiveDateTime>,
    ) -> bool {
        let after_marker = |at: NaiveDateTime| marker.is_none_or(|marker| at > marker);
        if row.newest_message_author_id.as_deref() == Some(staff) {
            row.newest_other_message_at.is_some_and(after_marker)
        } else {
            after_marker(row.newest_message_at)
        }
    }

    /// Every conversation of up to four messages by two staff members and a patient or no one,
    /// stamped at any of four times in any order (clocks of different instances disagree): for
    /// every staff member and marker, the columns must say what the messages say.
    #[test]
    fn the_columns_answer_what_the_messages_answer_whatever_the_order_of_their_times() {
        let epoch = now();
        let at = |minute: i64| epoch + Duration::minutes(minute);
        let authors = [Some("a"), Some("b"), Some("patient"), None];
        let steps: Vec<(Option<&str>, i64)> = authors
            .iter()
            .flat_map(|&author| (1..=4).map(move |minute| (author, minute)))
            .collect();
        let mut sequences: Vec<Vec<(Option<&str>, i64)>> = vec![Vec::new()];
        let mut checked = 0;
        for _ in 0..4 {
            sequences = sequences
                .iter()
                .flat_map(|sequence| {
                    steps.iter().map(move |&step| {
                        let mut longer = sequence.clone();
                        longer.push(step);
                        longer
                    })
                })
                .collect();
            for sequence in &sequences {
                let (first_author, first_minute) = sequence[0];
                let mut row = ConversationRow::for_tests("organization");
                row.newest_message_at = at(first_minute);
                row.newest_message_author_id = first_author.map(str::to_owned);
                for &(author, minute) in &sequence[1..] {
                    let added = message(&row, message_kind::STAFF, author, at(minute));
                    row.take_message(&added);
                }
                for staff in ["a", "b"] {
                    for marker in
                        std::iter::once(None).chain((0..=4).map(|minute| Some(at(minute))))
                    {
                        let by_messages = sequence.iter().any(|&(author, minute)| {
                            author != Some(staff) && marker.is_none_or(|marker| at(minute) > marker)
                        });
                        assert_eq!(
                            unread_by_columns(&row, staff, marker),
                            by_messages,
                            "{sequence:?}, {staff}, {marker:?}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 100_000, "{checked}");
    }

    #[test]
    fn acknowledgments_are_not_taken() {
        let mut row = ConversationRow::for_tests("organization");
        let before = row.clone();
        let later = row.newest_message_at + Duration::minutes(1);
        row.take_message(&message(&row, message_kind::ACKNOWLEDGMENT, None, later));
        assert_eq!(row, before);
    }
}
