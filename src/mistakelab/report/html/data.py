"""Everything a report reads from the store about one run, loaded once (through
:class:`~mistakelab.store.StoredRun`).

Units come with their traces in one query; the tasks named in the run's config are rebuilt
(for step verifiers and answer keys); a task that cannot be rebuilt here (e.g. a test-only
task, or a reasoning-gym dataset that is not installed) is noted, and its units render
without step verdicts.

Example:
    >>> import tempfile
    >>> st = RunStore(tempfile.mkdtemp() + "/r.db")
    >>> st.create_run("r", "r", {"tasks": [{"name": "gsm8k_sample"}], "strategies": [{"name": "cot"}]})
    True
    >>> data = load_run(st, "r")
    >>> len(data.units), data.strategy_order, sorted(data.tasks)
    (0, ['cot'], ['gsm8k_sample'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mistakelab.core.trace import Trace
from mistakelab.core.types import Problem, Result
from mistakelab.store import (LocatePrediction, RunInfo, RunStore, StoredRun, UnitRow, locate_predictions,
                              locate_records)
from mistakelab.tasks.base import Task


@dataclass
class Unit:
    """One strategy on one problem, as stored."""

    row: UnitRow
    trace: Trace | None
    problem: Problem | None

    @property
    def result(self) -> Result | None:
        return self.row.result

    @property
    def done(self) -> bool:
        return self.row.result is not None and self.row.result.status == "done"

    @property
    def change(self) -> str:
        """``w2r`` / ``r2w`` (first solution vs final answer), ``same``, or ``''`` (no first answer)."""
        r = self.row.result
        if r is None or r.status != "done" or r.first_correct is None:
            return ""
        if r.first_correct == r.correct:
            return "same"
        return "w2r" if r.correct else "r2w"


@dataclass
class RunData:
    info: RunInfo
    units: list[Unit]
    problems: dict[str, dict[str, Problem]]  # task label -> problem id -> problem
    tasks: dict[str, Task]  # task label -> task (those that could be rebuilt)
    task_notes: dict[str, str]  # task label -> why it could not be rebuilt
    strategy_order: list[str]
    calls_made: int
    calls_cached: int
    locate_records: list[dict[str, Any]] = field(default_factory=list)
    locate_predictions: list[LocatePrediction] = field(default_factory=list)

    @property
    def results(self) -> list[Result]:
        return [u.row.result for u in self.units if u.row.result is not None]


def load_run(store: RunStore, run_id: str) -> RunData:
    """The run's info, units with traces and problems, tasks, and locate rows."""
    info = store.get_run(run_id)
    if info is None:
        raise KeyError(f"no run {run_id!r} in {store.path}")
    run = StoredRun(store, info)
    tasks, notes = run.rebuild_tasks()
    pairs = list(run.units_with_traces())
    problems = run.problems_by_task(sorted({row.task for row, _ in pairs} | set(tasks)))
    units = [Unit(row, trace, problems.get(row.task, {}).get(row.problem_id)) for row, trace in pairs]
    made, cached = run.call_counts()
    return RunData(info, units, problems, tasks, notes, run.strategy_labels, made, cached,
                   locate_records(store, run_id), locate_predictions(store, run_id))
