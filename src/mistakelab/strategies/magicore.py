"""``magicore``: coarse-to-fine refinement for the problems that need it (MAgICoRe 2024, METHODS §2.7).

1. Sample k solutions (by default self-consistency's own, as ``best_of_n`` shares them); score each: outcome score (``outcome``, default the critic's P(Yes))
   plus the product of its step scores (``step``, default ``critic_step``). A missing part
   counts 0; a solution with neither is unscored and weighs nothing. A step scorer that is
   not a probability adds its own aggregate, on its own scale: self-certainty's mean (about
   12-17, spread about 1.7 within a problem) outweighs a critic's P(Yes) (spread about 0.2),
   so that pair votes nearly as the plain vote does (qwen2.5-coder-0.5b, gsm_symbolic and igsm).
2. Route: the score-weighted vote gives each answer a mass; the problem is *hard* when the top
   answer's share of the mass is under ``share`` AND the confidence over answers (one minus
   the normalized entropy of the mass) is under ``confidence``. Easy: the weighted vote is
   the answer.
3. Hard, up to ``rounds`` times: the ``refine`` best-scored solutions not refined before each
   get a reviewer's feedback on their low-score steps (under ``step_below``, else the lowest
   one; the whole solution without a step scorer), and the refiner rewrites them with it; the
   rewrites are scored and join the candidates (a rewrite may be refined in a later round),
   and the problem is routed again.
4. The final answer is the score-weighted vote over the old and the new candidates.

Roles ``reviewer`` and ``refiner`` (and ``critic`` for the critic scorers) are the solver
unless configured. Ties and unparsed answers follow :mod:`mistakelab.strategies.kit.voting`.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.context import Conversation
from mistakelab.core.events import RouteEvent, ScoreEvent, StopEvent, VoteEvent
from mistakelab.core.trace import AnswerKind
from mistakelab.core.types import Completion
from mistakelab.scorers import ScorerSpec, StepScores, aggregate, build_scorer
from mistakelab.strategies.base import strategy
from mistakelab.strategies.best_of_n import sampling, shared_stats
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.kit.voting import mass_confidence, ranked, weak_steps, weighted_vote

PROMPTS = {
    "review": "Problem:\n{question}\n\nSolution:\n{solution}\n\nA checker doubts these steps:\n\n{weak}\n\n"
              "Review them: for each, say whether it is wrong and why, and how to fix it. Do not write "
              "a new solution.",
    "refine": "A reviewer checked your solution:\n\n{feedback}\n\nUsing this review, write a corrected, "
              "complete solution. Put the final answer in \\boxed{{}}.",
}


class MagicoreParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int = Field(default=8, ge=1)
    temperature: float = Field(default=0.7, gt=0)
    outcome: ScorerSpec | None = "critic_verdict"
    step: ScorerSpec | None = "critic_step"
    share: float = Field(default=0.7, ge=0, le=1)  # hard below this top-answer share ...
    confidence: float = Field(default=0.5, ge=0, le=1)  # ... and below this confidence
    rounds: int = Field(default=3, ge=0)
    refine: int = Field(default=2, ge=1)
    step_below: float = 0.5
    shared: bool = True  # self_consistency's samples (see best_of_n)


def _scorers(p: MagicoreParams) -> list:  # type: ignore[type-arg]
    return [build_scorer(s) for s in (p.outcome, p.step) if s is not None]


async def _rate(ctx: StrategyContext, p: MagicoreParams, text: str,
                completion: Completion | None) -> tuple[float | None, StepScores | None]:
    """Outcome score + product of step scores, and the step scores (None when no step scorer)."""
    outcome = await build_scorer(p.outcome).score(ctx, text, completion=completion) if p.outcome else None
    steps, step_part = None, None
    if p.step is not None:
        scorer = build_scorer(p.step)
        steps = await scorer.score(ctx, text, completion=completion)
        # the product of step probabilities (METHODS §2.7); other scores: the scorer's own aggregate
        step_part = aggregate(steps.scores, "prod") if scorer.probability else steps.aggregate
    parts = [x for x in (outcome.aggregate if outcome else None, step_part) if x is not None]
    return (sum(parts) if parts else None), steps


@strategy("magicore", MagicoreParams, roles=("reviewer", "refiner", "critic"), prompts=PROMPTS,
          depth=lambda p: 2 + 3 * p.rounds, method="MAgICoRe, METHODS §2.7",
          shared_stats=lambda p: shared_stats(p.shared, _scorers(p)))
async def magicore(ctx: StrategyContext, params: MagicoreParams) -> None:
    """Score k samples; vote on easy problems; review-and-refine low-score steps on hard ones."""
    outs = await ctx.sample(ctx.question(), params.k, purpose="sample",
                            **sampling(params.shared, _scorers(params), params.temperature))
    texts = [c.text for c in outs]
    answers = [ctx.record_answer(c, AnswerKind.SAMPLE) for c in outs]
    rated = list(await asyncio.gather(*(_rate(ctx, params, c.text, c) for c in outs)))
    reviewer, refiner = ctx.model("reviewer"), ctx.model("refiner")
    used, reason, refined = 0, "rounds used up", set()
    for r in range(params.rounds + 1):
        totals = [t for t, _ in rated]
        ctx.emit(ScoreEvent(scorer="outcome+prod(step)", label=f"round-{r}", scores=totals,
                            steps=[s.scores if s else [] for _, s in rated]))
        _, mass = weighted_vote(answers, totals, ctx.answer_key)
        share, conf = mass_confidence(mass)
        hard = share < params.share and conf < params.confidence
        ctx.emit(RouteEvent(round=r, hard=hard, share=share, confidence=conf))
        if not hard or r == params.rounds:
            reason = "easy" if not hard else reason
            break
        # each candidate is refined once (greedy review and rewrite would repeat themselves)
        chosen = [i for i in ranked(totals) if answers[i] is not None and i not in refined][: params.refine]
        if not chosen:
            reason = "nothing left to refine"
            break
        used = r + 1
        refined.update(chosen)

        async def refine(j: int, i: int) -> Completion:
            steps = rated[i][1]
            weak = weak_steps(steps.scores, params.step_below) if steps else []
            listed = "\n\n".join(f"Step {n + 1}: {steps.steps[n].text}" for n in weak) if weak else texts[i]  # type: ignore[union-attr]
            review = Conversation().user(ctx.prompt("review", solution=texts[i], weak=listed))
            feedback = await reviewer.generate(review, purpose=f"review-{used}", index=j)
            ask = ctx.question().assistant(texts[i]).user(ctx.prompt("refine", feedback=feedback.text))
            return await refiner.generate(ask, purpose=f"refine-{used}", index=j)

        new = await asyncio.gather(*(refine(j, i) for j, i in enumerate(chosen)))
        answers += [ctx.record_answer(c, label=f"refine-{used}") for c in new]
        texts += [c.text for c in new]
        rated += await asyncio.gather(*(_rate(ctx, params, c.text, c) for c in new))
    winner, mass = weighted_vote(answers, [t for t, _ in rated], ctx.answer_key)
    ctx.emit(VoteEvent(winner=winner, votes=max(mass.values(), default=0.0), k=len(answers),
                       method="score-weighted", tally=mass))
    ctx.emit(StopEvent(reason=reason, rounds=used))
    ctx.final(winner, method="weighted_vote")
