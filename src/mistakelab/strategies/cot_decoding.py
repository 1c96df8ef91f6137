"""``cot_decoding``: branch on the top-k first tokens, continue each greedily, keep the path
whose answer the model is surest of (CoT-decoding, Wang & Zhou 2024; METHODS §2.15).

One greedy call of one token gives the ``k`` most likely first tokens; each becomes the start
of a path, continued greedily (temperature 0) with the top-2 logprobs of every token. A
path's confidence is the mean, over the tokens of its answer (the last place the extracted
answer appears in its text; a token counts when it overlaps that span), of p(top-1) -
p(top-2). ``select="max"`` returns the path with the largest margin (ties: the more likely
first token); ``select="sum"`` sums the margins of paths with the same answer (the paper's
aggregated variant). A path with no answer, or whose answer is not found in its text, has no
margin and never wins. The trace's score event gives every path's margin. Intrinsic; the
solver needs ``top_logprobs`` and ``continue``.

Example:
    >>> from mistakelab.core import TokenLogprob
    >>> lps = [TokenLogprob(token=t, logprob=-0.1, top=[(t, math.log(p1)), ("x", math.log(p2))])
    ...        for t, p1, p2 in [(" is", 0.9, 0.05), (" 1", 0.6, 0.3), ("2", 0.8, 0.1)]]
    >>> round(answer_margin("A is 12", "12", lps, offset=1), 3)
    0.5
"""

from __future__ import annotations

import asyncio
import math
from typing import Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.core.events import ScoreEvent, VoteEvent
from mistakelab.core.trace import AnswerKind
from mistakelab.core.types import TokenLogprob
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.kit import best_index, weighted_vote


def answer_margin(text: str, answer: str | None, logprobs: Sequence[TokenLogprob], offset: int = 0) -> float | None:
    """Mean p(top-1) - p(top-2) over the tokens overlapping the last occurrence of ``answer``
    in ``text``; ``logprobs`` cover ``text[offset:]``. None when there is no such token."""
    at = text.rfind(answer) if answer else -1
    if at < 0:
        return None
    end, pos, margins = at + len(answer), offset, []  # type: ignore[arg-type]
    for lp in logprobs:
        start, pos = pos, pos + len(lp.token)
        if pos > at and start < end and lp.top:
            probs = sorted((math.exp(v) for _, v in lp.top), reverse=True)
            margins.append(probs[0] - (probs[1] if len(probs) > 1 else 0.0))
    return sum(margins) / len(margins) if margins else None


class CotDecodingParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int = Field(default=10, ge=1, le=20)  # first tokens branched on
    select: Literal["max", "sum"] = "max"


@strategy("cot_decoding", CotDecodingParams, needs={"solver": {"top_logprobs", "continue"}}, depth=lambda p: 2,
          method="CoT-decoding (Wang & Zhou 2024), METHODS §2.15")
async def cot_decoding(ctx: StrategyContext, params: CotDecodingParams) -> None:
    """Branch on the k most likely first tokens, decode each greedily, keep the surest answer."""
    first = await ctx.generate(ctx.question(), purpose="first_token", temperature=0.0, max_tokens=1,
                               logprobs=True, top_logprobs=params.k)
    tops = [t for t, _ in (first.logprobs[0].top if first.logprobs else [])][: params.k]
    if not tops:
        raise ValueError("cot_decoding needs the top logprobs of the first token; the backend returned none")
    paths = await asyncio.gather(*(ctx.continue_(ctx.question(), t, purpose="path", index=i, temperature=0.0,
                                                 logprobs=True, top_logprobs=2) for i, t in enumerate(tops)))
    texts = [t + c.text for t, c in zip(tops, paths)]
    answers = [ctx.record_answer(text, AnswerKind.SAMPLE, call=ctx.call_of(c)) for text, c in zip(texts, paths)]
    margins = [answer_margin(text, a, c.logprobs or [], offset=len(t))
               for text, a, c, t in zip(texts, answers, paths, tops)]
    if params.select == "max":
        chosen = best_index([a if m is not None else None for a, m in zip(answers, margins)], margins)
        winner = None if chosen is None else answers[chosen]
    else:
        winner, mass = weighted_vote(answers, margins, key=ctx.answer_key)
        chosen = next((i for i, a in enumerate(answers) if margins[i] is not None and ctx.same_answer(a, winner)),
                      None)
        ctx.emit(VoteEvent(winner=winner, votes=max(mass.values(), default=0.0), k=len(paths),
                           method="margin-sum", tally=mass))
    ctx.emit(ScoreEvent(scorer="answer_margin", label="paths", scores=margins, chosen=chosen))
    ctx.final(winner, method=f"cot_decoding:{params.select}")

