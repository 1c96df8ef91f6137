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


def test_cache_versions_logprob_statistics(tmp_path: Path) -> None:
    from mistakelab.core.types import Completion, GenParams, Message, TokenLogprob
    from mistakelab.store import db

    msgs = [Message(role="user", content="hi")]
    plain, lp = GenParams(seed=1), GenParams(seed=1, logprobs=True)
    key = db.cache_key("m", msgs, plain)
    assert db.cache_key("m", msgs, lp) == key  # statistics describe a sample: one key
    scored = (db.cache_key("m", msgs, lp, scored="4"),)
    st = RunStore(tmp_path / "r.db")
    st.create_run("r", "r", {})
    c = Completion(text="4", completion_tokens=1, logprobs=[TokenLogprob(token="4", logprob=-0.1)])
    st.record_call("r", "u", key, "m", "sample", msgs, lp, c)
    st.flush()
    got = st.cached_completion(key)
    assert got is not None and got.logprob_stats == db.LOGPROB_STATS_VERSION
    assert db.serves(got, lp) and db.serves(got, plain)
    old = db.LOGPROB_STATS_VERSION
    try:
        db.LOGPROB_STATS_VERSION = old + 1
        assert db.serves(got, plain)  # the text still serves a plain request
        assert not db.serves(got, lp)  # statistics of the old meaning do not
        assert db.cache_key("m", msgs, lp, scored="4") != scored[0]  # a scoring call: a new key
    finally:
        db.LOGPROB_STATS_VERSION = old
