//! Writes that many requests hand to a few writers, each storing all that are queued at once:
//! on PostgreSQL a write's cost is its round trips and its commit more than its rows, so a batch
//! pays them once for many requests. Patients' sends ([`crate::send_queue`]) go this way, and on
//! PostgreSQL the audit rows of reads ([`crate::audit::ReadAudits`]). Each request still gets its
//! own outcome, and only once its write is stored.
//!
//! Nothing waits for a batch to fill: a writer takes what is queued the moment it is free, so a
//! lone write is stored at once, and under load the batches grow by themselves.

use std::sync::Arc;

use persistence::DbConnection;
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::error::ApiError;
use crate::state::AppState;

/// Seconds a client refused by a full queue should wait: the writers are at work and drain a
/// full queue within seconds at the rates BENCHMARKS.md measured, so a retry soon finds room
/// (an unreachable database is given five).
const FULL_QUEUE_RETRY_AFTER_SECONDS: u32 = 1;

/// Stores a batch on one connection: one outcome per item, in order.
pub type WriteBatch<T, R> = fn(&AppState, &mut DbConnection, &[T]) -> Vec<Result<R, ApiError>>;

/// An item waiting for a writer, and where its outcome goes.
struct Queued<T, R> {
    item: T,
    reply: oneshot::Sender<Result<R, ApiError>>,
}

/// The requests' end of a queue.
pub struct BatchQueue<T, R> {
    sender: mpsc::Sender<Queued<T, R>>,
    /// What a client is told when the queue is full.
    busy: &'static str,
}

impl<T, R> Clone for BatchQueue<T, R> {
    fn clone(&self) -> Self {
        BatchQueue {
            sender: self.sender.clone(),
            busy: self.busy,
        }
    }
}

/// The writers' end, handed to [`start`] once the state that holds the queue exists.
pub struct BatchReceiver<T, R>(mpsc::Receiver<Queued<T, R>>);

impl<T, R> BatchQueue<T, R> {
    /// A queue where at most `limit` items wait for a writer; past that the server is behind by
    /// seconds, and a client is better told to retry (503, with `busy`) than left waiting.
    pub fn holding(limit: usize, busy: &'static str) -> (BatchQueue<T, R>, BatchReceiver<T, R>) {
        let (sender, receiver) = mpsc::channel(limit);
        (BatchQueue { sender, busy }, BatchReceiver(receiver))
    }

    /// Queues `item` and waits until a writer has stored it (or refused it).
    pub async fn submit(&self, item: T) -> Result<R, ApiError> {
        let (reply, outcome) = oneshot::channel();
        self.sender
            .try_send(Queued { item, reply })
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => {
                    ApiError::retry_later(self.busy, FULL_QUEUE_RETRY_AFTER_SECONDS)
                }
                mpsc::error::TrySendError::Closed(_) => {
                    ApiError::internal("the batch writers have stopped")
                }
            })?;
        // A writer that panicked drops the reply: whether the item was stored is unknown, which
        // a send's client settles by retrying with its client_message_id.
        outcome
            .await
            .map_err(|_| ApiError::internal("the batch's writer stopped before answering"))?
    }
}

/// Starts `writers` writers on the queue's receiving end, each storing up to `batch_limit`
/// items at a time with `write`.
pub fn start<T, R>(
    state: &AppState,
    receiver: BatchReceiver<T, R>,
    writers: usize,
    batch_limit: usize,
    write: WriteBatch<T, R>,
) where
    T: Send + 'static,
    R: Send + 'static,
{
    let receiver = Arc::new(Mutex::new(receiver.0));
    for _ in 0..writers {
        tokio::spawn(write_forever(
            state.clone(),
            receiver.clone(),
            batch_limit,
            write,
        ));
    }
}

async fn write_forever<T, R>(
    state: AppState,
    receiver: Arc<Mutex<mpsc::Receiver<Queued<T, R>>>>,
    batch_limit: usize,
    write: WriteBatch<T, R>,
) where
    T: Send + 'static,
    R: Send + 'static,
{
    while let Some(batch) = next_batch(&receiver, batch_limit).await {
        let (items, replies): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .map(|queued| (queued.item, queued.reply))
            .unzip();
        let count = items.len();
        let writer_state = state.clone();
        let outcomes = state
            .db(move |conn| Ok(write(&writer_state, conn, &items)))
            .await
            .unwrap_or_else(|error| (0..count).map(|_| Err(error.clone())).collect());
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            // The client may have gone; its write is stored all the same.
            let _ = reply.send(outcome);
        }
    }
}

/// Waits for an item, then takes every other one already queued, up to `limit`. `None` once
/// the queue is closed and empty.
async fn next_batch<T, R>(
    receiver: &Mutex<mpsc::Receiver<Queued<T, R>>>,
    limit: usize,
) -> Option<Vec<Queued<T, R>>> {
    let mut receiver = receiver.lock().await;
    let first = receiver.recv().await?;
    let mut batch = vec![first];
    while batch.len() < limit {
        match receiver.try_recv() {
            Ok(queued) => batch.push(queued),
            Err(_) => break,
        }
    }
    Some(batch)
}

#[cfg(test)]
mod tests {
    use actix_web::http::header;
    use actix_web::ResponseError;

    use super::*;

    #[tokio::test]
    async fn a_full_queue_refuses_with_retry_after_and_keeps_what_it_holds() {
        let (queue, receiver) =
            BatchQueue::<&'static str, ()>::holding(1, "Busy with the first item.");
        // No writer runs, so the first item stays queued and waits for its answer.
        let waiting = tokio::spawn({
            let queue = queue.clone();
            async move { queue.submit("first").await }
        });
        while queue.sender.capacity() > 0 {
            tokio::task::yield_now().await;
        }

        let refused = queue.submit("second").await.unwrap_err();
        assert_eq!(
            refused.to_string(),
            "service_unavailable: Busy with the first item."
        );
        let refused = refused.error_response();
        assert_eq!(
            refused.status(),
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(refused.headers().get(header::RETRY_AFTER).unwrap(), "1");

        let mut receiver = receiver.0;
        let held = receiver.try_recv().expect("the first item is still queued");
        assert_eq!(held.item, "first");
        assert!(
            receiver.try_recv().is_err(),
            "the refused item was not queued"
        );
        held.reply
            .send(Err(ApiError::internal("no writer in this test")))
            .unwrap_or_else(|_| panic!("the first item stopped waiting"));
        assert!(waiting.await.unwrap().is_err());
    }
}
