//! "Send to Support": the draft summary (extractive, or from an LLM behind a stub
//! chat-completions server started by the test) and the confirmed, edited handoff.
//!
//! Helpers and the stub panic on anything unexpected: that is how a test fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api::config::LlmSettings;
use api::summarizer::MAX_RETRIES;
use http_tests::{id, Session, TestApp};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{json, Value};

const FIRST_MESSAGE: &str = "My knee feels stiff after the new exercises in my care plan.";
const TECH_PROBLEM: &str = "The exercise videos stopped playing after the app update.";
const TRIED: &str = "I reinstalled the app but it still shows an error.";
const ASK: &str = "Can someone fix it before my Friday session?";
const STAFF_REPLY: &str = "I resent the exercise plan link, please try it once more.";
const NOTE: &str = "Internal: her insurance member number is 4471, ask billing later.";
const LLM_SUMMARY: &str = "Who: Alice\nProblem: exercise videos fail after the app update.";

/// A care-team conversation of Alice's about a broken app: her messages, an automatic
/// acknowledgment, Dr. Rivera's reply (which claims it) and an internal note.
struct Story {
    conversation: String,
    alice: Session,
    rivera: Session,
    acknowledgment: String,
}

async fn story(app: &TestApp) -> Story {
    let alice = app.login("alice@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let started = app.patient_starts(&alice, FIRST_MESSAGE).await;
    let conversation = id(&started["conversation"]);
    let acknowledgment = started["acknowledgment"]["body"]
        .as_str()
        .expect("an acknowledgment")
        .to_owned();
    let posted = app
        .patient_posts(
            &alice,
            &conversation,
            &format!("{TECH_PROBLEM}\n{TRIED} {ASK} Thanks!"),
        )
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.raw);
    for (body, internal) in [(STAFF_REPLY, false), (NOTE, true)] {
        let sent = app
            .staff_posts(&rivera, &conversation, body, internal)
            .await;
        assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.raw);
    }
    let detail = app.conversation(&rivera, &conversation).await;
    assert_eq!(detail["team"], "care_team", "{detail}");
    Story {
        conversation,
        alice,
        rivera,
        acknowledgment,
    }
}

async fn draft(app: &TestApp, staff: &Session, conversation: &str) -> http_tests::TestResponse {
    app.request(
        reqwest::Method::POST,
        &format!("/v1/conversations/{conversation}/handoff/summary"),
        Some(&staff.access_token),
        None,
    )
    .await
}

async fn timeline(app: &TestApp, staff: &Session, conversation: &str) -> Value {
    let response = app
        .get(&format!("/v1/conversations/{conversation}/messages"), staff)
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.raw);
    response.body
}

async fn hand_off(
    app: &TestApp,
    staff: &Session,
    conversation: &str,
    to: &str,
    summary: &str,
) -> Value {
    let response = app
        .post(
            &format!("/v1/conversations/{conversation}/handoff"),
            staff,
            json!({"to": to, "summary": summary}),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.raw);
    response.body
}

