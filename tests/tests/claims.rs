//! Claim, release, reply, close and reopen over HTTP, including the race for a claim.

use domain::roles::Role;
use http_tests::{id, Session, TestApp};
use persistence::accounts::{self, NewStaffMember};
use reqwest::StatusCode;
use serde_json::json;

async fn events_of_kind(app: &TestApp, staff: &Session, conversation: &str, kind: &str) -> usize {
    let timeline = app
        .get(&format!("/v1/conversations/{conversation}/messages"), staff)
        .await;
    assert_eq!(timeline.status, StatusCode::OK, "{}", timeline.raw);
    timeline.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["type"] == "event" && item["kind"] == kind)
        .count()
}

/// Clinicians of the demo clinic, created directly and given tokens, so fifty of them cost no
/// fifty password hashes.
async fn many_clinicians(
    app: &TestApp,
    organization_id: &str,
    count: usize,
) -> Vec<(String, Session)> {
    let pool = app.app_state.pool.clone();
    let organization = organization_id.to_owned();
    let ids = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        (0..count)
            .map(|n| {
                accounts::create_staff_member(
                    &mut conn,
                    &NewStaffMember {
                        organization_id: &organization,
                        display_name: &format!("Clinician {n}"),
                        role: Role::Clinician,
                        email: &format!("clinician{n}@demo.test"),
                        password_hash: "unused",
                    },
                )
                .unwrap()
                .id
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    ids.into_iter()
        .map(|staff_id| {
            let token = app
                .app_state
                .keys
                .issue_access_token(&staff_id, organization_id, Role::Clinician)
                .unwrap();
            let session = Session {
                email: String::new(),
                access_token: token,
                refresh_token: String::new(),
            };
            (staff_id, session)
        })
        .collect()
}

#[tokio::test]
async fn of_fifty_concurrent_claims_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let bob = app.login("bob@demo.test").await;
    let admin = app.login("admin@demo.test").await;
    let organization = app.get("/v1/me", &admin).await.body["organization_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let conversation = id(&app
        .patient_starts(&bob, "My elbow is sore after the session.")
        .await["conversation"]);
    let clinicians = many_clinicians(&app, &organization, 50).await;

    let claims = clinicians
        .iter()
        .map(|(_, session)| app.staff_acts(session, &conversation, "claim"));
    let responses = futures_util::future::join_all(claims).await;

    let winners: Vec<usize> = (0..responses.len())
        .filter(|&n| responses[n].status == StatusCode::OK)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one holder on {}",
        http_tests::backend_name()
    );
    let winner_id = &clinicians[winners[0]].0;
    for (n, response) in responses.iter().enumerate() {
        if n == winners[0] {
            assert_eq!(response.body["claimed_by"]["id"], winner_id.as_str());
            continue;
        }
        assert_eq!(response.status, StatusCode::CONFLICT, "{}", response.raw);
        assert_eq!(response.problem_code(), "conversation_claimed");
        assert_eq!(response.body["claimed_by"]["id"], winner_id.as_str());
    }
    assert_eq!(
        events_of_kind(&app, &admin, &conversation, "claimed").await,
        1
    );
    let detail = app.conversation(&admin, &conversation).await;
    assert_eq!(detail["claimed_by"]["id"], winner_id.as_str());
}

