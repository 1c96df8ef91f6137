"""Small pieces the feedback and revision strategies share: sampling overrides, hints added
to the question, the answer of a continued assistant turn, and keeping the gold answer out
of text a solver will read.

Example:
    >>> redact("The total is 18, not 17. Check 18.5 and 180.", "18")
    ('The total is [redacted], not 17. Check 18.5 and 180.', 1)
    >>> overrides(None), overrides(0.7)
    ({}, {'temperature': 0.7})
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from mistakelab.answers import answer_key
from mistakelab.context import Conversation
from mistakelab.core.events import AnswerChangeEvent
from mistakelab.core.types import Completion

if TYPE_CHECKING:
    from mistakelab.strategies.context import StrategyContext

REDACTED = "[redacted]"


def overrides(temperature: float | None) -> dict[str, Any]:
    """Per-call sampling overrides: none when ``temperature`` is None (the run's default)."""
    return {} if temperature is None else {"temperature": temperature}


def revising(temperature: float | None, stop_after_boxed: bool) -> dict[str, Any]:
    """Overrides for a call that writes a revision (a refinement, a continuation after an
    edit or a cue, an answer after feedback): with ``stop_after_boxed`` it ends once its
    ``\\boxed{...}`` answer is complete, instead of running on (re-checking, restating) up to
    ``max_tokens``; the strategies' prompts ask for a boxed answer.

    Example:
        >>> revising(None, True)
        {'stop_after_boxed': True}
    """
    return {**overrides(temperature), **({"stop_after_boxed": True} if stop_after_boxed else {})}


def with_hint(conv: Conversation, hint: str, before: bool = False) -> Conversation:
    """``conv`` with ``hint`` added to its last user message (the question), after it (PRP's
    hint) or ``before`` it (demonstrations).

    Example:
        >>> with_hint(Conversation().user("2+2?"), "(The answer is likely not 5.)").last.content
        '2+2?\\n\\n(The answer is likely not 5.)'
    """
    msgs = list(conv)
    last = max(i for i, m in enumerate(msgs) if m.role == "user")
    text = f"{hint}\n\n{msgs[last].content}" if before else f"{msgs[last].content}\n\n{hint}"
    msgs[last] = msgs[last].model_copy(update={"content": text})
    return Conversation(msgs)


def record_turn(ctx: "StrategyContext", prefix: str, cont: Completion, label: str) -> str | None:
    """Record the answer of an assistant turn that was ``prefix`` continued by ``cont``.

    The continuation's own answer counts when it states one plainly (boxed, "the answer
    is"); otherwise the answer of the whole turn does (the prefix's answer stands, or a
    number the continuation ends on when the prefix had none).
    """
    call = next((c.index for c in reversed(ctx.trace.calls) if c.completion is cont), None)
    own = ctx.extract(cont.text)
    text = cont.text if own.found and own.method != "last_number" else prefix + cont.text
    return ctx.record_answer(text, label=label, call=call)


def emit_change(ctx: "StrategyContext", round: int, before: str | None, after: str | None) -> None:
    """Record whether a revision step changed the answer (no answer both times: unchanged)."""
    same = (before is None and after is None) or ctx.same_answer(before, after)
    ctx.emit(AnswerChangeEvent(round=round, before=before, after=after, changed=not same))


def _variants(secret: str) -> list[str]:
    """Ways a numeric answer may be written: 1000, 1,000, 1000.0."""
    key = answer_key(secret)
    if not re.fullmatch(r"-?\d+", key):
        return [secret.strip()]
    n = int(key)
    return sorted({key, f"{n:,}"}, key=len, reverse=True)


def redact(text: str, secret: str) -> tuple[str, int]:
    """``text`` with every standalone occurrence of the answer ``secret`` replaced by
    ``[redacted]`` (numbers also in their 1,000 form; text answers case-insensitively), and
    how many were replaced. A number inside a longer number (180, 18.5) is left alone."""
    count = 0
    for v in _variants(secret):
        if not v:
            continue
        if re.fullmatch(r"-?[\d,]+", v):
            pattern = re.compile(rf"(?<![\d.,]){re.escape(v)}(?:\.0+)?(?![\d]|[.,]\d)")
        else:
            pattern = re.compile(rf"(?<!\w){re.escape(v)}(?!\w)", re.I)
        text, n = pattern.subn(REDACTED, text)
        count += n
    return text, count


def listing(answers: list[str | None]) -> str:
    """Distinct answers in first-seen order, comma separated (None left out).

    Example:
        >>> listing(["3", None, "7", "3"])
        '3, 7'
    """
    seen: dict[str, str] = {}
    for a in answers:
        if a is not None:
            seen.setdefault(answer_key(a), a)
    return ", ".join(seen.values())
