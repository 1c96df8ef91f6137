"""Find ``a op b = r`` computations in free text, check them exactly, and mark steps.

Every ``=``/``≈`` link whose left side holds at least one operation and whose right side is a
number (or an expression, inside a chain ``a + b = c + d = e``) is a computation. The left
side is the longest arithmetic run that ends at the ``=`` and starts cleanly (after a word,
punctuation, a line start or an opening bracket; never right after an operator, a variable or
a label word such as "step" or "page"). Dates, times, ratios, ranges, phone and version
numbers, variables and unknown LaTeX commands are never operands.

Rounding rules (``v`` exact value of the left side, ``r`` stated result with ``d`` decimals):

* ``r == v``: correct.
* ``d >= 1``: correct if ``|r - v| <= 0.5 * 10**-d`` (``10/3 = 3.33`` and ``= 3.3`` are
  fine, ``= 3.34`` is wrong; ``2/3 = 0.67`` is fine).
* ``d == 0`` and ``v`` not an integer: wrong (``7/2 = 4``), unless the computation is marked
  approximate.
* Approximate (``≈``, ``\\approx``, ``= ~4``, or "about", "approximately", "roughly",
  "around", "nearly", "rounded", "estimate" in the same sentence, at most 50 characters
  before or 30 after): any ``r`` with ``|r - v| < 10**-d`` is fine, i.e. rounding up or down at the
  stated precision (``7/2 ≈ 4``, ``3.2 buses, rounded up = 4``).
* Numerals that look like rounded repeating decimals (0.33, 16.67, 14.29: within half a unit
  of a fraction with denominator 3, 6, 7, 9 or 12) stand for the interval that rounds to
  them, so ``33.33 × 3 = 100`` is fine.
* A stated percent may be read as a number or as a fraction: ``0.25 × 100 = 25%`` and
  ``1/4 = 25%`` are both fine.
* A right side that holds operators is compared by value (``2 × 3 = 3 + 3`` is fine); if
  that fails, its leading number is tried as the result, for the running-total style
  ``3 + 4 = 7 + 2 = 9``.

Example:
    >>> [c.describe() for c in find_computations("He pays 12 × 7 = 94 dollars.")]
    ['12 × 7 = 94 but 12 × 7 = 84']
    >>> check_arithmetic("Step 1: 2 + 3 = 5\\nStep 2: 5 × 4 = 21").first_error
    1
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from mistakelab.steps.expr import ParseFail, Undefined, Val, parse_prefix, parse_span
from mistakelab.steps.numbers import Token, tokenize
from mistakelab.steps.split import split_steps
from mistakelab.steps.types import Step, StepMark, StepVerdict

_LABEL_WORDS = {
    "step", "steps", "page", "pages", "chapter", "section", "line", "lines", "problem",
    "question", "part", "item", "equation", "eq", "version", "figure", "fig", "table",
    "example", "rule", "case", "round", "level", "option", "no", "number", "grade", "room",
}
# A word that makes the number after it an operand of a bigger, partly verbal expression:
# in "24 more than 50% of 258 = 153" the left side is not "50% of 258".
_OPERATOR_WORDS = {
    "than", "plus", "minus", "times", "by", "of", "over", "twice", "thrice", "half", "double",
    "triple", "quadruple", "squared", "cubed", "sqrt", "root",
}
_APPROX_WORDS = re.compile(
    r"≈|\\approx|\b(?:about|approx\w*|roughly|around|nearly|almost|round\w*|estimat\w*)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.;!?](?:\s|$)")
_APPROX_BEFORE, _APPROX_AFTER = 50, 30
# How far left of an "=" an expression may start, in tokens: long enough for any written
# computation (a \frac is 7 tokens, \frac{a}{b}^{n} 11), short enough that trying every start
# stays cheap on pathological text. An expression that starts further left is not checked.
MAX_LEFT_TOKENS = 256


@dataclass(frozen=True)
class Computation:
    """One stated computation ``expression = result`` found in a text.

    ``start``/``end`` span ``expression ... result`` in the text; ``expression`` and
    ``result`` are as written (whitespace collapsed); ``value`` is the exact value of the
    expression, ``stated`` the value of the result as written (percent applied).
    """

    start: int
    end: int
    expression: str
    result: str
    value: Fraction
    stated: Fraction
    ok: bool
    approximate: bool = False
    note: str = ""

    def describe(self) -> str:
        """Human summary, e.g. ``"12 × 7 = 94 but 12 × 7 = 84"``.

        Example:
            >>> find_computations("3 + 4 = 7")[0].describe()
            '3 + 4 = 7'
        """
        if self.ok:
            return f"{self.expression} = {self.result}"
        return f"{self.expression} = {self.result} but {self.expression} = {format_exact(self.value)}"


def format_exact(v: Fraction) -> str:
    """Exact value as text: ``84``, ``3.5`` or ``10/3 (≈ 3.3333)``.

    Example:
        >>> format_exact(Fraction(10, 3))
        '10/3 (≈ 3.3333)'
    """
    if v.denominator == 1:
        return str(v.numerator)
    d = v.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    if d == 1:  # terminating decimal: print it exactly
        digits = 0
        while (v * 10**digits).denominator != 1:
            digits += 1
        sign = "-" if v < 0 else ""
        whole = abs(v.numerator) * 10**digits // v.denominator
        s = str(whole).rjust(digits + 1, "0")
        return f"{sign}{s[:-digits]}.{s[-digits:]}"
    approx = round(float(v), 4)  # display only; every check uses the Fraction
    return f"{v.numerator}/{v.denominator} (≈ {approx:g})"


def _start_ok(toks: list[Token], i: int, seg_start: int) -> bool:
    """May an expression start at token ``i`` (given the token before it)?"""
    if i == seg_start:
        return True
    prev = toks[i - 1]
    if prev.kind == "word":
        word = prev.text.lower()
        return word not in _LABEL_WORDS and word not in _OPERATOR_WORDS and not toks[i].attached
    return prev.kind == "lp"


def _end_ok(toks: list[Token], i: int, stop: int) -> bool:
    """May an expression end before token ``i``?"""
    if i >= stop:
        return True
    # "= 96 people infected after 3 days": a number after the result's words is a new phrase
    return toks[i].kind in ("word", "rp", "stop") or (
        toks[i].kind == "num" and toks[i - 1].kind == "word")


def _left_side(toks: list[Token], a: int, e: int, chained: bool) -> tuple[int, Val] | None:
    if chained:
        try:
            return a, parse_span(toks, a, e)
        except (ParseFail, Undefined):
            pass
    for i in range(max(a, e - MAX_LEFT_TOKENS), e):
        if toks[i].kind not in ("num", "lp", "frac", "op"):
            continue
        try:
            val = parse_span(toks, i, e)
        except ParseFail:
            continue
        except Undefined:
            return None
        # The first full parse is the longest; a bad start here means a larger expression
        # (with a variable or an operator we cannot see) owns the "=".
        return (i, val) if _start_ok(toks, i, a) else None
    return None


def _right_side(toks: list[Token], e: int, b: int) -> tuple[int, Val, Val | None] | None:
    """(end index, value of the right side, value of its leading number if it has operators)."""
    try:
        val, end = parse_prefix(toks, e + 1, b)
    except (ParseFail, Undefined):
        return None
    if not _end_ok(toks, end, b):
        return None
    lead = None
    if val.ops:
        try:
            lead, _ = parse_prefix(toks, e + 1, e + 2)
        except (ParseFail, Undefined):
            lead = None
    return end, val, lead


def _approx_marked(text: str, start: int, end: int, eq: Token) -> bool:
    if eq.approx:
        return True
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    lo = max(line_start, start - _APPROX_BEFORE)
    hi = min(line_end, end + _APPROX_AFTER)
    # stay inside the sentence: "about 83.33; 250 / 3 = 83.4" is not marked approximate
    cuts = [m.end() for m in _SENTENCE_END.finditer(text, lo, start)]
    lo = cuts[-1] if cuts else lo
    m = _SENTENCE_END.search(text, end, hi)
    hi = m.start() if m else hi
    return bool(_APPROX_WORDS.search(text, lo, hi))


def _matches(left: Val, right: Val, approx: bool) -> tuple[bool, str]:
    """Judge one stated right side against the left side (see the module's rounding rules)."""
    lit = right.literal
    # (low, high, decimals of the stated number); decimals -1: an expression, no rounding
    cands: list[tuple[Fraction, Fraction, int]] = [(right.lo, right.hi, -1)]
    if lit is not None:
        cands = [(right.value, right.value, lit.decimals + (2 if lit.percent else 0))]
        if lit.percent:  # "= 25%" may also just label the number 25
            n = right.value * 100
            cands.append((n, n, lit.decimals))
    for lo, hi, d in cands:
        if left.hi >= lo and left.lo <= hi:
            return True, "rounded inputs" if left.rounded_inputs or right.rounded_inputs else "exact"
        if d < 0:
            continue
        unit = Fraction(1, 10**d)
        if d >= 1 and left.lo - unit / 2 <= hi and lo <= left.hi + unit / 2:
            return True, f"rounded to {d} decimals"
        if approx and left.lo - unit < hi and lo < left.hi + unit:
            return True, "approximate"
    return False, ""


def _links(text: str, toks: list[Token], a: int, b: int) -> list[Computation]:
    """Computations in one clause ``toks[a:b]`` (no stops inside)."""
    eqs = [i for i in range(a, b) if toks[i].kind == "eq"]
    found: list[Computation] = []
    bounds = [a - 1] + eqs + [b]
    for j, e in enumerate(eqs):
        seg_a, seg_b = bounds[j] + 1, bounds[j + 2]
        left = _left_side(toks, seg_a, e, chained=j > 0)
        right = _right_side(toks, e, seg_b)
        if left is None or right is None:
            continue
        li, lval = left
        rend, rval, lead = right
        if lval.ops == 0 or lval.ambiguous or rval.ambiguous:
            continue
        start, end = toks[li].start, toks[rend - 1].end
        approx = _approx_marked(text, start, end, toks[e])
        ok, note = _matches(lval, rval, approx)
        if not ok and lead is not None:
            # running-total style "3 + 4 = 7 + 2 = 9": the leading number is the result
            ok, note = _matches(lval, lead, approx)
        shown = rend - 1  # show the result without its unit words
        while shown > e + 1 and toks[shown].kind == "word":
            shown -= 1
        found.append(Computation(
            start=start, end=end, expression=" ".join(text[start:toks[e - 1].end].split()),
            result=" ".join(text[toks[e + 1].start:toks[shown].end].split()), value=lval.value,
            stated=rval.value, ok=ok, approximate=approx, note=note,
        ))
    return found


def find_computations(text: str) -> list[Computation]:
    """Every checkable ``a op b = r`` computation in ``text``, in order.

    Example:
        >>> [(c.expression, c.result, c.ok) for c in find_computations("20% of 50 = 10")]
        [('20% of 50', '10', True)]
    """
    toks = tokenize(text)
    out: list[Computation] = []
    a = 0
    for i in range(len(toks) + 1):
        if i == len(toks) or toks[i].kind == "stop":
            if i > a:
                out.extend(_links(text, toks, a, i))
            a = i + 1
    return out


def check_arithmetic(text: str, steps: list[Step] | None = None) -> StepVerdict:
    """Check every computation in ``text`` and mark each step ok / wrong / unchecked.

    ``steps`` defaults to :func:`split_steps(text) <mistakelab.steps.split.split_steps>`; a
    computation belongs to the step whose span contains its start (one outside every step is
    ignored). Wrong steps get ``kind="arithmetic"`` and a reason per wrong computation.

    Example:
        >>> v = check_arithmetic("1. 12 × 7 = 94\\n2. 94 + 6 = 100")
        >>> [m.status for m in v.marks], v.first_error, v.marks[0].reason
        (['wrong', 'ok'], 0, '12 × 7 = 94 but 12 × 7 = 84')
    """
    if steps is None:
        steps = split_steps(text)
    comps = find_computations(text)
    marks: list[StepMark] = []
    for step in steps:
        mine = [c for c in comps if step.start <= c.start < step.end]
        bad = [c for c in mine if not c.ok]
        if bad:
            marks.append(StepMark(index=step.index, status="wrong", kind="arithmetic",
                                  reason="; ".join(c.describe() for c in bad)))
        elif mine:
            marks.append(StepMark(index=step.index, status="ok",
                                  reason=f"{len(mine)} computation(s) check out"))
        else:
            marks.append(StepMark(index=step.index, status="unchecked"))
    return StepVerdict.from_marks(steps, marks)
