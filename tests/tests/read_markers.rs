//! Read markers and unread counts: the inbox list, the inbox counts and the app's badge.

use http_tests::{id, Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;

async fn mark_read(app: &TestApp, session: &Session, path: &str) -> StatusCode {
    app.request(Method::POST, path, Some(&session.access_token), None)
        .await
        .status
}

/// A staff member marks the conversation read; asserts 204.
async fn reads(app: &TestApp, staff: &Session, conversation: &str) {
    let path = format!("/v1/conversations/{conversation}/read");
    assert_eq!(mark_read(app, staff, &path).await, StatusCode::NO_CONTENT);
}

/// A staff member sends the conversation to the care team with a summary; asserts 200.
async fn hands_to_care_team(app: &TestApp, staff: &Session, conversation: &str, summary: &str) {
    let handed = app
        .post(
            &format!("/v1/conversations/{conversation}/handoff"),
            staff,
            serde_json::json!({"to": "care_team", "summary": summary}),
        )
        .await;
    assert_eq!(handed.status, StatusCode::OK, "{}", handed.raw);
}

async fn inbox_item(app: &TestApp, staff: &Session, conversation: &str) -> Value {
    let list = app.get("/v1/conversations?tab=assigned", staff).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.raw);
    list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["id"] == conversation)
        .cloned()
        .unwrap()
}

async fn badge(app: &TestApp, patient: &Session) -> Value {
    let list = app.get("/v1/patient/conversations", patient).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.raw);
    list.body["items"][0]["unread"].clone()
}

