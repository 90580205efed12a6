//! The live inbox's event log: every conversation write appends what changed to `inbox_events`
//! in its own transaction, and server-sent-event streams tail the log. The row id is the event id
//! clients resume from, so the log must hand out ids in commit order (see [`record`]).
//!
//! Rows carry ids, kinds and states — never message text or names — because they are sent to
//! browsers and apps, and kept for a day.

use std::cell::{Cell, RefCell};

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use domain::conversation::Event;
use domain::routing::Team;
use serde_json::{json, Value};

use crate::conversations::{message_kind, ConversationRow, MessageRow};
use crate::db::write_transaction;
use crate::schema::inbox_events;
use crate::{now, DbConnection, StoreError};

/// The PostgreSQL channel a committed event is announced on. The notification carries nothing:
/// listeners read the log, so a lost or merged notification loses no event.
pub const CHANNEL: &str = "inbox_events";

/// Kinds of events that are not conversation timeline events (those keep their domain names:
/// `claimed`, `released`, `closed`, `reopened`, `escalated`, `handed_off`, …).
pub mod event_kind {
    pub const CONVERSATION_CREATED: &str = "conversation_created";
    pub const MESSAGE_CREATED: &str = "message_created";
}

/// Serializes the writers of the log on PostgreSQL until they commit, so ids are handed out in
/// commit order: without it a transaction could take id 10, commit after the one with id 11, and
/// a stream that had already read 11 would never see 10. SQLite has one writer anyway.
///
/// Every write of the inbox waits for this lock, so it is held as briefly as possible: a write
/// transaction only queues its events ([`record`]), and [`append_pending`] takes the lock and
/// inserts them as the last statements before the commit.
const LOG_LOCK_KEY: i64 = 0x1b0c_e7e5;

thread_local! {
    /// The events of the write transaction running on this thread, not yet in the log. A
    /// transaction runs on one thread from begin to commit (a blocking-pool thread), and
    /// `db::write_transaction` appends or discards them before it ends.
    static PENDING: RefCell<Vec<NewInboxEvent>> = const { RefCell::new(Vec::new()) };
    /// Whether a transaction on this thread has appended events since [`take_appended`] was
    /// last asked (whether it committed is for the caller's result to say).
    static APPENDED: Cell<bool> = const { Cell::new(false) };
}

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = inbox_events)]
pub struct InboxEventRow {
    pub id: i64,
    pub organization_id: String,
    pub conversation_id: String,
    pub patient_id: String,
    pub team: String,
    pub kind: String,
    pub internal: bool,
    pub payload: String,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = inbox_events)]
struct NewInboxEvent {
    organization_id: String,
    conversation_id: String,
    patient_id: String,
    team: String,
    kind: String,
    internal: bool,
    payload: String,
    created_at: NaiveDateTime,
}

/// Queues one event for the log; call it inside the write transaction it describes, which
/// appends it just before committing (and drops it if the transaction, or the savepoint it was
/// recorded in, rolls back).
fn record(conversation: &ConversationRow, team: &str, kind: &str, internal: bool, payload: Value) {
    let event = NewInboxEvent {
        organization_id: conversation.organization_id.clone(),
        conversation_id: conversation.id.clone(),
        patient_id: conversation.patient_id.clone(),
        team: team.to_owned(),
        kind: kind.to_owned(),
        internal,
        payload: payload.to_string(),
        created_at: now(),
    };
    PENDING.with_borrow_mut(|pending| pending.push(event));
}

/// How many events the transactions on this thread have queued; a savepoint notes it to drop
/// its own events if it rolls back.
pub(crate) fn pending_mark() -> usize {
    PENDING.with_borrow(Vec::len)
}

/// Whether the work run on this thread since the last call appended events to the log, so that
/// the caller can wake this process's streams: SQLite has no `NOTIFY` to do it.
pub fn take_appended() -> bool {
    APPENDED.replace(false)
}

/// Drops the events queued after `mark` (by a transaction or savepoint that rolled back).
pub(crate) fn discard_pending(mark: usize) {
    PENDING.with_borrow_mut(|pending| pending.truncate(mark));
}

/// Appends the queued events to the log: the outermost write transaction calls it last before
/// committing. On PostgreSQL it takes the log's lock (held until the commit) and queues a
/// `NOTIFY`, which PostgreSQL delivers to every instance's listener at commit.
pub(crate) fn append_pending(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    let events = PENDING.with_borrow_mut(std::mem::take);
    if events.is_empty() {
        return Ok(());
    }
    APPENDED.set(true);
    if let DbConnection::Postgresql(_) = conn {
        conn.batch_execute(&format!(
            "SELECT pg_advisory_xact_lock({LOG_LOCK_KEY}); NOTIFY {CHANNEL}"
        ))?;
    }
    insert_all!(conn, inbox_events::table, &events)?;
    Ok(())
}

/// A conversation came to be (started by its patient or by staff).
pub fn record_created(conversation: &ConversationRow) {
    record(
        conversation,
        &conversation.team,
        event_kind::CONVERSATION_CREATED,
        true,
        state_payload(conversation, None),
    )
}

/// A message was stored; internal notes are for staff only.
pub fn record_message(conversation: &ConversationRow, message: &MessageRow) {
    record(
        conversation,
        &conversation.team,
        event_kind::MESSAGE_CREATED,
        message.kind == message_kind::INTERNAL_NOTE,
        json!({
            "conversation_id": conversation.id,
            "message_id": message.id,
            "message_kind": message.kind,
        }),
    )
}