#[tokio::test]
async fn claims_replies_and_notes_follow_the_rules() {
    let app = TestApp::spawn().await;
    let bob = app.login("bob@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let patel = app.login("patel@demo.test").await;
    let admin = app.login("admin@demo.test").await;
    let rivera_id = app.id_of(&rivera).await;
    let conversation = id(&app
        .patient_starts(&bob, "My hip hurts when climbing stairs.")
        .await["conversation"]);
    let messages = format!("/v1/conversations/{conversation}/messages");

    let claimed = app.staff_acts(&rivera, &conversation, "claim").await;
    assert_eq!(claimed.status, StatusCode::OK, "{}", claimed.raw);
    assert_eq!(claimed.body["claimed_by"]["id"], rivera_id.as_str());
    assert_eq!(
        app.staff_acts(&rivera, &conversation, "claim").await.status,
        StatusCode::OK,
        "claiming your own is fine"
    );

    let lost = app.staff_acts(&patel, &conversation, "claim").await;
    assert_eq!(lost.status, StatusCode::CONFLICT);
    assert_eq!(lost.problem_code(), "conversation_claimed");
    assert_eq!(lost.body["claimed_by"]["display_name"], "Dr. Dana Rivera");

    let colleague_reply = app
        .post(&messages, &patel, json!({"body": "I can take this."}))
        .await;
    assert_eq!(colleague_reply.status, StatusCode::CONFLICT);
    assert_eq!(colleague_reply.problem_code(), "conversation_claimed");
    let note = app
        .post(
            &messages,
            &patel,
            json!({"body": "FYI: saw him last week.", "internal": true}),
        )
        .await;
    assert_eq!(
        note.status,
        StatusCode::CREATED,
        "internal notes are always allowed"
    );
    assert_eq!(note.body["message"]["kind"], "internal_note");

    assert_eq!(
        app.staff_acts(&patel, &conversation, "release")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.staff_acts(&patel, &conversation, "close").await.status,
        StatusCode::CONFLICT
    );
    let released = app.staff_acts(&admin, &conversation, "release").await;
    assert_eq!(released.status, StatusCode::OK, "an admin may release");
    assert!(released.body["claimed_by"].is_null());
    assert_eq!(
        app.staff_acts(&patel, &conversation, "release")
            .await
            .status,
        StatusCode::OK,
        "no-op"
    );

    // A reply to an unclaimed conversation claims it for the replier.
    let reply = app
        .post(
            &messages,
            &patel,
            json!({"body": "Try a smaller step height."}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.raw);
    assert_eq!(
        reply.body["conversation"]["claimed_by"]["display_name"],
        "Dr. Ravi Patel"
    );
    assert!(reply.body["conversation"]["unanswered_since"].is_null());

    let closed = app.staff_acts(&patel, &conversation, "close").await;
    assert_eq!(closed.status, StatusCode::OK);
    assert_eq!(closed.body["status"], "closed");
    assert!(
        closed.body["claimed_by"].is_null(),
        "close clears the claim"
    );
    assert_eq!(
        app.staff_acts(&rivera, &conversation, "close").await.status,
        StatusCode::OK,
        "no-op"
    );
    let late_reply = app
        .post(&messages, &rivera, json!({"body": "One more thing"}))
        .await;
    assert_eq!(late_reply.status, StatusCode::CONFLICT);
    assert_eq!(late_reply.problem_code(), "conversation_closed");
    let claim_closed = app.staff_acts(&rivera, &conversation, "claim").await;
    assert_eq!(claim_closed.problem_code(), "conversation_closed");

    let reopened = app.staff_acts(&rivera, &conversation, "reopen").await;
    assert_eq!(reopened.status, StatusCode::OK);
    assert_eq!(reopened.body["status"], "open");
    assert_eq!(
        app.staff_acts(&rivera, &conversation, "reopen")
            .await
            .status,
        StatusCode::OK,
        "no-op"
    );

    for kind in ["claimed", "released", "closed", "reopened"] {
        assert!(
            events_of_kind(&app, &admin, &conversation, kind).await >= 1,
            "{kind} in the timeline"
        );
    }
    assert_eq!(
        events_of_kind(&app, &admin, &conversation, "closed").await,
        1,
        "the no-op close adds nothing"
    );
}

#[tokio::test]
async fn handoff_moves_the_conversation_with_its_summary() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let support = app.login("support@demo.test").await;
    let rivera_id = app.id_of(&rivera).await;
    let conversation = id(&app
        .patient_starts(&alice, "My exercise video will not load.")
        .await["conversation"]);
    let as_support_before = app
        .get(&format!("/v1/conversations/{conversation}"), &support)
        .await;
    // It was routed to Support as tech; take it to the care team and back.
    assert_eq!(as_support_before.status, StatusCode::OK);
    let path = format!("/v1/conversations/{conversation}/handoff");
    let to_care = app
        .post(
            &path,
            &support,
            json!({"to": "care_team", "summary": "Actually a question for her clinician."}),
        )
        .await;
    assert_eq!(to_care.status, StatusCode::OK, "{}", to_care.raw);
    assert_eq!(to_care.body["team"], "care_team");
    assert_eq!(
        to_care.body["assigned_to"]["id"],
        rivera_id.as_str(),
        "auto-assigned again"
    );
    assert_eq!(
        app.get(&format!("/v1/conversations/{conversation}"), &support)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let summary = "Alice cannot load exercise videos since the update; reinstalling did not help.";
    let to_support = app
        .post(&path, &rivera, json!({"to": "support", "summary": summary}))
        .await;
    assert_eq!(to_support.status, StatusCode::OK);
    assert_eq!(to_support.body["team"], "support");
    assert!(to_support.body["assigned_to"].is_null() && to_support.body["claimed_by"].is_null());
    let timeline = app
        .get(
            &format!("/v1/conversations/{conversation}/messages"),
            &support,
        )
        .await;
    assert!(timeline.raw.contains(summary), "support sees the summary");
    let seen_by_patient = app
        .get(
            &format!("/v1/patient/conversations/{conversation}/messages"),
            &alice,
        )
        .await;
    assert!(
        !seen_by_patient.raw.contains(summary),
        "the patient never does"
    );
    let again = app
        .post(&path, &rivera, json!({"to": "support", "summary": summary}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "already with Support");
    assert_eq!(again.problem_code(), "conflict");
}
