"""``prp``: Progressive Rectification Prompting (PRP, 2024; METHODS §2.4). Intrinsic.

1. Solve with chain of thought: answer ``a``.
2. Verify: mask one number ``v`` of the question as X, state "the answer is a", ask for X;
   the check passes when the model's X equals ``v`` (numeric tolerance).
3. On failure add ``a`` to the likely-wrong answers S and solve again with the hint "the
   answer is likely not S"; back to 2.

Stops on a pass, on two equal answers in a row, or after ``rounds`` solutions; the final
answer is the last one. The questions are free text, so the masked number is found in it
(:func:`question_numbers`): ``mask="random"`` picks one per round, seeded by the problem and
round (PRP's rule); ``"first"`` the first number; ``"each"`` tries every number in turn and
passes only when all come back. A question without numbers cannot be checked: the first
answer stands (so does a solution without an answer). Each masked-number answer is a CHECK answer; each check is a
:class:`~mistakelab.core.events.VerifyEvent`, so :func:`mistakelab.metrics.rounds.false_pass_rate`
tells how often verification passed a wrong answer.
"""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.answers import answers_match
from mistakelab.context import Conversation
from mistakelab.core.events import StopEvent, VerifyEvent
from mistakelab.core.trace import AnswerKind
from mistakelab.steps.numbers import Token, tokenize
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.revision import listing, overrides, with_hint

PROMPTS = {
    "verify": "{masked}\n\nIf we know the answer to the question above is {answer}, what is the value of the "
              "unknown variable X? Solve step by step and put the value of X in \\boxed{{}}.",
    "hint": "(The answer is likely not {excluded}.)",
}


class PRPParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rounds: int = Field(default=5, ge=1)  # solutions at most
    mask: Literal["random", "first", "each"] = "random"
    max_masks: int = Field(default=4, ge=1)  # mask="each": numbers tried at most
    temperature: float | None = None


def question_numbers(question: str) -> list[Token]:
    """The numbers of a free-text question that a verification may mask (plain numerals).

    Example:
        >>> [t.text for t in question_numbers("Tom has 3 apples and buys 12 more at $1.50 each.")]
        ['3', '12', '1.50']
    """
    return [t for t in tokenize(question) if t.kind == "num" and not t.percent and t.text == question[t.start:t.end]]


def mask(question: str, tok: Token) -> str:
    """``question`` with the number ``tok`` replaced by X."""
    return question[:tok.start] + "X" + question[tok.end:]


@strategy("prp", PRPParams, prompts=PROMPTS, depth=lambda p: 2 * p.rounds,
          method="Progressive Rectification Prompting (PRP, 2024; METHODS §2.4)")
async def prp(ctx: StrategyContext, params: PRPParams) -> None:
    """Solve, verify by masking a number of the question, re-solve with 'likely not S' hints."""
    gen = overrides(params.temperature)
    question, nums = ctx.problem.question, question_numbers(ctx.problem.question)
    excluded: list[str | None] = []
    conv, answer, reason, r = ctx.question(), None, "rounds used up", 0
    for r in range(params.rounds):
        c = await ctx.generate(conv, purpose=f"solve-{r}", **gen)
        previous, answer = answer, ctx.record_answer(c, label=f"solve-{r}")
        if r > 0 and ctx.same_answer(previous, answer):
            reason = "same answer twice"
            break
        if not nums or answer is None:
            reason = "no number to mask" if not nums else "no answer to verify"
            break
        rng = random.Random(f"{ctx.problem_id}-{r}")
        picks = {"first": nums[:1], "random": [rng.choice(nums)], "each": nums[:params.max_masks]}[params.mask]
        passed = True
        for i, tok in enumerate(picks):
            ask = Conversation().user(ctx.prompt("verify", masked=mask(question, tok), answer=answer))
            v = await ctx.generate(ask, purpose=f"verify-{r}", index=i, **gen)
            got = ctx.record_answer(v, AnswerKind.CHECK, label=f"verify-{r}.{i}")
            ok = got is not None and answers_match(got, tok.text)[0]
            ctx.emit(VerifyEvent(round=r, attempt=r, answer=answer, expected=tok.text, got=got, passed=ok))
            passed = passed and ok
            if not ok:
                break
        if passed:
            reason = "verified"
            break
        excluded.append(answer)
        conv = with_hint(ctx.question(), ctx.prompt("hint", excluded=listing(excluded) or "empty"))
    ctx.emit(StopEvent(reason=reason, rounds=r + 1))
    ctx.final(answer, method="last_solution")
