"""What ``mistakelab improve`` keeps in the run store besides its runs: one row per stage of
each round of a loop (its status and what it made, as JSON), so a killed loop continues where
it stopped and ``show LOOP`` reads the rounds back. The loop itself is a row of ``runs`` whose
config has ``kind = "improve"``; each stage that solves problems is an ordinary run.

Example:
    >>> import tempfile, pathlib
    >>> from mistakelab.store import RunStore
    >>> st = RunStore(pathlib.Path(tempfile.mkdtemp()) / "runs.db")
    >>> save_stage(st, "loop-1", 0, "eval", "done", {"run": "loop-1-r0-eval"})
    >>> [(s.round, s.stage, s.result["run"]) for s in loop_stages(st, "loop-1")]
    [(0, 'eval', 'loop-1-r0-eval')]
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from mistakelab.store.db import RunStore


@dataclass(frozen=True)
class StageRecord:
    round: int
    stage: str
    status: str  # done (a stage is recorded when it finished)
    result: dict[str, Any]
    updated_at: float


def save_stage(store: RunStore, loop_id: str, round_no: int, stage: str, status: str,
               result: dict[str, Any]) -> None:
    """Record (or replace) one stage of one round, committed before this returns."""
    store.flush()
    store._write("INSERT OR REPLACE INTO improve_stages VALUES (?,?,?,?,?,?)",
                 (loop_id, round_no, stage, status, json.dumps(result, ensure_ascii=False, sort_keys=True),
                  time.time()))


def loop_stages(store: RunStore, loop_id: str) -> list[StageRecord]:
    """Every recorded stage of a loop, by round, then in the order recorded."""
    store.flush()
    return [StageRecord(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in store._rows(
        "SELECT round, stage, status, result_json, updated_at FROM improve_stages WHERE loop_id=? "
        "ORDER BY round, updated_at", (loop_id,))]
