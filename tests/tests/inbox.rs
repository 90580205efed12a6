//! The staff inbox over HTTP: the tab rules, ordering and stable pages, counts, search, a
//! conversation's detail and timeline, and staff starting a conversation.
// Panicking on a broken expectation is what a test helper is for.

use http_tests::{id, Session, TestApp, TestResponse, DEMO_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const CLINICAL: &str = "My knee is swollen after yesterday's exercises, should I rest?";
const BILLING: &str = "I was charged twice on my last invoice.";
const TECH: &str = "The app keeps crashing when I open the headset video.";
const URGENT: &str = "I have sudden severe chest pain.";
/// Three messages that have both "knee" and "bleeding", oldest first.
const KNEE_BLEEDING: [&str; 3] = [
    "My knee bleeds after the run",
    "The knee bleeds again today",
    "The knee is still bleeding a little",
];

fn ids(page: &TestResponse) -> Vec<String> {
    assert_eq!(page.status, StatusCode::OK, "{}", page.raw);
    page.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(id)
        .collect()
}

/// Percent-encodes every byte but ASCII letters and digits, for query strings.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

async fn started(app: &TestApp, patient: &Session, body: &str) -> String {
    id(&app.patient_starts(patient, body).await["conversation"])
}

async fn tab(app: &TestApp, staff: &Session, tab: &str) -> Vec<String> {
    ids(&app
        .get(&format!("/v1/conversations?tab={tab}&limit=200"), staff)
        .await)
}

async fn search(app: &TestApp, staff: &Session, tab: &str, q: &str) -> TestResponse {
    app.get(
        &format!("/v1/conversations?tab={tab}&q={}", encode(q)),
        staff,
    )
    .await
}

/// Every id of a listing, page by page.
async fn walk(app: &TestApp, staff: &Session, query: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/v1/conversations?{query}&cursor={cursor}"),
            None => format!("/v1/conversations?{query}"),
        };
        let page = app.get(&path, staff).await;
        seen.extend(ids(&page));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return seen,
        }
    }
}

async fn assert_counts_match_tabs(app: &TestApp, staff: &Session) {
    let counts = app.get("/v1/inbox/counts", staff).await;
    assert_eq!(counts.status, StatusCode::OK, "{}", counts.raw);
    for name in ["assigned", "my_clinic", "support", "closed"] {
        assert_eq!(
            counts.body[name],
            json!(tab(app, staff, name).await.len()),
            "{} {name}: {}",
            staff.email,
            counts.raw
        );
    }
}

