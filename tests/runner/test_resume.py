"""Resume after kill -9, the completion cache, and idempotent unit storage."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from mistakelab.backends import ScriptedBackend
from mistakelab.runner import parse_config, run_experiment
from mistakelab.store import RunStore

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # kill_resume.py
TARGET = HERE / "kill_target.py"
UNITS = 12 * 2  # problems x strategies
CALLS = 12 * (1 + 3)  # cot + self_consistency k=3


def _lines(p: Path) -> int:
    return len(p.read_text().splitlines()) if p.exists() else 0


def test_kill_9_mid_run_then_resume_redoes_only_calls_in_flight(tmp_path: Path) -> None:
    store, log = tmp_path / "runs.db", tmp_path / "calls.log"
    # The fake answers 8 requests, then blocks: the run cannot finish before the kill.
    proc = subprocess.Popen([sys.executable, str(TARGET), str(store), str(log), "8"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    assert ready and proc.stdout.readline().strip() == "blocked", proc.stderr.read() if proc.stderr else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    first_process_calls = _lines(log)
    assert 8 <= first_process_calls <= 8 * 3

    db = sqlite3.connect(store)
    recorded_before = db.execute("SELECT COUNT(*) FROM calls WHERE cached=0").fetchone()[0]
    units_before = db.execute("SELECT COUNT(*) FROM units").fetchone()[0]
    db.close()
    assert units_before < UNITS
    lost = first_process_calls - recorded_before
    # At most the calls in flight are lost: 4 units at once, at most 3 calls each.
    assert 0 <= lost <= 4 * 3

    out = subprocess.run([sys.executable, str(TARGET), str(store), str(log)],
                         capture_output=True, text=True, timeout=120, check=True)
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["done"] == UNITS - units_before

    db = sqlite3.connect(store)
    made = db.execute("SELECT COUNT(*) FROM calls WHERE cached=0").fetchone()[0]
    distinct = db.execute("SELECT COUNT(DISTINCT cache_key) FROM calls WHERE cached=0").fetchone()[0]
    units = db.execute("SELECT COUNT(*), COUNT(DISTINCT unit_key) FROM units WHERE status='done'").fetchone()
    db.close()
    assert units == (UNITS, UNITS)
    assert made == distinct == CALLS, "every request reached the model exactly once, once recorded"
    # Over both processes the model saw every call once plus only the lost in-flight ones.
    assert _lines(log) == CALLS + lost
    assert summary["made"] == CALLS - recorded_before


def _cfg(store: Path, name: str = "cache"):  # type: ignore[no-untyped-def]
    return parse_config({
        "name": name, "store": str(store), "n_problems": 4,
        "models": [{"backend": "scripted", "model": "fake"}],
        "tasks": [{"name": "toy_add"}],
        "strategies": [{"name": "cot"}, {"name": "self_consistency", "k": 2}],
    })


def _answering_backend() -> ScriptedBackend:
    return ScriptedBackend(lambda m, p: "\\boxed{7}")


def test_rerun_of_finished_run_and_new_run_cost_zero_model_calls(tmp_path: Path) -> None:
    store = tmp_path / "r.db"
    first = _answering_backend()
    s1 = asyncio.run(run_experiment(_cfg(store), backend_factory=lambda spec: first))
    assert s1.calls_made == len(first.calls) == 4 * 3

    again = _answering_backend()
    s2 = asyncio.run(run_experiment(_cfg(store), backend_factory=lambda spec: again))
    assert (s2.units_done, s2.units_skipped, s2.calls_made) == (0, 8, 0)
    assert again.calls == []

    # A different run (new name, same requests) is served entirely by the completion cache.
    third = _answering_backend()
    s3 = asyncio.run(run_experiment(_cfg(store, "other"), backend_factory=lambda spec: third))
    assert s3.run_id != s1.run_id
    assert (s3.units_done, s3.calls_made, s3.calls_cached) == (8, 0, 12)
    assert third.calls == []
    results = {u.unit_key.split("|", 2)[2]: u.result for u in RunStore(store).units(s3.run_id)}
    assert all(r.prompt_tokens > 0 for r in results.values()), "cost is counted on cache hits too"


def test_failed_calls_fail_the_unit_and_are_retried_on_resume(tmp_path: Path) -> None:
    store = tmp_path / "r.db"
    cfg = parse_config({
        "store": str(store), "n_problems": 2,
        "models": [{"backend": "scripted", "model": "fake"}],
        "tasks": [{"name": "toy_add"}], "strategies": [{"name": "cot"}],
    })
    broken = ScriptedBackend([ConnectionError("server down"), ConnectionError("server down")])
    s = asyncio.run(run_experiment(cfg, backend_factory=lambda spec: broken))
    assert (s.units_done, s.units_failed) == (0, 2)
    assert s.failure_line() == "2 of 2 units failed: ConnectionError: server down [2x]; run again to retry them"
    rows = RunStore(store).units(s.run_id)
    assert [r.status for r in rows] == ["failed", "failed"]
    assert all(r.result and r.result.status == "failed" and "server down" in (r.result.error or "") for r in rows)
    db = sqlite3.connect(store)
    assert db.execute("SELECT COUNT(*) FROM completion_cache").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 2
    assert db.execute("SELECT status FROM runs").fetchone()[0] == "incomplete"
    # Resume: the failed units are asked again, and now they are answered.
    fixed = _answering_backend()
    s2 = asyncio.run(run_experiment(cfg, backend_factory=lambda spec: fixed))
    assert (s2.units_done, s2.units_skipped, s2.units_failed, s2.calls_made) == (2, 0, 0, 2)
    rows = RunStore(store).units(s.run_id)
    assert [r.status for r in rows] == ["done", "done"] and len(rows) == 2
    assert db.execute("SELECT status FROM runs").fetchone()[0] == "complete"


def test_one_failed_sample_fails_the_unit_but_keeps_the_others_cached(tmp_path: Path) -> None:
    cfg = parse_config({
        "store": str(tmp_path / "r.db"), "n_problems": 1,
        "models": [{"backend": "scripted", "model": "fake"}],
        "tasks": [{"name": "toy_add"}], "strategies": [{"name": "self_consistency", "k": 3}],
    })
    flaky = ScriptedBackend(["\\boxed{1}", TimeoutError("slow"), "\\boxed{1}"])
    s = asyncio.run(run_experiment(cfg, backend_factory=lambda spec: flaky))
    assert s.units_failed == 1 and "TimeoutError" in s.unit_errors[0]
    again = _answering_backend()
    s2 = asyncio.run(run_experiment(cfg, backend_factory=lambda spec: again))
    # only the failed sample reaches the model again; the two answered ones come from the cache
    assert (s2.units_done, s2.calls_made, s2.calls_cached) == (1, 1, 2)


def test_identical_requests_in_flight_share_one_model_call(tmp_path: Path) -> None:
    # cot and self_refine's first solve are the same greedy request: one model call.
    cfg = parse_config({
        "store": str(tmp_path / "r.db"), "n_problems": 1,
        "models": [{"backend": "scripted", "model": "fake"}],
        "tasks": [{"name": "toy_add"}],
        "strategies": [{"name": "cot"}, {"name": "self_refine", "rounds": 1}],
    })

    def reply(messages, params):  # type: ignore[no-untyped-def]
        return "VERDICT: CORRECT" if "VERDICT" in messages[-1].content else "\\boxed{1}"

    fake = ScriptedBackend(reply, delay=0.01)
    s = asyncio.run(run_experiment(cfg, backend_factory=lambda spec: fake))
    assert [c.messages[-1].content.startswith("What is") for c in fake.calls].count(True) == 1
    assert s.calls_cached == 1 and s.calls_made == 2


def test_kill_9_then_resume_with_20_percent_failed_calls(tmp_path: Path) -> None:
    """A model that fails 20% of calls at random, a kill -9 mid-run, then the same command
    again until done: nothing lost, nothing recorded twice, every failed unit retried."""
    from kill_resume import CALLS as ALL_CALLS, UNITS as ALL_UNITS, measure

    m = measure(tmp_path, fail_rate=0.2, seed=3)
    assert m["run_complete"] == 1 and m["runs_until_complete"] > 2  # failures forced retries
    assert m["units_done"] == ALL_UNITS and m["lost_units"] == 0 and m["duplicated_units"] == 0
    assert m["distinct_requests"] == ALL_CALLS and m["duplicated_successful_calls"] == 0
    assert m["calls_failed_by_model"] > 0 and m["failed_calls_recorded"] <= m["calls_failed_by_model"]
    # at most the calls in flight at the kill are lost: 4 units at once, at most 3 calls each
    assert 0 <= m["lost_in_flight"] <= 4 * 3
    assert m["calls_seen_by_model"] - m["calls_failed_by_model"] == ALL_CALLS + m["lost_in_flight"]
