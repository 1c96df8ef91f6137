"""Find what a free-text solution says about people: "Zoey is a knave", "Oliver tells the
truth", "Max and Lily are both knights", "| Zoey | Knight |", "Zoey's statement is false".

Shared by the answer checker (``check``) and the step verifier (``verify``). Text is first
:func:`clean`-ed: quoted statements and markdown emphasis become spaces, so offsets still point
into the original text and nothing inside a quoted statement is read as a claim.

Example:
    >>> v = Vocab(names=["Zoey", "Oliver"])
    >>> [(m.name, m.truthful) for m in find_mentions(clean("Zoey is a knight, Oliver is lying."), v)]
    [('Zoey', True), ('Oliver', False)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from mistakelab.tasks.knights_knaves.vocab import ROLE_PAIRS, plural

#: Words for either side that do not belong to a role pair.
SYNONYMS: dict[str, bool] = {
    "truthful": True, "honest": True, "telling the truth": True, "truth-teller": True,
    "liar": False, "lying": False, "dishonest": False, "telling lies": False, "telling a lie": False,
}
_STOP = {
    "So", "Then", "Thus", "Therefore", "Hence", "If", "Since", "Because", "Both", "The", "This",
    "That", "It", "And", "But", "Or", "Now", "Case", "Assume", "Suppose", "Final", "Answer",
    "Conclusion", "Step", "Also", "All", "Each", "Every", "Everyone", "No", "Yes", "Neither",
    "Either", "Here", "There", "We", "He", "She", "They", "Who", "What", "Which", "Person",
    "Name", "Role", "Statement", "Note", "Let", "Given", "Only", "One", "Next", "Finally",
    "Summary", "Solution", "Check", "Contradiction", "Inhabitant", "Island", "Wait", "Hmm",
    "Okay", "First", "Second", "Third", "Result", "Identity", "Type", "Status", "Verdict",
    "After", "However", "Unfortunately", "Overall", "Based", "From", "Without", "With", "In", "On",
    "At", "For", "To", "As", "By", "Any", "Some", "Our", "Their", "His", "Her", "Its", "Is", "Are",
    "Was", "Were", "Not", "Nothing", "Someone", "Anyone", "Everything", "Clearly", "Indeed", "Hence",
    "Recall", "Consider", "Looking", "Checking", "Since", "Let's", "Well", "Actually", "Furthermore",
}


def _blank(m: re.Match[str]) -> str:
    return " " * len(m.group(0))


def clean(text: str) -> str:
    """Same-length copy of ``text`` with quoted speech and emphasis markers blanked out."""
    text = re.sub(r"\*\*|__|`|\*", _blank, text)
    text = re.sub(r'"[^"\n]*"|“[^”\n]*”|«[^»\n]*»', _blank, text)
    # Single quotes only count away from letters, so "Zoey's" is not a quote mark.
    text = re.sub(r"(?<![A-Za-z])'[^'\n]*?'(?![A-Za-z])|‘[^’\n]*’(?![A-Za-z])", _blank, text)
    return text


@dataclass
class Mention:
    """One claim about a person found in text. ``truthful`` is None when the role word is
    unknown; ``modal`` is ``""`` (plain), ``must``, ``would`` (hypothetical) or ``could``."""

    name: str
    start: int
    end: int
    truthful: bool | None
    role: str  # the role word as canonical singular ("knight", "truth-teller", "lying")
    kind: str = "role"  # role | truth (a statement's truth value)
    modal: str = ""
    hedge: bool = False
    reported: bool = False  # inside reported speech ("Zoey says that Oliver is a knave")
    negated: bool = False  # said as a denial ("Zoey cannot be a knave", "Oliver is not a knight")


@dataclass
class Vocab:
    """Names to look for (None: any capitalised non-stop word) and role pairs to know."""

    names: list[str] | None = None
    roles: tuple[str, str] | None = None
    extra_pairs: list[tuple[str, str]] = field(default_factory=list)

    @cached_property
    def words(self) -> dict[str, tuple[bool, str]]:
        """Lower-case role word (singular or plural) -> (truthful, canonical singular)."""
        out: dict[str, tuple[bool, str]] = {w: (v, w) for w, v in SYNONYMS.items()}
        pairs = [*ROLE_PAIRS.values(), *self.extra_pairs, *([self.roles] if self.roles else [])]
        for good, bad in pairs:
            for word, side in ((good, True), (bad, False)):
                out[word] = out[plural(word)] = (side, word)
        for w in list(out):
            if "-" in w:  # "truth-teller" is also written "truth teller" and "truthteller"
                out[w.replace("-", " ")] = out[w.replace("-", "")] = out[w]
        return out

    def opposite(self, role: str) -> str:
        """The other word of ``role``'s pair (or the opposite synonym)."""
        pairs = [*([self.roles] if self.roles else []), *self.extra_pairs, *ROLE_PAIRS.values()]
        for good, bad in pairs:
            if role in (good, bad):
                return bad if role == good else good
        return "liar" if SYNONYMS.get(role, False) else "truthful"

    @cached_property
    def role_re(self) -> str:
        alts = sorted(self.words, key=len, reverse=True)
        return "(?i:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in alts) + ")"

    #: Any capitalised word; :meth:`is_name` then keeps the real names. Using one pattern for
    #: every puzzle lets the compiled regexes be shared (compiling them costs ~50 ms).
    name_re = r"(?<![\w'])[A-Z][a-z]+(?:-[A-Z][a-z]+)?(?!\w)"

    def is_name(self, word: str) -> bool:
        return word in self.names if self.names else word not in _STOP and word.lower() not in self.words


