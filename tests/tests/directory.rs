//! Patients and staff over HTTP: patient search for staff, and their administration by admins.
// Panicking on a broken expectation is what a test helper is for.

use http_tests::{Session, TestApp, TestResponse, DEMO_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn names(page: &TestResponse) -> Vec<String> {
    assert_eq!(page.status, StatusCode::OK, "{}", page.raw);
    page.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["display_name"].as_str().expect("a name").to_owned())
        .collect()
}

async fn find(app: &TestApp, staff: &Session, q: &str) -> Vec<String> {
    let q: String = q.bytes().map(|byte| format!("%{byte:02X}")).collect();
    names(&app.get(&format!("/v1/patients?q={q}"), staff).await)
}

async fn patch(app: &TestApp, session: &Session, path: &str, body: Value) -> TestResponse {
    app.request(Method::PATCH, path, Some(&session.access_token), Some(body))
        .await
}

async fn create_patient(app: &TestApp, admin: &Session, body: Value) -> TestResponse {
    app.post("/v1/patients", admin, body).await
}

fn new_patient(email: &str) -> Value {
    json!({"name": "Dana Whitfield", "email": email, "password": DEMO_PASSWORD})
}

#[tokio::test]
async fn staff_find_patients_of_their_organization_by_name_or_external_id() {
    let app = TestApp::spawn().await;
    let kim = app.login("kim@demo.test").await;
    let admin = app.login("admin@demo.test").await;
    let other = app.login("doc@other.test").await;

    assert_eq!(
        names(&app.get("/v1/patients", &kim).await),
        ["Alice Moreno", "Bob Nguyen"]
    );
    for q in ["alice", "Moreno", "ali", "ALICE MOR"] {
        assert_eq!(find(&app, &kim, q).await, ["Alice Moreno"], "{q}");
    }
    assert_eq!(find(&app, &kim, "nguyen").await, ["Bob Nguyen"]);
    assert!(find(&app, &kim, "carol").await.is_empty());
    assert!(find(&app, &kim, "moreno nguyen").await.is_empty());
    assert!(find(&app, &other, "alice").await.is_empty());
    assert_eq!(find(&app, &other, "smith").await, ["Carol Smith"]);

    let mut with_id = new_patient("dana@demo.test");
    with_id["external_id"] = json!("MRN-004212");
    let created = create_patient(&app, &admin, with_id).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.raw);
    assert_eq!(find(&app, &kim, "MRN-004212").await, ["Dana Whitfield"]);
    assert!(find(&app, &other, "MRN-004212").await.is_empty());

    let mut walked = Vec::new();
    let mut path = "/v1/patients?limit=1".to_owned();
    loop {
        let page = app.get(&path, &kim).await;
        walked.extend(names(&page));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/patients?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(walked, ["Alice Moreno", "Bob Nguyen", "Dana Whitfield"]);

    for weird in ["\"", "*", "NEAR(", "'", "\u{0}", "a & b", ":*", "%"] {
        let q: String = weird.bytes().map(|byte| format!("%{byte:02X}")).collect();
        let response = app.get(&format!("/v1/patients?q={q}"), &kim).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{weird:?}: {}",
            response.raw
        );
    }
    let too_long = app
        .get(&format!("/v1/patients?q={}", "a".repeat(201)), &kim)
        .await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
    let bad_cursor = app.get("/v1/patients?cursor=nope", &kim).await;
    assert_eq!(bad_cursor.status, StatusCode::BAD_REQUEST);

    let alice_id = app.id_of(&app.login("alice@demo.test").await).await;
    let rivera_id = app.id_of(&app.login("rivera@demo.test").await).await;
    let alice = app.get(&format!("/v1/patients/{alice_id}"), &kim).await;
    assert_eq!(alice.status, StatusCode::OK, "{}", alice.raw);
    assert_eq!(alice.body["display_name"], "Alice Moreno");
    assert_eq!(alice.body["assigned_clinician_id"], json!(rivera_id));
    for (path, who) in [
        (format!("/v1/patients/{alice_id}"), &other),
        ("/v1/patients/not-a-uuid".to_owned(), &kim),
    ] {
        let missing = app.get(&path, who).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(missing.problem_code(), "not_found");
    }
    let as_patient = app
        .get("/v1/patients", &app.login("bob@demo.test").await)
        .await;
    assert_eq!(as_patient.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn admins_create_and_change_patients_within_the_rules() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let rivera_id = app.id_of(&rivera).await;
    let kim_id = app.id_of(&app.login("kim@demo.test").await).await;
    let support_id = app.id_of(&app.login("support@demo.test").await).await;
    let patel_id = app.id_of(&app.login("patel@demo.test").await).await;
    let other_doc_id = app.id_of(&app.login("doc@other.test").await).await;

    let deactivated = patch(
        &app,
        &admin,
        &format!("/v1/staff/{patel_id}"),
        json!({"active": false}),
    )
    .await;
    assert_eq!(deactivated.status, StatusCode::OK, "{}", deactivated.raw);
    for clinician in [&kim_id, &support_id, &patel_id, &other_doc_id] {
        let mut body = new_patient("dana@demo.test");
        body["assigned_clinician_id"] = json!(clinician);
        let refused = create_patient(&app, &admin, body).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.raw
        );
        assert_eq!(refused.problem_code(), "validation_failed");
    }
    for bad in [
        json!({"name": " ", "email": "x@demo.test", "password": DEMO_PASSWORD}),
        json!({"name": "X", "email": "not-an-email", "password": DEMO_PASSWORD}),
        json!({"name": "X", "email": "x@demo.test", "password": "short"}),
        json!({"name": "X", "email": "x@demo.test", "password": DEMO_PASSWORD, "role": "admin"}),
        json!({"name": "X", "email": "x@demo.test", "password": DEMO_PASSWORD, "external_id": ""}),
    ] {
        let refused = create_patient(&app, &admin, bad.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            refused.raw
        );
    }

    let mut body = new_patient("Dana@Demo.test");
    body["assigned_clinician_id"] = json!(rivera_id);
    body["external_id"] = json!("MRN-1");
    let created = create_patient(&app, &admin, body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.raw);
    assert_eq!(created.body["assigned_clinician_id"], json!(rivera_id));
    let dana_id = created.body["id"].as_str().unwrap().to_owned();
    let dana = app.login("dana@demo.test").await;
    assert_eq!(app.id_of(&dana).await, dana_id);

    let mut taken_email = new_patient("DANA@demo.test");
    taken_email["name"] = json!("Someone Else");
    let conflict = create_patient(&app, &admin, taken_email).await;
    assert_eq!(conflict.status, StatusCode::CONFLICT, "{}", conflict.raw);
    assert_eq!(conflict.problem_code(), "conflict");
    let mut taken_id = new_patient("eve@demo.test");
    taken_id["external_id"] = json!("MRN-1");
    assert_eq!(
        create_patient(&app, &admin, taken_id).await.status,
        StatusCode::CONFLICT
    );

    let path = format!("/v1/patients/{dana_id}");
    let renamed = patch(
        &app,
        &admin,
        &path,
        json!({"name": "Dana Okafor", "external_id": null}),
    )
    .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.raw);
    assert_eq!(renamed.body["display_name"], "Dana Okafor");
    assert_eq!(renamed.body["external_id"], Value::Null);
    assert_eq!(
        renamed.body["assigned_clinician_id"],
        json!(rivera_id),
        "absent is unchanged"
    );
    assert_eq!(
        names(&app.get("/v1/patients?q=okafor", &rivera).await),
        ["Dana Okafor"]
    );
    assert!(names(&app.get("/v1/patients?q=whitfield", &rivera).await).is_empty());
    let unassigned = patch(&app, &admin, &path, json!({"assigned_clinician_id": null})).await;
    assert_eq!(unassigned.body["assigned_clinician_id"], Value::Null);
    assert_eq!(unassigned.body["display_name"], "Dana Okafor");
    for clinician in [&kim_id, &patel_id, &other_doc_id] {
        let refused = patch(
            &app,
            &admin,
            &path,
            json!({"assigned_clinician_id": clinician}),
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.raw
        );
    }
    for bad in [json!({"name": ""}), json!({"organization_id": "x"})] {
        let refused = patch(&app, &admin, &path, bad).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.raw
        );
    }
    let carol_id = app.id_of(&app.login("carol@other.test").await).await;
    let foreign = patch(
        &app,
        &admin,
        &format!("/v1/patients/{carol_id}"),
        json!({"name": "X"}),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);

    let not_admin = create_patient(&app, &rivera, new_patient("x@demo.test")).await;
    assert_eq!(not_admin.status, StatusCode::FORBIDDEN);
    assert_eq!(not_admin.problem_code(), "forbidden");
    assert_eq!(
        patch(&app, &rivera, &path, json!({"name": "X"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn admins_manage_staff_and_deactivated_staff_cannot_sign_in() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let alice = app.login("alice@demo.test").await;

    let staff = app.get("/v1/staff", &admin).await;
    assert_eq!(
        names(&staff),
        [
            "Avery Admin",
            "Dr. Dana Rivera",
            "Dr. Ravi Patel",
            "Jordan Kim",
            "Sam Support"
        ]
    );
    let sam = &staff.body["items"][4];
    assert_eq!(sam["email"], "support@demo.test");
    assert_eq!(sam["role"], "support");
    assert_eq!(sam["team"], "support");
    assert_eq!(sam["active"], true);
    let first = app.get("/v1/staff?limit=2", &admin).await;
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let next = app
        .get(&format!("/v1/staff?limit=2&cursor={cursor}"), &admin)
        .await;
    assert_eq!(names(&next), ["Dr. Ravi Patel", "Jordan Kim"]);

    let created = app
        .post(
            "/v1/staff",
            &admin,
            json!({"name": "Dr. Sam Okafor", "email": "okafor@demo.test", "password": DEMO_PASSWORD, "role": "clinician"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.raw);
    assert_eq!(created.body["team"], "care_team");
    let okafor_id = created.body["id"].as_str().unwrap().to_owned();
    let okafor = app.login("okafor@demo.test").await;
    assert_eq!(
        app.get("/v1/conversations", &okafor).await.status,
        StatusCode::OK
    );
    let duplicate = app
        .post(
            "/v1/staff",
            &admin,
            json!({"name": "Again", "email": "OKAFOR@demo.test", "password": DEMO_PASSWORD, "role": "coach"}),
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT, "{}", duplicate.raw);
    assert_eq!(duplicate.problem_code(), "conflict");
    let as_patient = app
        .post(
            "/v1/staff",
            &admin,
            json!({"name": "P", "email": "p@demo.test", "password": DEMO_PASSWORD, "role": "patient"}),
        )
        .await;
    assert_eq!(as_patient.status, StatusCode::UNPROCESSABLE_ENTITY);

    let path = format!("/v1/staff/{okafor_id}");
    let coach = patch(
        &app,
        &admin,
        &path,
        json!({"role": "coach", "name": "Sam Okafor"}),
    )
    .await;
    assert_eq!(coach.status, StatusCode::OK, "{}", coach.raw);
    assert_eq!(coach.body["role"], "coach");
    assert_eq!(coach.body["display_name"], "Sam Okafor");
    let off = patch(&app, &admin, &path, json!({"active": false})).await;
    assert_eq!(off.body["active"], false);
    let refused = app
        .request(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({"email": "okafor@demo.test", "password": DEMO_PASSWORD})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let refresh = app
        .request(
            Method::POST,
            "/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": okafor.refresh_token})),
        )
        .await;
    assert_eq!(refresh.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        patch(&app, &admin, &path, json!({"active": true}))
            .await
            .status,
        StatusCode::OK
    );
    app.login("okafor@demo.test").await;

    // Deactivating Alice's clinician unassigns her and her open thread, which goes to my_clinic.
    let alice_id = app.id_of(&alice).await;
    let thread = app
        .patient_starts(&alice, "My knee is swollen after yesterday's exercises.")
        .await["conversation"]["id"]
        .clone();
    let rivera_id = app.id_of(&rivera).await;
    let off = patch(
        &app,
        &admin,
        &format!("/v1/staff/{rivera_id}"),
        json!({"active": false}),
    )
    .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.raw);
    let alice_now = app.get(&format!("/v1/patients/{alice_id}"), &admin).await;
    assert_eq!(alice_now.body["assigned_clinician_id"], Value::Null);
    let my_clinic = app.get("/v1/conversations?tab=my_clinic", &admin).await;
    assert_eq!(my_clinic.body["items"][0]["id"], thread);

    let admin_id = app.id_of(&admin).await;
    for body in [json!({"active": false}), json!({"role": "clinician"})] {
        let own = patch(&app, &admin, &format!("/v1/staff/{admin_id}"), body).await;
        assert_eq!(own.status, StatusCode::CONFLICT, "{}", own.raw);
    }
    let other_admin = app.id_of(&app.login("doc@other.test").await).await;
    let foreign = patch(
        &app,
        &admin,
        &format!("/v1/staff/{other_admin}"),
        json!({"name": "X"}),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let kim = app.login("kim@demo.test").await;
    assert_eq!(
        app.get("/v1/staff", &kim).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        patch(&app, &kim, &path, json!({"active": false}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}
