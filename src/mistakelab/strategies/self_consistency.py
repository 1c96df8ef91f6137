"""``self_consistency``: k samples, majority vote over the extracted answers (METHODS §2.1).

Tie rule: among answers with the most votes, the one that first appeared in sample order
wins (deterministic given the samples). Samples with no extractable answer do not vote; if
none has an answer the final answer is None (wrong). The trace holds every sample's answer,
so maj@k (the final answer) and pass@k (any sample correct) are both reported.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.core.events import VoteEvent
from mistakelab.core.trace import AnswerKind
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.kit.voting import majority, tally


class SelfConsistencyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int = Field(default=4, ge=1)
    temperature: float = Field(default=0.7, gt=0)


@strategy("self_consistency", SelfConsistencyParams, method="self-consistency, METHODS §2.1")
async def self_consistency(ctx: StrategyContext, params: SelfConsistencyParams) -> None:
    """Sample k solutions and return the majority answer."""
    outs = await ctx.sample(ctx.question(), params.k, purpose="sample", temperature=params.temperature)
    answers = [ctx.record_answer(c, AnswerKind.SAMPLE) for c in outs]
    votes = tally(answers, key=ctx.answer_key)
    winner = majority(answers, key=ctx.answer_key)
    ctx.emit(VoteEvent(winner=winner, votes=max((v for _, v in votes.values()), default=0), k=params.k,
                       tally={first: v for first, v in votes.values()}))
    ctx.final(winner, method="majority")
