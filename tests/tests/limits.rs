//! Abuse limits over HTTP: 429 problems with Retry-After, per client address, per principal and
//! per account.

use std::num::NonZeroU32;

use http_tests::{TestApp, DEMO_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn per_minute(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> http_tests::TestResponse {
    app.request(
        Method::POST,
        "/v1/auth/token",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
}

#[tokio::test]
async fn sign_ins_are_limited_per_client_address() {
    let app = TestApp::spawn_with(|settings| settings.auth_rate_per_minute = per_minute(3)).await;
    for email in ["kim@demo.test", "rivera@demo.test", "bob@demo.test"] {
        assert_eq!(
            sign_in(&app, email, DEMO_PASSWORD).await.status,
            StatusCode::OK
        );
    }
    let refused = sign_in(&app, "alice@demo.test", DEMO_PASSWORD).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.problem_code(), "rate_limited");
    let retry_after: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let refresh = app
        .request(
            Method::POST,
            "/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": "x"})),
        )
        .await;
    assert_eq!(
        refresh.status,
        StatusCode::TOO_MANY_REQUESTS,
        "refresh shares the quota"
    );
}

#[tokio::test]
async fn repeated_failed_sign_ins_lock_the_account_for_a_while() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        let failed = sign_in(&app, "rivera@demo.test", "wrong").await;
        assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
    }
    let locked = sign_in(&app, "rivera@demo.test", DEMO_PASSWORD).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    assert!(locked.headers.contains_key("retry-after"));
    assert_eq!(
        sign_in(&app, "patel@demo.test", DEMO_PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn sends_are_limited_per_principal_and_the_refused_one_stores_nothing() {
    let app = TestApp::spawn_with(|settings| settings.send_rate_per_minute = per_minute(2)).await;
    let alice = app.login("alice@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    let started = app
        .patient_starts(&alice, "Is it fine to skip a session?")
        .await;
    let conversation = started["conversation"]["id"].as_str().unwrap();
    assert_eq!(
        app.patient_posts(&alice, conversation, "And two?")
            .await
            .status,
        StatusCode::CREATED
    );
    let refused = app.patient_posts(&alice, conversation, "And three?").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.problem_code(), "rate_limited");
    assert!(refused.headers.contains_key("retry-after"));
    let messages = app
        .get(
            &format!("/v1/patient/conversations/{conversation}/messages"),
            &alice,
        )
        .await;
    assert_eq!(
        messages.body["items"].as_array().unwrap().len(),
        3,
        "message, ack, second message"
    );
    app.patient_starts(&bob, "Another patient is not affected.")
        .await;
}
