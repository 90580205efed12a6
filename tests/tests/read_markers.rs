//! Read markers and unread counts: the inbox list, the inbox counts and the app's badge.

use http_tests::{id, Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;

async fn mark_read(app: &TestApp, session: &Session, path: &str) -> StatusCode {
    app.request(Method::POST, path, Some(&session.access_token), None)
        .await
        .status
}

async fn inbox_item(app: &TestApp, staff: &Session, conversation: &str) -> Value {
    let list = app.get("/v1/conversations?tab=assigned", staff).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.raw);
    list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["id"] == conversation)
        .cloned()
        .unwrap()
}

async fn badge(app: &TestApp, patient: &Session) -> Value {
    let list = app.get("/v1/patient/conversations", patient).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.raw);
    list.body["items"][0]["unread"].clone()
}

#[tokio::test]
async fn staff_unread_counts_follow_new_messages_and_read_markers() {
    let app = TestApp::spawn().await;
    let rivera = app.login("rivera@demo.test").await;
    let alice = app.login("alice@demo.test").await;
    let conversation = id(&app
        .patient_starts(&alice, "My knee is still swollen after the exercises.")
        .await["conversation"]);

    // The patient's message is unread; the automatic acknowledgment is not staff's to read.
    assert_eq!(inbox_item(&app, &rivera, &conversation).await["unread"], 1);
    assert_eq!(app.get("/v1/inbox/counts", &rivera).await.body["unread"], 1);

    let read = format!("/v1/conversations/{conversation}/read");
    assert_eq!(
        mark_read(&app, &rivera, &read).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(inbox_item(&app, &rivera, &conversation).await["unread"], 0);
    assert_eq!(app.get("/v1/inbox/counts", &rivera).await.body["unread"], 0);

    // Their own reply is not unread for them; the patient's next message is.
    let reply = app
        .staff_posts(&rivera, &conversation, "Ice it for 15 minutes.", false)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.raw);
    assert_eq!(inbox_item(&app, &rivera, &conversation).await["unread"], 0);
    app.patient_posts(&alice, &conversation, "Thanks, will do.")
        .await;
    assert_eq!(inbox_item(&app, &rivera, &conversation).await["unread"], 1);

    // Markers are the caller's own and only for conversations they may see.
    let support = app.login("support@demo.test").await;
    assert_eq!(
        mark_read(&app, &support, &read).await,
        StatusCode::NOT_FOUND
    );
    let other = app.login("doc@other.test").await;
    assert_eq!(mark_read(&app, &other, &read).await, StatusCode::NOT_FOUND);
    assert_eq!(mark_read(&app, &alice, &read).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_app_badge_counts_replies_but_never_internal_notes() {
    let app = TestApp::spawn().await;
    let rivera = app.login("rivera@demo.test").await;
    let alice = app.login("alice@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    let conversation = id(&app
        .patient_starts(&alice, "My knee is still swollen after the exercises.")
        .await["conversation"]);
    // The acknowledgment is news to the patient.
    assert_eq!(badge(&app, &alice).await, 1);

    let read = format!("/v1/patient/conversations/{conversation}/read");
    assert_eq!(mark_read(&app, &alice, &read).await, StatusCode::NO_CONTENT);
    assert_eq!(badge(&app, &alice).await, 0);

    for (body, internal) in [
        ("Looks post-op to me.", true),
        ("Ice it for 15 minutes.", false),
    ] {
        let sent = app
            .staff_posts(&rivera, &conversation, body, internal)
            .await;
        assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.raw);
    }
    assert_eq!(badge(&app, &alice).await, 1);
    assert_eq!(mark_read(&app, &bob, &read).await, StatusCode::NOT_FOUND);
}