#[tokio::test]
async fn staff_unread_counts_follow_new_messages_and_read_markers() {
    let app = TestApp::spawn().await;
    let rivera = app.login("rivera@demo.test").await;
    let alice = app.login("alice@demo.test").await;
    let conversation = id(&app
        .patient_starts(&alice, "My knee is still swollen after the exercises.")
        .await["conversation"]);

    // The patient's message is unread; the automatic acknowledgment is not staff's to read.
    assert_eq!(inbox_item(&app, &rivera, &conversation).await["unread"], 1);
    assert_eq!(app.get("/v1/inbox/counts", &rivera).await.body["unread"], 1);

    let read = format!("/v1/conversations/{conversation}/read");
    assert_eq!(
        mark_read(&app, &rivera, &read).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(inbox_item(&app, &rivera, &conversation).await["unread"], 0);
    assert_eq!(app.get("/v1/inbox/counts", &rivera).await.body["unread"], 0);

    // Their own reply is not unread for them; the patient's next message is.
    app.staff_writes(&rivera, &conversation, "Ice it for 15 minutes.", false)
        .await;
    assert_eq!(inbox_item(&app, &rivera, &conversation).await["unread"], 0);
    app.patient_posts(&alice, &conversation, "Thanks, will do.")
        .await;
    assert_eq!(inbox_item(&app, &rivera, &conversation).await["unread"], 1);

    // Markers are the caller's own and only for conversations they may see.
    let support = app.login("support@demo.test").await;
    assert_eq!(
        mark_read(&app, &support, &read).await,
        StatusCode::NOT_FOUND
    );
    let other = app.login("doc@other.test").await;
    assert_eq!(mark_read(&app, &other, &read).await, StatusCode::NOT_FOUND);
    assert_eq!(mark_read(&app, &alice, &read).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_app_badge_counts_replies_but_never_internal_notes() {
    let app = TestApp::spawn().await;
    let rivera = app.login("rivera@demo.test").await;
    let alice = app.login("alice@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    let conversation = id(&app
        .patient_starts(&alice, "My knee is still swollen after the exercises.")
        .await["conversation"]);
    // The acknowledgment is news to the patient.
    assert_eq!(badge(&app, &alice).await, 1);

    let read = format!("/v1/patient/conversations/{conversation}/read");
    assert_eq!(mark_read(&app, &alice, &read).await, StatusCode::NO_CONTENT);
    assert_eq!(badge(&app, &alice).await, 0);

    for (body, internal) in [
        ("Looks post-op to me.", true),
        ("Ice it for 15 minutes.", false),
    ] {
        app.staff_writes(&rivera, &conversation, body, internal)
            .await;
    }
    assert_eq!(badge(&app, &alice).await, 1);
    assert_eq!(mark_read(&app, &bob, &read).await, StatusCode::NOT_FOUND);
}

/// The unread count of `staff_id` as the messages themselves give it: open conversations of the
/// organization (of Support alone for a support agent) with a message the staff member did not
/// write, acknowledgments aside, after their read marker.
async fn unread_by_the_messages(app: &TestApp, staff_id: &str, support_only: bool) -> i64 {
    use diesel::prelude::*;
    use persistence::schema::{conversations, messages, read_markers, staff_members};

    let pool = app.app_state.pool.clone();
    let staff_id = staff_id.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        let organization: String = staff_members::table
            .find(&staff_id)
            .select(staff_members::organization_id)
            .first(&mut conn)
            .unwrap();
        let open: Vec<(String, String)> = conversations::table
            .filter(conversations::organization_id.eq(&organization))
            .filter(conversations::status.eq("open"))
            .select((conversations::id, conversations::team))
            .load(&mut conn)
            .unwrap();
        let markers: std::collections::HashMap<String, chrono::NaiveDateTime> = read_markers::table
            .filter(read_markers::principal_id.eq(&staff_id))
            .select((read_markers::conversation_id, read_markers::last_read_at))
            .load(&mut conn)
            .unwrap()
            .into_iter()
            .collect();
        let messages: Vec<(String, String, Option<String>, chrono::NaiveDateTime)> =
            messages::table
                .select((
                    messages::conversation_id,
                    messages::kind,
                    messages::author_id,
                    messages::created_at,
                ))
                .load(&mut conn)
                .unwrap();
        let unread = open
            .iter()
            .filter(|(_, team)| !support_only || team == "support")
            .filter(|(id, _)| {
                messages.iter().any(|(conversation, kind, author, at)| {
                    conversation == id
                        && kind != "acknowledgment"
                        && author.as_deref() != Some(staff_id.as_str())
                        && markers.get(id).is_none_or(|marker| at > marker)
                })
            })
            .count();
        i64::try_from(unread).unwrap()
    })
    .await
    .unwrap()
}

/// The count reads what every write keeps on the conversation (its newest message, that
/// message's author, the newest by anyone else) instead of the messages; after each kind of
/// write — patients' messages, replies, notes, a handoff's summary, a staff-started
/// conversation, markers in between — it must give what the messages give, for each staff member.
#[tokio::test]
async fn the_unread_count_agrees_with_the_messages_after_every_kind_of_write() {
    let app = TestApp::spawn().await;
    let [rivera, patel, kim, support, admin, alice, bob] =
        ["rivera", "patel", "kim", "support", "admin", "alice", "bob"]
            .map(|name| format!("{name}@demo.test"));
    let (rivera, patel, kim, support, admin, alice, bob) = (
        app.login(&rivera).await,
        app.login(&patel).await,
        app.login(&kim).await,
        app.login(&support).await,
        app.login(&admin).await,
        app.login(&alice).await,
        app.login(&bob).await,
    );
    let posted = |response: http_tests::TestResponse| {
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.raw);
    };

    // Rivera's own note is newest; Alice's message before it is still unread for Rivera.
    let knee = id(&app
        .patient_starts(&alice, "My knee is still swollen after the exercises.")
        .await["conversation"]);
    reads(&app, &rivera, &knee).await;
    app.staff_writes(&rivera, &knee, "Ice it for 15 minutes.", false)
        .await;
    posted(
        app.patient_posts(&alice, &knee, "It is still swollen.")
            .await,
    );
    app.staff_writes(&kim, &knee, "Coach: check her form.", true)
        .await;
    app.staff_writes(&rivera, &knee, "Booking a video visit.", true)
        .await;
    app.staff_writes(&rivera, &knee, "Asked Kim too.", true)
        .await;

    // Patel holds Bob's conversation and writes notes after Rivera read it.
    let bob_question = id(&app
        .patient_starts(&bob, "How many sets of the stretches should I do?")
        .await["conversation"]);
    app.staff_writes(&patel, &bob_question, "Three sets of ten.", false)
        .await;
    reads(&app, &rivera, &bob_question).await;
    app.staff_writes(&patel, &bob_question, "Follow up Friday.", true)
        .await;
    app.staff_writes(&patel, &bob_question, "Done.", true).await;
    reads(&app, &patel, &bob_question).await;

    // Support reads a tech question and hands it to the care team with a summary.
    let video = id(&app
        .patient_starts(&alice, "My exercise video will not load.")
        .await["conversation"]);
    reads(&app, &support, &video).await;
    hands_to_care_team(&app, &support, &video, "Video question for her clinician.").await;
    app.staff_writes(&rivera, &video, "Try the app's update.", false)
        .await;

    // Rivera starts one with Bob, Bob answers, Rivera reads and adds a note.
    let bob_id = app.id_of(&bob).await;
    let started = app
        .post(
            "/v1/conversations",
            &rivera,
            serde_json::json!({"patient_id": bob_id, "body": "How is the shoulder?"}),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.raw);
    let shoulder = id(&started.body["conversation"]);
    posted(app.patient_posts(&bob, &shoulder, "Better, thanks.").await);
    reads(&app, &rivera, &shoulder).await;
    app.staff_writes(&rivera, &shoulder, "Keep going.", true)
        .await;

    // Support read a billing question, then Bob wrote again before Support's reply.
    let billing = id(&app
        .patient_starts(&bob, "I was charged twice for my last visit.")
        .await["conversation"]);
    reads(&app, &support, &billing).await;
    posted(
        app.patient_posts(&bob, &billing, "When will the refund come?")
            .await,
    );
    app.staff_writes(&support, &billing, "Refunded today.", false)
        .await;

    // A closed conversation counts for nobody.
    let closed = id(&app.patient_starts(&bob, "Thanks for everything.").await["conversation"]);
    assert_eq!(
        app.staff_acts(&admin, &closed, "close").await.status,
        StatusCode::OK
    );

    let mut counted = Vec::new();
    for (staff, support_only) in [
        (&rivera, false),
        (&patel, false),
        (&kim, false),
        (&support, true),
        (&admin, false),
    ] {
        let unread = app.get("/v1/inbox/counts", staff).await.body["unread"].clone();
        let staff_id = app.id_of(staff).await;
        let expected = unread_by_the_messages(&app, &staff_id, support_only).await;
        assert_eq!(unread, expected, "{}", staff.email);
        counted.push(expected);
    }
    // Rivera: the knee (Alice's message before Rivera's notes), Bob's question (Patel's notes
    // after Rivera read it), the video (Support's summary) and the billing question; not the
    // shoulder, read after Bob's answer. Support: the billing question, whose follow-up came
    // before Support's own reply.
    assert_eq!(counted, [4, 4, 5, 1, 5]);
}

