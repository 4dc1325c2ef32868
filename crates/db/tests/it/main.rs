//! The integration tests of `skill-builder-db`, one module per table or area, in one
//! binary (one link, one process): real database files opened with the production
//! code (`common`). Long variants of property tests run under `just stress`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agent_runs;
mod artifacts;
mod common;
mod imported_skills;
mod installed;
mod legacy_reads;
mod locks;
mod malformed;
mod pid_reuse;
mod rename;
mod sessions;
mod settings;
mod skills;
mod spin;
mod tags;
mod usage;
mod usage_lists;
mod workflow_runs;
mod workflow_steps;
mod workspace_skills;
