"""A stored run read back once, typed: :class:`StoredRun`.

Everything that reads a finished run (``show``, ``errors``, ``report``, ``compare``, the
learning exports, the ``contrastive`` demonstrations) opens it here: found by one rule
(:func:`find_run`), its config parsed once into its task specs and its strategy labels in
config order, its tasks rebuilt on demand, its frozen problems by task.

Example:
    >>> import tempfile
    >>> st = RunStore(tempfile.mkdtemp() + "/r.db")
    >>> st.create_run("exp-1a2b", "exp", {"tasks": [{"name": "gsm8k_sample", "label": "gsm"}],
    ...     "strategies": [{"name": "cot"}, {"name": "self_consistency", "k": 4}]})
    True
    >>> run = StoredRun.open(st, "exp")  # by id, id prefix, or name (the latest of that name)
    >>> run.id, run.strategy_labels, list(run.task_specs), run.task("gsm").name
    ('exp-1a2b', ['cot', 'self_consistency(k=4)'], ['gsm'], 'gsm8k_sample')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator, Self

from mistakelab.core.specs import spec_label
from mistakelab.core.trace import Trace
from mistakelab.core.types import Problem
from mistakelab.store.db import RunInfo, RunStore, UnitRow
from mistakelab.tasks.base import Task, TaskSpec, create_task


def find_run(store: RunStore, run: str) -> RunInfo:
    """The run named ``run``: its id, else the latest run whose id starts with ``run`` or whose
    name is ``run``. Raises LookupError naming the runs the store has."""
    info = store.get_run(run)
    if info is not None:
        return info
    runs = store.list_runs()
    matches = [r for r in runs if r.id.startswith(run) or r.name == run]
    if not matches:
        raise LookupError(f"no run {run!r} in {store.path}; known: {', '.join(r.id for r in runs) or '(none)'}")
    return matches[-1]


@dataclass
class StoredRun:
    """One run of a store, read back (see the module docstring)."""

    store: RunStore
    info: RunInfo
    _tasks: dict[str, Task] = field(default_factory=dict, init=False, repr=False)
    _problems: dict[str, dict[str, Problem]] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def open(cls, store: str | Path | RunStore, run: str) -> Self:
        """The run ``run`` names (see :func:`find_run`) in ``store`` (a path or an open store)."""
        st = store if isinstance(store, RunStore) else RunStore(store)
        return cls(st, find_run(st, run))

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def config(self) -> dict[str, Any]:
        return self.info.config

    @property
    def served(self) -> bool:
        """A proxy's run: served traffic, no gold answers."""
        return self.config.get("kind") == "served"

    @cached_property
    def task_specs(self) -> dict[str, TaskSpec]:
        """Task label -> its spec, in config order."""
        return {s.label: s for s in (TaskSpec.model_validate(t) for t in self.config.get("tasks", []))}

    @cached_property
    def strategy_labels(self) -> list[str]:
        """The strategies' labels in config order (what tables are sorted by)."""
        return [spec_label(s) for s in self.config.get("strategies", []) if isinstance(s, dict) and "name" in s]

    def task(self, label: str) -> Task:
        """The task of ``label``, rebuilt from the config (raises what the task raises, e.g.
        for a task file that moved since the run)."""
        if label not in self._tasks:
            spec = self.task_specs[label]
            self._tasks[label] = create_task(spec.name, spec.options)
        return self._tasks[label]

    def rebuild_tasks(self) -> tuple[dict[str, Task], dict[str, str]]:
        """Every task that can be rebuilt here, and why each other one cannot (label -> error)."""
        tasks, notes = {}, {}
        for label in self.task_specs:
            try:
                tasks[label] = self.task(label)
            except Exception as exc:  # noqa: BLE001 - any task error: the caller goes on without it
                notes[label] = f"{type(exc).__name__}: {exc}"
        return tasks, notes

    def problems_of(self, label: str) -> dict[str, Problem]:
        """The problems of task ``label`` as the run froze them, by id."""
        if label not in self._problems:
            self._problems[label] = {p.id: p for p in self.store.load_problems(self.id, label)}
        return self._problems[label]

    def problems_by_task(self, labels: Any = None) -> dict[str, dict[str, Problem]]:
        """Task label -> problem id -> problem, for ``labels`` (default: the config's tasks)."""
        return {label: self.problems_of(label) for label in (self.task_specs if labels is None else labels)}

    def units(self) -> list[UnitRow]:
        return self.store.units(self.id)

    def units_with_traces(self) -> Iterator[tuple[UnitRow, Trace | None]]:
        return self.store.units_with_traces(self.id)

    def trace(self, unit_key: str) -> Trace | None:
        return self.store.trace(self.id, unit_key)

    def call_counts(self) -> tuple[int, int]:
        """(model calls made, served from the cache)."""
        return self.store.call_counts(self.id)
