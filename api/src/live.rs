//! The live inbox: `GET /v1/events`, a server-sent-events stream per caller.
//!
//! Streams tail the `inbox_events` log (see `persistence::live`) with the caller's visibility:
//! staff get their organization's events (support agents only Support's), patients only the
//! messages of their own conversations. Event ids are log ids; `Last-Event-ID` resumes after
//! that event's place in the log ([`live::Position`]), so nothing written meanwhile is lost.
//!
//! A stream reads the log when woken: on PostgreSQL by `NOTIFY`, which each instance sends after
//! its writes commit and hears through one listener connection (so every instance behind a load
//! balancer hears every write), on SQLite by the handlers of this process. The wake-up carries
//! nothing, and a periodic poll backs it up, so a lost notification delays an event but never
//! drops it.

use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{get, web, HttpRequest, HttpResponse};
use domain::access::visible_team;
use domain::roles::Role;
use futures_util::StreamExt;
use persistence::live::{self, Audience, InboxEventRow, Position};
use persistence::{DbConnection, Pool, StoreError};
use serde_json::json;
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::inbox::{staff_actor, InboxCounts};
use crate::state::AppState;

/// Timing of the streams and the log.
#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// How often a stream reads the log without a wake-up (the safety net).
    pub poll_interval: Duration,
    /// How often an idle stream sends a comment, so proxies keep it open.
    pub heartbeat_interval: Duration,
    /// How long events are kept for resuming; older resume points get `resync`.
    pub retention: Duration,
    /// Least time between two `counts` events of a stream. Counting reads every open
    /// conversation the caller may see, so a busy clinic must not have each connected staff
    /// member count again after every event.
    pub counts_interval: Duration,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(2),
            heartbeat_interval: Duration::from_secs(15),
            retention: Duration::from_secs(24 * 3600),
            counts_interval: Duration::from_secs(2),
        }
    }
}

/// Events a stream reads from the log at once.
const BATCH: i64 = 200;
/// Frames buffered for a slow client before the stream waits for it.
const STREAM_BUFFER: usize = 64;
/// What clients wait before reconnecting, sent as the stream's `retry:` field.
const RECONNECT_MILLIS: u64 = 2_000;
/// Wait before the listener or the announcer reconnects after losing its connection.
const LISTENER_RETRY: Duration = Duration::from_secs(2);
/// Wait before a stream first reads again events that were committed but not settled: the
/// transaction they wait for may end without a notification (it wrote no event). The wait
/// doubles while they stay unsettled, up to the poll interval, so that a long transaction does
/// not have every stream read the log twenty times a second.
const SETTLE_RETRY: Duration = Duration::from_millis(50);
/// Longest a `NOTIFY` may take before the announcer gives its connection up for a new one.
const ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(5);

/// Wakes this instance's streams when the log may have grown, announces this instance's writes
/// to every instance on PostgreSQL, and ends the streams when the server stops.
#[derive(Debug)]
pub struct EventHub {
    version: watch::Sender<u64>,
    /// Writes committed and not announced yet: however many there are, the announcer sends one
    /// `NOTIFY` for them.
    unannounced: Notify,
    closing: CancellationToken,
}

impl Default for EventHub {
    fn default() -> Self {
        Self {
            version: watch::Sender::new(0),
            unannounced: Notify::new(),
            closing: CancellationToken::new(),
        }
    }
}

impl EventHub {
    pub fn wake(&self) {
        self.version
            .send_modify(|version| *version = version.wrapping_add(1));
    }