#[tokio::test]
async fn every_tab_follows_its_rule() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let patel = app.login("patel@demo.test").await;
    let kim = app.login("kim@demo.test").await;
    let admin = app.login("admin@demo.test").await;
    let support = app.login("support@demo.test").await;
    let other = app.login("doc@other.test").await;

    let alices = started(&app, &alice, CLINICAL).await;
    let bobs = started(&app, &bob, CLINICAL).await;
    let billing = started(&app, &alice, BILLING).await;

    // Alice's clinician has her thread; nobody else has it assigned, and it is not unassigned.
    assert_eq!(tab(&app, &rivera, "assigned").await, [alices.as_str()]);
    assert!(tab(&app, &patel, "assigned").await.is_empty());
    // Bob has no clinician: his thread is every care-team member's `my_clinic`.
    for staff in [&rivera, &patel, &kim, &admin] {
        assert_eq!(
            tab(&app, staff, "my_clinic").await,
            [bobs.as_str()],
            "{}",
            staff.email
        );
        assert_eq!(
            tab(&app, staff, "support").await,
            [billing.as_str()],
            "{}",
            staff.email
        );
    }
    // Support agents see Support's threads and never the care team's.
    assert_eq!(tab(&app, &support, "support").await, [billing.as_str()]);
    assert!(tab(&app, &support, "my_clinic").await.is_empty());
    assert!(tab(&app, &support, "assigned").await.is_empty());
    for hidden in [&alices, &bobs] {
        let detail = app
            .get(&format!("/v1/conversations/{hidden}"), &support)
            .await;
        assert_eq!(detail.status, StatusCode::NOT_FOUND, "{}", detail.raw);
        assert_eq!(detail.problem_code(), "not_found");
        let timeline = app
            .get(&format!("/v1/conversations/{hidden}/messages"), &support)
            .await;
        assert_eq!(timeline.status, StatusCode::NOT_FOUND);
    }
    // Another organization sees none of it.
    for name in ["assigned", "my_clinic", "support", "closed"] {
        assert!(tab(&app, &other, name).await.is_empty(), "{name}");
    }
    let foreign = app
        .get(&format!("/v1/conversations/{alices}"), &other)
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);

    // A claim puts the thread in the claimer's `assigned` too.
    let claimed = app.staff_acts(&patel, &bobs, "claim").await;
    assert_eq!(claimed.status, StatusCode::OK, "{}", claimed.raw);
    assert_eq!(tab(&app, &patel, "assigned").await, [bobs.as_str()]);
    assert_eq!(tab(&app, &kim, "my_clinic").await, [bobs.as_str()]);

    // What a row shows.
    let page = app.get("/v1/conversations", &rivera).await;
    let row = &page.body["items"][0];
    assert_eq!(row["id"], json!(alices));
    assert_eq!(row["patient"]["display_name"], "Alice Moreno");
    assert_eq!(row["patient"]["id"], json!(app.id_of(&alice).await));
    assert_eq!(row["assigned_to"]["display_name"], "Dr. Dana Rivera");
    assert_eq!(row["claimed_by"], Value::Null);
    assert_eq!(row["team"], "care_team");
    assert_eq!(row["status"], "open");
    assert_eq!(row["urgent"], false);
    assert_eq!(row["category"], "clinical");
    assert_eq!(row["last_message_preview"], CLINICAL);
    for time in [
        "last_message_at",
        "last_activity_at",
        "unanswered_since",
        "created_at",
    ] {
        assert!(
            row[time].as_str().is_some_and(|t| t.ends_with('Z')),
            "{time}"
        );
    }
    assert!(row.get("snippet").is_none(), "no snippet without q");
    let bob_row = &app.get("/v1/conversations", &patel).await.body["items"][0];
    assert_eq!(bob_row["claimed_by"]["display_name"], "Dr. Ravi Patel");

    for staff in [&rivera, &patel, &kim, &admin, &support, &other] {
        assert_counts_match_tabs(&app, staff).await;
    }
    let counts = app.get("/v1/inbox/counts", &support).await;
    assert_eq!(
        counts.body,
        json!({"assigned": 0, "my_clinic": 0, "support": 1, "closed": 0, "unread": 1})
    );

    let patients_may_not = app.get("/v1/conversations", &alice).await;
    assert_eq!(patients_may_not.status, StatusCode::FORBIDDEN);
    assert_eq!(patients_may_not.problem_code(), "forbidden");
    for bad in [
        "/v1/conversations?tab=everything",
        "/v1/conversations?urgent=maybe",
        "/v1/conversations?patient_id=alice",
        "/v1/conversations?limit=0",
        "/v1/conversations?cursor=zzz",
    ] {
        let response = app
            .request(Method::GET, bad, Some(&rivera.access_token), None)
            .await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            response.raw
        );
        assert_eq!(response.problem_code(), "invalid_request");
    }
    for bad in [
        "/v1/conversations/not-a-uuid",
        "/v1/conversations/not-a-uuid/messages",
    ] {
        assert_eq!(
            app.get(bad, &rivera).await.status,
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn open_tabs_list_urgent_first_then_recent_activity_in_stable_pages() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    let support = app.login("support@demo.test").await;

    let first = started(&app, &bob, BILLING).await;
    let second = started(&app, &bob, TECH).await;
    let urgent = started(&app, &bob, URGENT).await;
    let fourth = started(&app, &alice, BILLING).await;
    let everything = [
        urgent.as_str(),
        fourth.as_str(),
        second.as_str(),
        first.as_str(),
    ];
    assert_eq!(tab(&app, &support, "support").await, everything);
    assert_eq!(
        walk(&app, &support, "tab=support&limit=1").await,
        everything
    );

    // Page one, then the oldest thread gets a new message: it moves up, and the next page
    // neither repeats what was shown nor skips what did not change.
    let page = app
        .get("/v1/conversations?tab=support&limit=2", &support)
        .await;
    assert_eq!(ids(&page), [urgent.as_str(), fourth.as_str()]);
    let cursor = page.body["next_cursor"].as_str().unwrap().to_owned();
    let bumped = app
        .patient_posts(&bob, &first, "Any news about this?")
        .await;
    assert_eq!(bumped.status, StatusCode::CREATED, "{}", bumped.raw);
    let rest = app
        .get(
            &format!("/v1/conversations?tab=support&limit=2&cursor={cursor}"),
            &support,
        )
        .await;
    assert_eq!(ids(&rest), [second.as_str()]);
    assert_eq!(rest.body["next_cursor"], Value::Null);
    assert_eq!(
        tab(&app, &support, "support").await,
        [
            urgent.as_str(),
            first.as_str(),
            fourth.as_str(),
            second.as_str()
        ]
    );

    let only_urgent = app
        .get("/v1/conversations?tab=support&urgent=true", &support)
        .await;
    assert_eq!(ids(&only_urgent), [urgent.as_str()]);
    let not_urgent = app
        .get("/v1/conversations?tab=support&urgent=false", &support)
        .await;
    assert_eq!(
        ids(&not_urgent),
        [first.as_str(), fourth.as_str(), second.as_str()]
    );
    let alice_id = app.id_of(&alice).await;
    let alices = app
        .get(
            &format!("/v1/conversations?tab=support&patient_id={alice_id}"),
            &support,
        )
        .await;
    assert_eq!(ids(&alices), [fourth.as_str()]);

    // Closed: by activity alone, urgent or not.
    for conversation in [&second, &urgent, &first] {
        let closed = app.staff_acts(&support, conversation, "close").await;
        assert_eq!(closed.status, StatusCode::OK, "{}", closed.raw);
    }
    assert_eq!(
        walk(&app, &support, "tab=closed&limit=1").await,
        [first.as_str(), urgent.as_str(), second.as_str()]
    );
    assert_counts_match_tabs(&app, &support).await;
}

/// Inserts `rows` into `table` 500 at a time (within both engines' limits on bind parameters),
/// in one write transaction. Diesel's batch insert is per backend, hence the match.
macro_rules! insert_in_chunks {
    ($conn:expr, $table:expr, $rows:expr) => {
        persistence::db::write_transaction(&mut *$conn, |conn| {
            for chunk in $rows.chunks(500) {
                let insert = diesel::insert_into($table).values(chunk);
                match conn {
                    persistence::DbConnection::Postgresql(conn) => insert.execute(conn),
                    persistence::DbConnection::Sqlite(conn) => insert.execute(conn),
                }?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
    };
}

/// Copies a conversation `count` times, copy `n` active `n * step_seconds` after the original
/// (before it, for a negative step): a clinic's closed tab after years of work, or a crowded open
/// one, without the API calls. The copies have no messages, so they match no search for words, but they do
/// match one for their patient's name. Returns their ids, in the order of `n`.
async fn copies(
    app: &TestApp,
    conversation_id: &str,
    count: usize,
    step_seconds: i64,
) -> Vec<String> {
    use diesel::{QueryDsl, RunQueryDsl, SelectableHelper};
    use persistence::conversations::ConversationRow;
    use persistence::schema::conversations;

    let pool = app.app_state.pool.clone();
    let conversation_id = conversation_id.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        let original: ConversationRow = conversations::table
            .find(&conversation_id)
            .select(ConversationRow::as_select())
            .first(&mut conn)
            .unwrap();
        let copies: Vec<ConversationRow> = (1..=count)
            .map(|second| ConversationRow {
                id: uuid::Uuid::now_v7().to_string(),
                last_activity_at: original.last_activity_at
                    + chrono::Duration::seconds(i64::try_from(second).unwrap() * step_seconds),
                ..original.clone()
            })
            .collect();
        insert_in_chunks!(conn, conversations::table, copies);
        copies.into_iter().map(|copy| copy.id).collect()
    })
    .await
    .unwrap()
}

/// A conversation the patient starts and `staff` closes.
async fn started_then_closed(
    app: &TestApp,
    patient: &Session,
    staff: &Session,
    body: &str,
) -> String {
    let conversation = started(app, patient, body).await;
    let closed = app.staff_acts(staff, &conversation, "close").await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.raw);
    conversation
}

/// Like [`copies`], with a copy of each of the original's messages (acknowledgments aside) in
/// each copy, so the copies match a search for the original's words as the original does.
async fn copies_with_messages(
    app: &TestApp,
    conversation_id: &str,
    count: usize,
    step_seconds: i64,
) -> Vec<String> {
    use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl, SelectableHelper};
    use persistence::conversations::MessageRow;
    use persistence::schema::messages;

    let copy_ids = copies(app, conversation_id, count, step_seconds).await;
    let pool = app.app_state.pool.clone();
    let conversation_id = conversation_id.to_owned();
    let ids = copy_ids.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        let originals: Vec<MessageRow> = messages::table
            .filter(messages::conversation_id.eq(&conversation_id))
            .filter(messages::kind.ne("acknowledgment"))
            .select(MessageRow::as_select())
            .load(&mut conn)
            .unwrap();
        let copied: Vec<MessageRow> = ids
            .iter()
            .flat_map(|copy_id| {
                originals.iter().map(|original| MessageRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    conversation_id: copy_id.clone(),
                    client_message_id: None,
                    in_reply_to: None,
                    ..original.clone()
                })
            })
            .collect();
        insert_in_chunks!(conn, messages::table, copied);
    })
    .await
    .unwrap();
    copy_ids
}

