//! The `inbox` binary as an operator runs it: SIGTERM drains requests in flight before the
//! process exits, and a message acknowledged with 201 survives SIGKILL right after. Runs on the
//! backend of the suite (SQLite, or PostgreSQL with INBOX_TEST_DATABASE_URL).
// A failed expectation in a test should panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const SECRET: &str = "process-test-secret-process-test-secret";

/// A database for one test: a SQLite file, or a fresh PostgreSQL database dropped at the end.
struct Database {
    url: String,
    _dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl Database {
    fn create() -> Database {
        let dir = tempfile::tempdir().unwrap();
        match std::env::var("INBOX_TEST_DATABASE_URL") {
            Ok(admin) if !admin.trim().is_empty() => {
                let name = format!("inbox_process_{}", uuid::Uuid::now_v7().simple());
                psql(&admin, &format!("CREATE DATABASE \"{name}\""));
                let base = admin.rsplit_once('/').unwrap().0;
                Database {
                    url: format!("{base}/{name}"),
                    _dir: dir,
                    postgres: Some((admin, name)),
                }
            }
            _ => Database {
                url: dir.path().join("inbox.db").to_str().unwrap().to_owned(),
                _dir: dir,
                postgres: None,
            },
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.postgres {
            psql(
                admin,
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            );
        }
    }
}

fn psql(url: &str, sql: &str) {
    let status = Command::new("psql")
        .args([url, "-q", "-c", sql])
        .status()
        .expect("psql runs (INBOX_TEST_DATABASE_URL is set, so PostgreSQL must be reachable)");
    assert!(status.success(), "psql {sql}");
}

/// Starts `inbox serve --demo` on a free port and waits for its start-up line.
fn start(database: &Database) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_inbox"))
        .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
        .env("DATABASE_URL", &database.url)
        .env("INBOX_JWT_SECRET", SECRET)
        .env("INBOX_SEND_RATE_PER_MINUTE", "100000")
        .env("INBOX_AUTH_RATE_PER_MINUTE", "100000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let address = loop {
        let line = lines
            .next()
            .expect("the server prints its address")
            .unwrap();
        if let Some(rest) = line.strip_prefix("inbox listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, address)
}

async fn login(client: &reqwest::Client, address: &str, email: &str) -> String {
    let response: Value = client
        .post(format!("{address}/v1/auth/token"))
        .json(&json!({"email": email, "password": "demo-pass"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["access_token"].as_str().unwrap().to_owned()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

#[tokio::test]
async fn every_acknowledged_message_survives_sigkill() {
    let database = Database::create();
    let (mut server, address) = start(&database);
    let client = client();
    let token = login(&client, &address, "alice@demo.test").await;
    let started: Value = client
        .post(format!("{address}/v1/patient/conversations"))
        .bearer_auth(&token)
        .json(&json!({"body": "Starting a thread before the crash"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let conversation = started["conversation"]["id"].as_str().unwrap().to_owned();

    // Four senders in a loop; every 201 is a promise the message is stored.
    let senders = (0..4).map(|sender| {
        let (client, address, token, conversation) = (
            client.clone(),
            address.clone(),
            token.clone(),
            conversation.clone(),
        );
        tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for n in 0.. {
                let sent = client
                    .post(format!(
                        "{address}/v1/patient/conversations/{conversation}/messages"
                    ))
                    .bearer_auth(&token)
                    .json(&json!({"body": format!("message {sender}-{n}")}))
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status() == reqwest::StatusCode::CREATED => {
                        let body: Value = match response.json().await {
                            Ok(body) => body,
                            Err(_) => break,
                        };
                        acknowledged.push(body["message"]["id"].as_str().unwrap().to_owned());
                    }
                    _ => break,
                }
            }
            acknowledged
        })
    });
    let senders: Vec<_> = senders.collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    server.kill().unwrap();
    server.wait().unwrap();
    let mut acknowledged = Vec::new();
    for sender in senders {
        acknowledged.extend(sender.await.unwrap());
    }
    assert!(
        acknowledged.len() > 10,
        "the loop ran: {} sends",
        acknowledged.len()
    );

    let (mut restarted, address) = start(&database);
    let token = login(&client, &address, "alice@demo.test").await;
    let stored: Value = client
        .get(format!(
            "{address}/v1/patient/conversations/{conversation}/messages"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored: std::collections::HashSet<&str> = stored["items"]
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
    restarted.kill().unwrap();
    restarted.wait().unwrap();
}

#[tokio::test]
async fn sigterm_drains_requests_in_flight_then_exits_cleanly() {
    let database = Database::create();
    let (mut server, address) = start(&database);
    let client = client();
    let token = login(&client, &address, "bob@demo.test").await;
    // Sign-ins hash a password each (tens of milliseconds), so a burst is still in flight when
    // the signal arrives.
    let requests: Vec<_> = (0..24)
        .map(|_| {
            let (client, address) = (client.clone(), address.clone());
            tokio::spawn(async move {
                client
                    .post(format!("{address}/v1/auth/token"))
                    .json(&json!({"email": "kim@demo.test", "password": "demo-pass"}))
                    .send()
                    .await
                    .map(|response| response.status())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(60)).await;
    let terminated = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    let signalled_at = Instant::now();
    for request in requests {
        let status = request
            .await
            .unwrap()
            .expect("a request in flight is answered, not dropped");
        assert_eq!(status, reqwest::StatusCode::OK);
    }
    let exit = tokio::task::spawn_blocking(move || server.wait().unwrap())
        .await
        .unwrap();
    assert!(exit.success(), "exit status {exit:?}");
    assert!(signalled_at.elapsed() < Duration::from_secs(30));
    let refused = client
        .get(format!("{address}/v1/me"))
        .bearer_auth(&token)
        .send()
        .await;
    assert!(refused.is_err(), "nothing listens after the drain");
}
