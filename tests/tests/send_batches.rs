//! Patients' sends stored in batches: a batch keeps each send's own outcome (stored in order,
//! not found, replayed, refused), and concurrent sends over HTTP are each stored exactly once.

use domain::acknowledgment::AcknowledgmentTexts;
use domain::message::{ClientMessageId, MessageBody};
use domain::routing::{RoutingDecision, RuleSet};
use http_tests::{id, Session, TestApp};
use persistence::audit::NewAuditEvent;
use persistence::conversations::{self, PatientMessage, PatientPost, Sent, WriteError};
use persistence::StoreError;
use reqwest::StatusCode;
use serde_json::json;

/// One post of a batch, before it borrows its parts.
struct Post {
    patient_id: String,
    conversation_id: String,
    body: MessageBody,
    key: Option<ClientMessageId>,
    decision: RoutingDecision,
}

fn post(patient_id: &str, conversation_id: &str, body: &str, key: Option<&str>) -> Post {
    let rules = RuleSet::default_rules().validate().unwrap();
    Post {
        patient_id: patient_id.to_owned(),
        conversation_id: conversation_id.to_owned(),
        body: MessageBody::parse(body).unwrap(),
        key: key.map(|key| ClientMessageId::parse(key).unwrap()),
        decision: rules.route(body),
    }
}

/// Stores `posts` as one batch, straight through persistence.
async fn store_batch(app: &TestApp, posts: Vec<Post>) -> Vec<Result<Sent, WriteError>> {
    let pool = app.app_state.pool.clone();
    tokio::task::spawn_blocking(move || {
        let acknowledgments = AcknowledgmentTexts::default();
        let audit = NewAuditEvent {
            action: "message.send".to_owned(),
            ..NewAuditEvent::default()
        };
        let batch: Vec<PatientPost<'_>> = posts
            .iter()
            .map(|post| PatientPost {
                patient_id: &post.patient_id,
                conversation_id: &post.conversation_id,
                message: PatientMessage {
                    body: &post.body,
                    client_message_id: post.key.as_ref(),
                    decision: &post.decision,
                    acknowledgments: &acknowledgments,
                    audit: &audit,
                },
            })
            .collect();
        let mut conn = pool.get().unwrap();
        conversations::post_batch_by_patients(&mut conn, &batch)
    })
    .await
    .unwrap()
}

/// The patient's own messages of a conversation, in order.
async fn bodies(app: &TestApp, patient: &Session, conversation_id: &str) -> Vec<String> {
    app.patient_messages(patient, conversation_id)
        .await
        .iter()
        .filter(|message| message["kind"] == "patient")
        .map(|message| message["body"].as_str().unwrap().to_owned())
        .collect()
}

fn stored_body(outcome: &Result<Sent, WriteError>) -> (&str, bool) {
    let sent = outcome.as_ref().expect("stored");
    (sent.message.body.as_str(), sent.replayed)
}

#[tokio::test]
async fn a_batch_stores_its_posts_in_order_and_refuses_only_the_wrong_ones() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    let alice_id = app.id_of(&alice).await;
    let bob_id = app.id_of(&bob).await;
    let alices = id(&app
        .patient_starts(&alice, "My knee hurts after the squats")
        .await["conversation"]);
    let bobs = id(&app.patient_starts(&bob, "How many sets should I do?").await["conversation"]);

    let outcomes = store_batch(
        &app,
        vec![
            post(&alice_id, &alices, "first of two", Some("alice-1")),
            post(&bob_id, &bobs, "bob's follow-up", None),
            post(&alice_id, &alices, "second of two", None),
            post(&bob_id, &alices, "not bob's conversation", None),
        ],
    )
    .await;
    assert_eq!(stored_body(&outcomes[0]), ("first of two", false));
    assert_eq!(stored_body(&outcomes[1]), ("bob's follow-up", false));
    assert_eq!(stored_body(&outcomes[2]), ("second of two", false));
    assert!(
        matches!(outcomes[3], Err(WriteError::Store(StoreError::NotFound))),
        "{:?}",
        outcomes[3].as_ref().err()
    );
    // Each send sees the conversation as the sends before it in the batch left it.
    let alices_thread = [
        "My knee hurts after the squats",
        "first of two",
        "second of two",
    ];
    let alices_after_first = &outcomes[0].as_ref().unwrap().conversation;
    let alices_after_second = &outcomes[2].as_ref().unwrap().conversation;
    assert_eq!(alices_after_first.last_message_preview, "first of two");
    assert_eq!(alices_after_second.last_message_preview, "second of two");
    assert_eq!(bodies(&app, &alice, &alices).await, alices_thread);
    assert_eq!(
        bodies(&app, &bob, &bobs).await,
        ["How many sets should I do?", "bob's follow-up"]
    );
    let listed = app.get("/v1/patient/conversations", &alice).await;
    assert_eq!(
        listed.body["items"][0]["last_message_preview"],
        "second of two"
    );
    // After the batch, every open conversation's word signature holds exactly its words' bits
    // (set by the batch's update of the conversation or, where missing, by the word trigger).
    if http_tests::backend_name() == "postgres" {
        let missigned = http_tests::MISSIGNED_OPEN_CONVERSATIONS.to_owned();
        assert_eq!(app.count(missigned).await, 0);
    }

    // A key used before makes the whole batch fail; alone, each post gets its own outcome: the
    // same text is replayed, other text refused, and the unrelated send is stored once.
    let outcomes = store_batch(
        &app,
        vec![
            post(&alice_id, &alices, "other text, same key", Some("alice-1")),
            post(&bob_id, &bobs, "bob again", None),
            post(&alice_id, &alices, "first of two", Some("alice-1")),
        ],
    )
    .await;
    assert!(
        matches!(outcomes[0], Err(WriteError::IdempotencyKeyReused)),
        "{:?}",
        outcomes[0].as_ref().err()
    );
    assert_eq!(stored_body(&outcomes[1]), ("bob again", false));
    assert_eq!(stored_body(&outcomes[2]), ("first of two", true));
    // Nothing of Alice's was stored twice.
    assert_eq!(bodies(&app, &alice, &alices).await, alices_thread);
    assert_eq!(
        bodies(&app, &bob, &bobs).await,
        ["How many sets should I do?", "bob's follow-up", "bob again"]
    );
}

