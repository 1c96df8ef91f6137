"""Answer equivalence, vote keys and the structured verdict.

Equivalence, in order:

1. equal strings after :func:`normalize_answer`;
2. both sides are plain numbers (integers, decimals, ``a/b``, ``\\frac{a}{b}``): compared
   as exact Fractions (``3.50`` == ``3.5``), then within ``rel_tol`` relative tolerance
   (for rounded floats);
3. otherwise math-verify (``parse`` + ``verify``) decides symbolic equivalence
   (``2\\sqrt{2}`` vs ``\\sqrt{8}``, ``2^{10}`` vs ``1024``, intervals, sets). Its calls
   are guarded: long inputs are skipped, exceptions mean "not equivalent", and its
   signal-based timeout is used only on the main thread (elsewhere signals are not allowed).

Example:
    >>> check_answer("The answer is 1,000.", "1000").correct
    True
    >>> answers_match("\\\\frac{1}{2}", "0.5")
    (True, 'numerically equal')
"""

from __future__ import annotations

import logging
import re
import threading
from fractions import Fraction
from functools import lru_cache
from typing import Any

from mistakelab.answers.extract import extract_answer
from mistakelab.answers.normalize import normalize_answer
from mistakelab.core.types import Verdict

#: Inputs longer than this skip math-verify (sympy on junk can take seconds).
MAX_SYMBOLIC_CHARS = 300
#: Seconds math-verify may spend per parse/compare (main thread only).
SYMBOLIC_TIMEOUT_S = 3

_FRAC = re.compile(r"^(-?)\\frac\{(-?\d+)\}\{(-?\d+)\}$|^(-?)\\frac ?(\d)(\d)$")
_SLASH = re.compile(r"^-?\d+(?:\.\d+)?/-?\d+(?:\.\d+)?$")
_PLAIN = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?$", re.I)


def to_number(s: str) -> Fraction | None:
    """The exact value of a normalized plain number, or None.

    Example:
        >>> to_number("\\\\frac{3}{4}"), to_number("-2.50"), to_number("x")
        (Fraction(3, 4), Fraction(-5, 2), None)
    """
    if not s or len(s) > 60:  # also keeps int() away from huge digit strings
        return None
    try:
        if _PLAIN.match(s):
            return Fraction(s)
        if _SLASH.match(s):
            num, den = s.split("/")
            return Fraction(num) / Fraction(den)
        m = _FRAC.match(s)
        if m:
            sign, a, b = (m.group(1), m.group(2), m.group(3)) if m.group(2) else m.group(4, 5, 6)
            value = Fraction(int(a), int(b))
            return -value if sign else value
    except (ValueError, ZeroDivisionError):
        return None
    return None


