"""Gold step-by-step solutions by backtracking with propagation.

The solver assumes the first undecided person is a knight, then repeatedly applies one
statement at a time: a statement that cannot hold refutes the innermost assumption (that
person is then a knave), a statement that fixes someone's role adds that role. When everyone
is decided, each statement not yet used is checked, and a CONCLUSION line gives the answer.

Every step carries at least one checkable claim (a person's role or a statement's truth), with
its character span, so errors can be injected into any step (see ``inject``).

Example:
    >>> stmts = [("knight", 1), ("and", ("knave", 0), ("knight", 1))]
    >>> answer, steps = solve(["Zoey", "Oliver"], stmts, ("knight", "knave"), "s")
    >>> answer  # no bit set: both are knaves
    0
    >>> for s in steps: print(s.text)
    Assume Zoey is a knight. Then Zoey's statement "Oliver is a knight" must be true, so Oliver is a knight.
    Contradiction: since Oliver is a knight, Oliver's statement "Zoey is a knave and I am a knight" must be true, but given that Zoey is a knight, it is false. So Zoey is a knave.
    Since Zoey is a knave, Zoey's statement "Oliver is a knight" must be false, so Oliver is a knave.
    Check: given that Zoey is a knave, Oliver's statement "Zoey is a knave and I am a knight" is false, as it should be since Oliver is a knave.
    CONCLUSION: (1) Zoey is a knave (2) Oliver is a knave
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product
from typing import Any, Sequence

from mistakelab.tasks.knights_knaves.logic import Stmt, consistency_mask, evaluate, people
from mistakelab.tasks.knights_knaves.render import conclusion_line, render_statement
from mistakelab.tasks.knights_knaves.vocab import role_phrase


@dataclass
class GoldStep:
    """One step of a gold solution. ``claims`` hold spans ``text[start:end]`` and the text that
    flips each claim; ``primary`` marks the claim the step is about."""

    text: str
    kind: str  # assume | derive | contradiction | check | conclusion
    claims: list[dict[str, Any]] = field(default_factory=list)

    def to_value(self) -> dict[str, Any]:
        return {"kind": self.kind, "claims": self.claims}


class _Builder:
    """Builds a step's text while recording where each claim sits."""

    def __init__(self, names: Sequence[str], roles: tuple[str, str]) -> None:
        self.names, self.roles = names, roles
        self.text = ""
        self.claims: list[dict[str, Any]] = []

    def add(self, s: str) -> "_Builder":
        self.text += s
        return self

    def role(self, person: int, knight: bool, primary: bool = False) -> "_Builder":
        self.text += f"{self.names[person]} is "
        phrase, other = role_phrase(self.roles[not knight]), role_phrase(self.roles[knight])
        self.claims.append({"type": "role", "person": person, "value": knight, "primary": primary,
                            "start": len(self.text), "end": len(self.text) + len(phrase), "flip": other})
        self.text += phrase
        return self

    def roles_list(self, facts: dict[int, bool], primary: bool = False) -> "_Builder":
        items = sorted(facts.items())
        for k, (p, v) in enumerate(items):
            if k:
                self.add(" and " if k == len(items) - 1 else ", ")
            self.role(p, v, primary)
        return self

    def truth(self, speaker: int, value: bool, primary: bool = False) -> "_Builder":
        word, other = ("true", "false") if value else ("false", "true")
        self.claims.append({"type": "truth", "person": speaker, "value": value, "primary": primary,
                            "start": len(self.text), "end": len(self.text) + len(word), "flip": other})
        self.text += word
        return self

    def step(self, kind: str) -> GoldStep:
        return GoldStep(self.text, kind, self.claims)


def solve(names: Sequence[str], statements: Sequence[Stmt], roles: tuple[str, str],
          render_seed: str) -> tuple[int, list[GoldStep]]:
    """The solution (assignment bits) and the gold steps that find it."""
    return _Solver(names, statements, roles, render_seed).run()


