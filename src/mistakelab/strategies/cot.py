"""``cot``: one chain-of-thought solution; its answer is the final answer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext


class CotParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temperature: float | None = None  # None: the experiment's generation default


@strategy("cot", CotParams, method="chain of thought (METHODS §2.1 baseline)")
async def cot(ctx: StrategyContext, params: CotParams) -> None:
    """Solve once with chain of thought."""
    over = {} if params.temperature is None else {"temperature": params.temperature}
    c = await ctx.generate(ctx.question(), purpose="solve", **over)
    ctx.final(ctx.record_answer(c, label="solution"), method="only")