/// A timeline event (claim, close, escalation, handoff, …): staff only, since patients never see
/// routing or who holds their conversation.
pub fn record_conversation_event(
    conversation: &ConversationRow,
    event: &Event,
    actor_id: Option<&str>,
) {
    // A move between teams leaves one inbox and enters the other; care-team roles see both
    // teams, so Support is the one to name for support agents to hear of it.
    let team = match event {
        Event::Escalated { .. } | Event::HandedOff { .. } => Team::Support.as_str(),
        _ => &conversation.team,
    };
    record(
        conversation,
        team,
        event.kind(),
        true,
        state_payload(conversation, actor_id),
    )
}

/// The conversation's placement after the change, for staff clients to update a list row.
fn state_payload(conversation: &ConversationRow, actor_id: Option<&str>) -> Value {
    json!({
        "conversation_id": conversation.id,
        "actor_id": actor_id,
        "team": conversation.team,
        "status": conversation.status,
        "urgent": conversation.urgent,
    })
}

/// Whose events a stream carries: the same visibility as the inbox and the patient app.
#[derive(Debug, Clone)]
pub enum Audience {
    /// Staff of an organization; support agents only see Support's conversations.
    Staff {
        organization_id: String,
        visible_team: Option<Team>,
    },
    /// A patient: their own conversations, and no staff-only events.
    Patient {
        organization_id: String,
        patient_id: String,
    },
}

/// The audience's events after `after_id`, oldest first, at most `limit`.
pub fn events_after(
    conn: &mut DbConnection,
    audience: &Audience,
    after_id: i64,
    limit: i64,
) -> Result<Vec<InboxEventRow>, StoreError> {
    let mut query = inbox_events::table
        .filter(inbox_events::id.gt(after_id))
        .select(InboxEventRow::as_select())
        .order(inbox_events::id.asc())
        .limit(limit)
        .into_boxed();
    match audience {
        Audience::Staff {
            organization_id,
            visible_team,
        } => {
            query = query.filter(inbox_events::organization_id.eq(organization_id.clone()));
            if let Some(team) = visible_team {
                query = query.filter(inbox_events::team.eq(team.as_str()));
            }
        }
        Audience::Patient {
            organization_id,
            patient_id,
        } => {
            query = query
                .filter(inbox_events::organization_id.eq(organization_id.clone()))
                .filter(inbox_events::patient_id.eq(patient_id.clone()))
                .filter(inbox_events::internal.eq(false));
        }
    }
    Ok(query.load(conn)?)
}

/// Where a stream starts: the newest event id (0 on an empty log) and the oldest one still
/// kept, to tell whether a resume point has been pruned away.
pub fn log_bounds(conn: &mut DbConnection) -> Result<(i64, Option<i64>), StoreError> {
    let (newest, oldest) = inbox_events::table
        .select((
            diesel::dsl::max(inbox_events::id),
            diesel::dsl::min(inbox_events::id),
        ))
        .first::<(Option<i64>, Option<i64>)>(conn)?;
    Ok((newest.unwrap_or(0), oldest))
}

/// Deletes the events recorded before `cutoff`; returns how many. In a write transaction, so
/// that on SQLite it takes its turn for the lock instead of polling beside the queue.
pub fn prune(conn: &mut DbConnection, cutoff: NaiveDateTime) -> Result<usize, StoreError> {
    write_transaction(conn, |conn| {
        Ok(
            diesel::delete(inbox_events::table.filter(inbox_events::created_at.lt(cutoff)))
                .execute(conn)?,
        )
    })
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;

    use super::*;
    use crate::db::{run_migrations, write_transaction};
    use crate::{new_id, DatabaseUrl};

    fn logged_conversations(conn: &mut DbConnection) -> Vec<String> {
        inbox_events::table
            .select(inbox_events::conversation_id)
            .order(inbox_events::id.asc())
            .load(conn)
            .unwrap()
    }

    #[test]
    fn only_committed_work_reaches_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::parse(dir.path().join("t.db").to_str().unwrap()).unwrap();
        let pool = crate::db::build_pool(&url, &Default::default());
        let mut conn = pool.get().unwrap();
        run_migrations(&mut conn).unwrap();
        let organization_id = new_id();
        write_transaction(&mut conn, |conn| {
            conn.batch_execute(&format!(
                "INSERT INTO organizations (id, name, created_at) \
                 VALUES ('{organization_id}', 'Test', '2026-01-01 00:00:00')"
            ))
        })
        .unwrap();
        let (kept, rolled_back_savepoint, kept_after, failed) = (
            ConversationRow::for_tests(&organization_id),
            ConversationRow::for_tests(&organization_id),
            ConversationRow::for_tests(&organization_id),
            ConversationRow::for_tests(&organization_id),
        );

        write_transaction(&mut conn, |conn| {
            record_created(&kept);
            let savepoint: Result<(), diesel::result::Error> = write_transaction(conn, |_| {
                record_created(&rolled_back_savepoint);
                Err(diesel::result::Error::RollbackTransaction)
            });
            assert!(savepoint.is_err());
            record_created(&kept_after);
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
        assert!(
            take_appended(),
            "a committed write with events wakes the streams"
        );
        let failed_transaction: Result<(), diesel::result::Error> =
            write_transaction(&mut conn, |_| {
                record_created(&failed);
                Err(diesel::result::Error::RollbackTransaction)
            });
        assert!(failed_transaction.is_err());
        // A later transaction appends nothing the failed one queued.
        write_transaction(&mut conn, |_| Ok::<_, diesel::result::Error>(())).unwrap();
        assert!(!take_appended(), "nothing was appended since");

        assert_eq!(
            logged_conversations(&mut conn),
            vec![kept.id.clone(), kept_after.id.clone()]
        );
    }
}
