//! Tests that spawn and kill processes: several app instances on one file, kills
//! during writes and during an upgrade, hostile environments (locks held by other
//! processes, read-only media, full disks). Their own binary, so that a killed child
//! never shares a process with unrelated tests; `just stress` runs them with more
//! kill points and load.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../../tests/common/mod.rs"]
mod common;
mod crash_migrate;
mod hostile_env;
mod processes;
