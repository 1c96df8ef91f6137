"""Where did wrong solutions first go wrong? Step verdicts of a run's final solutions.

For each unit whose final answer is wrong, the task's step verifier judges the solution
text of the last model call that produced an answer; the earliest wrong step is tallied.
Wrong answers where no step is flagged are counted as "final answer only".
:func:`error_examples` picks individual wrong solutions with their earliest wrong step.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from mistakelab.core.trace import Trace
from mistakelab.core.types import Problem
from mistakelab.store import RunStore, StoredRun, UnitRow, find_run
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
    problems = problems_by_task(store, run_id, tasks)

    def units() -> Iterable[tuple[UnitRow, Trace | None]]:
        for unit in store.units(run_id):
            wrong = unit.result is not None and unit.result.status != "failed" and not unit.result.correct
            yield unit, store.trace(run_id, unit.unit_key) if wrong else None

    return profile_units(units(), problems, tasks)


def problems_by_task(store: RunStore, run_id: str, tasks: dict[str, Task]) -> dict[str, dict[str, Problem]]:
    """The run's stored problems of each task label, by problem id."""
    return StoredRun(store, find_run(store, run_id)).problems_by_task(tasks)


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


@dataclass
class ErrorExample:
    """One wrong solution with its earliest wrong step located, and what every other strategy
    of the run ended with on the same problem (``outcomes``: strategy, final answer, correct,
    whether its first answer was correct, whether it used the gold answer)."""

    task: str
    strategy: str
    problem: Problem
    answer: str | None
    verdict: Any  # StepVerdict
    outcomes: list[tuple[str, str | None, bool, bool | None, bool]] = field(default_factory=list)

    @property
    def reason(self) -> str:
        k = self.verdict.first_error
        return self.verdict.marks[k].reason if 0 <= k < len(self.verdict.marks) else ""


def error_examples(store: RunStore, run_id: str, tasks: dict[str, Task], strategy: str | None = None,
                   n: int = 1) -> list[ErrorExample]:
    """Up to ``n`` wrong final solutions (of ``strategy``, default the run's first) whose
    earliest wrong step a task's step verifier locates (default strategy: the first unit's;
    the CLI passes the run's first configured one); problems that some other strategy
    turned right come first, so the example shows a mistake found and what fixing it did."""
    units = [u for u in store.units(run_id) if u.result is not None and u.result.status != "failed"]
    if not units:
        return []
    strategy = strategy or units[0].strategy
    by_problem: dict[tuple[str, str], list[UnitRow]] = {}
    for u in units:
        by_problem.setdefault((u.task, u.problem_id), []).append(u)
    problems = problems_by_task(store, run_id, tasks)

    def fixed_elsewhere(u: UnitRow) -> bool:
        return any(o.result.correct for o in by_problem[(u.task, u.problem_id)]  # type: ignore[union-attr]
                   if o.strategy != strategy)

    wrong = [u for u in units if u.strategy == strategy and not u.result.correct]  # type: ignore[union-attr]
    out: list[ErrorExample] = []
    for u in sorted(wrong, key=lambda u: not fixed_elsewhere(u)):
        task, problem = tasks.get(u.task), problems.get(u.task, {}).get(u.problem_id)
        text = final_solution_text(store.trace(run_id, u.unit_key))
        if task is None or problem is None or text is None:
            continue
        verdict = task.verify_steps(problem, text)
        if verdict is None or verdict.first_error < 0:
            continue
        others = [(o.strategy, o.result.final_answer, o.result.correct, o.result.first_correct,  # type: ignore[union-attr]
                   o.result.used_gold)  # type: ignore[union-attr]
                  for o in by_problem[(u.task, u.problem_id)] if o.strategy != strategy]
        out.append(ErrorExample(u.task, strategy, problem, u.result.final_answer, verdict, others))  # type: ignore[union-attr]
        if len(out) >= n:
            break
    return out
