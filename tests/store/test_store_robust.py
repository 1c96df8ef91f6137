"""The run store under bad paths, foreign files, two processes at once, huge texts, and
stores written before texts were stored once."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mistakelab.backends import ScriptedBackend
from mistakelab.runner import parse_config, run_experiment
from mistakelab.store import MIGRATIONS, RunStore, StoreError
from mistakelab.store.texts import INLINE_MAX, chunk_bounds, pack, unpack

HERE = Path(__file__).parent
OLD_STORE = HERE / "data" / "store_001.db"  # written by make_old_store.py before 002_texts


# -- paths and files that are no store --------------------------------------------------------

def _sqlite_with(path: Path, sql: str) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(sql)
    conn.close()
    return path


@pytest.mark.parametrize("make, message", [
    (lambda d: (d / "x.db").write_text("just some text, not a database\n" * 10) and d / "x.db",
     "not an SQLite database"),
    (lambda d: (d / "x.db").write_bytes(os.urandom(4096)) and d / "x.db", "not an SQLite database"),
    (lambda d: _sqlite_with(d / "x.db", "CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('a');"),
     "not a mistakelab run store (its tables: people)"),
    (lambda d: _sqlite_with(d / "x.db", "CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at REAL);"
                                        "INSERT INTO _migrations VALUES ('001_initial', 0), ('999_future', 0);"),
     "written by a newer mistakelab (schema migrations 999_future"),
    (lambda d: d, "is a folder"),
    (lambda d: (d / "file").write_text("x") and d / "file" / "sub" / "r.db", "cannot create its folder"),
])
def test_what_is_not_a_store_is_refused_clearly(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path)
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(StoreError, match="run store .*: ") as info:
        RunStore(path)
    assert message in str(info.value) and str(path) in str(info.value)
    if before is not None:
        assert path.read_bytes() == before, "a foreign file is never changed"


def test_an_empty_file_becomes_a_store(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    st = RunStore(path)
    assert st.create_run("a", "a", {}) and [r.id for r in st.list_runs()] == ["a"]
    st.close()


# -- long texts are stored once ----------------------------------------------------------------

def _words(n_chars: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    vocab = ["apples", "baskets", "Tom", "has", "each", "more", "than", "the", "and", "of", "gives", "away"]
    out, size = [], 0
    while size < n_chars:
        w = rng.choice(vocab) if rng.random() < 0.8 else str(rng.randrange(1000))
        out.append(w)
        size += len(w) + 1
    return " ".join(out)[:n_chars]


def _file_run(tmp_path: Path, question: str, strategies: list[dict], store: Path):  # type: ignore[no-untyped-def]
    data = tmp_path / "big.jsonl"
    data.write_text(json.dumps({"id": "big", "question": question, "answer": "#### 7"}) + "\n", encoding="utf-8")
    return parse_config({
        "store": str(store), "n_problems": 1,
        "models": [{"backend": "scripted", "model": "fake"}],
        "tasks": [{"name": "gsm8k_file", "options": {"path": str(data)}}],
        "strategies": strategies,
    })


def _store_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def test_a_5_mb_question_makes_a_store_near_5_mb(tmp_path: Path) -> None:
    question = _words(5_000_000)
    store = tmp_path / "r.db"
    # cot, and self_consistency (three more requests of the same question)
    cfg = _file_run(tmp_path, question, [{"name": "cot"}, {"name": "self_consistency", "k": 3}], store)
    fake = ScriptedBackend(lambda m, p: "So \\boxed{7}.")
    s = asyncio.run(run_experiment(cfg, backend_factory=lambda spec: fake))
    assert s.units_done == 2 and s.calls_made == 4
    size = _store_bytes(store)
    # the question sits in the problem, 4 logged requests, 4 cache entries and 2 traces:
    # stored once it is 5 MB, plus the edge chunks the prompt suffix changes
    assert 5_000_000 <= size < 5_600_000, size
    st = RunStore(store)
    assert st.load_problems(s.run_id, "gsm8k_file")[0].question == question
    traces = [st.trace(s.run_id, u.unit_key) for u in st.units(s.run_id)]
    assert all(t is not None and t.calls[0].messages[0].content.startswith(question) for t in traces)
    st.close()
    # a rerun is served from the cache, texts and all
    again = ScriptedBackend(lambda m, p: "unused")
    s2 = asyncio.run(run_experiment(_file_run(tmp_path, question, [{"name": "self_consistency", "k": 3}], store),
                                    backend_factory=lambda spec: again))
    assert s2.calls_cached == 3 and again.calls == []


def test_chunks_are_shared_between_a_text_and_a_prompt_quoting_it() -> None:
    q = _words(1_000_000, seed=1)
    _, alone = pack(q)
    _, quoted = pack("The following is a math problem.\n\n" + q + "\n\nReview each paragraph.")
    shared = sum(len(v) for h, v in quoted.items() if h in alone)
    assert shared > 0.9 * len(q)
    for text in (q, "x" * 200_000, "ab" * 3000, "é" * INLINE_MAX, "\x00\u202e" * 5000):
        bounds = chunk_bounds(text)
        assert bounds[-1] == len(text) and bounds == sorted(set(bounds))
        doc, chunks = pack({"t": text, "short": "s"})
        assert json.loads(unpack(doc, chunks.__getitem__)) == {"t": text, "short": "s"}


# -- stores written before 002_texts -----------------------------------------------------------

def test_a_store_from_before_texts_were_stored_once_still_loads_and_resumes(tmp_path: Path) -> None:
    store = tmp_path / "old.db"
    shutil.copy(OLD_STORE, store)
    conn = sqlite3.connect(store)
    assert [r[0] for r in conn.execute("SELECT name FROM _migrations")] == ["001_initial"]
    conn.close()
    st = RunStore(store)
    (run,) = st.list_runs()
    assert run.id.startswith("old-") and run.status == "complete"
    problems = {p.id: p for p in st.load_problems(run.id, "gsm8k_file")}
    assert len(problems["long"].question) > INLINE_MAX and problems["short"].question == "2 + 2?"
    units = {u.problem_id: u for u in st.units(run.id)}
    assert units["long"].result.correct and not units["short"].result.correct
    trace = st.trace(run.id, units["long"].unit_key)
    assert trace is not None and trace.calls[0].messages[0].content.startswith(problems["long"].question)
    st.close()
    conn = sqlite3.connect(store)
    assert [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY name")] == [n for n, _ in MIGRATIONS]
    conn.close()
    # a new run asking the same questions is served by the old cache entries
    data = tmp_path / "same.jsonl"
    data.write_text("\n".join(json.dumps({"id": p.id, "question": p.question, "answer": f"#### {p.answer}"})
                              for p in problems.values()))
    cfg = parse_config({"name": "new", "store": str(store), "n_problems": 2,
                        "models": [{"backend": "scripted", "model": "fake"}],
                        "tasks": [{"name": "gsm8k_file", "options": {"path": str(data)}}],
                        "strategies": [{"name": "cot"}]})
    fake = ScriptedBackend(lambda m, p: "unused")
    s = asyncio.run(run_experiment(cfg, backend_factory=lambda spec: fake))
    assert (s.units_done, s.calls_made, s.calls_cached) == (2, 0, 2) and fake.calls == []


# -- two processes at once ---------------------------------------------------------------------

@pytest.mark.parametrize("same_run", [False, True])
def test_two_processes_on_one_store_both_finish(tmp_path: Path, same_run: bool) -> None:
    store, go = tmp_path / "shared.db", tmp_path / "go"
    names = ["shared", "shared"] if same_run else ["first", "second"]
    procs = [subprocess.Popen([sys.executable, str(HERE / "concurrent_target.py"), str(store), n, str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in names]
    go.write_text("")
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    summaries = [json.loads(o[0].strip().splitlines()[-1]) for o in outs]
    units = 30 * 2
    conn = sqlite3.connect(store)
    rows = conn.execute("SELECT run_id, COUNT(*), COUNT(DISTINCT unit_key) FROM units WHERE status='done' "
                        "GROUP BY run_id").fetchall()
    statuses = {r[0]: r[1] for r in conn.execute("SELECT id, status FROM runs")}
    conn.close()
    assert all(s["failed"] == 0 for s in summaries)
    if same_run:
        # one run, every unit stored once; together the processes did all of them
        assert rows == [(summaries[0]["run"], units, units)]
        assert sum(s["done"] for s in summaries) >= units
    else:
        assert sorted(rows) == sorted((s["run"], units, units) for s in summaries)
        assert all(s["done"] == units for s in summaries)
    assert set(statuses.values()) == {"complete"}


def _hold_lock(path: Path) -> sqlite3.Connection:
    """Another process creating the store: a new file (not yet in WAL mode), its exclusive
    lock held, so that even reading it waits."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("CREATE TABLE IF NOT EXISTS scratch (x)")
    return holder


