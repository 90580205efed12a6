//! The audit trail: append-only rows of who read or changed what. Writes record their row in the
//! transaction of the change, so a change without its audit row cannot commit.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::column_arrays::array_rows;
use crate::schema::audit_events;
use crate::{new_id, now, DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq, Eq)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: String,
    pub organization_id: Option<String>,
    pub actor_id: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub request_id: Option<String>,
    pub client_address: Option<String>,
    pub occurred_at: NaiveDateTime,
}

array_rows!(
    AuditEvent,
    audit_events {
        id,
        organization_id,
        actor_id,
        actor_role,
        action,
        target_type,
        target_id,
        request_id,
        client_address,
        occurred_at
    }
);

/// One audit row to write; the id and time are set on insert.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewAuditEvent {
    pub organization_id: Option<String>,
    pub actor_id: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub request_id: Option<String>,
    pub client_address: Option<String>,
}

impl NewAuditEvent {
    /// The same event, about `target_id` of `target_type`.
    pub fn about(&self, target_type: &str, target_id: &str) -> NewAuditEvent {
        NewAuditEvent {
            target_type: Some(target_type.to_owned()),
            target_id: Some(target_id.to_owned()),
            ..self.clone()
        }
    }
}

pub fn record(conn: &mut DbConnection, event: &NewAuditEvent) -> Result<(), StoreError> {
    record_all(conn, std::slice::from_ref(event))
}

/// Records several events with one statement (the sends of a batch).
pub fn record_all(conn: &mut DbConnection, events: &[NewAuditEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let occurred_at = now();
    let rows: Vec<AuditEvent> = events
        .iter()
        .map(|event| AuditEvent {
            id: new_id(),
            organization_id: event.organization_id.clone(),
            actor_id: event.actor_id.clone(),
            actor_role: event.actor_role.clone(),
            action: event.action.clone(),
            target_type: event.target_type.clone(),
            target_id: event.target_id.clone(),
            request_id: event.request_id.clone(),
            client_address: event.client_address.clone(),
            occurred_at,
        })
        .collect();
    insert_all!(conn, audit_events::table, &rows)?;
    Ok(())
}

/// Filters of the admin audit query; all optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub target_id: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

/// An organization's audit rows, newest first; ids are time-ordered, so `before` (the last id of
/// the previous page) is the cursor.
pub fn list(
    conn: &mut DbConnection,
    organization_id: &str,
    filter: &AuditFilter,
    before: Option<&str>,
    limit: i64,
) -> Result<(Vec<AuditEvent>, bool), StoreError> {
    let mut query = audit_events::table
        .filter(audit_events::organization_id.eq(organization_id))
        .select(AuditEvent::as_select())
        .order(audit_events::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(actor) = &filter.actor_id {
        query = query.filter(audit_events::actor_id.eq(actor));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action));
    }
    if let Some(target) = &filter.target_id {
        query = query.filter(audit_events::target_id.eq(target));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_events::occurred_at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_events::occurred_at.lt(until));
    }
    if let Some(before) = before {
        query = query.filter(audit_events::id.lt(before));
    }
    let mut rows = query.load(conn)?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok((rows, more))
}
