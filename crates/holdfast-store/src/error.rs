//! The one error type of every store backend.
use std::path::PathBuf;

/// Everything that can go wrong opening, importing into or reading a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or created (missing directory, permissions, not a database…).
    #[error("cannot open store at {}: {source}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's reason.
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer Holdfast whose schema this version does not know.
    #[error(
        "store {location} has schema version {found}, but this Holdfast supports up to version {supported}; \
         upgrade Holdfast (or import into a new store) instead of opening it with an older version"
    )]
    SchemaTooNew {
        /// The database file (or `:memory:`).
        location: String,
        /// Its `user_version`.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A URL scheme or feature this build has no backend for.
    #[error("{0}")]
    Unsupported(String),
    /// Stored data that does not decode (edited by hand, or written by a buggy tool).
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The stored records do not form a consistent data set (e.g. a line whose invoice is missing).
    #[error("inconsistent store contents: {0}")]
    Inconsistent(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}
