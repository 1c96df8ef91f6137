"""``try_again``: "try again" unary feedback (UFO, 2025; METHODS §2.3). Oracle-assisted.

Multi-turn: the solver answers; while the answer is wrong (judged with the gold answer, the
oracle door) the user says only that it is incorrect and asks for another try, in the same
conversation. Stops at the first correct answer or after ``turns`` answers, so the final
answer is correct exactly when one of the turns was (Succ@T). Every turn's answer is an
ATTEMPT: Result.attempts gives Succ@T, the mean turns to success, and with the extracted
answers the unique-answer ratio (:mod:`mistakelab.metrics.rounds`).

Example:
    >>> import asyncio
    >>> from mistakelab.backends import ScriptedBackend
    >>> from mistakelab.core import Problem
    >>> from mistakelab.runner import solve
    >>> from mistakelab.tasks import create_task
    >>> fake = ScriptedBackend(["\\\\boxed{5}", "\\\\boxed{4}"])
    >>> trace, r = asyncio.run(solve("try_again:turns=3", fake, Problem(id="p", question="2+2?", answer="4"),
    ...                              create_task("gsm8k_sample")))
    >>> r.attempts, r.correct, r.used_gold, fake.calls[1].messages[-1].content.startswith('Your answer is incorrect')
    ([False, True], True, True, True)
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.core.events import StopEvent
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.revision import revising

PROMPTS = {
    "retry": "Your answer is incorrect. Please try again. Put the final answer in \\boxed{{}}.",
}


class TryAgainParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    turns: int = Field(default=5, ge=1)  # T: answers at most (UFO uses 5)
    temperature: float | None = None  # None: the run's generation default
    stop_after_boxed: bool = True  # an answer after "try again" ends once it is boxed


@strategy("try_again", TryAgainParams, oracle=True, prompts=PROMPTS, depth=lambda p: p.turns,
          method="'try again' unary feedback (UFO, 2025; METHODS §2.3)")
async def try_again(ctx: StrategyContext, params: TryAgainParams) -> None:
    """Answer; while wrong (by the gold answer), say only 'incorrect, try again'; up to T turns."""
    conv = ctx.question()
    answer, reason, turn = None, "turns used up", 0
    for turn in range(params.turns):
        c = await ctx.generate(conv, purpose=f"turn-{turn}",
                               **revising(params.temperature, bool(turn) and params.stop_after_boxed))
        answer = ctx.record_answer(c, label=f"turn-{turn}")
        if ctx.oracle_check(c.text):
            reason = "correct"
            break
        conv = conv.assistant(c.text).user(ctx.prompt("retry"))
    ctx.emit(StopEvent(reason=reason, rounds=turn + 1))
    ctx.final(answer, method="last_turn")