#[tokio::test]
async fn draft_then_edited_handoff_reaches_support_and_never_the_patient() {
    let app = TestApp::spawn().await;
    let story = story(&app).await;
    let (conversation, rivera) = (&story.conversation, &story.rivera);
    let before = (
        app.conversation(rivera, conversation).await,
        timeline(&app, rivera, conversation).await,
    );

    let drafted = draft(&app, rivera, conversation).await;
    assert_eq!(drafted.status, StatusCode::OK, "{}", drafted.raw);
    assert_eq!(drafted.body["generated_by"], "extractive");
    assert_eq!(drafted.body["model"], Value::Null);
    let summary = drafted.body["summary"].as_str().unwrap();
    for expected in [
        "Alice",
        TECH_PROBLEM,
        TRIED,
        ASK,
        STAFF_REPLY.split(',').next().unwrap(),
    ] {
        assert!(summary.contains(expected), "{expected} missing: {summary}");
    }
    assert!(!summary.contains("Moreno"), "{summary}");
    let after = (
        app.conversation(rivera, conversation).await,
        timeline(&app, rivera, conversation).await,
    );
    assert_eq!(before, after, "a draft changes nothing");

    let edited = format!("{summary}\nEdited by Dr. Rivera: please reset her app session.");
    let moved = hand_off(&app, rivera, conversation, "support", &edited).await;
    assert_eq!(moved["team"], "support");
    assert_eq!(
        (&moved["claimed_by"], &moved["assigned_to"]),
        (&Value::Null, &Value::Null)
    );

    let support = app.login("support@demo.test").await;
    let notes: Vec<Value> = timeline(&app, &support, conversation).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["kind"] == "internal_note")
        .cloned()
        .collect();
    assert!(
        notes.iter().any(|note| note["body"] == edited.as_str()),
        "Support sees the edited summary: {notes:?}"
    );
    assert!(
        !notes.iter().any(|note| note["body"] == summary),
        "the unedited draft was never stored"
    );

    let patient_view = app
        .get(
            &format!("/v1/patient/conversations/{conversation}/messages"),
            &story.alice,
        )
        .await;
    assert_eq!(patient_view.status, StatusCode::OK, "{}", patient_view.raw);
    assert!(!patient_view.raw.contains("Edited by Dr. Rivera"));
    assert!(!patient_view.raw.contains("Who: Alice"));

    let tab = app.get("/v1/conversations?tab=support", &support).await;
    assert_eq!(tab.status, StatusCode::OK, "{}", tab.raw);
    let listed = tab.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["id"] == conversation.as_str())
        .unwrap_or_else(|| panic!("not in the support tab: {}", tab.raw))
        .clone();
    assert_eq!(listed["claimed_by"], Value::Null);

    // Support drafts too, and hands it back: the care team's clinician gets it again.
    assert_eq!(
        draft(&app, &support, conversation).await.status,
        StatusCode::OK
    );
    let back = hand_off(
        &app,
        &support,
        conversation,
        "care_team",
        "App fixed; the knee stiffness question is still open.",
    )
    .await;
    assert_eq!(back["team"], "care_team");
    assert_eq!(back["assigned_to"]["id"], app.id_of(rivera).await.as_str());
    assert_eq!(back["assigned_to"]["display_name"], "Dr. Dana Rivera");
    assert_eq!(back["claimed_by"], Value::Null);
}

#[tokio::test]
async fn drafting_is_for_staff_who_may_see_the_conversation() {
    let app = TestApp::spawn().await;
    let story = story(&app).await;
    let conversation = &story.conversation;

    assert_eq!(
        draft(&app, &story.alice, conversation).await.problem_code(),
        "forbidden"
    );
    let support = app.login("support@demo.test").await;
    let other = app.login("doc@other.test").await;
    for (staff, target) in [
        (&support, conversation.clone()),
        (&other, conversation.clone()),
        (&story.rivera, uuid::Uuid::now_v7().to_string()),
        (&story.rivera, "not-a-uuid".to_owned()),
    ] {
        let refused = draft(&app, staff, &target).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.raw);
        assert_eq!(refused.problem_code(), "not_found");
    }
    let anonymous = app
        .request(
            reqwest::Method::POST,
            &format!("/v1/conversations/{conversation}/handoff/summary"),
            None,
            None,
        )
        .await;
    assert_eq!(anonymous.problem_code(), "unauthorized");

    let closed = app.staff_acts(&story.rivera, conversation, "close").await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.raw);
    let drafted = draft(&app, &story.rivera, conversation).await;
    assert_eq!(
        drafted.status,
        StatusCode::OK,
        "a closed thread can be drafted"
    );
    assert!(drafted.body["summary"]
        .as_str()
        .unwrap()
        .contains(TECH_PROBLEM));
}

