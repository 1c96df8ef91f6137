"""Step verifier for iGSM solutions: which quantity each step defines, and is it right.

For every step: find the quantity it defines (an explicit ``Define <name> as p`` / ``Let p be
<name>``, else the named quantity that best explains the others named with it, as the
defined one depends on them), read the value it states (the first number after the last
``=``; without ``=``, a number attached to the quantity, as in ``8 Lions`` or ``... is 8``,
never one inside a relation such as ``3 more`` or ``by 7``), then mark the step:

* ``wrong`` / ``wrong_dependency``: its expression uses a variable of a quantity the definition
  does not depend on, or an all-symbolic expression leaves a dependency out, or it names such a
  quantity and computes with that quantity's value;
* ``wrong`` / ``wrong_value``: the stated value differs from the true one (a value carried over
  correctly from an earlier wrong step is still wrong; the reason says so);
* ``unnecessary``: it defines a quantity the answer does not need (not an error);
* ``unchecked``: no quantity, or no value, could be found;
* ``ok`` otherwise.

Example:
    >>> import random
    >>> from mistakelab.tasks.igsm.graph import GenConfig, generate
    >>> from mistakelab.tasks.igsm.solve import gold_text
    >>> from mistakelab.tasks.igsm.align import split_solution
    >>> spec = generate(random.Random("3-0"), GenConfig())
    >>> marks = mark_steps(spec, split_solution(gold_text(spec)))
    >>> [m.status for m in marks][-2:]
    ['ok', 'unchecked']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mistakelab.steps.types import Step, StepMark
from mistakelab.tasks.igsm.align import Aligner, Mention, Number, Pairing, blank_noise, numbers
from mistakelab.tasks.igsm.model import Quantity, Spec, evaluate

_DEFINE = re.compile(r"\b(?:define|denote)\s+(?P<phrase>.+?)\s+(?:as|by)\s+"
                     r"(?P<var>[A-Za-z](?:_?\d+)?)(?![A-Za-z0-9_])", re.I)
_LET = re.compile(r"\blet\s+(?P<var>[A-Za-z](?:_?\d+)?)\s+(?:be|denote|represent|=)\s+(?P<phrase>[^;=.\n]+)", re.I)
_VAR = re.compile(r"(?<![A-Za-z0-9_\\])[A-Za-z](?:_?\d+)?(?![A-Za-z0-9_])")
_EQ = re.compile(r"=|\u2261|\\equiv")
_RELATIONAL = re.compile(r"\s*(?:more|fewer|less|times|percent)\b", re.I)
_COPULA = re.compile(r"(?:\bis|\bare|\bequals|\bhas|\bhave|\bbe|\btotal(?: of)?|\bgives|:)\s*$", re.I)


@dataclass
class _Ledger:
    """What the solution has said so far."""

    vars: dict[str, str] = field(default_factory=dict)  # variable -> quantity key
    said: dict[str, float] = field(default_factory=dict)  # key -> first stated value
    where: dict[str, int] = field(default_factory=dict)  # key -> step that first stated it


@dataclass
class _Reading:
    key: str | None
    binding_end: int = 0
    value: Number | None = None
    named: set[str] = field(default_factory=set)  # strong pairings anywhere in the step
    claims: list[tuple[str, Number]] = field(default_factory=list)  # other counts it states


def mark_steps(spec: Spec, steps: list[Step], aligner: Aligner | None = None) -> list[StepMark]:
    """One :class:`StepMark` per step (see the module docstring for the rules); ``aligner``:
    this problem's, when the caller keeps one (building it compiles the problem's patterns)."""
    aligner = aligner or Aligner(spec)
    qs = spec.by_key()
    need = set(spec.necessary)
    ledger = _Ledger()
    marks = []
    for step in steps:
        reading = _read(step.text, aligner, qs, ledger)
        marks.append(_judge(step.index, step.text, reading, spec, qs, need, ledger))
        said = [(reading.key, reading.value)] if reading.key and reading.value is not None else []
        for key, num in said + reading.claims:
            if key not in ledger.said:
                ledger.said[key] = num.value
                ledger.where[key] = step.index
    return marks


def _read(text: str, aligner: Aligner, qs: dict[str, Quantity], ledger: _Ledger) -> _Reading:
    """Which quantity the step defines and the number it states for it."""
    ms = aligner.mentions(text)
    pairings = aligner.pairings(ms)
    named = {p.key for p in pairings if p.strong}
    for rx in (_DEFINE, _LET):
        m = rx.search(text)
        if m:
            inside = [x for x in ms if m.start("phrase") <= x.start and x.end <= m.end("phrase")]
            found = [p for p in aligner.pairings(inside) if p.strong]
            if found:
                ledger.vars[m.group("var")] = found[0].key
                r = _Reading(found[0].key, m.end(), named=named)
                r.value = _value(text, r, ms, qs)
                r.claims = _claims(text, r, pairings, qs)
                return r
    if not pairings:
        return _Reading(None)
    key = _choose(text, pairings, qs, ledger)
    r = _Reading(key, named=named)
    r.value = _value(text, r, ms, qs)
    r.claims = _claims(text, r, pairings, qs)
    return r


def _claims(text: str, r: _Reading, pairings: list[Pairing], qs: dict[str, Quantity]) -> list[tuple[str, Number]]:
    """Counts the step states for other quantities on the way ("... has 2 Rolling Backpacks and
    10 Mesh Backpacks"): a plain number right before the content of a named quantity."""
    clean = blank_noise(text)
    nums = [n for n in numbers(text) if n != r.value and not _RELATIONAL.match(clean, n.end)]
    out = []
    for p in pairings:
        if not p.strong or p.key == r.key:
            continue
        content = [m for m in p.mentions if qs[p.key].content in (m.item, m.category)]
        out += [(p.key, n) for n in nums if any(0 <= m.start - n.end <= 2 for m in content)]
    return out


def _choose(text: str, pairings: list[Pairing], qs: dict[str, Quantity], ledger: _Ledger) -> str:
    """The quantity the others named in the step are dependencies of (ties: new, near ``=``)."""
    strong = {p.key for p in pairings if p.strong}
    eq = list(_EQ.finditer(text))
    result_at = eq[-1].end() if eq else None

    def rank(p: Pairing) -> tuple[float, bool, int, int]:
        deps = set(qs[p.key].deps)
        score = sum(1 if o in deps else -1 for o in strong if o != p.key) + (0.5 if p.strong else 0)
        near = min(abs(m.end - result_at) for m in p.mentions) if result_at is not None else 0
        return (-score, p.key in ledger.said, near, min(m.start for m in p.mentions))

    return min(pairings, key=rank).key


def _value(text: str, r: _Reading, ms: list[Mention], qs: dict[str, Quantity]) -> Number | None:
    """The number the step states for its quantity, or None."""
    clean = blank_noise(text)
    nums = [n for n in numbers(text) if n.start >= r.binding_end]
    eqs = [m.end() for m in _EQ.finditer(clean) if m.start() >= r.binding_end]
    if eqs:
        after = [n for n in nums if n.start >= eqs[-1]]
        return after[0] if after else None
    if r.key is None or not nums:
        return None
    q = qs[r.key]
    content = [m for m in ms if q.content in (m.item, m.category)]
    plain = [n for n in nums if not _RELATIONAL.match(clean, n.end)]
    attached = [n for n in plain if any(0 <= m.start - n.end <= 2 for m in content)]  # "8 Lions"
    if attached:
        return attached[-1]
    stated = [n for n in plain if _COPULA.search(clean[:n.start])]  # "... is 8"
    # Any other number ("exceeds it by 7", "plus 8") is part of a relation, not a value.
    return stated[-1] if stated else None


def _judge(index: int, text: str, r: _Reading, spec: Spec, qs: dict[str, Quantity], need: set[str],
           ledger: _Ledger) -> StepMark:
    if r.key is None:
        return StepMark(index=index, status="unchecked", reason="names no quantity of the problem")
    q = qs[r.key]
    problems = _dependency_problems(text, r, q, qs, ledger)
    own_wrong = r.value is not None and not _same(r.value.value, q.value, spec.modulo)
    notes = [f"states {_fmt(r.value.value)}, but the {q.key} is {q.value}"] if own_wrong and r.value else []
    bad_claims = [(o, n) for o, n in r.claims if not _same(n.value, qs[o].value, spec.modulo)]
    notes += [f"states {_fmt(n.value)} for the {o}, which is {qs[o].value}" for o, n in bad_claims]
    if r.key not in need and not any(o in need for o, _ in bad_claims):
        what = "; ".join(problems + notes) or "correct"
        return StepMark(index=index, status="unnecessary",
                        reason=f"defines the {q.key}, which the answer does not need ({what})")
    if problems:
        return StepMark(index=index, status="wrong", kind="wrong_dependency", reason="; ".join(problems + notes))
    if notes:
        carried = _carried(r.value.value, q, spec, ledger) if own_wrong and r.value else ""
        return StepMark(index=index, status="wrong", kind="wrong_value", reason="; ".join(notes) + carried)
    if r.value is None:
        return StepMark(index=index, status="unchecked", reason=f"names the {q.key} but states no value")
    return StepMark(index=index, status="ok", reason=f"the {q.key} is {q.value}")


def _dependency_problems(text: str, r: _Reading, q: Quantity, qs: dict[str, Quantity],
                         ledger: _Ledger) -> list[str]:
    deps = set(q.deps)
    clean = blank_noise(text)
    region = clean[r.binding_end:]
    first = _EQ.search(region)
    out: list[str] = []
    if first:
        expr = region[first.end():]
        nxt = _EQ.search(expr)
        sym = expr[:nxt.start()] if nxt else expr
        used = {ledger.vars[t] for t in _VAR.findall(expr) if t in ledger.vars} - {q.key}
        for extra in sorted(used - deps):
            out.append(f"uses the {extra}, which the {q.key} does not depend on")
        sym_used = {ledger.vars[t] for t in _VAR.findall(sym) if t in ledger.vars}
        sym_nums = [n.value for n in numbers(sym)]
        if sym_used and all(v == q.const for v in sym_nums):
            for missing in sorted(deps - sym_used):
                out.append(f"leaves out the {missing}")
    # Named and computed with: a quantity outside the definition whose value is an operand.
    claimed = {n for _, n in r.claims}
    operands = [n for n in numbers(text) if n.start >= r.binding_end and n != r.value and n not in claimed]
    explained = {qs[d].value for d in deps} | {ledger.said[d] for d in deps if d in ledger.said}
    explained.add(q.const if q.const is not None else -1)
    for other in sorted(r.named - deps - {q.key}):
        note = f"uses the {other}, which the {q.key} does not depend on"
        vals = {qs[other].value, ledger.said.get(other, qs[other].value)}
        if note not in out and any(n.value in vals and n.value not in explained for n in operands):
            out.append(note)
    return out


def _carried(stated: float, q: Quantity, spec: Spec, ledger: _Ledger) -> str:
    """Say so when the wrong value follows from wrong values stated earlier."""
    qs = spec.by_key()
    wrong_before = [d for d in q.deps if d in ledger.said and not _same(ledger.said[d], qs[d].value, spec.modulo)]
    if not wrong_before or any(ledger.said[d] != int(ledger.said[d]) for d in wrong_before):
        return ""
    xs = [int(ledger.said.get(d, qs[d].value)) for d in q.deps]
    if _same(stated, evaluate(q.op, q.const, xs, spec.modulo), spec.modulo):
        steps = ", ".join(str(ledger.where[d]) for d in wrong_before)
        return f" (carried over correctly from the wrong value in step {steps})"
    return ""


def _same(stated: float, true: int, modulo: int | None) -> bool:
    if stated != int(stated):
        return False
    return int(stated) % modulo == true % modulo if modulo else int(stated) == true


def _fmt(v: float) -> str:
    return str(int(v)) if v == int(v) else str(v)
