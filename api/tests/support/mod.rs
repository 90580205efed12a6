//! What the process-level tests share: a database per test on the suite's backend, and
//! `inbox serve` processes started the way an operator would.
// Each test binary uses part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

pub const TEST_DATABASE_ENV: &str = "INBOX_TEST_DATABASE_URL";
const JWT_SECRET: &str = "process-test-secret-process-test-secret";

/// A database for one test: a fresh PostgreSQL database (dropped at the end) or a SQLite file.
pub enum TestDatabase {
    Postgres { admin_url: String, name: String },
    Sqlite(tempfile::TempDir),
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        match std::env::var(TEST_DATABASE_ENV) {
            Ok(admin_url) if !admin_url.trim().is_empty() => {
                let name = format!("inbox_proc_{}", uuid::Uuid::now_v7().simple());
                admin(&admin_url, &format!("CREATE DATABASE \"{name}\"")).await;
                TestDatabase::Postgres { admin_url, name }
            }
            _ => TestDatabase::Sqlite(tempfile::tempdir().unwrap()),
        }
    }

    pub fn url(&self) -> String {
        match self {
            TestDatabase::Postgres { admin_url, name } => {
                let (base, _) = admin_url.rsplit_once('/').unwrap();
                format!("{base}/{name}")
            }
            TestDatabase::Sqlite(dir) => dir.path().join("inbox.db").display().to_string(),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime; the cleanup gets a runtime of its own.
            let _ = std::thread::spawn(move || {
                tokio::runtime::Runtime::new().unwrap().block_on(admin(
                    &admin_url,
                    &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                ))
            })
            .join();
        }
    }
}

pub async fn admin(url: &str, statement: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|error| panic!("{TEST_DATABASE_ENV} is unreachable: {error}"));
    let driver = tokio::spawn(connection);
    client.batch_execute(statement).await.unwrap();
    drop(client);
    let _ = driver.await;
}

/// A running `inbox serve`; killed when dropped.
pub struct Server {
    pub child: Child,
    pub address: String,
}

impl Server {
    pub fn start(database_url: &str, extra_env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_inbox"));
        command
            .args(["serve", "--demo"])
            .env("DATABASE_URL", database_url)
            .env("INBOX_BIND", "127.0.0.1:0")
            .env("INBOX_JWT_SECRET", JWT_SECRET)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (name, value) in extra_env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // `inbox serve` announces its real port once it listens.
        let address = loop {
            let line = lines
                .next()
                .expect("the server announces where it listens")
                .unwrap();
            if let Some(rest) = line.strip_prefix("inbox listening on ") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, address }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn login(&self, client: &reqwest::Client, email: &str) -> String {
        let response: Value = client
            .post(self.url("/v1/auth/token"))
            .json(&json!({"email": email, "password": "demo-pass"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        response["access_token"].as_str().unwrap().to_owned()
    }

    /// GETs `path` as `token` and reads the JSON body.
    pub async fn get_json(&self, client: &reqwest::Client, path: &str, token: &str) -> Value {
        client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn patient_starts(&self, client: &reqwest::Client, token: &str, body: &str) -> Value {
        let response = client
            .post(self.url("/v1/patient/conversations"))
            .bearer_auth(token)
            .json(&json!({"body": body}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::CREATED);
        response.json().await.unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}
