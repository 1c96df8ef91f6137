"""The critic's verdict as a confidence signal: P(Yes) when a model is asked whether a
solution's final answer is correct, read from the first token's logprobs.

One token is generated greedily with its top alternatives; the probabilities of the tokens
that read "yes" and "no" (any case, surrounding spaces ignored) are summed and normalized:
``P(yes) / (P(yes) + P(no))``. When neither appears among the returned alternatives the signal
is unavailable for that completion (never guessed).

Example:
    >>> from mistakelab.core.types import Completion, TokenLogprob
    >>> c = Completion(text="Yes", logprobs=[TokenLogprob(token="Yes", logprob=-0.2,
    ...                top=[("Yes", -0.2), (" No", -1.9), ("yes", -4.0)])])
    >>> round(verdict_from_logprobs(c).value, 3)
    0.848
"""

from __future__ import annotations

import math
from typing import Any

from mistakelab.confidence.signals import Signal
from mistakelab.core.types import Completion, GenParams, Message

VERDICT_PROMPT = (
    "Here is a math problem and a proposed solution.\n\n[Problem]\n{problem}\n\n[Solution]\n{solution}\n\n"
    "Is the final answer of this solution correct? Reply with one word: Yes or No."
)
VERDICT_PARAMS = GenParams(temperature=0.0, max_tokens=1, logprobs=True, top_logprobs=20)


def verdict_messages(problem: str, solution: str, prompt: str = VERDICT_PROMPT) -> list[Message]:
    return [Message(role="user", content=prompt.format(problem=problem, solution=solution))]


def verdict_from_logprobs(c: Completion) -> Signal:
    """P(yes) among {yes, no} from the first generated token's alternatives."""
    if not c.ok:
        return Signal("critic_verdict", None, f"critic call failed: {c.error}")
    if not c.logprobs:
        return Signal("critic_verdict", None, "no logprobs from the critic call")
    first = c.logprobs[0]
    alts = first.top or [(first.token, first.logprob)]
    mass = {"yes": 0.0, "no": 0.0}
    for tok, lp in alts:
        word = tok.strip().lower()
        if word in mass:
            mass[word] += math.exp(lp)
    total = mass["yes"] + mass["no"]
    if total == 0:
        return Signal("critic_verdict", None, "neither Yes nor No among the top tokens")
    return Signal("critic_verdict", mass["yes"] / total)


async def critic_verdict(caller: Any, unit: str, problem: str, solution: str) -> Signal:
    """Ask ``caller`` (a :class:`~mistakelab.runner.caller.ModelCaller`) for the verdict."""
    c = await caller.generate(unit, "verdict", verdict_messages(problem, solution), VERDICT_PARAMS)
    return verdict_from_logprobs(c)
