//! The audit trail at the HTTP edge: who (the caller), what (action and target), when, request
//! id and client address. Writes record their row inside the transaction of the change; reads
//! record theirs after a successful read. Refused requests leave no row — except failed
//! sign-ins, which are the point of auditing sign-ins.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, get, web, FromRequest, HttpMessage, HttpRequest};
use chrono::{DateTime, NaiveDateTime};
use persistence::audit::{self, AuditEvent, AuditFilter, NewAuditEvent};
use persistence::db::write_transaction;
use persistence::{Backend, DbConnection, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{AdminCaller, Caller};
use crate::batches::{self, BatchQueue, BatchReceiver};
use crate::error::{ApiError, Problem};
use crate::pagination::{bad_cursor, PageParams, Paged};
use crate::state::AppState;
use crate::telemetry::RequestId;
use crate::views::timestamp;

/// Where a request came from, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub request_id: Option<String>,
    /// The socket peer; forwarded-for headers are client-controlled and not recorded as fact.
    pub client_address: Option<String>,
}

impl FromRequest for RequestContext {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(RequestContext {
            request_id: request
                .extensions()
                .get::<RequestId>()
                .map(|id| id.0.clone()),
            client_address: request.peer_addr().map(|address| address.ip().to_string()),
        }))
    }
}

/// An action on a target, by the caller, to be recorded.
#[derive(Debug, Clone)]
pub struct Audit(NewAuditEvent);

impl Audit {
    pub fn new(context: &RequestContext, caller: &Caller, action: &str) -> Audit {
        Audit(NewAuditEvent {
            organization_id: Some(caller.organization_id.clone()),
            actor_id: Some(caller.id.clone()),
            actor_role: Some(caller.role.as_str().to_owned()),
            action: action.to_owned(),
            request_id: context.request_id.clone(),
            client_address: context.client_address.clone(),
            ..NewAuditEvent::default()
        })
    }

    /// A sign-in attempt: the actor is known only when the email matched an account.
    pub fn sign_in(
        context: &RequestContext,
        action: &str,
        actor: Option<(&str, &str, &str)>,
    ) -> Audit {
        Audit(NewAuditEvent {
            organization_id: actor.map(|(_, organization, _)| organization.to_owned()),
            actor_id: actor.map(|(id, _, _)| id.to_owned()),
            actor_role: actor.map(|(_, _, role)| role.to_owned()),
            action: action.to_owned(),
            request_id: context.request_id.clone(),
            client_address: context.client_address.clone(),
            ..NewAuditEvent::default()
        })
    }

    pub fn on(self, target_type: &str, target_id: &str) -> Audit {
        Audit(self.0.about(target_type, target_id))
    }

    /// The row to record, for writes that record it themselves (a patient's send).
    pub fn event(&self) -> &NewAuditEvent {
        &self.0
    }

    pub fn record(&self, conn: &mut DbConnection) -> Result<(), StoreError> {
        audit::record(conn, &self.0)
    }

    /// Records the row in a write transaction of its own, for a caller outside one: on SQLite
    /// that is what makes it take its turn for the write lock instead of polling for it.
    /// `record` stays the way for callers already in a transaction, which would otherwise pay
    /// for a savepoint.
    pub fn record_alone(&self, conn: &mut DbConnection) -> Result<(), StoreError> {
        write_transaction(conn, |conn| self.record(conn))
    }

    /// Runs a change and records it in the same transaction: both commit or neither.
    pub fn write<T>(
        &self,
        conn: &mut DbConnection,
        work: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        write_transaction(conn, |conn| {
            let value = work(conn)?;
            self.record(conn)?;
            Ok(value)
        })
    }

    /// Like [`Audit::write`] for a change whose target exists only once it is made (a new
    /// conversation).
    pub fn write_about<T>(
        &self,
        conn: &mut DbConnection,
        target_type: &str,
        target_of: impl FnOnce(&T) -> String,
        work: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        write_transaction(conn, |conn| {
            let value = work(conn)?;
            audit::record(conn, &self.0.about(target_type, &target_of(&value)))?;
            Ok(value)
        })
    }

    /// Runs a read and records it once it succeeded; the answer waits until the row is stored.
    /// On PostgreSQL the read's connection does not wait: the rows of concurrent reads are
    /// stored together ([`ReadAudits`]).
    pub async fn read<T, F>(self, state: &AppState, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        match &state.read_audits {
            ReadAudits::Batched(queue) => {
                let value = state.db(work).await?;
                queue.submit(self.0).await?;
                Ok(value)
            }
            ReadAudits::WithTheRead => {
                state
                    .db(move |conn| {
                        let value = work(conn)?;
                        self.record_alone(conn)?;
                        Ok(value)
                    })
                    .await
            }
        }
    }
}

/// Where reads' audit rows are written.
///
/// On PostgreSQL, by a writer that stores every row queued at the moment with one statement:
/// committed alone, with a round trip and a flush of the write-ahead log each, the rows cost
/// timelines read by eight clients a third to a half of their throughput, and the sends beside
/// reads went 13–34 % faster with them batched (BENCHMARKS.md item 20).
///
/// On SQLite, by each read on its own connection, in its turn among the process's writers
/// (`write_transaction`): a single writer of every read's row lost SQLite's lock to the sends'
/// writer for a second at a time before the writers queued (item 20), and measured no better
/// than this since (item 21).
#[derive(Clone)]
pub enum ReadAudits {
    Batched(BatchQueue<NewAuditEvent, ()>),
    WithTheRead,
}

