//! The `inbox` binary as an operator runs it: SIGTERM drains requests in flight before the
//! process exits, and a message acknowledged with 201 survives SIGKILL right after. Runs on the
//! backend of the suite (SQLite, or PostgreSQL with INBOX_TEST_DATABASE_URL).
// A failed expectation in a test should panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{client, Server, TestDatabase};

/// Limits off: these tests send far faster than people.
const UNLIMITED: [(&str, &str); 2] = [
    ("INBOX_SEND_RATE_PER_MINUTE", "1000000"),
    ("INBOX_AUTH_RATE_PER_MINUTE", "1000000"),
];

#[tokio::test]
async fn every_acknowledged_message_survives_sigkill() {
    let database = TestDatabase::create().await;
    let server = Server::start(&database.url(), &UNLIMITED);
    let client = client();
    let token = server.login(&client, "alice@demo.test").await;
    let started = server
        .patient_starts(&client, &token, "Starting a thread before the crash")
        .await;
    let conversation = started["conversation"]["id"].as_str().unwrap().to_owned();

    // Four senders in a loop; every 201 is a promise that the message is stored.
    let senders: Vec<_> = (0..4)
        .map(|sender| {
            let (client, url, token) = (
                client.clone(),
                server.url(&format!(
                    "/v1/patient/conversations/{conversation}/messages"
                )),
                token.clone(),
            );
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for n in 0.. {
                    let sent = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({"body": format!("message {sender}-{n}")}))
                        .send()
                        .await;
                    let Ok(response) = sent else { break };
                    if response.status() != reqwest::StatusCode::CREATED {
                        break;
                    }
                    let Ok(body) = response.json::<Value>().await else {
                        break;
                    };
                    acknowledged.push(body["message"]["id"].as_str().unwrap().to_owned());
                }
                acknowledged
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    drop(server); // SIGKILL
    let mut acknowledged = Vec::new();
    for sender in senders {
        acknowledged.extend(sender.await.unwrap());
    }
    assert!(
        acknowledged.len() > 10,
        "the loop ran: {} sends",
        acknowledged.len()
    );

    let restarted = Server::start(&database.url(), &UNLIMITED);
    let token = restarted.login(&client, "alice@demo.test").await;
    let stored = restarted
        .get_json(
            &client,
            &format!("/v1/patient/conversations/{conversation}/messages"),
            &token,
        )
        .await;
    let stored: HashSet<&str> = stored["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !stored.contains(id.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged messages lost",
        lost.len(),
        acknowledged.len()
    );
    println!(
        "{} acknowledged messages, all present after SIGKILL and restart",
        acknowledged.len()
    );
}

/// An OpenAI-compatible endpoint that takes `delay` to answer every request, so drafts are
/// provably in flight when the signal arrives.
fn slow_language_model(delay: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for connection in listener.incoming() {
            let Ok(mut connection) = connection else {
                continue;
            };
            std::thread::spawn(move || {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                // Read the head and the announced body before answering.
                loop {
                    let Ok(read) = connection.read(&mut buffer) else {
                        return;
                    };
                    if read == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..read]);
                    let text = String::from_utf8_lossy(&request);
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let length = text[..head_end]
                            .lines()
                            .find_map(|line| {
                                line.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if request.len() >= head_end + 4 + length {
                            break;
                        }
                    }
                }
                std::thread::sleep(delay);
                let body = json!({"choices": [{"message": {"role": "assistant", "content": "Who: Alice. Problem: knee pain after exercises. Asked: advice. Urgency: routine."}}]}).to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = connection.write_all(response.as_bytes());
            });
        }
    });
    format!("http://{address}/v1")
}

#[tokio::test]
async fn sigterm_drains_requests_in_flight_then_exits_cleanly() {
    let database = TestDatabase::create().await;
    let model = slow_language_model(Duration::from_millis(1500));
    let mut environment = UNLIMITED.to_vec();
    environment.extend([
        ("INBOX_LLM_BASE_URL", model.as_str()),
        ("INBOX_LLM_TIMEOUT_SECONDS", "20"),
    ]);
    let mut server = Server::start(&database.url(), &environment);
    let client = client();
    let alice = server.login(&client, "alice@demo.test").await;
    let rivera = server.login(&client, "rivera@demo.test").await;
    let started = server
        .patient_starts(&client, &alice, "My knee hurts after the exercises")
        .await;
    let conversation = started["conversation"]["id"].as_str().unwrap().to_owned();

    let drafts: Vec<_> = (0..8)
        .map(|_| {
            let request = client
                .post(server.url(&format!("/v1/conversations/{conversation}/handoff/summary")))
                .bearer_auth(&rivera)
                .send();
            tokio::spawn(async move {
                let response = request
                    .await
                    .expect("a request in flight is answered, not dropped");
                let status = response.status();
                (status, response.json::<Value>().await.unwrap())
            })
        })
        .collect();
    // Every draft now waits on the model for another second.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let signalled = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    let signalled_at = Instant::now();

    for draft in drafts {
        let (status, body) = draft.await.unwrap();
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
        assert_eq!(
            body["generated_by"], "llm",
            "the draft finished its call: {body}"
        );
    }
    let exit = tokio::task::spawn_blocking(move || {
        let exit = server.child.wait().unwrap();
        (exit, server)
    })
    .await
    .unwrap()
    .0;
    assert!(exit.success(), "exit status {exit:?}");
    assert!(signalled_at.elapsed() < Duration::from_secs(30));
}
