"""``critic``: a model reviews the steps and names the earliest wrong one (ProcessBench
protocol): steps wrapped in indexed paragraph tags, answer as the index in ``\\boxed{}``
(-1 when all are correct). Unparseable output = no prediction. With ``n > 1`` samples
(temperature 1, top_p 0.9) the majority of the parsed indices wins (ties: earliest seen).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.core.types import Message
from mistakelab.locate.base import Locator, LocatorResult, locators
from mistakelab.locate.records import LocateRecord
from mistakelab.context import CallContext

_CRITIC_HEAD = (
    "The following is a math problem and a solution split into paragraphs, each enclosed in "
    "tags and indexed from 0.\n\n[Math Problem]\n\n{problem}\n\n[Solution]\n\n{tagged}\n\n"
)
CRITIC_PROMPT = _CRITIC_HEAD + (
    "Review the paragraphs in order. Your task is to find the earliest paragraph that contains "
    "an error (a wrong calculation, a wrong use of the problem's facts, or a wrong logical step). "
    "After your review, put the index of that paragraph in \\boxed{{}}, for example \\boxed{{2}}. "
    "If every paragraph is correct, put -1 in the box: \\boxed{{-1}}."
)

# The same task, but the review must be written out first, one line per paragraph: small
# models given CRITIC_PROMPT tend to answer at once (qwen2.5-coder 0.5b and 1.5b reply a bare
# "-1" to every igsm solution).
CRITIC_PROMPT_STEPWISE = _CRITIC_HEAD + (
    "Check the paragraphs one at a time, in order. For each, write one line: \"Paragraph i: "
    "correct\" or \"Paragraph i: wrong, because ...\", re-doing its calculation and comparing "
    "it with the facts of the problem. Stop at the first wrong paragraph. Then put its index in "
    "\\boxed{{}}, for example \\boxed{{2}}, or \\boxed{{-1}} if every paragraph is correct."
)
PROMPTS = {"direct": CRITIC_PROMPT, "stepwise": CRITIC_PROMPT_STEPWISE}

_BOXED_INT = re.compile(r"\\boxed\s*\{\s*(-?\d+)\s*\}")
_BARE_INT = re.compile(r"(-?\d+)\.?")


def tag_steps(steps: list[str]) -> str:
    return "\n\n".join(f"<paragraph_{i}>\n{s}\n</paragraph_{i}>" for i, s in enumerate(steps))


def parse_critic(text: str, n_steps: int, bare: bool = False) -> int | None:
    """The last boxed integer if it is -1 or a valid step index, else None (the ProcessBench
    rule). With ``bare``, a reply that is nothing but one integer also counts as that answer
    (qwen2.5-coder-0.5b replies a bare "-1"); off by default, as the protocol has it.

    Example:
        >>> parse_critic("Paragraph 1 miscounts. \\\\boxed{1}", 3)
        1
        >>> parse_critic(" -1 ", 3) is None, parse_critic(" -1 ", 3, bare=True)
        (True, -1)
    """
    found = _BOXED_INT.findall(text)
    whole = _BARE_INT.fullmatch(text.strip()) if bare else None
    if not found and not whole:
        return None
    idx = int(found[-1]) if found else int(whole.group(1))  # type: ignore[union-attr]
    return idx if -1 <= idx < n_steps else None


class CriticParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = Field(default=1, ge=1)
    max_tokens: int = 768
    bare: bool = False  # also accept a reply that is only an integer (not the protocol)
    style: Literal["direct", "stepwise"] = "direct"  # which built-in prompt, unless ``prompt``
    prompt: str | None = None


@locators.register("critic")
class CriticLocator(Locator):
    name = "critic"
    needs_model = True

    def __init__(self, **params: object) -> None:
        self.params = CriticParams.model_validate(params)

    async def locate(self, record: LocateRecord, ctx: CallContext) -> LocatorResult:
        p = self.params
        critic = ctx.model("critic")  # the solver, unless a critic role is configured
        template = p.prompt or PROMPTS[p.style]
        msg = [Message(role="user", content=template.format(problem=record.problem, tagged=tag_steps(record.steps)))]
        if p.n == 1:
            outs = [await critic.generate(msg, purpose="critic", temperature=0.0, max_tokens=p.max_tokens)]
        else:
            outs = await critic.sample(msg, p.n, purpose="critic", temperature=1.0, top_p=0.9,
                                    max_tokens=p.max_tokens)
        parsed = [parse_critic(o.text, len(record.steps), p.bare) for o in outs]
        votes = Counter(x for x in parsed if x is not None)
        if not votes:
            return LocatorResult(first_error=None, raw=[o.text for o in outs], note="unparseable")
        best = max(votes.values())
        winner = next(x for x in parsed if x is not None and votes[x] == best)
        return LocatorResult(first_error=winner, raw=[o.text for o in outs],
                             note=f"votes {dict(votes)}" if p.n > 1 else "")

