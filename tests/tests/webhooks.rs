//! Urgent-alert webhooks against a local receiver: signed bodies with ids only, and exactly one
//! delivery per urgent message even when the receiver is down for a while.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use http_tests::{id, Session, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "whsec-test-0123456789";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: String,
    /// The status the receiver answered with.
    answered: u16,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .unwrap_or_default()
    }
}

/// A minimal HTTP receiver on a random local port that answers every request with `status`.
struct Receiver {
    url: String,
    status: Arc<AtomicU16>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(status: u16) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/inbox", listener.local_addr().unwrap());
        let status = Arc::new(AtomicU16::new(status));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (answer, log) = (status.clone(), received.clone());
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let (answer, log) = (answer.clone(), log.clone());
                tokio::spawn(async move {
                    let mut raw = Vec::new();
                    let mut buffer = [0u8; 4096];
                    let (head, length) = loop {
                        let read = socket.read(&mut buffer).await.unwrap();
                        assert!(read > 0, "the request ended early");
                        raw.extend_from_slice(&buffer[..read]);
                        let text = String::from_utf8_lossy(&raw).to_string();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let head = text[..end].to_owned();
                            let length = head
                                .lines()
                                .find_map(|line| {
                                    let (name, value) = line.split_once(':')?;
                                    name.eq_ignore_ascii_case("content-length")
                                        .then(|| value.trim().parse::<usize>().unwrap())
                                })
                                .unwrap_or(0);
                            raw.drain(..end + 4);
                            break (head, length);
                        }
                    };
                    while raw.len() < length {
                        let read = socket.read(&mut buffer).await.unwrap();
                        raw.extend_from_slice(&buffer[..read]);
                    }
                    let headers = head
                        .lines()
                        .skip(1)
                        .filter_map(|line| line.split_once(':'))
                        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned()))
                        .collect();
                    let status = answer.load(Ordering::SeqCst);
                    log.lock().unwrap().push(Received {
                        headers,
                        body: String::from_utf8(raw).unwrap(),
                        answered: status,
                    });
                    let response = format!(
                        "HTTP/1.1 {status} Status\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    socket.write_all(response.as_bytes()).await.unwrap();
                });
            }
        });
        Receiver {
            url,
            status,
            received,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn spawn_fast_app() -> TestApp {
    TestApp::spawn_with(|settings| {
        settings.webhooks.poll_interval = Duration::from_millis(50);
        settings.webhooks.retry_base = Duration::from_millis(100);
        settings.webhooks.retry_cap = Duration::from_millis(400);
    })
    .await
}

async fn subscribe(app: &TestApp, admin: &Session, url: &str) {
    let response = app
        .request(
            reqwest::Method::PUT,
            "/v1/settings/webhook",
            Some(&admin.access_token),
            Some(json!({"url": url, "secret": SECRET})),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.raw);
    assert_eq!(response.body["secret_set"], true);
    assert!(!response.raw.contains(SECRET), "the secret is write-only");
}

/// Deliveries as the admin API lists them, once every one has left `pending`.
async fn settled_deliveries(app: &TestApp, admin: &Session, expected: usize) -> Vec<Value> {
    for _ in 0..200 {
        let list = app.get("/v1/admin/webhook-deliveries", admin).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.raw);
        let items = list.body["items"].as_array().unwrap().clone();
        if items.len() == expected && items.iter().all(|item| item["status"] != "pending") {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the deliveries did not settle");
}

fn signature(timestamp: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn an_urgent_message_is_delivered_once_signed_and_without_text() {
    let app = spawn_fast_app().await;
    let receiver = Receiver::start(200).await;
    let admin = app.login("admin@demo.test").await;
    let alice = app.login("alice@demo.test").await;
    subscribe(&app, &admin, &receiver.url).await;

    let started = app
        .patient_starts(
            &alice,
            "I have crushing chest pain and my left arm is numb.",
        )
        .await;
    // Routine messages raise no alert.
    app.patient_starts(&alice, "How do I change the email address on my account?")
        .await;
    let deliveries = settled_deliveries(&app, &admin, 1).await;
    assert_eq!(deliveries[0]["status"], "delivered", "{:?}", deliveries[0]);

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(
        request.header("x-inbox-signature"),
        signature(request.header("x-inbox-timestamp"), &request.body)
    );
    let age = chrono::Utc::now().timestamp()
        - request.header("x-inbox-timestamp").parse::<i64>().unwrap();
    assert!((0..60).contains(&age), "a fresh timestamp");
    assert_eq!(request.header("x-inbox-delivery"), deliveries[0]["id"]);
    let body: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(body["conversation_id"], id(&started["conversation"]));
    assert_eq!(body["message_id"], id(&started["message"]));
    assert_eq!(body["urgent"], true);
    assert_eq!(body["category"], "clinical");
    assert!(!request.body.contains("chest") && !request.body.contains("Alice"));

    // Only admins see or change the webhook.
    let rivera = app.login("rivera@demo.test").await;
    assert_eq!(
        app.get("/v1/admin/webhook-deliveries", &rivera)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/v1/settings/webhook", &rivera).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_receiver_down_for_a_while_gets_exactly_one_delivery_per_urgent_message() {
    let app = spawn_fast_app().await;
    let receiver = Receiver::start(503).await;
    let admin = app.login("admin@demo.test").await;
    let alice = app.login("alice@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    subscribe(&app, &admin, &receiver.url).await;

    app.patient_starts(
        &alice,
        "I have crushing chest pain and my left arm is numb.",
    )
    .await;
    app.patient_starts(&bob, "I can't breathe properly right now.")
        .await;
    // Down: both are tried, and retried.
    for _ in 0..200 {
        if receiver.received().len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(receiver.received().len() >= 4, "retried while down");
    receiver.status.store(200, Ordering::SeqCst);

    let deliveries = settled_deliveries(&app, &admin, 2).await;
    assert!(deliveries.iter().all(|item| item["status"] == "delivered"));
    assert!(deliveries
        .iter()
        .all(|item| item["attempts"].as_i64() >= Some(2)));
    // Give a stray duplicate time to show, then count the accepted requests per delivery.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = receiver.received();
    for delivery in &deliveries {
        let accepted = received
            .iter()
            .filter(|request| request.answered == 200)
            .filter(|request| request.header("x-inbox-delivery") == delivery["id"])
            .count();
        assert_eq!(accepted, 1, "{delivery}");
    }
    assert_eq!(
        received
            .iter()
            .filter(|request| request.answered == 200)
            .count(),
        2
    );
}

#[tokio::test]
async fn the_webhook_setting_is_validated_and_needs_a_secret_first() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@demo.test").await;
    assert_eq!(
        app.get("/v1/settings/webhook", &admin).await.status,
        StatusCode::NOT_FOUND
    );
    for body in [
        json!({"url": "https://alerts.example.org/inbox"}),
        json!({"url": "ftp://alerts.example.org", "secret": SECRET}),
        json!({"url": "https://alerts.example.org", "secret": "short"}),
    ] {
        let response = app
            .request(
                reqwest::Method::PUT,
                "/v1/settings/webhook",
                Some(&admin.access_token),
                Some(body),
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            response.raw
        );
    }
    subscribe(&app, &admin, "https://alerts.example.org/inbox").await;
    // Later changes may leave the secret out: it is kept.
    let paused = app
        .request(
            reqwest::Method::PUT,
            "/v1/settings/webhook",
            Some(&admin.access_token),
            Some(json!({"url": "https://alerts.example.org/inbox", "active": false})),
        )
        .await;
    assert_eq!(paused.status, StatusCode::OK, "{}", paused.raw);
    assert_eq!(paused.body["active"], false);
    assert_eq!(paused.body["secret_set"], true);
}