_ADV = (r"(?:\s+(?:either|also|therefore|thus|then|indeed|definitely|certainly|clearly|actually|"
        r"really|truly|surely|both|all|still|necessarily|in\s+fact|always|now|only))*")
_COP = (r"(?P<cop>(?P<negcop>cannot|can't|can\s+not|couldn't|could\s+not|wouldn't|would\s+not|won't|mustn't|"
        r"must\s+not|isn't|wasn't|aren't|weren't)|(?P<modal>must|should|would|will|could|might|may|can|"
        r"has\s+to|have\s+to|had\s+to|needs?\s+to|ought\s+to)|(?P<plain>is|was|were|are|be|being))")
_SEP = r"(?P<sep>:|=|->|→|–|—|-|\||\()"
_DEFINITE = {"must", "should", "has", "have", "had", "need", "needs", "ought", "cannot", "can't",
             "can", "mustn't", "couldn't", "could"}


def _modal(m: re.Match[str]) -> tuple[str, bool]:
    """(modal class, negated by the copula) of a predicate match."""
    cop = " ".join((m.group("cop") or "").lower().split())
    first = cop.split(" ")[0] if cop else ""
    if m.group("negcop"):
        if first in ("wouldn't", "would", "won't"):
            return "would", True
        return ("must" if first in _DEFINITE else ""), True
    if m.group("modal"):
        if first in ("would", "will"):
            return "would", False
        if first in ("could", "might", "may", "can"):
            return "could", False
        return "must", False
    return ("would" if first in ("were", "be", "being") else ""), False


