"""Step verifier: mark each step of a knights-and-knaves solution right or wrong.

Each step's claims about people ("so Oliver is a knave", "Max tells the truth", "Zoey's
statement must be false") are judged in the context the solution has built so far:

* Outside any assumption, a claim must hold in the solution (else ``false_claim``).
* Inside an assumption ("Assume/Suppose X is ...", "Case 1: ...", or a sentence-long
  "If X is ..., then ..."), a claim is judged against what the assumption allows, not against
  the solution: with premises = the assumptions, the roles derived in the branch and the
  statements of the people the step cites, a claim is ``unsupported_claim`` when it is false
  under every assignment consistent with the premises (if the premises already contradict each
  other, every maximal consistent subset of them is tried).
* A statement's truth is judged from its speaker's role when the context fixes it.
* After a contradiction marker, a claim that negates an assumption closes that branch; it is
  accepted when the branch really is contradictory. Concluding the refuted assumption itself
  ("Contradiction ... so Zoey is a knight" under "Assume Zoey is a knight") is wrong.
* A final-answer marker ("CONCLUSION", "Final answer") leaves all assumptions.

Example:
    >>> from mistakelab.tasks.knights_knaves.generate import generate_puzzle
    >>> p = generate_puzzle(3, seed=0, index=0).to_problem()
    >>> verify_steps(p, "\\n".join(s.text for s in p.steps)).first_error
    -1
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mistakelab.core.types import Problem
from mistakelab.steps.split import split_steps
from mistakelab.steps.types import StepMark, StepVerdict
from mistakelab.tasks.knights_knaves.check import _MARKER
from mistakelab.tasks.knights_knaves.logic import (consistency_mask, evaluate, from_json, full_mask,
                                                   knight_mask, truth_table)
from mistakelab.tasks.knights_knaves.parse import (Mention, Vocab, clean, find_mentions, names_in, reported_spans,
                                                   sentences, speakers)
from mistakelab.tasks.knights_knaves.vocab import role_phrase

_ASSUME = re.compile(r"(?i)\b(?:assume|assuming|suppose|supposing|let'?s\s+say|let\s+us\s+say|"
                     r"hypothetically|case\s+\d+\s*[:.)]|consider\s+the\s+case|in\s+the\s+case)")
_IF = re.compile(r"(?i)(?<!\bonly\s)(?<!\beven\s)(?<!\bas\s)(?<!\band\s)\bif\b(?!\s+and\s+only)(?!\s+so\b)")
_WHETHER = re.compile(r"(?i)\bwhether\b|\b(?:check|see|test)\s+if\b")
# "No contradiction is found" announces none.
_CONTRA = re.compile(r"(?i)(?<!\bno\s)(?<!\bwithout\s)(?<!\bwithout\sa\s)"
                     r"(?:contradict|\bimpossible\b|inconsisten|\bnot\s+possible\b|\bparadox|\babsurd)")
# "..., so let us go back and reconsider Zoey": the search leaves Zoey's assumption (and all
# inside it) to try her other role.
_BACK = re.compile(r"(?i)\b(?:reconsider|revisit|go\s+back\s+to|back\s*track\s+to)\s+")
_REF = re.compile(r"(?i)\bassumption\s+(?:that\s+)?|\bassumed\s+(?:that\s+)?|"
                  r"\bour\s+(?:guess|hypothesis)\s+(?:that\s+)?")
# A sentence that carries on a hypothetical from the sentence before ("If A is a knight, then
# B is a knave. But then C would ...") keeps that sentence's "if" assumption open.
_CONTINUES = re.compile(r"(?i)^\W*(?:step\s+\d+\W*)?(?:(?:but|and|so)\s+)?(?:then\b|in\s+(?:that|this)\s+case|"
                        r"(?:this|that|which|it)\s+would\b)|\bwould\b")
_CONNECTOR = re.compile(
    r"(?i)(?:\bso|\btherefore|\bthus|\bhence|\bconsequently|\bmeans|\bmeaning|\bconclude)\W*(?:that\s+)?$")


@dataclass
class _Frame:
    person: int | None = None  # the assumed person (None: the root, outside assumptions)
    value: bool | None = None
    temp: bool = False  # a sentence-long "If X is ..., then ..."
    facts: dict[int, bool] = field(default_factory=dict)
    speakers: set[int] = field(default_factory=set)
    pending: bool = False  # a contradiction was announced in this branch


class StepChecker:
    """Judges claims of a solution to one puzzle, step by step (see module docstring)."""

    def __init__(self, problem: Problem) -> None:
        md = problem.metadata
        self.names: list[str] = list(md["names"])
        self.n = len(self.names)
        self.stmts = [from_json(s) for s in md["statements"]]
        self.solution = sum(1 << i for i, b in enumerate(md["solution_bits"]) if b)
        self.vocab = Vocab(names=self.names, roles=(md["roles"][0], md["roles"][1]))
        self.full = full_mask(self.n)
        self.bicond = [consistency_mask(i, s, self.n) for i, s in enumerate(self.stmts)]
        self.stack = [_Frame()]

    # -- context ----------------------------------------------------------------------
    def _role_mask(self, person: int, knight: bool) -> int:
        k = knight_mask(person, self.n)
        return k if knight else self.full ^ k

    def _known(self, person: int) -> bool | None:
        for f in reversed(self.stack):
            if f.person == person:
                return f.value
            if person in f.facts:
                return f.facts[person]
        return None

    def _facts(self, frames: list[_Frame]) -> list[int]:
        out = [self._role_mask(f.person, bool(f.value)) for f in frames if f.person is not None]
        return out + [self._role_mask(p, v) for f in frames for p, v in f.facts.items()]

    def _compatible(self, premises: list[int], claim: int) -> bool:
        """Claim holds under some assignment that satisfies a maximal consistent subset."""
        inter = self.full
        for p in premises:
            inter &= p
        if inter:
            return bool(inter & claim)
        sats = {}
        for a in range(1 << self.n):
            sats[a] = sum(1 << i for i, p in enumerate(premises) if p >> a & 1)
        values = set(sats.values())
        maximal = {s for s in values if not any(t != s and t & s == s for t in values)}
        return any(claim >> a & 1 for a, s in sats.items() if s in maximal)

    def _consistent(self, premises: list[int]) -> bool:
        inter = self.full
        for p in premises:
            inter &= p
        return inter != 0

    @property
    def _in_assumption(self) -> bool:
        return len(self.stack) > 1

    def _push(self, person: int, value: bool, temp: bool) -> None:
        for i, f in enumerate(self.stack):
            if i and f.person == person and not f.temp:  # "Case 2" replaces "Case 1"
                del self.stack[i:]
                break
        self.stack.append(_Frame(person, value, temp))

    # -- claims -----------------------------------------------------------------------
    def claim(self, m: Mention, cited: set[int], before: str) -> tuple[bool, str, str]:
        """Judge one mention; returns (ok, kind, reason) and updates the context."""
        p = self.names.index(m.name)
        want = bool(m.truthful)
        if m.kind == "truth":
            return self._truth_claim(p, want, m.modal)
        # Does this claim close a branch after a contradiction?
        if any(f.pending for f in self.stack):
            for i, f in enumerate(self.stack):
                if i and not f.temp and f.person == p:
                    if want != f.value:
                        return self._exit(i, p, want)
                    if _CONNECTOR.search(before):
                        del self.stack[i:]
                        if not self._in_assumption:
                            return self._at_root(p, want)
                        return False, "unsupported_claim", (
                            f"the contradiction refutes the assumption that {m.name} is {role_phrase(m.role)}")
        if not self._in_assumption:
            return self._at_root(p, want)
        premises = self._facts(self.stack) + [self.bicond[s] for s in sorted(cited)]
        if self._compatible(premises, self._role_mask(p, want)):
            self.stack[-1].facts[p] = want
            return True, "", ""
        if m.negated and not self._consistent(premises + [self._role_mask(p, not want)]):
            # "X cannot be a knave": a denial that holds because that role contradicts the
            # branch, even when the other role fails too (the search backtracks next).
            return True, "", ""
        return False, "unsupported_claim", f"'{m.name} is {role_phrase(m.role)}' does not follow in this branch"

    def _at_root(self, p: int, want: bool) -> tuple[bool, str, str]:
        truth = bool(self.solution >> p & 1)
        if truth == want:
            self.stack[0].facts[p] = want
            return True, "", ""
        return False, "false_claim", f"{self.names[p]} is not {role_phrase(self.vocab.roles[not want])}"

    def _truth_claim(self, p: int, value: bool, modal: str) -> tuple[bool, str, str]:
        said = "true" if value else "false"
        if not self._in_assumption:
            ok = evaluate(self.stmts[p], self.solution) == value
            return ok, "" if ok else "false_claim", "" if ok else f"{self.names[p]}'s statement is not {said}"
        role = self._known(p)
        # "must be true" follows from the speaker's role; a plain "is true" may mean that or
        # the value the statement takes given the people it is about, so either is accepted.
        if role is not None and (role == value or modal == "must"):
            ok = role == value
            return ok, "" if ok else "unsupported_claim", "" if ok else (
                f"{self.names[p]} is {role_phrase(self.vocab.roles[not role])} here, so the statement is not {said}")
        table = truth_table(self.stmts[p], self.n)
        ok = self._compatible(self._facts(self.stack), table if value else self.full ^ table)
        return ok, "" if ok else "unsupported_claim", "" if ok else f"{self.names[p]}'s statement cannot be {said} here"

    def _exit(self, i: int, p: int, want: bool) -> tuple[bool, str, str]:
        branch = self.stack[i:]
        premises = self._facts(self.stack) + [self.bicond[s] for f in branch for s in sorted(f.speakers)]
        contradictory = not self._consistent(premises)
        del self.stack[i:]
        if not self._in_assumption:
            return self._at_root(p, want)
        if contradictory:
            self.stack[-1].facts[p] = want
            return True, "", ""
        refuted = role_phrase(self.vocab.roles[0 if not want else 1])
        return False, "unsupported_claim", f"assuming {self.names[p]} is {refuted} leads to no contradiction"

    def _leave(self, names: list[str]) -> None:
        """Close the assumption about the first of ``names`` and every one inside it."""
        for name in names:
            p = self.names.index(name)
            for i, f in enumerate(self.stack):
                if i and not f.temp and f.person == p:
                    del self.stack[i:]
                    return

    # -- text -------------------------------------------------------------------------
    def step(self, text: str) -> tuple[bool, str, str]:
        """Judge one step; returns (ok, kind, reason) of its first wrong claim."""
        c = clean(text)
        cited = {self.names.index(n) for n in (speakers(c, self.vocab) or names_in(c, self.vocab))}
        verdict = (True, "", "")
        for a, b in sentences(c):
            res = self._sentence(c[a:b], cited)
            if verdict[0] and not res[0]:
                verdict = res
            for f in self.stack[1:]:
                f.speakers |= cited
        return verdict

    def _sentence(self, s: str, cited: set[int]) -> tuple[bool, str, str]:
        if _MARKER.search(s):
            del self.stack[1:]
        elif not _CONTINUES.search(s):
            while len(self.stack) > 1 and self.stack[-1].temp:
                self.stack.pop()
        for back in _BACK.finditer(s):
            self._leave(names_in(s[back.end():], self.vocab)[:1])
        # "their claim that if Zoey is a knight then ..." quotes a statement: no assumption
        quoted = reported_spans(s, self.vocab)
        events: list[tuple[int, int, str, object]] = []
        for rx, kind in ((_ASSUME, "assume"), (_IF, "if"), (_WHETHER, "skip"), (_CONTRA, "contra"), (_REF, "ref")):
            events += [(m.start(), m.end(), kind, None) for m in rx.finditer(s)
                       if not any(a <= m.start() < b for a, b in quoted)]
        events += [(m.start, m.end, "mention", m) for m in find_mentions(s, self.vocab, truth=True) if not m.reported]
        events.sort(key=lambda e: (e[0], e[2] == "mention"))
        verdict, mode, last_end = (True, "", ""), None, 0
        n_mentions = sum(1 for e in events if e[2] == "mention")
        seen = 0
        for start, end, kind, obj in events:
            if kind == "contra":
                frames = [f for f in self.stack[1:] if not f.temp]
                if frames:
                    frames[-1].pending = True
            elif kind in ("assume", "if", "skip", "ref"):
                mode = kind
            else:
                m: Mention = obj  # type: ignore[assignment]
                seen += 1
                if m.truthful is None:
                    continue
                p = self.names.index(m.name)
                if mode in ("assume", "if"):
                    temp = mode == "if" and seen < n_mentions  # a bare "If X is a knight:" opens a case
                    self._push(p, bool(m.truthful), temp)
                    mode = None
                    continue
                if mode == "ref":  # "... contradicts our assumption that X is a knight"
                    mode = None
                    for i, f in enumerate(self.stack):
                        if i and not f.temp and f.person == p and f.pending:
                            del self.stack[i:]
                            break
                    continue
                if mode == "skip":
                    mode = None
                    continue
                if m.modal == "could" or (m.modal == "would" and not self._in_assumption):
                    continue
                res = self.claim(m, cited, s[last_end:start])
                last_end = end
                if verdict[0] and not res[0]:
                    verdict = res
        return verdict


def verify_steps(problem: Problem, text: str, final_correct: bool | None = None) -> StepVerdict:
    """Split ``text`` into steps and mark each (``ok`` / ``wrong`` with a kind and reason)."""
    steps = split_steps(text)
    checker = StepChecker(problem)
    marks = []
    for st in steps:
        ok, kind, reason = checker.step(st.text)
        marks.append(StepMark(index=st.index, status="ok" if ok else "wrong", kind=kind or None, reason=reason))
    return StepVerdict.from_marks(steps, marks, final_correct=final_correct)