/// What the unread count reads of each conversation.
type NewestMessages = Vec<(
    String,
    chrono::NaiveDateTime,
    Option<String>,
    Option<chrono::NaiveDateTime>,
)>;

/// Migrations 21 (and on PostgreSQL 22) backfill, for conversations written before them, the
/// columns that every write keeps since: reverted and applied again over conversations the
/// application wrote, they must give what the writes gave.
#[tokio::test]
async fn the_migration_backfills_what_the_writes_keep() {
    use diesel::prelude::*;
    use persistence::schema::conversations;
    use persistence::DbConnection;

    /// The migration that adds the columns, which on SQLite backfills them too.
    const COLUMNS: &str = "20261128000021";
    /// PostgreSQL's backfill.
    const POSTGRES_BACKFILL: &str = "20261128000022";

    let app = TestApp::spawn().await;
    let rivera = app.login("rivera@demo.test").await;
    let kim = app.login("kim@demo.test").await;
    let support = app.login("support@demo.test").await;
    let alice = app.login("alice@demo.test").await;
    let bob = app.login("bob@demo.test").await;
    let knee = id(&app
        .patient_starts(&alice, "My knee is still swollen after the exercises.")
        .await["conversation"]);
    for (staff, body, internal) in [
        (&rivera, "Ice it for 15 minutes.", false),
        (&kim, "Coach: check her form.", true),
        (&rivera, "Booking a video visit.", true),
    ] {
        app.staff_writes(staff, &knee, body, internal).await;
    }
    let video = id(&app
        .patient_starts(&bob, "My exercise video will not load.")
        .await["conversation"]);
    hands_to_care_team(&app, &support, &video, "A question for the care team.").await;
    app.patient_starts(&bob, "How many sets of the stretches should I do?")
        .await;

    let pool = app.app_state.pool.clone();
    let (written, backfilled) = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        let newest = |conn: &mut DbConnection| -> NewestMessages {
            conversations::table
                .select((
                    conversations::id,
                    conversations::newest_message_at,
                    conversations::newest_message_author_id,
                    conversations::newest_other_message_at,
                ))
                .order(conversations::id)
                .load(conn)
                .unwrap()
        };
        let written = newest(&mut conn);
        // The backfill runs again: on PostgreSQL its own migration right after the columns'.
        let backfills = match &*conn {
            DbConnection::Postgresql(_) => vec![COLUMNS, POSTGRES_BACKFILL],
            DbConnection::Sqlite(_) => vec![COLUMNS],
        };
        let reapplied = http_tests::reapply_migrations_from(&mut conn, COLUMNS);
        assert!(
            reapplied
                .iter()
                .map(String::as_str)
                .take(backfills.len())
                .eq(backfills),
            "{reapplied:?}"
        );
        (written, newest(&mut conn))
    })
    .await
    .unwrap();
    assert_eq!(written.len(), 3);
    assert!(
        written.iter().any(|row| row.3.is_some()),
        "some conversation has messages by two people: {written:?}"
    );
    assert_eq!(backfilled, written);
}