/// 1,101 closed Support conversations, newer than all before them: more than a search walks of
/// the closed tab, and none with a clinical word.
async fn bury_under_newer_closed(app: &TestApp, patient: &Session, support: &Session) {
    let filler = started_then_closed(app, patient, support, TECH).await;
    copies(app, &filler, 1_100, 1).await;
}

/// A search of a closed tab far longer than the stretch of it a search walks (the newest
/// thousand rows; PostgreSQL then turns to its search indexes) still finds the older matches,
/// in the tab's order and across pages, and only those the caller may see.
#[tokio::test]
async fn search_finds_closed_conversations_behind_a_long_closed_tab() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let support = app.login("support@demo.test").await;

    let mut matching = Vec::new();
    for body in KNEE_BLEEDING {
        matching.insert(0, started_then_closed(&app, &alice, &rivera, body).await);
    }
    bury_under_newer_closed(&app, &bob, &support).await;

    assert_eq!(
        walk(&app, &rivera, "tab=closed&q=bleeding&limit=2").await,
        matching
    );
    assert_eq!(
        walk(&app, &rivera, "tab=closed&q=bleeding&limit=50").await,
        matching
    );
    // Several words are looked up together in the GIN indexes.
    assert_eq!(
        walk(&app, &rivera, "tab=closed&q=knee%20bleeding&limit=2").await,
        matching
    );
    // Support agents see Support's closed conversations only, the copies among them.
    assert!(walk(&app, &support, "tab=closed&q=bleeding&limit=2")
        .await
        .is_empty());
}

/// On PostgreSQL, the closed word table (migration 13) holds exactly each closed conversation's
/// words at its place in the closed tab, whatever was done to the conversations.
async fn assert_closed_words_follow_conversations(app: &TestApp) {
    if http_tests::backend_name() != "postgres" {
        return;
    }
    let entries = "SELECT organization_id, lexeme, last_activity_at, conversation_id, team \
                   FROM closed_conversation_lexemes";
    let expected = "SELECT organization_id, unnest(tsvector_to_array(message_lexemes)), \
                    last_activity_at, id, team FROM conversations WHERE status = 'closed'";
    assert_eq!(app.count(differences(entries, expected)).await, 0);
}

/// A query of how many rows one of two queries yields that the other does not, duplicates
/// counted: 0 when both yield the same rows.
fn differences(first: &str, second: &str) -> String {
    format!(
        "SELECT count(*) AS count FROM (({first} EXCEPT ALL {second}) \
         UNION ALL ({second} EXCEPT ALL {first})) AS differences"
    )
}

/// On PostgreSQL, the open word table (migration 9) holds exactly the words of each open
/// conversation's messages, each open conversation's known words (migration 28) exactly its
/// entries there, and its word signature (migration 29) exactly their bits, whatever was done to
/// the conversations.
async fn assert_open_words_follow_conversations(app: &TestApp) {
    if http_tests::backend_name() != "postgres" {
        return;
    }
    let entries = "SELECT organization_id, lexeme, conversation_id FROM open_conversation_lexemes";
    let expected = "SELECT DISTINCT conversations.organization_id, words.lexeme, \
                    conversations.id FROM conversations \
                    JOIN messages ON messages.conversation_id = conversations.id, \
                    unnest(messages.body_lexemes) AS words \
                    WHERE conversations.status = 'open' AND messages.kind <> 'acknowledgment'";
    assert_eq!(app.count(differences(entries, expected)).await, 0);
    let known = "SELECT conversation_id, unnest(lexemes) FROM open_conversation_known_lexemes";
    let entries = "SELECT conversation_id, lexeme FROM open_conversation_lexemes";
    assert_eq!(app.count(differences(known, entries)).await, 0);
    assert_eq!(
        app.count(http_tests::MISSIGNED_OPEN_CONVERSATIONS.to_owned())
            .await,
        0
    );
}

/// A closed conversation is found by the words of its messages and of notes added after the
/// close; reopened, it leaves the closed tab's search for the open tabs', with those words and
/// the ones written since; closed again, it is back.
#[tokio::test]
async fn closed_search_follows_notes_reopens_and_closes() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;

    let knee = started_then_closed(&app, &alice, &rivera, KNEE_BLEEDING[0]).await;
    let note = app
        .staff_posts(&rivera, &knee, "Patient also mentioned vertigo", true)
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.raw);
    let found = [knee.as_str()];
    closed_search_lists(
        &app,
        &rivera,
        &["bleeding", "vertigo", "the vertigo"],
        &found,
    )
    .await;
    assert_closed_words_follow_conversations(&app).await;
    assert_closed_counts_follow_conversations(&app).await;

    assert_open_words_follow_conversations(&app).await;

    let reopened = app.staff_acts(&rivera, &knee, "reopen").await;
    assert_eq!(reopened.status, StatusCode::OK, "{}", reopened.raw);
    closed_search_lists(&app, &rivera, &["bleeding", "vertigo"], &[]).await;
    assigned_search_lists(&app, &rivera, &["bleeding", "vertigo"], &found).await;
    assert_closed_words_follow_conversations(&app).await;
    assert_open_words_follow_conversations(&app).await;
    assert_closed_counts_follow_conversations(&app).await;
    assert_counts_match_tabs(&app, &rivera).await;

    let closed = app.staff_acts(&rivera, &knee, "close").await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.raw);
    closed_search_lists(&app, &rivera, &["bleeding", "vertigo"], &found).await;
    assigned_search_lists(&app, &rivera, &["bleeding", "vertigo"], &[]).await;
    assert_closed_words_follow_conversations(&app).await;
    assert_open_words_follow_conversations(&app).await;
    assert_closed_counts_follow_conversations(&app).await;
    assert_counts_match_tabs(&app, &rivera).await;

    // The patient's words reopen it: the ones it had are found as before, the new one too.
    let by_the_patient = app
        .patient_posts(&alice, &knee, "The bleeding is back, with dizziness")
        .await;
    assert_eq!(
        by_the_patient.status,
        StatusCode::CREATED,
        "{}",
        by_the_patient.raw
    );
    closed_search_lists(&app, &rivera, &["bleeding"], &[]).await;
    assigned_search_lists(&app, &rivera, &["bleeding", "vertigo", "dizziness"], &found).await;
    assert_open_words_follow_conversations(&app).await;
    assert_closed_counts_follow_conversations(&app).await;
    assert_counts_match_tabs(&app, &rivera).await;
}

