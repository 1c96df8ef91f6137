"""Property tests for the arithmetic checker.

Expressions are generated as trees and evaluated here with ``Fraction`` (independently of the
checker's parser), then rendered as text in many spellings.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mistakelab.steps import check_arithmetic, find_computations
from mistakelab.steps.arithmetic import MAX_LEFT_TOKENS
from mistakelab.steps.numbers import tokenize

OPS = {
    "+": ["+"],
    "-": ["-", "−"],
    "*": ["×", "*", "·", "\\times", "\\cdot", "x"],
    "/": ["/", "÷", "\\div"],
}


@dataclass
class Node:
    op: str  # "num", "frac", "+", "-", "*", "/", "^"
    a: object = None
    b: object = None


def value(n: Node) -> Fraction:
    if n.op == "num":
        return Fraction(n.a)
    if n.op == "frac":
        return Fraction(n.a, n.b)
    x, y = value(n.a), value(n.b) if n.op != "^" else n.b
    if n.op == "+":
        return x + y
    if n.op == "-":
        return x - y
    if n.op == "*":
        return x * y
    if n.op == "/":
        return x / y
    return x**y


def _int_text(v: int, style: str) -> str:
    body = f"{abs(v):,}" if style in ("sep", "sep$") else str(abs(v))
    if style.endswith("$"):
        body = "$" + body
    return ("-" if v < 0 else "") + body


def render(n: Node, draw_op, style: str = "plain") -> str:
    if n.op == "num":
        text = _int_text(n.a, style)
        return f"({text})" if n.a < 0 else text
    if n.op == "frac":
        return f"\\frac{{{n.a}}}{{{n.b}}}"
    left = render(n.a, draw_op, style)
    if n.a.op not in ("num", "frac"):
        left = f"({left})"
    if n.op == "^":
        return f"{left}^{{{n.b}}}" if n.b != 2 else f"{left}²"
    right = render(n.b, draw_op, style)
    if n.b.op not in ("num", "frac"):
        right = f"({right})"
    return f"{left} {draw_op(n.op)} {right}"


leaves = st.one_of(
    st.builds(Node, st.just("num"), st.integers(-30, 2500)),
    st.builds(Node, st.just("frac"), st.integers(1, 40), st.integers(1, 12)),
)


def _extend(children):
    return st.one_of(
        st.builds(Node, st.sampled_from(["+", "-", "*", "/"]), children, children),
        st.builds(Node, st.just("^"), children, st.integers(0, 3)),
    )


trees = st.recursive(leaves, _extend, max_leaves=5).filter(lambda n: n.op not in ("num", "frac"))

TEMPLATES = [
    "So {c}.",
    "We get {c} apples in total.",
    "\\( {c} \\)",
    "- {c}",
    "Step 2: {c}",
    "1. First, {c}, which we keep.",
    "$$\n{c}\n$$",
]


def _safe_value(n: Node) -> Fraction | None:
    try:
        v = value(n)
    except ZeroDivisionError:
        return None
    return v if abs(v.numerator) < 10**12 and v.denominator < 10**6 else None


def _result_text(v: Fraction, decimals: int | None) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    if decimals is None:
        return f"{v.numerator}/{v.denominator}" if v > 0 else f"-{-v.numerator}/{v.denominator}"
    scaled = round(v * 10**decimals)  # exact rounding (half to even), no floats
    digits = str(abs(scaled)).rjust(decimals + 1, "0")
    return ("-" if scaled < 0 else "") + digits[:-decimals] + "." + digits[-decimals:]


@settings(max_examples=300, deadline=None)
@given(tree=trees, data=st.data(), template=st.sampled_from(TEMPLATES),
       decimals=st.one_of(st.none(), st.integers(1, 4)))
def test_right_results_never_flagged_wrong_ones_always(tree, data, template, decimals):
    v = _safe_value(tree)
    assume(v is not None)
    expr = render(tree, lambda op: data.draw(st.sampled_from(OPS[op])))
    # the checker's documented reach: an expression starts at most MAX_LEFT_TOKENS before "="
    assume(len(tokenize(expr)) <= MAX_LEFT_TOKENS)
    good = template.format(c=f"{expr} = {_result_text(v, decimals)}")
    comps = find_computations(good)
    assert len(comps) == 1 and comps[0].ok, (good, comps)
    assert comps[0].value == v

    # a perturbation of at least 2 units in the last stated place is never a rounding
    unit = Fraction(1) if v.denominator == 1 or decimals is None else Fraction(1, 10**decimals)
    k = data.draw(st.sampled_from([-5, -2, 2, 3, 7, 100]))
    stated = round(v, decimals) if decimals is not None and v.denominator != 1 else v
    bad_value = stated + k * unit
    bad_text = (_result_text(bad_value, decimals) if decimals is not None and v.denominator != 1
                else _result_text(bad_value, None))
    bad = template.format(c=f"{expr} = {bad_text}")
    comps = find_computations(bad)
    assert len(comps) == 1 and not comps[0].ok, (bad, comps)


int_trees = st.recursive(
    st.builds(Node, st.just("num"), st.integers(0, 99999)),
    lambda ch: st.builds(Node, st.sampled_from(["+", "*"]), ch, ch),
    max_leaves=4,
).filter(lambda n: n.op != "num")


@settings(max_examples=200, deadline=None)
@given(tree=int_trees, delta=st.sampled_from([0, 0, 1, -1, 10, 1000]),
       op_style=st.sampled_from(["×", "*", "x", "\\times"]))
def test_separators_and_currency_do_not_change_verdicts(tree, delta, op_style):
    v = value(tree) + delta
    verdicts = set()
    for style in ("plain", "sep", "plain$", "sep$"):
        expr = render(tree, lambda op: "+" if op == "+" else op_style, style)
        text = f"She pays {expr} = {_int_text(int(v), style)} for it."
        comps = find_computations(text)
        assert len(comps) == 1, text
        verdicts.add(comps[0].ok)
    assert verdicts == {delta == 0}


day, month = st.integers(1, 28), st.integers(1, 12)
year = st.integers(1990, 2030)
NOISE = st.one_of(
    st.builds(lambda y, m, d: f"{y}-{m:02d}-{d:02d}", year, month, day),
    st.builds(lambda y, m, d: f"{m}/{d}/{y}", year, month, day),
    st.builds(lambda y, m, d: f"{m:02d}-{d:02d}-{y}", year, month, day),
    st.builds(lambda a, b: f"{a}-{a + b} apples", st.integers(0, 500), st.integers(1, 50)),
    st.builds(lambda a, b: f"pages {a}-{b}", st.integers(1, 500), st.integers(1, 500)),
    st.builds(lambda a, b: f"{a}–{b}", st.integers(0, 500), st.integers(0, 500)),
    st.builds(lambda h, m: f"{h}:{m:02d}", st.integers(0, 23), st.integers(0, 59)),
    st.builds(lambda a, b: f"a ratio of {a}:{b}", st.integers(1, 20), st.integers(1, 20)),
    st.builds(lambda a, b, c: f"{a}-{b}-{c}", st.integers(200, 999), st.integers(100, 999),
              st.integers(1000, 9999)),
    st.builds(lambda a, b, c: f"version {a}.{b}.{c}", st.integers(0, 9), st.integers(0, 30),
              st.integers(0, 30)),
)
NOISE_TEMPLATES = [
    "On {n} she came back.",
    "{n} = the date we met.",
    "We met {n} = {m}.",
    "The note says {n}, and then {m} = {n}.",
    "1. {n}\n2. {m}",
]


@settings(max_examples=300, deadline=None)
@given(n=NOISE, m=NOISE, template=st.sampled_from(NOISE_TEMPLATES),
       extra=st.tuples(st.integers(0, 999), st.integers(0, 999)))
def test_dates_ranges_times_are_never_flagged(n, m, template, extra):
    text = template.format(n=n, m=m)
    assert [c for c in find_computations(text) if not c.ok] == [], text
    # next to a real computation, only that computation is found
    a, b = extra
    text2 = f"{text} So {a} + {b} = {a + b}."
    comps = find_computations(text2)
    assert [(c.expression, c.ok) for c in comps] == [(f"{a} + {b}", True)], text2


_MATHY = st.sampled_from(list("0123456789+-*/^=()[]{}.,%$x ×÷·≈\n") + [
    "\\frac", "\\times", "\\[", "\\]", "\\(", "\\)", "\\text{ab}", "\\sqrt", "**", "Step 1:",
    "1,234", "2024-05-01", "3:45", "of", "about", "\\\\", "&=", "²", "~"])


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(_MATHY | st.text(max_size=5), max_size=40))
def test_arbitrary_text_never_crashes_and_spans_hold(parts):
    text = "".join(parts)
    for c in find_computations(text):
        assert 0 <= c.start < c.end <= len(text)
        assert c.ok == (c.ok is True)
    v = check_arithmetic(text)
    assert v.first_error == min((m.index for m in v.marks if m.status == "wrong"), default=-1)


def test_deep_nesting_is_not_a_crash():
    # the right side is parsed recursively: absurd nesting must give up, not crash
    assert find_computations("1 + 1 = " + "(" * 5000 + "2" + ")" * 5000) == []
    assert [c.ok for c in find_computations("1 + 1 = " + "(" * 20 + "2" + ")" * 20)] == [True]
    assert find_computations("2^{99999} = 1") == []


def test_long_left_sides_within_reach_are_checked():
    # found by hypothesis: 67 tokens left of the "=", past the checker's old 60-token reach
    text = "So ((\\frac{1}{1}^{0}) + (\\frac{1}{1} + \\frac{1}{1})) + ((\\frac{1}{1}^{0}) + (\\frac{1}{1}^{0})) = 5."
    assert [c.ok for c in find_computations(text)] == [True]
    assert [c.ok for c in find_computations(text.replace("= 5", "= 6"))] == [False]
    long_sum = " + ".join(["(1 + 1)"] * 40)  # 199 tokens
    assert len(tokenize(long_sum)) <= MAX_LEFT_TOKENS
    assert [c.ok for c in find_computations(f"Total: {long_sum} = 80.")] == [True]
    # beyond the reach: not checked (never a wrong verdict on a fragment of the expression)
    longer = " + ".join(["(1 + 1)"] * 60)
    assert find_computations(f"Total: {longer} = 999.") == []
