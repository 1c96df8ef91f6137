"""``pipeline``: strategies in sequence, each stage's answer handed to the next as a draft
(optillm's ``a&b``).

Stage 1 solves the question; every later stage solves the question with the text of the
previous stage's final answer added under the ``draft`` prompt (check and improve it). Every
stage records into the same trace with its own prompts and seed counters; the last stage's
final answer is the pipeline's. Role models are the solver's (a stage's roles are played by
the solver). Oracle-assisted when a stage is; needs what its stages need.

Example:
    >>> import asyncio
    >>> from mistakelab.backends import ScriptedBackend
    >>> from mistakelab.core import Problem
    >>> from mistakelab.runner import solve
    >>> from mistakelab.tasks import create_task
    >>> fake = ScriptedBackend(["2 + 2 = 5. \\\\boxed{5}", "The draft erred: \\\\boxed{4}"])
    >>> trace, r = asyncio.run(solve({"name": "pipeline", "stages": ["re2", "cot"]}, fake,
    ...                              Problem(id="p", question="2+2?", answer="4"), create_task("gsm8k_sample")))
    >>> r.correct, "2 + 2 = 5. \\\\boxed{5}" in fake.calls[1].messages[-1].content
    (True, True)
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mistakelab.context import final_text
from mistakelab.core.specs import parse_named
from mistakelab.scorers import merge_needs
from mistakelab.strategies.base import StrategyDef, StrategySpec, strategies, strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.revision import with_hint

PROMPTS = {"draft": "A draft answer from an earlier attempt (it may be wrong; check it and give your own "
                    "final answer):\n{draft}"}


def stage(spec: str | dict[str, Any]) -> tuple[StrategyDef, BaseModel]:
    """A stage's registered strategy and parameters (ValueError naming what is wrong)."""
    data = parse_named(spec) if isinstance(spec, str) else dict(spec)
    if data.get("name") not in strategies:
        raise ValueError(f"unknown strategy {data.get('name')!r}")
    return StrategySpec.model_validate(data).resolve()


class PipelineParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stages: list[str | dict[str, Any]] = Field(min_length=1)

    @field_validator("stages")
    @classmethod
    def _resolvable(cls, v: list[str | dict[str, Any]]) -> list[str | dict[str, Any]]:
        for s in v:
            stage(s)
        return v


@strategy("pipeline", PipelineParams, prompts=PROMPTS,
          oracle=lambda p: any(d.is_oracle(q) for d, q in map(stage, p.stages)),
          needs=lambda p: merge_needs(*(d.capabilities_needed(q) for d, q in map(stage, p.stages))),
          method="optillm's a&b pipeline (each stage's answer is the next stage's draft)")
async def pipeline(ctx: StrategyContext, params: PipelineParams) -> None:
    """Run the stages in order, each given the previous stage's answer as a draft."""
    messages = ctx.question()
    for spec in params.stages:
        sdef, p = stage(spec)
        await sdef.fn(ctx.derived(messages=messages, prompts=sdef.prompts, strategy_name=sdef.name), p)
        draft, _ = final_text(ctx.trace, ctx.answer_key)
        messages = with_hint(ctx.question(), ctx.prompt("draft", draft=draft))