    /// A write that appended events has committed.
    pub fn committed(&self, backend: persistence::Backend) {
        match backend {
            // This process is the only one on the file.
            persistence::Backend::Sqlite => self.wake(),
            persistence::Backend::Postgres => self.unannounced.notify_one(),
        }
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// Ends every open stream, and any opened later at once.
    pub(crate) fn close(&self) {
        self.closing.cancel();
    }
}

/// Starts the background work of the live inbox: the PostgreSQL listener and announcer (when
/// the database is PostgreSQL) and the pruning of old events.
pub fn start(state: &AppState, database_url: &persistence::DatabaseUrl, settings: &LiveSettings) {
    // On the runtime that builds the application (the server's, or a test's), not a worker's.
    if database_url.backend() == persistence::Backend::Postgres {
        let url = database_url.as_str().to_owned();
        tokio::spawn(listen(url.clone(), state.events.clone()));
        tokio::spawn(announce(url, state.events.clone()));
    }
    tokio::spawn(prune_periodically(state.pool.clone(), settings.retention));
}

/// Holds one `LISTEN` connection for as long as the process runs, reconnecting when it drops.
/// tokio-postgres is used for this connection only: Diesel cannot receive notifications.
async fn listen(url: String, hub: std::sync::Arc<EventHub>) {
    loop {
        match listen_once(&url, &hub).await {
            Ok(()) => tracing::warn!("the events listener connection closed; reconnecting"),
            Err(error) => tracing::warn!(%error, "the events listener failed; reconnecting"),
        }
        // Whatever was committed while deaf is in the log: have the streams look.
        hub.wake();
        tokio::time::sleep(LISTENER_RETRY).await;
    }
}

async fn listen_once(url: &str, hub: &EventHub) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    // The connection delivers query results and notifications alike; it must be polled while
    // the LISTEN runs.
    let statement = format!("LISTEN {}", live::CHANNEL);
    let subscribe = client.batch_execute(&statement);
    tokio::pin!(subscribe);
    let mut subscribed = false;
    loop {
        tokio::select! {
            result = &mut subscribe, if !subscribed => {
                result?;
                subscribed = true;
                tracing::info!("listening for inbox events");
                hub.wake();
            }
            message = messages.next() => match message {
                Some(Ok(tokio_postgres::AsyncMessage::Notification(_))) => hub.wake(),
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error),
                None => return Ok(()),
            },
        }
    }
}

/// Sends a `NOTIFY` after this instance's writes commit, on a connection of its own, for as long
/// as the process runs. One at a time, for all the writes committed meanwhile: PostgreSQL
/// commits notifying transactions one after another.
async fn announce(url: String, hub: std::sync::Arc<EventHub>) {
    loop {
        if let Err(error) = announce_on_one_connection(&url, &hub).await {
            tracing::warn!(%error, "the events announcer failed; reconnecting");
        }
        // Writes committed meanwhile are announced once it is back; the streams' polls may find
        // them before.
        tokio::time::sleep(LISTENER_RETRY).await;
    }
}

async fn announce_on_one_connection(url: &str, hub: &EventHub) -> Result<(), AnnounceError> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let connection = tokio::spawn(connection);
    // A lost notification only delays events until a poll, so its commit need not wait for the
    // disk.
    let announced = async {
        client.batch_execute("SET synchronous_commit = off").await?;
        let statement = format!("NOTIFY {}", live::CHANNEL);
        loop {
            hub.unannounced.notified().await;
            match tokio::time::timeout(ANNOUNCE_TIMEOUT, client.batch_execute(&statement)).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => return Err(AnnounceError::Database(error)),
                Err(_) => return Err(AnnounceError::TimedOut),
            }
        }
    }
    .await;
    connection.abort();
    // The writes it was announcing are announced by the next connection.
    hub.unannounced.notify_one();
    announced
}

#[derive(Debug, thiserror::Error)]
enum AnnounceError {
    #[error(transparent)]
    Database(#[from] tokio_postgres::Error),
    #[error("a NOTIFY took longer than {ANNOUNCE_TIMEOUT:?}")]
    TimedOut,
}

async fn prune_periodically(pool: Pool, retention: Duration) {
    // Pruning a day-long log every few minutes keeps each delete small.
    let mut every = tokio::time::interval((retention / 24).max(Duration::from_secs(60)));
    loop {
        every.tick().await;
        let Ok(retention) = chrono::Duration::from_std(retention) else {
            return;
        };
        let cutoff = persistence::now() - retention;
        match read(&pool, move |conn| live::prune(conn, cutoff)).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "pruned old inbox events"),
            Err(error) => tracing::warn!(error = %error.0, "pruning inbox events failed"),
        }
    }
}

/// A stream's database reads. They go around [`AppState::db`] on purpose: that one wakes or
/// announces after work that appended events, which a stream's reads never do.
async fn read<T, F>(pool: &Pool, work: F) -> Result<T, ReadError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    web::block(move || {
        let mut conn = pool.get().map_err(StoreError::from)?;
        work(&mut conn)
    })
    .await
    .map_err(|error| ReadError(error.to_string()))?
    .map_err(|error| ReadError(error.to_string()))
}

#[derive(Debug)]
struct ReadError(String);

/// Where a new stream starts reading.
#[derive(Debug, PartialEq, Eq)]
struct Start {
    after: Position,
    /// The resume point is older than the log keeps: the client must reload.
    resync: bool,
}

