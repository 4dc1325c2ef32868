#!/usr/bin/env python3
"""Check migrations/ against the legacy files written by the existing app.

Usage: check_migrations.py [LEGACY_DIR] [--dbdump PATH] [--migrations DIR]

LEGACY_DIR (default: the repository's tests/fixtures/legacy) holds vNN.db files and, for each, the
canonical dump vNN.expected.json of what the existing app's startup makes of it.
dbdump.py (default: the repository's tools/dbdump.py) produces and defines that dump.

For every vNN.db this script works on a copy in a temporary directory and
emulates the startup of the new code (the Rust runner):

  1. create schema_migrations if missing, add its checksum column if missing;
  2. run the baseline (0000_baseline.sql; never recorded);
  3. run the repair pass;
  4. for each N in 1..28 not recorded: in one BEGIN IMMEDIATE transaction,
     run step N's file and record N with the SHA-384 of the file bytes;
  5. run the repair pass again.

All of it with PRAGMA foreign_keys=OFF, as the runner does. The result must
dump exactly like vNN.expected.json. Also checked:

  * a fresh empty database ends with the schema of v28.expected.json;
  * "24 recorded but not applied": v23.db with version 24 inserted into
    schema_migrations (step 24 never run) must end exactly like v23.expected.json;
  * a second startup on every upgraded file changes nothing;
  * the fill in 0024_*.sql (after the line "-- fill:") is byte-identical to
    repair/0024_fill.sql, and repair/ holds nothing else;
  * file names: 0000_baseline.sql, then exactly one 00NN_<snake>.sql for 1..28.

Repair pass: only when version 24 is recorded, add each of the six frontmatter
columns of skills that is missing and, if any was added, run the fill.

Prints one line per check (OK, or DIFF with a short diff) and exits 1 on any
mismatch. Needs python3 and its sqlite3 module only.
"""
import argparse
import hashlib
import importlib.util
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile

from pathlib import Path

# The repository this script lives in (tools/..).
REPO = Path(__file__).resolve().parent.parent

LAST_STEP = 28
FRONTMATTER_COLUMNS = [
    ("description", "TEXT"),
    ("version", "TEXT"),
    ("model", "TEXT"),
    ("argument_hint", "TEXT"),
    ("user_invocable", "INTEGER"),
    ("disable_model_invocation", "INTEGER"),
]
FILL_MARKER = b"-- fill:\n"
NAME_RE = re.compile(r"^(\d{4}|\d{14})_([a-z0-9]+(?:_[a-z0-9]+)*)\.sql$")
# This layer's own steps are timestamp versions (YYYYMMDDHHMMSS); 29..9999 belong to the
# existing app's sequential numbering and must never be used here.
OWN_VERSION_MIN = 10_000


class Migrations:
    """The SQL files: baseline, steps 1..LAST_STEP, and the repair fill."""

    def __init__(self, folder):
        self.folder = folder
        self.problems = []
        self.steps = {}  # version -> (file name, bytes)
        self.own_steps = {}  # this layer's timestamp versions -> (file name, bytes)
        self.baseline = None
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if not os.path.isfile(path) or not name.endswith(".sql"):
                continue
            m = NAME_RE.match(name)
            if not m:
                self.problems.append(f"bad file name {name}")
                continue
            version = int(m.group(1))
            data = open(path, "rb").read()
            if b"\r" in data:
                self.problems.append(f"{name} contains CR bytes (must be LF only)")
            if version == 0:
                if name != "0000_baseline.sql":
                    self.problems.append(f"version 0 must be 0000_baseline.sql, found {name}")
                self.baseline = data
            elif version >= OWN_VERSION_MIN:
                # This layer's own steps: not part of the contract emulated here (the Rust
                # legacy tests cover them); checked for the file rules below only.
                self.own_steps[version] = (name, data)
            elif version in self.steps:
                self.problems.append(f"two files for version {version}")
            else:
                self.steps[version] = (name, data)
        if self.baseline is None:
            self.problems.append("0000_baseline.sql missing")
        missing = [n for n in range(1, LAST_STEP + 1) if n not in self.steps]
        extra = [n for n in self.steps if n > LAST_STEP]
        if missing:
            self.problems.append(f"missing steps {missing}")
        if extra:
            self.problems.append(
                f"steps {extra} use the existing app's numbers (29..9999 are its later releases'); "
                "this layer's steps are YYYYMMDDHHMMSS_name.sql"
            )

        repair_dir = os.path.join(folder, "repair")
        repair_files = sorted(os.listdir(repair_dir)) if os.path.isdir(repair_dir) else []
        if repair_files != ["0024_fill.sql"]:
            self.problems.append(f"migrations/repair must hold only 0024_fill.sql, has {repair_files}")
        fill_path = os.path.join(repair_dir, "0024_fill.sql")
        self.fill = open(fill_path, "rb").read() if os.path.isfile(fill_path) else b""
        if 24 in self.steps:
            step24 = self.steps[24][1]
            idx = step24.find(b"\n" + FILL_MARKER)
            if idx < 0:
                self.problems.append("0024: no line '-- fill:'")
            elif step24[idx + 1 + len(FILL_MARKER):] != self.fill:
                self.problems.append("0024: text after '-- fill:' differs from repair/0024_fill.sql")
        for version, (name, data) in sorted({**self.steps, **self.own_steps}.items()):
            text = data.decode("utf-8")
            if not text.startswith("--"):
                self.problems.append(f"{name}: does not start with a -- comment header")
            code = "\n".join(l.split("--", 1)[0] for l in text.splitlines()).upper()
            # Own steps may hold triggers (CREATE TRIGGER … BEGIN … END, RAISE(ROLLBACK)).
            words = ("PRAGMA", "SELECT *") if version >= OWN_VERSION_MIN else (
                "BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SELECT *")
            for word in words:
                if re.search(r"\b" + re.escape(word) + r"(?=\W|$)", code):
                    self.problems.append(f"{name}: contains {word}")