/// The closed counts of each organization and team (migration 27) are those of its closed
/// conversations, whatever was done to the conversations.
async fn assert_closed_counts_follow_conversations(app: &TestApp) {
    let kept = "SELECT organization_id, care_team, support FROM closed_conversation_counts \
                WHERE care_team <> 0 OR support <> 0";
    let counted = "SELECT organization_id, \
                   SUM(CASE WHEN team = 'care_team' THEN 1 ELSE 0 END), \
                   SUM(CASE WHEN team = 'support' THEN 1 ELSE 0 END) \
                   FROM conversations WHERE status = 'closed' GROUP BY organization_id";
    let query = format!(
        "SELECT (SELECT count(*) FROM ({kept} EXCEPT {counted}) AS missing) \
         + (SELECT count(*) FROM ({counted} EXCEPT {kept}) AS extra) AS count"
    );
    assert_eq!(app.count(query).await, 0);
}

/// The demo clinic's patients, a clinician and a support agent, and the other organization's
/// patient and clinician, signed in.
struct TwoClinics {
    alice: Session,
    bob: Session,
    carol: Session,
    rivera: Session,
    support: Session,
    doc: Session,
}

impl TwoClinics {
    async fn signed_in(app: &TestApp) -> TwoClinics {
        TwoClinics {
            alice: app.login("alice@demo.test").await,
            bob: app.login("bob@demo.test").await,
            carol: app.login("carol@other.test").await,
            rivera: app.login("rivera@demo.test").await,
            support: app.login("support@demo.test").await,
            doc: app.login("doc@other.test").await,
        }
    }
}

/// Staff closing conversations while patients reopen others by writing in them, at once and in
/// two organizations, leave every closed count and both word tables exact, and none of the
/// writes fails.
#[tokio::test]
async fn closed_counts_stay_exact_under_concurrent_closes_and_reopens() {
    let app = TestApp::spawn().await;
    let TwoClinics {
        alice,
        bob,
        carol,
        rivera,
        support,
        doc,
    } = TwoClinics::signed_in(&app).await;
    let admin = app.login("admin@demo.test").await;

    let mut started_by = Vec::new();
    for _ in 0..3 {
        started_by.push((&alice, &rivera, started(&app, &alice, CLINICAL).await));
        started_by.push((
            &alice,
            &rivera,
            started(&app, &alice, KNEE_BLEEDING[0]).await,
        ));
        started_by.push((&bob, &support, started(&app, &bob, BILLING).await));
        started_by.push((&bob, &support, started(&app, &bob, TECH).await));
        started_by.push((&carol, &doc, started(&app, &carol, CLINICAL).await));
    }
    let (to_reopen, to_close) = started_by.split_at(started_by.len() / 2);
    for (_, staff, conversation) in to_reopen {
        let closed = app.staff_acts(staff, conversation, "close").await;
        assert_eq!(closed.status, StatusCode::OK, "{}", closed.raw);
    }
    assert_closed_counts_follow_conversations(&app).await;

    let closes = to_close
        .iter()
        .map(|(_, staff, conversation)| app.staff_acts(staff, conversation, "close"));
    let reopens = to_reopen.iter().map(|(patient, _, conversation)| {
        app.patient_posts(patient, conversation, "Hello again, one more question")
    });
    let (closes, reopens) = tokio::join!(
        futures_util::future::join_all(closes),
        futures_util::future::join_all(reopens)
    );
    for closed in closes {
        assert_eq!(closed.status, StatusCode::OK, "{}", closed.raw);
    }
    for reopened in reopens {
        assert_eq!(reopened.status, StatusCode::CREATED, "{}", reopened.raw);
    }
    assert_closed_counts_follow_conversations(&app).await;
    assert_closed_words_follow_conversations(&app).await;
    assert_open_words_follow_conversations(&app).await;
    for staff in [&rivera, &support, &admin, &doc] {
        assert_counts_match_tabs(&app, staff).await;
    }
    let closed_in_the_clinic = to_close
        .iter()
        .filter(|(_, staff, _)| staff.email != doc.email)
        .count();
    assert_eq!(
        app.get("/v1/inbox/counts", &admin).await.body["closed"],
        json!(closed_in_the_clinic)
    );
}

/// Migration 27 counts the conversations closed before it: reverted and applied again over
/// conversations the application closed, in two organizations and both teams, its counts are
/// theirs.
#[tokio::test]
async fn the_closed_counts_migration_counts_what_was_closed_before_it() {
    const CLOSED_COUNTS: &str = "20261129000027";

    let app = TestApp::spawn().await;
    let two = TwoClinics::signed_in(&app).await;
    started_then_closed(&app, &two.alice, &two.rivera, CLINICAL).await;
    started_then_closed(&app, &two.bob, &two.support, BILLING).await;
    started_then_closed(&app, &two.bob, &two.support, TECH).await;
    started_then_closed(&app, &two.carol, &two.doc, CLINICAL).await;
    started(&app, &two.alice, KNEE_BLEEDING[0]).await;

    let pool = app.app_state.pool.clone();
    let reapplied = tokio::task::spawn_blocking(move || {
        http_tests::reapply_migrations_from(&mut pool.get().unwrap(), CLOSED_COUNTS)
    })
    .await
    .unwrap();
    assert_eq!(reapplied.first().map(String::as_str), Some(CLOSED_COUNTS));
    assert_closed_counts_follow_conversations(&app).await;
    for staff in [&two.rivera, &two.support, &two.doc] {
        assert_counts_match_tabs(&app, staff).await;
    }
}

