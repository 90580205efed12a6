//! The MyXRHealth side over HTTP: routing, acknowledgment, auto-assignment, escalation, reopen,
//! idempotent retries, input validation and isolation between patients.

use http_tests::{id, Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn message_count(app: &TestApp, patient: &Session, conversation_id: &str) -> usize {
    app.patient_messages(patient, conversation_id).await.len()
}

async fn own_conversations(app: &TestApp, patient: &Session) -> Vec<Value> {
    let response = app.get("/v1/patient/conversations", patient).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.raw);
    response.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn each_routing_outcome_places_the_conversation() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let cases = [
        (
            "My knee is swollen after yesterday's exercises, should I rest?",
            "care_team",
            false,
            "clinical",
        ),
        (
            "Can you change my exercise plan to three sessions a week?",
            "care_team",
            false,
            "care_plan",
        ),
        (
            "The app keeps crashing when I open the headset video.",
            "support",
            false,
            "tech",
        ),
        (
            "I was charged twice on my last invoice.",
            "support",
            false,
            "billing",
        ),
        (
            "I need to reschedule my appointment on Friday.",
            "support",
            false,
            "scheduling",
        ),
        (
            "How do I change the email address on my account?",
            "support",
            false,
            "account",
        ),
        (
            "I have crushing chest pain and my left arm is numb.",
            "support",
            true,
            "clinical",
        ),
        (
            "Billing question, but first: I can't breathe properly right now.",
            "support",
            true,
            "billing",
        ),
    ];
    for (text, team, urgent, category) in cases {
        let started = app.patient_starts(&alice, text).await;
        let detail = app
            .conversation(&rivera, &id(&started["conversation"]))
            .await;
        assert_eq!(detail["team"], team, "{text}");
        assert_eq!(detail["urgent"], urgent, "{text}");
        assert_eq!(detail["category"], category, "{text}");
        assert!(
            !detail["routing"]["matched_rules"]
                .as_array()
                .unwrap()
                .is_empty(),
            "{text}"
        );
        // What the patient sees carries no routing details.
        assert!(started["conversation"].get("team").is_none());
        assert!(started["conversation"].get("urgent").is_none());
    }
}

#[tokio::test]
async fn the_patient_is_acknowledged_and_urgent_acknowledgments_say_911() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let routine = app
        .patient_starts(&alice, "Is it normal for my shoulder to feel sore?")
        .await;
    let ack = &routine["acknowledgment"];
    assert_eq!(ack["kind"], "acknowledgment");
    assert!(ack["author"].is_null());
    assert!(!ack["body"].as_str().unwrap().is_empty());
    assert_eq!(routine["message"]["kind"], "patient");
    assert_eq!(routine["message"]["author"]["display_name"], "Alice Moreno");

    let conversation = id(&routine["conversation"]);
    let follow_up = app
        .patient_posts(&alice, &conversation, "Also, it clicks a bit.")
        .await;
    assert_eq!(follow_up.status, StatusCode::CREATED);
    assert!(
        follow_up.body["acknowledgment"].is_null(),
        "a routine follow-up is not acknowledged"
    );

    let urgent = app
        .patient_posts(
            &alice,
            &conversation,
            "Now I have sudden severe chest pain.",
        )
        .await;
    assert_eq!(urgent.status, StatusCode::CREATED);
    let urgent_ack = urgent.body["acknowledgment"]["body"].as_str().unwrap();
    assert!(urgent_ack.contains("911"), "{urgent_ack}");
    assert_ne!(urgent_ack, ack["body"].as_str().unwrap());
    // message, ack, follow-up, urgent message, urgent ack
    assert_eq!(message_count(&app, &alice, &conversation).await, 5);
}

