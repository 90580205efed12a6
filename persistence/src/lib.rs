//! Storage of the messages inbox: one Diesel query codebase over PostgreSQL (production) and
//! SQLite (the embedded default). Backend-specific SQL lives only where it must (full-text search,
//! transaction start, batch writes); everything else is written once against [`DbConnection`].

/// Runs `$body` with `$conn` bound to the backend's own connection, for statements the
/// multi-backend connection cannot build (`UNION ALL`). The body is written once and compiled
/// for each backend.
macro_rules! on_backend {
    ($conn:expr, |$backend:ident| $body:expr) => {
        match $conn {
            $crate::DbConnection::Postgresql($backend) => $body,
            $crate::DbConnection::Sqlite($backend) => $body,
        }
    };
}

/// Inserts a slice of rows with one statement: on PostgreSQL, where each statement is a round
/// trip, a [`column_arrays::ColumnArrays`] insert, which it parses and plans once per
/// connection; on SQLite, Diesel's own multi-row insert.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            $crate::DbConnection::Postgresql(pg) => {
                $crate::column_arrays::ArrayRows::columns(&($rows)[..])
                    .insert()
                    .execute(pg)
            }
            $crate::DbConnection::Sqlite(sqlite) => {
                diesel::insert_into($table).values($rows).execute(sqlite)
            }
        }
    };
}

pub mod accounts;
pub mod audit;
mod column_arrays;
pub mod conversations;
pub mod db;
pub mod directory;
pub mod excerpt;
pub mod fragment;
pub mod inbox;
pub mod live;
pub mod organizations;
pub mod read_markers;
pub mod schema;
pub mod search;
pub mod webhooks;

pub use db::{Backend, DatabaseUrl, DbConnection, Pool, PooledConnection};
/// Diesel's error, for callers that run their own work inside [`db::write_transaction`].
pub use diesel::result::Error as DieselError;

use chrono::{NaiveDateTime, SubsecRound, Utc};

/// Failures of the storage layer, already sorted into what the API must tell apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; carries the constraint's name when the backend
    /// reports it.
    #[error("conflict on {0}")]
    Conflict(String),
    /// The database could not be reached (pool timeout, refused connection).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(diesel::result::Error),
}

impl From<diesel::result::Error> for StoreError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound => StoreError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::Conflict(info.constraint_name().unwrap_or("unique").to_owned())
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
            | Error::BrokenTransactionManager => StoreError::Unavailable(error.to_string()),
            other => StoreError::Database(other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        StoreError::Unavailable(error.to_string())
    }
}

/// Now, truncated to microseconds: the precision PostgreSQL keeps, so that a time read back
/// equals the time written on both backends (cursors compare them).
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A new time-ordered id (UUIDv7) as stored.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
