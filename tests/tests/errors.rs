//! Every failure the server can produce is a problem document with its own status.

use http_tests::TestApp;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn malformed_json_is_400() {
    let app = TestApp::spawn().await;
    for body in [&b"{not json"[..], b"{\"email\": ", b"", &[0xff, 0xfe, 0x00]] {
        let response = app
            .post_raw("/v1/auth/token", None, "application/json", body.to_vec())
            .await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{:?}: {}",
            body,
            response.raw
        );
        assert_eq!(response.problem_code(), "invalid_request");
    }
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_are_refused() {
    let app = TestApp::spawn().await;
    for body in [
        r#"{"email": "a@b.c", "password": "x", "role": "admin"}"#,
        r#"{"email": 1, "password": "x"}"#,
        r#"{"email": "a@b.c"}"#,
    ] {
        let response = app
            .post_raw("/v1/auth/token", None, "application/json", body.into())
            .await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(response.problem_code(), "validation_failed");
    }
}

#[tokio::test]
async fn oversize_body_is_413() {
    let app = TestApp::spawn().await;
    let huge = format!(
        r#"{{"email": "{}", "password": "x"}}"#,
        "a".repeat(100 * 1024)
    );
    let response = app
        .post_raw("/v1/auth/token", None, "application/json", huge.into())
        .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.problem_code(), "payload_too_large");
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let app = TestApp::spawn().await;
    let response = app
        .post_raw("/v1/auth/token", None, "text/plain", b"hello".to_vec())
        .await;
    assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(response.problem_code(), "unsupported_media_type");
}

#[tokio::test]
async fn unknown_route_is_404_and_wrong_method_is_405() {
    let app = TestApp::spawn().await;
    for path in ["/nope", "/v1/nope", "/v1/me/extra", "/v2/me"] {
        let response = app.request(Method::GET, path, None, None).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(response.problem_code(), "not_found");
    }
    let response = app.request(Method::DELETE, "/v1/me", None, None).await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.problem_code(), "method_not_allowed");
    assert_eq!(response.headers["allow"], "GET");
    let response = app.request(Method::GET, "/v1/auth/token", None, None).await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers["allow"], "POST");
}

#[tokio::test]
async fn health_readiness_spec_and_docs_are_served() {
    let app = TestApp::spawn().await;
    let health = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (health.status, health.body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let ready = app.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (ready.status, ready.body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );
    let spec = app.request(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(spec.status, StatusCode::OK);
    assert!(spec.body["paths"]["/v1/auth/token"]["post"].is_object());
    let docs = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("swagger"));
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let ok = app.request(Method::GET, "/healthz", None, None).await;
    let missing = app.request(Method::GET, "/missing", None, None).await;
    for response in [ok, missing] {
        let id = response.headers["x-request-id"].to_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok());
    }
}
