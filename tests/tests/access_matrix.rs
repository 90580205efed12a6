//! The access matrix: for every role and every operation on a conversation, another
//! organization's conversation, another patient's, and (for support agents) a care-team one is
//! 404 — the same answer as an id that does not exist — and nothing changes.

use http_tests::{id, Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Every staff operation on one conversation, with a body where it takes one.
fn staff_operations(conversation: &str) -> Vec<(Method, String, Option<Value>)> {
    let at = |suffix: &str| format!("/v1/conversations/{conversation}{suffix}");
    vec![
        (Method::GET, at(""), None),
        (Method::GET, at("/messages"), None),
        (
            Method::POST,
            at("/messages"),
            Some(json!({"body": "hello"})),
        ),
        (
            Method::POST,
            at("/messages"),
            Some(json!({"body": "note", "internal": true})),
        ),
        (Method::POST, at("/claim"), None),
        (Method::POST, at("/release"), None),
        (Method::POST, at("/close"), None),
        (Method::POST, at("/reopen"), None),
        (Method::POST, at("/handoff/summary"), None),
        (
            Method::POST,
            at("/handoff"),
            Some(json!({"to": "support", "summary": "moving"})),
        ),
        (
            Method::POST,
            at("/handoff"),
            Some(json!({"to": "care_team", "summary": "moving"})),
        ),
    ]
}

fn patient_operations(conversation: &str) -> Vec<(Method, String, Option<Value>)> {
    let messages = format!("/v1/patient/conversations/{conversation}/messages");
    vec![
        (Method::GET, messages.clone(), None),
        (Method::POST, messages, Some(json!({"body": "let me in"}))),
    ]
}

/// What an operator with full sight sees of a conversation: its state and whole timeline.
async fn snapshot(app: &TestApp, viewer: &Session, conversation: &str) -> (Value, Value) {
    let detail = app
        .get(&format!("/v1/conversations/{conversation}"), viewer)
        .await;
    let timeline = app
        .get(
            &format!("/v1/conversations/{conversation}/messages"),
            viewer,
        )
        .await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.raw);
    (detail.body, timeline.body["items"].clone())
}

async fn assert_not_found(
    app: &TestApp,
    caller: &Session,
    operations: Vec<(Method, String, Option<Value>)>,
    what: &str,
) {
    for (method, path, body) in operations {
        let response = app
            .request(method.clone(), &path, Some(&caller.access_token), body)
            .await;
        assert_eq!(
            response.status,
            StatusCode::NOT_FOUND,
            "{} {method} {path} ({what}): {}",
            caller.email,
            response.raw
        );
        assert_eq!(response.problem_code(), "not_found");
    }
}

#[tokio::test]
async fn nobody_reaches_what_is_not_theirs() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    let carol = app.login("carol@other.test").await;
    let admin = app.login("admin@demo.test").await;
    let other_doctor = app.login("doc@other.test").await;

    let care_team = id(&app
        .patient_starts(&alice, "My knee is sore after the exercises")
        .await["conversation"]);
    let bobs = id(&app
        .patient_starts(&bob, "My shoulder clicks when I lift my arm")
        .await["conversation"]);
    let support_thread = id(&app
        .patient_starts(&bob, "I was charged twice for my sessions")
        .await["conversation"]);
    let foreign = id(&app
        .patient_starts(&carol, "My back hurts after the session")
        .await["conversation"]);
    let nonexistent = uuid::Uuid::now_v7().to_string();

    let before = [
        snapshot(&app, &admin, &care_team).await,
        snapshot(&app, &admin, &bobs).await,
        snapshot(&app, &admin, &support_thread).await,
        snapshot(&app, &other_doctor, &foreign).await,
    ];

    for email in [
        "admin@demo.test",
        "rivera@demo.test",
        "patel@demo.test",
        "kim@demo.test",
        "support@demo.test",
    ] {
        let staff = app.login(email).await;
        assert_not_found(
            &app,
            &staff,
            staff_operations(&foreign),
            "another organization's",
        )
        .await;
        assert_not_found(
            &app,
            &staff,
            staff_operations(&nonexistent),
            "no such conversation",
        )
        .await;
    }
    let support = app.login("support@demo.test").await;
    assert_not_found(
        &app,
        &support,
        staff_operations(&care_team),
        "a care-team conversation",
    )
    .await;
    assert_not_found(
        &app,
        &other_doctor,
        staff_operations(&care_team),
        "another organization's",
    )
    .await;

    for (patient, others) in [
        (&alice, [&bobs, &foreign]),
        (&bob, [&care_team, &foreign]),
        (&carol, [&care_team, &bobs]),
    ] {
        for other in others {
            assert_not_found(
                &app,
                patient,
                patient_operations(other),
                "another patient's",
            )
            .await;
        }
    }

    // Staff operations are not the patient's to use at all: 403 whatever the id, so the answer
    // says nothing about whether a conversation exists.
    for (method, path, body) in staff_operations(&care_team)
        .into_iter()
        .chain(staff_operations(&nonexistent))
    {
        let response = app
            .request(method, &path, Some(&alice.access_token), body)
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(response.problem_code(), "forbidden");
    }

    let after = [
        snapshot(&app, &admin, &care_team).await,
        snapshot(&app, &admin, &bobs).await,
        snapshot(&app, &admin, &support_thread).await,
        snapshot(&app, &other_doctor, &foreign).await,
    ];
    assert_eq!(before, after, "refused requests changed nothing");
}
