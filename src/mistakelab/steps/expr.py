"""Exact evaluation of arithmetic written in text: a small recursive-descent parser over tokens.

No ``eval``: the grammar is

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/" | "mod" | "of" after a percent | implicit "2(3)") unary)*
    unary  := ("-" | "+") unary | power
    power  := atom ("²" | "³")* ("^" unary)? unit*
    atom   := number | "(" expr ")" | \\frac group group

Values are ``Fraction``s. Alongside the exact value an interval ``[lo, hi]`` is carried: a
numeral that looks like a rounded repeating decimal (0.33, 14.29) stands for everything that
rounds to it, so ``33.33 × 3 = 100`` is consistent.

Example:
    >>> from mistakelab.steps.numbers import tokenize
    >>> toks = tokenize("(2 + 3) × 4")
    >>> parse_span(toks, 0, len(toks)).value
    Fraction(20, 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from mistakelab.steps.numbers import Token

_CLOSE = {"(": ")", "[": "]", "{": "}"}
# Words that end an operand rather than name its unit.
_NOT_UNITS = {
    "of", "and", "or", "is", "are", "was", "were", "so", "then", "which", "that", "the", "to",
    "for", "in", "on", "at", "by", "with", "from", "than", "if", "equals", "gives", "makes",
    "plus", "minus", "times", "divided", "multiplied", "we", "he", "she", "they", "it", "this",
    "but", "because", "since", "as", "be", "will", "would", "can", "has", "have", "had", "get",
    "gets", "leaves", "remaining", "left", "total", "more", "less", "over", "into", "when",
}
_MAX_UNIT_WORDS = 4
_MAX_POWER_BITS = 4000  # refuse 10^100000-sized powers instead of hanging


class ParseFail(Exception):
    """The tokens are not an arithmetic expression."""


class Undefined(Exception):
    """An expression that has no value (division by zero, fractional or huge power)."""


@dataclass
class Val:
    """Value of a parsed expression plus what the checker needs to judge it."""

    value: Fraction
    lo: Fraction
    hi: Fraction
    ops: int = 0  # binary operations (incl. \\frac, powers, "of")
    bare_percent: bool = False  # the whole operand is one percent numeral
    has_percent: bool = False
    ambiguous: bool = False  # "50 + 20%": percent of what?
    literal: Token | None = None  # the numeral, when the expression is a single number
    rounded_inputs: bool = False


def _lit(tok: Token) -> Val:
    v = tok.value
    if tok.rounded:
        half = Fraction(1, 2 * 10**tok.decimals) / (100 if tok.percent else 1)
        return Val(v, v - half, v + half, bare_percent=tok.percent, has_percent=tok.percent,
                   literal=tok, rounded_inputs=True)
    return Val(v, v, v, bare_percent=tok.percent, has_percent=tok.percent, literal=tok)


def _merge(a: Val, b: Val, value: Fraction, lo: Fraction, hi: Fraction) -> Val:
    return Val(value, lo, hi, ops=a.ops + b.ops + 1, has_percent=a.has_percent or b.has_percent,
               ambiguous=a.ambiguous or b.ambiguous,
               rounded_inputs=a.rounded_inputs or b.rounded_inputs)


def _mul_iv(a: Val, b: Val) -> tuple[Fraction, Fraction]:
    prods = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
    return min(prods), max(prods)


def _combine(op: str, a: Val, b: Val) -> Val:
    if op == "+":
        return _merge(a, b, a.value + b.value, a.lo + b.lo, a.hi + b.hi)
    if op == "-":
        return _merge(a, b, a.value - b.value, a.lo - b.hi, a.hi - b.lo)
    if op == "*":
        return _merge(a, b, a.value * b.value, *_mul_iv(a, b))
    if b.value == 0:
        raise Undefined("division by zero")
    if op == "mod":
        v = a.value % b.value
        return _merge(a, b, v, v, v)
    # "/": an interval that straddles zero has no useful bound; fall back to the exact value
    if b.lo <= 0 <= b.hi:
        return _merge(a, b, a.value / b.value, a.value / b.value, a.value / b.value)
    inv = Val(1 / b.value, 1 / b.hi, 1 / b.lo)
    return _merge(a, b, a.value / b.value, *_mul_iv(a, inv))


def _power(base: Val, exp: Val) -> Val:
    if exp.value.denominator != 1:
        raise Undefined("fractional power")
    n = int(exp.value)
    size = max(abs(base.value.numerator), base.value.denominator, 2).bit_length()
    if abs(n) * size > _MAX_POWER_BITS or (n < 0 and base.value == 0):
        raise Undefined("power out of range")
    value = base.value**n
    ends = [base.lo, base.hi]
    if n < 0 and base.lo <= 0 <= base.hi:
        lo = hi = value
    else:
        cands = [e**n for e in ends]
        lo, hi = min(cands), max(cands)
        if n > 0 and n % 2 == 0 and base.lo <= 0 <= base.hi:
            lo = Fraction(0)
    return _merge(base, exp, value, lo, hi)


class _Parser:
    def __init__(self, toks: list[Token], pos: int, stop: int) -> None:
        self.toks, self.pos, self.stop = toks, pos, stop

    def peek(self, k: int = 0) -> Token | None:
        i = self.pos + k
        return self.toks[i] if i < self.stop else None

    def _is(self, kind: str, op: str | None = None, k: int = 0) -> bool:
        t = self.peek(k)
        return t is not None and t.kind == kind and (op is None or t.op == op)

    def expr(self) -> Val:
        left = self.term()
        while self._is("op", "+") or self._is("op", "-"):
            save, op = self.pos, self.toks[self.pos].op
            self.pos += 1
            try:
                right = self.term()
            except ParseFail:
                self.pos = save  # "8 + x": stop before the operator
                break
            ambiguous = left.bare_percent != right.bare_percent and not (
                left.has_percent and right.has_percent)
            left = _combine(op, left, right)
            left.ambiguous |= ambiguous
        return left

    def term(self) -> Val:
        left = self.unary()
        while True:
            save = self.pos
            t = self.peek()
            if t is None:
                break
            if t.kind == "op" and t.op in ("*", "/", "mod"):
                op = t.op
                self.pos += 1
            elif t.kind == "word" and t.text.lower() == "of" and left.bare_percent:
                op = "*"
                self.pos += 1
            elif t.kind == "lp" and t.attached and self.toks[self.pos - 1].kind in ("num", "rp"):
                op = "*"  # "2(3 + 4)", "(2)(3)"
            else:
                break
            try:
                right = self.unary()
            except ParseFail:
                self.pos = save
                break
            left = _combine(op, left, right)
        return left

    def unary(self) -> Val:
        if self._is("op", "-") or self._is("op", "+"):
            neg = self.toks[self.pos].op == "-"
            self.pos += 1
            v = self.unary()
            if neg:
                return Val(-v.value, -v.hi, -v.lo, v.ops, v.bare_percent, v.has_percent,
                           v.ambiguous, v.literal, v.rounded_inputs)
            return v
        return self.power()

    def power(self) -> Val:
        base = self.atom()
        while self._is("sup"):
            base = _power(base, _lit(self.toks[self.pos]))
            self.pos += 1
        if self._is("op", "^"):
            self.pos += 1
            base = _power(base, self.unary())
        self.units()
        return base

    def units(self) -> None:
        """Skip unit words after an operand: "5 apples", "12 cm", "60 km/h", "3 m²"."""
        n = 0
        while n < _MAX_UNIT_WORDS and self._is("word") and \
                self.toks[self.pos].text.lower() not in _NOT_UNITS:
            self.pos += 1
            n += 1
            while (self._is("op", "/") and self._is("word", k=1)) or (
                    self._is("op", "^") and self._is("num", k=1) and self.peek().attached):
                self.pos += 2
            while self._is("sup"):
                self.pos += 1

    def atom(self) -> Val:
        t = self.peek()
        if t is None:
            raise ParseFail("end of input")
        if t.kind == "num":
            self.pos += 1
            return _lit(t)
        if t.kind == "lp":
            return self.group()
        if t.kind == "frac":
            self.pos += 1
            num = self.group()
            den = self.group()
            return _combine("/", num, den)
        raise ParseFail(f"unexpected {t.text!r}")

    def group(self) -> Val:
        t = self.peek()
        if t is None or t.kind != "lp":
            raise ParseFail("expected a bracket")
        self.pos += 1
        inner = self.expr()
        close = self.peek()
        if close is None or close.kind != "rp" or close.text != _CLOSE[t.text]:
            raise ParseFail("unbalanced bracket")
        self.pos += 1
        return inner


def parse_prefix(toks: list[Token], start: int, stop: int) -> tuple[Val, int]:
    """Parse the longest expression starting at ``start``; return it and where it ended.

    Raises :class:`ParseFail` or :class:`Undefined`.

    Example:
        >>> from mistakelab.steps.numbers import tokenize
        >>> toks = tokenize("8 + 2 apples, then")
        >>> val, end = parse_prefix(toks, 0, len(toks)); (val.value, toks[end].text)
        (Fraction(10, 1), ',')
    """
    p = _Parser(toks, start, stop)
    try:
        val = p.expr()
    except RecursionError:  # absurdly nested brackets or signs
        raise ParseFail("too deep") from None
    return val, p.pos


def parse_span(toks: list[Token], start: int, stop: int) -> Val:
    """Parse ``toks[start:stop]`` as one whole expression (raises :class:`ParseFail` if not)."""
    val, end = parse_prefix(toks, start, stop)
    if end != stop:
        raise ParseFail("trailing tokens")
    return val
