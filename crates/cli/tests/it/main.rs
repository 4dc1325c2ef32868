//! The integration tests of the `skill-builder-db` tool and what it shares with the
//! app crate's checks: commands, exit codes and output (`cli`, `demo`), refusal of
//! files a later release wrote, malformed values seen by `check`, the readers, and the
//! benchmark baseline.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bench_baseline;
mod cli;
#[path = "../../../../tests/common/mod.rs"]
mod common;
mod demo;
mod later_releases;
mod malformed;
mod reader;
