//! Patients' messages to their conversations, written in batches. On PostgreSQL a send's cost is
//! its round trips and its commit more than its rows: a send alone is eleven statements, and a
//! batch of any size about as many. So sends queue here, and each of a few writers takes all that
//! are waiting and stores them in one transaction ([`conversations::post_batch_by_patients`]),
//! which keeps each send's own outcome. Sends alone went from 918/s to 3,580/s (BENCHMARKS.md).
//!
//! Nothing waits for a batch to fill: a writer takes what is queued the moment it is free, so a
//! lone send is written at once, and under load the batches grow by themselves.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use persistence::audit::NewAuditEvent;
use persistence::conversations::{self, PatientPost, Sent};
use persistence::{Backend, DbConnection};
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::auth::Caller;
use crate::conversation_errors::write_error;
use crate::error::{ApiError, ProblemKind};
use crate::patient_app::{ParsedSend, SendSettings};
use crate::state::AppState;

/// Sends one transaction stores at most: enough to amortize its round trips, few enough that
/// its locks are brief and the statements stay small.
const BATCH_LIMIT: usize = 64;

/// Sends that may wait for a writer before new ones are refused (503): past this the server is
/// behind by seconds, and a client is better told to retry than left waiting.
const QUEUE_LIMIT: usize = 4096;

/// A patient's send to one of their conversations, validated and within the send limit.
struct PendingPost {
    caller: Caller,
    conversation_id: String,
    send: ParsedSend,
    audit: NewAuditEvent,
}

/// A post waiting for a writer, and where its outcome goes.
struct QueuedPost {
    post: PendingPost,
    reply: oneshot::Sender<Result<Sent, ApiError>>,
}

/// The handlers' end of the queue.
#[derive(Clone)]
pub struct SendQueue {
    sender: mpsc::Sender<QueuedPost>,
}

/// The writers' end, handed to [`start`] once the state that holds the queue exists.
pub struct SendReceiver(mpsc::Receiver<QueuedPost>);

impl SendQueue {
    pub fn new() -> (SendQueue, SendReceiver) {
        SendQueue::holding(QUEUE_LIMIT)
    }

    fn holding(limit: usize) -> (SendQueue, SendReceiver) {
        let (sender, receiver) = mpsc::channel(limit);
        (SendQueue { sender }, SendReceiver(receiver))
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
        let (reply, outcome) = oneshot::channel();
        let post = PendingPost {
            caller,
            conversation_id,
            send,
            audit,
        };
        self.sender
            .try_send(QueuedPost { post, reply })
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => ApiError::new(
                    ProblemKind::Unavailable,
                    "The server is busy storing messages; retry shortly.",
                )
                .with_header(header::RETRY_AFTER, HeaderValue::from(1)),
                mpsc::error::TrySendError::Closed(_) => {
                    ApiError::internal("the send writers have stopped")
                }
            })?;
        // A writer that panicked drops the reply: whether the send was stored is unknown, which
        // the client settles by retrying with its client_message_id.
        outcome
            .await
            .map_err(|_| ApiError::internal("the send's writer stopped before answering"))?
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
pub fn start(state: &AppState, receiver: SendReceiver, backend: Backend) {
    let receiver = Arc::new(Mutex::new(receiver.0));
    for _ in 0..writers(backend) {
        tokio::spawn(write_forever(state.clone(), receiver.clone()));
    }
}

async fn write_forever(state: AppState, receiver: Arc<Mutex<mpsc::Receiver<QueuedPost>>>) {
    while let Some(batch) = next_batch(&receiver).await {
        let (posts, replies): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .map(|queued| (queued.post, queued.reply))
            .unzip();
        let count = posts.len();
        let writer_state = state.clone();
        let outcomes = state
            .db(move |conn| Ok(write_batch(&writer_state, conn, &posts)))
            .await
            .unwrap_or_else(|error| vec![Err(error); count]);
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            // The client may have gone; its send is stored all the same.
            let _ = reply.send(outcome);
        }
    }
}

/// Waits for a send, then takes every other one already queued, up to the batch limit. `None`
/// once the queue is closed and empty.
async fn next_batch(receiver: &Mutex<mpsc::Receiver<QueuedPost>>) -> Option<Vec<QueuedPost>> {
    let mut receiver = receiver.lock().await;
    let first = receiver.recv().await?;
    let mut batch = vec![first];
    while batch.len() < BATCH_LIMIT {
        match receiver.try_recv() {
            Ok(queued) => batch.push(queued),
            Err(_) => break,
        }
    }
    Some(batch)
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

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;
    use domain::roles::Role;

    use super::*;
    use crate::patient_app::{parse_send, SendMessage};

    fn post(queue: &SendQueue) -> impl std::future::Future<Output = Result<Sent, ApiError>> {
        let queue = queue.clone();
        let caller = Caller {
            id: "patient".to_owned(),
            organization_id: "clinic".to_owned(),
            role: Role::Patient,
        };
        let send = parse_send(SendMessage {
            body: "My knee hurts".to_owned(),
            client_message_id: None,
        })
        .unwrap();
        let audit = NewAuditEvent {
            action: "message.send".to_owned(),
            ..NewAuditEvent::default()
        };
        async move {
            queue
                .post(caller, "conversation".to_owned(), send, audit)
                .await
        }
    }

    #[tokio::test]
    async fn a_full_queue_refuses_with_retry_after_and_keeps_what_it_holds() {
        let (queue, receiver) = SendQueue::holding(1);
        // No writer runs, so the first send stays queued and waits for its answer.
        let waiting = tokio::spawn(post(&queue));
        while queue.sender.capacity() > 0 {
            tokio::task::yield_now().await;
        }

        let refused = post(&queue).await.unwrap_err().error_response();
        assert_eq!(
            refused.status(),
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(refused.headers().get(header::RETRY_AFTER).unwrap(), "1");

        let mut receiver = receiver.0;
        let held = receiver.try_recv().expect("the first send is still queued");
        assert_eq!(held.post.conversation_id, "conversation");
        assert!(
            receiver.try_recv().is_err(),
            "the refused send was not queued"
        );
        held.reply
            .send(Err(ApiError::internal("no writer in this test")))
            .unwrap_or_else(|_| panic!("the first send stopped waiting"));
        assert!(waiting.await.unwrap().is_err());
    }
}