/// A request the stub received.
#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// What the stub answers the n-th request (counting from 0) with.
enum Reply {
    Status(u16, Vec<(&'static str, &'static str)>, String),
    After(Duration, String),
}

fn completion(content: &str) -> String {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop"
        }]
    })
    .to_string()
}

/// A chat-completions server on a random port that records requests and answers each as the
/// script says. One thread per connection, so a slow answer does not hold up the next one.
struct Stub {
    base_url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Stub {
    fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        let script = Arc::new(script);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let recorded = Arc::clone(&recorded);
                let script = Arc::clone(&script);
                std::thread::spawn(move || {
                    let request = read_request(&stream);
                    let index = {
                        let mut all = recorded.lock().unwrap();
                        all.push(request);
                        all.len() - 1
                    };
                    // The client may have given up already; that is the point of some scripts.
                    let _ = answer(stream, script(index));
                });
            }
        });
        Stub { base_url, requests }
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    fn settings(&self, timeout: Duration) -> LlmSettings {
        LlmSettings {
            base_url: self.base_url.clone(),
            api_key: Some(SecretString::from("test-key")),
            model: "test-model".to_owned(),
            timeout,
        }
    }
}

fn read_request(stream: &TcpStream) -> Recorded {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap();
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, value)| value.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    Recorded {
        method,
        path,
        headers,
        body: String::from_utf8(body).unwrap(),
    }
}

fn answer(mut stream: TcpStream, reply: Reply) -> std::io::Result<()> {
    let (status, extra, body) = match reply {
        Reply::Status(status, extra, body) => (status, extra, body),
        Reply::After(delay, body) => {
            std::thread::sleep(delay);
            (200, Vec::new(), body)
        }
    };
    let mut head = format!(
        "HTTP/1.1 {status} Stub\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    stream.write_all(format!("{head}\r\n{body}").as_bytes())?;
    stream.flush()
}

async fn app_with_llm(stub: &Stub, timeout: Duration) -> TestApp {
    let llm = stub.settings(timeout);
    TestApp::spawn_with(move |settings| settings.llm = Some(llm)).await
}

#[tokio::test]
async fn llm_draft_sends_only_what_the_summary_needs() {
    let stub = Stub::start(|_| Reply::Status(200, Vec::new(), completion(LLM_SUMMARY)));
    let app = app_with_llm(&stub, Duration::from_secs(10)).await;
    let story = story(&app).await;

    let drafted = draft(&app, &story.rivera, &story.conversation).await;
    assert_eq!(drafted.status, StatusCode::OK, "{}", drafted.raw);
    assert_eq!(
        drafted.body,
        json!({"summary": LLM_SUMMARY, "generated_by": "llm", "model": "test-model"})
    );

    let requests = stub.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/v1/chat/completions")
    );
    assert_eq!(request.header("authorization"), Some("Bearer test-key"));
    assert!(request
        .header("content-type")
        .is_some_and(|value| value.starts_with("application/json")));
    let body: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(body["model"], "test-model");
    assert!((body["temperature"].as_f64().unwrap() - 0.2).abs() < 1e-6);
    let roles: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|message| message["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user"]);
    let user = body["messages"][1]["content"].as_str().unwrap();
    for sent in [
        FIRST_MESSAGE,
        TECH_PROBLEM,
        TRIED,
        ASK,
        STAFF_REPLY,
        "Alice",
    ] {
        assert!(user.contains(sent), "{sent} not sent: {user}");
    }

    let alice_id = app.id_of(&story.alice).await;
    let rivera_id = app.id_of(&story.rivera).await;
    let never_sent = [
        "Moreno",
        "alice@demo.test",
        "Rivera",
        alice_id.as_str(),
        rivera_id.as_str(),
        story.conversation.as_str(),
        NOTE,
        story.acknowledgment.as_str(),
    ];
    for secret in never_sent {
        assert!(!request.body.contains(secret), "{secret} was sent");
    }
}

