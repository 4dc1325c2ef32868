#!/usr/bin/env python3
"""SQL cost of one agent-run write, and a randomized check of the usage totals.

    python3 tools/usage_insert_cost.py cost [--upto VERSION] [--n 20000] [--rounds 5]
    python3 tools/usage_insert_cost.py check [--ops 3000] [--seed 1]

`cost` builds a fresh file from migrations/ (baseline and every step up to VERSION,
default all), then times N autocommit writes of agent run i (the bench's workload:
agent `a{i}`, model `i % 3`, skill `s{i % 200}`, step `i % 6`, `completed`, workflow
session `ws{i % 1000}`, tokens `i % 5000`, cost `(i % 100) / 100`) with the statement
persist_agent_run runs at that version (the upsert before step 20261207140000, the
INSERT OR REPLACE from it on), in WAL with synchronous NORMAL; prints the best round's
microseconds per write. Python's sqlite3 only: no Rust, no sqlx.

`check` (latest schema) runs random writes — this layer's persist, the existing app's
INSERT OR REPLACE, another tool's INSERT OR IGNORE, upsert and session REPLACE, updates
of costs/models/sessions, deletes, session inserts, resets and deletes, unreadable
values — and compares the usage totals with the plain aggregates after each one.
"""

import argparse
import glob
import os
import random
import re
import sqlite3
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
NO_FOLD = 20261207140000

UPSERT = """
INSERT INTO agent_runs (
    agent_id, skill_name, step_id, model, status, input_tokens, output_tokens,
    cache_read_tokens, cache_write_tokens, total_cost, duration_ms, num_turns,
    stop_reason, duration_api_ms, tool_use_count, compaction_count, session_id,
    workflow_session_id, workflow_run_id, started_at, completed_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
        COALESCE(?19, (
            SELECT wr.id FROM workflow_runs wr
            WHERE wr.skill_name = ?2
              AND NOT EXISTS (
                  SELECT 1 FROM workflow_sessions ws
                  WHERE ws.session_id = ?18
                    AND (ws.skill_id IS NULL OR ws.skill_id IS NOT wr.skill_id)))),
        datetime('now') || 'Z',
        CASE WHEN ?5 = 'running' THEN NULL ELSE datetime('now') || 'Z' END)
ON CONFLICT (agent_id, model) DO UPDATE SET
    skill_name = excluded.skill_name, step_id = excluded.step_id,
    status = excluded.status, input_tokens = excluded.input_tokens,
    output_tokens = excluded.output_tokens,
    cache_read_tokens = excluded.cache_read_tokens,
    cache_write_tokens = excluded.cache_write_tokens,
    total_cost = excluded.total_cost, duration_ms = excluded.duration_ms,
    num_turns = excluded.num_turns, stop_reason = excluded.stop_reason,
    duration_api_ms = excluded.duration_api_ms,
    tool_use_count = excluded.tool_use_count,
    compaction_count = excluded.compaction_count, session_id = excluded.session_id,
    workflow_session_id = excluded.workflow_session_id,
    workflow_run_id = COALESCE(?19, agent_runs.workflow_run_id),
    completed_at = excluded.completed_at
WHERE NOT ((agent_runs.status IN ('completed', 'error')
            OR typeof(agent_runs.status) <> 'text')
           AND excluded.status IN ('running', 'shutdown'))
"""


def persist_sql(snapshot=False):
    """A statement of persist_agent_run (crates/db/src/agent_runs.rs) today: the one for
    a final status (VALUES), or for a `running`/`shutdown` snapshot (guarded SELECT)."""
    src = open(os.path.join(ROOT, "crates/db/src/agent_runs.rs")).read()
    start = src.index('"INSERT OR REPLACE INTO agent_runs')
    if not snapshot:
        start = src.index('"INSERT OR REPLACE INTO agent_runs', start + 1)
    end = re.compile(r'"\s*,?\s*\)').search(src, start + 1).start()
    return src[start + 1 : end]


# The existing app's agent-run write (its own SQL, on any schema).
APP_REPLACE = """
INSERT OR REPLACE INTO agent_runs (agent_id, skill_name, step_id, model, status,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, total_cost,
    duration_ms, num_turns, stop_reason, duration_api_ms, tool_use_count,
    compaction_count, session_id, workflow_session_id, started_at, completed_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
        COALESCE((SELECT started_at FROM agent_runs WHERE agent_id = ?1 AND model = ?4),
                 datetime('now') || 'Z'),
        datetime('now') || 'Z')
"""


def versions():
    out = []
    for path in glob.glob(os.path.join(ROOT, "migrations", "*.sql")):
        out.append((int(os.path.basename(path).split("_")[0]), path))
    return sorted(out)


def build(path, upto=None, after=None):
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA foreign_keys = OFF")
    for version, file in versions():
        if upto is not None and version > upto:
            break
        if after is None or version > after:
            con.executescript("BEGIN;" + open(file).read() + ";COMMIT;")
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    return con


