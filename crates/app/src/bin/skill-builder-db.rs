//! `skill-builder-db`: migrate, inspect, check and back up a Skill Builder database.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use skill_builder_app::{Database, OpenError, OpenOptions, default_path};

/// Manage the Skill Builder database.
#[derive(Debug, Parser)]
#[command(name = "skill-builder-db", version, about)]
struct Cli {
    /// Database file (default: $SKILL_BUILDER_DB, else the per-user data directory).
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Open the database (creating it if missing), repair, apply pending steps, repair.
    Migrate {
        /// Apply steps only up to this version.
        #[arg(long, value_name = "N")]
        to: Option<i64>,
    },
    /// Show path, size, pragmas, schema version, pending steps and rows per table (read-only).
    Status {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Integrity check, foreign-key check and schema drift (read-only); exit 1 on problems.
    Check {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a consistent online copy of the database to PATH (which must not exist).
    Backup {
        /// Destination file.
        path: PathBuf,
    },
    /// Walk a new demo skill through its life into the database (created or upgraded), then show status.
    Demo,
    /// Run the standard workload (fresh files in a temporary folder; --db is not used).
    Bench {
        /// Print one JSON object `{ phase: { value, unit } }`.
        #[arg(long)]
        json: bool,
        /// Run only this phase (open_cold, open_warm, agent_runs, catalog, analytics, workflow,
        /// contention, recent_runs).
        #[arg(long, value_name = "NAME")]
        phase: Option<String>,
        /// Multiply the workload's sizes (for scaling figures).
        #[arg(long, default_value_t = 1, value_name = "N")]
        scale: u32,
    },
}

/// Why a command failed: a database error, or output that could not be written.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("cannot encode output: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Bench(#[from] skill_builder_app::bench::BenchError),
    #[error(transparent)]
    Demo(#[from] skill_builder_app::demo::DemoError),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Progress lines (e.g. waiting for another process's upgrade) stay plain text
        // when stderr is a file or a pipe.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(match &e {
                CliError::Open(e) => e.exit_code(),
                CliError::Bench(skill_builder_app::bench::BenchError::Open(e)) => e.exit_code(),
                CliError::Bench(skill_builder_app::bench::BenchError::UnknownPhase(_)) => 2,
                CliError::Demo(skill_builder_app::demo::DemoError::Open(e)) => e.exit_code(),
                CliError::Json(_) | CliError::Bench(_) | CliError::Demo(_) => 1,
            })
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, CliError> {
    if let Command::Bench { json, phase, scale } = &cli.command {
        bench(*json, phase.as_deref(), *scale).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let path = match cli.db {
        Some(p) => p,
        None => default_path()?,
    };
    match cli.command {
        Command::Migrate { to } => {
            let db = Database::open_with(&path, &OpenOptions { target: to }).await?;
            let report = db.migration_report().clone();
            db.close().await;
            if let Some(snapshot) = &report.snapshot {
                println!("snapshot: {}", snapshot.display());
            }
            for (old, new) in &report.renumbered {
                println!("renumbered: migration record {old} -> {new}");
            }
            for step in &report.repair_before.added_columns {
                println!("repaired: added skills.{step}");
            }
            for value in report
                .repair_before
                .fixed_values
                .iter()
                .chain(&report.repair_after.fixed_values)
            {
                println!("repaired: {value}");
            }
            for step in &report.applied {
                println!(
                    "applied {} {} ({} ms)",
                    step.version,
                    step.description,
                    step.elapsed.as_millis()
                );
            }
            println!(
                "{}: schema version {} -> {} ({} step(s) applied)",
                path.display(),
                report.from_version,
                report.to_version,
                report.applied.len()
            );
        }
        Command::Status { json } => {
            let status = skill_builder_app::status(&path).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                println!("path            {}", status.path.display());
                println!("exists          {}", status.exists);
                println!("size            {} bytes", status.size_bytes);
                println!(
                    "journal mode    {}",
                    status.journal_mode.as_deref().unwrap_or("-")
                );
                println!("busy timeout    {} ms", status.busy_timeout_ms);
                println!(
                    "foreign keys    {}",
                    if status.foreign_keys { "on" } else { "off" }
                );
                println!("synchronous     {}", status.synchronous);
                println!(
                    "schema version  {}",
                    status
                        .schema_version
                        .map_or_else(|| "-".into(), |v| v.to_string())
                );
                println!("pending         {:?}", status.pending);
                if let Some(why) = &status.refusal {
                    println!("refused         {why}");
                }
                for (table, rows) in &status.tables {
                    println!("  {table:<20} {rows:>8} rows");
                }
            }
        }
        Command::Check { json } => {
            let report = skill_builder_app::check(&path).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if report.is_healthy() {
                println!("{}: ok", path.display());
            } else {
                println!("{}: {} problem(s)", path.display(), report.problems().len());
                for p in report.problems() {
                    println!("- {p}");
                }
            }
            if !report.is_healthy() {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Backup { path: dest } => {
            skill_builder_app::backup(&path, &dest).await?;
            println!("{} -> {}", path.display(), dest.display());
        }
        Command::Demo => {
            skill_builder_app::demo::run(&path, &mut std::io::stdout().lock()).await?;
        }
        Command::Bench { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// `bench`: one line per phase, or one JSON object.
async fn bench(json: bool, phase: Option<&str>, scale: u32) -> Result<(), CliError> {
    use skill_builder_app::bench::{Phase, run_phase};
    let phases = match phase {
        Some(name) => vec![name.parse::<Phase>()?],
        None => Phase::ALL.to_vec(),
    };
    // Each measurement is written as its struct serializes (value, unit, then the
    // contention details), in phase order, not re-sorted through a JSON map.
    let mut results = Vec::new();
    for phase in phases {
        let m = run_phase(phase, scale).await?;
        if json {
            results.push(format!(
                "{}:{}",
                serde_json::to_string(phase.name())?,
                serde_json::to_string(&m)?
            ));
        } else {
            let mut line = format!("{:<12} {:>12.3} {}", phase.name(), m.value, m.unit);
            if let (Some(alone), Some(screen)) = (m.alone_p99_ms, m.screen_ms) {
                line.push_str(&format!(
                    " (p99 alone {alone:.3} ms, screen {screen:.3} ms)"
                ));
            }
            println!("{line}");
        }
    }
    if json {
        println!("{{{}}}", results.join(","));
    }
    Ok(())
}
