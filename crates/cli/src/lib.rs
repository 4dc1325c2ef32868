//! The `skill-builder-db` tool's library half: the standard workload
//! ([`mod@bench`], also used by the criterion benches) and the `demo` walk ([`demo`]).
//! The binary (`src/main.rs`) is a thin CLI over these and `skill-builder-app`.

pub mod bench;
pub mod demo;
