//! Connections: one Diesel `MultiConnection` over PostgreSQL and SQLite, an r2d2 pool that
//! establishes the backend named by the URL, and the transaction helpers every write goes through.

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::dsl::sql;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sql_types::Bool;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use parking_lot::{FairMutex, FairMutexGuard};

use crate::{live, StoreError};

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// How long a SQLite writer waits for its turn among the process's writers, and then as long
/// again for SQLite's lock, before failing with "database is locked".
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

/// SQLite's writers wait for its one write lock by polling: the busy handler sleeps up to 100 ms
/// between tries, so a writer that asks again at once (the sends' batch writer) takes the lock
/// time after time while a claim or a read's audit row sleeps through every moment it was free;
/// in the mixed workload those waited 2–4 s (BENCHMARKS.md item 21). The writers of this process
/// queue here first and are handed their turn in arrival order, so SQLite's lock is free when
/// the next one asks for it. One queue for the process: a server holds one database, and where
/// a process opens several (the test suites) their writes merely take turns.
static SQLITE_WRITERS: FairMutex<()> = parking_lot::const_fair_mutex(());

/// SQLite connections refuse writes ("attempt to write a readonly database") except inside
/// [`write_transaction`] and migrations, so that a write that bypassed the writers' queue and
/// `BEGIN IMMEDIATE` fails in the first test that makes it, instead of waiting out SQLite's
/// busy handler under load. Nothing else enforces it: Diesel has no hook on a connection's writes.
const SQLITE_READ_ONLY: &str = "PRAGMA query_only = ON;";
const SQLITE_WRITABLE: &str = "PRAGMA query_only = OFF;";

/// Runs `work` with writes allowed on a SQLite connection, read-only again afterwards whatever
/// its outcome; on PostgreSQL it just runs `work`.
fn with_sqlite_writes_allowed<T, E>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let DbConnection::Sqlite(sqlite) = conn else {
        return work(conn);
    };
    sqlite.batch_execute(SQLITE_WRITABLE)?;
    let outcome = work(conn);
    // The work has committed or rolled back by now, so its outcome is the caller's answer either
    // way. A connection left writable would keep no check for the rest of its life in the pool:
    // marked broken, r2d2 discards it.
    if conn.batch_execute(SQLITE_READ_ONLY).is_err() {
        <DbConnection as TransactionManager<DbConnection>>::transaction_manager_status_mut(conn)
            .set_in_error();
    }
    outcome
}

/// A turn in [`SQLITE_WRITERS`], waited for as long as SQLite's busy timeout. Past it the writer
/// goes on without one, and SQLite's own wait decides, as it did before the queue.
fn sqlite_write_turn() -> Option<FairMutexGuard<'static, ()>> {
    SQLITE_WRITERS.try_lock_for(Duration::from_millis(SQLITE_BUSY_TIMEOUT_MS.into()))
}

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// Which engine a `DATABASE_URL` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A parsed `DATABASE_URL`: `postgres://…`/`postgresql://…` is PostgreSQL, a plain path (or
/// `sqlite://path`) is a SQLite file. Any other scheme is refused, so that a typo never silently
/// becomes a SQLite file named after the URL (what `MultiConnection::establish` would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    target: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DatabaseUrlError {
    #[error("DATABASE_URL is empty")]
    Empty,
    #[error(
        "DATABASE_URL has the unsupported scheme `{0}://` (use postgres://… or a SQLite file path)"
    )]
    UnsupportedScheme(String),
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, DatabaseUrlError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(DatabaseUrlError::Empty);
        }
        match raw.split_once("://") {
            Some(("postgres" | "postgresql", _)) => Ok(Self {
                backend: Backend::Postgres,
                target: raw.to_owned(),
            }),
            Some(("sqlite", path)) if !path.is_empty() => Ok(Self {
                backend: Backend::Sqlite,
                target: path.to_owned(),
            }),
            Some((scheme, _)) => Err(DatabaseUrlError::UnsupportedScheme(scheme.to_owned())),
            None => Ok(Self {
                backend: Backend::Sqlite,
                target: raw.to_owned(),
            }),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL or path as given (with any password: not for logs).
    pub fn as_str(&self) -> &str {
        &self.target
    }

    /// The URL with any password replaced, fit for logs and start-up lines.
    pub fn redacted(&self) -> String {
        match self.backend {
            Backend::Sqlite => self.target.clone(),
            Backend::Postgres => redact_password(&self.target),
        }
    }

    fn establish(&self) -> Result<DbConnection, diesel::ConnectionError> {
        match self.backend {
            Backend::Postgres => {
                PgConnection::establish(&self.target).map(DbConnection::Postgresql)
            }
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.target)?;
                // WAL lets readers run beside the one writer; the busy timeout makes writers queue
                // instead of failing; SQLite leaves foreign keys off unless asked, per connection.
                // Read-only until a write transaction lifts it (see `with_sqlite_writes_allowed`).
                conn.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; \
                     {SQLITE_READ_ONLY}"
                ))
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// r2d2 manager that establishes exactly the backend the URL names.
#[derive(Debug)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        self.url.establish().map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        <DbConnection as TransactionManager<DbConnection>>::is_broken_transaction_manager(conn)
    }
}