#[tokio::test]
async fn llm_rate_limits_and_server_errors_are_retried() {
    let stub = Stub::start(|index| match index {
        0 => Reply::Status(429, vec![("Retry-After", "1")], "{}".to_owned()),
        1 => Reply::Status(503, Vec::new(), "overloaded".to_owned()),
        _ => Reply::Status(200, Vec::new(), completion(LLM_SUMMARY)),
    });
    let app = app_with_llm(&stub, Duration::from_secs(10)).await;
    let story = story(&app).await;

    let drafted = draft(&app, &story.rivera, &story.conversation).await;
    assert_eq!(drafted.body["generated_by"], "llm", "{}", drafted.raw);
    assert_eq!(drafted.body["summary"], LLM_SUMMARY);
    assert_eq!(stub.requests().len(), 3);
}

#[tokio::test]
async fn llm_that_keeps_failing_falls_back_after_bounded_retries() {
    let stub = Stub::start(|_| Reply::Status(500, Vec::new(), "{\"error\":\"boom\"}".to_owned()));
    let app = app_with_llm(&stub, Duration::from_secs(10)).await;
    let story = story(&app).await;

    let drafted = draft(&app, &story.rivera, &story.conversation).await;
    assert_eq!(drafted.status, StatusCode::OK, "{}", drafted.raw);
    assert_eq!(drafted.body["generated_by"], "extractive");
    assert_eq!(drafted.body["model"], Value::Null);
    assert!(drafted.body["summary"]
        .as_str()
        .unwrap()
        .contains(TECH_PROBLEM));
    assert_eq!(stub.requests().len(), 1 + MAX_RETRIES as usize);
}

#[tokio::test]
async fn slow_llm_falls_back_within_the_timeout() {
    let stub = Stub::start(|_| Reply::After(Duration::from_secs(5), completion(LLM_SUMMARY)));
    let app = app_with_llm(&stub, Duration::from_secs(1)).await;
    let story = story(&app).await;

    let started = Instant::now();
    let drafted = draft(&app, &story.rivera, &story.conversation).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(drafted.status, StatusCode::OK, "{}", drafted.raw);
    assert_eq!(drafted.body["generated_by"], "extractive");
    assert_eq!(stub.requests().len(), 1, "a timeout is not retried");
}

#[tokio::test]
async fn malformed_or_empty_llm_answers_fall_back() {
    let stub = Stub::start(|index| match index {
        0 => Reply::Status(200, Vec::new(), "<html>gateway</html>".to_owned()),
        1 => Reply::Status(200, Vec::new(), json!({"choices": []}).to_string()),
        2 => Reply::Status(200, Vec::new(), completion("  \n ")),
        _ => Reply::Status(400, Vec::new(), "{\"error\":\"bad model\"}".to_owned()),
    });
    let app = app_with_llm(&stub, Duration::from_secs(10)).await;
    let story = story(&app).await;

    for attempt in 0..4 {
        let drafted = draft(&app, &story.rivera, &story.conversation).await;
        assert_eq!(drafted.status, StatusCode::OK, "{}", drafted.raw);
        assert_eq!(
            drafted.body["generated_by"], "extractive",
            "answer {attempt}"
        );
    }
    assert_eq!(stub.requests().len(), 4, "a 400 is not retried");
}

#[tokio::test]
async fn unreachable_llm_falls_back() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let llm = LlmSettings {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        api_key: None,
        model: "test-model".to_owned(),
        timeout: Duration::from_secs(5),
    };
    let app = TestApp::spawn_with(move |settings| settings.llm = Some(llm)).await;
    let story = story(&app).await;

    let drafted = draft(&app, &story.rivera, &story.conversation).await;
    assert_eq!(drafted.status, StatusCode::OK, "{}", drafted.raw);
    assert_eq!(drafted.body["generated_by"], "extractive");
}
