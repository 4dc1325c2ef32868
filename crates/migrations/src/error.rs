use thiserror::Error;

/// What can go wrong while reading or upgrading a file's schema.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MigrationError {
    /// The file was written by a newer build: it records a step this build does not know.
    /// Nothing was changed.
    #[error(
        "database schema version {found} is newer than this build supports (up to {supported}); \
         use a newer Skill Builder"
    )]
    NewerSchema {
        /// The highest version recorded in the file.
        found: i64,
        /// [`crate::LATEST_VERSION`].
        supported: i64,
    },
    /// A step recorded with a checksum that differs from the embedded file: someone edited
    /// an applied migration. Nothing was changed.
    #[error(
        "migration {version} ({description}) was edited after it was applied to this database \
         (checksum mismatch); restore the original file"
    )]
    ChecksumMismatch {
        /// The edited step.
        version: i64,
        /// Its description (file name without the version).
        description: String,
    },
    /// `--to N` asked for a version this build does not have.
    #[error("unknown target version {0}: this build knows steps 1..={max}", max = crate::LATEST_VERSION)]
    UnknownTarget(i64),
    /// A step would have added foreign-key violations (a table rebuild went wrong);
    /// the step was rolled back.
    #[error("migration {version} would add {added} foreign-key violation(s); rolled back")]
    ForeignKeyViolations {
        /// The step that was rolled back.
        version: i64,
        /// How many violations it would have added.
        added: i64,
    },
    /// The build embedded no baseline file (a packaging error).
    #[error("the baseline migration (version 0) is missing from this build")]
    MissingBaseline,
    /// A step failed in SQLite; the step was rolled back and not recorded.
    #[error("migration {version} ({description}) failed: {source}")]
    Step {
        /// The failing step.
        version: i64,
        /// Its description.
        description: String,
        /// SQLite's error.
        #[source]
        source: sqlx::Error,
    },
    /// Any other database error (opening, locking, reading the tracking table).
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl MigrationError {
    /// The SQLite error underneath, if there is one.
    pub fn as_database_error(&self) -> Option<&sqlx::Error> {
        match self {
            Self::Step { source, .. } | Self::Database(source) => Some(source),
            _ => None,
        }
    }
}
