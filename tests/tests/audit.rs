//! The audit trail over HTTP: reads and writes leave a row with actor, action, target, request
//! id and client address — in the write's own transaction — refused requests leave none, and
//! the log holds no message text and cannot be edited.

use diesel::RunQueryDsl;
use http_tests::{id, Session, TestApp};
use persistence::db::write_transaction;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn audit_rows(app: &TestApp, admin: &Session, query: &str) -> Vec<Value> {
    let response = app.get(&format!("/v1/audit?{query}"), admin).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.raw);
    response.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn reads_and_writes_are_recorded_with_who_what_and_where() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let alice = app.login("alice@demo.test").await;
    let rivera_id = app.id_of(&rivera).await;
    let secret_text = "My neighbour Zebulon says my knee looks swollen";
    let conversation = id(&app.patient_starts(&alice, secret_text).await["conversation"]);

    let read = app
        .get(&format!("/v1/conversations/{conversation}"), &rivera)
        .await;
    assert_eq!(read.status, StatusCode::OK);
    let request_id = read.headers["x-request-id"].to_str().unwrap().to_owned();
    let rows = audit_rows(
        &app,
        &admin,
        &format!("target_id={conversation}&action=conversation.read"),
    )
    .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["actor_id"], rivera_id.as_str());
    assert_eq!(rows[0]["actor_role"], "clinician");
    assert_eq!(rows[0]["request_id"], request_id.as_str());
    assert_eq!(rows[0]["client_address"], "127.0.0.1");
    assert_eq!(rows[0]["target_type"], "conversation");

    assert_eq!(
        app.staff_acts(&rivera, &conversation, "claim").await.status,
        StatusCode::OK
    );
    let claims = audit_rows(
        &app,
        &admin,
        &format!("target_id={conversation}&action=conversation.claim"),
    )
    .await;
    assert_eq!(claims.len(), 1);
    let sends = audit_rows(
        &app,
        &admin,
        &format!("target_id={conversation}&action=message.send"),
    )
    .await;
    assert_eq!(sends.len(), 1, "the patient's send");

    let timeline = app
        .get(
            &format!("/v1/conversations/{conversation}/messages"),
            &rivera,
        )
        .await;
    assert_eq!(timeline.status, StatusCode::OK);
    assert_eq!(
        audit_rows(&app, &admin, "action=conversation.messages.read")
            .await
            .len(),
        1
    );

    let everything = app.get("/v1/audit?limit=200", &admin).await;
    assert!(
        !everything.raw.contains("Zebulon"),
        "no message text in the audit log"
    );
    assert!(!everything.raw.contains("Alice"), "no names either");
}

/// On PostgreSQL reads' rows are stored in batches by a writer of their own (on SQLite each read
/// stores its own): each read that was answered has its one row, with its own request id,
/// however many arrive at once.
#[tokio::test]
async fn concurrent_reads_each_leave_their_own_row() {
    const READS: usize = 24;
    let app = TestApp::spawn().await;
    let admin = app.login("admin@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let alice = app.login("alice@demo.test").await;
    let conversation = id(&app.patient_starts(&alice, "My knee hurts").await["conversation"]);
    let path = format!("/v1/conversations/{conversation}/messages");

    let reads = futures_util::future::join_all((0..READS).map(|_| app.get(&path, &rivera))).await;
    let mut request_ids: Vec<String> = reads
        .iter()
        .map(|read| {
            assert_eq!(read.status, StatusCode::OK, "{}", read.raw);
            read.headers["x-request-id"].to_str().unwrap().to_owned()
        })
        .collect();
    let mut recorded: Vec<String> = audit_rows(
        &app,
        &admin,
        &format!("target_id={conversation}&action=conversation.messages.read"),
    )
    .await
    .iter()
    .map(|row| row["request_id"].as_str().unwrap().to_owned())
    .collect();
    request_ids.sort();
    recorded.sort();
    assert_eq!(recorded, request_ids);
}

#[tokio::test]
async fn refused_requests_leave_no_row() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let patel = app.login("patel@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    let conversation = id(&app.patient_starts(&bob, "My wrist hurts").await["conversation"]);
    assert_eq!(
        app.staff_acts(&rivera, &conversation, "claim").await.status,
        StatusCode::OK
    );
    let patel_id = app.id_of(&patel).await;

    let lost = app.staff_acts(&patel, &conversation, "claim").await;
    assert_eq!(lost.status, StatusCode::CONFLICT);
    let reply = app.staff_posts(&patel, &conversation, "hi", false).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    let carol = app.login("carol@other.test").await;
    let foreign = app
        .get(
            &format!("/v1/patient/conversations/{conversation}/messages"),
            &carol,
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);

    assert!(audit_rows(
        &app,
        &admin,
        &format!("actor_id={patel_id}&target_id={conversation}")
    )
    .await
    .is_empty());
    assert!(
        audit_rows(&app, &admin, "action=conversation.messages.read")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn sign_ins_and_failures_are_recorded() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@demo.test").await;
    let wrong = app
        .request(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({"email": "kim@demo.test", "password": "nope"})),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let kim = app.login("kim@demo.test").await;
    let kim_id = app.id_of(&kim).await;
    let failed = audit_rows(
        &app,
        &admin,
        &format!("actor_id={kim_id}&action=auth.sign_in_failed"),
    )
    .await;
    assert_eq!(failed.len(), 1);
    let succeeded = audit_rows(
        &app,
        &admin,
        &format!("actor_id={kim_id}&action=auth.sign_in"),
    )
    .await;
    assert_eq!(succeeded.len(), 1);

    let rivera = app.login("rivera@demo.test").await;
    assert_eq!(
        app.get("/v1/audit", &rivera).await.status,
        StatusCode::FORBIDDEN
    );
    // Another organization's failed sign-in stays out of this organization's trail.
    let foreign = app
        .request(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({"email": "doc@other.test", "password": "nope"})),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::UNAUTHORIZED);
    let failures = audit_rows(&app, &admin, "action=auth.sign_in_failed").await;
    let actors: Vec<&str> = failures
        .iter()
        .map(|row| row["actor_id"].as_str().unwrap())
        .collect();
    assert_eq!(actors, [kim_id.as_str()]);
}

#[tokio::test]
async fn the_log_is_append_only_and_paginates() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@demo.test").await;
    for _ in 0..3 {
        app.login("kim@demo.test").await;
    }
    let first = app.get("/v1/audit?limit=2", &admin).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 2);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("/v1/audit?limit=2&cursor={cursor}"), &admin)
        .await;
    let first_ids: Vec<String> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    let second_ids: Vec<String> = second.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert!(second_ids.iter().all(|row| !first_ids.contains(row)));
    assert!(first_ids[1] > second_ids[0], "newest first");

    let pool = app.app_state.pool.clone();
    let tampering = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        // In write transactions, where SQLite connections may write: the refusal is the table's.
        let mut tamper = |statement: &str| {
            write_transaction(&mut conn, |conn| diesel::sql_query(statement).execute(conn))
        };
        let refused_as_append_only = |outcome: diesel::QueryResult<usize>| {
            matches!(outcome, Err(error) if error.to_string().contains("append-only"))
        };
        let update = tamper("UPDATE audit_events SET action = 'nothing'");
        let delete = tamper("DELETE FROM audit_events");
        (refused_as_append_only(update), refused_as_append_only(delete))
    })
    .await
    .unwrap();
    assert_eq!(tampering, (true, true), "updates and deletes are refused");
}
