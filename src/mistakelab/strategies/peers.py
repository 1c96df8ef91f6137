"""``peers``: Learning from Peers (LeaP, 2025; METHODS §2.17): parallel reasoning paths that
exchange short summaries as they go, then vote.

``k`` paths are sampled; every ``every`` tokens each unfinished path is asked, inside its own
turn, to summarize its reasoning so far (up to ``summary_tokens``), then reads the latest
summaries of all other paths (``routing="all"``) and continues. A path ends at its own end or
at the run's ``max_tokens``; at most ``rounds`` exchanges. Each path's answer is a sample; the
final answer is their majority (ties: first seen), as in ``self_consistency``. The solver needs
``continue``. Intrinsic.

Example:
    >>> import asyncio
    >>> from mistakelab.backends import ScriptedBackend
    >>> from mistakelab.core import Problem
    >>> from mistakelab.runner import solve
    >>> from mistakelab.tasks import create_task
    >>> def model(messages, params):
    ...     turn = messages[-1].content if messages[-1].role == "assistant" else ""
    ...     if turn.endswith("so far:"):
    ...         return "I add 2 and 2."
    ...     return " So \\\\boxed{4}." if "other solvers" in turn else "2 + 2"
    >>> trace, r = asyncio.run(solve("peers:k=2,every=2", ScriptedBackend(model),
    ...                              Problem(id="p", question="2+2?", answer="4"), create_task("gsm8k_sample")))
    >>> r.correct, [c.purpose for c in trace.calls][:4]
    (True, ['path-0', 'path-1', 'summary-0', 'summary-1'])
"""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.core.events import StopEvent, VoteEvent
from mistakelab.core.trace import AnswerKind
from mistakelab.core.types import Completion
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.kit import majority, tally

PROMPTS = {
    "summarize": "\n\nLet me summarize my reasoning and what I have found so far:",
    "peers": "\n\nHere is how other solvers are approaching this problem:\n{peers}\n\nLet me compare their "
             "reasoning with mine, then continue.\n\n",
}


class PeersParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int = Field(default=4, ge=2)  # paths
    every: int = Field(default=128, ge=1)  # tokens between exchanges
    summary_tokens: int = Field(default=64, ge=1)
    rounds: int = Field(default=4, ge=0)  # exchanges at most
    routing: Literal["all"] = "all"
    temperature: float = Field(default=0.7, gt=0)


@strategy("peers", PeersParams, prompts=PROMPTS, needs={"solver": {"continue"}}, depth=lambda p: 3 * p.rounds + 1,
          method="Learning from Peers (LeaP, 2025), METHODS §2.17")
async def peers(ctx: StrategyContext, params: PeersParams) -> None:
    """k paths that swap summaries every T tokens, then vote."""
    texts, used = [""] * params.k, [0] * params.k
    summaries: list[str | None] = [None] * params.k
    last: list[Completion | None] = [None] * params.k
    done = [False] * params.k
    exchanges = 0
    while True:
        final_leg = exchanges >= params.rounds
        live = [i for i in range(params.k) if not done[i]]
        outs = await asyncio.gather(*(_write(ctx, texts[i], f"path-{i}", params, max_tokens=_left(ctx, used[i])
                                             if final_leg else min(params.every, _left(ctx, used[i])))
                                      for i in live))
        for i, c in zip(live, outs):
            texts[i], used[i], last[i] = texts[i] + c.text, used[i] + c.completion_tokens, c
            done[i] = final_leg or c.finish_reason != "length" or _left(ctx, used[i]) <= 0
        live = [i for i in range(params.k) if not done[i]]
        if not live:
            break
        cue = ctx.prompt("summarize")
        outs = await asyncio.gather(*(_write(ctx, texts[i] + cue, f"summary-{i}", params,
                                             max_tokens=min(params.summary_tokens, _left(ctx, used[i])))
                                      for i in live))
        for i, c in zip(live, outs):
            summaries[i], texts[i], used[i] = c.text.strip(), texts[i] + cue + c.text, used[i] + c.completion_tokens
        for i in live:
            others = [f"- {s}" for j, s in enumerate(summaries) if j != i and s]
            texts[i] += ctx.prompt("peers", peers="\n".join(others) or "- (no summaries yet)")
        exchanges += 1
    answers = [ctx.record_answer(t, AnswerKind.SAMPLE, call=None if c is None else ctx.call_of(c))
               for t, c in zip(texts, last)]
    votes = tally(answers, key=ctx.answer_key)
    winner = majority(answers, key=ctx.answer_key)
    ctx.emit(StopEvent(reason="paths ended", rounds=exchanges))
    ctx.emit(VoteEvent(winner=winner, votes=max((v for _, v in votes.values()), default=0), k=params.k,
                       tally={first: v for first, v in votes.values()}))
    ctx.final(winner, method="majority")


def _left(ctx: StrategyContext, used: int) -> int:
    return max(ctx.params.max_tokens - used, 0)


async def _write(ctx: StrategyContext, text: str, purpose: str, params: PeersParams, max_tokens: int) -> Completion:
    if not text:
        return await ctx.generate(ctx.question(), purpose=purpose, temperature=params.temperature,
                                  max_tokens=max_tokens)
    return await ctx.continue_(ctx.question(), text, purpose=purpose, temperature=params.temperature,
                               max_tokens=max_tokens)
