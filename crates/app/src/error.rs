use std::path::PathBuf;

use skill_builder_migrations::MigrationError;
use thiserror::Error;

/// Why a database could not be opened, inspected or copied.
///
/// Every variant that refuses a file leaves it byte-for-byte untouched — except that
/// [`crate::Database::open`] first rolls back a hot `-journal` (as any read-write
/// SQLite open does), so a file refused after that is left rolled back.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum OpenError {
    /// No default location: the platform has no per-user data directory and
    /// `SKILL_BUILDER_DB` is not set.
    #[error("no per-user data directory on this platform; set SKILL_BUILDER_DB")]
    NoDataDir,
    /// The folder for the file is missing and could not be created.
    #[error("cannot create folder {path}: {source}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file (or, for a new file, its folder) is not writable.
    #[error("{path} is read-only")]
    ReadOnly {
        /// The file or folder.
        path: PathBuf,
    },
    /// A rollback-journal file holds a hot `-journal`: a writer died mid-transaction
    /// (or the file was copied or restored with its journal). Only a read-write open
    /// can roll it back; [`crate::Database::open`] (`migrate`) does that and proceeds,
    /// the read-only commands (`status`, `check`, `backup`) report this instead.
    #[error("{path}: an interrupted transaction must be rolled back: run `migrate`")]
    RollbackPending {
        /// The file.
        path: PathBuf,
    },
    /// The path is not valid UTF-8: SQLite cannot be given it. Refused before
    /// anything is created.
    #[error("{path:?} is not valid UTF-8; SQLite cannot open it (rename the file or folder)")]
    NotUtf8 {
        /// The path.
        path: PathBuf,
    },
    /// There is no database at this path (for operations that never create one).
    #[error("no database at {path}")]
    Missing {
        /// The path.
        path: PathBuf,
    },
    /// The file exists but is not an SQLite database.
    #[error("{path} is not a Skill Builder database (not an SQLite file)")]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// SQLite reports the file as damaged.
    #[error("{path} is corrupt: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// SQLite's message.
        detail: String,
    },
    /// Another process held the write lock past the busy timeout.
    #[error("{path} is locked by another process (waited past the busy timeout)")]
    Locked {
        /// The file.
        path: PathBuf,
    },
    /// The file cannot be put in WAL mode (e.g. a file system without shared memory).
    #[error("{path} cannot use WAL journaling (journal mode stays '{mode}')")]
    JournalMode {
        /// The file.
        path: PathBuf,
        /// The mode SQLite kept.
        mode: String,
    },
    /// The schema could not be brought up to date (includes newer-version and
    /// edited-migration refusals).
    #[error("{path}: {source}")]
    Migration {
        /// The file.
        path: PathBuf,
        /// What the migration runner reported.
        #[source]
        source: MigrationError,
    },
    /// The snapshot taken before an upgrade could not be written (disk full, read-only
    /// folder, …), so the upgrade did not run. The database file is unchanged; no
    /// partial snapshot is left.
    #[error("cannot write the pre-upgrade snapshot {path}, so the upgrade did not run: {source}")]
    Snapshot {
        /// The snapshot that could not be written.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<OpenError>,
    },
    /// A file-system error.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Any other database error.
    #[error("{path}: {source}")]
    Database {
        /// The file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: sqlx::Error,
    },
}

impl OpenError {
    /// SQLite's primary result code of a database error (the extended code's low byte).
    fn primary_code(e: &sqlx::Error) -> Option<i32> {
        e.as_database_error()
            .and_then(|d| d.code())
            .and_then(|c| c.parse::<i32>().ok())
            .map(|c| c & 0xff)
    }

    /// SQLite's extended result code of a database error.
    fn extended_code(e: &sqlx::Error) -> Option<i32> {
        e.as_database_error()
            .and_then(|d| d.code())
            .and_then(|c| c.parse::<i32>().ok())
    }