/// Rows waiting for the writer, handed to [`ReadAudits::start`] once the state exists.
pub type ReadAuditReceiver = BatchReceiver<NewAuditEvent, ()>;

/// One writer: reads queue their rows only briefly, and a second writer split them into batches
/// of one or two, paying a commit for each (BENCHMARKS.md).
const READ_AUDIT_WRITERS: usize = 1;
/// Rows one statement stores at most.
const READ_AUDIT_BATCH_LIMIT: usize = 256;
/// Rows that may wait for a writer before reads are refused (503).
const READ_AUDIT_QUEUE_LIMIT: usize = 4096;

impl ReadAudits {
    pub fn new(backend: Backend) -> (ReadAudits, Option<ReadAuditReceiver>) {
        match backend {
            Backend::Postgres => {
                let (queue, receiver) = BatchQueue::holding(
                    READ_AUDIT_QUEUE_LIMIT,
                    "The server is busy recording reads; retry shortly.",
                );
                (ReadAudits::Batched(queue), Some(receiver))
            }
            Backend::Sqlite => (ReadAudits::WithTheRead, None),
        }
    }

    pub fn start(state: &AppState, receiver: ReadAuditReceiver) {
        batches::start(
            state,
            receiver,
            READ_AUDIT_WRITERS,
            READ_AUDIT_BATCH_LIMIT,
            store_read_audits,
        );
    }
}

/// Stores the rows with one statement; should it fail, each alone, so that one row cannot fail
/// the reads of the others.
fn store_read_audits(
    _: &AppState,
    conn: &mut DbConnection,
    events: &[NewAuditEvent],
) -> Vec<Result<(), ApiError>> {
    match audit::record_all(conn, events) {
        Ok(()) => vec![Ok(()); events.len()],
        Err(_) => events
            .iter()
            .map(|event| audit::record(conn, event).map_err(ApiError::from))
            .collect(),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this actor's rows.
    pub actor_id: Option<String>,
    /// Only this action, e.g. `conversation.claim`.
    pub action: Option<String>,
    /// Only rows about this target id.
    pub target_id: Option<String>,
    /// RFC 3339; rows at or after it.
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// RFC 3339; rows before it.
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One audit row: ids only, never message text or names.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub actor_id: Option<String>,
    pub actor_role: Option<String>,
    /// `auth.sign_in`, `auth.sign_in_failed`, `auth.refresh`, `conversation.read`,
    /// `conversation.messages.read`, `message.send`, `conversation.claim`, … .
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub request_id: Option<String>,
    pub client_address: Option<String>,
    pub occurred_at: String,
}

impl AuditEntry {
    fn of(row: AuditEvent) -> Self {
        AuditEntry {
            id: row.id,
            actor_id: row.actor_id,
            actor_role: row.actor_role,
            action: row.action,
            target_type: row.target_type,
            target_id: row.target_id,
            request_id: row.request_id,
            client_address: row.client_address,
            occurred_at: timestamp(row.occurred_at),
        }
    }
}

fn parse_time(name: &str, value: Option<&String>) -> Result<Option<NaiveDateTime>, ApiError> {
    value
        .map(|raw| {
            DateTime::parse_from_rfc3339(raw)
                .map(|at| at.naive_utc())
                .map_err(|_| ApiError::invalid_request(format!("{name} must be an RFC 3339 time.")))
        })
        .transpose()
}

/// The organization's audit trail (admins).
///
/// Who did what to which record, newest first: sign-ins (failed ones too), reads and changes of
/// conversations, administration. Rows hold ids only — never message text or names — and can
/// be filtered by actor, action, target and time.
#[utoipa::path(
    tag = "admin",
    operation_id = "listAuditEvents",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of audit rows", body = Paged<AuditEntry>),
        (status = 400, description = "Bad filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit")]
pub async fn list_audit_events(
    state: web::Data<AppState>,
    caller: AdminCaller,
    query: web::Query<AuditQuery>,
) -> Result<web::Json<Paged<AuditEntry>>, ApiError> {
    let page = PageParams {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    let limit = page.limit()?;
    let before = page
        .cursor()
        .map(|cursor| {
            uuid::Uuid::parse_str(cursor)
                .map(|id| id.to_string())
                .map_err(|_| bad_cursor())
        })
        .transpose()?;
    let filter = AuditFilter {
        actor_id: query.actor_id.clone(),
        action: query.action.clone(),
        target_id: query.target_id.clone(),
        since: parse_time("since", query.since.as_ref())?,
        until: parse_time("until", query.until.as_ref())?,
    };
    let (rows, more) = state
        .db(move |conn| {
            Ok(audit::list(
                conn,
                &caller.organization_id,
                &filter,
                before.as_deref(),
                limit,
            )?)
        })
        .await?;
    let next_cursor = if more {
        rows.last().map(|row| row.id.clone())
    } else {
        None
    };
    Ok(web::Json(Paged {
        items: rows.into_iter().map(AuditEntry::of).collect(),
        next_cursor,
    }))
}

pub fn configure(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config.service(list_audit_events);
}
