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
    /// The stored settings are not valid AppSettings JSON (or could not be encoded).
    /// The stored value is kept; it is never overwritten by defaults. The problem
    /// names its kind and position only, never the stored text: serde_json's own
    /// message quotes the offending value, which may be an API key.
    #[error("stored settings cannot be read: {0}")]
    Settings(SettingsProblem),
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
    /// A write reached a connection that cannot write: a file that became read-only
    /// under an open connection, or a raw write statement on a read-only connection
    /// (SQLite's `SQLITE_READONLY`; the operations' own writes cannot be given a
    /// read-only connection: that is a compile error). Nothing was written.
    #[error("cannot write through a read-only connection (writes go to the writer): {0}")]
    ReadOnlyConnection(#[source] sqlx::Error),
    /// The row of `usage_summary` that the usage reports read is missing: another
    /// tool deleted it (see [`crate::usage`]; `skill-builder-db check` reports it).
    #[error(
        "the usage totals are missing (the file was edited by another tool): `skill-builder-db check` reports it"
    )]
    UsageTotalsMissing,
    /// The task asked for the writer (`Database::write` or `Database::begin` of
    /// `skill-builder-app`) while it holds it already: a `WriteConnection` or a
    /// `Transaction` of its own is still alive. Waiting would never end (the writer
    /// is one connection), so this fails at once; pass the handle it holds
    /// (`&mut tx`) to the operation instead. Nothing was run.
    #[error(
        "this task already holds the writer (an open transaction or write connection): pass it (`&mut tx`) to the operation instead of taking the writer again"
    )]
    WriterHeldByThisTask,
    /// The database failed underneath.
    #[error(transparent)]
    Database(sqlx::Error),
}

/// Why stored settings could not be decoded: the kind of problem and where, without
/// the stored text (see [`InvalidInput::Settings`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingsProblem {
    /// `invalid JSON`, `a value of the wrong type or shape`, `JSON that ends early`
    /// or `an I/O error`.
    pub kind: &'static str,
    /// 1-based line of the problem in the stored JSON (0 when unknown).
    pub line: usize,
    /// 1-based column of the problem in the stored JSON (0 when unknown).
    pub column: usize,
}

impl From<serde_json::Error> for SettingsProblem {
    fn from(e: serde_json::Error) -> Self {
        use serde_json::error::Category;
        Self {
            kind: match e.classify() {
                Category::Io => "an I/O error",
                Category::Syntax => "invalid JSON",
                Category::Data => "a value of the wrong type or shape",
                Category::Eof => "JSON that ends early",
            },
            line: e.line(),
            column: e.column(),
        }
    }
}

impl std::fmt::Display for SettingsProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at line {}, column {}",
            self.kind, self.line, self.column
        )
    }
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
    /// The error's stable code: the `kind` of its serialized form. `Error`
    /// implements `serde::Serialize` as `{ "kind": "<code>", "message": "<Display>" }`,
    /// the shape Tauri hands to the front end for a command's error; the message
    /// never holds a secret (settings values are never quoted: see
    /// [`InvalidInput::Settings`]).
    ///
    /// ```
    /// # fn main() -> Result<(), serde_json::Error> {
    /// let e = skill_builder_db::Error::not_found(skill_builder_db::Entity::Skill, "x");
    /// assert_eq!(
    ///     serde_json::to_value(&e)?,
    ///     serde_json::json!({ "kind": "not_found", "message": "skill 'x' not found" })
    /// );
    /// # Ok(()) }
    /// ```
    ///
    /// | kind | variant |
    /// |---|---|
    /// | `not_found` | [`Error::NotFound`] |
    /// | `lock_held` | [`Conflict::LockHeld`] |
    /// | `already_exists` | [`Conflict::AlreadyExists`] |
    /// | `purpose_taken` | [`Conflict::PurposeTaken`] |
    /// | `invalid_input` | [`Error::InvalidInput`] |
    /// | `malformed` | [`Error::Malformed`] |
    /// | `read_only` | [`Error::ReadOnlyConnection`] |
    /// | `usage_totals_missing` | [`Error::UsageTotalsMissing`] |
    /// | `writer_held_by_this_task` | [`Error::WriterHeldByThisTask`] |
    /// | `busy` | [`Error::Database`] with `SQLITE_BUSY` (another process held the lock past the busy timeout) |
    /// | `database` | any other [`Error::Database`] |
    ///
    /// Codes are never renamed or reused; a new variant gets a new code, noted in
    /// CHANGELOG.md.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::Conflict(c) => c.kind(),
            Self::InvalidInput(e) => e.kind(),
            Self::Malformed(_) => "malformed",
            Self::ReadOnlyConnection(_) => "read_only",
            Self::UsageTotalsMissing => "usage_totals_missing",
            Self::WriterHeldByThisTask => "writer_held_by_this_task",
            Self::Database(e) if is_busy(e) => "busy",
            Self::Database(_) => "database",
        }
    }

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

// Serialized as `{ "kind": kind(), "message": Display }` (see `Error::kind`).
skill_builder_model::serialize_error!(Error);
skill_builder_model::serialize_error!(Conflict);
skill_builder_model::serialize_error!(InvalidInput);

impl Conflict {
    /// The stable code of the serialized form: `lock_held`, `already_exists`,
    /// `purpose_taken` (as [`Error::kind`]).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::LockHeld { .. } => "lock_held",
            Self::AlreadyExists { .. } => "already_exists",
            Self::PurposeTaken { .. } => "purpose_taken",
        }
    }
}

impl InvalidInput {
    /// The stable code of the serialized form: `invalid_input` (as [`Error::kind`]).
    pub fn kind(&self) -> &'static str {
        "invalid_input"
    }
}

/// SQLite's primary result code `SQLITE_BUSY`.
const SQLITE_BUSY: i32 = 5;

/// Whether a database error is `SQLITE_BUSY` (any extended code).
pub(crate) fn is_busy(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| c & 0xff == SQLITE_BUSY)
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
