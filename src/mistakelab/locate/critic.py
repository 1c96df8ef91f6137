"""``critic``: a model reviews the steps and names the earliest wrong one (ProcessBench
protocol): steps wrapped in indexed paragraph tags, answer as the index in ``\\boxed{}``
(-1 when all are correct). With ``n > 1`` samples (temperature 1, top_p 0.9) the answers vote.

Parsing and voting (``parse="reference"``, the default) follow the ProcessBench reference
(``extract_answer`` and ``main`` in QwenLM/ProcessBench ``code/run_eval.py``) rule for rule:

1. The answer is the text of the **last** ``\\boxed{...}``, whatever it holds, up to its first
   ``}`` (regex ``\\\\boxed\\{([^}]*)\\}``: no space before ``{``, no nested braces), stripped.
   No box: no answer.
2. The index is Python's ``int()`` of that text: ``+2`` and ``02`` are 2, ``2.0``, ``two``
   or ``\\text{2}`` are no prediction. A box that does not hold an integer hides the earlier
   boxes.
3. The index is kept even when it names no step (``7`` of 3 steps, ``-3``): a wrong
   prediction on both kinds of record, never "no prediction".
4. Voting: the answers of the samples that have a box count as **raw strings** (``"2"``,
   ``"+2"`` and ``"02"`` are three different answers); the most common wins, a tie going to
   the answer seen first (``Counter.most_common``); then rule 2 applies to the winner only,
   so a winning non-integer answer is no prediction even when other samples gave integers.

``parse="lenient"`` is mistakelab's own reading: the last box holding an integer (spaces
allowed: ``\\boxed { 2 }``), only -1 or a real step index counts (else no prediction), and
votes are over those parsed indices (ties: the earliest seen). ``bare=true`` (either mode,
not the protocol) also takes a reply that is nothing but one integer.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Literal

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

ParseMode = Literal["reference", "lenient"]

_REF_BOX = re.compile(r"\\boxed\{([^}]*)\}")  # ProcessBench's extract_answer
_LENIENT_BOX = re.compile(r"\\boxed\s*\{\s*([+-]?\d+)\s*\}")
_BARE_INT = re.compile(r"([+-]?\d+)\.?")


def tag_steps(steps: list[str]) -> str:
    return "\n\n".join(f"<paragraph_{i}>\n{s}\n</paragraph_{i}>" for i, s in enumerate(steps))


def critic_answer(text: str, bare: bool = False, mode: ParseMode = "reference") -> str | None:
    """The raw answer of one critique (before ``int()``): the last box's text (reference), the
    last box holding an integer (lenient), or with ``bare`` a reply that is only an integer.

    Example:
        >>> critic_answer("\\\\boxed{1} then \\\\boxed{ +2 }"), critic_answer("\\\\boxed {2}")
        ('+2', None)
        >>> critic_answer("\\\\boxed{1} then \\\\boxed{two}"), critic_answer("\\\\boxed{1} then \\\\boxed{two}", mode="lenient")
        ('two', '1')
    """
    found = (_REF_BOX if mode == "reference" else _LENIENT_BOX).findall(text)
    if found:
        return found[-1].strip()
    whole = _BARE_INT.fullmatch(text.strip()) if bare else None
    return whole.group(1) if whole else None


def to_index(answer: str | None, n_steps: int, mode: ParseMode = "reference") -> int | None:
    """``int(answer)`` as the reference does (None when that fails); lenient mode also drops
    indices that name no step."""
    if answer is None:
        return None
    try:
        idx = int(answer)
    except ValueError:
        return None
    return idx if mode == "reference" or -1 <= idx < n_steps else None


def parse_critic(text: str, n_steps: int, bare: bool = False, mode: ParseMode = "reference") -> int | None:
    """The predicted earliest-error index of one critique (None: no prediction); see the
    module docstring for the rules of each mode.

    Example:
        >>> parse_critic("Paragraph 1 miscounts. \\\\boxed{1}", 3), parse_critic("\\\\boxed{7}", 3)
        (1, 7)
        >>> parse_critic("\\\\boxed{7}", 3, mode="lenient") is None, parse_critic(" -1 ", 3, bare=True)
        (True, -1)
    """
    return to_index(critic_answer(text, bare, mode), n_steps, mode)


def vote_critics(texts: list[str], n_steps: int, bare: bool = False,
                 mode: ParseMode = "reference") -> tuple[int | None, Counter[Any]]:
    """The voted index of several critiques and the vote counts (raw answers in reference
    mode, parsed indices in lenient mode).

    Example:
        >>> vote_critics(["\\\\boxed{2}", "\\\\boxed{+2}", "\\\\boxed{1}"], 3)
        (2, Counter({'2': 1, '+2': 1, '1': 1}))
        >>> vote_critics(["\\\\boxed{2}", "\\\\boxed{+2}", "\\\\boxed{1}"], 3, mode="lenient")
        (2, Counter({2: 2, 1: 1}))
    """
    if mode == "reference":
        raw = Counter(a for a in (critic_answer(t, bare, mode) for t in texts) if a is not None)
        return (to_index(raw.most_common(1)[0][0], n_steps, mode) if raw else None), raw
    parsed = [parse_critic(t, n_steps, bare, mode) for t in texts]
    votes: Counter[Any] = Counter(x for x in parsed if x is not None)
    if not votes:
        return None, votes
    best = max(votes.values())
    return next(x for x in parsed if x is not None and votes[x] == best), votes


class CriticParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = Field(default=1, ge=1)
    max_tokens: int = 768
    bare: bool = False  # also accept a reply that is only an integer (not the protocol)
    parse: ParseMode = "reference"  # "lenient": see the module docstring
    style: Literal["direct", "stepwise"] = "direct"  # which built-in prompt, unless ``prompt``
    prompt: str | None = None


@locators.register("critic")
class CriticLocator(Locator):
    """A critic model names the first wrong step (ProcessBench's prompt), n votes."""

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
        texts = [o.text for o in outs]
        winner, votes = vote_critics(texts, len(record.steps), p.bare, p.parse)
        if not votes:
            return LocatorResult(first_error=None, raw=texts, note="unparseable")
        note = f"votes {dict(votes)}" if p.n > 1 else ""
        if winner is None:
            note = (note + "; " if note else "") + "the answer is not an integer"
        return LocatorResult(first_error=winner, raw=texts, note=note)
