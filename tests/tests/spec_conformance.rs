//! The published spec describes what the server really answers. The demo workflow — every role
//! signing in, patients writing, staff working every tab, claims and their conflicts, handoffs,
//! administration, and the error cases — goes through the server, and every response is checked
//! against `openapi/openapi.json`: its status must be one the operation documents, with that
//! content type, and its body must validate against the documented schema.
//!
//! The schemas are checked strictly: in this test's copy of the spec every object schema with
//! `properties` and no `additionalProperties` admits no other member, so a field the server sends
//! but the spec does not list fails here. (Problem documents keep their extension members.)

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use http_tests::{TestApp, TestResponse};
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};

const SPEC: &str = include_str!("../../openapi/openapi.json");
/// Suffix of the copies of component schemas left open, for use as `allOf` members.
const OPEN: &str = "__open";
/// Operations the workflow does not call, with the reason.
const NOT_EXERCISED: [(&str, &str); 1] = [(
    "streamEvents",
    "a server-sent event stream stays open; its own tests cover it",
)];

/// The spec, made strict, with a cache of compiled validators.
struct Spec {
    document: Value,
    components: Value,
    validators: Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>,
}

/// An operation of the spec a request matched.
struct Matched<'s> {
    template: &'s str,
    operation: Option<&'s Value>,
    methods: Vec<String>,
}

impl Spec {
    fn load() -> Spec {
        let document: Value = serde_json::from_str(SPEC).expect("the committed spec is JSON");
        let mut schemas = Map::new();
        for (name, schema) in document["components"]["schemas"]
            .as_object()
            .expect("component schemas")
        {
            schemas.insert(name.clone(), strict(schema, true));
            schemas.insert(format!("{name}{OPEN}"), strict(schema, false));
        }
        Spec {
            components: json!({ "schemas": schemas }),
            document,
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// The path template a request path falls under; literal segments win over parameters.
    fn find(&self, method: &Method, path: &str) -> Option<Matched<'_>> {
        let parts: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
        let (template, item) = self.document["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .filter_map(|(template, item)| {
                let segments: Vec<&str> = template
                    .split('/')
                    .filter(|part| !part.is_empty())
                    .collect();
                if segments.len() != parts.len() {
                    return None;
                }
                let mut literals = 0;
                for (segment, part) in segments.iter().zip(&parts) {
                    if segment.starts_with('{') {
                        continue;
                    }
                    if segment != part {
                        return None;
                    }
                    literals += 1;
                }
                Some((literals, template, item))
            })
            .max_by_key(|(literals, _, _)| *literals)
            .map(|(_, template, item)| (template, item))?;
        let methods = item
            .as_object()
            .expect("a path item")
            .keys()
            .map(|method| method.to_uppercase())
            .collect();
        Some(Matched {
            template,
            operation: item.get(method.as_str().to_lowercase()),
            methods,
        })
    }

    /// Errors of `instance` against `schema` (a schema of the spec, refs into its components).
    fn errors(&self, schema: &Value, instance: &Value) -> Vec<String> {
        let key = schema.to_string();
        let validator = {
            let mut validators = self.validators.lock().expect("the validator cache");
            validators
                .entry(key)
                .or_insert_with(|| {
                    let mut root = strict(schema, true)
                        .as_object()
                        .cloned()
                        .expect("a schema object");
                    root.insert("components".to_owned(), self.components.clone());
                    let validator = jsonschema::draft202012::options()
                        .should_validate_formats(true)
                        .build(&Value::Object(root))
                        .unwrap_or_else(|error| panic!("schema {schema} compiles: {error}"));
                    std::sync::Arc::new(validator)
                })
                .clone()
        };
        validator
            .iter_errors(instance)
            .map(|error| format!("{}: {error}", error.instance_path()))
            .collect()
    }

    fn problem_schema() -> Value {
        json!({"$ref": "#/components/schemas/Problem"})
    }
}

