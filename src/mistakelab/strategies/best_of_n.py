"""``best_of_n``: sample n solutions, score each with any scorer, keep the best (METHODS §2.1, §1.3).

Scorers (``scorer=``, see :mod:`mistakelab.scorers`): ``self_certainty`` (default; Kang et
al. 2025), ``mean_logprob``, ``critic_verdict`` (a critic's P(Yes)), any step scorer with its
aggregation (``critic_step:agg=min``, ``prm:model=...``), ``arithmetic_step`` (fewest flagged
steps), ``exact`` (the gold answer: oracle-assisted, an upper bound).

``shared`` (default): draw the samples ``self_consistency`` draws (same seeds, parameters and
cache keys), so every selection rule is compared on identical samples and a run's cache serves
them once. Either way, a scorer that reads token statistics gets them recorded while the
samples are generated (no ``score`` call per sample); a cached sample drawn without them is
drawn once more, with them. ``shared=false`` draws its own samples.

``select="best"`` keeps the highest score; ``select="borda"`` is the Borda vote with power
``p`` (rank r of N weighs (N - r + 1) ** p, weights pool per equivalent answer; p = 0 is plain
majority). Rules (:mod:`mistakelab.strategies.kit.voting`): a sample whose answer does not parse
is neither scored nor chosen; an unavailable score ranks below every available one; ties go to
the earliest sample (in a vote, to the answer seen first). No parsing answer: final None.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.core.events import ScoreEvent, VoteEvent
from mistakelab.core.trace import AnswerKind
from mistakelab.scorers import Scorer, ScorerSpec, build_scorer
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.kit.voting import best_index, borda_vote

def sampling(shared: bool, scorers: list[Scorer], temperature: float) -> dict[str, Any]:
    """How to sample: self-consistency's own samples, or fresh ones with the token statistics
    the scorers read."""
    stats = {"logprobs": True} if any(s.wants_logprobs for s in scorers) else {}
    if shared:  # same key as self_consistency's sample: the statistics are not part of it
        return {"temperature": temperature, "seed_scope": "self_consistency", **stats}
    return {"temperature": temperature, **stats}


def shared_stats(shared: bool, scorers: list[Scorer]) -> int | None:
    """What a run must draw self-consistency's samples with for these scorers (``@strategy``'s
    ``shared_stats``): logprobs (0 alternatives) when one reads them, else None."""
    return 0 if shared and any(s.wants_logprobs for s in scorers) else None


class BestOfNParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = Field(default=4, ge=1)
    temperature: float = Field(default=0.7, gt=0)
    scorer: ScorerSpec = "self_certainty"
    select: Literal["best", "borda"] = "best"
    p: float = Field(default=0.5, ge=0)  # Borda power
    shared: bool = True  # self_consistency's samples


@strategy("best_of_n", BestOfNParams, roles=("critic",), method="best-of-N with a scorer, METHODS §2.1/§1.3",
          shared_stats=lambda p: shared_stats(p.shared, [build_scorer(p.scorer)]))
async def best_of_n(ctx: StrategyContext, params: BestOfNParams) -> None:
    """Sample n solutions and keep the best by a scorer (or a Borda vote over its ranking)."""
    scorer = build_scorer(params.scorer)
    outs = await ctx.sample(ctx.question(), params.n, purpose="sample",
                            **sampling(params.shared, [scorer], params.temperature))
    answers = [ctx.record_answer(c, AnswerKind.SAMPLE) for c in outs]
    parsed = [i for i, a in enumerate(answers) if a is not None]
    rated = dict(zip(parsed, await asyncio.gather(*(scorer.score(ctx, outs[i].text, completion=outs[i])
                                                      for i in parsed))))
    scores = [rated[i].aggregate if i in rated else None for i in range(len(outs))]
    if params.select == "best":
        chosen = best_index(answers, scores)
        winner = None if chosen is None else answers[chosen]
    else:
        winner, mass = borda_vote(answers, scores, params.p, key=ctx.answer_key)
        chosen = next((i for i in parsed if ctx.same_answer(answers[i], winner)), None)
        ctx.emit(VoteEvent(winner=winner, votes=max(mass.values(), default=0.0), k=len(outs),
                           method=f"borda(p={params.p})", tally=mass))
    ctx.emit(ScoreEvent(scorer=scorer.name, label="samples", scores=scores, chosen=chosen,
                        steps=[rated[i].scores if i in rated else [] for i in range(len(outs))]))
    ctx.final(winner, method=f"{params.select}:{scorer.name}")