/// Where the stream of a client that last received `last_event_id` starts: after that event,
/// found at `resume_point` in the log, or at `now` for a new stream. 0 asks for the whole log.
fn start_of(last_event_id: Option<i64>, resume_point: Option<Position>, now: Position) -> Start {
    match (last_event_id, resume_point) {
        (None, _) => Start {
            after: now,
            resync: false,
        },
        (Some(0), _) => Start {
            after: Position::START,
            resync: false,
        },
        (Some(_), Some(after)) => Start {
            after,
            resync: false,
        },
        // An id the client received was committed, so one the log no longer holds was pruned,
        // and so may be events after it.
        (Some(_), None) => Start {
            after: now,
            resync: true,
        },
    }
}

fn frame(event: &InboxEventRow) -> Bytes {
    Bytes::from(format!(
        "id: {}\nevent: {}\ndata: {}\n\n",
        event.id, event.kind, event.payload
    ))
}

fn unnamed_frame(kind: &str, data: &serde_json::Value) -> Bytes {
    Bytes::from(format!("event: {kind}\ndata: {data}\n\n"))
}

/// The live inbox of the caller, as server-sent events.
///
/// Staff receive the changes of the conversations they may see — `conversation_created`,
/// `message_created` (internal notes too), `claimed`, `released`, `closed`, `reopened`,
/// `escalated`, `flagged_urgent`, `handed_off`, `routed`, `assigned`, `started` — and `counts`
/// events with the caller's inbox counts, fresh after those changes: at once after a quiet spell,
/// at most every two seconds (the server's `INBOX_EVENTS_COUNTS_MS`) while changes keep coming,
/// and always once after the last of them. Patients receive `message_created` for the
/// messages and acknowledgments of their own conversations, nothing else. `data` is JSON with
/// ids, kinds and states only (no message text, no names): fetch the resource to show it.
///
/// Every event but `counts` and `resync` has an `id:`; ids name events, they do not grow in the
/// order events are sent. After a dropped connection, reconnect with `Last-Event-ID` (the id of
/// the last event received) to receive everything written since; when that point is older than the
/// retention window (a day) the stream starts with a `resync` event and the client should reload
/// its lists. The stream also ends when the server stops (a deploy, a restart): reconnect the same
/// way. A `: keep-alive` comment is sent every 15 seconds. Use a fetch-based SSE client: the stream
/// needs the `Authorization` header like every other operation.
#[utoipa::path(
    tag = "live",
    operation_id = "streamEvents",
    security(("bearer" = [])),
    params(
        ("Last-Event-ID" = Option<i64>, Header, minimum = 0, description = "The id of the last event received, to resume after it"),
    ),
    responses(
        (status = 200, description = "The event stream; it stays open. Each event's `data` is a JSON object of ids, kinds and counts", body = Object, content_type = "text/event-stream",
            example = "id: 42\nevent: message_created\ndata: {\"conversation_id\":\"0193a7b0-0000-7000-8000-000000000020\",\"message_id\":\"0193a7b0-0000-7000-8000-000000000021\",\"message_kind\":\"patient\"}\n\n"),
        (status = 400, description = "Last-Event-ID is not an event id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events")]
pub async fn stream_events(
    state: web::Data<AppState>,
    caller: Caller,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let last_event_id = request
        .headers()
        .get("last-event-id")
        .map(|value| {
            value
                .to_str()
                .ok()
                .and_then(|value| value.trim().parse::<i64>().ok())
                .filter(|id| *id >= 0)
                .ok_or_else(|| ApiError::invalid_request("Last-Event-ID must be an event id."))
        })
        .transpose()?;
    let audience = match caller.role {
        Role::Patient => Audience::Patient {
            organization_id: caller.organization_id.clone(),
            patient_id: caller.id.clone(),
        },
        role => Audience::Staff {
            organization_id: caller.organization_id.clone(),
            visible_team: visible_team(role),
        },
    };
    let start = read(&state.pool, move |conn| {
        let resume_point = match last_event_id {
            Some(id) if id > 0 => live::position_of(conn, id)?,
            _ => None,
        };
        Ok(start_of(
            last_event_id,
            resume_point,
            live::current_position(conn)?,
        ))
    })
    .await
    .map_err(|error| ApiError::from(StoreError::Unavailable(error.0)))?;
    let (frames, receiver) = mpsc::channel(STREAM_BUFFER);
    let stream = Stream {
        state: state.get_ref().clone(),
        caller,
        audience,
        frames,
    };
    actix_web::rt::spawn(stream.run(start));
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|frame| (Ok::<_, actix_web::Error>(frame), receiver))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        // Asks nginx-style proxies not to buffer the stream.
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}