/// Migration 28 knows the words of the open conversations of before it, and a patient writing
/// after it, words the conversation had and a new one, is found by both (PostgreSQL: SQLite has
/// no word tables).
#[tokio::test]
async fn the_known_lexemes_migration_knows_the_words_of_open_conversations() {
    const KNOWN_LEXEMES: &str = "20261129000028";
    if http_tests::backend_name() != "postgres" {
        return;
    }

    let app = TestApp::spawn().await;
    let two = TwoClinics::signed_in(&app).await;
    let knee = started(&app, &two.alice, KNEE_BLEEDING[0]).await;
    app.staff_writes(&two.rivera, &knee, "Please rest the knee", false)
        .await;
    started_then_closed(&app, &two.alice, &two.rivera, CLINICAL).await;
    started(&app, &two.carol, CLINICAL).await;

    let pool = app.app_state.pool.clone();
    let reapplied = tokio::task::spawn_blocking(move || {
        http_tests::reapply_migrations_from(&mut pool.get().unwrap(), KNOWN_LEXEMES)
    })
    .await
    .unwrap();
    assert_eq!(reapplied.first().map(String::as_str), Some(KNOWN_LEXEMES));
    assert_open_words_follow_conversations(&app).await;

    let posted = app
        .patient_posts(&two.alice, &knee, "The knee bleeds less, but it itches")
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.raw);
    assigned_search_lists(
        &app,
        &two.rivera,
        &["knee", "rest", "itches"],
        &[knee.as_str()],
    )
    .await;
    assert_open_words_follow_conversations(&app).await;
}

/// Migration 29 signs the words of the open conversations of before it, reopened ones too, and
/// the words written after it (PostgreSQL: SQLite has no word tables).
#[tokio::test]
async fn the_word_signatures_migration_signs_the_words_of_open_conversations() {
    const WORD_SIGNATURES: &str = "20261129000029";
    if http_tests::backend_name() != "postgres" {
        return;
    }

    let app = TestApp::spawn().await;
    let two = TwoClinics::signed_in(&app).await;
    let knee = started(&app, &two.alice, KNEE_BLEEDING[0]).await;
    app.staff_writes(&two.rivera, &knee, "Please rest the knee", false)
        .await;
    let closed = started_then_closed(&app, &two.alice, &two.rivera, CLINICAL).await;
    let reopened = app.staff_acts(&two.rivera, &closed, "reopen").await;
    assert_eq!(reopened.status, StatusCode::OK, "{}", reopened.raw);
    started(&app, &two.carol, CLINICAL).await;

    let pool = app.app_state.pool.clone();
    let reapplied = tokio::task::spawn_blocking(move || {
        http_tests::reapply_migrations_from(&mut pool.get().unwrap(), WORD_SIGNATURES)
    })
    .await
    .unwrap();
    assert_eq!(reapplied, [WORD_SIGNATURES]);
    assert_open_words_follow_conversations(&app).await;

    let posted = app
        .patient_posts(&two.alice, &knee, "The knee bleeds less, but it itches")
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.raw);
    assert_open_words_follow_conversations(&app).await;
}

/// Asserts that the first page of three of the inbox `query` is the newest three of `copies`.
async fn assert_first_page_is_newest(
    app: &TestApp,
    staff: &Session,
    query: &str,
    copies: &[String],
) {
    let first_page = ids(&app
        .get(&format!("/v1/conversations?{query}&limit=3"), staff)
        .await);
    assert_eq!(
        first_page,
        copies.iter().rev().take(3).cloned().collect::<Vec<_>>(),
        "{query}"
    );
}

/// Asserts that a search of `tab` for each of the words lists exactly `expected`.
async fn tab_search_lists(
    app: &TestApp,
    staff: &Session,
    tab: &str,
    words: &[&str],
    expected: &[&str],
) {
    for word in words {
        assert_eq!(
            ids(&search(app, staff, tab, word).await),
            expected,
            "{tab} {word}"
        );
    }
}

async fn closed_search_lists(app: &TestApp, staff: &Session, words: &[&str], expected: &[&str]) {
    tab_search_lists(app, staff, "closed", words, expected).await;
}

async fn assigned_search_lists(app: &TestApp, staff: &Session, words: &[&str], expected: &[&str]) {
    tab_search_lists(app, staff, "assigned", words, expected).await;
}

