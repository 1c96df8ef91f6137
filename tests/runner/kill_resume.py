"""The kill -9 / resume measurement with a model that fails calls at random: shared by
test_resume.py and bench/kill_resume_failures.py.

One process is killed with SIGKILL mid-run; then the same command is run again and again
until the run is complete. Figures: how many runs that took, the calls the model saw (and how
many it failed), units lost, successful calls recorded twice, calls lost in flight."""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
TARGET = HERE / "kill_target.py"
UNITS = 12 * 2  # problems x strategies (kill_target.config)
CALLS = 12 * (1 + 3)  # cot + self_consistency k=3: distinct requests


def _run(store: Path, log: Path, env: dict[str, str], block_after: int | None = None) -> subprocess.Popen[str]:
    args = [sys.executable, str(TARGET), str(store), str(log)] + ([str(block_after)] if block_after else [])
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def measure(workdir: Path, fail_rate: float = 0.2, seed: int = 0, block_after: int = 8,
            max_runs: int = 50) -> dict[str, int]:
    store, log = workdir / "runs.db", workdir / "calls.log"
    env = {**os.environ, "MISTAKELAB_FAIL_RATE": str(fail_rate), "MISTAKELAB_FAIL_SEED": f"{seed}-0"}
    proc = _run(store, log, env, block_after)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    assert ready and proc.stdout.readline().strip() == "blocked", proc.stderr.read() if proc.stderr else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    runs = 1
    for r in range(1, max_runs + 1):
        p = _run(store, log, {**env, "MISTAKELAB_FAIL_SEED": f"{seed}-{r}"})
        out, errs = p.communicate(timeout=120)
        assert p.returncode == 0, errs[-2000:]
        runs += 1
        summary = json.loads(out.strip().splitlines()[-1])
        if summary["failed"] == 0 and summary["done"] + summary["skipped"] == UNITS:
            break
    else:
        raise AssertionError(f"not complete after {max_runs} runs")
    answers = [json.loads(line) for line in log.read_text().splitlines()]
    db = sqlite3.connect(store)
    ok = "json_extract(completion_json, '$.error') IS NULL"
    recorded_ok = db.execute(f"SELECT COUNT(*) FROM calls WHERE cached=0 AND {ok}").fetchone()[0]
    distinct_ok = db.execute(f"SELECT COUNT(DISTINCT cache_key) FROM calls WHERE cached=0 AND {ok}").fetchone()[0]
    recorded_failed = db.execute(f"SELECT COUNT(*) FROM calls WHERE cached=0 AND NOT {ok}").fetchone()[0]
    done, distinct_done = db.execute(
        "SELECT COUNT(*), COUNT(DISTINCT unit_key) FROM units WHERE status='done'").fetchone()
    unit_rows, unit_keys = db.execute("SELECT COUNT(*), COUNT(DISTINCT unit_key) FROM units").fetchone()
    status = db.execute("SELECT status FROM runs").fetchone()[0]
    db.close()
    model_ok = sum(a["ok"] for a in answers)
    return {
        "runs_until_complete": runs,  # the killed one included
        "calls_seen_by_model": len(answers),
        "calls_failed_by_model": len(answers) - model_ok,
        "failed_calls_recorded": recorded_failed,
        "successful_calls_recorded": recorded_ok,
        "distinct_requests": distinct_ok,
        "duplicated_successful_calls": recorded_ok - distinct_ok,
        "units_done": done,
        "duplicated_units": unit_rows - unit_keys,
        "lost_units": UNITS - distinct_done,
        "lost_in_flight": model_ok - recorded_ok,  # answered by the model, killed before recorded
        "run_complete": int(status == "complete"),
    }
