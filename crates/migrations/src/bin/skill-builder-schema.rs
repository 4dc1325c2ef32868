//! `skill-builder-schema PATH`: build a fresh database from the embedded migrations.
//!
//! `just prepare` uses it to make the database the query macros are checked against.
//! It links no query macros, so it builds while `.sqlx/` is stale.

use std::process::ExitCode;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: skill-builder-schema PATH   (PATH must not exist)");
        return ExitCode::from(2);
    };
    let path = std::path::PathBuf::from(path);
    if path.exists() {
        eprintln!("error: {} already exists", path.display());
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let mut conn = SqliteConnection::connect_with(&options).await?;
        let report = skill_builder_migrations::migrate(&mut conn, None).await?;
        conn.close().await?;
        Ok::<_, skill_builder_migrations::MigrationError>(report)
    });
    match result {
        Ok(report) => {
            println!("{}: schema version {}", path.display(), report.to_version);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
