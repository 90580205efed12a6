//! The published OpenAPI document: committed, current, served, and complete enough to generate
//! clients from.

use http_tests::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::Value;

const COMMITTED: &str = include_str!("../../openapi/openapi.json");
const PUBLIC_OPERATIONS: [&str; 5] = [
    "getHealth",
    "getReadiness",
    "getMetrics",
    "issueToken",
    "refreshToken",
];

#[test]
fn committed_spec_is_current() {
    let current = api::openapi::document_json().unwrap();
    assert!(
        current == COMMITTED,
        "openapi/openapi.json is stale: run `cargo run -p api --bin inbox -- openapi > openapi/openapi.json`"
    );
}

#[tokio::test]
async fn served_spec_is_the_committed_one() {
    let app = TestApp::spawn().await;
    let served = app.request(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(served.status, StatusCode::OK);
    let committed: Value = serde_json::from_str(COMMITTED).unwrap();
    assert_eq!(served.body, committed);
}

#[test]
fn every_operation_is_documented_for_client_generation() {
    let spec: Value = serde_json::from_str(COMMITTED).unwrap();
    let mut operation_ids = std::collections::HashSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: operationId"));
            assert!(
                operation_ids.insert(id.to_owned()),
                "{name}: duplicate operationId {id}"
            );
            assert!(
                !id.contains('_'),
                "{name}: operationId {id} should be camelCase"
            );
            assert!(operation["summary"].is_string(), "{name}: summary");
            assert!(
                !operation["tags"].as_array().unwrap().is_empty(),
                "{name}: tags"
            );
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|status| status.starts_with('2')),
                "{name}: a success"
            );
            let secured = operation["security"]
                .as_array()
                .is_some_and(|schemes| !schemes.is_empty());
            if PUBLIC_OPERATIONS.contains(&id) {
                continue;
            }
            assert!(secured, "{name}: bearer security");
            let unauthorized = &responses["401"]["content"]["application/problem+json"];
            assert!(unauthorized.is_object(), "{name}: 401 as problem+json");
        }
    }
}
