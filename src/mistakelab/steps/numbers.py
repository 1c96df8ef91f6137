"""Tokenize free text (plain, markdown or LaTeX) into math tokens for the arithmetic checker.

Only what matters for spotting ``a op b = r`` survives: numbers (exact ``Fraction`` values,
thousands separators, decimals, percent), operators, brackets, ``=``/``≈``, words (possible
units), *stops* (sentence punctuation, newlines outside display math, list markers) and
*poison* (things that must never be read as arithmetic: dates, times, ratios, phone numbers,
version numbers, variables, unknown LaTeX commands). Currency signs, inline-math delimiters,
markdown bold and LaTeX spacing are dropped.

Example:
    >>> [t.kind for t in tokenize("$12 × 3 = $36")]
    ['num', 'op', 'num', 'eq', 'num']
    >>> tokenize("on 2024-05-01")[1].kind
    'poison'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from mistakelab.steps.split import display_spans, in_spans

# Repeating decimals a solver writes after rounding (1/3 -> 0.33, 100/7 -> 14.29).
_ROUNDED_DENOMINATORS = (3, 6, 7, 9, 12)
_ARTICLES = {"a", "A", "I"}
# One-letter units read as units after "20 " (space, no operator next): "= 20 m", "3 h".
_LETTER_UNITS = set("mgshlLkKCFVWJN")

_POISON = (
    r"\d{4}-\d{1,2}-\d{1,2}(?!\d)"  # ISO date
    r"|\d{1,2}[/-]\d{1,2}[/-]\d{2,4}(?!\d)"  # 5/12/2023, 05-12-2023
    r"|\(\d{3}\)[ ]?\d{3}[-. ]\d{4}(?!\d)|\d{3}[-.]\d{3}[-.]\d{4}(?!\d)"  # phone numbers
    r"|\d+(?:\.\d+){2,}"  # version numbers 3.11.2
    r"|\d+(?::\d+)+(?:[ ]?[ap]\.?m\b\.?)?"  # times 3:45 and ratios 3:2
)
_NUMBER = r"(?:\d{1,3}(?:(?:,|\{,\}|\\,)\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
_TEXT_CMD = r"\\(?:text|mathrm|textrm|mbox|textit|operatorname)\s*\{[^{}]*\}"
_MASTER = re.compile(
    r"(?P<listmark>(?m:^)[ \t]*(?:[-*•+]|\d{1,3}[.)])[ \t]+)"
    rf"|(?P<poison>(?<![\w.]){_POISON})"
    rf"|(?P<num>(?:(?<![\w.])|(?<=\d[xX])){_NUMBER})(?P<pct>[ ]?(?:%|\\%)(?![ ]?\d))?"
    rf"|(?P<textcmd>{_TEXT_CMD})"
    r"|(?P<brk>\\\\(?P<cont>\s*&\s*(?:=|\\approx))?)"  # align line break; "\\ &=" continues
    r"|(?P<cmd>\\[A-Za-z]+)"
    r"|(?P<esc>\\.)"
    r"|(?P<sup>[²³])"
    r"|(?P<xop>(?<=\d)[xX](?=\d))"  # "3x4"
    r"|(?P<ident>[^\W\d_]+\d\w*)"
    r"|(?P<word>[^\W\d_]+(?:'[a-z]+)?)"
    r"|(?P<eq>==?(?![>=<])|:=|~=|≈|≃|≅)"
    r"|(?P<bold>\*\*|__)"
    r"|(?P<op>[-+−*×✕∗·⋅/÷^%])"
    r"|(?P<lp>[(\[{])|(?P<rp>[)\]}])"
    r"|(?P<nl>\n)"
    r"|(?P<space>[^\S\n]+|[$€£¥₹&'\"`~°])"
    r"|(?P<other>.)",
    re.DOTALL,
)
_OPS = {"−": "-", "×": "*", "✕": "*", "∗": "*", "·": "*", "⋅": "*", "÷": "/", "%": "mod"}
_CMD_OPS = {"times": "*", "cdot": "*", "ast": "*", "div": "/"}
_CMD_TRANSPARENT = {
    "left", "right", "bigl", "bigr", "Bigl", "Bigr", "big", "Big", "boxed", "textbf", "mathbf",
    "displaystyle", "bf", "it", "textstyle", "hspace", "underline",
}
_CMD_STOP = {
    "neq", "ne", "leq", "le", "geq", "ge", "lt", "gt", "implies", "Rightarrow", "rightarrow",
    "to", "therefore", "because", "iff", "Longrightarrow", "quad", "qquad", "end", "begin",
}
_CMD_EQ = {"approx", "simeq", "approxeq", "cong"}


@dataclass
class Token:
    """One math token; ``value``/``decimals``/``percent`` are set for numbers."""

    kind: str  # num op lp rp frac eq word stop poison sup
    start: int
    end: int
    text: str
    op: str = ""
    value: Fraction = Fraction(0)
    decimals: int = 0
    percent: bool = False
    approx: bool = False  # eq: ≈ / \approx / "= ~4"
    attached: bool = False  # no gap before this token
    rounded: bool = False  # number looks like a rounded repeating decimal


def parse_number(raw: str) -> tuple[Fraction, int]:
    """Exact value and number of written decimals of a numeral like ``1,234.50``.

    Example:
        >>> parse_number("1,234.50")
        (Fraction(2469, 2), 2)
    """
    clean = raw.replace("{,}", "").replace("\\,", "").replace(",", "")
    decimals = len(clean.split(".", 1)[1]) if "." in clean else 0
    return Fraction(clean), decimals


def looks_rounded(value: Fraction, decimals: int) -> bool:
    """True for a numeral that is a repeating fraction cut to ``decimals`` places (0.33, 14.29).

    Example:
        >>> looks_rounded(Fraction("0.67"), 2), looks_rounded(Fraction("0.25"), 2)
        (True, False)
    """
    if decimals < 2 or value.denominator == 1:
        return False
    half = Fraction(1, 2 * 10**decimals)
    for q in _ROUNDED_DENOMINATORS:
        near = Fraction(round(value * q), q)
        if near != value and abs(near - value) <= half:
            return True
    return False


def _emit_cmd(name: str, m: re.Match[str], out: list[Token]) -> None:
    s, e, t = m.start(), m.end(), m.group(0)
    if name in _CMD_OPS:
        out.append(Token("op", s, e, t, op=_CMD_OPS[name]))
    elif name in ("frac", "dfrac", "tfrac", "cfrac"):
        out.append(Token("frac", s, e, t))
    elif name in _CMD_EQ:
        out.append(Token("eq", s, e, t, approx=True))
    elif name in _CMD_STOP:
        out.append(Token("stop", s, e, t))
    elif name not in _CMD_TRANSPARENT:
        out.append(Token("poison", s, e, t))


def _raw_tokens(text: str) -> list[Token]:
    displays = display_spans(text)
    out: list[Token] = []
    last_end = -1
    for m in _MASTER.finditer(text):
        kind = m.lastgroup if m.lastgroup != "pct" else "num"
        s, e, t = m.start(), m.end(), m.group(0)
        before = len(out)
        if m.group("num") is not None:
            value, dec = parse_number(m.group("num"))
            pct = m.group("pct") is not None
            out.append(Token("num", s, e, t, value=value / 100 if pct else value, decimals=dec,
                             percent=pct, rounded=looks_rounded(value, dec)))
        elif kind == "cmd":
            _emit_cmd(t[1:], m, out)
        elif kind == "brk":
            if m.group("cont") is None:
                out.append(Token("stop", s, e, t))
            else:  # "\\ &=": the chain goes on over the line break
                out.append(Token("eq", s, e, t, approx="approx" in t))
        elif kind == "esc":
            if t in ("\\%", "\\{", "\\}"):
                out.append(Token("stop", s, e, t))
            # \( \) \[ \] \$ \, \; \! \  are delimiters or spacing: dropped
        elif kind == "eq":
            out.append(Token("eq", s, e, t, approx=t not in ("=", "==", ":=")))
        elif kind == "op":
            out.append(Token("op", s, e, t, op=_OPS.get(t, t)))
        elif kind == "xop":
            out.append(Token("op", s, e, t, op="*"))
        elif kind == "sup":
            out.append(Token("sup", s, e, t, value=Fraction(2 if t == "²" else 3)))
        elif kind == "textcmd":
            # \text{ of } reads as "of"; \text{ apples} as a unit word
            inner = t[t.index("{") + 1:-1].strip()
            out.append(Token("word", s, e, inner if re.fullmatch(r"[^\W\d_]+", inner) else t))
        elif kind == "nl":
            if not in_spans(s, displays):
                out.append(Token("stop", s, e, t))
        elif kind == "listmark" and t.strip() in "+-*" and in_spans(s, displays):
            # "+ 34 = 70" opening a line of display math continues the sum above
            k = s + t.index(t.strip())
            out.append(Token("op", k, k + 1, t.strip(), op=t.strip()))
        elif kind in ("listmark", "other"):
            out.append(Token("stop", s, e, t))
        elif kind in ("poison", "ident", "word", "lp", "rp"):
            out.append(Token("poison" if kind == "ident" else kind, s, e, t))
        if len(out) > before:
            out[-1].attached = s == last_end
            last_end = e
    _mark_tilde_approx(text, out)
    return out


def _mark_tilde_approx(text: str, toks: list[Token]) -> None:
    for i, tok in enumerate(toks[:-1]):
        if tok.kind == "eq" and "~" in text[tok.end:toks[i + 1].start]:
            tok.approx = True


def _operand_end(tok: Token | None) -> bool:
    return tok is not None and tok.kind in ("num", "rp", "sup")


def _operand_start(tok: Token | None) -> bool:
    return tok is not None and tok.kind in ("num", "lp", "frac")


def tokenize(text: str) -> list[Token]:
    """Tokens of ``text`` (see the module docstring); spans index into ``text``.

    Example:
        >>> [(t.kind, t.op or t.text) for t in tokenize("3 x 4 = 12")]
        [('num', '3'), ('op', '*'), ('num', '4'), ('eq', '='), ('num', '12')]
    """
    toks = _raw_tokens(text)
    out: list[Token] = []
    for i, tok in enumerate(toks):
        prev = out[-1] if out else None
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if tok.kind == "word" and len(tok.text) == 1:
            if tok.text in "xX" and _operand_end(prev) and _operand_start(nxt):
                tok.kind, tok.op = "op", "*"  # "3 x 4", "3x4"
            elif (tok.text in _LETTER_UNITS and prev is not None and prev.kind == "num"
                  and not tok.attached and not (nxt and nxt.kind in ("op", "eq"))):
                pass  # a unit: "= 20 m", "3 h later"
            elif tok.text not in _ARTICLES or any(
                t is not None and t.kind in ("op", "eq") for t in (prev, nxt)
            ):
                tok.kind = "poison"  # a variable: "2x = 10", "x + 5"
        if tok.kind == "word" and tok.text.lower() == "percent" and prev is not None \
                and prev.kind == "num" and not prev.percent:
            prev.percent, prev.value = True, prev.value / 100  # "25 percent" is "25%"
        out.append(tok)
    return _mark_ranges(out)


def _mark_ranges(toks: list[Token]) -> list[Token]:
    """Fold ``3-4`` (no spaces, plain integers, rising) into one poison token: it is a range."""
    out: list[Token] = []
    i = 0
    while i < len(toks):
        a = toks[i]
        if (i + 2 < len(toks) and a.kind == "num" and toks[i + 1].kind == "op"
                and toks[i + 1].text == "-" and toks[i + 1].attached and toks[i + 2].attached
                and toks[i + 2].kind == "num" and a.value.denominator == 1
                and toks[i + 2].value.denominator == 1 and not a.percent
                and a.value < toks[i + 2].value and not (out and out[-1].kind == "op")):
            b = toks[i + 2]
            out.append(Token("poison", a.start, b.end, a.text + "-" + b.text, attached=a.attached))
            i += 3
            continue
        out.append(a)
        i += 1
    return out