/// A support agent's closed-tab search lists Support's matches however many newer care-team
/// conversations hold the word, and a closed conversation that changes team is found by the
/// new team's staff only.
#[tokio::test]
async fn closed_search_keeps_to_the_callers_team() {
    use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
    use persistence::schema::conversations;

    let app = TestApp::spawn().await;
    let bob = app.login("bob@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let support = app.login("support@demo.test").await;

    let crash = started_then_closed(&app, &bob, &support, TECH).await;
    let newer = copies_with_messages(&app, &crash, 60, 1).await;
    let pool = app.app_state.pool.clone();
    let moved = newer.clone();
    tokio::task::spawn_blocking(move || {
        persistence::db::write_transaction(&mut pool.get().unwrap(), |conn| {
            diesel::update(conversations::table.filter(conversations::id.eq_any(moved)))
                .set(conversations::team.eq("care_team"))
                .execute(conn)
        })
        .unwrap();
    })
    .await
    .unwrap();
    assert_closed_words_follow_conversations(&app).await;
    assert_closed_counts_follow_conversations(&app).await;
    assert_counts_match_tabs(&app, &support).await;
    assert_counts_match_tabs(&app, &rivera).await;

    assert_eq!(
        walk(&app, &support, "tab=closed&q=headset&limit=2").await,
        [crash.as_str()]
    );
    assert_first_page_is_newest(&app, &rivera, "tab=closed&q=headset", &newer).await;
}

/// A word in more open conversations than a search collects the matches of (PostgreSQL walks the
/// tab for it instead) is found in the tab's order, on a long tab's first page and behind it.
#[tokio::test]
async fn search_walks_an_open_tab_for_a_common_word() {
    let app = TestApp::spawn().await;
    let bob = app.login("bob@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;

    let mut bleeding = Vec::new();
    for body in KNEE_BLEEDING {
        bleeding.insert(0, started(&app, &bob, body).await);
    }
    let filler = started(&app, &bob, CLINICAL).await;
    let newer = copies_with_messages(&app, &filler, 1_300, 1).await;

    assert_first_page_is_newest(&app, &rivera, "tab=my_clinic&q=knee", &newer).await;
    assert_eq!(
        walk(&app, &rivera, "tab=my_clinic&q=knee%20bleeding&limit=2").await,
        bleeding
    );
}

/// The walk for a common word lists an open tab's urgent matches first, however far below the
/// walked stretch's last row their activity lies.
#[tokio::test]
async fn search_walks_an_open_tab_urgent_matches_first() {
    let app = TestApp::spawn().await;
    let bob = app.login("bob@demo.test").await;
    let support = app.login("support@demo.test").await;

    let urgent = started(
        &app,
        &bob,
        "Sudden severe chest pain while wearing the headset",
    )
    .await;
    let filler = started(&app, &bob, TECH).await;
    let newer = copies_with_messages(&app, &filler, 1_300, 1).await;

    let first_page = ids(&app
        .get("/v1/conversations?tab=support&q=headset&limit=3", &support)
        .await);
    let mut expected = vec![urgent];
    expected.extend(newer.iter().rev().take(2).cloned());
    assert_eq!(first_page, expected);
}

/// The assigned tab merges the caller's assigned conversations and those they claimed, in one
/// order across pages, whatever the page size, searched or not: urgent first, however old.
#[tokio::test]
async fn the_assigned_tab_interleaves_assigned_and_claimed_across_pages() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;

    let claim = |conversation: String| {
        let (app, rivera) = (&app, &rivera);
        async move {
            let claimed = app.staff_acts(rivera, &conversation, "claim").await;
            assert_eq!(claimed.status, StatusCode::OK, "{}", claimed.raw);
            conversation
        }
    };
    let urgent = claim(started(&app, &bob, URGENT).await).await;
    let mut clinical = Vec::new();
    for _ in 0..3 {
        clinical.insert(0, started(&app, &alice, CLINICAL).await);
        clinical.insert(0, claim(started(&app, &bob, CLINICAL).await).await);
    }
    let mut everything = vec![urgent];
    everything.extend(clinical.iter().cloned());

    for limit in [1, 2, 4, 7] {
        for (search, expected) in [("", &everything), ("&q=knee", &clinical)] {
            let query = format!("tab=assigned&limit={limit}{search}");
            assert_eq!(&walk(&app, &rivera, &query).await, expected, "{query}");
        }
    }
}

/// A long caseload searched: a common word's page is the newest matches, and a rare word's
/// matches (PostgreSQL tests each row against the word's entries, read once) are those of both
/// parts of the assigned tab, assigned and claimed, every word of several in each, beside a
/// stop word or none, and no other clinic's; a patient's name matches as before; and a newer
/// conversation whose word only shares the common word's bit of the word signature is no match.
#[tokio::test]
async fn search_of_a_long_caseload_finds_common_and_rare_words() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let carol = app.login("carol@other.test").await;
    let other_doctor = app.login("doc@other.test").await;

    let carols = started(&app, &carol, KNEE_BLEEDING[0]).await;
    let mut bleeding = Vec::new();
    for body in &KNEE_BLEEDING[..2] {
        bleeding.insert(0, started(&app, &alice, body).await);
    }
    let claimed = started(&app, &bob, KNEE_BLEEDING[2]).await;
    let claim = app.staff_acts(&rivera, &claimed, "claim").await;
    assert_eq!(claim.status, StatusCode::OK, "{}", claim.raw);
    bleeding.insert(0, claimed);
    let filler = started(&app, &alice, CLINICAL).await;
    let newer = copies_with_messages(&app, &filler, 1_300, 1).await;

    assert_first_page_is_newest(&app, &rivera, "tab=assigned&q=knee", &newer).await;
    for limit in [1, 2] {
        for words in ["bleeding", "the%20bleeding"] {
            let query = format!("tab=assigned&q={words}&limit={limit}");
            assert_eq!(walk(&app, &rivera, &query).await, bleeding, "{query}");
        }
    }
    assert_eq!(
        walk(&app, &rivera, "tab=assigned&q=bleeds%20run&limit=2").await,
        bleeding[2..]
    );
    // A name is no word of the word table: the rare words' set is empty, and the name matches.
    assert_first_page_is_newest(&app, &rivera, "tab=assigned&q=moreno", &newer).await;
    assert_eq!(
        walk(&app, &other_doctor, "tab=assigned&q=bleeding&limit=2").await,
        [carols]
    );
    if http_tests::backend_name() == "postgres" {
        // The newest conversation of the caseload has a word whose bit of the word signature is
        // the bit of `knee` (migration 29): the walk for `knee` must probe it and pass it by.
        let shares_the_bit_of_knee = "SELECT min(n)::BIGINT AS count \
             FROM generate_series(1, 100000) AS n \
             WHERE signature_of_lexemes(tsvector_to_array(to_tsvector('english', 'zq' || n))) \
             = signature_of_lexemes(ARRAY['knee'])";
        let word = format!("zq{}", app.count(shares_the_bit_of_knee.to_owned()).await);
        let body = CLINICAL.replace("knee", &word);
        let sharing = started(&app, &alice, &body).await;
        copies_with_messages(&app, &sharing, 1, 2_000).await;
        assert_open_words_follow_conversations(&app).await;
        assert_first_page_is_newest(&app, &rivera, "tab=assigned&q=knee", &newer).await;
    }
}

/// When a search's matches beyond the walked stretch of the closed tab are too many to collect
/// and sort (a name or topic of years ago), it walks for them instead, in the tab's order.
#[tokio::test]
async fn search_walks_on_for_a_common_match_behind_a_long_closed_tab() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let support = app.login("support@demo.test").await;

    let named = started_then_closed(&app, &alice, &rivera, CLINICAL).await;
    let older = copies(&app, &named, 10_050, -1).await;
    bury_under_newer_closed(&app, &bob, &support).await;

    let first_page = ids(&app
        .get("/v1/conversations?tab=closed&q=moreno&limit=50", &rivera)
        .await);
    let mut expected = vec![named];
    expected.extend(older.into_iter().take(49));
    assert_eq!(first_page, expected);
}

