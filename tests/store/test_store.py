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


def test_cache_key_versions_logprob_statistics() -> None:
    from mistakelab.core.types import GenParams, Message
    from mistakelab.store import db

    msgs = [Message(role="user", content="hi")]
    plain, lp = GenParams(), GenParams(logprobs=True)
    before = (db.cache_key("m", msgs, plain), db.cache_key("m", msgs, lp))
    old = db.LOGPROB_STATS_VERSION
    try:
        db.LOGPROB_STATS_VERSION = old + 1
        assert db.cache_key("m", msgs, plain) == before[0]  # no per-token statistics: same key
        assert db.cache_key("m", msgs, lp) != before[1]  # their meaning changed: a new key
    finally:
        db.LOGPROB_STATS_VERSION = old