#[tokio::test]
async fn patients_with_a_clinician_are_assigned_and_others_go_to_my_clinic() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (
        app.login("alice@demo.test").await,
        app.login("bob@demo.test").await,
    );
    let kim = app.login("kim@demo.test").await;
    let rivera_id = app.id_of(&app.login("rivera@demo.test").await).await;

    let alices = app
        .patient_starts(&alice, "My back aches after the stretching routine.")
        .await;
    let detail = app.conversation(&kim, &id(&alices["conversation"])).await;
    assert_eq!(detail["assigned_to"]["id"], rivera_id.as_str());
    assert_eq!(detail["assigned_to"]["display_name"], "Dr. Dana Rivera");

    let bobs = app
        .patient_starts(&bob, "My back aches after the stretching routine.")
        .await;
    let detail = app.conversation(&kim, &id(&bobs["conversation"])).await;
    assert!(detail["assigned_to"].is_null());
    assert_eq!(detail["team"], "care_team");

    // Support threads are never auto-assigned, even with a clinician.
    let billing = app
        .patient_starts(&alice, "Why was my card charged twice?")
        .await;
    let detail = app.conversation(&kim, &id(&billing["conversation"])).await;
    assert!(detail["assigned_to"].is_null());
}

#[tokio::test]
async fn an_urgent_message_escalates_an_open_care_team_thread() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let support = app.login("support@demo.test").await;
    let started = app
        .patient_starts(&alice, "Should I ice my knee or use heat?")
        .await;
    let conversation = id(&started["conversation"]);
    assert_eq!(
        app.staff_acts(&rivera, &conversation, "claim").await.status,
        StatusCode::OK
    );

    let response = app
        .patient_posts(
            &alice,
            &conversation,
            "I fell in the shower and I can't get up, my hip hurts badly",
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.raw);

    let detail = app.conversation(&support, &conversation).await;
    assert_eq!(detail["team"], "support");
    assert_eq!(detail["urgent"], true);
    assert!(detail["assigned_to"].is_null());
    assert!(detail["claimed_by"].is_null());
    let timeline = app
        .get(
            &format!("/v1/conversations/{conversation}/messages"),
            &support,
        )
        .await;
    let escalated: Vec<&Value> = timeline.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["type"] == "event" && item["kind"] == "escalated")
        .collect();
    assert_eq!(escalated.len(), 1, "{}", timeline.raw);
    assert!(!escalated[0]["details"]["matched_rules"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_patient_message_reopens_a_closed_conversation() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let started = app
        .patient_starts(&alice, "My ankle is stiff in the mornings.")
        .await;
    let conversation = id(&started["conversation"]);
    let closed = app.staff_acts(&rivera, &conversation, "close").await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.raw);
    assert_eq!(own_conversations(&app, &alice).await[0]["status"], "closed");

    let response = app
        .patient_posts(&alice, &conversation, "It is stiff again today.")
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(response.body["conversation"]["status"], "open");
    assert_eq!(
        response.body["acknowledgment"]["kind"], "acknowledgment",
        "a reopened thread is acknowledged"
    );
    let detail = app.conversation(&rivera, &conversation).await;
    assert_eq!(detail["status"], "open");
}

#[tokio::test]
async fn a_retry_with_the_same_client_message_id_stores_nothing_new() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let send =
        json!({"body": "Can I do the exercises twice a day?", "client_message_id": "retry-1"});
    let first = app
        .post("/v1/patient/conversations", &alice, send.clone())
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = app
        .post("/v1/patient/conversations", &alice, send.clone())
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.raw);
    assert_eq!(again.body, first.body, "the original, byte for byte");
    assert_eq!(own_conversations(&app, &alice).await.len(), 1);

    let conversation = id(&first.body["conversation"]);
    let path = format!("/v1/patient/conversations/{conversation}/messages");
    let follow_up = json!({"body": "And on weekends?", "client_message_id": "retry-2"});
    // Ten concurrent retries of one send: one message.
    let sends = (0..10).map(|_| app.post(&path, &alice, follow_up.clone()));
    let responses = futures_util::future::join_all(sends).await;
    let created = responses
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let replayed = responses
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(
        (created, replayed),
        (1, 9),
        "{:?}",
        responses.iter().map(|r| &r.raw).collect::<Vec<_>>()
    );
    assert_eq!(message_count(&app, &alice, &conversation).await, 3);

    let reused = app
        .post(
            &path,
            &alice,
            json!({"body": "Different text", "client_message_id": "retry-2"}),
        )
        .await;
    assert_eq!(reused.status, StatusCode::CONFLICT);
    assert_eq!(reused.problem_code(), "idempotency_key_reused");
    assert_eq!(message_count(&app, &alice, &conversation).await, 3);
}