class _Solver:
    def __init__(self, names: Sequence[str], statements: Sequence[Stmt], roles: tuple[str, str],
                 render_seed: str) -> None:
        self.names, self.stmts, self.roles = list(names), list(statements), roles
        self.n = len(names)
        self.quotes = [render_statement(s, i, names, roles, render_seed) for i, s in enumerate(statements)]
        self.refs = [sorted(people(s)) for s in statements]
        self.masks = [consistency_mask(i, s, self.n) for i, s in enumerate(statements)]
        self.steps: list[GoldStep] = []

    # -- logic on a partial assignment ----------------------------------------------------
    def _completions(self, speaker: int, assign: dict[int, bool]) -> tuple[list[int], list[dict[int, bool]]]:
        """Undecided people the speaker's consistency depends on, and the consistent fillings."""
        free = [p for p in sorted(set(self.refs[speaker]) | {speaker}) if p not in assign]
        base = sum(1 << p for p, v in assign.items() if v)
        good = []
        for vals in product((True, False), repeat=len(free)):
            a = base + sum(1 << p for p, v in zip(free, vals) if v)
            if self.masks[speaker] >> a & 1:
                good.append(dict(zip(free, vals)))
        return free, good

    def _value(self, speaker: int, assign: dict[int, bool]) -> bool | None:
        """Truth of the speaker's statement when the decided people fix it, else None."""
        free = [p for p in self.refs[speaker] if p not in assign]
        base = sum(1 << p for p, v in assign.items() if v)
        vals = {evaluate(self.stmts[speaker], base + sum(1 << p for p, v in zip(free, bits) if v))
                for bits in product((True, False), repeat=len(free))}
        return vals.pop() if len(vals) == 1 else None

    def _known(self, speaker: int, assign: dict[int, bool]) -> dict[int, bool]:
        return {p: assign[p] for p in self.refs[speaker] if p in assign and p != speaker}

    def _order(self, recent: list[int]) -> list[int]:
        # The statements of people decided last come first: the solution reads as a chain.
        seen: list[int] = []
        for p in [*reversed(recent), *range(self.n)]:
            if p not in seen:
                seen.append(p)
        return seen

    # -- the search -----------------------------------------------------------------------
    def run(self) -> tuple[int, list[GoldStep]]:
        assign: dict[int, bool] = {}
        stack: list[tuple[int, dict[int, bool], set[int], list[int]]] = []
        used: set[int] = set()
        recent: list[int] = []
        for _ in range(10_000):
            order = self._order(recent)
            bad = next((s for s in order if not self._completions(s, assign)[1]), None)
            if bad is not None:
                if not stack:
                    raise RuntimeError("the statements have no consistent assignment")
                person, saved, saved_used, saved_recent = stack.pop()
                self._contradiction(bad, person, assign)
                assign, used, recent = dict(saved), saved_used, [*saved_recent, person]
                assign[person] = False
                continue
            forced = None
            for s in order:
                free, good = self._completions(s, assign)
                fixed = {p: good[0][p] for p in free if all(g[p] == good[0][p] for g in good)}
                if fixed:
                    forced = (s, fixed)
                    break
            if forced:
                self._derive(forced[0], forced[1], assign)
                assign.update(forced[1])
                used.add(forced[0])
                recent += sorted(forced[1])
                continue
            if len(assign) == self.n:
                break
            person = next(p for p in range(self.n) if p not in assign)
            stack.append((person, dict(assign), set(used), list(recent)))
            assign[person] = True
            recent.append(person)
            self._assume(person)
        else:  # pragma: no cover - the search is finite; this guards against a logic bug
            raise RuntimeError("backtracking did not finish")
        for s in range(self.n):
            if s not in used:
                self._check(s, assign)
        answer = sum(1 << p for p, v in assign.items() if v)
        b = _Builder(self.names, self.roles).add("CONCLUSION:")
        for i in range(self.n):
            b.add(f" ({i + 1}) ").role(i, assign[i], primary=True)
        assert b.text == conclusion_line(self.names, answer, self.roles)
        self.steps.append(b.step("conclusion"))
        return answer, self.steps

    # -- step texts -----------------------------------------------------------------------
    def _quote(self, s: int) -> str:
        return f"{self.names[s]}'s statement \"{self.quotes[s]}\""

    def _assume(self, person: int) -> None:
        b = _Builder(self.names, self.roles)
        b.add(f"Assume {self.names[person]} is {role_phrase(self.roles[0])}. Then {self._quote(person)} must be ")
        b.truth(person, True, primary=True).add(".")
        self.steps.append(b.step("assume"))

    def _given(self, b: _Builder, facts: dict[int, bool], lead: str = "Given that ") -> None:
        if facts:
            b.add(lead).roles_list(facts).add(", ")

    def _derive(self, s: int, fixed: dict[int, bool], assign: dict[int, bool]) -> None:
        last = self.steps[-1] if self.steps else None
        if s in assign and last and last.kind == "assume" and last.claims[0]["person"] == s:
            # The assumed person's own statement: finish the assumption step with it.
            for c in last.claims:
                c["primary"] = False
            b = _Builder(self.names, self.roles)
            b.text, b.claims = last.text[:-1] + ", so ", last.claims
            b.roles_list(fixed, primary=True).add(".")
            self.steps[-1] = b.step("assume")
            return
        b = _Builder(self.names, self.roles)
        if s in assign:
            b.add("Since ").role(s, assign[s]).add(f", {self._quote(s)} must be ").truth(s, assign[s])
        elif (value := self._value(s, assign)) is not None:
            self._given(b, self._known(s, assign))
            b.add(self._quote(s) + " is ").truth(s, value)
            if not self._known(s, assign):
                b.add(" whatever anyone's role")
        else:
            b.add(f"Trying both roles for {self.names[s]}")
            if self._known(s, assign):
                b.add(" and given that ").roles_list(self._known(s, assign))
            b.add(f", {self._quote(s)} can hold as required in only one way")
        b.add(", so ").roles_list(fixed, primary=True).add(".")
        self.steps.append(b.step("derive"))

    def _contradiction(self, s: int, person: int, assign: dict[int, bool]) -> None:
        b = _Builder(self.names, self.roles).add("Contradiction: ")
        known = self._known(s, assign)
        if s in assign:
            want = assign[s]
            b.add("since ").role(s, want).add(f", {self._quote(s)} must be ").truth(s, want).add(", but ")
            self._given(b, known, "given that ")
            got = self._value(s, assign)
            b.add("it is false" if got is False else "it is true" if got is True
                  else f"it cannot be {'true' if want else 'false'}")
        else:
            self._given(b, known, "given that ")
            b.add(self._quote(s) + f" fits neither role for {self.names[s]}")
        b.add(". So ").role(person, False, primary=True).add(".")
        self.steps.append(b.step("contradiction"))

    def _check(self, s: int, assign: dict[int, bool]) -> None:
        b = _Builder(self.names, self.roles).add("Check: ")
        self._given(b, self._known(s, assign), "given that ")
        b.add(self._quote(s) + " is ").truth(s, assign[s], primary=True)
        b.add(", as it should be since ").role(s, assign[s]).add(".")
        self.steps.append(b.step("check"))
