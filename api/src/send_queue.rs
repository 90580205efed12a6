//! Patients' messages to their conversations, written in batches. On PostgreSQL a send's cost is
//! its round trips and its commit more than its rows: a send alone is eleven statements, and a
//! batch of any size about as many. So sends queue here, and each of a few writers takes all that
//! are waiting and stores them in one transaction ([`conversations::post_batch_by_patients`]),
//! which keeps each send's own outcome ([`crate::batches`]). Sends alone went from 918/s to
//! 3,580/s (BENCHMARKS.md).

use std::collections::HashMap;

use persistence::audit::NewAuditEvent;
use persistence::conversations::{self, PatientPost, Sent};
use persistence::{Backend, DbConnection};

use crate::auth::Caller;
use crate::batches::{self, BatchQueue, BatchReceiver};
use crate::conversation_errors::write_error;
use crate::error::ApiError;
use crate::patient_app::{ParsedSend, SendSettings};
use crate::state::AppState;

/// Sends one transaction stores at most: enough to amortize its round trips, few enough that
/// its locks are brief and the statements stay small.
const BATCH_LIMIT: usize = 64;

/// Sends that may wait for a writer before new ones are refused (503).
const QUEUE_LIMIT: usize = 4096;

/// A patient's send to one of their conversations, validated and within the send limit.
pub struct PendingPost {
    caller: Caller,
    conversation_id: String,
    send: ParsedSend,
    audit: NewAuditEvent,
}

/// The handlers' end of the queue.
#[derive(Clone)]
pub struct SendQueue(BatchQueue<PendingPost, Sent>);

impl SendQueue {
    pub fn new() -> (SendQueue, BatchReceiver<PendingPost, Sent>) {
        let (queue, receiver) = BatchQueue::holding(
            QUEUE_LIMIT,
            "The server is busy storing messages; retry shortly.",
        );
        (SendQueue(queue), receiver)
    }

    /// Queues the patient's message to their conversation `conversation_id` and waits until a
    /// writer has stored it (or found it stored, or refused it).
    pub async fn post(
        &self,
        caller: Caller,
        conversation_id: String,
        send: ParsedSend,
        audit: NewAuditEvent,
    ) -> Result<Sent, ApiError> {
        self.0
            .submit(PendingPost {
                caller,
                conversation_id,
                send,
                audit,
            })
            .await
    }
}

/// Writers storing batches at once. On PostgreSQL, two: while one waits on the database the
/// next batch gathers and the other can take it (one, two, four and eight writers stored 2,927,
/// 3,580, 3,467 and 2,571 sends/s; BENCHMARKS.md). SQLite has one write lock, and a second writer
/// would only keep it busier while the readers' audit rows wait for it.
fn writers(backend: Backend) -> usize {
    match backend {
        Backend::Postgres => 2,
        Backend::Sqlite => 1,
    }
}

/// Starts the writers on the queue's receiving end.
pub fn start(state: &AppState, receiver: BatchReceiver<PendingPost, Sent>, backend: Backend) {
    batches::start(state, receiver, writers(backend), BATCH_LIMIT, write_batch);
}

/// Routes each send with its organization's settings (read once per organization) and stores
/// the batch; one outcome per send, in order.
fn write_batch(
    state: &AppState,
    conn: &mut DbConnection,
    pending: &[PendingPost],
) -> Vec<Result<Sent, ApiError>> {
    let mut settings: HashMap<&str, Result<SendSettings, ApiError>> = HashMap::new();
    for post in pending {
        let organization_id = post.caller.organization_id.as_str();
        if !settings.contains_key(organization_id) {
            let read = SendSettings::of(state, conn, organization_id);
            settings.insert(organization_id, read);
        }
    }
    let routed: Vec<Result<_, ApiError>> = pending
        .iter()
        .map(|post| {
            let settings = settings[post.caller.organization_id.as_str()]
                .as_ref()
                .map_err(Clone::clone)?;
            Ok((settings, settings.route(&post.send)))
        })
        .collect();
    let posts: Vec<PatientPost<'_>> = pending
        .iter()
        .zip(&routed)
        .filter_map(|(post, routed)| {
            let (settings, decision) = routed.as_ref().ok()?;
            Some(PatientPost {
                patient_id: &post.caller.id,
                conversation_id: &post.conversation_id,
                message: settings.message(&post.send, decision, &post.audit),
            })
        })
        .collect();
    let mut stored = conversations::post_batch_by_patients(conn, &posts).into_iter();
    routed
        .iter()
        .map(|routed| match routed {
            Err(error) => Err(error.clone()),
            Ok(_) => match stored.next() {
                Some(outcome) => outcome.map_err(|error| write_error(conn, error)),
                None => Err(ApiError::internal("a batched send has no outcome")),
            },
        })
        .collect()
}