/// The same in an open tab (My Clinic), whose conversations have no search index of their own
/// (every send rewrites them): the older matches are found through their messages and their
/// patients' names.
#[tokio::test]
async fn search_finds_open_conversations_behind_a_long_tab() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let support = app.login("support@demo.test").await;
    let created = app
        .post(
            "/v1/patients",
            &admin,
            json!({"name": "Dana Whitfield", "email": "dana@demo.test", "password": DEMO_PASSWORD}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.raw);
    let dana = app.login("dana@demo.test").await;

    let danas = started(&app, &dana, KNEE_BLEEDING[0]).await;
    let mut matching = vec![danas.clone()];
    for body in &KNEE_BLEEDING[1..] {
        matching.insert(0, started(&app, &bob, body).await);
    }
    let filler = started(&app, &bob, CLINICAL).await;
    copies(&app, &filler, 1_100, 1).await;

    assert_eq!(
        walk(&app, &rivera, "tab=my_clinic&q=bleeding&limit=2").await,
        matching
    );
    assert_eq!(
        walk(&app, &rivera, "tab=my_clinic&q=whitfield&limit=2").await,
        std::slice::from_ref(&danas)
    );
    assert!(walk(&app, &support, "tab=my_clinic&q=bleeding&limit=2")
        .await
        .is_empty());

    // A close takes a conversation's words out of the open tabs' index, a reopen puts them back.
    let closed = app.staff_acts(&rivera, &danas, "close").await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.raw);
    assert_eq!(
        walk(&app, &rivera, "tab=my_clinic&q=bleeding&limit=2").await,
        matching[..2]
    );
    assert_eq!(
        walk(&app, &rivera, "tab=closed&q=bleeding&limit=2").await,
        std::slice::from_ref(&danas)
    );
    let reopened = app.staff_acts(&rivera, &danas, "reopen").await;
    assert_eq!(reopened.status, StatusCode::OK, "{}", reopened.raw);
    assert_eq!(
        walk(&app, &rivera, "tab=my_clinic&q=bleeding&limit=2").await,
        matching
    );
    assert!(walk(&app, &rivera, "tab=closed&q=bleeding&limit=2")
        .await
        .is_empty());
}

#[tokio::test]
async fn search_finds_words_in_any_form_and_names_even_when_closed() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    let carol = app.login("carol@other.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let support = app.login("support@demo.test").await;
    let other = app.login("doc@other.test").await;

    let knee = started(&app, &alice, "My knee bleeds a little where the brace rubs").await;
    let crash = started(&app, &bob, TECH).await;
    let carols = started(&app, &carol, "My knee bleeds a little too").await;
    let closed = app.staff_acts(&rivera, &knee, "close").await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.raw);
    let note = app
        .staff_posts(
            &support,
            &crash,
            "Asked the vendor about the firmware",
            true,
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.raw);

    // A word in another form, in a closed conversation.
    let found = search(&app, &rivera, "closed", "bleeding").await;
    assert_eq!(ids(&found), [knee.as_str()]);
    let snippet = found.body["items"][0]["snippet"].as_str().unwrap();
    assert!(snippet.contains("<mark>bleeds</mark>"), "{snippet}");
    assert!(ids(&search(&app, &rivera, "assigned", "bleeding").await).is_empty());
    // The patient's name, whole or begun.
    for name in ["Moreno", "alice", "ali", "ALICE MOR"] {
        let by_name = search(&app, &rivera, "closed", name).await;
        assert_eq!(ids(&by_name), [knee.as_str()], "{name}");
        assert!(by_name.body["items"][0].get("snippet").is_none(), "{name}");
    }
    // Staff notes are searched; every word must match.
    assert_eq!(
        ids(&search(&app, &rivera, "support", "firmware vendor").await),
        [crash.as_str()]
    );
    assert!(ids(&search(&app, &rivera, "support", "firmware invoice").await).is_empty());
    // The words may be spread over the thread; the excerpt is of its latest message with one.
    let spread = search(&app, &rivera, "support", "headset vendor").await;
    assert_eq!(ids(&spread), [crash.as_str()]);
    let snippet = spread.body["items"][0]["snippet"].as_str().unwrap();
    assert!(snippet.contains("<mark>vendor</mark>"), "{snippet}");
    // Support agents find only Support's conversations; other clinics only their own.
    assert!(ids(&search(&app, &support, "closed", "bleeding").await).is_empty());
    assert_eq!(
        ids(&search(&app, &other, "assigned", "bleeding").await),
        [carols.as_str()]
    );
    assert!(ids(&search(&app, &other, "closed", "bleeding").await).is_empty());
    for name in ["assigned", "my_clinic", "support", "closed"] {
        let mine = ids(&search(&app, &rivera, name, "knee bleeds").await);
        assert!(!mine.contains(&carols), "{name}");
    }

    // Whatever is typed, the answer is a list.
    for weird in [
        "\"",
        "*",
        "NEAR(",
        "'",
        "bleeding\"",
        "knee OR",
        "AND NOT",
        "-",
        ":*",
        "\\",
        "%",
        "_",
        "()",
        "a & b | !c",
        "<->",
        "\u{0}",
        "💥",
        "NEAR(knee bleeds, 2)",
        "body:knee",
        "^knee",
    ] {
        for name in ["assigned", "closed"] {
            let response = search(&app, &rivera, name, weird).await;
            assert_eq!(
                response.status,
                StatusCode::OK,
                "{weird:?}: {}",
                response.raw
            );
        }
    }
    let too_long = search(&app, &rivera, "closed", &"a".repeat(201)).await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
    assert_eq!(too_long.problem_code(), "invalid_request");
    // A blank q is no search.
    assert_eq!(
        ids(&search(&app, &rivera, "closed", "  ").await),
        [knee.as_str()]
    );

    // A renamed patient is found by the new name only.
    let admin = app.login("admin@demo.test").await;
    let renamed = app
        .request(
            Method::PATCH,
            &format!("/v1/patients/{}", app.id_of(&alice).await),
            Some(&admin.access_token),
            Some(json!({"name": "Alicia Romero"})),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.raw);
    assert_eq!(
        ids(&search(&app, &rivera, "closed", "romero").await),
        [knee]
    );
    assert!(ids(&search(&app, &rivera, "closed", "moreno").await).is_empty());
}

