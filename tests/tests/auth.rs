//! Sign-in, refresh rotation and access-token validation over HTTP.

use base64::Engine;
use http_tests::{TestApp, TEST_JWT_SECRET};
use jsonwebtoken::{EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn sign(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

async fn me_with(app: &TestApp, token: &str) -> http_tests::TestResponse {
    app.request(Method::GET, "/v1/me", Some(token), None).await
}

#[tokio::test]
async fn every_demo_role_signs_in_and_sees_itself() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            "admin@demo.test",
            "admin",
            json!("care_team"),
            "Avery Admin",
        ),
        (
            "rivera@demo.test",
            "clinician",
            json!("care_team"),
            "Dr. Dana Rivera",
        ),
        ("kim@demo.test", "coach", json!("care_team"), "Jordan Kim"),
        (
            "support@demo.test",
            "support",
            json!("support"),
            "Sam Support",
        ),
        ("alice@demo.test", "patient", Value::Null, "Alice Moreno"),
        (
            "doc@other.test",
            "clinician",
            json!("care_team"),
            "Dr. Olivia Other",
        ),
    ];
    let mut organizations = Vec::new();
    for (email, role, team, name) in cases {
        let session = app.login(email).await;
        let me = app.get("/v1/me", &session).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.raw);
        assert_eq!(me.body["role"], role, "{email}");
        assert_eq!(me.body["team"], team, "{email}");
        assert_eq!(me.body["display_name"], name, "{email}");
        organizations.push(me.body["organization_id"].as_str().unwrap().to_owned());
    }
    assert!(organizations[..5]
        .iter()
        .all(|org| org == &organizations[0]));
    assert_ne!(
        organizations[5], organizations[0],
        "Other Clinic is its own organization"
    );
}

#[tokio::test]
async fn emails_are_case_insensitive() {
    let app = TestApp::spawn().await;
    let session = app.login("Rivera@Demo.TEST").await;
    assert_eq!(app.get("/v1/me", &session).await.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_answer_alike() {
    let app = TestApp::spawn().await;
    let wrong_password = app
        .request(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({"email": "rivera@demo.test", "password": "nope"})),
        )
        .await;
    let unknown_email = app
        .request(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({"email": "nobody@demo.test", "password": "nope"})),
        )
        .await;
    for response in [&wrong_password, &unknown_email] {
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert_eq!(response.problem_code(), "invalid_credentials");
    }
    assert_eq!(wrong_password.body, unknown_email.body);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    let first = app.login("kim@demo.test").await;
    let refresh = |token: String| {
        let app = &app;
        async move {
            app.request(
                Method::POST,
                "/v1/auth/refresh",
                None,
                Some(json!({"refresh_token": token})),
            )
            .await
        }
    };

    let rotated = refresh(first.refresh_token.clone()).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.raw);
    let second_refresh = rotated.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first.refresh_token);
    let access = rotated.body["access_token"].as_str().unwrap();
    assert_eq!(me_with(&app, access).await.status, StatusCode::OK);

    // The first token comes back: a copy exists somewhere, so the session dies.
    let reused = refresh(first.refresh_token.clone()).await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reused.problem_code(), "unauthorized");
    let after_revocation = refresh(second_refresh).await;
    assert_eq!(
        after_revocation.status,
        StatusCode::UNAUTHORIZED,
        "the family is revoked"
    );

    // Another login is a separate family and still works.
    let other = app.login("kim@demo.test").await;
    assert_eq!(refresh(other.refresh_token).await.status, StatusCode::OK);

    let garbage = refresh("not-a-token".into()).await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_access_tokens_are_rejected_with_problems() {
    let app = TestApp::spawn().await;
    let session = app.login("rivera@demo.test").await;
    let valid = session.access_token.clone();
    let payload = valid.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    let with = |patch: Value| {
        let mut claims = claims.clone();
        for (key, value) in patch.as_object().unwrap() {
            claims[key] = value.clone();
        }
        claims
    };
    let b64 = |value: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    };

    let expired = sign(&with(json!({"iat": now() - 3600, "exp": now() - 120})));
    let wrong_audience = sign(&with(json!({"aud": "someone-else"})));
    let wrong_issuer = sign(&with(json!({"iss": "evil"})));
    let escalated = b64(&with(json!({"role": "admin"})));
    let mut parts: Vec<&str> = valid.split('.').collect();
    parts[1] = &escalated;
    let tampered = parts.join(".");
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    );
    let other_secret = jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(b"another-secret-another-secret-0000"),
    )
    .unwrap();

    assert_eq!(me_with(&app, &valid).await.status, StatusCode::OK);
    for (name, token) in [
        ("expired", expired),
        ("wrong audience", wrong_audience),
        ("wrong issuer", wrong_issuer),
        ("tampered", tampered),
        ("alg none", alg_none),
        ("other secret", other_secret),
        ("garbage", "abc.def".to_owned()),
    ] {
        let response = me_with(&app, &token).await;
        assert_eq!(
            response.status,
            StatusCode::UNAUTHORIZED,
            "{name}: {}",
            response.raw
        );
        assert_eq!(response.problem_code(), "unauthorized", "{name}");
        assert!(response.headers.contains_key("www-authenticate"), "{name}");
    }

    let missing = app.request(Method::GET, "/v1/me", None, None).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.problem_code(), "unauthorized");
}
