"""Step verdicts of the solutions a report shows: the task's exact step verifier where it has
one, else the arithmetic checker, each distinct solution checked once.

Checking costs one to a few milliseconds per solution, the bulk of a large run's rendering,
so :meth:`StepChecker.prefetch` checks at most ``budget`` solutions: the histogram's first,
then the viewer's, the most telling first (see :func:`priority`); the page says how many it
left. The rest of the report reads the verdicts from the memo.

Example:
    >>> from mistakelab.core import Problem
    >>> from mistakelab.tasks import create_task
    >>> checker = StepChecker({"g": create_task("gsm8k_sample")})
    >>> p = Problem(id="p", question="2*3?", answer="6")
    >>> v = checker.verdict("g", p, "2 * 3 = 7\\n\\nSo \\\\boxed{7}.")
    >>> v.checker, v.verdict.first_error
    ('arithmetic', 0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mistakelab.core.types import Problem
from mistakelab.steps import StepVerdict, check_arithmetic
from mistakelab.tasks.base import Task

Job = tuple[str, Problem | None, str]  # task label, problem, solution text


@dataclass(frozen=True)
class CheckedSolution:
    verdict: StepVerdict
    checker: str  # "exact" (the task's step verifier) or "arithmetic"


def check_solution(task: Task | None, problem: Problem | None, text: str) -> CheckedSolution:
    """The task's step verdict on ``text``, else the arithmetic checker's."""
    exact: Any = None
    if task is not None and problem is not None:
        try:
            exact = task.verify_steps(problem, text)
        except Exception:  # noqa: BLE001 - a verifier that trips on odd text: fall back
            exact = None
    if isinstance(exact, StepVerdict):
        return CheckedSolution(exact, "exact")
    return CheckedSolution(check_arithmetic(text), "arithmetic")


class StepChecker:
    """Memoized step verdicts; ``budget`` (None: no limit) caps what one :meth:`prefetch`
    checks: its required solutions always, optional ones while room is left."""

    def __init__(self, tasks: dict[str, Task], budget: int | None = None) -> None:
        self.tasks = tasks
        self.budget = budget
        self.checked = 0
        self.skipped = 0
        self._memo: dict[tuple[str, str, str], CheckedSolution] = {}

    @staticmethod
    def _key(job: Job) -> tuple[str, str, str]:
        label, p, text = job
        return (label, p.id if p else "", text)

    def prefetch(self, required: list[Job], optional: list[Job] | None = None) -> None:
        """Check every ``required`` solution, then the ``optional`` ones (in order) while the
        budget has room."""
        todo: dict[tuple[str, str, str], Job] = {}
        for job in required:
            if self._key(job) not in self._memo:
                todo.setdefault(self._key(job), job)
        room = None if self.budget is None else max(0, self.budget - len(todo))
        for job in optional or []:
            k = self._key(job)
            if k in self._memo or k in todo:
                continue
            if room is not None and room <= 0:
                self.skipped += 1
                continue
            todo[k] = job
            if room is not None:
                room -= 1
        # one problem's solutions in a row: a verifier's per-problem patterns stay in re's cache
        for k in sorted(todo):
            label, p, text = todo[k]
            self._memo[k] = check_solution(self.tasks.get(label), p, text)
        self.checked += len(todo)

    def get(self, task_label: str, problem: Problem | None, text: str) -> CheckedSolution | None:
        """The verdict if it was checked (None: left out by the budget)."""
        return self._memo.get((task_label, problem.id if problem else "", text))

    def verdict(self, task_label: str, problem: Problem | None, text: str) -> CheckedSolution:
        """The verdict on ``text``, checked now if it was not yet."""
        got = self.get(task_label, problem, text)
        if got is None:
            got = self._memo[(task_label, problem.id if problem else "", text)] = check_solution(
                self.tasks.get(task_label), problem, text)
            self.checked += 1
        return got

    def as_task(self, task_label: str) -> "_ExactOnly":
        """An object whose ``verify_steps`` answers from this checker (exact verdicts only),
        what :func:`mistakelab.report.errors.profile_units` asks of a task."""
        return _ExactOnly(self, task_label)


class _ExactOnly:
    def __init__(self, checker: StepChecker, label: str) -> None:
        self.checker, self.label = checker, label

    def verify_steps(self, problem: Problem, text: str) -> StepVerdict | None:
        got = self.checker.verdict(self.label, problem, text)
        return got.verdict if got.checker == "exact" else None


def priority(wrong: bool, changed: bool, is_final: bool) -> tuple[int, int]:
    """Sort key of solutions to check under a budget: final solutions of wrong units, then
    the other solutions of wrong or changed units, then the rest.

    Example:
        >>> sorted([(False, False, True), (True, False, True), (False, True, False)], key=lambda a: priority(*a))
        [(True, False, True), (False, True, False), (False, False, True)]
    """
    if wrong and is_final:
        return (0, 0)
    if wrong or changed:
        return (1, 0 if is_final else 1)
    return (2, 0 if is_final else 1)