def run_args(i, status="completed", cost=None, session=None, model=None, step=None):
    tokens = i % 5000
    return (
        f"a{i}", f"s{i % 200}", (i % 6) if step is None else step,
        ["sonnet", "opus", "haiku"][i % 3] if model is None else model, status,
        tokens, tokens, 0, 0, ((i % 100) / 100) if cost is None else cost, 1000, 3,
        "end_turn", 900, 2, 0, f"sdk-{i}",
        f"ws{i % 1000}" if session is None else session, None,
    )


def cost(args):
    top = max(v for v, _ in versions())
    upto = args.upto or top
    sql = UPSERT if upto < NO_FOLD else persist_sql()
    best = None
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as d:
            con = build(os.path.join(d, "cost.db"), upto)
            t = time.process_time()
            for i in range(args.n):
                con.execute(sql, run_args(i))
            us = (time.process_time() - t) / args.n * 1e6
            best = us if best is None else min(best, us)
            con.close()
    print(f"version {upto}: {best:.1f} us per agent-run write ({args.n} writes, best of {args.rounds})")


# The plain aggregates, and the stored totals as the reports read them.
PLAIN = """
WITH per AS (SELECT workflow_session_id AS sid, TOTAL(total_cost) AS cost,
                    count(CASE WHEN total_cost > 0 THEN 1 END) AS paid, count(*) AS n
             FROM agent_runs_usage WHERE counted AND readable GROUP BY workflow_session_id),
     live AS (SELECT COALESCE(p.cost, 0.0) AS cost, p.n IS NULL OR p.cost > 0 AS shown
              FROM workflow_sessions ws LEFT JOIN per p ON p.sid = ws.session_id
              WHERE ws.reset_marker IS NULL)
SELECT (SELECT count(*) FROM live), (SELECT TOTAL(cost) FROM live),
       (SELECT count(*) FROM live WHERE shown), (SELECT TOTAL(cost) FROM live WHERE shown),
       (SELECT count(*) FROM agent_runs_usage WHERE counted AND NOT readable)
"""
STORED = """
SELECT s.sessions, (SELECT TOTAL(cost) FROM usage_groups) - s.dead_cost,
       s.sessions - s.hidden_sessions,
       (SELECT TOTAL(cost) FROM usage_groups) - s.dead_cost - s.hidden_cost,
       (SELECT count(*) FROM agent_runs_usage WHERE counted AND NOT readable)
FROM usage_summary AS s WHERE s.id = 0
"""
GROUPS = """
SELECT model, step_id, count(*), TOTAL(total_cost), count(CASE WHEN total_cost > 0 THEN 1 END),
       TOTAL(CASE WHEN total_cost > 0 THEN total_cost END)
FROM agent_runs_usage WHERE counted AND readable GROUP BY 1, 2 ORDER BY 1, 2
"""
SESSIONS = """
SELECT workflow_session_id, count(*), TOTAL(total_cost), count(CASE WHEN total_cost > 0 THEN 1 END)
FROM agent_runs_usage WHERE counted AND readable GROUP BY 1 ORDER BY 1
"""