def connect(path):
    con = sqlite3.connect(path, isolation_level=None)  # we issue BEGIN/COMMIT ourselves
    con.execute("PRAGMA foreign_keys=OFF")
    return con


def column_names(con, table):
    return [r[1] for r in con.execute(f"SELECT * FROM pragma_table_info('{table}')")]


def recorded(con):
    return {r[0] for r in con.execute("SELECT version FROM schema_migrations")}


def in_transaction(con, fn):
    con.execute("BEGIN IMMEDIATE")
    try:
        fn()
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def statements(sql):
    """Split a multi-statement script the way SQLite reads it."""
    start = 0
    for i, ch in enumerate(sql):
        if ch == ";" and sqlite3.complete_statement(sql[start:i + 1]):
            yield sql[start:i + 1]
            start = i + 1
    rest = "\n".join(l.split("--", 1)[0] for l in sql[start:].splitlines())
    if rest.strip():
        raise ValueError(f"incomplete statement at end of script: {sql[start:].strip()[:80]}")


def run_script(con, sql_bytes):
    # Not executescript(): before Python 3.12 it COMMITs any open transaction
    # first, and each step must run inside the caller's transaction.
    for stmt in statements(sql_bytes.decode("utf-8")):
        con.execute(stmt)


def repair(con, migs):
    def body():
        if 24 not in recorded(con):
            return
        present = set(column_names(con, "skills"))
        added = False
        for col, typ in FRONTMATTER_COLUMNS:
            if col not in present:
                con.execute(f"ALTER TABLE skills ADD COLUMN {col} {typ}")
                added = True
        if added:
            run_script(con, migs.fill)
    in_transaction(con, body)


def startup(path, migs):
    """Emulate the Rust runner's startup on the file at path."""
    con = connect(path)
    try:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, "
            "applied_at TEXT NOT NULL DEFAULT (datetime('now') || 'Z'), "
            "checksum BLOB)")
        if "checksum" not in column_names(con, "schema_migrations"):
            con.execute("ALTER TABLE schema_migrations ADD COLUMN checksum BLOB")
        in_transaction(con, lambda: run_script(con, migs.baseline))
        repair(con, migs)
        for version in range(1, LAST_STEP + 1):
            if version in recorded(con):
                continue
            data = migs.steps[version][1]

            def body(version=version, data=data):
                run_script(con, data)
                con.execute("INSERT INTO schema_migrations (version, checksum) VALUES (?, ?)",
                            (version, hashlib.sha384(data).digest()))
            in_transaction(con, body)
        repair(con, migs)
        con.execute("PRAGMA foreign_keys=ON")
        fk = con.execute("PRAGMA foreign_key_check").fetchall()
        ok = con.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            raise RuntimeError(f"integrity_check: {ok}")
        return fk
    finally:
        con.close()