/// Pool settings; the pool is sized to the server's blocking work, not to the async workers.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_size: u32,
    pub connection_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 16,
            connection_timeout: Duration::from_secs(3),
        }
    }
}

/// Builds the pool without connecting: the server starts (and `/readyz` reports) even while the
/// database is still coming up.
pub fn build_pool(url: &DatabaseUrl, options: &PoolOptions) -> Pool {
    r2d2::Pool::builder()
        .max_size(options.max_size)
        .min_idle(Some(0))
        .connection_timeout(options.connection_timeout)
        // A PostgreSQL connection the server dropped (restart, failover, network cut) looks
        // healthy until used; checking on checkout lets the pool replace it, so the server
        // recovers by itself when the database returns. A SQLite file cannot drop away.
        .test_on_check_out(url.backend() == Backend::Postgres)
        .build_unchecked(ConnectionManager { url: url.clone() })
}

impl DbConnection {
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Postgresql(_) => Backend::Postgres,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Applies the embedded migrations of the connection's backend; returns how many ran.
///
/// Instances that start together (a rolling deploy, `inbox migrate` beside `inbox serve`) take
/// turns: Diesel takes no lock, so two could both find a migration pending, and the second fail
/// on the first one's tables or run a backfill again. The one that waited finds nothing left.
pub fn run_migrations(conn: &mut DbConnection) -> Result<usize, StoreError> {
    with_sqlite_writes_allowed(conn, |conn| match conn {
        DbConnection::Postgresql(pg) => with_migration_lock(pg, |pg| {
            applied_count(pg.run_pending_migrations(POSTGRES_MIGRATIONS))
        }),
        // Diesel runs each migration in a savepoint of this transaction, which holds SQLite's
        // write lock from the start.
        DbConnection::Sqlite(sqlite) => sqlite.immediate_transaction(|sqlite| {
            applied_count(sqlite.run_pending_migrations(SQLITE_MIGRATIONS))
        }),
    })
}

fn applied_count<V>(applied: diesel::migration::Result<Vec<V>>) -> Result<usize, StoreError> {
    applied
        .map(|versions| versions.len())
        .map_err(|source| StoreError::Migration(source.to_string()))
}

/// The PostgreSQL advisory lock the migrations run under. Advisory locks belong to a database,
/// so instances of different databases on one server never wait for each other.
const MIGRATION_LOCK_KEY: i64 = 0x6d69_6772;

/// How often an instance asks again for the migration lock while another holds it.
const MIGRATION_LOCK_RETRY: Duration = Duration::from_millis(200);

/// Runs `migrate` holding [`MIGRATION_LOCK_KEY`] for this session. The lock is asked for again
/// and again rather than waited for: a session waiting in `pg_advisory_lock` holds a snapshot,
/// and a `CREATE INDEX CONCURRENTLY` of the holder's migrations waits for every older snapshot
/// to end, so the two would wait for each other.
fn with_migration_lock(
    pg: &mut PgConnection,
    migrate: impl FnOnce(&mut PgConnection) -> Result<usize, StoreError>,
) -> Result<usize, StoreError> {
    let mut announced = false;
    while !diesel::select(sql::<Bool>(&format!(
        "pg_try_advisory_lock({MIGRATION_LOCK_KEY})"
    )))
    .get_result::<bool>(pg)?
    {
        if !announced {
            tracing::info!("waiting for another instance to finish migrating the database");
            announced = true;
        }
        std::thread::sleep(MIGRATION_LOCK_RETRY);
    }
    let migrated = migrate(pg);
    // A session lock outlives the work, and this connection goes back to the pool. If the
    // unlock fails, the start fails, and the lock ends with the process's connections.
    let unlocked = diesel::select(sql::<Bool>(&format!(
        "pg_advisory_unlock({MIGRATION_LOCK_KEY})"
    )))
    .get_result::<bool>(pg);
    let applied = migrated?;
    unlocked?;
    Ok(applied)
}

/// One round trip to the database, for readiness.
pub fn ping(conn: &mut DbConnection) -> Result<(), StoreError> {
    conn.batch_execute("SELECT 1")?;
    Ok(())
}

/// Runs `work` in a write transaction. On SQLite the transaction waits for its turn among the
/// process's writers ([`SQLITE_WRITERS`]) and starts with `BEGIN IMMEDIATE`, so it takes the
/// write lock up front; a deferred transaction that reads first and writes later fails with
/// "database is locked" under load whatever the timeout. SQLite's writes all go through here, the
/// migrations apart: one that did not would poll for the lock beside the queue, and rarely find
/// it free, so SQLite connections refuse any other write ([`SQLITE_READ_ONLY`]).
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let nested = matches!(
        <DbConnection as TransactionManager<DbConnection>>::transaction_manager_status_mut(conn)
            .transaction_depth(),
        Ok(Some(_))
    );
    if nested {
        // Inside a write transaction the lock is already held and writes allowed; the begin
        // makes a savepoint. Inside any other transaction a SQLite savepoint's writes are
        // refused, as the connection's are.
        return in_transaction(conn, true, work);
    }
    // Held until the transaction has committed or rolled back.
    let _turn = match conn {
        DbConnection::Sqlite(_) => sqlite_write_turn(),
        DbConnection::Postgresql(_) => None,
    };
    with_sqlite_writes_allowed(conn, |conn| in_transaction(conn, false, work))
}

