//! Routing preview, the organization's rules and acknowledgment texts over HTTP.

use http_tests::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn preview_explains_the_decision_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let kim = app.login("kim@demo.test").await;
    let preview = app
        .post(
            "/v1/routing/preview",
            &kim,
            json!({"body": "No chest pain here, I was just charged twice on my card."}),
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.raw);
    assert_eq!(preview.body["team"], "support");
    assert_eq!(preview.body["urgent"], false);
    assert_eq!(preview.body["category"], "billing");
    assert!(!preview.body["matched_rules"].as_array().unwrap().is_empty());
    let alice = app.login("alice@demo.test").await;
    let as_patient = app
        .post("/v1/routing/preview", &alice, json!({"body": "hi"}))
        .await;
    assert_eq!(as_patient.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn admins_replace_rules_validated_whole() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@demo.test").await;
    let rules = app.get("/v1/routing/rules", &admin).await;
    assert_eq!(rules.status, StatusCode::OK);
    let mut rules = rules.body;
    assert!(rules["rules"].as_array().unwrap().len() > 10);

    // One bad rule rejects the whole set, naming it, and nothing changes.
    let mut broken = rules.clone();
    broken["rules"][0]["category"] = json!("astrology");
    let rule_id = broken["rules"][0]["id"].as_str().unwrap().to_owned();
    let refused = app
        .request(
            Method::PUT,
            "/v1/routing/rules",
            Some(&admin.access_token),
            Some(broken),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.raw
    );
    assert_eq!(refused.problem_code(), "validation_failed");
    assert!(
        refused.body["detail"].as_str().unwrap().contains(&rule_id),
        "{}",
        refused.raw
    );
    assert_eq!(app.get("/v1/routing/rules", &admin).await.body, rules);

    // A new topic rule takes effect at once.
    rules["rules"].as_array_mut().unwrap().push(json!({
        "id": "scheduling.zorblat", "kind": "topic", "category": "scheduling", "weight": 5,
        "patterns": ["zorblat"]
    }));
    let stored = app
        .request(
            Method::PUT,
            "/v1/routing/rules",
            Some(&admin.access_token),
            Some(rules.clone()),
        )
        .await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.raw);
    let preview = app
        .post("/v1/routing/preview", &admin, json!({"body": "zorblat?"}))
        .await;
    assert_eq!(preview.body["category"], "scheduling", "{}", preview.raw);
    assert!(preview.body["matched_rules"]
        .as_array()
        .unwrap()
        .contains(&json!("scheduling.zorblat")));

    let rivera = app.login("rivera@demo.test").await;
    assert_eq!(
        app.get("/v1/routing/rules", &rivera).await.status,
        StatusCode::FORBIDDEN
    );
    // Another organization keeps the defaults.
    let other_preview = app
        .post(
            "/v1/routing/preview",
            &app.login("doc@other.test").await,
            json!({"body": "zorblat?"}),
        )
        .await;
    assert_eq!(other_preview.body["category"], "general");
}

#[tokio::test]
async fn acknowledgment_texts_are_per_organization() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@demo.test").await;
    let defaults = app.get("/v1/settings/acknowledgments", &admin).await;
    assert_eq!(defaults.status, StatusCode::OK);
    assert!(defaults.body["urgent"].as_str().unwrap().contains("911"));

    let no_emergency_advice = json!({"standard": "Thanks!", "urgent": "We will call you back."});
    let refused = app
        .request(
            Method::PUT,
            "/v1/settings/acknowledgments",
            Some(&admin.access_token),
            Some(no_emergency_advice),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);

    let texts = json!({"standard": "Thanks from Demo Clinic!", "urgent": "Call 911 now if this is an emergency."});
    let stored = app
        .request(
            Method::PUT,
            "/v1/settings/acknowledgments",
            Some(&admin.access_token),
            Some(texts),
        )
        .await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.raw);
    let alice = app.login("alice@demo.test").await;
    let started = app
        .patient_starts(&alice, "Is my knee supposed to click?")
        .await;
    assert_eq!(
        started["acknowledgment"]["body"],
        "Thanks from Demo Clinic!"
    );
    let carol = app.login("carol@other.test").await;
    let other = app
        .patient_starts(&carol, "Is my knee supposed to click?")
        .await;
    assert_eq!(other["acknowledgment"]["body"], defaults.body["standard"]);
}
