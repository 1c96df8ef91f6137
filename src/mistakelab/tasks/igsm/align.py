"""Align free-text solution steps to the quantities of an iGSM problem.

* :func:`split_solution` cuts a solution into steps: lines, then sentences within a line.
* :class:`Aligner` finds mentions of items and categories (any case, singular or plural,
  possessive, or a capitalised short alias such as ``Savanna`` for ``Savanna Enclosure``) and
  pairs neighbouring mentions into quantities: an item with one of its child items is an
  instance quantity, an item with a lower category is an abstract one. A mention left over
  ("... 3 more Lions than Zebras") pairs with the nearest earlier mention it fits.
* :func:`numbers` finds the numbers of a step, ignoring list markers and ``(mod p)``.

Example:
    >>> [s.text for s in split_solution("1. Each Zoo has 3 pens. So 2 more.\\nThe answer is 5.")]
    ['1. Each Zoo has 3 pens.', 'So 2 more.', 'The answer is 5.']
    >>> [(n.value, text[n.start:n.end]) for text in ["Step 2: p = 3 + 5 = 8 (mod 23)"] for n in numbers(text)]
    [(3, '3'), (5, '5'), (8, '8')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mistakelab.steps.types import Step
from mistakelab.tasks.igsm.model import Spec

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z\\(\[*])")
_LIST_MARKER = re.compile(r"^\s*(?:\*\*)?(?:step\s*\d+\s*[:.)\-]?|\d+\s*[.)]|[-*\u2022]|#+)(?:\*\*)?\s*", re.I)
_MOD_PHRASE = re.compile(r"\(?\s*(?:\\pmod\s*\{?\s*\d+\s*\}?|\b(?:mod|modulo)\s+\d+)\s*\)?", re.I)
_NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_ALIAS_MIN_LEN = 4  # shorter aliases ("Top", "Old", "Red") are ordinary words too often


def split_solution(text: str) -> list[Step]:
    """Steps of a solution with their character spans: lines, then sentences.

    A sentence break needs end punctuation, whitespace and an upper-case letter (or a LaTeX
    or bracket start) after it, so numbers like ``3.5`` and list markers stay whole.
    """
    steps: list[Step] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        cuts = [0] + [m.end() for m in _SENTENCE_BREAK.finditer(line)] + [len(line)]
        pieces = []
        for a, b in zip(cuts, cuts[1:], strict=False):
            if pieces and _LIST_MARKER.fullmatch(line[pieces[-1][0]:pieces[-1][1]]):
                pieces[-1] = (pieces[-1][0], b)  # "1." alone is a marker, not a step
            else:
                pieces.append((a, b))
        for a, b in pieces:
            chunk = line[a:b]
            stripped = chunk.strip()
            if stripped:
                start = pos + a + chunk.index(stripped)
                steps.append(Step(index=len(steps), text=stripped, start=start, end=start + len(stripped)))
        pos += len(line)
    return steps


@dataclass(frozen=True)
class Number:
    value: float
    start: int
    end: int


def blank_noise(text: str) -> str:
    """``text`` with list markers and ``(mod p)`` phrases blanked out (same length)."""
    out = _LIST_MARKER.sub(lambda m: " " * len(m.group()), text, count=1)
    return _MOD_PHRASE.sub(lambda m: " " * len(m.group()), out)


def numbers(text: str) -> list[Number]:
    """Numbers in a step (``1,234`` is one number; a minus sign counts only when detached)."""
    clean = blank_noise(text)
    out = []
    for m in _NUMBER.finditer(clean):
        start = m.start()
        if start > 0 and (clean[start - 1].isalnum() or clean[start - 1] in "_."):
            continue  # part of a name such as "b1" or of a decimal
        tok = m.group()
        if tok.startswith("-") and start > 0 and (clean[start - 1].isalnum() or clean[start - 1] == ")"):
            tok, start = tok[1:], start + 1  # "5-3": a subtraction, not a negative number
        end = m.end()
        if end < len(clean) and (clean[end].isalpha() or clean[end] == "_"):
            continue
        raw = tok.replace(",", "")
        out.append(Number(float(raw) if "." in raw else int(raw), start, end))
    return out


@dataclass(frozen=True)
class Mention:
    """An item (``item`` set) or category (``category`` set) named at ``text[start:end]``."""

    start: int
    end: int
    layer: int
    item: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class Pairing:
    """A quantity found in a step: its key and the mentions that named it."""

    key: str
    mentions: tuple[Mention, Mention]
    strong: bool  # neighbours or an elliptical leftover, not just any two mentions


class Aligner:
    """Mentions and quantity pairings for one problem."""

    def __init__(self, spec: Spec) -> None:
        self.layer = {it.name: it.layer for it in spec.items}
        self.cat_layer = {c.name: k for k, c in enumerate(spec.categories)}
        self.by_pair = {(q.container, q.content): q.key for q in spec.quantities}
        forms: dict[str, Mention] = {}
        exact: dict[str, Mention] = {}
        words: dict[str, int] = {}
        for it in spec.items:
            for w in it.name.lower().split():
                words[w] = words.get(w, 0) + 1
        for it in spec.items:
            m = Mention(0, 0, it.layer, item=it.name)
            forms[it.name.lower()] = forms[it.plural.lower()] = m
        for k, c in enumerate(spec.categories):
            if k > 0:  # the top category is never counted, so it is never a mention
                m = Mention(0, 0, k, category=c.name)
                forms.setdefault(c.name.lower(), m)
                forms.setdefault(c.plural.lower(), m)
        for it in spec.items:
            alias = it.name.rsplit(" ", 1)[0] if " " in it.name else ""
            if (len(alias) >= _ALIAS_MIN_LEN and alias.lower() not in forms
                    and all(words.get(w, 0) == 1 for w in alias.lower().split())):
                exact[alias] = Mention(0, 0, it.layer, item=it.name)
        self._forms, self._exact = forms, exact
        alts = sorted(forms, key=len, reverse=True)
        body = "|".join(r"\s+".join(map(re.escape, f.split())) for f in alts)
        self._re = re.compile(rf"(?<![A-Za-z0-9])(?:{body})(?![A-Za-z0-9])", re.I)
        aliases = "|".join(map(re.escape, sorted(exact, key=len, reverse=True)))
        # Aliases are case-sensitive: lower-case "savanna" is more often an ordinary word.
        self._alias_re = re.compile(rf"(?<![A-Za-z0-9])(?:{aliases})(?![A-Za-z0-9])") if exact else None

    def mentions(self, text: str) -> list[Mention]:
        """Mentions in order; full names win over aliases where they overlap."""
        found = []
        taken = [False] * (len(text) + 1)
        for m in self._re.finditer(text):
            tpl = self._forms[" ".join(m.group().lower().split())]
            found.append(Mention(m.start(), m.end(), tpl.layer, tpl.item, tpl.category))
            for i in range(m.start(), m.end()):
                taken[i] = True
        if self._alias_re:
            for m in self._alias_re.finditer(text):
                if not any(taken[m.start():m.end()]):
                    tpl = self._exact[m.group()]
                    found.append(Mention(m.start(), m.end(), tpl.layer, tpl.item, tpl.category))
        return sorted(found, key=lambda m: m.start)

    def pair(self, a: Mention, b: Mention) -> str | None:
        """The quantity two mentions name together, in either order, if the problem has it."""
        top, low = (a, b) if a.layer <= b.layer else (b, a)
        if top.item is None or top.layer == low.layer:
            return None
        if low.item is not None:
            return self.by_pair.get((top.item, low.item)) if low.layer == top.layer + 1 else None
        return self.by_pair.get((top.item, low.category))

    def pairings(self, ms: list[Mention]) -> list[Pairing]:
        """Strong pairings (neighbours left to right, then leftovers), then all other pairs."""
        out: list[Pairing] = []
        used = [False] * len(ms)
        i = 0
        while i < len(ms) - 1:
            key = self.pair(ms[i], ms[i + 1])
            if key:
                out.append(Pairing(key, (ms[i], ms[i + 1]), True))
                used[i] = used[i + 1] = True
                i += 2
            else:
                i += 1
        for i, m in enumerate(ms):
            if used[i]:
                continue
            for h in [*range(i - 1, -1, -1), *range(i + 1, len(ms))]:  # nearest earlier, then later
                key = self.pair(ms[h], m)
                if key:
                    out.append(Pairing(key, (ms[h], m), True))
                    break
        seen = {p.key for p in out}
        for i in range(len(ms)):
            for j in range(i + 1, len(ms)):
                key = self.pair(ms[i], ms[j])
                if key and key not in seen:
                    seen.add(key)
                    out.append(Pairing(key, (ms[i], ms[j]), False))
        return out
