"""Named schema migrations for the run store, applied in order and recorded.

A migration is applied once per database; its name is stored in ``_migrations`` so that later
versions of mistakelab only run what is new.
"""

from __future__ import annotations

import sqlite3
import time

MIGRATIONS: list[tuple[str, str]] = [
    (
        "001_initial",
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            status TEXT NOT NULL,
            config_json TEXT NOT NULL,
            git_rev TEXT,
            mistakelab_version TEXT
        );
        CREATE TABLE problems (
            run_id TEXT NOT NULL REFERENCES runs(id),
            task TEXT NOT NULL,
            position INTEGER NOT NULL,
            problem_id TEXT NOT NULL,
            problem_json TEXT NOT NULL,
            PRIMARY KEY (run_id, task, problem_id)
        );
        CREATE TABLE units (
            run_id TEXT NOT NULL REFERENCES runs(id),
            unit_key TEXT NOT NULL,
            model TEXT NOT NULL,
            task TEXT NOT NULL,
            strategy TEXT NOT NULL,
            problem_id TEXT NOT NULL,
            status TEXT NOT NULL,
            result_json TEXT,
            trace_json TEXT,
            finished_at REAL,
            PRIMARY KEY (run_id, unit_key)
        );
        CREATE TABLE calls (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL,
            unit_key TEXT NOT NULL,
            cache_key TEXT NOT NULL,
            model TEXT NOT NULL,
            purpose TEXT NOT NULL,
            cached INTEGER NOT NULL,
            request_json TEXT NOT NULL,
            completion_json TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX calls_by_unit ON calls(run_id, unit_key);
        CREATE TABLE completion_cache (
            key TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            request_json TEXT NOT NULL,
            completion_json TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        """,
    ),
    (
        # `mistakelab locate` keeps its records and per-record predictions, so a report can
        # show them (before this, only the call log and a JSONL file held them).
        "002_locate_predictions",
        """
        CREATE TABLE locate_records (
            run_id TEXT NOT NULL,
            record_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            record_json TEXT NOT NULL,
            PRIMARY KEY (run_id, record_id)
        );
        CREATE TABLE locate_predictions (
            run_id TEXT NOT NULL,
            locator_key TEXT NOT NULL,
            locator TEXT NOT NULL,
            record_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            split TEXT NOT NULL,
            source TEXT,
            label INTEGER,
            pred INTEGER,
            oracle INTEGER NOT NULL,
            calls INTEGER NOT NULL,
            tokens INTEGER NOT NULL,
            result_json TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (run_id, locator, record_id)
        );
        """,
    ),
    (
        # Long texts (questions, prompts, outputs) stored once, as content-addressed chunks
        # that JSON documents refer to (see store/texts.py). Rows written before keep their
        # texts inline and read as they are.
        "003_texts",
        """
        CREATE TABLE texts (
            hash TEXT PRIMARY KEY,
            body TEXT NOT NULL
        );
        """,
    ),
    (
        # `mistakelab improve`: each stage of each round of a loop (solve, hint, data, train,
        # eval) and what it made, so a killed loop continues and `show LOOP` reads the rounds.
        "004_improve_loops",
        """
        CREATE TABLE improve_stages (
            loop_id TEXT NOT NULL,
            round INTEGER NOT NULL,
            stage TEXT NOT NULL,
            status TEXT NOT NULL,
            result_json TEXT NOT NULL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (loop_id, round, stage)
        );
        """,
    ),
    (
        # Per-server figures of a model served by a pool of servers (base_url = [...]):
        # requests, failures (retried elsewhere), tokens, seconds, times marked down.
        "005_servers",
        """
        CREATE TABLE server_calls (
            run_id TEXT NOT NULL,
            model TEXT NOT NULL,
            server TEXT NOT NULL,
            calls INTEGER NOT NULL,
            failures INTEGER NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            latency_s REAL NOT NULL,
            downs INTEGER NOT NULL,
            PRIMARY KEY (run_id, model, server)
        );
        """,
    ),
]



class NotAStoreError(ValueError):
    """The database exists but is not a mistakelab run store (or is from a newer version)."""


def check_schema(conn: sqlite3.Connection) -> None:
    """Refuse a database that holds tables but is not a run store, or that a newer
    mistakelab migrated (its schema may mean things this version does not know)."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        return  # a new, empty database: it becomes a store
    if "_migrations" not in tables:
        shown = ", ".join(sorted(tables)[:6]) + (", ..." if len(tables) > 6 else "")
        raise NotAStoreError(f"an SQLite database, but not a mistakelab run store (its tables: {shown})")
    done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    unknown = sorted(done - {name for name, _ in MIGRATIONS})
    if unknown:
        raise NotAStoreError(f"written by a newer mistakelab (schema migrations {', '.join(unknown)} unknown "
                             "to this version); upgrade mistakelab to use it")
    if MIGRATIONS[0][0] not in done:
        raise NotAStoreError("an SQLite database with a _migrations table, but not a mistakelab run store")


def apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations; return the names applied now."""
    def pending() -> list[str]:
        has = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='_migrations'").fetchone()
        done = {row[0] for row in conn.execute("SELECT name FROM _migrations")} if has else set()
        return [name for name, _ in MIGRATIONS if name not in done]

    if not pending():
        return []  # nothing to write: no lock taken (a read-only store still opens)
    applied = []
    # One write transaction for the check and the changes, so two processes opening a new
    # store at once apply each migration once (the second waits, then finds it done).
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
        todo = pending()
        for name, sql in MIGRATIONS:
            if name not in todo:
                continue
            for statement in filter(str.strip, sql.split(";")):  # our DDL has no ";" inside
                conn.execute(statement)
            conn.execute("INSERT INTO _migrations VALUES (?, ?)", (name, time.time()))
            applied.append(name)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")  # a failed migration leaves no half schema
        raise
    return applied
