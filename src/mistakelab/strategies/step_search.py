"""What ``step_beam`` and ``dvts`` share: growing solutions one step at a time (METHODS §2.11).

A *partial* solution is the text so far. Expanding it asks the solver for ``expand``
continuations of it (``continue_`` with the partial as the assistant prefix; a backend with a
prefix cache evaluates the shared text once) that stop at a step boundary (a stop string,
``"\\n\\n"`` by default) or at ``step_tokens``. Each new step is scored once, when it is made
(``only=`` the new steps); a partial's score aggregates the scores along its path with
``agg`` (``last`` by default: the newest step's score, as in HF search-and-learn).

A partial is *finished* when its text holds a boxed answer, or when a continuation comes back
empty (the model ended its turn). Partials still open at ``max_depth`` are completed in one
call without the stop string when nothing finished. Every finished solution is recorded as a
SAMPLE answer. The final answer (``final``): the best-scored finished solution, or the
score-weighted vote over them (ties and unparsed answers: :mod:`~mistakelab.strategies.kit.voting`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.backends.base import CONTINUE
from mistakelab.core.events import ScoreEvent, VoteEvent
from mistakelab.core.trace import AnswerKind
from mistakelab.core.types import Completion
from mistakelab.scorers import Aggregation, Scorer, ScorerSpec, aggregate, build_scorer
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.kit.voting import best_index, weighted_vote


class StepSearchParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    width: int = Field(default=4, ge=1)  # step_beam: beams kept; dvts: total budget N
    expand: int = Field(default=4, ge=1)  # continuations per partial (M)
    max_depth: int = Field(default=8, ge=1)
    step_tokens: int = Field(default=160, ge=1)
    temperature: float = Field(default=0.7, gt=0)
    stop: tuple[str, ...] = ("\n\n",)
    scorer: ScorerSpec = "self_certainty_step"
    agg: Aggregation = "last"
    final: Literal["best", "vote"] = "best"


#: the solver continues partial solutions (the scorer's needs follow from its spec field)
SEARCH_NEEDS = {"solver": {CONTINUE}}


@dataclass
class Partial:
    text: str = ""
    path: list[float | None] = field(default_factory=list)  # scores of its steps, in order
    done: bool = False
    score: float | None = None


class StepSearch:
    """Expansion, scoring and the final choice, for one problem."""

    def __init__(self, ctx: StrategyContext, p: StepSearchParams) -> None:
        self.ctx, self.p = ctx, p
        self.scorer: Scorer = build_scorer(p.scorer)

    async def expand(self, parent: Partial, purpose: str, n: int | None = None) -> list[Partial]:
        p = self.p
        outs = await self.ctx.sample(self.ctx.question(), n or p.expand, purpose=purpose, prefix=parent.text or None,
                                     temperature=p.temperature, max_tokens=p.step_tokens, stop=p.stop,
                                     logprobs=self.scorer.wants_logprobs)
        return list(await asyncio.gather(*(self._child(parent, c, p.stop[0] if p.stop else "") for c in outs)))

    async def complete(self, parent: Partial, purpose: str) -> Partial:
        """Finish ``parent`` in one call, without the stop string."""
        c = await self.ctx.continue_(self.ctx.question(), parent.text, purpose=purpose, temperature=self.p.temperature,
                                     logprobs=self.scorer.wants_logprobs)
        child = await self._child(parent, c, "")
        child.done = True
        return child

    async def _child(self, parent: Partial, c: Completion, sep: str) -> Partial:
        body = parent.text + c.text
        done = not c.text.strip() or self.ctx.extract(body).method == "boxed"
        steps = self.ctx.steps(body)
        new = [i for i, s in enumerate(steps) if s.end > len(parent.text)]
        scored = await self.scorer.score(self.ctx, body, steps, completion=c, only=new) if new else None
        path = parent.path + ([scored.scores[i] for i in new] if scored else [])
        cut = c.finish_reason == "stop" and not done
        return Partial(body + (sep if cut else ""), path, done, aggregate(path, self.p.agg))

    def choose(self, finished: list[Partial]) -> None:
        """Record the finished solutions and the final answer."""
        ctx = self.ctx
        answers = [ctx.record_answer(f.text, AnswerKind.SAMPLE, label="finished") for f in finished]
        scores = [f.score for f in finished]
        if self.p.final == "best":
            chosen = best_index(answers, scores)
            winner = None if chosen is None else answers[chosen]
        else:
            winner, mass = weighted_vote(answers, scores, ctx.answer_key)
            chosen = next((i for i, a in enumerate(answers) if ctx.same_answer(a, winner)), None)
            ctx.emit(VoteEvent(winner=winner, votes=max(mass.values(), default=0.0), k=len(answers),
                               method="score-weighted", tally=mass))
        ctx.emit(ScoreEvent(scorer=self.scorer.name, label="finished", scores=scores, chosen=chosen,
                            steps=[f.path for f in finished]))
        ctx.final(winner, method=f"{self.p.final}:{self.scorer.name}")
