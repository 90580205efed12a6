//! The live inbox over HTTP: `GET /v1/events` streams a workflow in order, resumes after a drop
//! without losing anything, and never shows a patient another patient's or a staff-only event.

use std::time::Duration;

use api::live::LiveSettings;
use http_tests::{id, Session, TestApp};
use persistence::live;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// One server-sent event; comments come back with `event` = ":".
#[derive(Debug, Clone)]
struct SseEvent {
    id: Option<i64>,
    event: String,
    data: Value,
}

struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    async fn open(app: &TestApp, session: &Session, last_event_id: Option<i64>) -> EventStream {
        let mut request = app
            .client
            .get(app.url("/v1/events"))
            .bearer_auth(&session.access_token);
        if let Some(last) = last_event_id {
            request = request.header("last-event-id", last.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        let mut stream = EventStream {
            response,
            buffer: String::new(),
        };
        // The stream opens with its `retry:` advice, once the server has fixed its position.
        let first = stream.next_block().await;
        assert!(first.starts_with("retry:"), "{first}");
        stream
    }

    /// The next blank-line-terminated block of the stream.
    async fn next_block(&mut self) -> String {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block = self.buffer[..end].to_owned();
                self.buffer.drain(..end + 2);
                return block;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("an event within 10 s")
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    async fn next_any(&mut self) -> SseEvent {
        let block = self.next_block().await;
        let mut event = SseEvent {
            id: None,
            event: "message".into(),
            data: Value::Null,
        };
        for line in block.lines() {
            if line.starts_with(':') {
                event.event = ":".into();
            } else if let Some(value) = line.strip_prefix("id: ") {
                event.id = Some(value.parse().unwrap());
            } else if let Some(value) = line.strip_prefix("event: ") {
                event.event = value.to_owned();
            } else if let Some(value) = line.strip_prefix("data: ") {
                event.data = serde_json::from_str(value).unwrap();
            }
        }
        event
    }

    /// The next event that has an id (skipping `counts` and keep-alives).
    async fn next_event(&mut self) -> SseEvent {
        loop {
            let event = self.next_any().await;
            if event.id.is_some() {
                return event;
            }
        }
    }

    /// The next `counts` event, and the events with ids before it.
    async fn next_counts(&mut self) -> (Vec<SseEvent>, Value) {
        let mut before = Vec::new();
        loop {
            let event = self.next_any().await;
            match event.event.as_str() {
                "counts" => return (before, event.data),
                ":" => {}
                _ => before.push(event),
            }
        }
    }

    /// Events with ids and `counts` events until an event with an id satisfies `last`, that
    /// one included.
    async fn frames_until(&mut self, last: impl Fn(&SseEvent) -> bool) -> Vec<SseEvent> {
        let mut frames = Vec::new();
        loop {
            let event = self.next_any().await;
            if event.event == ":" {
                continue;
            }
            let done = event.id.is_some() && last(&event);
            frames.push(event);
            if done {
                return frames;
            }
        }
    }

    /// Reads what is left of the stream; panics if it does not end within 10 s.
    async fn rest(&mut self) -> String {
        loop {
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("the stream ends within 10 s")
                .expect("the stream ends cleanly");
            match chunk {
                Some(chunk) => self.buffer.push_str(std::str::from_utf8(&chunk).unwrap()),
                None => return std::mem::take(&mut self.buffer),
            }
        }
    }

    /// Events with ids until one satisfies `last`, that one included.
    async fn until(&mut self, last: impl Fn(&SseEvent) -> bool) -> Vec<SseEvent> {
        let mut frames = self.frames_until(last).await;
        frames.retain(|frame| frame.id.is_some());
        frames
    }
}

fn kinds(events: &[SseEvent]) -> Vec<String> {
    events
        .iter()
        .map(|event| match event.data["message_kind"].as_str() {
            Some(message_kind) => format!("{}:{message_kind}", event.event),
            None => event.event.clone(),
        })
        .collect()
}

fn is_message(kind: &'static str) -> impl Fn(&SseEvent) -> bool {
    move |event| event.event == "message_created" && event.data["message_kind"] == kind
}

/// Rivera's stream, opened before Alice, Rivera's patient, starts a conversation; its id.
async fn rivera_watches_alice_start(app: &TestApp) -> (Session, Session, EventStream, String) {
    let rivera = app.login("rivera@demo.test").await;
    let alice = app.login("alice@demo.test").await;
    let stream = EventStream::open(app, &rivera, None).await;
    let conversation = id(&app
        .patient_starts(&alice, "My knee is still swollen after the exercises.")
        .await["conversation"]);
    (rivera, alice, stream, conversation)
}

#[tokio::test]
async fn a_staff_stream_receives_a_workflow_in_order() {
    let app = TestApp::spawn().await;
    let (rivera, _, mut stream, conversation) = rivera_watches_alice_start(&app).await;
    assert_eq!(
        app.staff_acts(&rivera, &conversation, "claim").await.status,
        StatusCode::OK
    );
    app.staff_writes(&rivera, &conversation, "Ice it for 15 minutes.", false)
        .await;
    app.staff_acts(&rivera, &conversation, "close").await;
    app.staff_acts(&rivera, &conversation, "reopen").await;

    let events = stream.until(|event| event.event == "reopened").await;
    assert_eq!(
        kinds(&events),
        [
            "conversation_created",
            "routed",
            "assigned",
            "message_created:patient",
            "message_created:acknowledgment",
            "claimed",
            "message_created:staff",
            "closed",
            "reopened",
        ]
    );
    assert!(events
        .iter()
        .all(|event| event.data["conversation_id"] == conversation));
    // One request after another: each write begins after the last commit, so its transaction
    // and its ids come after the last one's.
    let ids: Vec<i64> = events.iter().map(|event| event.id.unwrap()).collect();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");
    // No text and no names travel on the stream.
    let raw = serde_json::to_string(&events.iter().map(|e| &e.data).collect::<Vec<_>>()).unwrap();
    assert!(!raw.contains("swollen") && !raw.contains("Alice") && !raw.contains("Ice"));

    // Staff also get their counts, fresh after the changes.
    let (_, counts) = stream.next_counts().await;
    assert_eq!(counts["assigned"], 1, "{counts}");
}

/// [`rivera_watches_alice_start`] on a server with adjusted live settings, and the first counts
/// that followed.
struct CountedStart {
    app: TestApp,
    rivera: Session,
    alice: Session,
    stream: EventStream,
    conversation: String,
    events: Vec<SseEvent>,
    counts: Value,
}

impl CountedStart {
    async fn with(adjust: impl FnOnce(&mut LiveSettings)) -> CountedStart {
        let app = TestApp::spawn_with(|settings| adjust(&mut settings.live)).await;
        let (rivera, alice, mut stream, conversation) = rivera_watches_alice_start(&app).await;
        let (events, counts) = stream.next_counts().await;
        CountedStart {
            app,
            rivera,
            alice,
            stream,
            conversation,
            events,
            counts,
        }
    }
}

#[tokio::test]
async fn counts_come_at_once_after_a_quiet_spell_and_not_after_every_change() {
    // The interval outlasts the test: only the first change brings counts.
    let CountedStart {
        app,
        rivera,
        alice,
        mut stream,
        conversation,
        events,
        counts,
    } = CountedStart::with(|live| live.counts_interval = Duration::from_secs(600)).await;
    assert_eq!(events[0].event, "conversation_created");
    assert_eq!(counts["assigned"], 1, "{counts}");

    // Two more changes, each delivered on its own (the reply claims the conversation first):
    // none brings counts within the interval.
    app.staff_writes(&rivera, &conversation, "Ice it tonight.", false)
        .await;
    let mut frames = stream.frames_until(is_message("staff")).await;
    let sent = app
        .patient_posts(&alice, &conversation, "Thanks, I will.")
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.raw);
    frames.extend(stream.frames_until(is_message("patient")).await);
    assert_eq!(
        kinds(&frames),
        [
            "claimed",
            "message_created:staff",
            "message_created:patient"
        ]
    );
}

#[tokio::test]
async fn counts_follow_the_last_change_of_a_busy_spell() {
    let CountedStart {
        app,
        rivera,
        mut stream,
        conversation,
        counts,
        ..
    } = CountedStart::with(|live| {
        live.counts_interval = Duration::from_secs(3);
        // Only wake-ups and the counts' own timer make the stream look again.
        live.poll_interval = Duration::from_secs(600);
        live.heartbeat_interval = Duration::from_secs(600);
    })
    .await;
    assert_eq!(
        (counts["assigned"].clone(), counts["closed"].clone()),
        (json!(1), json!(0))
    );

    // Claimed and closed within the interval: the counts wait for it to end, then count both.
    app.staff_acts(&rivera, &conversation, "claim").await;
    app.staff_acts(&rivera, &conversation, "close").await;
    let (events, counts) = stream.next_counts().await;
    assert_eq!(kinds(&events), ["claimed", "closed"]);
    assert_eq!(
        (counts["assigned"].clone(), counts["closed"].clone()),
        (json!(0), json!(1))
    );
}

#[tokio::test]
async fn resuming_with_last_event_id_after_a_drop_loses_nothing() {
    let app = TestApp::spawn().await;
    let rivera = app.login("rivera@demo.test").await;
    let alice = app.login("alice@demo.test").await;
    // A witness that never disconnects sees everything.
    let mut witness = EventStream::open(&app, &rivera, None).await;
    let mut dropped = EventStream::open(&app, &rivera, None).await;

    let conversation = id(&app
        .patient_starts(&alice, "My knee is still swollen after the exercises.")
        .await["conversation"]);
    let before_drop = dropped.until(is_message("patient")).await;
    let last_seen = before_drop.last().unwrap().id.unwrap();
    drop(dropped);

    app.staff_acts(&rivera, &conversation, "claim").await;
    app.staff_writes(&rivera, &conversation, "Ice it for 15 minutes.", false)
        .await;
    app.staff_writes(&rivera, &conversation, "Asked the coach too.", true)
        .await;
    app.staff_acts(&rivera, &conversation, "close").await;

    let everything = witness.until(|event| event.event == "closed").await;
    let mut resumed = EventStream::open(&app, &rivera, Some(last_seen)).await;
    let after_drop = resumed.until(|event| event.event == "closed").await;

    // Ids are not in the log's order (see persistence::live::Position): what follows the last
    // event received is what the witness got after it.
    let expected: Vec<i64> = everything
        .iter()
        .filter_map(|event| event.id)
        .skip_while(|id| *id != last_seen)
        .skip(1)
        .collect();
    let got: Vec<i64> = after_drop.iter().filter_map(|event| event.id).collect();
    assert_eq!(got, expected);
    assert_eq!(
        kinds(&after_drop),
        [
            "message_created:acknowledgment",
            "claimed",
            "message_created:staff",
            "message_created:internal_note",
            "closed",
        ]
    );
}

#[tokio::test]
async fn a_patient_stream_carries_only_their_own_patient_visible_messages() {
    let app = TestApp::spawn().await;
    let rivera = app.login("rivera@demo.test").await;
    let alice = app.login("alice@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    let mut alices = EventStream::open(&app, &alice, None).await;

    let bobs_conversation = id(&app
        .patient_starts(&bob, "I cannot log in to the app.")
        .await["conversation"]);
    app.staff_writes(&rivera, &bobs_conversation, "We will reset it.", false)
        .await;
    let conversation = id(&app
        .patient_starts(&alice, "My knee is still swollen after the exercises.")
        .await["conversation"]);
    app.staff_acts(&rivera, &conversation, "claim").await;
    app.staff_writes(&rivera, &conversation, "Her swelling looks post-op.", true)
        .await;
    app.staff_writes(&rivera, &conversation, "Ice it for 15 minutes.", false)
        .await;
    app.staff_acts(&rivera, &conversation, "close").await;
    app.patient_posts(&alice, &conversation, "Thanks, it helped.")
        .await;

    // Up to the acknowledgment of the reopening message: Bob's messages, the note and the claim
    // and close in between are not Alice's to hear of.
    // Frames, not events alone: patients get no counts either.
    let mut events = alices.frames_until(is_message("acknowledgment")).await;
    events.extend(alices.frames_until(is_message("acknowledgment")).await);
    assert_eq!(
        kinds(&events),
        [
            "message_created:patient",
            "message_created:acknowledgment",
            "message_created:staff",
            "message_created:patient",
            "message_created:acknowledgment",
        ]
    );
    assert!(events
        .iter()
        .all(|event| event.data["conversation_id"] == conversation));
}

#[tokio::test]
async fn support_agents_hear_only_of_supports_conversations() {
    let app = TestApp::spawn().await;
    let rivera = app.login("rivera@demo.test").await;
    let support = app.login("support@demo.test").await;
    let alice = app.login("alice@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    let mut supports = EventStream::open(&app, &support, None).await;

    let clinical = id(&app
        .patient_starts(&alice, "My knee is still swollen after the exercises.")
        .await["conversation"]);
    app.staff_writes(&rivera, &clinical, "Ice it for 15 minutes.", false)
        .await;
    let handoff = app
        .post(
            &format!("/v1/conversations/{clinical}/handoff"),
            &rivera,
            json!({"to": "support", "summary": "Needs an app reset."}),
        )
        .await;
    assert_eq!(handoff.status, StatusCode::OK, "{}", handoff.raw);
    let tech = id(&app
        .patient_starts(&bob, "I cannot log in to the app.")
        .await["conversation"]);

    let events = supports
        .until(|event| event.data["conversation_id"] == tech && is_message("acknowledgment")(event))
        .await;
    assert_eq!(events[0].event, "handed_off");
    assert_eq!(events[0].data["conversation_id"], clinical);
    assert!(events[1..]
        .iter()
        .all(|event| event.data["conversation_id"] == tech));
}

#[tokio::test]
async fn a_resume_point_older_than_the_log_asks_for_a_resync() {
    let app = TestApp::spawn().await;
    let rivera = app.login("rivera@demo.test").await;
    let alice = app.login("alice@demo.test").await;
    let mut stream = EventStream::open(&app, &rivera, None).await;
    app.patient_starts(&alice, "My knee is still swollen after the exercises.")
        .await;
    let seen = stream.until(is_message("acknowledgment")).await;
    let last_seen = seen.last().unwrap().id.unwrap();

    // Retention passes for everything seen so far.
    let pool = app.app_state.pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        live::prune(&mut conn, persistence::now() + chrono::Duration::hours(1)).unwrap();
    })
    .await
    .unwrap();

    let mut resumed = EventStream::open(&app, &rivera, Some(last_seen)).await;
    let resync = resumed.next_any().await;
    assert_eq!(resync.event, "resync");
    assert!(resync.id.is_none());
    // Up to date again: new events follow.
    app.patient_starts(&alice, "And my elbow hurts.").await;
    assert_eq!(resumed.next_event().await.event, "conversation_created");
}

#[tokio::test]
async fn idle_streams_get_keep_alives_and_bad_resume_points_are_refused() {
    let app = TestApp::spawn_with(|settings| {
        settings.live.heartbeat_interval = Duration::from_millis(200);
    })
    .await;
    let rivera = app.login("rivera@demo.test").await;
    let mut stream = EventStream::open(&app, &rivera, None).await;
    assert_eq!(stream.next_any().await.event, ":");

    let refused = app
        .client
        .get(app.url("/v1/events"))
        .bearer_auth(&rivera.access_token)
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    let refused = http_tests::read(refused).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.problem_code(), "invalid_request");

    let anonymous = app
        .request(reqwest::Method::GET, "/v1/events", None, None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn stopping_the_server_ends_open_streams_instead_of_waiting_for_them() {
    let app = TestApp::spawn().await;
    let (_, alice, mut staff_stream, _) = rivera_watches_alice_start(&app).await;
    let mut patient_stream = EventStream::open(&app, &alice, None).await;
    assert_eq!(
        staff_stream.next_event().await.event,
        "conversation_created"
    );

    // actix's graceful stop waits 30 s for responses to finish, and a stream never does.
    tokio::time::timeout(Duration::from_secs(10), app.stop_gracefully())
        .await
        .expect("the server stops within 10 s with two streams open");

    staff_stream.rest().await;
    patient_stream.rest().await;
    let refused = app.client.get(app.url("/v1/inbox/counts")).send().await;
    assert!(refused.is_err(), "a stopped server accepts no requests");
}

/// PostgreSQL's writers commit in any order: a transaction that wrote its event first can commit
/// after one that wrote later has. Streams must neither skip the late event nor send it after
/// an event of the newer transaction (clients resume from the last id they received). SQLite
/// commits one writer at a time, so this order cannot arise there.
#[tokio::test]
async fn an_event_committed_late_by_an_older_transaction_is_sent_first() {
    use diesel::connection::SimpleConnection;

    if http_tests::backend_name() == "sqlite" {
        return;
    }
    // Only a read of the unsettled events can deliver the late one: no poll, and the older
    // transaction sends no notification.
    let app = TestApp::spawn_with(|settings| {
        settings.live.poll_interval = Duration::from_secs(600);
    })
    .await;
    let rivera = app.login("rivera@demo.test").await;
    let alice = app.login("alice@demo.test").await;
    let conversation = id(&app
        .patient_starts(&alice, "My knee is still swollen after the exercises.")
        .await["conversation"]);
    let mut stream = EventStream::open(&app, &rivera, None).await;

    let (written, wait_for_written) = std::sync::mpsc::channel();
    let (commit, wait_for_commit) = std::sync::mpsc::channel::<()>();
    let pool = app.app_state.pool.clone();
    let late_conversation = conversation.clone();
    let older = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        conn.batch_execute(&format!(
            "BEGIN; INSERT INTO inbox_events (organization_id, conversation_id, patient_id, team, \
             kind, internal, payload, created_at) SELECT organization_id, id, patient_id, team, \
             'late', true, '{{}}', now() FROM conversations WHERE id = '{late_conversation}'"
        ))
        .unwrap();
        written.send(()).unwrap();
        wait_for_commit.recv().unwrap();
        conn.batch_execute("COMMIT").unwrap();
    });
    wait_for_written.recv().unwrap();
    // Committed and announced while the older transaction runs: the stream reads it, and must
    // hold it back.
    app.staff_acts(&rivera, &conversation, "claim").await;
    let held_back = tokio::time::timeout(
        Duration::from_millis(500),
        stream.until(|event| event.event == "claimed"),
    )
    .await;
    assert!(
        held_back.is_err(),
        "sent before the older transaction ended"
    );
    commit.send(()).unwrap();
    older.await.unwrap();

    let events = stream.until(|event| event.event == "claimed").await;
    let order: Vec<&str> = events
        .iter()
        .map(|event| event.event.as_str())
        .filter(|kind| ["late", "claimed"].contains(kind))
        .collect();
    assert_eq!(order, ["late", "claimed"]);
}

