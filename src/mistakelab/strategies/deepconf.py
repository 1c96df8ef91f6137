"""``deepconf``: confidence-filtered, confidence-weighted voting, with early stopping of
low-confidence traces (DeepConf, "Deep Think with Confidence", Fu et al. 2025; METHODS §2.13).

Every trace is sampled with its top-``top_k`` logprobs; its token confidences, sliding-window
group confidences (``window`` tokens) and score (``score``: lowest group, bottom-10% groups,
tail, mean) come from :mod:`mistakelab.confidence.groups`.

- ``mode="offline"``: sample ``n`` traces; keep the top ``eta``% by score (at least one) and
  take the score-weighted vote (:func:`~mistakelab.strategies.selection.weighted_vote`).
- ``mode="online"`` (default): sample ``warmup`` traces in full; the threshold is the
  (100 - ``eta``)-th percentile of their lowest group confidences, and the warm-up traces
  whose lowest group reaches it vote. Later traces are sampled ``batch`` at a time with a
  confidence stop (:class:`~mistakelab.core.types.ConfidenceStop`): generation ends at the
  token that completes a window whose group confidence is under the threshold (the local
  engine stops the sequence there; a server's token stream is closed, which cancels the
  request; any other backend's text is cut at the same token). The tokens not generated are
  the saving. Stopped traces do not vote. After every batch, sampling stops once the leading
  answer's share of the weighted vote reaches ``tau`` or ``n`` traces were started.

With ``shared`` (default) the offline traces and the online warm-up traces are
self-consistency's own samples (same seeds, drawn with the statistics), so a run holding
``self_consistency``, ``best_of_n`` and ``deepconf`` samples once and compares them on the same
traces.

Complete traces are recorded as samples (pass@k counts them); the trace's events give every
trace's score (``None``: stopped), the vote, why sampling stopped and, in a note, the
threshold, the traces stopped and the tokens they used. Intrinsic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mistakelab.confidence.groups import TraceScore, token_confidences, trace_score
from mistakelab.core.events import ScoreEvent, StopEvent, VoteEvent
from mistakelab.core.trace import AnswerKind
from mistakelab.core.types import Completion, ConfidenceStop
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.kit import mass_confidence, ranked, weighted_vote


class DeepConfParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["offline", "online"] = "online"
    n: int = Field(default=8, ge=1)  # traces at most
    top_k: int = Field(default=10, ge=1, le=20)  # candidates per position in token confidence
    window: int = Field(default=32, ge=1)  # tokens per group
    score: TraceScore = "lowest"
    eta: float = Field(default=90.0, gt=0, le=100)  # % of traces kept (offline) / passing (online)
    warmup: int = Field(default=4, ge=1)  # online: traces that set the threshold
    tau: float = Field(default=0.95, gt=0.5, le=1.0)  # online: consensus that stops sampling
    batch: int = Field(default=4, ge=1)  # online: traces generated between consensus checks
    temperature: float = Field(default=0.7, gt=0)
    shared: bool = True  # the first traces are self-consistency's samples (same seeds)

    @model_validator(mode="after")
    def _fits(self) -> "DeepConfParams":
        if self.mode == "online" and self.warmup > self.n:
            raise ValueError(f"warmup ({self.warmup}) is more than n ({self.n})")
        return self


@dataclass
class _Trace:
    text: str
    conf: list[float]
    call: int | None  # the trace's last call
    stopped: bool = False


def _depth(p: DeepConfParams) -> int:
    return 1 + math.ceil((p.n - p.warmup) / p.batch) if p.mode == "online" else 1


@strategy("deepconf", DeepConfParams, needs={"solver": {"top_logprobs"}}, depth=_depth,
          shared_stats=lambda p: p.top_k if p.shared else None,
          method="DeepConf (Deep Think with Confidence, 2025), METHODS §2.13")
async def deepconf(ctx: StrategyContext, params: DeepConfParams) -> None:
    """Vote over confident traces only, weighted by confidence; online, stop weak traces early."""
    gen = {"temperature": params.temperature, "logprobs": True, "top_logprobs": params.top_k}
    scope = {"seed_scope": "self_consistency"} if params.shared else {}
    outs = await ctx.sample(ctx.question(), params.warmup if params.mode == "online" else params.n,
                            purpose="sample", **gen, **scope)
    traces = [_Trace(c.text, _confidences(c, params), ctx.call_of(c)) for c in outs]
    scores = [trace_score(t.conf, params.window, params.score) for t in traces]
    if params.mode == "offline":
        keep = ranked(scores)[: max(1, math.ceil(len(traces) * params.eta / 100))]
        voters, threshold, reason = sorted(keep), None, "budget"
    else:
        lows = [trace_score(t.conf, params.window, "lowest") or 0.0 for t in traces]
        threshold = float(np.percentile(lows, 100 - params.eta))
        voters = [i for i, low in enumerate(lows) if low >= threshold]
        reason = "budget"
        stop = ConfidenceStop(window=params.window, threshold=threshold, top_k=params.top_k)
        while not _agreed(ctx, traces, scores, voters, params.tau) and len(traces) < params.n:
            more = await ctx.sample(ctx.question(), min(params.batch, params.n - len(traces)), purpose="trace",
                                    confidence_stop=stop, **gen)
            for c in more:
                low = c.finish_reason == "low_confidence"
                t = _Trace(c.text, _confidences(c, params), ctx.call_of(c), stopped=low)
                voters += [] if t.stopped else [len(traces)]
                traces.append(t)
                scores.append(None if t.stopped else trace_score(t.conf, params.window, params.score))
        if _agreed(ctx, traces, scores, voters, params.tau):
            reason = "consensus"
    answers = [None if t.stopped else ctx.record_answer(t.text, AnswerKind.SAMPLE, call=t.call) for t in traces]
    winner, mass = weighted_vote([answers[i] for i in voters], [scores[i] for i in voters], key=ctx.answer_key)
    stopped = [t for t in traces if t.stopped]
    ctx.emit(ScoreEvent(scorer=f"deepconf:{params.score}", label="traces", scores=scores,
                        chosen=next((i for i in voters if ctx.same_answer(answers[i], winner)), None)))
    ctx.emit(VoteEvent(winner=winner, votes=max(mass.values(), default=0.0), k=len(voters),
                       method=f"deepconf:{params.mode}", tally=mass))
    ctx.emit(StopEvent(reason=reason, rounds=len(traces)))
    ctx.note(f"{len(voters)} of {len(traces)} traces voted; {len(stopped)} stopped early", label="deepconf",
             threshold=threshold, voters=voters, stopped=len(stopped),
             stopped_tokens=sum(len(t.conf) for t in stopped), tokens=sum(len(t.conf) for t in traces))
    ctx.final(winner, method=f"deepconf:{params.mode}")


def _agreed(ctx: StrategyContext, traces: list[_Trace], scores: list[float | None], voters: list[int],
            tau: float) -> bool:
    answers = [ctx.extract(traces[i].text).text for i in voters]
    _, mass = weighted_vote(answers, [scores[i] for i in voters], key=ctx.answer_key)
    return bool(mass) and mass_confidence(mass)[0] >= tau


def _confidences(c: Completion, params: DeepConfParams) -> list[float]:
    conf = token_confidences(c.logprobs, params.top_k)
    if conf is None or (c.completion_tokens and not c.logprobs):
        raise ValueError("deepconf needs the top logprobs of every generated token; the backend returned "
                         "a completion without them")
    return conf

