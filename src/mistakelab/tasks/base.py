"""The task interface: problems plus the checkers that judge answers to them.

Example:
    >>> from mistakelab.core import Problem
    >>> class Add(Task):
    ...     name = "add"
    ...     def load(self, n, seed):
    ...         return [Problem(id=str(i), question=f"{i}+1?", answer=str(i + 1)) for i in range(n)]
    >>> t = Add()
    >>> t.verify(t.load(2, 0)[1], "The answer is 2.").correct
    True
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.answers import Extraction, answer_key, answers_match, extract_answer
from mistakelab.core.registry import Registry
from mistakelab.core.types import Message, Problem, Verdict

#: Instruction appended to every question by default, so answers are extractable.
ANSWER_FORMAT = "Solve the problem step by step. Put the final answer in \\boxed{}."


class Task(ABC):
    """Problems with gold answers and the checkers for them.

    Subclasses implement :meth:`load`; the default checkers handle numeric and LaTeX answers.
    Tasks with step-level truth also implement :meth:`verify_steps`.
    """

    name: str = "task"
    answer_format: str = ANSWER_FORMAT

    @abstractmethod
    def load(self, n: int | None, seed: int) -> list[Problem]:
        """The first ``n`` problems (all when None), deterministic for a given seed."""

    def prompt(self, problem: Problem) -> list[Message]:
        """The messages that pose ``problem`` to a model."""
        return [Message(role="user", content=f"{problem.question}\n\n{self.answer_format}")]

    def extract(self, text: str) -> Extraction:
        """The final answer in a model's output (never looks at the gold answer)."""
        return extract_answer(text)

    def check(self, problem: Problem, answer: str | None, method: str = "given") -> Verdict:
        """Judge an already-extracted answer against the gold answer."""
        if answer is None:
            return Verdict(extracted=None, method="none", correct=False, reason="no answer found")
        ok, why = answers_match(answer, problem.answer)
        return Verdict(extracted=answer, method=method, correct=ok, reason=why)

    def verify(self, problem: Problem, text: str) -> Verdict:
        """Extract the answer from ``text`` and judge it."""
        ex = self.extract(text)
        return self.check(problem, ex.text, ex.method)

    def answer_key(self, answer: str) -> str:
        """Canonical form of an answer, for grouping votes."""
        return answer_key(answer)

    def verify_steps(self, problem: Problem, text: str) -> Any:
        """Per-step verdict (a ``StepVerdict``) of a solution; None without step truth."""
        return None

    def gold_solution(self, problem: Problem) -> str | None:
        """The gold solution as text a step verifier accepts; None when unknown."""
        return None

    def inject_error(self, problem: Problem, step: int, seed: int = 0, kind: str | None = None) -> Any:
        """The gold solution with one error at ``step`` (an ``InjectedSolution``).

        Tasks without gold steps raise NotImplementedError.
        """
        raise NotImplementedError(f"task {self.name!r} has no gold steps to inject errors into")


class TaskSpec(BaseModel):
    """Which task to load and how many problems.

    Example:
        >>> TaskSpec(name="gsm_symbolic", n=10).label
        'gsm_symbolic'
    """

    model_config = ConfigDict(extra="forbid")
    name: str
    n: int | None = None  # defaults to the experiment's n_problems
    seed: int | None = None  # defaults to the experiment's seed
    label_: str | None = Field(default=None, alias="label")
    options: dict[str, Any] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.label_ or self.name


#: Factories ``(**options) -> Task`` by task name.
tasks: Registry[Any] = Registry("task")


def create_task(name: str, options: dict[str, Any] | None = None) -> Task:
    """Build a registered task; ``rg:<dataset>`` wraps any reasoning-gym dataset."""
    options = dict(options or {})
    if name.startswith("rg:"):
        return tasks.get("reasoning_gym")(dataset=name[3:], **options)
    return tasks.get(name)(**options)