def close(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def same(rows, mine):
    if len(rows) != len(mine):
        return False
    for r, m in zip(rows, mine):
        for x, y in zip(r, m):
            if isinstance(x, float) or isinstance(y, float):
                if not close(x, y):
                    return False
            elif x != y:
                return False
    return True


def compare(con, label):
    plain = con.execute(PLAIN).fetchone()
    stored = con.execute(STORED).fetchone()
    groups = con.execute(GROUPS).fetchall()
    mine = con.execute("SELECT model, step_id, runs, cost, paid_runs, paid_cost FROM usage_groups WHERE runs <> 0 ORDER BY 1, 2").fetchall()
    sess = con.execute(SESSIONS).fetchall()
    mine_s = con.execute("SELECT session_id, runs, cost, paid_runs FROM usage_sessions WHERE runs <> 0 ORDER BY 1").fetchall()
    live = con.execute("SELECT count(*) FROM usage_sessions u WHERE live <> EXISTS (SELECT 1 FROM workflow_sessions w WHERE w.session_id = u.session_id AND w.reset_marker IS NULL)").fetchone()[0]
    if not (same([plain], [stored]) and same(groups, mine) and same(sess, mine_s) and live == 0):
        print("MISMATCH after", label)
        print(" plain ", plain, "\n stored", stored, "\n live flags wrong", live)
        print(" groups", groups[:8], "\n mine  ", mine[:8])
        print(" sessions", sess[:8], "\n mine    ", mine_s[:8])
        sys.exit(1)


def check(args):
    rnd = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as d:
        # A file at the last fold step with history (this layer's upsert then, the
        # existing app's REPLACE, sessions, a reset), upgraded: every number kept.
        path = os.path.join(d, "check.db")
        old = build(path, NO_FOLD - 1)
        for n in range(2000):
            i = rnd.randrange(300)
            sess = f"ws{rnd.randrange(30)}"
            c = rnd.choice([0.0, 0.1, 0.25, None, 3.5])
            if n == 1000:
                old.execute("UPDATE workflow_sessions SET reset_marker = 'r' WHERE session_id < 'ws2'")
                old.execute("UPDATE agent_runs SET reset_marker = 'r' WHERE workflow_session_id < 'ws2'")
            elif n % 7 == 0:
                old.execute("INSERT OR IGNORE INTO workflow_sessions (session_id, skill_name, pid) VALUES (?, 's', 1)", (sess,))
            else:
                old.execute(UPSERT, run_args(i, rnd.choice(["running", "completed"]), c, sess, rnd.choice(["a", "b"])))
        old.close()
        con = build(path, None, NO_FOLD - 1)
        compare(con, "the upgrade")
        final, snapshot = persist_sql(), persist_sql(snapshot=True)
        for n in range(args.ops):
            op = rnd.randrange(15)
            i = rnd.randrange(60)
            sess = f"ws{rnd.randrange(8)}"
            c = rnd.choice([0.0, 0.0, 0.1, 0.2, 0.3, 1.5, None])
            if op <= 3:
                status = rnd.choice(["running", "completed", "shutdown", "error"])
                sql = snapshot if status in ("running", "shutdown") else final
                con.execute(sql, run_args(i, status, c, sess, rnd.choice(["a", "b"]), rnd.randrange(3)))
                label = "persist"
            elif op == 4:
                con.execute(APP_REPLACE, run_args(i, "completed", c, sess, rnd.choice(["a", "b"]))[:18])
                label = "existing app replace"
            elif op == 5:
                con.execute("UPDATE agent_runs SET total_cost = ? WHERE agent_id = ?", (c, f"a{i}"))
                label = "update cost"
            elif op == 6:
                con.execute("UPDATE OR IGNORE agent_runs SET workflow_session_id = ?, step_id = ?, model = ? WHERE agent_id = ?",
                            (rnd.choice([sess, None]), rnd.choice([1, 2, "x"]), rnd.choice(["a", "b", 7]), f"a{i}"))
                label = "update session/step"
            elif op == 7:
                con.execute("DELETE FROM agent_runs WHERE agent_id = ?", (f"a{i}",))
                label = "delete run"
            elif op == 8:
                con.execute("INSERT OR IGNORE INTO workflow_sessions (session_id, skill_name, pid) VALUES (?, 's', 1)", (sess,))
                label = "session insert"
            elif op == 9:
                con.execute("DELETE FROM workflow_sessions WHERE session_id = ?", (sess,))
                label = "session delete"
            elif op == 10 and rnd.random() < 0.1:
                con.execute("BEGIN")
                con.execute("UPDATE workflow_sessions SET reset_marker = 'r' WHERE reset_marker IS NULL")
                con.execute("UPDATE agent_runs SET reset_marker = 'r' WHERE reset_marker IS NULL")
                con.execute("COMMIT")
                label = "reset"
            elif op == 11:
                con.execute("UPDATE agent_runs SET total_cost = X'00' WHERE agent_id = ?", (f"a{i}",))
                label = "unreadable"
            elif op == 12:
                con.execute("INSERT OR IGNORE INTO agent_runs (agent_id, skill_name, step_id, model, status, total_cost, workflow_session_id)"
                            " VALUES (?, 's', 2, ?, 'completed', ?, ?)", (f"a{i}", rnd.choice(["a", "b"]), c, sess))
                label = "another tool's insert or ignore"
            elif op == 13:
                con.execute("INSERT INTO agent_runs (agent_id, skill_name, step_id, model, status, total_cost, workflow_session_id)"
                            " VALUES (?, 's', 3, ?, 'completed', ?, ?) ON CONFLICT (agent_id, model) DO UPDATE SET"
                            " total_cost = excluded.total_cost, workflow_session_id = excluded.workflow_session_id",
                            (f"a{i}", rnd.choice(["a", "b"]), c, sess))
                label = "another tool's upsert"
            elif op == 14:
                con.execute("INSERT OR REPLACE INTO workflow_sessions (session_id, skill_name, pid, reset_marker) VALUES (?, 's', 2, ?)",
                            (sess, rnd.choice([None, None, "r"])))
                label = "another tool's session replace"
            else:
                continue
            compare(con, f"op {n}: {label}")
        print(f"check: {args.ops} random writes, totals equal the plain aggregates after each")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cost")
    c.add_argument("--upto", type=int)
    c.add_argument("--n", type=int, default=20000)
    c.add_argument("--rounds", type=int, default=5)
    k = sub.add_parser("check")
    k.add_argument("--ops", type=int, default=3000)
    k.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    cost(args) if args.cmd == "cost" else check(args)


if __name__ == "__main__":
    main()
