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
]


def apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations; return the names applied now."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        # executescript commits implicitly; wrap so a failed migration leaves no half schema.
        conn.executescript(
            f"BEGIN;\n{sql}\nINSERT INTO _migrations VALUES ('{name}', {time.time()});\nCOMMIT;"
        )
        applied.append(name)
    return applied