/// One open stream: a task that feeds frames to the response until the client goes away.
struct Stream {
    state: AppState,
    caller: Caller,
    audience: Audience,
    frames: mpsc::Sender<Bytes>,
}

/// The client hung up; the stream ends.
struct Gone;

impl Stream {
    async fn send(&self, frame: Bytes) -> Result<(), Gone> {
        self.frames.send(frame).await.map_err(|_| Gone)
    }

    async fn run(self, start: Start) {
        // Subscribing before the first read means no wake-up between that read and the wait is
        // missed.
        let mut wake = self.state.events.subscribe();
        let settings = self.state.live.clone();
        tokio::select! {
            _ = self.feed(start, &mut wake, &settings) => {}
            // The client reconnects, to another instance or to this one restarted, and resumes
            // with `Last-Event-ID`.
            () = self.state.events.closing.cancelled() => {}
        }
    }

    async fn feed(
        &self,
        start: Start,
        wake: &mut watch::Receiver<u64>,
        settings: &LiveSettings,
    ) -> Result<(), Gone> {
        // Sent at once, so the response starts (and the client knows it is subscribed) before any
        // event is due.
        self.send(Bytes::from(format!("retry: {RECONNECT_MILLIS}\n\n")))
            .await?;
        if start.resync {
            self.send(unnamed_frame("resync", &json!({}))).await?;
        }
        let mut after = start.after;
        let mut heartbeat = tokio::time::interval(settings.heartbeat_interval);
        let mut poll = tokio::time::interval(settings.poll_interval);
        heartbeat.reset();
        poll.reset();
        let mut counts = CountsSchedule::new(settings.counts_interval, Instant::now());
        let mut settle_wait = SETTLE_RETRY;
        loop {
            let (sent_up_to, unsettled) = self.deliver_new(after).await?;
            if !unsettled {
                settle_wait = SETTLE_RETRY;
            }
            if sent_up_to != after && self.caller.role != Role::Patient {
                counts.changed();
            }
            after = sent_up_to;
            if counts.due_by(Instant::now()) {
                let sent = self.send_counts().await?;
                counts.tried(Instant::now(), sent);
            }
            // When the counts wait for the interval to end: a select! branch's future is built
            // even when its condition is false, so it needs an instant either way.
            let counts_due = counts.due_at();
            let counts_wait = counts_due.unwrap_or_else(Instant::now);
            tokio::select! {
                changed = wake.changed() => {
                    if changed.is_err() {
                        return Err(Gone);
                    }
                }
                _ = poll.tick() => {}
                _ = heartbeat.tick() => self.send(Bytes::from_static(b": keep-alive\n\n")).await?,
                _ = tokio::time::sleep_until(counts_wait), if counts_due.is_some() => {}
                () = tokio::time::sleep(settle_wait), if unsettled => {
                    settle_wait = (settle_wait * 2).min(settings.poll_interval);
                }
            }
        }
    }

    /// Sends the settled events after `after`; returns the position of the last one sent, and
    /// whether unsettled ones follow.
    async fn deliver_new(&self, mut after: Position) -> Result<(Position, bool), Gone> {
        loop {
            let audience = self.audience.clone();
            let read = match read(&self.state.pool, move |conn| {
                live::events_after(conn, &audience, after, BATCH)
            })
            .await
            {
                Ok(read) => read,
                Err(error) => {
                    // The next wake-up or poll tries again from the same point.
                    tracing::warn!(error = %error.0, "reading inbox events failed");
                    return Ok((after, false));
                }
            };
            for event in &read.events {
                self.send(frame(event)).await?;
                after = event.position();
            }
            if read.unsettled || i64::try_from(read.events.len()).unwrap_or(BATCH) < BATCH {
                return Ok((after, read.unsettled));
            }
        }
    }

    /// Sends the staff member's inbox counts as they are now; false when they could not be
    /// counted.
    async fn send_counts(&self) -> Result<bool, Gone> {
        let caller = self.caller.clone();
        let counts = read(&self.state.pool, move |conn| {
            persistence::inbox::counts(conn, &staff_actor(&caller))
        })
        .await;
        match counts.map(InboxCounts::from).map(serde_json::to_value) {
            Ok(Ok(data)) => self
                .send(unnamed_frame("counts", &data))
                .await
                .map(|()| true),
            // Counts are a convenience; the events themselves went out.
            _ => {
                tracing::warn!("computing the counts of a stream failed");
                Ok(false)
            }
        }
    }
}

