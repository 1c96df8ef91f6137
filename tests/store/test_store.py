"""Run store schema: named migrations applied once, runs created idempotently."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mistakelab.store import MIGRATIONS, RunStore, apply_migrations


def test_migrations_are_named_and_applied_once(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    RunStore(path).close()
    conn = sqlite3.connect(path)
    names = [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY name")]
    assert names == [n for n, _ in MIGRATIONS]
    assert apply_migrations(conn) == []  # nothing new the second time
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "problems", "units", "calls", "completion_cache"} <= tables


def test_create_run_is_idempotent(tmp_path: Path) -> None:
    st = RunStore(tmp_path / "r.db")
    assert st.create_run("a", "a", {"x": 1}) is True
    assert st.create_run("a", "a", {"x": 2}) is False
    info = st.get_run("a")
    assert info is not None and info.config == {"x": 1}