def _fmt(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def _timeout() -> int | None:
    # math-verify's timeout sets a SIGALRM handler, which only the main thread may do.
    return SYMBOLIC_TIMEOUT_S if threading.current_thread() is threading.main_thread() else None


@lru_cache(maxsize=4096)
def _parse(s: str) -> tuple[Any, ...]:
    """math-verify's parse of ``s`` as LaTeX; () when it fails or is skipped."""
    if len(s) > MAX_SYMBOLIC_CHARS:
        return ()
    try:
        from math_verify import parse

        return tuple(parse(f"${s}$", parsing_timeout=_timeout()))
    except Exception:  # junk input or a timeout: treat as unparseable
        return ()


@lru_cache(maxsize=4096)
def _symbolic_equal(pred: str, gold: str) -> bool | None:
    """math-verify's verdict; None when either side cannot be parsed."""
    g, p = _parse(gold), _parse(pred)
    if not g or not p:
        return None
    try:
        from math_verify import verify

        return bool(verify(list(g), list(p), timeout_seconds=_timeout()))
    except Exception:
        return None


@lru_cache(maxsize=65536)
def answers_match(pred: str, gold: str, rel_tol: float = 1e-6) -> tuple[bool, str]:
    """Whether two answer strings are equivalent, with the reason.

    Example:
        >>> answers_match("$3.50", "3.5")
        (True, 'numerically equal')
        >>> answers_match("2\\\\sqrt{2}", "\\\\sqrt{8}")
        (True, 'math-verify: equivalent')
        >>> answers_match("25%", "0.25")[0]  # percent is dropped, not divided by 100
        False
    """
    a, b = normalize_answer(pred), normalize_answer(gold)
    if not a:
        return False, "empty answer"
    if a == b:
        return True, "exact match after normalization"
    x, y = to_number(a), to_number(b)
    if x is not None and y is not None:
        if x == y:
            return True, "numerically equal"
        if abs(x - y) <= Fraction(rel_tol) * max(abs(x), abs(y)):
            return True, f"equal within rel_tol={rel_tol:g}"
        return False, f"numbers differ: {a} != {b}"
    if ("=" in a) != ("=" in b):
        # math-verify would compare only the right side of the equation ("x^2+y^2=1" vs "1").
        return False, f"equation vs value: {a!r} vs {b!r}"
    # Prose and junk would only cost math-verify time (seconds on long junk) to reject.
    same = _symbolic_equal(a, b) if _looks_mathematical(a) and _looks_mathematical(b) else None
    if same is None:
        return False, f"not comparable: {a!r} vs {b!r}"
    return (True, "math-verify: equivalent") if same else (False, f"math-verify: {a!r} != {b!r}")


def _looks_mathematical(s: str) -> bool:
    # Plain words ("yes", "blue") would parse as products of symbols; keep them as text.
    bare = re.sub(r"\\[a-zA-Z]+", "", s)
    return bool(re.search(r"[\\\d^_{}()\[\]+\-*/=<>]", s)) and not re.search(r"[a-zA-Z]{3,}", bare)


def _expr_key(expr: Any, evaluate: bool) -> str:
    try:
        if evaluate and hasattr(expr, "doit"):
            expr = expr.doit()  # sqrt(8) -> 2*sqrt(2), 2**10 -> 1024
        if getattr(expr, "is_number", False) and (expr.is_Rational or expr.is_Float):
            return _fmt(Fraction(str(expr)))
    except Exception:  # sympy can raise almost anything on odd input; keep the raw form
        pass
    return f"expr:{expr}"


@lru_cache(maxsize=65536)
def answer_key(answer: str) -> str:
    """Canonical form for grouping votes: equivalent answers get equal keys.

    Numbers become reduced fractions (``0.5``, ``1/2``, ``\\frac{1}{2}`` -> ``1/2``),
    symbolic answers become math-verify's sympy form (``\\sqrt{8}`` and ``2\\sqrt{2}``
    share a key), anything else its normalized text.

    Example:
        >>> answer_key("$1,000.00") == answer_key("1000") == "1000"
        True
    """
    a = normalize_answer(answer)
    x = to_number(a)
    if x is not None:
        return _fmt(x)
    if _looks_mathematical(a):
        parsed = _parse(a)
        if parsed:
            return _expr_key(parsed[0], evaluate=not re.search(r"\\(?:int|sum|prod|lim)", a))
    return a


def check_answer(text: str, gold: str) -> Verdict:
    """Extract the final answer from ``text`` and compare it to ``gold``.

    Example:
        >>> v = check_answer("48 + 24 = 72, so she sold 72 clips", "72")
        >>> v.method, v.correct
        ('last_number', True)
    """
    ex = extract_answer(text)
    if ex.text is None:
        return Verdict(extracted=None, method="none", correct=False, reason="no answer found")
    ok, why = answers_match(ex.text, gold)
    if ex.method == "last_number":
        why = f"fallback to the last number; {why}"
    return Verdict(extracted=ex.text, method=ex.method, correct=ok, reason=why)


# math-verify warns (once) when run without a timeout, which is expected off the main thread.
logging.getLogger("math_verify").setLevel(logging.ERROR)