def test_opening_a_store_another_process_holds_waits_and_retries(tmp_path: Path, monkeypatch) -> None:
    from mistakelab.store import sqlite as store_sqlite

    path = tmp_path / "held.db"
    monkeypatch.setattr(store_sqlite, "BUSY_TIMEOUT_MS", 10)
    holder = _hold_lock(path)
    waits: list[float] = []

    def release_on_wait(seconds: float) -> None:  # the other process finishes while we back off
        waits.append(seconds)
        if holder.in_transaction:
            holder.execute("ROLLBACK")

    monkeypatch.setattr(store_sqlite.time, "sleep", release_on_wait)
    store = RunStore(path)  # the first try meets the lock, the second opens
    assert len(waits) == 1
    assert store.list_runs() == []
    store.close()
    holder.close()


def test_a_store_locked_past_every_retry_is_one_clear_error(tmp_path: Path, monkeypatch) -> None:
    from mistakelab.store import sqlite as store_sqlite

    path = tmp_path / "held.db"
    monkeypatch.setattr(store_sqlite, "BUSY_TIMEOUT_MS", 10)
    waits: list[float] = []
    monkeypatch.setattr(store_sqlite.time, "sleep", waits.append)
    holder = _hold_lock(path)
    with pytest.raises(StoreError, match=r"held\.db: the database stayed locked by another process"):
        RunStore(path)
    assert len(waits) == store_sqlite.WRITE_RETRIES - 1
    holder.close()