/// A batch that reopens conversations of two organizations (the one kind of batch that locks
/// their closed counts before writing) is stored whole, and counts both reopens: its posts share
/// one transaction, which the live log records on PostgreSQL (on SQLite every event's is 0),
/// rather than each falling back to its own after the batch failed.
#[tokio::test]
async fn a_batch_reopening_conversations_of_two_organizations_is_stored_whole() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let carol = app.login("carol@other.test").await;
    let alice_id = app.id_of(&alice).await;
    let carol_id = app.id_of(&carol).await;
    let alices = id(&app
        .patient_starts(&alice, "My knee hurts after the squats")
        .await["conversation"]);
    let carols = id(&app.patient_starts(&carol, "My shoulder is sore").await["conversation"]);
    for (staff, conversation) in [("rivera@demo.test", &alices), ("doc@other.test", &carols)] {
        let staff = app.login(staff).await;
        let closed = app.staff_acts(&staff, conversation, "close").await;
        assert_eq!(closed.status, StatusCode::OK, "{}", closed.raw);
    }
    let closed_in_both = format!(
        "SELECT CAST(coalesce(sum(care_team + support), 0) AS BIGINT) AS count \
         FROM closed_conversation_counts WHERE organization_id IN \
         (SELECT organization_id FROM conversations WHERE id IN ('{alices}', '{carols}'))"
    );
    let closed_before = app.count(closed_in_both.clone()).await;

    let question = "One more question about the plan";
    let outcomes = store_batch(
        &app,
        vec![
            post(&carol_id, &carols, question, None),
            post(&alice_id, &alices, question, None),
        ],
    )
    .await;
    let mut messages = Vec::new();
    for outcome in &outcomes {
        let sent = outcome.as_ref().expect("stored");
        assert_eq!(sent.conversation.status, "open");
        messages.push(format!("payload LIKE '%{}%'", sent.message.id));
    }
    let transactions = app
        .count(format!(
            "SELECT count(DISTINCT tx) AS count FROM inbox_events WHERE {}",
            messages.join(" OR ")
        ))
        .await;
    assert_eq!(transactions, 1);
    assert_eq!(app.count(closed_in_both).await, closed_before - 2);
}

#[tokio::test]
async fn concurrent_sends_are_each_stored_once_and_audited() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    let admin = app.login("admin@demo.test").await;
    let alices = id(&app.patient_starts(&alice, "Is swelling normal?").await["conversation"]);
    let bobs = id(&app.patient_starts(&bob, "The headset won't turn on").await["conversation"]);

    const EACH: usize = 12;
    let paths: Vec<String> = [&alices, &bobs]
        .map(|conversation| format!("/v1/patient/conversations/{conversation}/messages"))
        .into();
    let sends = (0..EACH).flat_map(|n| {
        [(&alice, &paths[0]), (&bob, &paths[1])].map(|(patient, path)| {
            let body =
                json!({"body": format!("update {n}"), "client_message_id": format!("update-{n}")});
            app.post(path, patient, body)
        })
    });
    let responses = futures_util::future::join_all(sends).await;
    for response in &responses {
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.raw);
    }
    let expected: Vec<String> = (0..EACH).map(|n| format!("update {n}")).collect();
    for (patient, conversation) in [(&alice, &alices), (&bob, &bobs)] {
        let mut stored = bodies(&app, patient, conversation).await;
        stored.remove(0);
        stored.sort_by_key(|body| body[7..].parse::<usize>().unwrap());
        assert_eq!(stored, expected);
    }
    let audit = app
        .get("/v1/audit?action=message.send&limit=200", &admin)
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.raw);
    let rows = audit.body["items"].as_array().unwrap();
    // Two starts and every follow-up, each about its own conversation.
    assert_eq!(rows.len(), 2 + 2 * EACH);
    for conversation in [&alices, &bobs] {
        let about = rows
            .iter()
            .filter(|row| row["target_id"] == conversation.as_str())
            .count();
        assert_eq!(about, 1 + EACH);
    }
}
