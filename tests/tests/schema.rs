//! The two migration folders must produce the same schema. Every run checks that the Diesel
//! schema reads on the backend under test; the PostgreSQL run also compares tables, columns,
//! nullability and indexes with a freshly migrated SQLite database. Full-text search objects
//! differ by design (FTS5 tables vs GIN indexes and `tsvector` columns) and carry `fts`,
//! `search` or `lexemes` in their names; the few other indexes one backend alone has are listed.

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use http_tests::TestApp;
use persistence::schema::*;
use persistence::{DatabaseUrl, DbConnection};

#[derive(QueryableByName, Debug)]
struct ColumnInfo {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

#[derive(QueryableByName, Debug)]
struct IndexInfo {
    #[diesel(sql_type = Text)]
    index_name: String,
}

/// Partial indexes PostgreSQL alone has: SQLite's planner does not choose a partial index over
/// the full one it duplicates (checked with SQLite 3.40's EXPLAIN QUERY PLAN), so there it
/// would only slow writes. Each names its migration.
const POSTGRES_ONLY_INDEXES: [&str; 7] = [
    // 2026-11-27-000010_my_clinic_index
    "conversations_my_clinic_idx",
    // 2026-11-27-000011_claimed_elsewhere_index
    "conversations_claimed_elsewhere_idx",
    // 2026-11-28-000014_support_tab_index
    "conversations_support_tab_idx",
    // 2026-11-28-000016_assigned_open_index
    "conversations_assigned_open_idx",
    // 2026-11-28-000018_claims_index
    "conversations_claims_idx",
    // 2026-11-28-000020_support_closed_index
    "conversations_support_closed_idx",
    // 2026-11-28-000023_open_unread_index
    "conversations_open_unread_idx",
];

/// Full indexes SQLite alone has: PostgreSQL replaced them with partial ones above and dropped
/// them (migrations 2026-11-28-000015, 000017 and 000019).
const SQLITE_ONLY_INDEXES: [&str; 3] = [
    "conversations_team_tab_idx",
    "conversations_assigned_tab_idx",
    "conversations_claimed_tab_idx",
];

fn backend_specific(name: &str) -> bool {
    name.contains("fts")
        || name.contains("search")
        || name.contains("lexemes")
        || name.starts_with("__diesel")
}

/// The indexes both backends must have: `indexes` without the backend's own, after checking
/// that it has each of its own and none of the other backend's.
fn shared_indexes(indexes: BTreeSet<String>, own: &[&str], others: &[&str]) -> BTreeSet<String> {
    for name in own {
        assert!(indexes.contains(*name), "{name} is missing");
    }
    for name in others {
        assert!(
            !indexes.contains(*name),
            "{name} belongs to the other backend alone"
        );
    }
    indexes
        .into_iter()
        .filter(|name| !own.contains(&name.as_str()))
        .collect()
}

type Columns = BTreeSet<(String, String, bool)>;

fn columns(conn: &mut DbConnection) -> Columns {
    let query = match conn {
        DbConnection::Postgresql(_) => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name, \
             (is_nullable = 'YES') AS nullable FROM information_schema.columns \
             WHERE table_schema = 'public'"
        }
        DbConnection::Sqlite(_) => {
            "SELECT m.name AS table_name, p.name AS column_name, \
             (p.\"notnull\" = 0 AND p.pk = 0) AS nullable \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
        }
    };
    diesel::sql_query(query)
        .load::<ColumnInfo>(conn)
        .unwrap()
        .into_iter()
        .filter(|column| {
            !backend_specific(&column.table_name) && !backend_specific(&column.column_name)
        })
        .map(|column| (column.table_name, column.column_name, column.nullable))
        .collect()
}

fn indexes(conn: &mut DbConnection) -> BTreeSet<String> {
    let query = match conn {
        DbConnection::Postgresql(_) => {
            "SELECT indexname::text AS index_name FROM pg_indexes \
             WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey'"
        }
        DbConnection::Sqlite(_) => {
            "SELECT name AS index_name FROM sqlite_master \
             WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'"
        }
    };
    diesel::sql_query(query)
        .load::<IndexInfo>(conn)
        .unwrap()
        .into_iter()
        .map(|index| index.index_name)
        .filter(|name| !backend_specific(name))
        .collect()
}

/// Every column the Diesel schema names exists with a readable type.
fn diesel_schema_reads(conn: &mut DbConnection) {
    use persistence::accounts::{Credential, Patient, StaffMember};
    use persistence::conversations::{ConversationRow, EventRow, MessageRow};
    use persistence::organizations::Organization;
    organizations::table
        .select(Organization::as_select())
        .load(conn)
        .unwrap();
    staff_members::table
        .select(StaffMember::as_select())
        .load(conn)
        .unwrap();
    patients::table
        .select(Patient::as_select())
        .load(conn)
        .unwrap();
    credentials::table
        .select(Credential::as_select())
        .load(conn)
        .unwrap();
    conversations::table
        .select(ConversationRow::as_select())
        .load(conn)
        .unwrap();
    messages::table
        .select(MessageRow::as_select())
        .load(conn)
        .unwrap();
    conversation_events::table
        .select(EventRow::as_select())
        .load(conn)
        .unwrap();
    inbox_events::table
        .select(persistence::live::InboxEventRow::as_select())
        .load(conn)
        .unwrap();
    webhook_deliveries::table
        .select(persistence::webhooks::DeliveryRow::as_select())
        .load(conn)
        .unwrap();
    webhook_subscriptions::table
        .select(persistence::webhooks::Subscription::as_select())
        .load(conn)
        .unwrap();
    read_markers::table
        .select((read_markers::principal_id, read_markers::last_read_at))
        .load::<(String, chrono::NaiveDateTime)>(conn)
        .unwrap();
    refresh_tokens::table
        .select((
            refresh_tokens::id,
            refresh_tokens::expires_at,
            refresh_tokens::used_at,
        ))
        .load::<(String, chrono::NaiveDateTime, Option<chrono::NaiveDateTime>)>(conn)
        .unwrap();
}

#[tokio::test]
async fn migrations_produce_the_same_schema_on_both_backends() {
    let app = TestApp::spawn().await;
    let pool = app.app_state.pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut tested = pool.get().unwrap();
        diesel_schema_reads(&mut tested);
        if matches!(*tested, DbConnection::Sqlite(_)) {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let sqlite_url =
            DatabaseUrl::parse(dir.path().join("parity.db").to_str().unwrap()).unwrap();
        let sqlite_pool = persistence::db::build_pool(&sqlite_url, &Default::default());
        let mut sqlite = sqlite_pool.get().unwrap();
        persistence::db::run_migrations(&mut sqlite).unwrap();
        assert_eq!(
            columns(&mut tested),
            columns(&mut sqlite),
            "columns differ between backends"
        );
        assert_eq!(
            shared_indexes(
                indexes(&mut tested),
                &POSTGRES_ONLY_INDEXES,
                &SQLITE_ONLY_INDEXES
            ),
            shared_indexes(
                indexes(&mut sqlite),
                &SQLITE_ONLY_INDEXES,
                &POSTGRES_ONLY_INDEXES
            ),
            "indexes differ between backends"
        );
    })
    .await
    .unwrap();
}
