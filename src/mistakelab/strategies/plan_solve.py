"""``plan_solve``: devise a plan, then carry it out (Plan-and-Solve PS+, Wang et al. 2023;
METHODS §2.16).

The PS+ trigger follows the task's prompt: understand the problem, extract the relevant
variables and their numerals, devise a plan, then carry it out, calculating intermediate
results with attention to calculation and common sense. One solution; its answer is the
final one. Intrinsic.

Example:
    >>> import asyncio
    >>> from mistakelab.backends import ScriptedBackend
    >>> from mistakelab.core import Problem
    >>> from mistakelab.runner import solve
    >>> from mistakelab.tasks import create_task
    >>> fake = ScriptedBackend(["Plan: add. 2 + 2 = 4. \\\\boxed{4}"])
    >>> trace, r = asyncio.run(solve("plan_solve", fake, Problem(id="p", question="2+2?", answer="4"),
    ...                              create_task("gsm8k_sample")))
    >>> r.correct, "devise a plan" in fake.calls[0].messages[-1].content
    (True, True)
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.revision import overrides, reworded

PS_PLUS = ("Let's first understand the problem, extract relevant variables and their corresponding numerals, "
           "and devise a plan. Then, let's carry out the plan, calculate intermediate results (pay attention "
           "to calculation and common sense), solve the problem step by step, and show the answer.")
PROMPTS = {"plan": "{prompt}\n\n" + PS_PLUS}


class PlanSolveParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temperature: float | None = None  # None: the experiment's generation default


@strategy("plan_solve", PlanSolveParams, prompts=PROMPTS,
          method="Plan-and-Solve PS+ (Wang et al. 2023; METHODS §2.16)")
async def plan_solve(ctx: StrategyContext, params: PlanSolveParams) -> None:
    """Plan, then carry out the plan (the PS+ prompt), once."""
    c = await ctx.generate(reworded(ctx, "plan"), purpose="solve", **overrides(params.temperature))
    ctx.final(ctx.record_answer(c, label="solution"), method="only")
