//! The live inbox's event log: every conversation write appends what changed to `inbox_events`
//! in its own transaction, and server-sent-event streams tail the log. The row id is the event id
//! clients resume from; the log's order is its [`Position`]s'.
//!
//! Rows carry ids, kinds and states — never message text or names — because they are sent to
//! browsers and apps, and kept for a day.

use std::cell::{Cell, RefCell};

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use domain::conversation::Event;
use domain::routing::Team;
use serde_json::{json, Value};

use crate::column_arrays::array_rows;
use crate::conversations::{message_kind, ConversationRow, MessageRow};
use crate::db::write_transaction;
use crate::schema::inbox_events;
use crate::search::Condition;
use crate::{now, DbConnection, StoreError};

/// The PostgreSQL channel a committed event is announced on. The notification carries nothing:
/// listeners read the log, so a lost or merged notification loses no event. It is sent after the
/// write commits, not in its transaction: PostgreSQL commits the transactions that notify one
/// at a time, under one lock for the whole database, and so did every write while each sent one.
pub const CHANNEL: &str = "inbox_events";

/// Kinds of events that are not conversation timeline events (those keep their domain names:
/// `claimed`, `released`, `closed`, `reopened`, `escalated`, `handed_off`, …).
pub mod event_kind {
    pub const CONVERSATION_CREATED: &str = "conversation_created";
    pub const MESSAGE_CREATED: &str = "message_created";
}

/// Where a stream is in the log. The log is read in the order of the ids of the transactions
/// that wrote it (`tx`), then of its row ids, and only as far as it is *settled*: written by
/// transactions older than every one still running on the server. No event can later appear
/// before a settled one, so a stream that has sent everything up to a position never has to look
/// back.
///
/// Row ids alone would not do on PostgreSQL: writers commit in any order, so a transaction could
/// take id 10 and commit after the one with id 11, and a stream that had already read 11 would
/// never see 10. Holding a lock from the events to the commit kept ids in commit order, but made
/// every write of the database wait for the one before to commit. SQLite commits one writer at a
/// time, so its ids are in commit order already, and its `tx` is always 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub tx: i64,
    pub id: i64,
}

impl Position {
    /// Before every event.
    pub const START: Position = Position { tx: 0, id: 0 };

    /// The events after this position, as one row comparison: a range of the log's index.
    fn events_after(self) -> Condition<inbox_events::table> {
        Box::new(
            sql::<Bool>("(inbox_events.tx, inbox_events.id) > (")
                .bind::<BigInt, _>(self.tx)
                .sql(", ")
                .bind::<BigInt, _>(self.id)
                .sql(")"),
        )
    }
}

/// On PostgreSQL, the oldest transaction id that may still write the log: the oldest
/// transaction the statement's snapshot counts as running, or the first not yet begun.
///
/// Transaction ids belong to the whole server, so a long transaction in any of its databases
/// holds the streams' events back until it ends (its events, if any, must come first). Keep
/// transactions short (the server's are; set `idle_in_transaction_session_timeout` for people's
/// sessions). Leaving out other databases' transactions, as `pg_stat_activity` shows them, cost
/// each stream read 2 ms of planning and 0.5 ms of reading it, and the sends with 20 streams open
/// less than half their rate (BENCHMARKS.md, item 27).
const OLDEST_POSSIBLE_WRITER: &str = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint";

/// Whether an event row is settled (see [`Position`]).
fn settled(conn: &DbConnection) -> String {
    match conn {
        DbConnection::Postgresql(_) => format!("inbox_events.tx < {OLDEST_POSSIBLE_WRITER}"),
        DbConnection::Sqlite(_) => "1".to_owned(),
    }
}

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
    pub tx: i64,
}

impl InboxEventRow {
    pub fn position(&self) -> Position {
        Position {
            tx: self.tx,
            id: self.id,
        }
    }
}

/// The row's `tx` is the column's default: the writing transaction's id on PostgreSQL, 0 on
/// SQLite.
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

array_rows!(
    NewInboxEvent,
    inbox_events {
        organization_id,
        conversation_id,
        patient_id,
        team,
        kind,
        internal,
        payload,
        created_at
    }
);

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
/// the caller can announce them once committed: wake this process's streams on SQLite, `NOTIFY`
/// [`CHANNEL`] on PostgreSQL.
pub fn take_appended() -> bool {
    APPENDED.replace(false)
}

/// Drops the events queued after `mark` (by a transaction or savepoint that rolled back).
pub(crate) fn discard_pending(mark: usize) {
    PENDING.with_borrow_mut(|pending| pending.truncate(mark));
}

/// Appends the queued events to the log: the outermost write transaction calls it before
/// committing.
pub(crate) fn append_pending(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    let events = PENDING.with_borrow_mut(std::mem::take);
    if events.is_empty() {
        return Ok(());
    }
    APPENDED.set(true);
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

/// What a stream reads from the log at once.
#[derive(Debug)]
pub struct LogRead {
    /// Settled events after the position, in the log's order.
    pub events: Vec<InboxEventRow>,
    /// Committed events follow that are not settled yet: a transaction older than theirs is
    /// still running, and may add events before them. They are for a later read, which nothing
    /// may wake if that transaction writes no event.
    pub unsettled: bool,
}

/// The audience's settled events after `after`, at most `limit`.
pub fn events_after(
    conn: &mut DbConnection,
    audience: &Audience,
    after: Position,
    limit: i64,
) -> Result<LogRead, StoreError> {
    let mut query = inbox_events::table
        .filter(after.events_after())
        .select((InboxEventRow::as_select(), sql::<Bool>(&settled(conn))))
        .order((inbox_events::tx.asc(), inbox_events::id.asc()))
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
    let rows: Vec<(InboxEventRow, bool)> = query.load(conn)?;
    let unsettled = rows.iter().any(|(_, settled)| !settled);
    let events = rows
        .into_iter()
        .take_while(|(_, settled)| *settled)
        .map(|(event, _)| event)
        .collect();
    Ok(LogRead { events, unsettled })
}

/// Where a stream that starts now begins: after every settled event, so that it gets each event
/// committed from now on (and perhaps a few committed just before, not yet settled).
pub fn current_position(conn: &mut DbConnection) -> Result<Position, StoreError> {
    match conn {
        DbConnection::Postgresql(_) => {
            let oldest_possible_writer: i64 =
                diesel::select(sql::<BigInt>(OLDEST_POSSIBLE_WRITER)).get_result(conn)?;
            Ok(Position {
                tx: oldest_possible_writer - 1,
                id: i64::MAX,
            })
        }
        DbConnection::Sqlite(_) => {
            let newest = inbox_events::table
                .select(diesel::dsl::max(inbox_events::id))
                .first::<Option<i64>>(conn)?;
            Ok(Position {
                tx: 0,
                id: newest.unwrap_or(0),
            })
        }
    }
}

/// The position of the event `id`, while the log keeps it.
pub fn position_of(conn: &mut DbConnection, id: i64) -> Result<Option<Position>, StoreError> {
    Ok(inbox_events::table
        .find(id)
        .select(inbox_events::tx)
        .first::<i64>(conn)
        .optional()?
        .map(|tx| Position { tx, id }))
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