/// When a stream sends its next `counts` event: at once after events that follow a quiet
/// interval; during a burst of events once per interval, the last time after the burst's last
/// event.
#[derive(Debug)]
struct CountsSchedule {
    interval: Duration,
    /// Events went out after the last counts.
    stale: bool,
    /// The earliest the next counts may go out.
    next_allowed: Instant,
}

impl CountsSchedule {
    fn new(interval: Duration, now: Instant) -> Self {
        Self {
            interval,
            stale: false,
            next_allowed: now,
        }
    }

    fn changed(&mut self) {
        self.stale = true;
    }

    /// Counts were sent at `at`, or could not be: then they are tried again after the interval,
    /// so that the last change of a busy spell is not left uncounted.
    fn tried(&mut self, at: Instant, sent: bool) {
        self.stale &= !sent;
        self.next_allowed = at + self.interval;
    }

    /// When stale counts are due; `None` while the last counts sent are current.
    fn due_at(&self) -> Option<Instant> {
        self.stale.then_some(self.next_allowed)
    }

    fn due_by(&self, now: Instant) -> bool {
        self.due_at().is_some_and(|due| due <= now)
    }
}

pub fn configure(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config.service(stream_events);
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Position = Position { tx: 90, id: 42 };

    #[test]
    fn a_fresh_stream_starts_now() {
        let start = start_of(None, None, NOW);
        assert_eq!(
            start,
            Start {
                after: NOW,
                resync: false
            }
        );
    }

    #[test]
    fn a_kept_resume_point_resumes_after_it() {
        let kept = Position { tx: 70, id: 10 };
        let start = start_of(Some(10), Some(kept), NOW);
        assert_eq!(
            start,
            Start {
                after: kept,
                resync: false
            }
        );
    }

    #[test]
    fn a_pruned_resume_point_asks_for_a_resync() {
        let start = start_of(Some(3), None, NOW);
        assert_eq!(
            start,
            Start {
                after: NOW,
                resync: true
            }
        );
    }

    #[test]
    fn resuming_at_zero_reads_the_whole_log() {
        let start = start_of(Some(0), None, NOW);
        assert_eq!(
            start,
            Start {
                after: Position::START,
                resync: false
            }
        );
    }

    const INTERVAL: Duration = Duration::from_secs(2);

    #[test]
    fn counts_wait_for_a_change() {
        let opened = Instant::now();
        let counts = CountsSchedule::new(INTERVAL, opened);
        assert_eq!(counts.due_at(), None);
        assert!(!counts.due_by(opened + INTERVAL * 10));
    }

    #[test]
    fn the_first_change_is_counted_at_once() {
        let opened = Instant::now();
        let mut counts = CountsSchedule::new(INTERVAL, opened);
        counts.changed();
        assert!(counts.due_by(opened));
    }

    #[test]
    fn changes_within_the_interval_are_counted_once_when_it_ends() {
        let opened = Instant::now();
        let mut counts = CountsSchedule::new(INTERVAL, opened);
        counts.changed();
        counts.tried(opened, true);
        assert_eq!(counts.due_at(), None);
        counts.changed();
        counts.changed();
        assert_eq!(counts.due_at(), Some(opened + INTERVAL));
        assert!(!counts.due_by(opened + INTERVAL - Duration::from_millis(1)));
        assert!(counts.due_by(opened + INTERVAL));
        counts.tried(opened + INTERVAL, true);
        assert_eq!(counts.due_at(), None);
    }

    #[test]
    fn counts_that_failed_are_tried_again_after_the_interval() {
        let opened = Instant::now();
        let mut counts = CountsSchedule::new(INTERVAL, opened);
        counts.changed();
        counts.tried(opened, false);
        assert_eq!(counts.due_at(), Some(opened + INTERVAL));
    }

    #[test]
    fn a_change_after_a_quiet_interval_is_counted_at_once() {
        let opened = Instant::now();
        let mut counts = CountsSchedule::new(INTERVAL, opened);
        counts.changed();
        counts.tried(opened, true);
        let later = opened + INTERVAL * 3;
        counts.changed();
        assert!(counts.due_by(later));
    }
}
