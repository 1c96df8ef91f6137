"""Natural-language rendering of an iGSM spec: statements, hints and the question.

Every relation type has several phrasings, and quantities are referred to in several ways, so
problems from one world do not all read alike. Statement order comes from the spec (shuffled
by the generator).

Example:
    >>> import random
    >>> from mistakelab.tasks.igsm.graph import GenConfig, generate
    >>> spec = generate(random.Random("0-0"), GenConfig())
    >>> text = render_question(spec, random.Random("0-0-text"))
    >>> text.rstrip().endswith(("?", "."))
    True
"""

from __future__ import annotations

import random
from collections.abc import Callable

from mistakelab.tasks.igsm.model import Quantity, Spec

_MULT_WORDS = {2: "twice", 3: "three times", 4: "four times"}


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _join(xs: list[str]) -> str:
    return xs[0] if len(xs) == 1 else ", ".join(xs[:-1]) + " and " + xs[-1]


class _Phrases:
    """Ways to name one quantity, drawn afresh on every use."""

    def __init__(self, spec: Spec, rng: random.Random) -> None:
        self.rng = rng
        self.mod = spec.modulo
        self.qs = spec.by_key()
        self.plural = {it.name: it.plural for it in spec.items}
        self.cat_plural = {c.name: c.plural for c in spec.categories}

    def ref(self, q: Quantity) -> str:
        """A noun phrase for the quantity ("the number of Lions in each Savanna Enclosure")."""
        a = q.container
        if q.kind == "instance":
            b = self.plural[q.content]
            forms = [f"the number of {b} in each {a}", f"the number of {b} per {a}",
                     f"each {a}'s number of {b}"]
        else:
            c = self.cat_plural[q.content]
            forms = [f"the total number of {c} in each {a}", f"each {a}'s total number of {c}",
                     f"the number of {c} that each {a} has in total"]
        return self.rng.choice(forms)

    def than(self, q: Quantity) -> str:
        """A clause for comparisons ("... more Lions than each Bear Den has Otters")."""
        a = q.container
        if q.kind == "instance":
            b = self.plural[q.content]
            return self.rng.choice([f"each {a} has {b}", f"there are {b} in each {a}"])
        c = self.cat_plural[q.content]
        return self.rng.choice([f"each {a} has {c} in total", f"there are {c} in each {a} in total"])


def _statement(q: Quantity, p: _Phrases) -> str:
    rng = p.rng
    a, bp = q.container, p.plural[q.content]
    s = p.ref(q)
    c = q.const
    deps = [p.qs[d] for d in q.deps]
    x = p.ref(deps[0]) if deps else ""
    forms: list[Callable[[], str]]
    if q.op == "const":
        b = q.content if c == 1 else bp
        verb = "is" if c == 1 else "are"
        forms = [lambda: f"Each {a} has {c} {b}.", lambda: f"There {verb} {c} {b} in each {a}.",
                 lambda: f"{_cap(s)} is {c}.", lambda: f"Every {a} contains {c} {b}."]
    elif q.op == "more":
        forms = [lambda: f"{_cap(s)} is {c} more than {x}.",
                 lambda: f"Each {a} has {c} more {bp} than {p.than(deps[0])}.",
                 lambda: f"{_cap(s)} equals {x} plus {c}.", lambda: f"{_cap(s)} exceeds {x} by {c}."]
    elif q.op == "fewer":
        forms = [lambda: f"{_cap(s)} is {c} less than {x}.",
                 lambda: f"Each {a} has {c} fewer {bp} than {p.than(deps[0])}.",
                 lambda: f"{_cap(s)} equals {x} minus {c}.", lambda: f"{_cap(s)} is {x} reduced by {c}."]
    elif q.op == "times":
        forms = [lambda: f"{_cap(s)} is {c} times {x}.",
                 lambda: f"Each {a} has {c} times as many {bp} as {p.than(deps[0])}.",
                 lambda: f"{_cap(s)} equals {x} multiplied by {c}."]
        if c in _MULT_WORDS:
            forms.append(lambda: f"{_cap(s)} is {_MULT_WORDS[c]} {x}.")
    elif q.op == "sum":
        refs = [p.ref(d) for d in deps]
        forms = [lambda: f"{_cap(s)} equals the sum of {_join(refs)}.",
                 lambda: f"{_cap(s)} is the total of {_join(refs)}.",
                 lambda: f"Each {a} has as many {bp} as {_join(refs)} combined.",
                 lambda: f"{_cap(s)} is {' plus '.join(refs)}."]
    elif q.op == "diff":
        y = p.ref(deps[1])
        forms = [lambda: f"{_cap(s)} equals {x} minus {y}.",
                 lambda: f"{_cap(s)} is the result of subtracting {y} from {x}.",
                 lambda: f"{_cap(s)} is the difference of {x} and {y} (the first minus the second)."]
        if not p.mod:  # "exceeds" only reads right without wrap-around
            forms.append(lambda: f"{_cap(s)} equals the amount by which {x} exceeds {y}.")
    elif q.op == "prod":
        y = p.ref(deps[1])
        forms = [lambda: f"{_cap(s)} equals the product of {x} and {y}.",
                 lambda: f"{_cap(s)} is {x} times {y}.", lambda: f"{_cap(s)} equals {x} multiplied by {y}."]
    else:
        raise ValueError(f"statements define instance quantities only, not {q.op!r}")
    return rng.choice(forms)()


def _question(q: Quantity, p: _Phrases) -> str:
    a = q.container
    if q.kind == "instance":
        b = p.plural[q.content]
        forms = [f"How many {b} does each {a} have?", f"What is the number of {b} in each {a}?",
                 f"Find the number of {b} per {a}."]
    else:
        c = p.cat_plural[q.content]
        forms = [f"How many {c} does each {a} have in total?",
                 f"What is the total number of {c} in each {a}?",
                 f"Find the total number of {c} in each {a}."]
    return p.rng.choice(forms)


def _hint(spec: Spec, rng: random.Random) -> str:
    """How totals aggregate over layers (needed to read "total number of ..." right)."""
    cats = spec.categories
    if len(cats) >= 3:
        k = rng.randrange(len(cats) - 2)
        top, mid, low = cats[k], cats[k + 1], cats[k + 2]
        return (f"A total counts everything inside, level by level: the {low.plural} in a "
                f"{top.name} are all the {low.plural} in all of its {mid.plural}.")
    return (f"A total counts all kinds together: the total number of {cats[1].plural} in a "
            f"{cats[0].name} adds up the counts of every kind of {cats[1].name} it has.")


def render_question(spec: Spec, rng: random.Random) -> str:
    """The problem text: statements in spec order, notes, then the question."""
    p = _Phrases(spec, rng)
    qs = spec.by_key()
    body = " ".join(_statement(qs[k], p) for k in spec.stated)
    notes = []
    if spec.modulo:
        notes.append(f"All arithmetic in this problem is done modulo {spec.modulo}, so every "
                     f"number is between 0 and {spec.modulo - 1}.")
    uses_total = qs[spec.question].kind == "abstract" or any(
        qs[d].kind == "abstract" for k in spec.stated for d in qs[k].deps)
    if uses_total:
        notes.append(_hint(spec, rng))
    notes.append(rng.choice(["Anything not mentioned does not exist.",
                             "Only the things mentioned exist; count nothing else.",
                             "Assume there is nothing besides what is stated."]))
    question = _question(qs[spec.question], p)
    if spec.modulo:
        question += f" Give the answer modulo {spec.modulo}."
    return f"{body}\n\n{' '.join(notes)}\n\n{question}"