#[tokio::test]
async fn staff_start_a_conversation_the_patient_sees() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let support = app.login("support@demo.test").await;
    let alice_id = app.id_of(&alice).await;
    let rivera_id = app.id_of(&rivera).await;
    let carol_id = app.id_of(&app.login("carol@other.test").await).await;

    let body = "Hi Alice, how is the knee after this week's sessions?";
    let response = app
        .post(
            "/v1/conversations",
            &rivera,
            json!({"patient_id": alice_id, "body": body}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.raw);
    let conversation = &response.body["conversation"];
    let started = id(conversation);
    assert_eq!(conversation["claimed_by"]["id"], json!(rivera_id));
    assert_eq!(conversation["assigned_to"]["id"], json!(rivera_id));
    assert_eq!(conversation["team"], "care_team");
    assert_eq!(conversation["category"], Value::Null);
    assert_eq!(conversation["unanswered_since"], Value::Null);
    assert_eq!(response.body["message"]["kind"], "staff");
    assert_eq!(response.body["message"]["body"], body);
    assert_eq!(tab(&app, &rivera, "assigned").await, [started.as_str()]);

    let own = app.get("/v1/patient/conversations", &alice).await;
    assert_eq!(ids(&own), [started.as_str()]);
    let seen = app
        .get(
            &format!("/v1/patient/conversations/{started}/messages"),
            &alice,
        )
        .await;
    assert_eq!(seen.body["items"][0]["body"], body);

    // Support agents start in Support.
    let by_support = app
        .post(
            "/v1/conversations",
            &support,
            json!({"patient_id": alice_id, "body": "Your invoice is fixed."}),
        )
        .await;
    assert_eq!(by_support.status, StatusCode::CREATED, "{}", by_support.raw);
    assert_eq!(by_support.body["conversation"]["team"], "support");
    assert_eq!(by_support.body["conversation"]["assigned_to"], Value::Null);
    assert_eq!(
        tab(&app, &support, "assigned").await,
        [id(&by_support.body["conversation"])]
    );

    for (patient_id, status) in [
        (json!(carol_id), StatusCode::NOT_FOUND),
        (json!("not-a-uuid"), StatusCode::NOT_FOUND),
        (
            json!(uuid::Uuid::now_v7().to_string()),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let refused = app
            .post(
                "/v1/conversations",
                &rivera,
                json!({"patient_id": patient_id, "body": "Hello"}),
            )
            .await;
        assert_eq!(refused.status, status, "{}", refused.raw);
        assert_eq!(refused.problem_code(), "not_found");
    }
    for body in [
        json!({"patient_id": alice_id, "body": "   "}),
        json!({"patient_id": alice_id, "body": "Hi", "team": "support"}),
    ] {
        let refused = app.post("/v1/conversations", &rivera, body).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.raw
        );
    }
    let by_patient = app
        .post(
            "/v1/conversations",
            &alice,
            json!({"patient_id": alice_id, "body": "Hi"}),
        )
        .await;
    assert_eq!(by_patient.status, StatusCode::FORBIDDEN);
    assert_eq!(
        ids(&app.get("/v1/patient/conversations", &alice).await).len(),
        2
    );
}

fn timeline_kinds(timeline: &TestResponse) -> Vec<String> {
    assert_eq!(timeline.status, StatusCode::OK, "{}", timeline.raw);
    timeline.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| match item["type"].as_str() {
            Some("message") => format!("message:{}", item["kind"].as_str().unwrap()),
            Some("event") => format!("event:{}", item["kind"].as_str().unwrap()),
            other => panic!("unknown item type {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn the_timeline_merges_messages_notes_and_events_in_order() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@demo.test").await;
    let rivera = app.login("rivera@demo.test").await;
    let support = app.login("support@demo.test").await;
    let conversation = started(&app, &alice, CLINICAL).await;
    let messages = format!("/v1/conversations/{conversation}/messages");

    let note = app
        .post(
            &messages,
            &rivera,
            json!({"body": "Check the brace fit next visit", "internal": true}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.raw);
    let reply = app
        .post(
            &messages,
            &rivera,
            json!({"body": "Rest for two days, then ice."}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.raw);
    let handoff = app
        .post(
            &format!("/v1/conversations/{conversation}/handoff"),
            &rivera,
            json!({"to": "support", "summary": "Needs a new brace ordered; billing question."}),
        )
        .await;
    assert_eq!(handoff.status, StatusCode::OK, "{}", handoff.raw);
    assert_eq!(
        app.staff_acts(&support, &conversation, "close")
            .await
            .status,
        StatusCode::OK
    );

    let timeline = app.get(&messages, &support).await;
    assert_eq!(
        timeline_kinds(&timeline),
        [
            "message:patient",
            "event:routed",
            "event:assigned",
            "message:acknowledgment",
            "message:internal_note",
            "message:staff",
            "event:claimed",
            "message:internal_note",
            "event:handed_off",
            "event:closed",
        ]
    );
    assert_eq!(timeline.body["next_cursor"], Value::Null);
    let items = timeline.body["items"].as_array().unwrap();
    let times: Vec<&str> = items
        .iter()
        .map(|item| item["created_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "{times:?}");
    assert_eq!(items[0]["body"], CLINICAL);
    assert_eq!(items[0]["author"]["display_name"], "Alice Moreno");
    assert_eq!(items[1]["actor"], Value::Null, "the system routes");
    assert_eq!(items[1]["details"]["category"], "clinical");
    assert_eq!(items[3]["author"], Value::Null);
    assert_eq!(items[6]["actor"]["display_name"], "Dr. Dana Rivera");
    assert_eq!(items[8]["details"]["from"], "care_team");
    assert_eq!(items[8]["details"]["to"], "support");
    assert_eq!(items[9]["actor"]["display_name"], "Sam Support");

    let detail = app.conversation(&support, &conversation).await;
    assert_eq!(detail["status"], "closed");
    assert_eq!(detail["team"], "support");
    assert_eq!(detail["patient"]["display_name"], "Alice Moreno");
    assert_eq!(detail["routing"]["category"], "clinical");
    assert!(!detail["routing"]["matched_rules"]
        .as_array()
        .unwrap()
        .is_empty());
    let handoffs = detail["handoffs"].as_array().unwrap();
    assert_eq!(handoffs.len(), 1);
    assert_eq!(handoffs[0]["from"], "care_team");
    assert_eq!(handoffs[0]["to"], "support");
    assert_eq!(handoffs[0]["by"]["display_name"], "Dr. Dana Rivera");
    assert_eq!(handoffs[0]["at"], items[8]["created_at"]);
}