    /// Whether a database error is SQLITE_BUSY or SQLITE_LOCKED.
    pub(crate) fn is_busy(e: &sqlx::Error) -> bool {
        matches!(Self::primary_code(e), Some(5 | 6))
    }

    /// Classify a SQLite error raised while working on `path`.
    pub(crate) fn from_sqlx(path: &std::path::Path, source: sqlx::Error) -> Self {
        let path = path.to_path_buf();
        // SQLITE_READONLY_ROLLBACK: a read-only connection met a hot journal.
        if Self::extended_code(&source) == Some(776) {
            return Self::RollbackPending { path };
        }
        match Self::primary_code(&source) {
            Some(26) => Self::NotADatabase { path },
            Some(11) => Self::Corrupt {
                detail: source
                    .as_database_error()
                    .map(|d| d.message().to_owned())
                    .unwrap_or_default(),
                path,
            },
            Some(5 | 6) => Self::Locked { path },
            Some(8) => Self::ReadOnly { path },
            _ => Self::Database { path, source },
        }
    }

    /// Classify a migration error raised while working on `path`.
    pub(crate) fn from_migration(path: &std::path::Path, source: MigrationError) -> Self {
        match source {
            MigrationError::Database(e) => Self::from_sqlx(path, e),
            source => Self::Migration {
                path: path.to_path_buf(),
                source,
            },
        }
    }

    /// A process exit code for the command-line tool: 2 a path that is not UTF-8,
    /// 3 newer schema, 4 not a database or corrupt, 5 read-only or cannot create (also
    /// a snapshot that cannot be written for that reason), 6 locked, 7 an interrupted
    /// transaction to roll back (run `migrate`), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Snapshot { source, .. } => match source.as_ref() {
                Self::ReadOnly { .. } | Self::CreateDir { .. } => 5,
                Self::Io { source, .. }
                    if matches!(
                        source.kind(),
                        std::io::ErrorKind::PermissionDenied
                            | std::io::ErrorKind::ReadOnlyFilesystem
                    ) =>
                {
                    5
                }
                _ => 1,
            },
            Self::Migration {
                source: MigrationError::NewerSchema { .. },
                ..
            } => 3,
            Self::NotADatabase { .. } | Self::Corrupt { .. } => 4,
            Self::ReadOnly { .. } | Self::CreateDir { .. } => 5,
            Self::Locked { .. } => 6,
            Self::RollbackPending { .. } => 7,
            Self::NotUtf8 { .. } => 2,
            _ => 1,
        }
    }
}

impl OpenError {
    /// The stable code of the serialized form (`{ "kind", "message" }`, as every
    /// error of the layer): `no_data_dir`, `create_dir`, `read_only`,
    /// `rollback_pending`, `not_utf8`, `missing`, `not_a_database`, `corrupt`,
    /// `locked`, `journal_mode`, `newer_schema` (a later release wrote the file),
    /// `checksum_mismatch` (an applied step was edited), `migration` (any other
    /// failure of the upgrade), `snapshot`, `io`, `database`. Codes
    /// are never renamed or reused; a new one is noted in CHANGELOG.md.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NoDataDir => "no_data_dir",
            Self::CreateDir { .. } => "create_dir",
            Self::ReadOnly { .. } => "read_only",
            Self::RollbackPending { .. } => "rollback_pending",
            Self::NotUtf8 { .. } => "not_utf8",
            Self::Missing { .. } => "missing",
            Self::NotADatabase { .. } => "not_a_database",
            Self::Corrupt { .. } => "corrupt",
            Self::Locked { .. } => "locked",
            Self::JournalMode { .. } => "journal_mode",
            Self::Migration { source, .. } => match source {
                MigrationError::NewerSchema { .. } => "newer_schema",
                MigrationError::ChecksumMismatch { .. } => "checksum_mismatch",
                _ => "migration",
            },
            Self::Snapshot { .. } => "snapshot",
            Self::Io { .. } => "io",
            Self::Database { .. } => "database",
        }
    }
}

skill_builder_model::serialize_error!(OpenError);
