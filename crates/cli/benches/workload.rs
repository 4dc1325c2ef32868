//! Criterion benchmarks of the standard workload (`shared/spec/workload.md`), each
//! phase beside raw: the existing app's SQL on its own step-28 schema (`baseline.rs`).
//!
//! `cargo bench -p skill-builder-cli --bench workload` runs them; in every group the
//! `sqlx` function is this layer and `rusqlite` raw; `tools/bench_table.py` turns
//! criterion's estimates into a table. The budgets are judged on the paired bench
//! (`benches/paired.rs`), which drift between the two sides cannot skew; these give
//! absolute times and criterion's confidence intervals.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod baseline;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use skill_builder_app::{Database, OpenOptions};
use skill_builder_cli::bench::{
    ScreenLoop, Sizes, agent_run, analytics_once, catalog_once, hop_once, seed_agent_runs,
    seed_catalog, seed_sessions, workflow_skill,
};
use skill_builder_db::agent_runs;
use tokio::runtime::Runtime;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
}

/// A file at the latest version (ours, open) and one at step 28 (raw, its path).
fn pair(rt: &Runtime, dir: &Path, stem: &str) -> (Database, PathBuf) {
    let ours = rt
        .block_on(Database::open(dir.join(format!("{stem}-ours.db"))))
        .expect("open");
    let theirs = dir.join(format!("{stem}-theirs.db"));
    rt.block_on(async {
        let options = OpenOptions::new().target(baseline::STEP);
        Database::open_with(&theirs, &options)
            .await
            .expect("open")
            .close()
            .await;
    });
    (ours, theirs)
}

fn scale() -> u32 {
    std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

fn writes(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");

    let (ours, theirs) = pair(&rt, dir.path(), "open_warm");
    let warm = ours.path().to_path_buf();
    rt.block_on(ours.close());
    let mut g = c.benchmark_group("open_warm");
    g.bench_function("sqlx", |b| {
        b.iter(|| rt.block_on(async { Database::open(&warm).await.expect("open").close().await }))
    });
    g.bench_function("rusqlite", |b| {
        b.iter(|| drop(baseline::open_warm(&theirs)))
    });
    g.finish();

    let (ours, theirs) = pair(&rt, dir.path(), "hop");
    let theirs = baseline::open(&theirs);
    let mut g = c.benchmark_group("hop");
    g.bench_function("sqlx", |b| {
        b.iter(|| rt.block_on(hop_once(&ours)).expect("hop"))
    });
    g.bench_function("rusqlite", |b| b.iter(|| baseline::hop(&theirs)));
    g.finish();

    let (ours, theirs) = pair(&rt, dir.path(), "agent_runs");
    let theirs = baseline::open(&theirs);
    let mut g = c.benchmark_group("agent_runs");
    let i = Cell::new(0u64);
    g.bench_function("sqlx", |b| {
        b.iter(|| {
            i.set(i.get() + 1);
            rt.block_on(async {
                agent_runs::persist_agent_run(&mut ours.write().await?, &agent_run(i.get())).await
            })
            .expect("persist")
        })
    });
    let j = Cell::new(0u64);
    g.bench_function("rusqlite", |b| {
        b.iter(|| {
            j.set(j.get() + 1);
            baseline::persist_agent_run(&theirs, j.get());
        })
    });
    g.finish();

    let (ours, theirs) = pair(&rt, dir.path(), "workflow");
    let theirs = baseline::open(&theirs);
    let mut g = c.benchmark_group("workflow");
    let m = Cell::new(0u64);
    g.bench_function("sqlx", |b| {
        b.iter(|| {
            m.set(m.get() + 1);
            rt.block_on(async { workflow_skill(&mut ours.write().await?, m.get()).await })
                .expect("workflow")
        })
    });
    let n = Cell::new(0u64);
    g.bench_function("rusqlite", |b| {
        b.iter(|| {
            n.set(n.get() + 1);
            baseline::workflow_skill(&theirs, n.get());
        })
    });
    g.finish();
}

fn reads(c: &mut Criterion) {
    let rt = runtime();
    let scale = scale();
    let sizes = Sizes::scaled(scale);
    let dir = tempfile::tempdir().expect("tempdir");

    let (ours, theirs) = pair(&rt, dir.path(), "catalog");
    rt.block_on(seed_catalog(&ours, sizes.catalog_skills))
        .expect("seed");
    let theirs = baseline::open(&theirs);
    baseline::seed_catalog(&theirs, sizes.catalog_skills);
    let mut g = c.benchmark_group(format!("catalog_x{scale}"));
    g.bench_function("sqlx", |b| {
        b.iter(|| rt.block_on(async { catalog_once(&mut ours.read().await?).await }))
    });
    g.bench_function("rusqlite", |b| b.iter(|| baseline::catalog_once(&theirs)));
    g.finish();

    let (ours, theirs) = pair(&rt, dir.path(), "analytics");
    rt.block_on(async {
        seed_agent_runs(&ours, sizes.agent_runs).await?;
        seed_sessions(&ours, sizes.sessions).await
    })
    .expect("seed");
    let theirs = baseline::open(&theirs);
    baseline::seed_analytics(&theirs, sizes.agent_runs, sizes.sessions);
    let mut g = c.benchmark_group(format!("analytics_x{scale}"));
    g.bench_function("sqlx", |b| {
        b.iter(|| rt.block_on(async { analytics_once(&mut ours.read().await?).await }))
    });
    g.bench_function("rusqlite", |b| b.iter(|| baseline::analytics_once(&theirs)));
    g.finish();

    // The writer while the usage screen is read in a loop on the readers.
    let mut g = c.benchmark_group(format!("contention_x{scale}"));
    let screens = rt.block_on(ScreenLoop::start(&ours));
    let k = Cell::new(sizes.agent_runs);
    g.bench_function("sqlx", |b| {
        b.iter(|| {
            k.set(k.get() + 1);
            rt.block_on(async {
                agent_runs::persist_agent_run(&mut ours.write().await?, &agent_run(k.get())).await
            })
            .expect("persist")
        })
    });
    g.finish();
    screens.stop().expect("screens");
}

criterion_group! {
    name = benches;
    config = config();
    targets = writes, reads
}
criterion_main!(benches);
