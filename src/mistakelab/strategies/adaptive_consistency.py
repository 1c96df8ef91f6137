"""``adaptive_consistency``: sample in windows, stop when the vote is settled
(Adaptive-Consistency, Aggarwal et al. 2023; ESC, Li et al. 2024; METHODS §2.14).

Samples are drawn ``window`` at a time, up to ``max_k``. After each window:

- ``rule="beta"`` (Adaptive-Consistency): with v1 votes for the leading answer and v2 for the
  runner-up, the probability that the leader stays ahead is P(p > 1/2) under
  Beta(v1 + 1, v2 + 1); sampling stops once it reaches ``threshold`` (0.95: four unanimous
  votes). ``min_k`` samples are drawn first.
- ``rule="esc"`` (Early-stopping Self-Consistency): stop at the first window whose answers are
  all equal (a sample with no answer breaks the window).

The final answer is the majority of all samples drawn (ties: first seen; unparsed answers do
not vote), as in ``self_consistency``. With ``shared`` (default) the samples are
self-consistency's own (same seeds), so the samples used are the first ones of
``self_consistency:k=max_k`` and a run's cache serves them once. The trace's
:class:`~mistakelab.core.events.StopEvent` says why sampling stopped and ``rounds`` how many
samples were used. Intrinsic.

Example:
    >>> round(leader_stays_ahead(4, 0), 4), round(leader_stays_ahead(3, 1), 4)
    (0.9688, 0.8125)
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mistakelab.core.events import StopEvent, VoteEvent
from mistakelab.core.trace import AnswerKind
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.kit import majority, tally


def leader_stays_ahead(v1: int, v2: int) -> float:
    """P(p > 1/2) for p ~ Beta(v1 + 1, v2 + 1): Adaptive-Consistency's stopping statistic,
    exact for integer counts (a binomial tail).

    Example:
        >>> leader_stays_ahead(0, 0), leader_stays_ahead(2, 2)
        (0.5, 0.5)
    """
    n = v1 + v2 + 1
    return sum(math.comb(n, j) for j in range(v1 + 1)) / 2 ** n


class AdaptiveConsistencyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_k: int = Field(default=16, ge=1)
    window: int = Field(default=2, ge=1)  # samples drawn between two checks (ESC's window)
    rule: Literal["beta", "esc"] = "beta"
    threshold: float = Field(default=0.95, gt=0.5, lt=1.0)  # beta rule
    min_k: int = Field(default=1, ge=1)  # beta rule: samples before the first check
    temperature: float = Field(default=0.7, gt=0)
    shared: bool = True  # self-consistency's samples (same seeds)

    @model_validator(mode="after")
    def _fits(self) -> "AdaptiveConsistencyParams":
        if self.min_k > self.max_k:
            raise ValueError(f"min_k ({self.min_k}) is more than max_k ({self.max_k})")
        return self


@strategy("adaptive_consistency", AdaptiveConsistencyParams, depth=lambda p: -(-p.max_k // p.window),
          method="Adaptive-Consistency (2023) / ESC (2024), METHODS §2.14")
async def adaptive_consistency(ctx: StrategyContext, params: AdaptiveConsistencyParams) -> None:
    """Sample in windows until the vote is settled (beta rule or ESC's unanimous window)."""
    scope = {"seed_scope": "self_consistency"} if params.shared else {}
    answers: list[str | None] = []
    reason = "budget"
    while len(answers) < params.max_k:
        n = min(params.window, params.max_k - len(answers))
        outs = await ctx.sample(ctx.question(), n, purpose="sample", temperature=params.temperature, **scope)
        window = [ctx.record_answer(c, AnswerKind.SAMPLE) for c in outs]
        answers += window
        if _settled(ctx, params, answers, window):
            reason = "settled" if params.rule == "beta" else "unanimous window"
            break
    votes = tally(answers, key=ctx.answer_key)
    winner = majority(answers, key=ctx.answer_key)
    ctx.emit(StopEvent(reason=reason, rounds=len(answers)))
    ctx.emit(VoteEvent(winner=winner, votes=max((v for _, v in votes.values()), default=0), k=len(answers),
                       method=f"adaptive:{params.rule}", tally={first: v for first, v in votes.values()}))
    ctx.final(winner, method="majority")


def _settled(ctx: StrategyContext, params: AdaptiveConsistencyParams, answers: list[str | None],
             window: list[str | None]) -> bool:
    if params.rule == "esc":
        keys = {None if a is None else ctx.answer_key(a) for a in window}
        return len(window) == params.window and len(keys) == 1 and None not in keys
    if len(answers) < params.min_k:
        return False
    counts = sorted((v for _, v in tally(answers, key=ctx.answer_key).values()), reverse=True)
    if not counts:
        return False
    v1, v2 = int(counts[0]), int(counts[1]) if len(counts) > 1 else 0
    return leader_stays_ahead(v1, v2) >= params.threshold