def diff(expected, actual, path="", out=None, limit=8):
    """Short list of differences between two JSON-like values."""
    if out is None:
        out = []
    if len(out) >= limit:
        return out
    if isinstance(expected, dict) and isinstance(actual, dict):
        for k in sorted(set(expected) | set(actual)):
            if k not in actual:
                out.append(f"{path}/{k}: missing")
            elif k not in expected:
                out.append(f"{path}/{k}: unexpected {json.dumps(actual[k])[:120]}")
            else:
                diff(expected[k], actual[k], f"{path}/{k}", out, limit)
            if len(out) >= limit:
                break
    elif isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for i, (e, a) in enumerate(zip(expected, actual)):
            diff(e, a, f"{path}[{i}]", out, limit)
            if len(out) >= limit:
                break
    elif expected != actual:
        out.append(f"{path}: expected {json.dumps(expected)[:120]}, got {json.dumps(actual)[:120]}")
    return out


def schema_part(dump):
    return {t: {k: v for k, v in e.items() if k != "rows"} for t, e in dump.items()}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("legacy_dir", nargs="?", default=str(REPO / "tests" / "fixtures" / "legacy"))
    ap.add_argument("--dbdump", default=str(REPO / "tools" / "dbdump.py"))
    ap.add_argument("--migrations", default=os.path.join(here, "..", "migrations"))
    args = ap.parse_args()

    spec = importlib.util.spec_from_file_location("dbdump", args.dbdump)
    dbdump = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dbdump)

    def dump(path, schema_only=False):
        return json.loads(json.dumps(dbdump.dump(path, schema_only), default=str))

    failures = 0

    def report(label, problems, note=""):
        nonlocal failures
        if problems:
            failures += 1
            print(f"DIFF {label}")
            for p in problems:
                print(f"     {p}")
        else:
            print(f"OK   {label}{note}")

    migs = Migrations(os.path.abspath(args.migrations))
    report("migrations/ files", migs.problems)
    if migs.baseline is None or any(n not in migs.steps for n in range(1, LAST_STEP + 1)):
        return 1

    def upgrade_and_compare(label, src, expected_path, prepare=None):
        expected = json.load(open(expected_path))
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "skill-builder.db")
            shutil.copyfile(src, db)
            for suffix in ("-wal", "-shm"):
                if os.path.exists(src + suffix):
                    shutil.copyfile(src + suffix, db + suffix)
            if prepare:
                prepare(db)
            try:
                fk = startup(db, migs)
            except Exception as e:  # a failing step is a mismatch, not a crash
                report(label, [f"startup failed: {type(e).__name__}: {e}"])
                return
            first = dump(db)
            problems = diff(expected, first)
            if not problems:
                startup(db, migs)  # second startup: nothing pending, repair no-op
                again = dump(db)
                if again != first:
                    problems = ["second startup changed the file:"] + diff(first, again)
            note = f"  (foreign_key_check: {len(fk)} rows: {sorted(set(r[0] for r in fk))})" if fk else ""
            report(label, problems, note)

    legacy = sorted(f for f in os.listdir(args.legacy_dir) if re.match(r"^v\d+\.db$", f))
    if not legacy:
        report(f"legacy files in {args.legacy_dir}", ["no vNN.db found"])
    for name in legacy:
        src = os.path.join(args.legacy_dir, name)
        expected_path = src[:-3] + ".expected.json"
        if not os.path.exists(expected_path):
            report(name, [f"{os.path.basename(expected_path)} missing"])
            continue
        upgrade_and_compare(name, src, expected_path)

    # Fresh empty database: its schema must be the final one.
    final_path = os.path.join(args.legacy_dir, "v28.expected.json")
    if os.path.exists(final_path):
        expected = schema_part(json.load(open(final_path)))
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "fresh.db")
            try:
                startup(db, migs)
                report("fresh database (schema vs v28.expected.json)",
                       diff(expected, dump(db, schema_only=True)))
            except Exception as e:
                report("fresh database", [f"startup failed: {type(e).__name__}: {e}"])
    else:
        report("fresh database", ["v28.expected.json missing"])

    # Step 24 recorded but never applied (development builds).
    v23 = os.path.join(args.legacy_dir, "v23.db")
    if os.path.exists(v23):
        def record_24(db):
            con = sqlite3.connect(db, isolation_level=None)
            con.execute("INSERT INTO schema_migrations (version) VALUES (24)")
            con.close()
        upgrade_and_compare("v23.db + 24 recorded, not applied (vs v23.expected.json)",
                            v23, os.path.join(args.legacy_dir, "v23.expected.json"), record_24)
    else:
        report("24 recorded but not applied", ["v23.db missing"])

    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
