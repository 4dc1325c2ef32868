//! The one error type of the data layer.

use thiserror::Error;

/// A table or kind of row, for [`Error::NotFound`] and [`Conflict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Entity {
    /// A `skills` master row.
    Skill,
    /// A `workflow_runs` row.
    WorkflowRun,
    /// An `imported_skills` row.
    ImportedSkill,
    /// A `workspace_skills` row.
    WorkspaceSkill,
    /// A `workflow_artifacts` row.
    Artifact,
    /// A `workflow_sessions` row.
    WorkflowSession,
    /// A `skill_locks` row.
    SkillLock,
}

impl std::fmt::Display for Entity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Skill => "skill",
            Self::WorkflowRun => "workflow run",
            Self::ImportedSkill => "imported skill",
            Self::WorkspaceSkill => "workspace skill",
            Self::Artifact => "artifact",
            Self::WorkflowSession => "workflow session",
            Self::SkillLock => "skill lock",
        })
    }
}

/// A write refused because of what is already stored.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Conflict {
    /// The skill is locked by another app instance whose process is alive.
    #[error("Skill '{skill_name}' is being edited in another instance ({instance_id}, pid {pid})")]
    LockHeld {
        /// The locked skill.
        skill_name: String,
        /// The instance holding the lock.
        instance_id: String,
        /// That instance's process id.
        pid: i64,
    },
    /// A row with this name (or id) exists already.
    #[error("{entity} '{key}' already exists")]
    AlreadyExists {
        /// What kind of row.
        entity: Entity,
        /// Its name or id.
        key: String,
    },
    /// A workspace skill cannot be made active: another active workspace skill has its
    /// purpose (at most one active skill per purpose). Activate it with
    /// `workspace_skills::activate_workspace_skill_exclusive`, which deactivates the
    /// other.
    #[error(
        "workspace skill '{skill_id}' cannot be active: another active workspace skill has its purpose"
    )]
    PurposeTaken {
        /// The workspace skill that was to be activated.
        skill_id: String,
    },
}

/// Input refused before anything was written.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum InvalidInput {
    /// A skill name (or another required name) was empty or whitespace-only.
    #[error("{field} must not be empty")]
    Empty {
        /// Which input.
        field: &'static str,
    },
    /// A text input contained a NUL character (SQLite text would be cut there).
    #[error("{field} must not contain NUL characters")]
    ContainsNul {
        /// Which input.
        field: &'static str,
    },
    /// A new skill name is not kebab-case.
    #[error("Skill name must be kebab-case (lowercase letters, numbers, hyphens): '{0}'")]
    NotKebabCase(String),
    /// A workflow step id outside 0..=5 (or whatever range the operation documents).
    #[error("step id {0} is out of range")]
    StepOutOfRange(i64),
    /// A floating-point input that is NaN (SQLite cannot store it).
    #[error("{field} is not a number")]
    NotANumber {
        /// Which input.
        field: &'static str,
    },
    /// A value outside the fixed set a column accepts (e.g. a `skill_source` other
    /// than `skill-builder`, `marketplace`, `imported`).
    #[error("{field} must be one of {allowed:?}")]
    NotAllowed {
        /// Which input.
        field: &'static str,
        /// The accepted values.
        allowed: &'static [&'static str],
    },
    /// A value outside the range the operation accepts.
    #[error("{field} is out of range: {value}")]
    OutOfRange {
        /// Which input.
        field: &'static str,
        /// The refused value.
        value: i64,
    },
    /// The stored settings are not valid AppSettings JSON. The stored value is kept;
    /// it is never overwritten by defaults.
    #[error("stored settings cannot be read: {0}")]
    Settings(#[source] serde_json::Error),
}

/// Everything a data operation can fail with.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The row an operation needs does not exist.
    #[error("{entity} '{key}' not found")]
    NotFound {
        /// What kind of row.
        entity: Entity,
        /// The name or id looked up.
        key: String,
    },
    /// What is stored forbids the write.
    #[error(transparent)]
    Conflict(#[from] Conflict),
    /// The input was refused; nothing was written.
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
    /// A stored row holds a value the typed API cannot read exactly (written by
    /// another tool; see [`crate::malformed`]). Lists skip such rows instead.
    #[error(transparent)]
    Malformed(#[from] crate::malformed::MalformedRow),
    /// A write reached a connection that cannot write: a reader of the read-only pool
    /// (`Database::reader` of `skill-builder-app`, opened `read_only` with
    /// `query_only`), or a file that became read-only under an open connection
    /// (SQLite's `SQLITE_READONLY`). Nothing was written; retry on the writer
    /// (`Database::pool`).
    #[error("cannot write through a read-only connection (writes go to the writer pool): {0}")]
    ReadOnlyConnection(#[source] sqlx::Error),
    /// The row of `usage_summary` that the usage reports read is missing: another
    /// tool deleted it (see [`crate::usage`]; `skill-builder-db check` reports it).
    #[error(
        "the usage totals are missing (the file was edited by another tool): `skill-builder-db check` reports it"
    )]
    UsageTotalsMissing,
    /// The database failed underneath.
    #[error(transparent)]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for Error {
    /// Classify a driver error: `SQLITE_READONLY` (primary result code 8, any extended
    /// code) is [`Error::ReadOnlyConnection`], everything else [`Error::Database`].
    fn from(e: sqlx::Error) -> Self {
        if is_read_only(&e) {
            Self::ReadOnlyConnection(e)
        } else {
            Self::Database(e)
        }
    }
}

impl Error {
    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(entity: Entity, key: impl Into<String>) -> Self {
        Self::NotFound {
            entity,
            key: key.into(),
        }
    }

    /// Whether this is SQLite's UNIQUE/PRIMARY KEY violation.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, Self::Database(e) if is_unique_violation(e))
    }
}

/// Whether a database error is a UNIQUE or PRIMARY KEY constraint violation.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| matches!(d.kind(), sqlx::error::ErrorKind::UniqueViolation))
}

/// SQLite's primary result code `SQLITE_READONLY`.
const SQLITE_READONLY: i32 = 8;

/// Whether a database error is `SQLITE_READONLY` (any extended code).
pub(crate) fn is_read_only(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| c & 0xff == SQLITE_READONLY)
}

/// Whether a database error is a FOREIGN KEY constraint violation.
pub(crate) fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| matches!(d.kind(), sqlx::error::ErrorKind::ForeignKeyViolation))
}

/// The result type of every operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Decode a JSON document built by SQLite (list screens read as one row); a mismatch
/// is a decode error of the database layer, like a column of the wrong type.
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| Error::Database(sqlx::Error::Decode(Box::new(e))))
}

/// Refuse an empty/whitespace-only or NUL-containing name.
pub(crate) fn require_name(field: &'static str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(InvalidInput::Empty { field }.into());
    }
    require_no_nul(field, value)
}

/// Refuse text containing NUL.
pub(crate) fn require_no_nul(field: &'static str, value: &str) -> Result<()> {
    if value.contains('\0') {
        return Err(InvalidInput::ContainsNul { field }.into());
    }
    Ok(())
}