/// `schema` with every object schema that lists `properties` closed to other members
/// (`additionalProperties: false`; `unevaluatedProperties: false` on an `allOf`, whose members
/// stay open so that each may hold the others' members). `close` is false for the top level of
/// an `allOf` member.
fn strict(schema: &Value, close: bool) -> Value {
    let Value::Object(original) = schema else {
        return schema.clone();
    };
    let mut map = original.clone();
    if let Some(Value::Array(members)) = original.get("allOf") {
        let members = members
            .iter()
            .map(|member| match member.get("$ref").and_then(Value::as_str) {
                Some(reference) => json!({ "$ref": format!("{reference}{OPEN}") }),
                None => strict(member, false),
            })
            .collect();
        map.insert("allOf".to_owned(), Value::Array(members));
        if close && !map.contains_key("unevaluatedProperties") {
            map.insert("unevaluatedProperties".to_owned(), Value::Bool(false));
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(members)) = original.get(key) {
            let members = members.iter().map(|member| strict(member, true)).collect();
            map.insert(key.to_owned(), Value::Array(members));
        }
    }
    if let Some(Value::Object(properties)) = original.get("properties") {
        let properties = properties
            .iter()
            .map(|(name, property)| (name.clone(), strict(property, true)))
            .collect();
        map.insert("properties".to_owned(), Value::Object(properties));
        if close && !original.contains_key("additionalProperties") {
            map.insert("additionalProperties".to_owned(), Value::Bool(false));
        }
    }
    if let Some(items) = original.get("items") {
        map.insert("items".to_owned(), strict(items, true));
    }
    if let Some(additional @ Value::Object(_)) = original.get("additionalProperties") {
        map.insert("additionalProperties".to_owned(), strict(additional, true));
    }
    Value::Object(map)
}

/// A server under test whose every answer is checked against the spec.
struct Checked {
    app: TestApp,
    spec: Spec,
    /// Statuses seen per operation id.
    seen: Mutex<BTreeMap<String, BTreeSet<u16>>>,
}

/// A signed-in account of the workflow.
struct Login {
    token: String,
    refresh_token: String,
    id: String,
}

impl Checked {
    async fn spawn() -> Checked {
        Checked {
            app: TestApp::spawn().await,
            spec: Spec::load(),
            seen: Mutex::new(BTreeMap::new()),
        }
    }

    /// Sends a JSON request (or none) and checks the answer; returns it for the story's own
    /// assertions.
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> TestResponse {
        let response = self
            .app
            .request(method.clone(), path, token, body.clone())
            .await;
        self.check(&method, path, body.as_ref(), &response);
        response
    }

    /// Sends raw bytes with a content type (malformed or oversize bodies) and checks the answer.
    async fn call_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> TestResponse {
        let response = self.app.post_raw(path, token, content_type, body).await;
        self.check(&Method::POST, path, None, &response);
        response
    }

    async fn get(&self, path: &str, login: &Login) -> TestResponse {
        self.call(Method::GET, path, Some(&login.token), None).await
    }

    async fn post(&self, path: &str, login: &Login, body: Value) -> TestResponse {
        self.call(Method::POST, path, Some(&login.token), Some(body))
            .await
    }

    /// `POST` without a body: the conversation actions.
    async fn act(&self, path: &str, login: &Login) -> TestResponse {
        self.call(Method::POST, path, Some(&login.token), None)
            .await
    }

