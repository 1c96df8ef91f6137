"""Where did wrong solutions first go wrong? Step verdicts of a run's final solutions.

For each unit whose final answer is wrong, the task's step verifier judges the solution
text of the last model call that produced an answer; the earliest wrong step is tallied.
Wrong answers where no step is flagged are counted as "final answer only".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from mistakelab.core.trace import Trace
from mistakelab.core.types import Problem
from mistakelab.store.db import RunStore, UnitRow
from mistakelab.tasks.base import Task


@dataclass
class ErrorProfile:
    task: str
    strategy: str
    n: int = 0
    wrong: int = 0
    with_step: int = 0
    final_only: int = 0
    no_verifier: int = 0
    first_error: Counter[int] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)


def error_profiles(store: RunStore, run_id: str, tasks: dict[str, Task]) -> list[ErrorProfile]:
    """One profile per (task label, strategy) of the run."""
    problems = {label: {p.id: p for p in store.load_problems(run_id, label)} for label in tasks}

    def units() -> Iterable[tuple[UnitRow, Trace | None]]:
        for unit in store.units(run_id):
            wrong = unit.result is not None and unit.result.status != "failed" and not unit.result.correct
            yield unit, store.trace(run_id, unit.unit_key) if wrong else None

    return profile_units(units(), problems, tasks)


def final_solution_text(trace: Trace | None) -> str | None:
    """The text of the last model call that produced an answer (what the profiles judge)."""
    answered = [a for a in (trace.answers if trace else []) if a.call is not None]
    if trace is None or not answered:
        return None
    return trace.calls[answered[-1].call].completion.text  # type: ignore[index]


def profile_units(units: Iterable[tuple[UnitRow, Trace | None]], problems: dict[str, dict[str, Problem]],
                  tasks: dict[str, Any]) -> list[ErrorProfile]:
    """The profiles of already loaded units (each with its trace; only wrong ones need it).
    ``tasks`` maps task labels to anything with the task's ``verify_steps``."""
    profiles: dict[tuple[str, str], ErrorProfile] = {}
    for unit, trace in units:
        r = unit.result
        if r is None or r.status == "failed":
            continue
        prof = profiles.setdefault((unit.task, unit.strategy), ErrorProfile(unit.task, unit.strategy))
        prof.n += 1
        if r.correct:
            continue
        prof.wrong += 1
        text = final_solution_text(trace)
        task = tasks.get(unit.task)
        problem = problems.get(unit.task, {}).get(unit.problem_id)
        if text is None or task is None or problem is None:
            prof.no_verifier += 1
            continue
        verdict = task.verify_steps(problem, text)
        if verdict is None:
            prof.no_verifier += 1
        elif verdict.first_error >= 0:
            prof.with_step += 1
            prof.first_error[verdict.first_error] += 1
            mark = verdict.marks[verdict.first_error] if verdict.first_error < len(verdict.marks) else None
            prof.kinds[(mark.kind if mark else None) or "wrong"] += 1
        else:
            prof.final_only += 1
    return list(profiles.values())
