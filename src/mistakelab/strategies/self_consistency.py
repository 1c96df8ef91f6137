"""``self_consistency``: k samples, majority vote over the extracted answers.

Tie rule: among answers with the most votes, the one that first appeared in sample order
wins (deterministic given the samples). Samples with no extractable answer do not vote; if
none has an answer the final answer is None (wrong). The trace holds every sample's answer,
so maj@k (the final answer) and pass@k (any sample correct) are both reported.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext


class SelfConsistencyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int = Field(default=4, ge=1)
    temperature: float = Field(default=0.7, gt=0)


def majority(answers: list[str | None], key=lambda a: a) -> str | None:  # type: ignore[no-untyped-def]
    """Most common answer by ``key``; ties go to the earliest; None answers don't vote.

    Example:
        >>> majority(["3", "4", "4", None, "3"])
        '3'
    """
    counts: dict[str, int] = {}
    first: dict[str, str] = {}
    for a in answers:
        if a is None:
            continue
        k = key(a)
        counts[k] = counts.get(k, 0) + 1
        first.setdefault(k, a)
    if not counts:
        return None
    best = max(counts.values())
    for k in counts:  # dicts keep insertion order: the first to reach `best` in sample order
        if counts[k] == best:
            return first[k]
    return None


@strategy("self_consistency", SelfConsistencyParams)
async def self_consistency(ctx: StrategyContext, params: SelfConsistencyParams) -> None:
    """Sample k solutions and return the majority answer."""
    outs = await ctx.sample(ctx.question(), params.k, purpose="sample", temperature=params.temperature)
    answers = [ctx.record_answer("sample", c) for c in outs]
    winner = majority(answers, key=ctx.task.answer_key)
    votes = sum(1 for a in answers if ctx.same_answer(a, winner))
    ctx.note(kind="vote", winner=winner, votes=votes, k=params.k)
    ctx.final(winner, method="majority")