class _Patterns:
    def __init__(self, v: Vocab) -> None:
        role, name = v.role_re, v.name_re
        subj = rf"(?P<subj>{name}(?:(?:\s*,\s*(?:and\s+)?|\s+(?:and|&)\s+){name})*)"
        alt = rf"(?P<alt>\s*,?\s*(?:or|/)\s+(?:(?:an?|the)\s+)?(?P<role2>{role})(?!\w))?"
        self.pred = re.compile(
            rf"{subj}\s*(?:{_COP}{_ADV}(?P<neg1>\s+not)?(?:\s+be)?{_ADV}(?P<neg2>\s+not)?"
            rf"(?:\s+(?:an?|the|one\s+of\s+the))?\s+|\s*{_SEP}\s*(?:(?:an?|the)\s+)?)(?P<role>{role})(?!\w){alt}")
        self.verb = re.compile(
            rf"(?P<subj>{name})\s+(?:(?P<modal>always|must|would|could|might)\s+)?(?P<verb>lies|lie|tells\s+lies|"
            rf"tells?\s+the\s+truth|speaks?\s+the\s+truth|tells?\s+a\s+lie)(?!\w)")
        self.neither = re.compile(rf"(?i:neither)\s+(?P<a>{name})\s+(?i:nor)\s+(?P<b>{name})\s+"
                                  rf"(?i:is|are)\s+(?:an?\s+)?(?P<role>{role})(?!\w)")
        self.role_first = re.compile(
            rf"(?im:(?:^[\s>#\-*]*|\bthe\s+))(?P<role>{role})\s*(?::|=|\bare\b|\bis\b)\s*"
            rf"(?P<subj>{name}(?:\s*(?:,\s*and|,|and|&)\s*{name})*)")
        self.truth = re.compile(
            rf"(?P<subj>{name})'s\s+(?:own\s+|first\s+|whole\s+)?(?:statement|claim|words|assertion|sentence|remark)"
            rf"\s*,?\s*(?:{_COP}{_ADV}(?P<neg1>\s+not)?(?:\s+be)?{_ADV}(?P<neg2>\s+not)?)\s+(?:also\s+)?"
            rf"(?P<val>true|false|a\s+lie|the\s+truth|a\s+truth|truthful)(?!\w)")
        self.speaker = re.compile(
            rf"(?P<a>{name})'s\s+(?:own\s+)?(?:statement|claim|words|assertion|sentence|remark)|(?P<b>{name})\s+"
            rf"(?:says|said|claims|claimed|states|stated|asserts|asserted|tells|told|insists|declares|declared)(?!\w)"
            rf"|(?i:according\s+to)\s+(?P<c>{name})|(?i:what)\s+(?P<d>{name})\s+(?:says|said|claims|claimed|states|stated)"
            rf"|(?i:statement|claim|words|assertion)\s+of\s+(?P<e>{name})")
        # "the false claim of their own": the statement of the sentence's subject
        self.own = re.compile(r"(?i)\b(?:statement|claim|words|assertion)\s+of\s+(?:their|his|her)\s+own\b|"
                              r"\b(?:their|his|her)\s+own\s+(?:statement|claim|words|assertion)\b")
        self.reported = re.compile(
            rf"{name}\s+(?:says|said|claims|claimed|states|stated|asserts|asserted|tells\s+(?:us|you)|told\s+(?:us|you)|"
            rf"insists|declares|declared|accuses)(?:\s+that)?(?!\w)|(?i:according\s+to)\s+{name}\s*,?|"
            rf"(?i:(?:statement|claim|assertion|words)(?:\s+of\s+(?:(?:their|his|her)\s+own|{name}))?\s+"
            rf"(?:(?:is|was)\s+)?(?:that(?!\w)|:))")
        self.name = re.compile(name)


_CACHE: dict[tuple, _Patterns] = {}


def patterns(v: Vocab) -> _Patterns:
    key = (v.roles, tuple(v.extra_pairs))
    if key not in _CACHE:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = _Patterns(v)
    return _CACHE[key]


_CLAUSE_END = re.compile(r"[.;:!?\n]|,\s*(?:so|therefore|thus|hence|which|but|then|and\s+so)\b|"
                         r"\s(?:so|therefore|thus|hence|but)\s", re.I)


def reported_spans(text: str, v: Vocab) -> list[tuple[int, int]]:
    """Spans of reported speech: from "Zoey says (that)" to the end of that clause."""
    spans = []
    for m in patterns(v).reported.finditer(text):
        end = _CLAUSE_END.search(text, m.end())
        spans.append((m.end(), end.start() if end else len(text)))
    return spans


