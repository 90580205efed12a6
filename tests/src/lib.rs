//! Test harness: each test gets its own server on a random port and its own database — a fresh
//! SQLite file by default, or a fresh PostgreSQL database when `INBOX_TEST_DATABASE_URL` points at
//! a server (created here, dropped when the test ends). When that variable is set and the server
//! is unreachable, tests fail: they never fall back silently.

pub mod proxy;

use std::time::Duration;

use api::config::{DatabaseSettings, SecretSource, Settings};
use api::shutdown::Shutdown;
use api::startup::Application;
use diesel::{Connection, RunQueryDsl};
use persistence::db::PoolOptions;
use persistence::DatabaseUrl;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};

pub const DEMO_PASSWORD: &str = "demo-pass";
/// The signing secret of every test server, so tests can forge tokens.
pub const TEST_JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";
pub const TEST_DATABASE_ENV: &str = "INBOX_TEST_DATABASE_URL";

/// How many open conversations (PostgreSQL) have a word signature (migration 29) other than the
/// bits of their entries in the open word table, as a `count` for [`TestApp::count`]: 0 when
/// every write kept them.
pub const MISSIGNED_OPEN_CONVERSATIONS: &str = "SELECT count(*) AS count FROM conversations \
     WHERE status = 'open' AND lexemes_signature <> signature_of_lexemes(ARRAY(\
     SELECT words.lexeme FROM open_conversation_lexemes AS words \
     WHERE words.conversation_id = conversations.id))";

/// An empty database of the run's backend (no migrations applied), gone when this is dropped.
pub enum TestDatabase {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    pub fn create() -> (Self, DatabaseUrl) {
        match std::env::var(TEST_DATABASE_ENV) {
            Ok(admin_url) if !admin_url.trim().is_empty() => {
                let name = format!("inbox_test_{}", uuid::Uuid::now_v7().simple());
                let mut admin =
                    diesel::PgConnection::establish(&admin_url).unwrap_or_else(|error| {
                        panic!("{TEST_DATABASE_ENV} is set but PostgreSQL is unreachable: {error}")
                    });
                diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut admin)
                    .expect("create the test database");
                let url = database_url_with_name(&admin_url, &name);
                (
                    TestDatabase::Postgres { admin_url, name },
                    DatabaseUrl::parse(&url).expect("a postgres URL"),
                )
            }
            _ => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let path = dir.path().join("inbox.db");
                let url = DatabaseUrl::parse(path.to_str().expect("a UTF-8 path")).expect("a path");
                (TestDatabase::Sqlite(dir), url)
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            if let Ok(mut admin) = diesel::PgConnection::establish(admin_url) {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut admin);
            }
        }
    }
}

/// Replaces the database name (the URL path) of a PostgreSQL URL, keeping any query string.
pub fn database_url_with_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|index| index + 3).unwrap_or(0);
    let host_end = base[scheme_end..]
        .find('/')
        .map(|index| index + scheme_end)
        .unwrap_or(base.len());
    let mut rebuilt = format!("{}/{}", &base[..host_end], name);
    if let Some(query) = query {
        rebuilt.push('?');
        rebuilt.push_str(query);
    }
    rebuilt
}

/// Which backend this test run uses, for messages.
pub fn backend_name() -> &'static str {
    match std::env::var(TEST_DATABASE_ENV) {
        Ok(url) if !url.trim().is_empty() => "postgres",
        _ => "sqlite",
    }
}

/// A running server with the demo organizations and accounts.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub app_state: api::state::AppState,
    server: RunningServer,
    _database: TestDatabase,
}

