"""``mentor``: Speculative Thinking: at the solver's reflection points a mentor model writes the
next segment, then the solver resumes (Yang et al. 2025; METHODS §2.17).

The solver writes its answer with the reflection ``cues`` as stop strings (a paragraph that
starts with "Wait", "Alternatively", "Hmm"). When it stops there without a plainly stated
answer, the ``mentor`` role continues the same assistant turn for up to ``mentor_tokens``
tokens (it writes the reflection itself), and the solver continues after it; at most
``handoffs`` times, after which the solver finishes without stops. With ``low_logprob``, a
solver step (a paragraph) whose mean token logprob is under it is also a hand-off point: the
solver's text is cut after that step and the mentor continues from there. The whole turn is
bounded by the run's ``max_tokens``. A mentor segment that ends the turn (its own end) ends it.

The answer of the whole turn is the final answer; a note gives the hand-offs and the mentor's
share of the turn's tokens (``usage_by_role`` has both roles' tokens). Only the stop at a
cue is seen, not which cue: a solver that ends without a plain answer also hands over.
Solver and mentor need ``continue``. Intrinsic.

Example:
    >>> import asyncio
    >>> from mistakelab.backends import ScriptedBackend
    >>> from mistakelab.core import Completion, Problem
    >>> from mistakelab.runner import solve
    >>> from mistakelab.tasks import create_task
    >>> small = ScriptedBackend(["2 + 2 = 5.\\n\\nWait, that is odd", " So \\\\boxed{4}."])
    >>> segment = Completion(text="\\n\\nCheck: 2 + 2 = 4.", completion_tokens=6, finish_reason="length")
    >>> big = ScriptedBackend([segment], model_id="big")  # cut at mentor_tokens
    >>> trace, r = asyncio.run(solve("mentor", small, Problem(id="p", question="2+2?", answer="4"),
    ...                              create_task("gsm8k_sample"), roles={"mentor": big}))
    >>> r.correct, [c.role for c in trace.calls], small.calls[1].messages[-1].content
    (True, ['solver', 'mentor', 'solver'], '2 + 2 = 5.\\n\\nCheck: 2 + 2 = 4.')
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.core.types import Completion
from mistakelab.scorers import step_means
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.revision import overrides


class MentorParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cues: tuple[str, ...] = Field(default=("\n\nWait", "\n\nAlternatively", "\n\nHmm"), min_length=1)
    mentor_tokens: int = Field(default=64, ge=1)  # tokens per mentor segment
    handoffs: int = Field(default=4, ge=0)  # mentor segments at most
    low_logprob: float | None = None  # also hand over after a solver step whose mean token logprob is lower
    temperature: float | None = None


@strategy("mentor", MentorParams, roles=("mentor",), needs={"solver": {"continue"}, "mentor": {"continue"}},
          depth=lambda p: 2 * p.handoffs + 1, method="Speculative Thinking (2025), METHODS §2.17")
async def mentor(ctx: StrategyContext, params: MentorParams) -> None:
    """The solver writes; at reflection cues a mentor writes the next segment, then the solver resumes."""
    gen, budget = overrides(params.temperature), ctx.params.max_tokens
    watch = {"logprobs": True} if params.low_logprob is not None else {}
    text, tokens, handoffs, low = "", {"solver": 0, "mentor": 0}, 0, 0
    last: Completion | None = None
    while sum(tokens.values()) < budget:
        stop = (*ctx.params.stop, *params.cues) if handoffs < params.handoffs else ctx.params.stop
        left = budget - sum(tokens.values())
        last = await _write(ctx, "solver", text, f"solver-{handoffs}", stop=stop, max_tokens=left, **gen, **watch)
        start, text, tokens["solver"] = len(text), text + last.text, tokens["solver"] + last.completion_tokens
        cut = _low_step(ctx, last, params.low_logprob) if watch and stop != ctx.params.stop else None
        if cut is not None:  # the rest of the segment is dropped (its tokens were spent)
            text, low = text[: start + cut], low + 1
        else:
            found = ctx.extract(text)
            if last.finish_reason != "stop" or stop == ctx.params.stop or (found.found and found.method != "last_number"):
                break
        left = budget - sum(tokens.values())
        if left <= 0:
            break
        last = await _write(ctx, "mentor", text, f"mentor-{handoffs}", max_tokens=min(params.mentor_tokens, left), **gen)
        text, tokens["mentor"], handoffs = text + last.text, tokens["mentor"] + last.completion_tokens, handoffs + 1
        if last.finish_reason == "stop":
            break
    total = sum(tokens.values())
    ctx.note(f"{handoffs} hand-offs; the mentor wrote {tokens['mentor']} of {total} tokens", label="mentor",
             handoffs=handoffs, low_confidence=low, mentor_tokens=tokens["mentor"], solver_tokens=tokens["solver"],
             mentor_share=tokens["mentor"] / total if total else 0.0)
    ctx.final(ctx.record_answer(text, label="solution", call=None if last is None else ctx.call_of(last)),
              method="only")


def _low_step(ctx: StrategyContext, c: Completion, threshold: float | None) -> int | None:
    """Where the first step of ``c`` whose mean token logprob is under ``threshold`` ends (None: none)."""
    if threshold is None or not c.logprobs:
        return None
    values, pos = [], 0
    for lp in c.logprobs:
        values.append((min(pos, max(len(c.text) - 1, 0)), lp.logprob))
        pos += len(lp.token)
    steps = ctx.steps(c.text)
    return next((s.end for s, m in zip(steps, step_means(values, steps)) if m is not None and m < threshold), None)


async def _write(ctx: StrategyContext, role: str, text: str, purpose: str, **gen: object) -> Completion:
    if not text:
        return await ctx.model(role).generate(ctx.question(), purpose=purpose, **gen)
    return await ctx.model(role).continue_(ctx.question(), text, purpose=purpose, **gen)
