"""``self_refine`` (Madaan et al. 2023, METHODS §2.2): solve, critique, refine; intrinsic.

Each round: a critic reviews the latest solution (the critique ends with a ``VERDICT:``
line), then the solver rewrites it using the review. With no ``critic`` role configured the
solver critiques itself, in the same conversation: question, solution, review request,
review, rewrite request, so every call's prompt extends the previous one and a backend with
a prefix cache evaluates only the new turns. A separate critic model sees the question and
the solution in one message instead. The loop stops when the verdict is CORRECT or after
``rounds`` refinements. A critique without a parseable verdict counts as INCORRECT (the
critic did not vouch for the solution), and the trace notes it as unparsed.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.context import Conversation
from mistakelab.core.events import CritiqueEvent, StopEvent
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext

PROMPTS = {
    # asked right after the solution in the same conversation: nothing is restated
    "critique": (
        "Review your solution above step by step: the reading of the problem, each calculation, "
        "and the final answer. If you find a mistake, describe the first one and how to fix it. "
        "End your reply with exactly one line: 'VERDICT: CORRECT' if the solution is right, "
        "or 'VERDICT: INCORRECT' if it has a mistake."
    ),
    # what a separate critic model sees: the problem and the solution in one message
    "critique_other": (
        "Problem:\n{question}\n\nProposed solution:\n{solution}\n\n"
        "Review this solution step by step: the reading of the problem, each calculation, and the "
        "final answer. If you find a mistake, describe the first one and how to fix it. End your "
        "reply with exactly one line: 'VERDICT: CORRECT' if the solution is right, or "
        "'VERDICT: INCORRECT' if it has a mistake."
    ),
    "refine": "Using this review, write a corrected, complete solution to the problem. "
              "Put the final answer in \\boxed{{}}.",
    # a separate critic's review, handed to the solver
    "refine_other": "A reviewer wrote:\n\n{critique}\n\nUsing this review, write a corrected, complete "
                    "solution to the problem. Put the final answer in \\boxed{{}}.",
}

_VERDICT = re.compile(r"VERDICT\s*:?\s*\**\s*(CORRECT|INCORRECT|WRONG|RIGHT)", re.I)


def parse_verdict(critique: str) -> bool | None:
    """True/False for the last VERDICT line, None when there is none.

    Example:
        >>> parse_verdict("Step 2 is wrong.\\nVERDICT: INCORRECT")
        False
    """
    found = _VERDICT.findall(critique)
    if not found:
        return None
    return found[-1].upper() in ("CORRECT", "RIGHT")


class SelfRefineParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rounds: int = Field(default=2, ge=0)
    temperature: float | None = None
    stop_after_boxed: bool = True  # a refinement ends once it has boxed an answer


@strategy("self_refine", SelfRefineParams, roles=("critic",), prompts=PROMPTS,
          depth=lambda p: 1 + 2 * p.rounds, method="Self-Refine, METHODS §2.2")
async def self_refine(ctx: StrategyContext, params: SelfRefineParams) -> None:
    """Solve, then critique (optionally by a critic model) and refine up to ``rounds`` times."""
    over = {} if params.temperature is None else {"temperature": params.temperature}
    critic = ctx.model("critic")
    self_critique = critic.model_id == ctx.model().model_id
    question = ctx.question()
    solution = await ctx.generate(question, purpose="solve", **over)
    answer = ctx.record_answer(solution, label="initial")
    used, reason = 0, "rounds used up"
    for r in range(1, params.rounds + 1):
        if self_critique:
            review = question.assistant(solution.text).user(ctx.prompt("critique"))
        else:
            review = Conversation().user(ctx.prompt("critique_other", solution=solution.text))
        critique = await critic.generate(review, purpose=f"critique-{r}", **over)
        used = r
        ok = parse_verdict(critique.text)
        ctx.emit(CritiqueEvent(round=r, verdict=ok, parsed=ok is not None, role=critic.role))
        if ok:
            reason = "critique says correct"
            break
        if self_critique:
            ask = review.assistant(critique.text).user(ctx.prompt("refine"))
        else:
            ask = question.assistant(solution.text).user(ctx.prompt("refine_other", critique=critique.text))
        solution = await ctx.generate(ask, purpose=f"refine-{r}",
                                      **over, **({"stop_after_boxed": True} if params.stop_after_boxed else {}))
        answer = ctx.record_answer(solution, label=f"refine-{r}")
    ctx.emit(StopEvent(reason=reason, rounds=used))
    ctx.final(answer, method="last_solution")