/// The server runs on its own thread and actix system, as `inbox serve` does, so that a test can
/// stop it completely: its workers, background tasks and pool end with the test instead of
/// living on until the test process exits.
struct RunningServer {
    shutdown: Shutdown,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        // The stop command goes out at once; the thread ends when the server has stopped.
        drop(self.shutdown.at_once());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A signed-in account.
#[derive(Debug, Clone)]
pub struct Session {
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// A response with its body already read.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub raw: String,
}

impl TestResponse {
    /// Asserts the RFC 9457 shape and returns the problem's `code`.
    pub fn problem_code(&self) -> &str {
        let content_type = self
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        assert!(
            content_type.starts_with("application/problem+json"),
            "expected problem+json, got `{content_type}`: {}",
            self.raw
        );
        for member in ["type", "title", "detail", "code"] {
            assert!(
                self.body[member].is_string(),
                "problem lacks `{member}`: {}",
                self.raw
            );
        }
        assert_eq!(
            self.body["status"],
            json!(self.status.as_u16()),
            "{}",
            self.raw
        );
        self.body["code"].as_str().unwrap_or_default()
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with adjusted settings (e.g. a short token lifetime).
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let (database, url) = TestDatabase::create();
        let mut settings = Settings {
            database: DatabaseSettings {
                url,
                pool: PoolOptions {
                    max_size: 8,
                    connection_timeout: Duration::from_secs(10),
                },
            },
            bind: "127.0.0.1:0".parse().expect("an address"),
            jwt_secret: SecretString::from(TEST_JWT_SECRET),
            jwt_secret_source: SecretSource::Configured,
            access_token_ttl: Duration::from_secs(900),
            refresh_token_ttl: Duration::from_secs(3600),
            demo: true,
            llm: None,
            // Tests sign in and send far faster than people; the limit tests lower these.
            auth_rate_per_minute: std::num::NonZeroU32::new(10_000).expect("non-zero"),
            send_rate_per_minute: std::num::NonZeroU32::new(10_000).expect("non-zero"),
            cors_origins: Vec::new(),
            live: Default::default(),
            webhooks: Default::default(),
        };
        adjust(&mut settings);
        let (started_sender, started) = tokio::sync::oneshot::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let application = Application::build(&settings)
                    .await
                    .expect("the test server starts");
                let started = (
                    application.port(),
                    application.state().clone(),
                    application.shutdown(),
                );
                if started_sender.send(started).is_ok() {
                    let _ = application.run_until_stopped().await;
                }
            })
        });
        let (port, app_state, shutdown) = started.await.expect("the test server starts");
        let server = RunningServer {
            shutdown,
            thread: Some(thread),
        };
        let address = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        TestApp {
            address,
            client,
            app_state,
            server,
            _database: database,
        }
    }

    /// Stops the server as `inbox serve` does on SIGTERM; completes when it has stopped.
    pub fn stop_gracefully(&self) -> impl std::future::Future<Output = ()> {
        self.server.shutdown.gracefully()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> TestResponse {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the server answers");
        read(response).await
    }

    pub async fn get(&self, path: &str, session: &Session) -> TestResponse {
        self.request(Method::GET, path, Some(&session.access_token), None)
            .await
    }

    pub async fn post(&self, path: &str, session: &Session, body: Value) -> TestResponse {
        self.request(Method::POST, path, Some(&session.access_token), Some(body))
            .await
    }

    /// Sends a raw body with a content type, for malformed-input tests.
    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> TestResponse {
        let mut request = self
            .client
            .post(self.url(path))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read(request.send().await.expect("the server answers")).await
    }

    /// Signs in with the demo password.
    pub async fn login(&self, email: &str) -> Session {
        let response = self
            .request(
                Method::POST,
                "/v1/auth/token",
                None,
                Some(json!({"email": email, "password": DEMO_PASSWORD})),
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "login of {email}: {}",
            response.raw
        );
        Session {
            email: email.to_owned(),
            access_token: response.body["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
            refresh_token: response.body["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned(),
        }
    }
}

/// The `id` member of a JSON object.
pub fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

pub async fn read(response: reqwest::Response) -> TestResponse {
    let status = response.status();
    let headers = response.headers().clone();
    let raw = response.text().await.expect("a readable body");
    let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
    TestResponse {
        status,
        headers,
        body,
        raw,
    }
}

impl TestApp {
    /// A patient starts a conversation; asserts 201 and returns the body.
    pub async fn patient_starts(&self, patient: &Session, body: &str) -> Value {
        let response = self
            .post("/v1/patient/conversations", patient, json!({"body": body}))
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.raw);
        response.body
    }

    /// The messages of a patient's conversation, as the app shows them; asserts 200.
    pub async fn patient_messages(&self, patient: &Session, conversation_id: &str) -> Vec<Value> {
        let response = self
            .get(
                &format!("/v1/patient/conversations/{conversation_id}/messages"),
                patient,
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.raw);
        response.body["items"].as_array().expect("items").clone()
    }

    /// A patient writes in a conversation.
    pub async fn patient_posts(
        &self,
        patient: &Session,
        conversation_id: &str,
        body: &str,
    ) -> TestResponse {
        self.post(
            &format!("/v1/patient/conversations/{conversation_id}/messages"),
            patient,
            json!({"body": body}),
        )
        .await
    }

    /// A staff reply, or an internal note when `internal`.
    pub async fn staff_posts(
        &self,
        staff: &Session,
        conversation_id: &str,
        body: &str,
        internal: bool,
    ) -> TestResponse {
        self.post(
            &format!("/v1/conversations/{conversation_id}/messages"),
            staff,
            json!({"body": body, "internal": internal}),
        )
        .await
    }

    /// A staff reply, or an internal note when `internal`; asserts 201.
    pub async fn staff_writes(
        &self,
        staff: &Session,
        conversation_id: &str,
        body: &str,
        internal: bool,
    ) {
        let response = self
            .staff_posts(staff, conversation_id, body, internal)
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.raw);
    }

    /// A staff action without a body: `claim`, `release`, `close`, `reopen`.
    pub async fn staff_acts(
        &self,
        staff: &Session,
        conversation_id: &str,
        action: &str,
    ) -> TestResponse {
        self.request(
            Method::POST,
            &format!("/v1/conversations/{conversation_id}/{action}"),
            Some(&staff.access_token),
            None,
        )
        .await
    }

    /// The staff detail of a conversation; asserts 200.
    pub async fn conversation(&self, staff: &Session, conversation_id: &str) -> Value {
        let response = self
            .get(&format!("/v1/conversations/{conversation_id}"), staff)
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.raw);
        response.body
    }

    /// The `count` column of a one-row SQL query, run on the app's database: how tests check
    /// what the API does not show (the rows triggers keep, the live log).
    pub async fn count(&self, query: String) -> i64 {
        use diesel::sql_types::BigInt;
        use diesel::RunQueryDsl;

        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            count: i64,
        }

        let pool = self.app_state.pool.clone();
        tokio::task::spawn_blocking(move || {
            diesel::sql_query(query)
                .get_result::<Count>(&mut pool.get().unwrap())
                .unwrap()
                .count
        })
        .await
        .unwrap()
    }

    /// The caller's id.
    pub async fn id_of(&self, session: &Session) -> String {
        self.get("/v1/me", session).await.body["id"]
            .as_str()
            .expect("an id")
            .to_owned()
    }
}

