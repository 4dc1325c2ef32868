#!/usr/bin/env python3
"""Markdown table of the criterion results: this layer (sqlx) beside the rusqlite baseline.

Usage: tools/bench_table.py [CRITERION_DIR]   (default target/criterion)

Reads <group>/{sqlx,rusqlite}/new/estimates.json (median) for every group the
`workload` bench writes, and prints one row per group: both medians, the ratio
(time ours / time baseline; for the throughput phases also as a share of the
baseline's calls/s), and the budget of issue 5 where there is one. Issue 20's
ratio budgets are judged on the paired bench (`benches/paired.rs`, BENCHMARKS.md),
whose alternating rounds the VM's drift cannot skew.
"""
import json
import os
import sys

BUDGET = {
    "open_warm": ("<= 3 ms (absolute)", lambda ours, base: ours <= 3e6),
    "open_cold": ("<= 40 ms (absolute)", lambda ours, base: ours <= 40e6),
    "agent_runs": (">= 50% of baseline calls/s", lambda ours, base: base / ours >= 0.5),
    "catalog_x1": ("<= 1.25x baseline", lambda ours, base: ours / base <= 1.25),
    "analytics_x1": ("<= 1.25x baseline", lambda ours, base: ours / base <= 1.25),
    "workflow": ("<= 1.25x baseline", lambda ours, base: ours / base <= 1.25),
}
ORDER = ["open_cold", "open_warm", "agent_runs", "save_step", "workflow", "catalog_x1", "analytics_x1"]


def median_ns(root, group, fn):
    path = os.path.join(root, group, fn, "new", "estimates.json")
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"]


def fmt(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e3:.1f} µs"


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
    groups = sorted(g for g in os.listdir(root) if os.path.isdir(os.path.join(root, g, "sqlx")))
    groups.sort(key=lambda g: (ORDER.index(g) if g in ORDER else len(ORDER), g))
    print("| group | sqlx (this layer) | rusqlite baseline | ratio (time) | budget | met |")
    print("|---|---|---|---|---|---|")
    for g in groups:
        try:
            ours, base = median_ns(root, g, "sqlx"), median_ns(root, g, "rusqlite")
        except OSError:
            continue
        ratio = f"{ours / base:.2f}x"
        if g in ("agent_runs", "save_step", "workflow"):
            ratio += f" ({100 * base / ours:.0f}% of baseline ops/s)"
        budget, ok = BUDGET.get(g, ("-", None))
        met = "-" if ok is None else ("yes" if ok(ours, base) else "**no**")
        print(f"| {g} | {fmt(ours)} | {fmt(base)} | {ratio} | {budget} | {met} |")


if __name__ == "__main__":
    main()
