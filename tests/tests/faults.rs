//! The database going away: every endpoint that needs it answers 503 problem+json with
//! Retry-After, readiness fails, liveness does not, and the server recovers by itself.
//! PostgreSQL only — an embedded SQLite file cannot become unreachable; the SQLite suite says so.

use std::time::{Duration, Instant};

use http_tests::proxy::CuttableProxy;
use http_tests::{backend_name, TestApp};
use persistence::DatabaseUrl;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// The same database through the proxy's port.
fn through_proxy(url: &DatabaseUrl, port: u16) -> (DatabaseUrl, std::net::SocketAddr) {
    let raw = url.as_str();
    let (scheme, rest) = raw.split_once("://").unwrap();
    let (userinfo, host_and_path) = match rest.split_once('@') {
        Some((userinfo, tail)) => (format!("{userinfo}@"), tail),
        None => (String::new(), rest),
    };
    let (host, path) = host_and_path.split_once('/').unwrap();
    let upstream = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    };
    let upstream = upstream.replace("localhost", "127.0.0.1").parse().unwrap();
    let proxied = format!("{scheme}://{userinfo}127.0.0.1:{port}/{path}");
    (DatabaseUrl::parse(&proxied).unwrap(), upstream)
}

#[tokio::test]
async fn a_database_outage_answers_503_and_the_server_recovers() {
    if backend_name() != "postgres" {
        eprintln!("the outage test runs in the PostgreSQL suite (INBOX_TEST_DATABASE_URL)");
        return;
    }
    let admin_url = std::env::var("INBOX_TEST_DATABASE_URL").unwrap();
    let (_, upstream) = through_proxy(&DatabaseUrl::parse(&admin_url).unwrap(), 0);
    let proxy = CuttableProxy::start(upstream).await;
    let app = TestApp::spawn_with(|settings| {
        settings.database.url = through_proxy(&settings.database.url, proxy.port()).0;
        settings.database.pool.connection_timeout = Duration::from_secs(1);
    })
    .await;
    let alice = app.login("alice@demo.test").await;
    let started = app
        .patient_starts(&alice, "My knee hurts after the exercises")
        .await;
    let conversation = started["conversation"]["id"].as_str().unwrap().to_owned();

    proxy.cut();
    let token = Some(alice.access_token.as_str());
    let requests = [
        (Method::GET, "/readyz".to_owned(), None),
        (Method::GET, "/v1/me".to_owned(), None),
        (Method::GET, "/v1/patient/conversations".to_owned(), None),
        (
            Method::GET,
            format!("/v1/patient/conversations/{conversation}/messages"),
            None,
        ),
        (
            Method::POST,
            "/v1/patient/conversations".to_owned(),
            Some(json!({"body": "Are you there?"})),
        ),
        (
            Method::POST,
            "/v1/auth/token".to_owned(),
            Some(json!({"email": "bob@demo.test", "password": "demo-pass"})),
        ),
    ];
    for (method, path, body) in requests {
        let response = app.request(method, &path, token, body).await;
        assert_eq!(
            response.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}: {}",
            response.raw
        );
        assert_eq!(response.problem_code(), "service_unavailable", "{path}");
        assert!(response.headers.contains_key("retry-after"), "{path}");
    }
    let alive = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(alive.status, StatusCode::OK, "the process itself is fine");

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ready = app.request(Method::GET, "/readyz", None, None).await;
        if ready.status == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "not ready again: {}", ready.raw);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let list = app.get("/v1/patient/conversations", &alice).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(
        list.body["items"].as_array().unwrap().len(),
        1,
        "the failed send stored nothing"
    );
    app.patient_starts(&alice, "Back again").await;
}