def find_mentions(text: str, v: Vocab, truth: bool = False) -> list[Mention]:
    """Claims about people in (cleaned) ``text``, in order; with ``truth``, also claims about
    whether a person's statement is true."""
    pat, words = patterns(v), v.words
    out: list[Mention] = []

    def add(name: str, start: int, end: int, role_word: str, negated: bool, modal: str = "",
            hedge: bool = False, kind: str = "role") -> None:
        if not v.is_name(name):
            return
        key = " ".join(role_word.lower().split())
        side, canon = words.get(key, (None, key))
        if negated:
            side = None if side is None else not side
            canon = v.opposite(canon)
        out.append(Mention(name, start, end, side, canon, kind, modal, hedge, negated=negated))

    for m in pat.pred.finditer(text):
        names = [x for x in pat.name.findall(m.group("subj")) if v.is_name(x)]
        role_word = m.group("role")
        is_plural = role_word.lower() != words.get(role_word.lower(), (None, role_word.lower()))[1]
        if len(names) > 1 and not is_plural:
            names = names[-1:]  # "A and B is a knave": only B is the subject
        if m.group("sep") and len(names) > 1:
            names = names[-1:]
        modal, neg = _modal(m) if m.group("cop") else ("", False)
        neg = neg ^ bool(m.group("neg1")) ^ bool(m.group("neg2"))
        side = words.get(role_word.lower(), (None,))[0]
        hedge = bool(m.group("role2")) and words.get(m.group("role2").lower(), (None,))[0] != side
        for nm in names:
            add(nm, m.start(), m.end(), role_word, neg, modal, hedge)
    for m in pat.verb.finditer(text):
        verb = m.group("verb").lower()
        modal = {"would": "would", "could": "could", "might": "could", "must": "must"}.get(m.group("modal") or "", "")
        add(m.group("subj"), m.start(), m.end(), "lying" if "lie" in verb else "truthful", False, modal)
    for m in pat.neither.finditer(text):
        # "neither A nor B is a knight" also contains "B is a knight": drop that reading.
        out = [x for x in out if not m.start() <= x.start < m.end()]
        for g in ("a", "b"):
            add(m.group(g), m.start(), m.end(), m.group("role"), True)
    for m in pat.role_first.finditer(text):
        for nm in pat.name.findall(m.group("subj")):
            add(nm, m.start(), m.end(), m.group("role"), False)
    if truth:
        for m in pat.truth.finditer(text):
            modal, neg = _modal(m)
            neg = neg ^ bool(m.group("neg1")) ^ bool(m.group("neg2"))
            val = m.group("val").lower()
            side = val in ("true", "the truth", "a truth", "truthful")
            add(m.group("subj"), m.start(), m.end(), "truthful" if side ^ neg else "lying", False, modal,
                kind="truth")
    spans = reported_spans(text, v)
    for mention in out:
        mention.reported = any(a <= mention.start < b for a, b in spans)
    out.sort(key=lambda x: (x.start, x.end))
    return _dedupe(out)


def _dedupe(ms: list[Mention]) -> list[Mention]:
    # The verb and predicate patterns can both match "Zoey is lying"; keep one per claim.
    seen, out = set(), []
    for m in ms:
        key = (m.name, m.start, m.kind)
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


def speakers(text: str, v: Vocab) -> list[str]:
    """People whose statements ``text`` refers to ("Zoey's statement", "Oliver says")."""
    found = []
    pat = patterns(v)
    for m in pat.speaker.finditer(text):
        nm = next(g for g in m.groups() if g)
        if v.is_name(nm) and nm not in found:
            found.append(nm)
    for m in pat.own.finditer(text):
        start = max([a for a, _ in sentences(text) if a <= m.start()] or [0])
        before = [nm for nm in pat.name.findall(text, start, m.start()) if v.is_name(nm)]
        if before and before[0] not in found:  # the sentence's subject: its first name
            found.append(before[0])
    return found


def names_in(text: str, v: Vocab) -> list[str]:
    """Every known name in ``text`` (generic mode: capitalised non-stop words)."""
    out = []
    for nm in patterns(v).name.findall(text):
        if v.is_name(nm) and nm not in out:
            out.append(nm)
    return out


_SENT = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (split at . ! ? and line breaks)."""
    return [(m.start(), m.end()) for m in _SENT.finditer(text) if m.group(0).strip()]
