"""What a strategy sees: a :class:`~mistakelab.context.CallContext` (models by role,
continuation, scoring, steps, the trace, the oracle door) plus locating a solution's first
wrong step with any registered locator.

Example:
    >>> import asyncio
    >>> from mistakelab.backends import ScriptedBackend
    >>> from mistakelab.core import Problem
    >>> from mistakelab.tasks import create_task
    >>> ctx = StrategyContext.standalone(ScriptedBackend([]), Problem(id="p", question="2*3?", answer="6"),
    ...                                  create_task("gsm8k_sample"))
    >>> found = asyncio.run(ctx.first_error("2 * 3 = 7\\n\\nSo \\\\boxed{7}.", locator="arithmetic"))
    >>> found.step, found.steps[found.step].text
    (0, '2 * 3 = 7')
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from mistakelab.context import CallContext
from mistakelab.core.events import FirstErrorEvent
from mistakelab.locate.base import Locator, LocatorResult
from mistakelab.locate.combined import build_locator
from mistakelab.locate.records import LocateRecord
from mistakelab.steps.types import Step


class FirstError(BaseModel):
    """Where a locator found a solution's first wrong step.

    ``step``: its index in ``steps`` (-1: every step judged correct; None: no prediction).
    """

    step: int | None
    steps: list[Step]
    text: str
    locator: str
    evidence: LocatorResult

    @property
    def found(self) -> bool:
        # a critic may name a step the solution does not have (ProcessBench keeps it): not found
        return self.step is not None and 0 <= self.step < len(self.steps)

    @property
    def prefix(self) -> str:
        """The solution text before the first wrong step (all of it when none was found)."""
        return self.text[: self.steps[self.step].start] if self.found else self.text  # type: ignore[index]


class StrategyContext(CallContext):
    """Per-problem context of a strategy; created fresh for every unit."""

    async def first_error(self, text: str, locator: str | dict[str, Any] | Locator = "arithmetic") -> FirstError:
        """Run a registered locator (``"exact"``, ``"arithmetic"``, ``"critic"``,
        ``"rollout:k=4"``...) on ``text`` split into steps. A locator that uses the gold answer
        (exact, rollout) marks the result oracle-assisted; a critic locator asks the
        ``critic`` role (the solver when no critic is configured)."""
        loc = locator if isinstance(locator, Locator) else build_locator(locator)
        steps = self.steps(text)
        record = LocateRecord(id=self.problem_id, problem=self._problem.question, steps=[s.text for s in steps])
        if loc.oracle:
            self.oracle()  # the locator reads the gold answer: say so before it runs
        result = await loc.locate(record, self)
        self.emit(FirstErrorEvent(locator=loc.name, step=result.first_error, n_steps=len(steps),
                                  oracle=loc.oracle, note=result.note))
        return FirstError(step=result.first_error, steps=steps, text=text, locator=loc.name, evidence=result)