/// Reverts the database's migrations back to `version`, that one included, and applies them
/// again; the versions applied. For tests of what a migration makes of rows written before it.
pub fn reapply_migrations_from(conn: &mut persistence::DbConnection, version: &str) -> Vec<String> {
    use diesel::connection::SimpleConnection;
    use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
    use persistence::DbConnection;

    const POSTGRES: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
    const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

    fn reapply<C: MigrationHarness<B>, B: diesel::backend::Backend>(
        conn: &mut C,
        migrations: fn() -> EmbeddedMigrations,
        version: &str,
    ) -> Vec<String> {
        while conn
            .revert_last_migration(migrations())
            .unwrap()
            .to_string()
            != version
        {}
        conn.run_pending_migrations(migrations())
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    match conn {
        DbConnection::Postgresql(pg) => reapply(pg, || POSTGRES, version),
        DbConnection::Sqlite(sqlite) => {
            // The pool's SQLite connections refuse writes outside the writers' queue.
            sqlite.batch_execute("PRAGMA query_only = OFF").unwrap();
            let reapplied = reapply(sqlite, || SQLITE, version);
            sqlite.batch_execute("PRAGMA query_only = ON").unwrap();
            reapplied
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced_and_query_kept() {
        assert_eq!(
            database_url_with_name("postgres://postgres@127.0.0.1:5432/test", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            database_url_with_name("postgresql://u:p@h/test?sslmode=disable", "t2"),
            "postgresql://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(
            database_url_with_name("postgres://h", "t3"),
            "postgres://h/t3"
        );
    }
}
