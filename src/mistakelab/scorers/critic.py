"""Scorers that ask a judge model (role ``critic``; the solver when none is configured).

``critic_step``: for step i, the judge sees the problem, steps 0..i-1 and step i, and is asked
whether step i is correct; the step's score is P(Yes) among {Yes, No} on the first generated
token (greedy, one token, top-20 alternatives: :func:`~mistakelab.confidence.verdict_from_logprobs`).
The prompt for step i+1 extends the one for step i up to the question, so an engine with a
prefix cache evaluates each step's text about once. A step whose first token shows neither
Yes nor No is unscored (``None``).

``critic_verdict`` (outcome): the judge sees the whole solution and is asked whether its final
answer is correct; the score is that P(Yes).

Example:
    >>> import asyncio, math
    >>> from mistakelab.backends import ScriptedBackend
    >>> from mistakelab.context import CallContext
    >>> from mistakelab.core import Completion, Problem, TokenLogprob
    >>> from mistakelab.scorers import build_scorer
    >>> from mistakelab.tasks import create_task
    >>> yes = Completion(text="Yes", logprobs=[TokenLogprob(token="Yes", logprob=-0.1,
    ...                  top=[("Yes", math.log(0.8)), ("No", math.log(0.2))])])
    >>> ctx = CallContext.standalone(ScriptedBackend([yes, yes]), Problem(id="p", question="2+2?", answer="4"),
    ...                              create_task("gsm8k_sample"))
    >>> s = asyncio.run(build_scorer("critic_step").score(ctx, "2 + 2 = 4\\n\\nSo \\\\boxed{4}."))
    >>> [round(x, 2) for x in s.scores], round(s.aggregate, 2)
    ([0.8, 0.8], 0.8)
"""

from __future__ import annotations

import asyncio
from typing import Mapping

from mistakelab.backends.base import TOP_LOGPROBS
from mistakelab.confidence.verdict import VERDICT_PROMPT, verdict_from_logprobs, verdict_messages
from mistakelab.context import CallContext
from mistakelab.core.types import Completion, Message
from mistakelab.scorers.base import Scorer, ScorerParams, scorers
from mistakelab.steps.types import Step

STEP_PROMPT = (
    "Here is a math problem and the beginning of a solution, one step per paragraph.\n\n"
    "[Problem]\n{problem}\n\n[Solution so far]\n{previous}\n\n[Step to check]\n{step}\n\n"
    "Is the step to check correct, both its calculation and its use of the problem's facts? "
    "Reply with one word: Yes or No."
)
JUDGE = {"temperature": 0.0, "max_tokens": 1, "logprobs": True, "top_logprobs": 20}

class CriticStepParams(ScorerParams):
    prompt: str | None = None  # a template with {problem}, {previous}, {step}


class CriticVerdictParams(ScorerParams):
    prompt: str | None = None  # a template with {problem}, {solution}


def _p_yes(c: Completion) -> float | None:
    return verdict_from_logprobs(c).value


class _Judge(Scorer):
    def needs(self) -> Mapping[str, frozenset[str]]:
        return {"critic": frozenset({TOP_LOGPROBS})}


@scorers.register("critic_step")
class CriticStep(_Judge):
    """Each step: the critic's P(Yes) that the step is correct."""

    name = "critic_step"
    Params = CriticStepParams

    async def rate(self, ctx: CallContext, text: str, steps: list[Step], wanted: list[int],
                   completion: Completion | None) -> tuple[dict[int, float | None], str]:
        template = self.params.prompt or STEP_PROMPT  # type: ignore[attr-defined]
        judge = ctx.model("critic")

        async def one(i: int) -> float | None:
            previous = "\n\n".join(s.text for s in steps[:i]) or "(nothing yet)"
            msg = [Message(role="user", content=template.format(problem=ctx.problem.question, previous=previous,
                                                                 step=steps[i].text))]
            return _p_yes(await judge.generate(msg, purpose="critic-step", index=i, **JUDGE))

        got = await asyncio.gather(*(one(i) for i in wanted))
        missing = sum(g is None for g in got)
        return dict(zip(wanted, got)), f"{missing} step(s) without Yes/No" if missing else ""


@scorers.register("critic_verdict")
class CriticVerdict(_Judge):
    """The whole solution: the critic's P(Yes) that it is correct."""

    name = "critic_verdict"
    kind = "outcome"
    Params = CriticVerdictParams

    async def rate_outcome(self, ctx: CallContext, text: str,
                           completion: Completion | None) -> tuple[float | None, str]:
        prompt = self.params.prompt or VERDICT_PROMPT  # type: ignore[attr-defined]
        c = await ctx.model("critic").generate(verdict_messages(ctx.problem.question, text, prompt),
                                               purpose="verdict", **JUDGE)
        signal = verdict_from_logprobs(c)
        return signal.value, signal.reason