/// Concurrent writers: every stream gets every event once, all in the same order.
#[tokio::test]
async fn concurrent_writes_reach_every_stream_once_in_one_order() {
    const POSTS_EACH: usize = 15;
    let app = TestApp::spawn_with(|settings| {
        settings.send_rate_per_minute = std::num::NonZeroU32::new(1_000).unwrap();
    })
    .await;
    let rivera = app.login("rivera@demo.test").await;
    let kim = app.login("kim@demo.test").await;
    let patients = [
        app.login("alice@demo.test").await,
        app.login("bob@demo.test").await,
    ];
    let mut conversations = Vec::new();
    for patient in &patients {
        conversations.push(id(&app
            .patient_starts(patient, "My knee is still swollen after the exercises.")
            .await["conversation"]));
    }
    let mut streams = [
        EventStream::open(&app, &rivera, None).await,
        EventStream::open(&app, &kim, None).await,
    ];

    let app = &app;
    let posts = patients
        .iter()
        .zip(&conversations)
        .flat_map(|(patient, conversation)| {
            (0..POSTS_EACH).map(move |index| async move {
                let body = format!("Update {index} on my knee.");
                app.patient_posts(patient, conversation, &body).await
            })
        });
    let mut posted = Vec::new();
    for post in futures_util::future::join_all(posts).await {
        assert_eq!(post.status, StatusCode::CREATED, "{}", post.raw);
        posted.push(id(&post.body["message"]));
    }
    posted.sort_unstable();
    let last = app
        .staff_posts(&rivera, &conversations[0], "Thanks, both of you.", false)
        .await;
    assert_eq!(last.status, StatusCode::CREATED, "{}", last.raw);
    let last_id = id(&last.body["message"]);

    let mut orders = Vec::new();
    for stream in &mut streams {
        let events = stream
            .until(|event| event.data["message_id"] == json!(last_id))
            .await;
        let ids: Vec<i64> = events.iter().filter_map(|event| event.id).collect();
        // The stream may start with a few events from just before it opened.
        let mut messages: Vec<String> = events
            .iter()
            .filter(|event| event.data["message_kind"] == "patient")
            .map(|event| event.data["message_id"].as_str().unwrap().to_owned())
            .filter(|message| posted.contains(message))
            .collect();
        messages.sort_unstable();
        assert_eq!(messages, posted, "each post's message once");
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "an event came twice: {ids:?}");
        // Each stream starts where it opened; from the first post on they must agree.
        let first_post = events
            .iter()
            .position(|event| {
                event.data["message_id"]
                    .as_str()
                    .is_some_and(|message| posted.iter().any(|posted| posted == message))
            })
            .unwrap();
        orders.push(ids[first_post..].to_vec());
    }
    assert_eq!(orders[0], orders[1], "the streams got different orders");
}
