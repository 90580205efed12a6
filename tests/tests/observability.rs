//! Security headers, CORS for the SPA, and Prometheus metrics without patient data.

use http_tests::TestApp;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/healthz", "/v1/nope", "/v1/me"] {
        let response = app.request(Method::GET, path, None, None).await;
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("cache-control", "no-store"),
            ("referrer-policy", "no-referrer"),
        ] {
            assert_eq!(response.headers[name], value, "{path} {name}");
        }
        assert!(
            response.headers.contains_key("content-security-policy"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn only_configured_origins_may_call_from_a_browser() {
    let app =
        TestApp::spawn_with(|settings| settings.cors_origins = vec!["https://spa.example".into()])
            .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url("/v1/conversations"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed = preflight("https://spa.example").await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://spa.example"
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());

    let simple = app
        .client
        .get(app.url("/healthz"))
        .header("origin", "https://spa.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        simple.headers()["access-control-allow-origin"],
        "https://spa.example"
    );
    let exposed = simple.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        exposed.contains("x-request-id") && exposed.contains("retry-after"),
        "{exposed}"
    );
}

#[tokio::test]
async fn metrics_count_requests_and_decisions_without_patient_data() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    app.patient_starts(
        &alice,
        "Zanzibar question: my knee swells after the exercises",
    )
    .await;
    assert_eq!(app.get("/v1/me", &alice).await.status, StatusCode::OK);

    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("inbox_http_requests_total{"), "{text}");
    assert!(
        text.contains(r#"route="/v1/me""#),
        "requests are labelled by route template"
    );
    assert!(text.contains(r#"route="/v1/patient/conversations""#));
    assert!(text.contains("inbox_http_request_duration_seconds_bucket"));
    assert!(
        text.contains(r#"inbox_routing_decisions_total{team="care_team",category="clinical"}"#),
        "{text}"
    );
    assert!(text.contains("inbox_db_pool_connections"));
    for secret in ["Zanzibar", "Alice", "alice@demo.test"] {
        assert!(!text.contains(secret), "metrics leak `{secret}`");
    }
}
