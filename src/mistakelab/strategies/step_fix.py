"""Corrected versions of a wrong step, for editing a solution in place (``in_place``).

- :func:`fix_arithmetic`: every wrong ``a op b = r`` computation of the step gets its exact
  result (intrinsic: no gold answer needed).
- :func:`fix_exact`: the value an exact step checker says the step should state (iGSM's
  ``wrong_value`` marks: "states 9, but the ... is 8"); None when the mark gives none.
- :func:`numbered` and :func:`parse_step_fix`: how a feedback model sees the steps and
  names the first wrong one with its fix.

Example:
    >>> fix_arithmetic("He pays 12 × 7 = 94 dollars.")
    'He pays 12 × 7 = 84 dollars.'
    >>> mark = StepMark(index=0, status="wrong", kind="wrong_value", reason="states 9, but the number of cats is 8")
    >>> fix_exact("Define M as 9; so M = 4 + 5 = 9.", mark)
    'Define M as 8; so M = 4 + 5 = 8.'
    >>> parse_step_fix("STEP: 2\\nFIX: So 5 × 4 = 20.", n_steps=3)
    (1, 'So 5 × 4 = 20.')
"""

from __future__ import annotations

import re

from mistakelab.steps.arithmetic import find_computations, format_exact
from mistakelab.steps.types import Step, StepMark

_STATES = re.compile(r"states (-?\d+(?:\.\d+)?), but the .+? is (-?\d+)")
_STEP = re.compile(r"STEP\s*:?\s*\**\s*(\d+)", re.I)
_FIX = re.compile(r"FIX\s*:?\s*\**\s*(.+)", re.I | re.S)


def _replace_number(text: str, old: str, new: str) -> str:
    return re.sub(rf"(?<![\d.]){re.escape(old)}(?![\d]|\.\d)", new, text)


def fix_arithmetic(step: str) -> str | None:
    """``step`` with each wrong computation's stated result replaced by its exact value."""
    bad = [c for c in find_computations(step) if not c.ok]
    if not bad:
        return None
    out = step
    for c in reversed(bad):  # right to left: earlier spans stay valid
        seg = out[c.start:c.end]
        at = seg.rfind(c.result)
        if at < 0:
            return None
        exact = format_exact(c.value)  # "84", "3.5" or "10/3 (≈ 3.3333)"
        fixed = exact if "(" not in exact else f"{float(c.value):.2f}"
        out = out[:c.start] + seg[:at] + fixed + seg[at + len(c.result):] + out[c.end:]
    return out


def fix_exact(step: str, mark: StepMark) -> str | None:
    """``step`` with the value an exact checker's ``wrong_value`` mark says is wrong replaced
    by the right one (every standalone occurrence in the step); None for other marks (a
    wrong dependency needs more than a new value) or when the mark names no value."""
    m = _STATES.search(mark.reason) if mark.kind == "wrong_value" else None
    if not m or m.group(1) not in step:
        return None
    return _replace_number(step, m.group(1), m.group(2))


def numbered(steps: list[Step]) -> str:
    """Steps as ``[1] ...`` lines for a model to point at."""
    return "\n".join(f"[{s.index + 1}] {s.text}" for s in steps)


def parse_step_fix(reply: str, n_steps: int) -> tuple[int, str] | None:
    """``(step index, corrected step)`` from a reply with ``STEP: k`` (1-based) and
    ``FIX: ...`` lines; None when either is missing or the step is out of range."""
    step, fix = _STEP.search(reply), _FIX.search(reply)
    if not step or not fix:
        return None
    k = int(step.group(1)) - 1
    text = fix.group(1).strip()
    return (k, text) if 0 <= k < n_steps and text else None
