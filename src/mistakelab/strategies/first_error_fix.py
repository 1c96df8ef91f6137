"""``first_error_fix``: fix a solution at its first wrong step (GLoRe local refinement, InT;
METHODS §2.6).

Solve; locate the first wrong step with a locator (``arithmetic`` by default; ``critic``,
``exact`` and ``rollout`` work too, the last two oracle-assisted); keep the text before that
step and let the solver continue from there, k times. What the solver is told first
(``feedback``): ``none`` (it only continues the kept prefix, a fresh sample), ``locate`` (it is
shown the wrong step and asked to redo the solution from it) or ``critique`` (it first writes
a short critique of the step, then redoes the solution with it). With ``rewrite`` it also
writes a new solution from scratch (GLoRe's global refinement).

Choice: with no ``scorer``, the majority answer of the k continuations (ties: first seen).
With a scorer (GLoRe's reranking), the best-scored of the current solution, its rewrite and
the continuations. ``rounds`` > 1 locates again in the chosen solution. Nothing is fixed when
the locator finds no wrong step (or makes no prediction): the solution stands.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.backends.base import CONTINUE
from mistakelab.core.events import EditEvent, ScoreEvent, StopEvent
from mistakelab.core.trace import AnswerKind
from mistakelab.locate import LocatorSpec
from mistakelab.scorers import ScorerSpec, build_scorer
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.kit.voting import best_index
from mistakelab.strategies.kit.voting import majority

PROMPTS = {
    "critique": "This step of your solution may be wrong:\n\n{step}\n\nIn one or two sentences, say what is "
                "wrong with it. Do not write a new solution.",
    "redo": "This step of your solution is wrong:\n\n{step}\n\n{critique}Write the solution again: keep the "
            "steps before it, correct this step, and go on to the final answer in \\boxed{{}}.",
    "rewrite": "There is a mistake in this step of your solution:\n\n{step}\n\nWrite a new, complete solution "
               "to the problem. Put the final answer in \\boxed{{}}.",
}


class FirstErrorFixParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    locator: LocatorSpec = "arithmetic"
    k: int = Field(default=4, ge=1)
    temperature: float = Field(default=0.7, gt=0)
    feedback: Literal["none", "locate", "critique"] = "locate"
    rewrite: bool = False
    scorer: ScorerSpec | None = None
    rounds: int = Field(default=1, ge=1)


@strategy("first_error_fix", FirstErrorFixParams, roles=("critic",), prompts=PROMPTS,
          needs={"solver": {CONTINUE}}, depth=lambda p: 4 * p.rounds, method="GLoRe local refinement / InT, METHODS §2.6")
async def first_error_fix(ctx: StrategyContext, params: FirstErrorFixParams) -> None:
    """Locate the first wrong step, keep the prefix, regenerate from there (k candidates)."""
    question, hot = ctx.question(), {"temperature": params.temperature}
    scorer = build_scorer(params.scorer) if params.scorer is not None else None
    solution = await ctx.generate(question, purpose="solve")
    text, answer = solution.text, ctx.record_answer(solution, label="initial")
    reason, used = "rounds used up", 0
    for r in range(1, params.rounds + 1):
        found = await ctx.first_error(text, params.locator)
        if not found.found:
            reason = "no wrong step found" if found.step == -1 else "locator made no prediction"
            break
        used, first = r, found.step or 0
        step = found.steps[first].text
        ask, critique = question, ""
        if params.feedback != "none":
            if params.feedback == "critique":
                c = await ctx.generate(question.assistant(text).user(ctx.prompt("critique", step=step)),
                                       purpose=f"critique-{r}")
                critique = c.text.strip() + "\n\n"
            ask = question.assistant(text).user(ctx.prompt("redo", step=step, critique=critique))
        conts = await ctx.sample(ask, params.k, purpose=f"local-{r}", prefix=found.prefix or None, **hot)
        pool = [found.prefix + c.text for c in conts]
        if params.rewrite:
            g = await ctx.generate(question.assistant(text).user(ctx.prompt("rewrite", step=step)),
                                   purpose=f"rewrite-{r}", **hot)
            pool.append(g.text)
        answers = [ctx.record_answer(t, AnswerKind.SAMPLE, label=f"fix-{r}") for t in pool]
        new_steps = ctx.steps(pool[0])
        ctx.emit(EditEvent(step=first, before=step, source=found.locator,
                           after=new_steps[first].text if len(new_steps) > first else ""))
        if scorer is None:
            winner = majority(answers, key=ctx.answer_key)
            chosen = next((i for i, a in enumerate(answers) if ctx.same_answer(a, winner)), None)
        else:
            pool, answers = [text, *pool], [answer, *answers]
            rated = await asyncio.gather(*(scorer.score(ctx, t) for t in pool))
            chosen = best_index(answers, [s.aggregate for s in rated])
            ctx.emit(ScoreEvent(scorer=scorer.name, label=f"rerank-{r}", scores=[s.aggregate for s in rated],
                                chosen=chosen))
        if chosen is not None:
            text = pool[chosen]
            answer = ctx.record_answer(text, label=f"fixed-{r}")
    ctx.emit(StopEvent(reason=reason, rounds=used))
    ctx.final(answer, method="fixed" if used else "initial")
