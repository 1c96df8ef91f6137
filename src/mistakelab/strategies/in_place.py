"""``in_place``: in-place feedback (2025; METHODS §2.9).

Instead of a new message, the model's own response is edited: its first wrong step is
replaced by a corrected one, and the model continues from the edited response (an
assistant turn continued with ``continue_``). Up to ``rounds`` edits.

- ``locator``: who finds the first wrong step: any registered locator (``arithmetic``:
  intrinsic; ``exact``: the task's step verifier, oracle-assisted; ``critic``...) or
  ``feedback``: the ``feedback`` role model, shown the gold answer, names the step and
  writes its fix in one reply (oracle-assisted; asked only while the answer is wrong).
- ``fix``: who writes the corrected step: ``arithmetic`` (recompute the step's wrong
  computations), ``exact`` (the value the exact checker says the step should state, on
  generated tasks), ``feedback`` (the feedback model, shown the gold answer), or ``auto``:
  the checker's own value when it has one, else the feedback model.

Stops when no wrong step is found, when no fix can be written, or after ``rounds``. Each
edit is an :class:`~mistakelab.core.events.EditEvent` plus an AnswerChangeEvent; the gold
answer is redacted from feedback-written steps (a RedactionEvent each). Intrinsic only with
an intrinsic locator (``arithmetic``, ``critic``) and ``fix="arithmetic"``; every other
choice may use the gold answer and is oracle-assisted.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.context import Conversation
from mistakelab.core.events import EditEvent, RedactionEvent, StopEvent
from mistakelab.locate import LocatorSpec
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.revision import emit_change, overrides, record_turn, redact, revising
from mistakelab.strategies.step_fix import fix_arithmetic, fix_exact, numbered, parse_step_fix

PROMPTS = {
    "locate": "Problem:\n{question}\n\nThe correct final answer is {gold}.\n\nA student's solution, step by "
              "step:\n{steps}\n\nThe final answer is wrong. Find the first wrong step. Reply with exactly two "
              "lines: 'STEP: <its number>' and 'FIX: <that step rewritten correctly>'. Do not state the "
              "correct final answer unless the step itself states it.",
    "fix": "Problem:\n{question}\n\nThe correct final answer is {gold}.\n\nA student's solution, step by step:\n"
           "{steps}\n\nStep {step} is wrong. Reply with exactly one line: 'FIX: <step {step} rewritten correctly>'.",
}


class InPlaceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    locator: Literal["feedback"] | LocatorSpec = "arithmetic"  # a locator spec ("exact", "critic:n=3"...)
    fix: Literal["auto", "arithmetic", "exact", "feedback"] = "auto"
    rounds: int = Field(default=3, ge=1)
    redact: bool = True  # remove the gold answer from steps the feedback model writes
    temperature: float | None = None
    stop_after_boxed: bool = True  # a continuation ends once it has boxed an answer


def _oracle(p: InPlaceParams) -> bool:
    # intrinsic only when neither the locator nor the fixer can reach the gold answer (a
    # locator's own oracle use follows from its spec field: see StrategyDef.is_oracle)
    return p.locator == "feedback" or p.fix != "arithmetic"


async def _locate_and_fix(ctx: StrategyContext, params: InPlaceParams, text: str, r: int
                          ) -> tuple[int | None, str | None, str]:
    """The first wrong step of ``text``, its corrected version and who wrote it."""
    steps, fb = ctx.steps(text), ctx.model("feedback")
    if params.locator == "feedback":
        ask = ctx.prompt("locate", gold=ctx.oracle().gold_answer, steps=numbered(steps))
        reply = await fb.generate(Conversation().user(ask), purpose=f"locate-{r}", oracle=True)
        k, fixed = parse_step_fix(reply.text, len(steps)) or (None, None)
        return k, fixed, "feedback"
    found = await ctx.first_error(text, params.locator)
    if not found.found:
        return None, None, ""
    k = found.step
    assert k is not None
    if params.fix in ("auto", "arithmetic") and (fixed := fix_arithmetic(steps[k].text)):
        return k, fixed, "arithmetic"
    # the exact locator's marks (already oracle-assisted) say what the step should state
    marks = found.evidence.marks or []
    if params.fix in ("auto", "exact") and marks and (fixed := fix_exact(steps[k].text, marks[k])):
        return k, fixed, "exact"
    if params.fix not in ("auto", "feedback"):
        return k, None, params.fix
    ask = ctx.prompt("fix", gold=ctx.oracle().gold_answer, steps=numbered(steps), step=k + 1)
    reply = await fb.generate(Conversation().user(ask), purpose=f"fix-{r}", oracle=True)
    return k, (parse_step_fix(f"STEP: {k + 1}\n{reply.text}", len(steps)) or (k, None))[1], "feedback"


@strategy("in_place", InPlaceParams, oracle=_oracle, roles=("feedback", "critic"), prompts=PROMPTS,
          needs={"solver": {"continue"}}, depth=lambda p: 1 + 2 * p.rounds,
          method="in-place feedback (2025; METHODS §2.9)")
async def in_place(ctx: StrategyContext, params: InPlaceParams) -> None:
    """Replace the first wrong step of the response and let the model continue from it."""
    gen = overrides(params.temperature)
    c = await ctx.generate(ctx.question(), purpose="solve", **gen)
    text, answer, reason = c.text, ctx.record_answer(c, label="initial"), "rounds used up"
    for r in range(params.rounds):
        if params.locator == "feedback" and ctx.oracle_check(text):
            reason = "correct"
            break
        k, fixed, source = await _locate_and_fix(ctx, params, text, r)
        if k is None or fixed is None:
            reason = "no fix written" if k is not None else (
                "feedback named no step" if params.locator == "feedback" else "no wrong step found")
            break
        if source == "feedback" and params.redact:
            fixed, n = redact(fixed, ctx.oracle().gold_answer)
            if n:
                ctx.emit(RedactionEvent(round=r, count=n, role=ctx.model("feedback").role))
        steps = ctx.steps(text)
        ctx.emit(EditEvent(step=k, before=steps[k].text, after=fixed, source=source))
        after = text[steps[k].end:steps[k + 1].start] if k + 1 < len(steps) else "\n"
        prefix = text[:steps[k].start] + fixed + after
        cont = await ctx.continue_(ctx.question(), prefix, purpose=f"continue-{r}",
                                   **revising(params.temperature, params.stop_after_boxed))
        before, text = answer, prefix + cont.text
        answer = record_turn(ctx, prefix, cont, label=f"edit-{r}")
        emit_change(ctx, r, before, answer)
    ctx.emit(StopEvent(reason=reason, rounds=len(ctx.trace.events_of(EditEvent))))
    ctx.final(answer, method="last_edit")
