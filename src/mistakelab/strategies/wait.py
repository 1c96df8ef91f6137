"""``wait``: append " Wait" to the solver's own answer and let it continue (Self-Correction
Bench's intervention, 2025; METHODS §2.5). Intrinsic.

The solver answers; its assistant turn is then extended with ``cue`` (" Wait") and
continued (``continue_``), ``rounds`` times. The continuation's answer counts when it states
one plainly, else the earlier answer stands (:func:`~mistakelab.strategies.revision.record_turn`).
Each round is an :class:`~mistakelab.core.events.AnswerChangeEvent` saying whether the
answer changed; w→r / r→w say whether the changes helped.

Example:
    >>> import asyncio
    >>> from mistakelab.backends import ScriptedBackend
    >>> from mistakelab.core import Problem
    >>> from mistakelab.runner import solve
    >>> from mistakelab.tasks import create_task
    >>> fake = ScriptedBackend(["2 + 2 = 5. \\\\boxed{5}", ", 2 + 2 = 4. \\\\boxed{4}"])
    >>> trace, r = asyncio.run(solve("wait", fake, Problem(id="p", question="2+2?", answer="4"),
    ...                              create_task("gsm8k_sample")))
    >>> r.attempts, fake.calls[1].messages[-1].content.endswith('{5} Wait')
    ([False, True], True)
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.revision import emit_change, overrides, record_turn, revising


class WaitParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cue: str = " Wait"  # appended to the assistant turn before it is continued
    rounds: int = Field(default=1, ge=1)
    temperature: float | None = None
    stop_after_boxed: bool = True  # a continuation ends once it has boxed an answer


@strategy("wait", WaitParams, needs={"solver": {"continue"}}, depth=lambda p: 1 + p.rounds,
          method="'Wait' after the answer (Self-Correction Bench, 2025; METHODS §2.5)")
async def wait(ctx: StrategyContext, params: WaitParams) -> None:
    """Answer, then append ' Wait' to the answer and let the model continue."""
    gen = overrides(params.temperature)
    c = await ctx.generate(ctx.question(), purpose="solve", **gen)
    text, answer = c.text, ctx.record_answer(c, label="initial")
    for r in range(params.rounds):
        prefix = text + params.cue
        cont = await ctx.continue_(ctx.question(), prefix, purpose=f"wait-{r}",
                                   **revising(params.temperature, params.stop_after_boxed))
        before, answer = answer, record_turn(ctx, prefix, cont, label=f"wait-{r}")
        emit_change(ctx, r, before, answer)
        text = prefix + cont.text
    ctx.final(answer, method="last_turn")
