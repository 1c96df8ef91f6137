"""Answer checking: which role a model's answer gives each person, and whether that is right.

:func:`extract_assignment` reads the last full assignment stated (a CONCLUSION / final answer
section or ``\\boxed{}`` when there is one) and writes it canonically: ``"Zoey: knight;
Oliver: knave"``. Hedges survive extraction (``"Max: knight or knave"``, ``"Max: undetermined"``,
``"*: undetermined"`` for a hedge about the whole answer, ``"Max: knight and knave"`` when both
roles are claimed) so that :func:`check_assignment` can reject them with a reason.

Example:
    >>> ex = extract_assignment("So... CONCLUSION: (1) Zoey is a knight (2) Oliver is a knave")
    >>> ex.text, ex.method
    ('Zoey: knight; Oliver: knave', 'conclusion')
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mistakelab.answers import Extraction
from mistakelab.core.types import Problem, Verdict
from mistakelab.tasks.knights_knaves.parse import Mention, Vocab, clean, find_mentions, names_in, sentences

_MARKER = re.compile(
    r"(?i)\bfinal\s+answer\b|\bthe\s+answer\s+is\b|\banswer\s*:|\bconclusion\b|\bin\s+summary\b|"
    r"\bto\s+summari[sz]e\b|\bthe\s+solution\s+is\b|\bsolution\s*:|\bsummary\s*:")
_HEDGE = re.compile(
    r"(?i)cannot\s+be\s+(?:uniquely\s+)?determined|can't\s+be\s+(?:uniquely\s+)?determined|"
    r"can(?:not|'t)\s+(?:be\s+)?(?:sure|determine|tell|know)|impossible\s+to\s+(?:determine|tell|know|say)|"
    r"\bundetermined\b|\bindeterminate\b|\bunknown\b|not\s+enough\s+information|insufficient\s+information|"
    r"\bambiguous\b|\buncertain\b|(?:could|can|may|might)\s+be\s+either|\beither\s+role\b|\bno\s+unique\b|"
    r"\bnot\s+unique\b|multiple\s+(?:solutions|possibilities|assignments)|more\s+than\s+one\s+"
    r"(?:solution|possibility|assignment)|\bunclear\b|undeterminable|"
    # "Emily is a knight/a knave": both roles offered with a slash (small models copy the
    # answer template literally); role words are letters and hyphens ("truth-teller/liar").
    r"\b[a-z][a-z-]*\s*/\s*(?:an?\s+)?[a-z][a-z-]*\b")
_HYPOTHETICAL = re.compile(
    r"(?i)\b(?:if|suppose|supposing|assume|assuming|assumption|case|whether|hypothetically|imagine)\b")
_EITHER = re.compile(r"(?i)\beither\b.*\bor\b")
_CLAUSE = re.compile(r"[,;:]|\bbut\b|\bwhile\b|\bwhereas\b|\bhowever\b", re.I)
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")

HEDGED, BOTH, GLOBAL = "undetermined", " and ", "*"


def _boxed_span(text: str) -> tuple[int, int] | None:
    spans = []
    for m in _BOXED.finditer(text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            spans.append((m.end(), i - 1))
    return spans[-1] if spans else None


def _usable(c: str, ms: list[Mention]) -> list[Mention]:
    """Mentions that state a role: known role word, not reported speech, not hypothetical."""
    out = []
    sents = sentences(c)
    for m in ms:
        if m.truthful is None or m.reported or m.modal == "would":
            continue
        sent = next(((a, b) for a, b in sents if a <= m.start < b), (m.start, m.end))
        if _HYPOTHETICAL.search(c[sent[0]:m.start]):
            continue
        out.append(m)
    return out


def _blocks(c: str, ms: list[Mention]) -> list[list[Mention]]:
    """Runs of mentions not split by a blank line or a long gap."""
    blocks: list[list[Mention]] = []
    for m in ms:
        if blocks:
            gap = c[blocks[-1][-1].end:m.start]
            if not re.search(r"\n\s*\n", gap) and len(gap) < 300:
                blocks[-1].append(m)
                continue
        blocks.append([m])
    return blocks


def _render(entries: dict[str, str]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in entries.items())


def extract_assignment(text: str, vocab: Vocab | None = None) -> Extraction:
    """The assignment a solution ends with, canonical and with hedges kept (see module doc).

    ``method``: ``boxed``, ``conclusion`` (after a final-answer marker), ``last_block`` or ``none``.
    """
    v = vocab or Vocab()
    c = clean(text)
    region, method = (0, len(c)), "last_block"
    boxed = _boxed_span(c)
    if boxed and _usable(c, [m for m in find_mentions(c, v) if boxed[0] <= m.start < boxed[1]]):
        region, method = boxed, "boxed"
    else:
        for mk in reversed(list(_MARKER.finditer(c))):
            if _usable(c, [m for m in find_mentions(c, v) if m.start >= mk.start()]):
                region, method = (mk.start(), len(c)), "conclusion"
                break
    ms = [m for m in _usable(c, find_mentions(c, v)) if region[0] <= m.start < region[1]]
    blocks = _blocks(c, ms)
    if not blocks:
        if _HEDGE.search(c[-400:]):  # "the roles cannot be determined" with no roles at all
            return Extraction(f"{GLOBAL}: {HEDGED}", "hedge", [])
        return Extraction(None, "none", [])
    sizes = [len({m.name for m in b}) for b in blocks]
    if v.names:  # the last block naming everyone, else the last of the largest
        full = [i for i, b in enumerate(blocks) if {m.name for m in b} >= set(v.names)]
        pick = full[-1] if full else max(i for i, s in enumerate(sizes) if s == max(sizes))
    else:
        pick = max(i for i, s in enumerate(sizes) if s == max(sizes))
    block = blocks[pick]
    entries = _entries(c, v, block, region if method != "last_block" else (block[0].start, block[-1].end))
    order = [n for n in (v.names or []) if n in entries] + [n for n in entries if n not in (v.names or [])]
    canon = _render({n: entries[n] for n in order})
    cands = [_render(_entries(c, v, b, (b[0].start, b[-1].end))) for b in blocks]
    return Extraction(canon, method, cands)


def _entries(c: str, v: Vocab, block: list[Mention], span: tuple[int, int]) -> dict[str, str]:
    roles: dict[str, list[Mention]] = {}
    for m in block:
        roles.setdefault(m.name, []).append(m)
    out: dict[str, str] = {}
    for name, ms in roles.items():
        words = list(dict.fromkeys(m.role for m in ms))
        sides = {m.truthful for m in ms}
        if any(m.hedge or m.modal == "could" for m in ms):
            out[name] = f"{words[0]} or {v.opposite(words[0])}"
        elif len(sides) > 1:
            out[name] = BOTH.join(words[:2])
        else:
            out[name] = words[-1]
    # Hedge phrases in the clauses around the answer: "but Max's role cannot be determined".
    lo = max([a for a, b in sentences(c) if a <= span[0]] or [span[0]])
    hi = min([b for a, b in sentences(c) if b >= span[1]] or [span[1]])
    for a, b in sentences(c):
        if b <= lo or a >= hi:
            continue
        for ca, cb in _clauses(c, a, b):
            clause = c[ca:cb]
            in_clause = {m.name for m in block if ca <= m.start < cb}
            if _HEDGE.search(clause):
                for n in names_in(clause, v) or [GLOBAL]:
                    out[n] = HEDGED
            elif _EITHER.search(clause) and len(in_clause) > 1:  # "either A is ... or B is ..."
                for n in in_clause:
                    out[n] = HEDGED
    return out


def _clauses(c: str, a: int, b: int) -> list[tuple[int, int]]:
    cuts = [a] + [m.end() for m in _CLAUSE.finditer(c, a, b)] + [b]
    return [(x, y) for x, y in zip(cuts, cuts[1:]) if c[x:y].strip()]


def parse_canonical(answer: str) -> dict[str, str] | None:
    """``"Zoey: knight; Oliver: knave"`` -> dict, or None when ``answer`` is not in that form."""
    parts = [p.strip() for p in answer.strip().split(";") if p.strip()]
    out: dict[str, str] = {}
    for p in parts:
        m = re.fullmatch(r"(\*|[A-Z][\w'-]*)\s*[:=]\s*([a-z][a-z' -]*)", p)
        if not m:
            return None
        out[m.group(1)] = m.group(2).strip()
    return out or None


def check_assignment(answer: str | None, names: Sequence[str], roles: tuple[str, str],
                     solution: Sequence[bool], method: str = "given") -> Verdict:
    """Judge an extracted (canonical) answer or a raw text against the solution.

    Correct only when every person gets the right role and nothing is hedged.
    """
    if answer is None:
        return Verdict(extracted=None, method="none", correct=False, reason="no answer found")
    v = Vocab(names=list(names), roles=roles)
    entries = parse_canonical(answer)
    if entries is None:
        ex = extract_assignment(answer, v)
        if ex.text is None:
            return Verdict(extracted=None, method="none", correct=False, reason="no roles found in the answer")
        entries, method = parse_canonical(ex.text) or {}, ex.method
    extracted = _render(entries)
    problems = []
    if entries.get(GLOBAL) == HEDGED:
        problems.append("the answer says the roles cannot be determined")
    for name, truthful in zip(names, solution):
        want = roles[0] if truthful else roles[1]
        got = entries.get(name)
        if got is None:
            problems.append(f"{name} is missing")
        elif got == HEDGED or " or " in got:
            problems.append(f"{name} is hedged ({got})")
        elif BOTH.strip() in got.split():
            problems.append(f"{name} is given both roles ({got})")
        else:
            side = v.words.get(got, (None,))[0]
            if side is None:
                problems.append(f"{name}: unrecognised role {got!r}")
            elif side != truthful:
                problems.append(f"{name} is {want}, not {got}")
    return Verdict(extracted=extracted, method=method, correct=not problems,
                   reason="; ".join(problems) if problems else f"all {len(names)} roles match")


def assignment_key(answer: str, vocab: Vocab | None = None) -> str:
    """Canonical ``name=role;...`` sorted by name, roles as the logical ``knight``/``knave``
    (``?`` hedged, ``!`` both claimed), for grouping votes.

    Example:
        >>> assignment_key("Oliver: liar; Zoey: truth-teller")
        'Oliver=knave;Zoey=knight'
    """
    v = vocab or Vocab()
    entries = parse_canonical(answer)
    if entries is None:
        ex = extract_assignment(answer, v)
        entries = parse_canonical(ex.text or "") or {}
    out = []
    for name in sorted(entries):
        got = entries[name]
        if got == HEDGED or " or " in got:
            tag = "?"
        elif BOTH.strip() in got.split():
            tag = "!"
        else:
            side = v.words.get(got, (None,))[0]
            tag = got if side is None else ("knight" if side else "knave")
        out.append(f"{name}={tag}")
    return ";".join(out)


def problem_vocab(problem: Problem) -> Vocab:
    """The names and roles of a knights-and-knaves Problem."""
    md = problem.metadata
    return Vocab(names=list(md["names"]), roles=(md["roles"][0], md["roles"][1]))


def check_problem(problem: Problem, answer: str | None, method: str = "given") -> Verdict:
    """:func:`check_assignment` with names, roles and solution taken from ``problem``."""
    md = problem.metadata
    return check_assignment(answer, md["names"], (md["roles"][0], md["roles"][1]), md["solution_bits"], method)


def verify_answer(problem: Problem, text: str) -> Verdict:
    """Extract the answer from ``text`` knowing the puzzle's names and roles, then judge it."""
    ex = extract_assignment(text, problem_vocab(problem))
    return check_problem(problem, ex.text, ex.method)
