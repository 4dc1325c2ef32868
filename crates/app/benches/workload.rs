//! Criterion benchmarks of the standard workload (`shared/spec/workload.md`) and the hot
//! operations, each beside a raw rusqlite baseline running the same SQL (read from
//! `.sqlx/`) on the same schema with cached prepared statements.
//!
//! `cargo bench -p skill-builder-app --bench workload` runs them; in every group the
//! `sqlx` function is this layer and `rusqlite` the floor; `tools/bench_table.py`
//! turns criterion's estimates into the table of BENCHMARKS.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod baseline;

use std::cell::Cell;
use std::path::Path;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use skill_builder_app::Database;
use skill_builder_app::bench::{
    ScreenLoop, Sizes, agent_run, analytics_once, catalog_once, seed_agent_runs, seed_catalog,
    seed_sessions, workflow_skill,
};
use skill_builder_db::{agent_runs, usage, workflow_steps};
use skill_builder_model::StepStatus;
use tokio::runtime::Runtime;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn open(rt: &Runtime, path: &Path) -> Database {
    rt.block_on(Database::open(path)).expect("open")
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
}

fn open_phases(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let counter = Cell::new(0u64);
    let fresh = || {
        counter.set(counter.get() + 1);
        dir.path().join(format!("cold-{}.db", counter.get()))
    };

    let mut g = c.benchmark_group("open_cold");
    g.bench_function("sqlx", |b| {
        b.iter_batched(
            &fresh,
            |p| rt.block_on(async { Database::open(&p).await.expect("open").close().await }),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("rusqlite", |b| {
        b.iter_batched(
            &fresh,
            |p| drop(baseline::open_cold(&p)),
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let warm = dir.path().join("warm.db");
    open(&rt, &warm);
    let mut g = c.benchmark_group("open_warm");
    g.bench_function("sqlx", |b| {
        b.iter(|| rt.block_on(async { Database::open(&warm).await.expect("open").close().await }))
    });
    g.bench_function("rusqlite", |b| b.iter(|| drop(baseline::open_warm(&warm))));
    g.finish();
}

fn write_ops(c: &mut Criterion) {
    let rt = runtime();
    let sql = baseline::Sql::load();
    let dir = tempfile::tempdir().expect("tempdir");
    let ours = open(&rt, &dir.path().join("ours.db"));
    let theirs = {
        let path = dir.path().join("theirs.db");
        open(&rt, &path).close_blocking(&rt);
        baseline::open(&path)
    };

    let mut g = c.benchmark_group("agent_runs");
    let i = Cell::new(0u64);
    g.bench_function("sqlx", |b| {
        b.iter(|| {
            i.set(i.get() + 1);
            rt.block_on(agent_runs::persist_agent_run(
                ours.pool(),
                &agent_run(i.get()),
            ))
            .expect("persist")
        })
    });
    let j = Cell::new(0u64);
    g.bench_function("rusqlite", |b| {
        b.iter(|| {
            j.set(j.get() + 1);
            baseline::persist_agent_run(&theirs, &sql, j.get());
        })
    });
    g.finish();

    let mut g = c.benchmark_group("save_step");
    let k = Cell::new(0i64);
    g.bench_function("sqlx", |b| {
        b.iter(|| {
            k.set(k.get() + 1);
            let status = if k.get() % 2 == 0 {
                StepStatus::Completed
            } else {
                StepStatus::InProgress
            };
            rt.block_on(workflow_steps::save_workflow_step(
                ours.pool(),
                "step-bench",
                k.get() % 6,
                &status,
            ))
            .expect("save step")
        })
    });
    let l = Cell::new(0i64);
    g.bench_function("rusqlite", |b| {
        b.iter(|| {
            l.set(l.get() + 1);
            let status = if l.get() % 2 == 0 {
                "completed"
            } else {
                "in_progress"
            };
            baseline::save_step(&theirs, &sql, "step-bench", l.get() % 6, status);
        })
    });
    g.finish();

    let mut g = c.benchmark_group("workflow");
    let m = Cell::new(0u64);
    g.bench_function("sqlx", |b| {
        b.iter(|| {
            m.set(m.get() + 1);
            rt.block_on(workflow_skill(ours.pool(), m.get()))
                .expect("workflow")
        })
    });
    let n = Cell::new(0u64);
    g.bench_function("rusqlite", |b| {
        b.iter(|| {
            n.set(n.get() + 1);
            baseline::workflow_skill(&theirs, &sql, n.get());
        })
    });
    g.finish();
}

fn read_ops(c: &mut Criterion) {
    let rt = runtime();
    let sql = baseline::Sql::load();
    let scale: u32 = std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let sizes = Sizes::scaled(scale);
    let dir = tempfile::tempdir().expect("tempdir");

    let path = dir.path().join("catalog.db");
    let db = open(&rt, &path);
    rt.block_on(seed_catalog(db.pool(), sizes.catalog_skills))
        .expect("seed");
    let theirs = baseline::open(&path);
    let mut g = c.benchmark_group(format!("catalog_x{scale}"));
    g.bench_function("sqlx", |b| {
        b.iter(|| rt.block_on(catalog_once(db.pool())).expect("catalog"))
    });
    g.bench_function("rusqlite", |b| {
        b.iter(|| baseline::catalog_once(&theirs, &sql))
    });
    g.finish();

    let path = dir.path().join("analytics.db");
    let db = open(&rt, &path);
    rt.block_on(async {
        seed_agent_runs(db.pool(), sizes.agent_runs).await?;
        seed_sessions(db.pool(), sizes.sessions).await
    })
    .expect("seed");
    let theirs = baseline::open(&path);
    let mut g = c.benchmark_group(format!("analytics_x{scale}"));
    g.bench_function("sqlx", |b| {
        b.iter(|| rt.block_on(analytics_once(db.pool())).expect("analytics"))
    });
    g.bench_function("rusqlite", |b| {
        b.iter(|| baseline::analytics_once(&theirs, &sql))
    });
    g.finish();

    // Each analytics query on its own (standard sizes only).
    if scale == 1 {
        let pool = db.pool();
        let mut g = c.benchmark_group("usage_summary");
        g.bench_function("sqlx", |b| {
            b.iter(|| {
                rt.block_on(usage::get_usage_summary(pool, true))
                    .expect("summary")
            })
        });
        g.bench_function("rusqlite", |b| {
            b.iter(|| baseline::one_query(&theirs, &sql.summary, &[]))
        });
        g.finish();
        let mut g = c.benchmark_group("usage_by_model");
        g.bench_function("sqlx", |b| {
            b.iter(|| {
                rt.block_on(usage::get_usage_by_model(pool, true))
                    .expect("by model")
            })
        });
        g.bench_function("rusqlite", |b| {
            b.iter(|| baseline::one_query(&theirs, &sql.by_model, &[&true]))
        });
        g.finish();
        let mut g = c.benchmark_group("usage_by_step");
        g.bench_function("sqlx", |b| {
            b.iter(|| {
                rt.block_on(usage::get_usage_by_step(pool, true))
                    .expect("by step")
            })
        });
        g.bench_function("rusqlite", |b| {
            b.iter(|| baseline::one_query(&theirs, &sql.by_step, &[&true]))
        });
        g.finish();
        let mut g = c.benchmark_group("recent_sessions");
        g.bench_function("sqlx", |b| {
            b.iter(|| {
                rt.block_on(usage::get_recent_workflow_sessions(pool, 50, true))
                    .expect("recent")
            })
        });
        g.bench_function("rusqlite", |b| {
            b.iter(|| baseline::one_query(&theirs, &sql.recent, &[&true, &50]))
        });
        g.finish();
    }
}

/// `persist_agent_run` alone and while the usage screen is read in a loop on the
/// readers (the `contention` phase of `skill-builder-db bench`, which reports the
/// p99; criterion reports the typical call). `BENCH_CONTENTION_SCALE` (default 5)
/// sizes the analytics data the screen reads.
fn contention(c: &mut Criterion) {
    let rt = runtime();
    let scale: u32 = std::env::var("BENCH_CONTENTION_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let sizes = Sizes::scaled(scale);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(&rt, &dir.path().join("contention.db"));
    rt.block_on(async {
        seed_agent_runs(db.pool(), sizes.agent_runs).await?;
        seed_sessions(db.pool(), sizes.sessions).await
    })
    .expect("seed");
    let next = Cell::new(sizes.agent_runs);
    let mut persist = || {
        next.set(next.get() + 1);
        rt.block_on(agent_runs::persist_agent_run(
            db.pool(),
            &agent_run(next.get()),
        ))
        .expect("persist")
    };
    let mut g = c.benchmark_group(format!("contention_x{scale}"));
    g.bench_function("alone", |b| b.iter(&mut persist));
    let screens = rt.block_on(ScreenLoop::start(&db));
    g.bench_function("during_screens", |b| b.iter(&mut persist));
    let screens = screens.stop().expect("screens");
    g.finish();
    eprintln!(
        "contention: {} usage screens read during the run",
        screens.len()
    );
}

trait CloseBlocking {
    fn close_blocking(self, rt: &Runtime);
}

impl CloseBlocking for Database {
    fn close_blocking(self, rt: &Runtime) {
        rt.block_on(self.close());
    }
}

criterion_group! {
    name = benches;
    config = config();
    targets = open_phases, write_ops, read_ops, contention
}
criterion_main!(benches);
