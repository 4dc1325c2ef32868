//! A skill's life through the data layer, start to finish:
//! open → create → steps → artifacts → agent runs → tags → lock → usage report → delete.
//!
//! The life itself is [`skill_builder_cli::demo::skill_life`] (also run by
//! `skill-builder-db demo`, which keeps the skill); this example then deletes it.
//!
//! ```sh
//! cargo run -p skill-builder-app --example skill_lifecycle            # temporary database
//! cargo run -p skill-builder-app --example skill_lifecycle -- my.db   # or a file of yours
//! ```

use skill_builder_app::Database;
use skill_builder_app::db::{skills, workflow_runs};
use skill_builder_cli::demo::skill_life;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = std::env::args_os()
        .nth(1)
        .map_or_else(|| dir.path().join("skill-builder.db"), Into::into);

    // Open: creates the file (0600), applies the migrations, one WAL connection.
    let db = Database::open(&path).await?;
    println!(
        "opened {} at schema version {}",
        path.display(),
        db.migration_report().to_version
    );
    let mut conn = db.pool().acquire().await?;
    let skill = "sales-pipeline";

    // Create, lock, session, six steps with artifacts and agent runs, tags, usage, unlock.
    skill_life(&mut conn, skill, &mut std::io::stdout()).await?;

    // Delete the skill with everything attached to it.
    workflow_runs::delete_workflow_run(&mut conn, skill).await?;
    let left = skills::list_all_skills(&mut *conn).await?;
    println!("deleted; {} skill(s) left", left.len());

    drop(conn);
    db.close().await;
    Ok(())
}
