# Skill Builder data layer — developer commands. `just --list` shows them all.

set shell := ["bash", "-euo", "pipefail", "-c"]

# The database the query macros are checked against, built by the migrations.
schema_db := "target/sqlx/schema.db"

# Show the recipes.
default:
    @just --list

# Run the skill-builder-db tool (default: `status` of the default database).
run *ARGS="status":
    cargo run -q -p skill-builder-cli --bin skill-builder-db -- {{ ARGS }}

# examples/tauri-backend: async commands spawned on a multi-thread runtime, their
# results and errors printed as JSON.
# Run the example backend.
example:
    cargo run -q -p tauri-backend-example

# Every test of the workspace: unit, integration, doc tests and examples.
test:
    cargo test --workspace --all-features

# Formatting check, clippy and rustdoc (broken or redundant links) with warnings denied.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --all-features -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features

# Build a fresh database from the migrations (no query macros involved).
schema-db:
    mkdir -p target/sqlx
    rm -f {{ schema_db }} {{ schema_db }}-wal {{ schema_db }}-shm
    cargo run -q -p skill-builder-migrations --bin skill-builder-schema -- {{ schema_db }}

# Regenerate the offline query cache `.sqlx/` (commit it with the queries that changed).
prepare: schema-db
    DATABASE_URL=sqlite:{{ schema_db }} SQLX_OFFLINE=false cargo sqlx prepare --workspace -- --all-targets --all-features

# Fail when `.sqlx/` is stale.
check-sqlx: schema-db
    DATABASE_URL=sqlite:{{ schema_db }} SQLX_OFFLINE=false cargo sqlx prepare --workspace --check -- --all-targets --all-features

# The cache check runs last: `cargo sqlx prepare` touches the sources, so steps after it
# would rebuild the crates. (`.ci/run` is the full CI: also the offline build, the
# Quick start, the example and `just stress`.)
# Lint, tests, then the `.sqlx/` cache check.
ci: lint test check-sqlx

# Each line selects the whole workspace as `just test` does (a filter picks the tests),
# so no line rebuilds with another feature set. `just test` runs a small case of each.
# Long reliability variants (CI runs them): more kill points, load, property-test cases.
stress:
    STRESS_KILL_POINTS=24 STRESS_GROWN_RUNS=50000 cargo test --workspace --all-features --test processes crash_migrate:: -- --nocapture
    cargo test --workspace --all-features --test processes hostile_env:: -- --ignored --nocapture
    STRESS_BACKUP_KILLS=6 cargo test --workspace --all-features --test it cli::a_backup_killed -- --nocapture
    STRESS_OPS=20000 STRESS_KILL_POINTS=60 STRESS_BACKUPS=15 STRESS_LOCK_ROUNDS=100 STRESS_OPEN_ROUNDS=20 STRESS_OPENERS=4 cargo test --workspace --all-features --test processes processes:: -- --nocapture
    PROPTEST_CASES=120 cargo test --workspace --all-features --test it bad_input:: -- --nocapture
    PROPTEST_CASES=200 cargo test --workspace --all-features --test it usage_history:: -- --nocapture
    PROPTEST_CASES=100 cargo test --workspace --all-features --test it usage_totals:: -- --nocapture
    PROPTEST_CASES=200 cargo test --workspace --all-features --test it usage_lists:: -- --nocapture

# Benchmarks (release): criterion beside the rusqlite baseline, its table, the paired ratios.
bench:
    cargo bench -p skill-builder-cli --bench workload
    python3 tools/bench_table.py
    cargo bench -p skill-builder-cli --bench paired