#[tokio::test]
async fn bad_bodies_are_refused_and_store_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let token = Some(alice.access_token.as_str());
    for (body, status, code) in [
        (
            json!({"body": "   \n  "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"body": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"body": "x".repeat(4001)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"body": "bell \u{7} ring"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"body": "hi", "client_message_id": "has space"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"body": "hi", "team": "support"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"text": "hi"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"body": "y".repeat(70 * 1024)}),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ] {
        let response = app.post("/v1/patient/conversations", &alice, body).await;
        assert_eq!(response.status, status, "{}", response.raw);
        assert_eq!(response.problem_code(), code);
    }
    let non_utf8 = app
        .post_raw(
            "/v1/patient/conversations",
            token,
            "application/json",
            b"{\"body\": \"caf\xe9\"}".to_vec(),
        )
        .await;
    assert_eq!(non_utf8.status, StatusCode::BAD_REQUEST, "{}", non_utf8.raw);
    assert_eq!(non_utf8.problem_code(), "invalid_request");
    assert!(
        own_conversations(&app, &alice).await.is_empty(),
        "nothing was stored"
    );
}

#[tokio::test]
async fn patients_cannot_reach_each_others_conversations() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    let carol = app.login("carol@other.test").await;
    let started = app
        .patient_starts(&alice, "My wrist hurts when I type.")
        .await;
    let conversation = id(&started["conversation"]);
    for intruder in [&bob, &carol] {
        let read = app
            .get(
                &format!("/v1/patient/conversations/{conversation}/messages"),
                intruder,
            )
            .await;
        assert_eq!(read.status, StatusCode::NOT_FOUND);
        assert_eq!(read.problem_code(), "not_found");
        let write = app
            .patient_posts(intruder, &conversation, "let me in")
            .await;
        assert_eq!(write.status, StatusCode::NOT_FOUND);
        assert!(own_conversations(&app, intruder).await.is_empty());
    }
    assert_eq!(
        message_count(&app, &alice, &conversation).await,
        2,
        "nothing was added"
    );
    let not_a_uuid = app
        .get("/v1/patient/conversations/123/messages", &alice)
        .await;
    assert_eq!(not_a_uuid.status, StatusCode::NOT_FOUND);

    let rivera = app.login("rivera@demo.test").await;
    let staff_on_patient_side = app.get("/v1/patient/conversations", &rivera).await;
    assert_eq!(staff_on_patient_side.status, StatusCode::FORBIDDEN);
    assert_eq!(staff_on_patient_side.problem_code(), "forbidden");
}

#[tokio::test]
async fn patients_never_see_internal_notes() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let started = app
        .patient_starts(&alice, "Is swelling after the session expected?")
        .await;
    let conversation = id(&started["conversation"]);
    let path = format!("/v1/conversations/{conversation}/messages");
    let note = app
        .post(
            &path,
            &rivera,
            json!({"body": "Check her last session notes.", "internal": true}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.raw);
    let reply = app
        .post(
            &path,
            &rivera,
            json!({"body": "Some swelling is expected; ice it."}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);

    let seen = app
        .get(
            &format!("/v1/patient/conversations/{conversation}/messages"),
            &alice,
        )
        .await;
    let kinds: Vec<&str> = seen.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["patient", "acknowledgment", "staff"]);
    assert!(!seen.raw.contains("session notes"));
}

#[tokio::test]
async fn conversations_list_newest_activity_first_with_cursor_pages() {
    let app = TestApp::spawn().await;
    let bob = app.login("bob@demo.test").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(id(&app
            .patient_starts(&bob, &format!("Question number {n} about my exercises"))
            .await["conversation"]));
    }
    let first = ids[0].clone();
    assert_eq!(
        app.patient_posts(&bob, &first, "bumping the first one")
            .await
            .status,
        StatusCode::CREATED
    );
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/v1/patient/conversations?limit=2&cursor={cursor}"),
            None => "/v1/patient/conversations?limit=2".to_owned(),
        };
        let page = app.get(&path, &bob).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.raw);
        seen.extend(page.body["items"].as_array().unwrap().iter().map(id));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let mut expected = vec![first];
    expected.extend(ids[1..].iter().rev().cloned());
    assert_eq!(seen, expected);
    for bad in [
        "/v1/patient/conversations?limit=0",
        "/v1/patient/conversations?limit=201",
        "/v1/patient/conversations?cursor=zzz",
    ] {
        let response = app
            .request(Method::GET, bad, Some(&bob.access_token), None)
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}
