"""Scorers that check steps exactly: no model call.

- ``arithmetic_step``: every stated computation ``a op b = r`` is recomputed
  (:func:`~mistakelab.steps.check_arithmetic`); a step scores 1 when all of its computations
  hold, 0 when one does not, and stays unscored without any. Default aggregation ``flags``:
  minus the number of wrong steps.
- ``exact_step`` (oracle): the task's step verifier, which knows the gold solution (igsm,
  knights_knaves): 1 for a correct (or merely unnecessary) step, 0 for a wrong one, unscored
  for unchecked ones; a task without a step verifier leaves every step unscored.
- ``exact`` (oracle, outcome): 1 when the final answer is correct, else 0.

Example:
    >>> import asyncio
    >>> from mistakelab.backends import ScriptedBackend
    >>> from mistakelab.context import CallContext
    >>> from mistakelab.core import Problem
    >>> from mistakelab.scorers import build_scorer
    >>> from mistakelab.tasks import create_task
    >>> ctx = CallContext.standalone(ScriptedBackend([]), Problem(id="p", question="?", answer="84"),
    ...                              create_task("gsm8k_sample"))
    >>> s = asyncio.run(build_scorer("arithmetic_step").score(ctx, "12 * 7 = 94\\n\\nWe have 3 boxes.\\n\\n94 - 10 = 84"))
    >>> s.scores, s.aggregate
    ([0.0, None, 1.0], -1.0)
    >>> asyncio.run(build_scorer("exact").score(ctx, "\\\\boxed{84}")).aggregate, ctx.trace.used_gold
    (1.0, True)
"""

from __future__ import annotations

from mistakelab.context import CallContext
from mistakelab.core.types import Completion
from mistakelab.scorers.base import Scorer, scorers, step_at
from mistakelab.steps.types import Step, StepMark

_VALUE = {"ok": 1.0, "unnecessary": 1.0, "wrong": 0.0}


def _by_step(marks: list[tuple[int, StepMark]], steps: list[Step]) -> list[float | None]:
    """Marks placed by the start offset of the step they were made on; wrong wins in a step."""
    out: list[float | None] = [None] * len(steps)
    ends = [s.end for s in steps]
    for pos, m in marks:
        value = _VALUE.get(m.status)
        if value is None or not steps:
            continue
        i = step_at(ends, pos)
        out[i] = value if out[i] is None else min(out[i], value)  # type: ignore[type-var]
    return out


@scorers.register("arithmetic_step")
class ArithmeticStep(Scorer):
    """Each step: 0 with a wrong computation, 1 with checked ones, none without (fewest flagged first)."""

    name = "arithmetic_step"
    default_agg = "flags"

    async def rate(self, ctx: CallContext, text: str, steps: list[Step], wanted: list[int],
                   completion: Completion | None) -> tuple[dict[int, float | None], str]:
        from mistakelab.steps.arithmetic import check_arithmetic

        verdict = check_arithmetic(text, steps=steps)
        per = _by_step([(steps[m.index].start, m) for m in verdict.marks], steps)
        return {i: per[i] for i in wanted}, ""


@scorers.register("exact_step")
class ExactStep(Scorer):
    """Each step: the task's exact step verifier (oracle-assisted)."""

    name = "exact_step"
    oracle = True

    async def rate(self, ctx: CallContext, text: str, steps: list[Step], wanted: list[int],
                   completion: Completion | None) -> tuple[dict[int, float | None], str]:
        verdict = ctx.oracle().verify_steps(text)
        if verdict is None:
            return {}, f"task {ctx.task.name!r} has no step verifier"
        placed = [(verdict.steps[m.index].start if m.index < len(verdict.steps) else 0, m) for m in verdict.marks]
        per = _by_step(placed, steps)
        return {i: per[i] for i in wanted}, ""


@scorers.register("exact")
class Exact(Scorer):
    """The whole solution: 1 when its answer is correct (the gold answer: oracle-assisted)."""

    name = "exact"
    kind = "outcome"
    oracle = True

    async def rate_outcome(self, ctx: CallContext, text: str,
                           completion: Completion | None) -> tuple[float | None, str]:
        return (1.0 if ctx.oracle().check(text) else 0.0), ""
