"""``moa``: Mixture-of-Agents: layers of proposers, then an aggregator synthesizes one answer
(Wang et al. 2024; METHODS §2.17).

Layer 1: ``k`` proposers answer the question (temperature ``temperature``). Each further layer
(``layers`` in all) answers again with every response of the layer before shown under the
paper's aggregate-and-synthesize prompt. The ``aggregator`` role then synthesizes the final
response from the last layer's responses under the same prompt; its answer is the final one.

Roles: proposal i is written by role ``proposer`` (i = 0), ``proposer2``, ``proposer3`` when
those are configured, else by ``proposer``; a role with no model of its own is the solver.
Every proposal is recorded as a sample (pass@k over proposals). Intrinsic.

Example:
    >>> import asyncio
    >>> from mistakelab.backends import ScriptedBackend
    >>> from mistakelab.core import Problem
    >>> from mistakelab.runner import solve
    >>> from mistakelab.tasks import create_task
    >>> fake = ScriptedBackend(["\\\\boxed{4}", "\\\\boxed{5}", "\\\\boxed{4}", "Both say 4: \\\\boxed{4}"])
    >>> trace, r = asyncio.run(solve("moa", fake, Problem(id="p", question="2+2?", answer="4"),
    ...                              create_task("gsm8k_sample")))
    >>> r.correct, "2. \\\\boxed{5}" in fake.calls[3].messages[-1].content
    (True, True)
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.core.trace import AnswerKind
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.revision import overrides, reworded

PROMPTS = {
    "aggregate": "You have been provided with a set of responses from various models to the latest user query. "
                 "Your task is to synthesize these responses into a single, high-quality response. It is crucial "
                 "to critically evaluate the information provided in these responses, recognizing that some of it "
                 "may be biased or incorrect. Your response should not simply replicate the given answers but "
                 "should offer a refined, accurate, and comprehensive reply to the instruction.\n\n"
                 "Responses from models:\n{responses}\n\n{prompt}",
}
ROLES = ("proposer", "proposer2", "proposer3", "aggregator")


class MoaParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int = Field(default=3, ge=1)  # proposals per layer
    layers: int = Field(default=1, ge=1)  # proposer layers before the aggregator
    temperature: float = Field(default=0.7, ge=0)  # proposers
    aggregator_temperature: float | None = None  # None: the run's default


@strategy("moa", MoaParams, roles=ROLES, prompts=PROMPTS, depth=lambda p: p.layers + 1,
          method="Mixture-of-Agents (Wang et al. 2024), METHODS §2.17")
async def moa(ctx: StrategyContext, params: MoaParams) -> None:
    """k proposals per layer, each layer reading the last; an aggregator synthesizes the answer."""
    texts: list[str] = []
    for layer in range(params.layers):
        conv = ctx.question() if layer == 0 else reworded(ctx, "aggregate", responses=_numbered(texts))
        outs = await asyncio.gather(*(ctx.model(_role(ctx, i)).generate(
            conv, purpose=f"propose-{layer}", index=i, temperature=params.temperature) for i in range(params.k)))
        for c in outs:
            ctx.record_answer(c, AnswerKind.SAMPLE, label=f"layer-{layer}")
        texts = [c.text for c in outs]
    final = await ctx.model("aggregator").generate(reworded(ctx, "aggregate", responses=_numbered(texts)),
                                                   purpose="aggregate", **overrides(params.aggregator_temperature))
    ctx.final(ctx.record_answer(final, label="aggregate"), method="aggregate")


def _role(ctx: StrategyContext, i: int) -> str:
    name = "proposer" if i == 0 else f"proposer{i + 1}"
    return name if name in ctx.roles else "proposer"


def _numbered(texts: list[str]) -> str:
    return "\n\n".join(f"{i}. {t}" for i, t in enumerate(texts, start=1))
