//! The integration tests of `skill-builder-app`, one module per area, in one binary:
//! the API an app calls (`api`), opening and upgrading real files (`open`, `legacy`),
//! hostile input (`bad_input`), secrets, malformed values met by writes, and the usage
//! totals. Fixtures and helpers shared with the tool's tests are in the workspace's
//! `tests/` folder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod bad_input;
#[path = "../../../../tests/common/mod.rs"]
mod common;
mod idle;
mod legacy;
mod malformed_writes;
mod open;
mod secrets;
mod usage_history;
mod usage_totals;