/// Begins a transaction (or, when `nested`, a savepoint), runs `work` and commits, or rolls back
/// when it fails; the events `work` queued for the live log are appended before the outermost
/// commit.
fn in_transaction<T, E>(
    conn: &mut DbConnection,
    nested: bool,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Sqlite(sqlite) if !nested => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
        }
        _ => <DbConnection as TransactionManager<DbConnection>>::begin_transaction(conn)?,
    }
    // Events queued by this transaction (or savepoint) alone: what an outer one queued stays.
    let events_mark = if nested { live::pending_mark() } else { 0 };
    live::discard_pending(events_mark);
    let outcome = work(conn).and_then(|value| {
        if !nested {
            live::append_pending(conn).map_err(E::from)?;
        }
        Ok(value)
    });
    match outcome {
        Ok(value) => {
            <DbConnection as TransactionManager<DbConnection>>::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => {
            live::discard_pending(events_mark);
            // The work's error is the one worth reporting; a failed rollback marks the
            // connection broken and r2d2 discards it.
            let _ = <DbConnection as TransactionManager<DbConnection>>::rollback_transaction(conn);
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::RunQueryDsl;

    #[test]
    fn postgres_schemes_select_postgres() {
        for url in ["postgres://u@h/db", "postgresql://u:p@h:5432/db"] {
            assert_eq!(
                DatabaseUrl::parse(url).map(|u| u.backend()),
                Ok(Backend::Postgres)
            );
        }
    }

    #[test]
    fn paths_select_sqlite() {
        for url in [
            "inbox.db",
            "/var/lib/inbox/inbox.db",
            "sqlite://inbox.db",
            ":memory:",
        ] {
            assert_eq!(
                DatabaseUrl::parse(url).map(|u| u.backend()),
                Ok(Backend::Sqlite)
            );
        }
    }

    #[test]
    fn unknown_scheme_is_refused_not_opened_as_a_file() {
        assert_eq!(
            DatabaseUrl::parse("postgress://u@h/db"),
            Err(DatabaseUrlError::UnsupportedScheme("postgress".into()))
        );
        assert_eq!(DatabaseUrl::parse("  "), Err(DatabaseUrlError::Empty));
    }

    #[test]
    fn redaction_hides_only_the_password() {
        let url = DatabaseUrl::parse("postgres://inbox:s3cret@db:5432/inbox").unwrap();
        assert_eq!(url.redacted(), "postgres://inbox:***@db:5432/inbox");
    }

    /// A pool on a new SQLite file holding the table `create` makes; the file goes with the
    /// directory.
    fn sqlite_pool_with(create: &str) -> (tempfile::TempDir, Pool) {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::parse(dir.path().join("t.db").to_str().unwrap()).unwrap();
        let pool = build_pool(&url, &PoolOptions::default());
        write_transaction(&mut pool.get().unwrap(), |c| c.batch_execute(create)).unwrap();
        (dir, pool)
    }

    fn rows_of_t(conn: &mut DbConnection) -> i64 {
        diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT COUNT(*) FROM t)",
        ))
        .get_result(conn)
        .unwrap()
    }

    fn fail_after_inserting_into_t(conn: &mut DbConnection) -> Result<(), diesel::result::Error> {
        write_transaction(conn, |c| {
            c.batch_execute("INSERT INTO t VALUES (1)")?;
            Err(diesel::result::Error::RollbackTransaction)
        })
    }

    #[test]
    fn failed_write_transaction_rolls_back_on_sqlite() {
        let (_dir, pool) = sqlite_pool_with("CREATE TABLE t (x INTEGER)");
        let mut conn = pool.get().unwrap();
        assert!(fail_after_inserting_into_t(&mut conn).is_err());
        write_transaction(&mut conn, |c| c.batch_execute("INSERT INTO t VALUES (2)")).unwrap();
        assert_eq!(rows_of_t(&mut conn), 1);
    }

    #[test]
    fn sqlite_connections_write_only_in_write_transactions() {
        let (_dir, pool) = sqlite_pool_with("CREATE TABLE t (x INTEGER)");
        let mut conn = pool.get().unwrap();
        let refused = |conn: &mut DbConnection| {
            let outside = conn.batch_execute("INSERT INTO t VALUES (1)");
            matches!(outside, Err(diesel::result::Error::DatabaseError(_, info))
                if info.message().contains("readonly"))
        };
        assert!(refused(&mut conn), "a write outside a write transaction");
        assert!(fail_after_inserting_into_t(&mut conn).is_err());
        assert!(
            refused(&mut conn),
            "a write after a failed write transaction"
        );
        write_transaction(&mut conn, |c| c.batch_execute("INSERT INTO t VALUES (2)")).unwrap();
        assert!(refused(&mut conn), "a write after a write transaction");
        assert!(run_migrations(&mut conn).unwrap() > 0);
        assert!(refused(&mut conn), "a write after the migrations");
        assert_eq!(
            rows_of_t(&mut conn),
            1,
            "reads work, and only the write transaction wrote"
        );
    }

    /// A writer that asks for SQLite's lock while another keeps taking it gets the next turn.
    /// Without the queue SQLite's busy handler polls, the writer that asks again at once wins
    /// every time, and the waiting one fails with "database is locked" after the busy timeout.
    #[test]
    fn a_waiting_sqlite_writer_is_not_overtaken_by_one_that_keeps_writing() {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        use std::sync::Arc;

        let (_dir, pool) = sqlite_pool_with("CREATE TABLE taken (turn INTEGER)");
        let mut conn = pool.get().unwrap();
        /// Stops the other writer however this test ends: left running, it would hold the
        /// process-wide queue against the other tests.
        struct StopsOnDrop(Arc<AtomicBool>);
        impl Drop for StopsOnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }

        let stop = Arc::new(AtomicBool::new(false));
        let stop_writer = StopsOnDrop(stop.clone());
        let turns_begun = Arc::new(AtomicU64::new(0));
        let writer = std::thread::spawn({
            let (pool, stop, turns_begun) = (pool.clone(), stop.clone(), turns_begun.clone());
            move || {
                let mut conn = pool.get().unwrap();
                while !stop.load(Ordering::SeqCst) {
                    write_transaction(&mut conn, |c| {
                        turns_begun.fetch_add(1, Ordering::SeqCst);
                        c.batch_execute("INSERT INTO taken VALUES (1)")?;
                        // The work of a batch of sends, during which the lock stays taken.
                        std::thread::sleep(Duration::from_millis(2));
                        Ok::<_, diesel::result::Error>(())
                    })
                    .unwrap();
                }
            }
        });
        let mut most_overtaken = 0;
        let mut last_seen = 0;
        for _ in 0..50 {
            // Asks only once the other writer has begun a turn since this one's: so each ask
            // meets the lock taken by a writer that takes it back to back, as a claim meets the
            // sends' writer, and without the queue would poll for it through SQLite's busy
            // handler until the timeout.
            while turns_begun.load(Ordering::SeqCst) == last_seen {
                assert!(!writer.is_finished(), "the other writer stopped");
                std::thread::yield_now();
            }
            let asked_after = turns_begun.load(Ordering::SeqCst);
            last_seen = write_transaction(&mut conn, |_| {
                Ok::<_, diesel::result::Error>(turns_begun.load(Ordering::SeqCst))
            })
            .unwrap();
            most_overtaken = most_overtaken.max(last_seen - asked_after);
        }
        drop(stop_writer);
        writer.join().unwrap();
        // With the queue the other writer begins no turn while this one waits; the margin is
        // for this thread being descheduled between reading the count and asking.
        assert!(
            most_overtaken <= 25,
            "the other writer began {most_overtaken} turns while this one waited"
        );
    }
}
