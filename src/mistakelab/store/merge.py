"""Merge run stores (the shards of a run, ``mistakelab run --shard i/n``) into one.

Every run of every source store is copied: its row, problems, units, call log, completion
cache, long texts and per-server figures. A unit found in several sources is kept once
when the copies agree (the same result, timing aside); a unit *done* in one source and
*failed* in another is kept done. Copies that disagree are a conflict: the merge is refused,
naming the run, the unit and both stores, and nothing is written; so is a problem whose text
differs between sources. (A run's id is a hash of the config fields that define its results,
so one id means one experiment, wherever each shard ran and whatever its store was called.)

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("a", "b"):
    ...     s = RunStore(d / f"{name}.db"); _ = s.create_run("r", "r", {"seed": 0}); s.close()
    >>> merge_stores([d / "a.db", d / "b.db"], d / "out.db").runs
    1
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from mistakelab.store.db import RunStore
from mistakelab.store.sqlite import StoreError, connect


class MergeConflict(StoreError):
    """Two sources disagree about a run, a problem or a unit; nothing was written."""


@dataclass
class MergeSummary:
    runs: int = 0
    units: int = 0  # units in the output, of the merged runs
    duplicates: int = 0  # identical copies of a unit seen more than once


def _same_result(a: str | None, b: str | None) -> bool:
    def norm(doc: str | None) -> Any:
        data = json.loads(doc) if doc else None
        if isinstance(data, dict):
            data.pop("seconds", None)  # how long it took is no part of the answer
        return data

    return norm(a) == norm(b)


def _describe(doc: str | None) -> str:
    data = json.loads(doc) if doc else {}
    return f"{data.get('status')}, answer {data.get('final_answer')!r}"


def merge_stores(sources: Sequence[str | Path], out: str | Path) -> MergeSummary:
    """Merge ``sources`` into ``out`` (created, or added to); see the module docstring."""
    out = Path(out)
    paths = [Path(p) for p in sources]
    for p in paths:
        if not p.is_file():
            raise StoreError(f"run store {p}: no such file")
        if p.resolve() == out.resolve():
            raise StoreError(f"run store {p}: is the output too; merge into a new file")
        RunStore(p).close()  # a mistakelab store, migrated to this version
    RunStore(out).close()
    db = connect(out)
    try:
        return _merge(db, [(str(p), p) for p in paths])
    finally:
        db.close()


def _merge(db: sqlite3.Connection, sources: list[tuple[str, Path]]) -> MergeSummary:
    runs = {r[0]: (r[1], "the output") for r in db.execute("SELECT id, config_json FROM runs")}
    problems: dict[tuple[str, str, str], tuple[str, str]] = {}
    # (run, unit) -> (status, result_json, source name, source index)
    units: dict[tuple[str, str], tuple[str, str | None, str, int]] = {
        (r[0], r[1]): (r[2], r[3], "the output", -1)
        for r in db.execute("SELECT run_id, unit_key, status, result_json FROM units")}
    summary = MergeSummary()
    for i, (name, path) in enumerate(sources):  # read and check everything before writing
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            for run_id, config in src.execute("SELECT id, config_json FROM runs"):
                runs.setdefault(run_id, (config, name))  # the id is a hash of what defines the run
            for run_id, task, pid, doc in src.execute("SELECT run_id, task, problem_id, problem_json FROM problems"):
                seen_p = problems.setdefault((run_id, task, pid), (doc, name))
                if seen_p[0] != doc:
                    raise MergeConflict(f"run {run_id}: problem {pid} of task {task} differs between {seen_p[1]} "
                                        f"and {name}; merge refused, nothing written")
            for run_id, key, status, result in src.execute("SELECT run_id, unit_key, status, result_json FROM units"):
                prev = units.get((run_id, key))
                if prev is None or (prev[0] != "done" and status == "done"):
                    units[(run_id, key)] = (status, result, name, i)
                elif status == "done" and prev[0] == "done":
                    if not _same_result(prev[1], result):
                        raise MergeConflict(
                            f"run {run_id}: unit {key} differs between {prev[2]} ({_describe(prev[1])}) and {name} "
                            f"({_describe(result)}); merge refused, nothing written")
                    summary.duplicates += 1
        finally:
            src.close()
    for i, (_, path) in enumerate(sources):  # one transaction per source; conflicts were found above
        db.execute("ATTACH DATABASE ? AS src", (f"file:{path}?mode=ro",))
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                _copy(db, i, units)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        finally:
            db.execute("DETACH DATABASE src")
    for run_id, _ in runs.items():
        summary.units += _set_status(db, run_id)
    summary.runs = len(runs)
    return summary


def _set_status(db: sqlite3.Connection, run_id: str) -> int:
    """A merged experiment is complete when every unit its config plans is done; returns its
    units."""
    (config,) = db.execute("SELECT config_json FROM runs WHERE id=?", (run_id,)).fetchone()
    cfg = json.loads(config)
    (n_units,) = db.execute("SELECT COUNT(*) FROM units WHERE run_id=?", (run_id,)).fetchone()
    if isinstance(cfg.get("models"), list) and isinstance(cfg.get("strategies"), list):
        (problems,) = db.execute("SELECT COUNT(*) FROM problems WHERE run_id=?", (run_id,)).fetchone()
        (done,) = db.execute("SELECT COUNT(*) FROM units WHERE run_id=? AND status='done'", (run_id,)).fetchone()
        planned = problems * len(cfg["models"]) * len(cfg["strategies"])
        db.execute("UPDATE runs SET status=? WHERE id=?", ("complete" if done == planned else "incomplete", run_id))
    return int(n_units)


def _copy(db: sqlite3.Connection, i: int, units: dict[tuple[str, str], tuple[str, str | None, str, int]]) -> None:
    """Copy source ``i`` (attached as ``src``): the units it is the kept copy of, their calls."""
    db.execute("INSERT OR IGNORE INTO runs SELECT * FROM src.runs")
    db.execute("INSERT OR IGNORE INTO problems SELECT * FROM src.problems")
    db.execute("INSERT OR IGNORE INTO texts SELECT * FROM src.texts")
    db.execute("INSERT OR IGNORE INTO completion_cache SELECT * FROM src.completion_cache")
    mine = [(run_id, key) for (run_id, key), v in units.items() if v[3] == i]
    db.execute("CREATE TEMP TABLE IF NOT EXISTS kept (run_id TEXT, unit_key TEXT)")
    db.execute("DELETE FROM temp.kept")
    db.executemany("INSERT INTO temp.kept VALUES (?,?)", mine)
    db.execute("INSERT OR REPLACE INTO units SELECT u.* FROM src.units u "
               "JOIN temp.kept k ON k.run_id = u.run_id AND k.unit_key = u.unit_key")
    db.execute("INSERT INTO calls (run_id, unit_key, cache_key, model, purpose, cached, request_json, "
               "completion_json, created_at) SELECT c.run_id, c.unit_key, c.cache_key, c.model, c.purpose, c.cached, "
               "c.request_json, c.completion_json, c.created_at FROM src.calls c "
               "JOIN temp.kept k ON k.run_id = c.run_id AND k.unit_key = c.unit_key ORDER BY c.id")
    db.execute(
        "INSERT INTO server_calls SELECT * FROM src.server_calls WHERE true ON CONFLICT (run_id, model, server) "
        "DO UPDATE SET calls=calls+excluded.calls, failures=failures+excluded.failures, "
        "prompt_tokens=prompt_tokens+excluded.prompt_tokens, completion_tokens=completion_tokens+excluded.completion_tokens, "
        "latency_s=latency_s+excluded.latency_s, downs=downs+excluded.downs")
