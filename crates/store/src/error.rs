//! What can go wrong in storage, in terms the layers above can act on.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist in this workspace (which is also what a record of another
    /// workspace looks like from here).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The change conflicts with the current state (already decided, duplicate name).
    #[error("{0}")]
    Conflict(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The database answers but lacks migrations this build needs (e.g. it was restored
    /// from an older backup while running): the versions, comma separated.
    #[error("database migrations not applied: {0}")]
    NotMigrated(String),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?}: expected sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
}

impl StoreError {
    /// Unique-constraint violations become conflicts the caller can explain.
    pub(crate) fn from_unique(e: sqlx::Error, what: &str) -> StoreError {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return StoreError::Conflict(what.to_owned());
        }
        StoreError::Database(e)
    }
}
