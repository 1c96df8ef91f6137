"""``feedback``: the Feedback Friction loop (2025; METHODS §2.8). Oracle-assisted.

The solver answers. While the answer is wrong (judged with the gold answer), a ``feedback``
role model (the solver when none is configured) that sees the gold answer, and with
``show_solution`` the gold solution, explains what is wrong; the solver retries with the
whole history, for up to ``rounds`` retries. Feedback calls carry gold information and are
marked ``oracle=True``.

The gold answer never reaches the solver: every standalone occurrence of it in a feedback
text is replaced by ``[redacted]`` before the solver sees it, and each redacted feedback
is a :class:`~mistakelab.core.events.RedactionEvent` with the count. Mitigations from the
paper: ``temperature_step`` raises the solver's temperature by that much each round (up to
``max_temperature``), and ``list_tried`` lists the answers already tried in the retry
message. Cumulative accuracy after each round comes from Result.attempts
(:func:`mistakelab.metrics.rounds.cumulative_accuracy`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.context import Conversation
from mistakelab.core.events import RedactionEvent, StopEvent
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.revision import listing, redact

PROMPTS = {
    "feedback": "Problem:\n{question}\n\nThe correct final answer is {gold}.{reference}\n\nA student's "
                "solution:\n{solution}\n\nThe student's final answer is wrong. Explain briefly where the "
                "solution first goes wrong and how to fix it. Do not state the correct final answer.",
    "reference": "\n\nA correct solution:\n{gold_solution}",
    "retry": "Feedback on your solution:\n\n{feedback}\n\n{tried}Solve the problem again using this feedback. "
             "Put the final answer in \\boxed{{}}.",
    "tried": "Answers you already gave, all incorrect: {answers}.\n\n",
}


class FeedbackParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rounds: int = Field(default=10, ge=0)  # retries after the first answer (the paper: up to 10)
    show_solution: bool = False  # the feedback model also sees the gold solution (when the task has one)
    temperature: float | None = None  # the solver's first temperature (None: the run's default)
    temperature_step: float = Field(default=0.0, ge=0)  # added each round (rising temperature)
    max_temperature: float = Field(default=1.0, ge=0)
    list_tried: bool = False  # list the answers already tried in each retry message
    stop_after_boxed: bool = True  # an answer after feedback ends once it is boxed


@strategy("feedback", FeedbackParams, oracle=True, roles=("feedback",), prompts=PROMPTS,
          depth=lambda p: 1 + 2 * p.rounds, method="Feedback Friction (2025; METHODS §2.8)")
async def feedback(ctx: StrategyContext, params: FeedbackParams) -> None:
    """Solve; while wrong, a feedback model that knows the gold answer explains the mistake."""
    oracle, critic = ctx.oracle(), ctx.model("feedback")
    reference = ""
    if params.show_solution and oracle.gold_solution():
        reference = ctx.prompt("reference", gold_solution=oracle.gold_solution())
    base = ctx.params.temperature if params.temperature is None else params.temperature
    conv, tried, reason, r = ctx.question(), [], "rounds used up", 0
    for r in range(params.rounds + 1):
        temp = min(base + r * params.temperature_step, max(params.max_temperature, base))
        c = await ctx.generate(conv, purpose=f"solve-{r}", temperature=temp,
                               **({"stop_after_boxed": True} if r and params.stop_after_boxed else {}))
        tried.append(ctx.record_answer(c, label=f"round-{r}"))
        if oracle.check(c.text):
            reason = "correct"
            break
        if r == params.rounds:
            break
        ask = Conversation().user(ctx.prompt("feedback", gold=oracle.gold_answer, reference=reference,
                                             solution=c.text))
        fb = await critic.generate(ask, purpose=f"feedback-{r}", oracle=True)
        text, n = redact(fb.text, oracle.gold_answer)
        if n:
            ctx.emit(RedactionEvent(round=r, count=n, role=critic.role))
        listed = ctx.prompt("tried", answers=listing(tried)) if params.list_tried and listing(tried) else ""
        conv = conv.assistant(c.text).user(ctx.prompt("retry", feedback=text.strip(), tried=listed))
    ctx.emit(StopEvent(reason=reason, rounds=r))
    ctx.final(tried[-1], method="last_round")
