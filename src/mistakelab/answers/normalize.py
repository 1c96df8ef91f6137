"""Normalize answer strings before comparison.

The rules, in order (each is cheap and linear in the input):

* wrappers: surrounding ``$``/``\\(..\\)``/``\\[..\\]``, ``\\boxed{..}``, markdown ``**``;
* LaTeX cosmetics: ``\\text{..}``/``\\mathrm{..}``/``\\textbf{..}`` keep their content,
  ``\\!``, ``\\,``, ``\\;``, ``\\left``/``\\right`` are dropped, ``\\dfrac``/``\\tfrac`` become
  ``\\frac``, degrees (``^\\circ``, ``°``) are dropped;
* money: ``$``, ``\\$``, ``£``, ``€``, ``¥`` and currency words are dropped;
* percent: ``%``, ``\\%`` and the word "percent" are dropped, so ``25%`` equals ``25`` but
  NOT ``0.25`` (GSM-style gold answers to "what percent" questions are the bare number);
* thousands separators are removed only in well-formed groups (``1,234`` -> ``1234``,
  ``1,2`` stays);
* a number followed only by words is the number (``5 apples``, ``12 cm``, ``3 hours``);
* ``x = 5`` and ``3 \\times 4 = 12`` become the right-hand side when it is a number and the
  left-hand side is a single name or plain arithmetic;
* a trailing period is dropped, whitespace is collapsed (and dropped next to symbols), and
  text without LaTeX commands is lower-cased.

Example:
    >>> normalize_answer("$1,234.")
    '1234'
    >>> normalize_answer("\\\\boxed{\\\\dfrac{1}{2}}")
    '\\\\frac{1}{2}'
    >>> normalize_answer("12 cm")
    '12'
"""

from __future__ import annotations

import re
from functools import lru_cache

# A plain decimal number, optionally with well-formed thousands separators.
NUMBER = r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+]?\.\d+"
_NUMBER_RE = re.compile(rf"^(?:{NUMBER})$")

_TEXT_CMD = re.compile(r"\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}")
_SPACING = re.compile(r"\\[!,;: ]|\\q?quad\b|\\left\b|\\right\b|\\displaystyle\b")
_DEGREES = re.compile(r"\^\s*\{?\\circ\}?|°|\\degree\b")
_CURRENCY_WORDS = re.compile(r"\b(?:dollars?|usd|euros?|pounds?|rupees?|yen)\b", re.I)
_PERCENT = re.compile(r"\\?%|\bpercent(?:age)?\b", re.I)
_THOUSANDS = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+)(?![\d,]*\d)")
# "5 apples", "12 cm", "3.5 hours per day": a number followed by words only.
_NUMBER_THEN_WORDS = re.compile(rf"^({NUMBER})\s+[a-zA-Z][a-zA-Z\s.'/-]*$")
# Left-hand sides we may drop: a single name, or arithmetic on plain numbers.
_LHS_NAME = re.compile(r"^[a-zA-Z][\w{}\\]*$")
_LHS_ARITH = re.compile(r"^[\d\s.,+\-*/()×÷]*$|^(?:[\d\s.,+\-*/()]|\\times|\\cdot|\\div)+$")
_UNICODE = {"−": "-", "–": "-", "×": "\\times ", "÷": "\\div ", "\u00a0": " ", "\u2009": " "}


def _strip_wrappers(s: str) -> str:
    """Remove wrappers that surround the whole answer, repeatedly."""
    prev = None
    while s != prev:
        prev = s
        s = s.strip().strip("*").strip()
        for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
            if s.startswith(left) and s.endswith(right) and len(s) >= len(left) + len(right):
                s = s[len(left) : len(s) - len(right)].strip()
        m = re.match(r"^\\(?:boxed|fbox)\s*\{(.*)\}$", s, flags=re.S)
        if m:
            s = m.group(1)
        s = s.rstrip(".").rstrip()  # trailing sentence period (never eats "3.")
    return s


def _drop_lhs(s: str) -> str:
    """``x = 5`` -> ``5``, ``3 \\times 4 = 12`` -> ``12`` (only safe cases).

    The left side goes when it is a single name (``x``, ``total``, ``\\theta``), or plain
    arithmetic whose right side is a number; equations like ``x^2+y^2=1`` stay whole.
    """
    if "=" not in s or re.search(r"[<>!]=|\\(?:neq|leq|geq|le|ge)\b", s):
        return s
    lhs, _, rhs = s.rpartition("=")
    lhs, rhs = lhs.strip(), rhs.strip()
    if not rhs:
        return s
    parts = [p.strip() for p in lhs.split("=")]  # "a = 2 + 3 = 5": all sides must qualify
    rhs_is_number = bool(_NUMBER_RE.match(rhs.replace(" ", "")))
    if all(_LHS_NAME.match(p) or (rhs_is_number and _LHS_ARITH.match(p)) for p in parts):
        return rhs
    return s


@lru_cache(maxsize=65536)  # pure and hot: every vote and check normalizes
def normalize_answer(s: str) -> str:
    """Canonical string form of an answer (see the module docstring for the rules).

    Example:
        >>> normalize_answer("\\\\$18.50")
        '18.50'
        >>> normalize_answer("25\\\\%")
        '25'
    """
    if s is None:
        return ""
    s = str(s)
    for k, v in _UNICODE.items():
        s = s.replace(k, v)
    s = _strip_wrappers(s)
    # \text{..} may wrap the unit or the whole answer; keep its content either way.
    for _ in range(3):
        s2 = _TEXT_CMD.sub(lambda m: f" {m.group(1)} ", s)
        if s2 == s:
            break
        s = s2
    # \! and spacing between digits are thousands separators in LaTeX ("1,\!000", "10\,000").
    s = re.sub(r"(?<=\d)(?:\\[,!;: ])+(?=\d)", "", s).replace("\\!", "")
    s = _SPACING.sub(" ", s)
    s = re.sub(r"\\[dt]frac", r"\\frac", s)
    s = _DEGREES.sub("", s)
    s = s.replace("\\$", "").replace("$", "")
    s = re.sub(r"[£€¥]", "", s)
    s = _CURRENCY_WORDS.sub(" ", s)
    s = _PERCENT.sub("", s)
    s = _strip_wrappers(s)
    s = _THOUSANDS.sub(lambda m: m.group(1).replace(",", ""), s)
    s = re.sub(r"\s+", " ", s).strip()
    s = _drop_lhs(s)
    m = _NUMBER_THEN_WORDS.match(s)
    if m:
        s = m.group(1)
    if s.startswith("+") and len(s) > 1:
        s = s[1:]
    # Spaces next to a symbol carry no meaning ("2 \sqrt{2}", "x + 1"); between two
    # alphanumerics they might ("\pi r"), so those stay.
    s = re.sub(r"\s*([^\w\s])\s*", r"\1", s)
    s = re.sub(r"(\\[a-zA-Z]++)(?=\d)", r"\1 ", s)  # "\frac12" and "\frac 12" alike
    s = s.rstrip(".")
    if "\\" not in s:
        s = s.lower()
    return s.strip()
