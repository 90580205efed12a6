//! Tests that need real `inbox serve` processes: several instances on one database, and a server
//! killed mid-work. They use the backend of `INBOX_TEST_DATABASE_URL` like the HTTP tests (a fresh
//! database per test), or a temporary SQLite file when it is unset.
// A failed expectation in a test should panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{client, Server, TestDatabase, TEST_DATABASE_ENV};

/// Reads a stream until `needle` shows up; panics after `within`.
async fn stream_shows(response: &mut reqwest::Response, needle: &str, within: Duration) -> String {
    let mut seen = String::new();
    tokio::time::timeout(within, async {
        while !seen.contains(needle) {
            let chunk = response
                .chunk()
                .await
                .unwrap()
                .expect("the stream stays open");
            seen.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    })
    .await
    .unwrap_or_else(|_| panic!("`{needle}` did not arrive within {within:?}; got: {seen}"));
    seen
}

#[tokio::test]
async fn an_event_written_through_one_instance_reaches_a_stream_on_another() {
    if std::env::var(TEST_DATABASE_ENV).is_err() {
        println!("several instances share PostgreSQL only: this test runs in the PostgreSQL suite");
        return;
    }
    let database = TestDatabase::create().await;
    // Polling is all but off, so only LISTEN/NOTIFY can deliver in time.
    let slow_poll = [("INBOX_EVENTS_POLL_MS", "600000")];
    let first = Server::start(&database.url(), &slow_poll);
    let second = Server::start(&database.url(), &slow_poll);
    let client = client();
    let rivera = second.login(&client, "rivera@demo.test").await;
    let alice = first.login(&client, "alice@demo.test").await;

    let mut stream = client
        .get(second.url("/v1/events"))
        .bearer_auth(&rivera)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), reqwest::StatusCode::OK);
    stream_shows(&mut stream, "retry:", Duration::from_secs(5)).await;

    let started = first
        .patient_starts(
            &client,
            &alice,
            "My knee is still swollen after the exercises.",
        )
        .await;
    let conversation = started["conversation"]["id"].as_str().unwrap();
    let seen = stream_shows(
        &mut stream,
        "event: message_created",
        Duration::from_secs(5),
    )
    .await;
    assert!(seen.contains(conversation), "{seen}");
    assert!(seen.contains("event: conversation_created"), "{seen}");
}

/// Accepts webhook requests on `listener`, answers 200 and records their delivery ids.
fn receive_webhooks(
    listener: std::net::TcpListener,
) -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    use std::io::{Read, Write};
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = received.clone();
    std::thread::spawn(move || {
        for mut socket in listener.incoming().flatten() {
            let mut raw = Vec::new();
            let mut buffer = [0u8; 4096];
            let complete = |raw: &[u8]| {
                let text = String::from_utf8_lossy(raw);
                let end = text.find("\r\n\r\n")?;
                let length = text[..end]
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                (raw.len() >= end + 4 + length).then(|| text[..end].to_owned())
            };
            let head = loop {
                let read = socket.read(&mut buffer).unwrap();
                raw.extend_from_slice(&buffer[..read]);
                if let Some(head) = complete(&raw) {
                    break head;
                }
                assert!(read > 0, "the request ended early");
            };
            let delivery = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("x-inbox-delivery")
                        .then(|| value.trim().to_owned())
                })
                .unwrap_or_default();
            log.lock().unwrap().push(delivery);
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    received
}

#[tokio::test]
async fn an_alert_committed_before_a_crash_is_delivered_after_the_restart() {
    let database = TestDatabase::create().await;
    // The receiver's port, closed for now: nothing can be delivered before the crash.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fast_retries = [("INBOX_WEBHOOK_RETRY_BASE_MS", "200")];
    let client = client();
    let server = Server::start(&database.url(), &fast_retries);
    let admin = server.login(&client, "admin@demo.test").await;
    let subscribed = client
        .put(server.url("/v1/settings/webhook"))
        .bearer_auth(&admin)
        .json(&json!({
            "url": format!("http://127.0.0.1:{port}/hook"),
            "secret": "whsec-test-0123456789",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(subscribed.status(), reqwest::StatusCode::OK);
    let alice = server.login(&client, "alice@demo.test").await;
    server
        .patient_starts(
            &client,
            &alice,
            "I have crushing chest pain and my left arm is numb.",
        )
        .await;
    drop(server); // SIGKILL: no shutdown, no chance to deliver

    let received = receive_webhooks(std::net::TcpListener::bind(("127.0.0.1", port)).unwrap());
    let restarted = Server::start(&database.url(), &fast_retries);
    let admin = restarted.login(&client, "admin@demo.test").await;
    let mut deliveries = Value::Null;
    // A crash mid-attempt leaves its lease (30 s) to run out first; usually it is at once.
    for _ in 0..900 {
        deliveries = restarted
            .get_json(&client, "/v1/admin/webhook-deliveries", &admin)
            .await;
        if deliveries["items"][0]["status"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        deliveries["items"][0]["status"], "delivered",
        "{deliveries}"
    );
    assert_eq!(deliveries["items"].as_array().unwrap().len(), 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        *received.lock().unwrap(),
        [deliveries["items"][0]["id"].as_str().unwrap()]
    );
}
