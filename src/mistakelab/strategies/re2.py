"""``re2``: read the question twice, then think step by step (RE2, Xu et al. 2023; METHODS §2.16).

The task's prompt becomes ``Q: {question}\\nRead the question again: {prompt}\\nA: Let's think
step by step.``: the bare question, then the task's prompt (the question again, with the
task's answer format). Served, the question is the last user message, so it is read twice as
in the paper. One solution; its answer is the final one. Intrinsic.

Example:
    >>> import asyncio
    >>> from mistakelab.backends import ScriptedBackend
    >>> from mistakelab.core import Problem
    >>> from mistakelab.runner import solve
    >>> from mistakelab.tasks import create_task
    >>> fake = ScriptedBackend(["2 + 2 = 4. \\\\boxed{4}"])
    >>> trace, r = asyncio.run(solve("re2", fake, Problem(id="p", question="2+2?", answer="4"),
    ...                              create_task("gsm8k_sample")))
    >>> r.correct, fake.calls[0].messages[-1].content.count("2+2?")
    (True, 2)
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.revision import overrides, reworded

PROMPTS = {"reread": "Q: {question}\nRead the question again: {prompt}\nA: Let's think step by step."}


class Re2Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temperature: float | None = None  # None: the experiment's generation default


@strategy("re2", Re2Params, prompts=PROMPTS, method="re-reading (RE2, Xu et al. 2023; METHODS §2.16)")
async def re2(ctx: StrategyContext, params: Re2Params) -> None:
    """Read the question twice, then solve once step by step."""
    c = await ctx.generate(reworded(ctx, "reread"), purpose="solve", **overrides(params.temperature))
    ctx.final(ctx.record_answer(c, label="solution"), method="only")
