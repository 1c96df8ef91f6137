"""Where a stored wrong solution first went wrong, and what its next step should have been.

Two checkers, no model calls: ``exact`` (the task's step verifier: generated tasks such as
``igsm``, which know every quantity's value) and ``arithmetic`` (exact arithmetic on any
free-text solution: it finds slips, not misreadings). ``auto`` takes the exact one where the
task has it.

Example:
    >>> from mistakelab.tasks import create_task
    >>> task = create_task("igsm", {"min_ops": 2, "max_ops": 3})
    >>> p = task.load(1, seed=0)[0]
    >>> bad = task.inject_error(p, step=1)
    >>> found = locate_first_error(task, p, bad.text)
    >>> found.index, found.checker
    (1, 'exact')
    >>> next_step(task, p, found) == p.steps[1].text
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from mistakelab.core.types import Problem
from mistakelab.steps.arithmetic import check_arithmetic, find_computations, format_exact
from mistakelab.steps.split import split_steps
from mistakelab.steps.types import Step, StepVerdict
from mistakelab.tasks.base import Task

Checker = Literal["auto", "exact", "arithmetic"]


@dataclass(frozen=True)
class FoundError:
    """The first wrong step of ``text``: its index among ``verdict.steps`` and why."""

    text: str
    verdict: StepVerdict
    checker: str

    @property
    def index(self) -> int:
        return self.verdict.first_error

    @property
    def step(self) -> Step:
        return self.verdict.steps[self.index]

    @property
    def reason(self) -> str:
        return next((m.reason for m in self.verdict.marks if m.index == self.index), "")

    @property
    def prefix(self) -> str:
        """The text before the first wrong step (stripped)."""
        return self.text[: self.step.start].rstrip()


def step_verdict(task: Task, problem: Problem, text: str, checker: Checker = "auto") -> tuple[StepVerdict | None, str]:
    """The per-step verdict of ``text`` and the checker that gave it (None: no checker applies)."""
    if checker in ("auto", "exact"):
        v = task.verify_steps(problem, text)
        if v is not None:
            return v, "exact"
        if checker == "exact":
            return None, "exact"
    return check_arithmetic(text, split_steps(text)), "arithmetic"


def locate_first_error(task: Task, problem: Problem, text: str, checker: Checker = "auto") -> FoundError | None:
    """The first wrong step of a solution, or None when the checker finds none."""
    v, used = step_verdict(task, problem, text, checker)
    if v is None or v.first_error < 0 or v.first_error >= len(v.steps):
        return None
    return FoundError(text, v, used)


def next_step(task: Task, problem: Problem, found: FoundError) -> str | None:
    """The right step to write in place of the first wrong one, or None when unknown.

    ``exact``: the first gold step whose quantity the prefix has not yet stated correctly (the
    verifier's ok marks say ``the <quantity> is <value>``); gold steps are in dependency order,
    so everything that step needs is already in the prefix. ``arithmetic``: the wrong step with
    each wrong result replaced by the exact one.
    """
    if found.checker == "arithmetic":
        return _fixed_arithmetic(found)
    if not problem.steps:
        return None
    before = [m for m in found.verdict.marks if m.index < found.index and m.status == "ok"]
    stated = {m.reason for m in before}
    known = {f"the {r.quantity} is {r.value}" for r in problem.steps if r.quantity is not None}
    if any(reason not in known for reason in stated):
        return None  # ok marks this helper cannot read: do not guess
    return next((r.text for r in problem.steps if f"the {r.quantity} is {r.value}" not in stated), None)


def _fixed_arithmetic(found: FoundError) -> str | None:
    step, text = found.step, found.text
    wrong = [c for c in find_computations(text) if not c.ok and step.start <= c.start < step.end]
    fixed = step.text
    for c in sorted(wrong, key=lambda c: c.start, reverse=True):  # right to left: offsets stay valid
        value, at = _plain(c.value), text.rfind(c.result, c.start, c.end)
        if value is None or at < 0:
            return None
        rel = at - step.start
        fixed = fixed[:rel] + value + fixed[rel + len(c.result):]
    return fixed if wrong else None


def _plain(v: Fraction) -> str | None:
    """``v`` as a plain number when it has one (an integer or a short decimal)."""
    if v.denominator == 1:
        return str(v.numerator)
    s = format_exact(v)
    return None if "/" in s else s