    async fn login(&self, email: &str) -> Login {
        let response = self
            .call(
                Method::POST,
                "/v1/auth/token",
                None,
                Some(json!({"email": email, "password": http_tests::DEMO_PASSWORD})),
            )
            .await;
        assert_status(&response, StatusCode::OK);
        let token = response.body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        let refresh_token = response.body["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned();
        let me = self.call(Method::GET, "/v1/me", Some(&token), None).await;
        assert_status(&me, StatusCode::OK);
        Login {
            token,
            refresh_token,
            id: http_tests::id(&me.body),
        }
    }

    /// The answer is one the spec documents, and the request was one it describes.
    fn check(&self, method: &Method, path: &str, request: Option<&Value>, response: &TestResponse) {
        let path_only = path.split('?').next().unwrap_or(path);
        let name = format!("{method} {path} → {}", response.status);
        let media_type = response
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .unwrap_or_default()
            .trim()
            .to_owned();
        let Some(matched) = self.spec.find(method, path_only) else {
            // No path of the API: the fallback's problem document.
            assert_eq!(response.status, StatusCode::NOT_FOUND, "{name}");
            self.assert_problem(&name, &media_type, response);
            return;
        };
        let Some(operation) = matched.operation else {
            // A path of the API under another method: 405 naming the allowed ones.
            assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED, "{name}");
            self.assert_problem(&name, &media_type, response);
            let allow = response
                .headers
                .get(reqwest::header::ALLOW)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            for method in &matched.methods {
                assert!(
                    allow.contains(method.as_str()),
                    "{name}: Allow `{allow}` lacks {method}"
                );
            }
            return;
        };
        let operation_id = operation["operationId"].as_str().expect("an operationId");
        let name = format!(
            "{operation_id} ({} {}) → {}",
            method, matched.template, response.status
        );
        self.seen
            .lock()
            .expect("the coverage record")
            .entry(operation_id.to_owned())
            .or_default()
            .insert(response.status.as_u16());
        let documented = &operation["responses"][response.status.as_str()];
        assert!(
            documented.is_object(),
            "{name}: the status is not documented (documented: {:?}); body: {}",
            operation["responses"]
                .as_object()
                .map(|responses| responses.keys().collect::<Vec<_>>()),
            response.raw
        );
        let content = documented["content"].as_object();
        let Some(content) = content.filter(|content| !content.is_empty()) else {
            assert!(
                response.raw.is_empty(),
                "{name}: an undocumented body: {}",
                response.raw
            );
            return;
        };
        let Some(media) = content.get(&media_type) else {
            panic!(
                "{name}: content type `{media_type}` is not documented (documented: {:?})",
                content.keys().collect::<Vec<_>>()
            );
        };
        let instance = if media_type.ends_with("json") {
            serde_json::from_str(&response.raw).unwrap_or_else(|error| {
                panic!("{name}: the body is not JSON ({error}): {}", response.raw)
            })
        } else {
            Value::String(response.raw.clone())
        };
        let errors = self.spec.errors(&media["schema"], &instance);
        assert!(
            errors.is_empty(),
            "{name}: the body does not match the documented schema:\n  {}\nbody: {}",
            errors.join("\n  "),
            response.raw
        );
        if response.status.is_success() {
            if let Some(request) = request {
                let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
                assert!(
                    schema.is_object(),
                    "{name}: a body the spec does not describe"
                );
                let errors = self.spec.errors(schema, request);
                assert!(
                    errors.is_empty(),
                    "{name}: the server accepted a request body its schema refuses:\n  {}\nrequest: {request}",
                    errors.join("\n  ")
                );
            }
        }
    }

    fn assert_problem(&self, name: &str, media_type: &str, response: &TestResponse) {
        assert_eq!(
            media_type, "application/problem+json",
            "{name}: {}",
            response.raw
        );
        let errors = self.spec.errors(&Spec::problem_schema(), &response.body);
        assert!(errors.is_empty(), "{name}: {errors:?}: {}", response.raw);
    }

    /// Every operation of the spec was called, bar the listed ones.
    fn assert_every_operation_exercised(&self) {
        let seen = self.seen.lock().expect("the coverage record");
        let mut missing = Vec::new();
        for item in self.spec.document["paths"]
            .as_object()
            .expect("paths")
            .values()
        {
            for operation in item.as_object().expect("a path item").values() {
                let id = operation["operationId"].as_str().expect("an operationId");
                let skipped = NOT_EXERCISED.iter().any(|(skipped, _)| *skipped == id);
                if !skipped && !seen.contains_key(id) {
                    missing.push(id.to_owned());
                }
            }
        }
        assert!(
            missing.is_empty(),
            "operations the workflow never called: {missing:?}; add them to the story"
        );
    }
}

#[track_caller]
fn assert_status(response: &TestResponse, status: StatusCode) {
    assert_eq!(response.status, status, "{}", response.raw);
}

#[track_caller]
fn expect_problem(response: &TestResponse, status: StatusCode, code: &str) {
    assert_status(response, status);
    assert_eq!(response.problem_code(), code, "{}", response.raw);
}

fn str_of<'v>(value: &'v Value, pointer: &str) -> &'v str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} in {value}"))
}

