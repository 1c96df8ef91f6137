"""Where did wrong solutions first go wrong? Step verdicts of a run's final solutions.

For each unit whose final answer is wrong, the task's step verifier judges the solution
text of the last model call that produced an answer; the earliest wrong step is tallied.
Wrong answers where no step is flagged are counted as "final answer only".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from mistakelab.store.db import RunStore
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
    profiles: dict[tuple[str, str], ErrorProfile] = {}
    problems = {label: {p.id: p for p in store.load_problems(run_id, label)} for label in tasks}
    for unit in store.units(run_id):
        r = unit.result
        if r is None or r.status == "failed":
            continue
        prof = profiles.setdefault((unit.task, unit.strategy), ErrorProfile(unit.task, unit.strategy))
        prof.n += 1
        if r.correct:
            continue
        prof.wrong += 1
        trace = store.trace(run_id, unit.unit_key)
        answered = [a for a in (trace.answers if trace else []) if a.call is not None]
        task = tasks.get(unit.task)
        problem = problems.get(unit.task, {}).get(unit.problem_id)
        if not answered or task is None or problem is None or trace is None:
            prof.no_verifier += 1
            continue
        text = trace.calls[answered[-1].call].completion.text
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
