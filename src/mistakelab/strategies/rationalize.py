"""``rationalize`` (STaR's rationalization, METHODS §3.4): solve with the gold answer as a hint.

Given the gold answer, the model writes a rationale that reaches it. This is not a test-time
method: it writes training data for problems the model could not solve (the ``rationalize``
recipe of ``mistakelab improve`` keeps the rationales that reach the answer and trains on
them *without* the hint). Reading the gold answer labels every result oracle-assisted.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext

PROMPTS = {
    "hint": "{prompt}\n\nHint: the correct final answer is {gold}. Write a step-by-step solution that reaches "
            "it on its own, without mentioning this hint.",
}


class RationalizeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temperature: float | None = None  # None: the experiment's generation default


@strategy("rationalize", RationalizeParams, oracle=True, prompts=PROMPTS,
          method="STaR rationalization (gold answer as a hint), METHODS §3.4")
async def rationalize(ctx: StrategyContext, params: RationalizeParams) -> None:
    """Solve once with the gold answer given as a hint."""
    over = {} if params.temperature is None else {"temperature": params.temperature}
    question = ctx.question()
    last = question.last
    conv = question[:-1].then(last.role, ctx.prompt("hint", prompt=last.content, gold=ctx.oracle().gold_answer))
    c = await ctx.generate(conv, purpose="rationalize", **over)
    ctx.final(ctx.record_answer(c, label="rationale"), method="only")