#[tokio::test]
async fn the_demo_workflow_answers_only_what_the_spec_documents() {
    let server = Checked::spawn().await;

    // Health, for load balancers; no token.
    for path in ["/healthz", "/readyz", "/metrics"] {
        let response = server.call(Method::GET, path, None, None).await;
        assert_status(&response, StatusCode::OK);
    }

    // Every role signs in; a wrong password does not.
    let admin = server.login("admin@demo.test").await;
    let rivera = server.login("rivera@demo.test").await;
    let patel = server.login("patel@demo.test").await;
    let kim = server.login("kim@demo.test").await;
    let support = server.login("support@demo.test").await;
    let alice = server.login("alice@demo.test").await;
    let bob = server.login("bob@demo.test").await;
    let carol = server.login("carol@other.test").await;
    let wrong = server
        .call(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({"email": "rivera@demo.test", "password": "not-the-password"})),
        )
        .await;
    expect_problem(&wrong, StatusCode::UNAUTHORIZED, "invalid_credentials");

    // Refresh rotates; the spent token is refused.
    let refreshed = server
        .call(
            Method::POST,
            "/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": kim.refresh_token})),
        )
        .await;
    assert_status(&refreshed, StatusCode::OK);
    let spent = server
        .call(
            Method::POST,
            "/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": kim.refresh_token})),
        )
        .await;
    expect_problem(&spent, StatusCode::UNAUTHORIZED, "unauthorized");

    // Patients start conversations: clinical, billing, urgent; a retry is the original.
    let clinical_send = json!({
        "body": "My knee is still swollen after the exercises. Should I keep icing it?",
        "client_message_id": "alice-knee-1"
    });
    let clinical = server
        .post("/v1/patient/conversations", &alice, clinical_send.clone())
        .await;
    assert_status(&clinical, StatusCode::CREATED);
    let retried = server
        .post("/v1/patient/conversations", &alice, clinical_send)
        .await;
    assert_status(&retried, StatusCode::OK);
    let reused = server
        .post(
            "/v1/patient/conversations",
            &alice,
            json!({"body": "Something else entirely", "client_message_id": "alice-knee-1"}),
        )
        .await;
    expect_problem(&reused, StatusCode::CONFLICT, "idempotency_key_reused");
    let clinical_id = str_of(&clinical.body, "/conversation/id").to_owned();
    let billing = server
        .post(
            "/v1/patient/conversations",
            &bob,
            json!({"body": "I was charged twice for my copay this month. Can I get a refund?"}),
        )
        .await;
    assert_status(&billing, StatusCode::CREATED);
    let billing_id = str_of(&billing.body, "/conversation/id").to_owned();
    let urgent = server
        .post(
            "/v1/patient/conversations",
            &alice,
            json!({"body": "I have crushing chest pain and I can't breathe properly"}),
        )
        .await;
    assert_status(&urgent, StatusCode::CREATED);
    let urgent_id = str_of(&urgent.body, "/conversation/id").to_owned();

    // The patient app: lists (paged), reads, writes; others' conversations are not found.
    let first_page = server
        .get("/v1/patient/conversations?limit=1", &alice)
        .await;
    assert_status(&first_page, StatusCode::OK);
    let cursor = str_of(&first_page.body, "/next_cursor").to_owned();
    let second_page = server
        .get(
            &format!("/v1/patient/conversations?limit=1&cursor={cursor}"),
            &alice,
        )
        .await;
    assert_status(&second_page, StatusCode::OK);
    let bad_limit = server
        .get("/v1/patient/conversations?limit=0", &alice)
        .await;
    expect_problem(&bad_limit, StatusCode::BAD_REQUEST, "invalid_request");
    let messages = server
        .get(
            &format!("/v1/patient/conversations/{clinical_id}/messages"),
            &alice,
        )
        .await;
    assert_status(&messages, StatusCode::OK);
    let read = server
        .act(
            &format!("/v1/patient/conversations/{clinical_id}/read"),
            &alice,
        )
        .await;
    assert_status(&read, StatusCode::NO_CONTENT);
    let posted = server
        .post(
            &format!("/v1/patient/conversations/{clinical_id}/messages"),
            &alice,
            json!({"body": "It is a bit better today.", "client_message_id": "alice-knee-2"}),
        )
        .await;
    assert_status(&posted, StatusCode::CREATED);
    let not_hers = server
        .get(
            &format!("/v1/patient/conversations/{billing_id}/messages"),
            &alice,
        )
        .await;
    expect_problem(&not_hers, StatusCode::NOT_FOUND, "not_found");
    let malformed_id = server
        .get("/v1/patient/conversations/not-a-uuid/messages", &alice)
        .await;
    expect_problem(&malformed_id, StatusCode::NOT_FOUND, "not_found");
    let not_staff = server.get("/v1/conversations", &alice).await;
    expect_problem(&not_staff, StatusCode::FORBIDDEN, "forbidden");
    let not_patient = server.get("/v1/patient/conversations", &rivera).await;
    expect_problem(&not_patient, StatusCode::FORBIDDEN, "forbidden");

    // The staff inbox: every tab, search and filters, counts.
    for tab in ["assigned", "my_clinic", "support", "closed"] {
        for login in [&rivera, &support] {
            let page = server
                .get(&format!("/v1/conversations?tab={tab}"), login)
                .await;
            assert_status(&page, StatusCode::OK);
        }
    }
    let searched = server
        .get("/v1/conversations?tab=assigned&q=knee%20swollen", &rivera)
        .await;
    assert_status(&searched, StatusCode::OK);
    assert!(
        searched.body["items"][0]["snippet"].is_string(),
        "a search result carries a snippet: {}",
        searched.raw
    );
    let urgent_only = server
        .get(
            "/v1/conversations?tab=support&urgent=true&limit=5",
            &support,
        )
        .await;
    assert_status(&urgent_only, StatusCode::OK);
    let alice_id = str_of(&clinical.body, "/message/author/id").to_owned();
    let by_patient = server
        .get(
            &format!("/v1/conversations?tab=closed&patient_id={alice_id}"),
            &admin,
        )
        .await;
    assert_status(&by_patient, StatusCode::OK);
    for bad in [
        "tab=archive",
        "limit=500",
        "cursor=garbage",
        "urgent=maybe",
        "patient_id=nope",
    ] {
        let refused = server
            .get(&format!("/v1/conversations?{bad}"), &rivera)
            .await;
        expect_problem(&refused, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let counts = server.get("/v1/inbox/counts", &rivera).await;
    assert_status(&counts, StatusCode::OK);

    // One conversation: detail and timeline; another organization's is not found.
    let detail = server
        .get(&format!("/v1/conversations/{clinical_id}"), &rivera)
        .await;
    assert_status(&detail, StatusCode::OK);
    let timeline = server
        .get(&format!("/v1/conversations/{urgent_id}/messages"), &support)
        .await;
    assert_status(&timeline, StatusCode::OK);
    let read = server
        .act(&format!("/v1/conversations/{urgent_id}/read"), &support)
        .await;
    assert_status(&read, StatusCode::NO_CONTENT);
    let other_org = server
        .get(
            &format!("/v1/conversations/{clinical_id}"),
            &server.login("doc@other.test").await,
        )
        .await;
    expect_problem(&other_org, StatusCode::NOT_FOUND, "not_found");

    // Claims: the caller holds it; a colleague is refused with the holder's name.
    let claim = format!("/v1/conversations/{clinical_id}/claim");
    assert_status(&server.act(&claim, &rivera).await, StatusCode::OK);
    assert_status(&server.act(&claim, &rivera).await, StatusCode::OK);
    let taken = server.act(&claim, &patel).await;
    expect_problem(&taken, StatusCode::CONFLICT, "conversation_claimed");
    assert!(
        taken.body["claimed_by"]["display_name"].is_string(),
        "{}",
        taken.raw
    );

    // Reply, internal note, a colleague's refused reply.
    let thread = format!("/v1/conversations/{clinical_id}/messages");
    let reply = server
        .post(
            &thread,
            &rivera,
            json!({"body": "Keep icing for two more days, then switch to heat."}),
        )
        .await;
    assert_status(&reply, StatusCode::CREATED);
    let note = server
        .post(
            &thread,
            &patel,
            json!({"body": "Checked the exercise plan; fine.", "internal": true}),
        )
        .await;
    assert_status(&note, StatusCode::CREATED);
    let refused = server
        .post(&thread, &patel, json!({"body": "Hello from me too"}))
        .await;
    expect_problem(&refused, StatusCode::CONFLICT, "conversation_claimed");

    // Release (holder only), close (twice), reply to closed, reopen.
    let release = format!("/v1/conversations/{clinical_id}/release");
    expect_problem(
        &server.act(&release, &patel).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_status(&server.act(&release, &rivera).await, StatusCode::OK);
    let close = format!("/v1/conversations/{clinical_id}/close");
    assert_status(&server.act(&close, &rivera).await, StatusCode::OK);
    assert_status(&server.act(&close, &rivera).await, StatusCode::OK);
    let closed = server
        .post(&thread, &rivera, json!({"body": "One more thing"}))
        .await;
    expect_problem(&closed, StatusCode::CONFLICT, "conversation_closed");
    assert_status(
        &server
            .act(&format!("/v1/conversations/{clinical_id}/reopen"), &rivera)
            .await,
        StatusCode::OK,
    );

    // Handoff: the draft, the confirmed send, and a second send to the same team.
    let draft = server
        .act(
            &format!("/v1/conversations/{clinical_id}/handoff/summary"),
            &rivera,
        )
        .await;
    assert_status(&draft, StatusCode::OK);
    let handoff = format!("/v1/conversations/{clinical_id}/handoff");
    let summary = json!({"to": "support", "summary": str_of(&draft.body, "/summary")});
    assert_status(
        &server.post(&handoff, &rivera, summary.clone()).await,
        StatusCode::OK,
    );
    let again = server.post(&handoff, &rivera, summary).await;
    expect_problem(&again, StatusCode::CONFLICT, "conflict");
    let detail = server
        .get(&format!("/v1/conversations/{clinical_id}"), &support)
        .await;
    assert_status(&detail, StatusCode::OK);
    assert_eq!(
        detail.body["handoffs"].as_array().map(Vec::len),
        Some(1),
        "{}",
        detail.raw
    );

    // Staff start a conversation; the patient must be theirs.
    let bob_id = str_of(&billing.body, "/message/author/id").to_owned();
    let started = server
        .post(
            "/v1/conversations",
            &kim,
            json!({"patient_id": bob_id, "body": "Hi Bob, how did this week's sessions go?"}),
        )
        .await;
    assert_status(&started, StatusCode::CREATED);
    let carol_id = carol.id.clone();
    let foreign = server
        .post(
            "/v1/conversations",
            &kim,
            json!({"patient_id": carol_id, "body": "Hello"}),
        )
        .await;
    expect_problem(&foreign, StatusCode::NOT_FOUND, "not_found");

    // Routing preview for staff.
    let preview = server
        .post(
            "/v1/routing/preview",
            &support,
            json!({"body": "I can't log in to the app and I also have chest pain"}),
        )
        .await;
    assert_status(&preview, StatusCode::OK);

    // Patients: search and one patient; another organization's is not found.
    let found = server.get("/v1/patients?q=ali", &rivera).await;
    assert_status(&found, StatusCode::OK);
    let all = server.get("/v1/patients?limit=1", &rivera).await;
    assert_status(&all, StatusCode::OK);
    let patient = server
        .get(&format!("/v1/patients/{alice_id}"), &rivera)
        .await;
    assert_status(&patient, StatusCode::OK);
    let foreign = server
        .get(&format!("/v1/patients/{carol_id}"), &rivera)
        .await;
    expect_problem(&foreign, StatusCode::NOT_FOUND, "not_found");

    // Administration: staff and patients.
    let staff = server.get("/v1/staff?limit=2", &admin).await;
    assert_status(&staff, StatusCode::OK);
    let next = str_of(&staff.body, "/next_cursor").to_owned();
    assert_status(
        &server
            .get(&format!("/v1/staff?cursor={next}"), &admin)
            .await,
        StatusCode::OK,
    );
    let new_staff = json!({
        "name": "Dr. Sam Okafor",
        "email": "okafor@demo.test",
        "password": "a-long-first-password",
        "role": "clinician"
    });
    let created = server.post("/v1/staff", &admin, new_staff.clone()).await;
    assert_status(&created, StatusCode::CREATED);
    let duplicate = server.post("/v1/staff", &admin, new_staff.clone()).await;
    expect_problem(&duplicate, StatusCode::CONFLICT, "conflict");
    let not_admin = server.post("/v1/staff", &rivera, new_staff).await;
    expect_problem(&not_admin, StatusCode::FORBIDDEN, "forbidden");
    let okafor = http_tests::id(&created.body);
    let patched = server
        .call(
            Method::PATCH,
            &format!("/v1/staff/{okafor}"),
            Some(&admin.token),
            Some(json!({"name": "Dr. Samuel Okafor", "role": "coach"})),
        )
        .await;
    assert_status(&patched, StatusCode::OK);
    let self_lockout = server
        .call(
            Method::PATCH,
            &format!("/v1/staff/{}", admin.id),
            Some(&admin.token),
            Some(json!({"active": false})),
        )
        .await;
    expect_problem(&self_lockout, StatusCode::CONFLICT, "conflict");
    let new_patient = server
        .post(
            "/v1/patients",
            &admin,
            json!({
                "name": "Dana Whitfield",
                "email": "dana.whitfield@example.com",
                "password": "a-long-first-password",
                "external_id": "MRN-004212",
                "assigned_clinician_id": rivera.id
            }),
        )
        .await;
    assert_status(&new_patient, StatusCode::CREATED);
    let dana = http_tests::id(&new_patient.body);
    let unassigned = server
        .call(
            Method::PATCH,
            &format!("/v1/patients/{dana}"),
            Some(&admin.token),
            Some(json!({"assigned_clinician_id": null, "external_id": "MRN-004299"})),
        )
        .await;
    assert_status(&unassigned, StatusCode::OK);
    let not_a_clinician = server
        .call(
            Method::PATCH,
            &format!("/v1/patients/{dana}"),
            Some(&admin.token),
            Some(json!({"assigned_clinician_id": support.id})),
        )
        .await;
    expect_problem(
        &not_a_clinician,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    // Routing rules and acknowledgment texts: read, write back, refuse invalid ones.
    let rules = server.get("/v1/routing/rules", &admin).await;
    assert_status(&rules, StatusCode::OK);
    let replaced = server
        .call(
            Method::PUT,
            "/v1/routing/rules",
            Some(&admin.token),
            Some(rules.body.clone()),
        )
        .await;
    assert_status(&replaced, StatusCode::OK);
    let invalid_rules = server
        .call(
            Method::PUT,
            "/v1/routing/rules",
            Some(&admin.token),
            Some(json!({"version": 1, "rules": []})),
        )
        .await;
    expect_problem(
        &invalid_rules,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let texts = server.get("/v1/settings/acknowledgments", &admin).await;
    assert_status(&texts, StatusCode::OK);
    let stored = server
        .call(
            Method::PUT,
            "/v1/settings/acknowledgments",
            Some(&admin.token),
            Some(json!({
                "standard": "Thanks! Your care team will reply within one business day.",
                "urgent": "We flagged this as urgent. In an emergency call 911 now."
            })),
        )
        .await;
    assert_status(&stored, StatusCode::OK);
    let no_advice = server
        .call(
            Method::PUT,
            "/v1/settings/acknowledgments",
            Some(&admin.token),
            Some(json!({"standard": "Thanks!", "urgent": "We will get back to you."})),
        )
        .await;
    expect_problem(
        &no_advice,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    // The organization's webhook: none yet, then one (inactive, so nothing is delivered), and
    // its deliveries.
    let no_webhook = server.get("/v1/settings/webhook", &admin).await;
    expect_problem(&no_webhook, StatusCode::NOT_FOUND, "not_found");
    let webhook = server
        .call(
            Method::PUT,
            "/v1/settings/webhook",
            Some(&admin.token),
            Some(json!({
                "url": "https://hooks.example.com/inbox",
                "secret": "a-long-webhook-secret",
                "active": false
            })),
        )
        .await;
    assert_status(&webhook, StatusCode::OK);
    assert_status(
        &server.get("/v1/settings/webhook", &admin).await,
        StatusCode::OK,
    );
    assert_status(
        &server.get("/v1/admin/webhook-deliveries", &admin).await,
        StatusCode::OK,
    );

    // The audit trail of all this.
    let audit = server.get("/v1/audit?limit=20", &admin).await;
    assert_status(&audit, StatusCode::OK);

    // Failures of every kind, each a documented problem.
    let no_token = server
        .call(Method::GET, "/v1/conversations", None, None)
        .await;
    expect_problem(&no_token, StatusCode::UNAUTHORIZED, "unauthorized");
    let bad_token = server
        .call(Method::GET, "/v1/me", Some("not-a-jwt"), None)
        .await;
    expect_problem(&bad_token, StatusCode::UNAUTHORIZED, "unauthorized");
    let unknown_path = server.get("/v1/nothing-here", &rivera).await;
    expect_problem(&unknown_path, StatusCode::NOT_FOUND, "not_found");
    let wrong_method = server
        .call(
            Method::DELETE,
            &format!("/v1/conversations/{billing_id}"),
            Some(&admin.token),
            None,
        )
        .await;
    expect_problem(
        &wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    let huge = serde_json::to_vec(&json!({"body": "a".repeat(100 * 1024)})).expect("JSON");
    let too_large = server
        .call_raw(&thread, Some(&rivera.token), "application/json", huge)
        .await;
    expect_problem(
        &too_large,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    let not_json = server
        .call_raw(
            &thread,
            Some(&rivera.token),
            "text/plain",
            b"hello".to_vec(),
        )
        .await;
    expect_problem(
        &not_json,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let malformed = server
        .call_raw(
            "/v1/patient/conversations",
            Some(&alice.token),
            "application/json",
            b"{\"body\": ".to_vec(),
        )
        .await;
    expect_problem(&malformed, StatusCode::BAD_REQUEST, "invalid_request");
    let unknown_field = server
        .post(
            "/v1/patient/conversations",
            &alice,
            json!({"body": "Hello", "urgent": true}),
        )
        .await;
    expect_problem(
        &unknown_field,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let blank = server
        .post(
            &format!("/v1/conversations/{urgent_id}/messages"),
            &support,
            json!({"body": "   "}),
        )
        .await;
    expect_problem(
        &blank,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    server.assert_every_operation_exercised();
}

#[test]
fn every_operation_says_what_it_does_and_every_way_it_fails() {
    let spec = Spec::load();
    let declared_tags: BTreeSet<&str> = spec.document["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|tag| tag["name"].as_str())
        .collect();
    let without_database = ["getHealth", "getMetrics"];
    for (path, item) in spec.document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let id = operation["operationId"].as_str().unwrap_or_default();
            let name = format!("{id} ({method} {path})");
            let summary = operation["summary"].as_str().unwrap_or_default();
            assert!(
                !summary.is_empty() && !summary.contains('\n') && summary.len() <= 90,
                "{name}: a one-line summary, not `{summary}`"
            );
            assert!(
                operation["description"]
                    .as_str()
                    .is_some_and(|text| !text.is_empty()),
                "{name}: a description"
            );
            for tag in operation["tags"].as_array().expect("tags") {
                let tag = tag.as_str().unwrap_or_default();
                assert!(declared_tags.contains(tag), "{name}: undeclared tag {tag}");
            }
            let responses = operation["responses"].as_object().expect("responses");
            let mut expected: Vec<&str> = Vec::new();
            if operation["security"]
                .as_array()
                .is_some_and(|schemes| !schemes.is_empty())
            {
                expected.push("401");
            }
            if operation.get("requestBody").is_some() {
                expected.extend(["400", "413", "415", "422"]);
            }
            if path.contains('{') {
                expected.push("404");
            }
            if !without_database.contains(&id) {
                expected.extend(["500", "503"]);
            }
            for status in expected {
                assert!(responses.contains_key(status), "{name}: documents {status}");
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/problem+json"]["schema"],
                        Spec::problem_schema(),
                        "{name}: {status} is a problem document"
                    );
                }
            }
            for status in ["429", "503"] {
                if let Some(response) = responses.get(status) {
                    assert!(
                        response["headers"]["Retry-After"].is_object(),
                        "{name}: {status} documents Retry-After"
                    );
                }
            }
        }
    }
}

#[test]
fn every_example_of_the_spec_matches_its_schema() {
    let spec = Spec::load();
    let mut checked = 0;
    for (name, schema) in spec.document["components"]["schemas"]
        .as_object()
        .expect("component schemas")
    {
        let Some(example) = schema.get("example") else {
            continue;
        };
        let reference = json!({ "$ref": format!("#/components/schemas/{name}") });
        let errors = spec.errors(&reference, example);
        assert!(errors.is_empty(), "the example of {name}: {errors:?}");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} schemas have examples");
}

#[test]
fn strictness_closes_objects_but_keeps_composition_working() {
    let spec = Spec::load();
    let summary = json!({"$ref": "#/components/schemas/PersonRef"});
    let person = json!({"id": "0193a7b0-0000-7000-8000-000000000001", "display_name": "A"});
    assert!(spec.errors(&summary, &person).is_empty());
    let mut extra = person.clone();
    extra["secret"] = json!("leak");
    assert!(
        !spec.errors(&summary, &extra).is_empty(),
        "an unlisted field is caught"
    );
    let mut bad_id = person;
    bad_id["id"] = json!("not-a-uuid");
    assert!(
        !spec.errors(&summary, &bad_id).is_empty(),
        "formats are checked"
    );
    let problem = json!({
        "type": "https://inbox.xrhealth.example/problems/conversation-claimed",
        "title": "t", "status": 409, "detail": "d", "code": "conversation_claimed",
        "claimed_by": {"id": "x", "display_name": "y"}
    });
    assert!(
        spec.errors(&Spec::problem_schema(), &problem).is_empty(),
        "problems keep extensions"
    );
}
