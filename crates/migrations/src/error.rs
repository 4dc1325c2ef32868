use thiserror::Error;

/// What can go wrong while reading or upgrading a file's schema.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MigrationError {
    /// The file records steps this build does not know: a later Skill Builder release
    /// wrote it (the existing app's steps 29, 30, … or a newer build's own timestamp
    /// steps). Nothing was changed.
    #[error(
        "the database records migration step(s) {} that this build does not know: a later \
         Skill Builder release wrote it; open it with that release or a newer one (this build \
         knows steps 1..={} and its own up to {latest})",
        crate::error::version_list(versions),
        crate::CONTRACT_VERSION
    )]
    NewerSchema {
        /// Every recorded version this build does not know, ascending.
        versions: Vec<i64>,
        /// [`crate::LATEST_VERSION`].
        latest: i64,
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
    #[error(
        "unknown target version {0}: this build knows steps 1..={contract} and its own {own}",
        contract = crate::CONTRACT_VERSION,
        own = crate::error::version_list(&crate::steps().map(|m| m.version).filter(|v| *v > crate::CONTRACT_VERSION).collect::<Vec<_>>())
    )]
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

/// `versions` (ascending) as text with runs compressed: `29..=40, 42..=61`.
pub(crate) fn version_list(versions: &[i64]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < versions.len() {
        let start = versions[i];
        let mut end = start;
        while i + 1 < versions.len() && versions[i + 1] == end + 1 {
            i += 1;
            end = versions[i];
        }
        parts.push(match end - start {
            0 => start.to_string(),
            1 => format!("{start}, {end}"),
            _ => format!("{start}..={end}"),
        });
        i += 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_lists_compress_runs() {
        assert_eq!(version_list(&[29]), "29");
        assert_eq!(version_list(&[29, 30]), "29, 30");
        let later: Vec<i64> = (29..=61).filter(|v| *v != 41).collect();
        assert_eq!(version_list(&later), "29..=40, 42..=61");
        assert_eq!(version_list(&[]), "");
    }
}

impl MigrationError {
    /// The stable code of the serialized form (`{ "kind", "message" }`):
    /// `newer_schema`, `checksum_mismatch`, `unknown_target`,
    /// `foreign_key_violations`, `missing_baseline`, `step`, `database`. Codes are
    /// never renamed or reused.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NewerSchema { .. } => "newer_schema",
            Self::ChecksumMismatch { .. } => "checksum_mismatch",
            Self::UnknownTarget(_) => "unknown_target",
            Self::ForeignKeyViolations { .. } => "foreign_key_violations",
            Self::MissingBaseline => "missing_baseline",
            Self::Step { .. } => "step",
            Self::Database(_) => "database",
        }
    }
}

skill_builder_model::serialize_error!(MigrationError);
