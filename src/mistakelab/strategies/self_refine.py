"""``self_refine`` (Madaan et al. 2023): solve, self-critique, refine; intrinsic (no gold).

Each round is one conversation: the question, the latest solution, a request to review it
(the critique ends with a ``VERDICT:`` line), the review, and a request to rewrite the
solution using it. Each call's prompt extends the previous call's, so backends with
prefix caching evaluate only the new turns. The loop stops when the verdict is CORRECT or after ``rounds``
refinements. A critique without a parseable verdict counts as INCORRECT (the model did not
vouch for the solution), and the trace notes it as unparsed.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.core.types import Message
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext

_VERDICT = re.compile(r"VERDICT\s*:?\s*\**\s*(CORRECT|INCORRECT|WRONG|RIGHT)", re.I)


def parse_verdict(critique: str) -> bool | None:
    """True/False for the last VERDICT line, None when there is none.

    Example:
        >>> parse_verdict("Step 2 is wrong.\\nVERDICT: INCORRECT")
        False
    """
    found = _VERDICT.findall(critique)
    if not found:
        return None
    return found[-1].upper() in ("CORRECT", "RIGHT")


class SelfRefineParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rounds: int = Field(default=2, ge=0)
    temperature: float | None = None


@strategy("self_refine", SelfRefineParams, chain=lambda p: 1 + 2 * p.rounds)
async def self_refine(ctx: StrategyContext, params: SelfRefineParams) -> None:
    """Solve, then critique and refine up to ``rounds`` times."""
    over = {} if params.temperature is None else {"temperature": params.temperature}
    question = ctx.question()
    solution = await ctx.generate(question, purpose="solve", **over)
    answer = ctx.record_answer("initial", solution)
    for r in range(1, params.rounds + 1):
        review = [*question, Message(role="assistant", content=solution.text),
                  Message(role="user", content=ctx.prompt("SELF_REFINE_CRITIQUE", solution=solution.text))]
        critique = await ctx.generate(review, purpose=f"critique-{r}", **over)
        ok = parse_verdict(critique.text)
        ctx.note(kind="critique", round=r, verdict=ok, parsed=ok is not None)
        if ok:
            break
        messages = [*review, Message(role="assistant", content=critique.text),
                    Message(role="user", content=ctx.prompt("SELF_REFINE_REFINE", critique=critique.text))]
        solution = await ctx.generate(messages, purpose=f"refine-{r}", **over)
        answer = ctx.record_answer(f"refine-{r}", solution)
    ctx.note(kind="stop", rounds_used=sum(1 for e in ctx.trace.events if e.get("kind") == "critique"))
    ctx.final(answer, method="last_solution")
