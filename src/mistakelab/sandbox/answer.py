"""The answer a program printed: its last non-empty stdout line, as a number where it is one.

>>> normalize_number("18.0"), normalize_number("$1,234.50"), normalize_number("0.30000000000000004")
('18', '1234.5', '0.3')
>>> answer_from_output("Eggs left: 9\\nJanet makes $18 every day.\\n")
'18'
>>> answer_from_output("None\\n") is None
True
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from mistakelab.sandbox.result import ProgramRun

_NUMBER = re.compile(
    r"[-+]?\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?%?(?:\s*/\s*\d+)?"
    r"|[-+]?\$?\.\d+"
)
_MAX_LINE = 300


def normalize_number(text: str) -> str | None:
    """A canonical spelling of one number (``None`` if ``text`` is not one): no $ , or %,
    integers without ".0", fractions as ``p/q``, float noise rounded at 9 decimals."""
    s = text.strip().replace("$", "").replace(",", "").rstrip("%").strip()
    if "/" in s:
        num, _, den = s.partition("/")
        n, d = normalize_number(num), normalize_number(den)
        return f"{n}/{d}" if n is not None and d is not None and d != "0" else None
    try:
        value = Decimal(s)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    if value == value.to_integral_value():
        return str(int(value))
    rounded = value.quantize(Decimal("1e-9")).normalize()
    return format(rounded, "f")


def answer_from_output(stdout: str) -> str | None:
    """The last non-empty line, as its last number where it holds one ("None" means none)."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if not lines:
        return None
    last = lines[-1][:_MAX_LINE]
    if last == "None":
        return None
    whole = normalize_number(last)
    if whole is not None:
        return whole
    numbers = _NUMBER.findall(last)
    if numbers:
        return normalize_number(numbers[-1]) or numbers[-1]
    return last


def program_answer(run: ProgramRun) -> str | None:
    """The answer of a successful run (``None`` for a failed one or an empty output)."""
    if not run.ok:
        return None
    return answer_from_output(run.stdout)
