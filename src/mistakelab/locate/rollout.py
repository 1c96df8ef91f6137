"""``rollout`` (Math-Shepherd / SORM labels): from each prefix ``steps[0..i]`` sample k
continuations with the policy model; the step is good (``rule``) if any (``hard``) or at least
``threshold`` of them (``soft``) reach the gold answer. The first bad step is the
prediction (-1 if none). Uses the gold answer: oracle-assisted.

``search="binary"`` assumes that once a prefix is bad every longer prefix is bad, and finds
the first bad one with about log2(n) probes instead of n. On the ``local`` backend the k
continuations of a prefix share one evaluation of the prompt (``sample``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.locate.base import Locator, LocatorResult, locators
from mistakelab.locate.records import STEP_SEPARATOR, LocateRecord
from mistakelab.context import CallContext


class RolloutParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int = Field(default=4, ge=1)
    rule: Literal["hard", "soft"] = "hard"
    threshold: float = Field(default=0.5, gt=0, le=1)  # soft labels: share needed to be good
    search: Literal["linear", "binary"] = "linear"
    temperature: float = Field(default=0.7, gt=0)
    max_tokens: int = 384


@locators.register("rollout")
class RolloutLocator(Locator):
    """The first step from which k rollouts stop reaching the gold answer (oracle-assisted)."""

    name = "rollout"
    oracle = True
    needs_model = True
    rules = ("hard", "soft")

    def __init__(self, **params: object) -> None:
        self.params = RolloutParams.model_validate(params)

    async def _score(self, record: LocateRecord, ctx: CallContext, i: int, cache: dict[int, float]) -> float:
        if i in cache:
            return cache[i]
        p = self.params
        prefix = STEP_SEPARATOR.join(record.steps[: i + 1]) + STEP_SEPARATOR
        outs = await ctx.sample(ctx.question(), p.k, purpose=f"rollout-{i}", prefix=prefix,
                                temperature=p.temperature, max_tokens=p.max_tokens)
        # The continuation finishes the prefilled solution: judge prefix + continuation.
        hits = [ctx.oracle_check(prefix + o.text) for o in outs]
        cache[i] = sum(hits) / len(hits)
        return cache[i]

    def _good(self, share: float) -> bool:
        return share > 0 if self.params.rule == "hard" else share >= self.params.threshold

    async def locate(self, record: LocateRecord, ctx: CallContext) -> LocatorResult:
        n = len(record.steps)
        cache: dict[int, float] = {}
        if self.params.search == "linear":
            first = -1
            for i in range(n):
                if not self._good(await self._score(record, ctx, i, cache)):
                    first = i
                    break
        else:
            lo, hi, first = 0, n - 1, -1
            while lo <= hi:
                mid = (lo + hi) // 2
                if self._good(await self._score(record, ctx, mid, cache)):
                    lo = mid + 1
                else:
                    first, hi = mid, mid - 1
        scores = [cache.get(i) for i in range(n)]
        return LocatorResult(first_error=first, step_scores=scores, oracle=True)

