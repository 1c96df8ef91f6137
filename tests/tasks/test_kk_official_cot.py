"""The step verifier on chain-of-thought in the style of the official Knights & Knaves
generator of the memorization study (Xie et al. 2024, github.com/AlphaPav/mem-kk-logic,
``lib_kk.generate_chain_of_thoughts`` / ``format_chain_of_thoughts``).

That generator solves by backtracking: it proposes a role for one person at a time (knight
first), keeps it when every assigned person's statement can still hold, otherwise writes "X
cannot be R, because this would contradict the [false] claim of Y", and when both roles of a
person fail, "We have exhausted all possibilities for X, so let us go back and reconsider Y".
Every such solution is valid, so the verifier must flag none of its steps. The search below is
written from that description for our puzzles (our statements, names and role words).
"""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from mistakelab.tasks.knights_knaves import generate_puzzle, verify_steps
from mistakelab.tasks.knights_knaves.logic import evaluate
from mistakelab.tasks.knights_knaves.vocab import role_phrase

HEADER = ("Let's think step by step, by considering whether each person is lying and if that leads "
          "to contradiction.")
FOOTER = "This leads to a feasible solution."
ROLES = [None, "angel/devil", "sage/fool", "hero/villain"]


def _can_hold(stmt, truthful: bool, assign: list[bool | None]) -> bool:
    """Whether the speaker's statement can take the value its role needs, the unassigned
    people free."""
    free = [p for p, v in enumerate(assign) if v is None]
    base = sum(1 << p for p, v in enumerate(assign) if v)
    return any(evaluate(stmt, base + sum(1 << p for p, b in zip(free, bits) if b)) == truthful
               for bits in itertools.product((True, False), repeat=len(free)))


def _mentioned(stmt) -> list[int]:
    return [stmt[1]] if stmt[0] in ("knight", "knave") else [q for c in stmt[1:] for q in _mentioned(c)]


def official_tape(stmts) -> list[tuple]:
    """The search's events: ("ok", person, role), ("conflict", person, role, speaker,
    speaker's role), ("reconsider", person, exhausted people)."""
    n = len(stmts)
    assign: list[bool | None] = [None] * n
    left = {p: [False, True] for p in range(n)}  # popped from the end: knight first
    order, cur, tape = list(range(n)), 0, []
    while cur < n:
        if not left[order[cur]]:
            exhausted = []
            while cur >= 0 and not left[order[cur]]:
                left[order[cur]], assign[order[cur]] = [False, True], None
                exhausted.append(order[cur])
                cur -= 1
            assert cur >= 0, "our puzzles always have a solution"
            tape.append(("reconsider", order[cur], exhausted))
        person = order[cur]
        assign[person] = left[person].pop()
        bad = next((q for q, s in enumerate(stmts) if assign[q] is not None and not _can_hold(s, assign[q], assign)),
                   None)
        if bad is None:
            tape.append(("ok", person, assign[person]))
            cur += 1
            rest = order[cur:]
            for q in reversed(_mentioned(stmts[person])):  # people just mentioned come next
                if q in rest:
                    rest.remove(q)
                    rest.insert(0, q)
            order = order[:cur] + rest
        else:
            tape.append(("conflict", person, assign[person], bad, assign[bad]))
    return tape


def official_claim(stmt, names, roles) -> str:
    """A statement as the official formatter words it (names, never "I")."""
    def leaf(s, neg: bool = False) -> str:
        role = roles[0] if s[0] == "knight" else roles[1]
        return f"{names[s[1]]} is {'not ' if neg else ''}{role_phrase(role)}"

    op = stmt[0]
    if op in ("knight", "knave"):
        return leaf(stmt)
    if op == "not":
        return leaf(stmt[1], neg=True)
    if op in ("and", "or"):
        return f" {op} ".join(leaf(c) for c in stmt[1:])
    if op == "if":
        return f"If {leaf(stmt[1])} then {leaf(stmt[2])}"
    return f"{leaf(stmt[1])} if and only if {leaf(stmt[2])}"


def _people(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + ", and " + names[-1]


def official_cot(puzzle, repeat_assumption: bool, repeat_contradiction: bool, numbered: bool = False) -> str:
    names, roles, stmts = puzzle.names, puzzle.roles, puzzle.statements

    def role(v: bool) -> str:
        return role_phrase(roles[0] if v else roles[1])

    steps = []
    for ev in official_tape(stmts):
        if ev[0] == "ok":
            _, p, v = ev
            text = f"Assume {names[p]} is {role(v)}."
            if repeat_assumption:
                text += (f" No contradiction is found in their {'' if v else 'false '}claim that "
                         f"{official_claim(stmts[p], names, roles)}.")
        elif ev[0] == "conflict":
            _, p, v, q, qv = ev
            text = (f"{names[p]} cannot be {role(v)}, because this would contradict the "
                    f"{'' if qv else 'false '}claim of {'their own' if q == p else names[q]}")
            text += f" that {official_claim(stmts[q], names, roles)}." if repeat_contradiction else "."
        else:
            _, p, exhausted = ev
            text = (f"We have exhausted all possibilities for {_people([names[q] for q in exhausted])}, "
                    f"so let us go back and reconsider {names[p]}.")
        steps.append(text)
    sol = puzzle.solution()
    answer = "\n".join(f"({i + 1}) {n} is {role(bool(sol >> i & 1))}" for i, n in enumerate(names))
    body = [f"- {i + 1}. {s}" for i, s in enumerate(steps)] if numbered else steps
    return "\n".join([HEADER, *body, FOOTER, "CONCLUSION:", answer])


def _puzzles():
    for n in range(2, 7):
        for index in range(50):
            yield generate_puzzle(n, seed=11, index=index, roles=ROLES[index % len(ROLES)])


PUZZLES = list(_puzzles())
VARIANTS = [(True, True, False), (False, False, False), (True, False, True), (False, True, True)]


def test_official_style_solutions_have_no_flagged_step() -> None:
    assert len(PUZZLES) >= 200 and {p.n for p in PUZZLES} == {2, 3, 4, 5, 6}
    flagged, phrasings = [], Counter()
    for pz in PUZZLES:
        problem = pz.to_problem()
        for variant in VARIANTS:
            text = official_cot(pz, *variant)
            phrasings.update(k for k in ("cannot be", "false claim of their own", "claim of their own that",
                                         "exhausted all possibilities", "No contradiction is found in their false")
                             if k in text)
            v = verify_steps(problem, text)
            if v.first_error >= 0:
                m = v.marks[v.first_error]
                flagged.append((pz.id, variant, v.steps[v.first_error].text, m.reason))
    assert flagged == [], flagged[:5]
    # the solutions exercise every phrasing, the both-roles-fail backtrack included
    assert all(phrasings[k] >= 20 for k in ("cannot be", "false claim of their own", "claim of their own that",
                                            "exhausted all possibilities", "No contradiction is found in their false"))


def test_the_reported_step_is_accepted() -> None:
    # the step of the issue: both roles of Noah fail under "Michael is a knight"; the solver backtracks
    pz = next(p for p in PUZZLES if "cannot be a knave, because this would contradict the false claim of their own."
              in official_cot(p, False, False))
    text = official_cot(pz, False, False)
    assert "We have exhausted all possibilities" in text
    assert verify_steps(pz.to_problem(), text).first_error == -1


@pytest.mark.parametrize("repeat", [False, True])
def test_a_false_cannot_be_step_is_flagged(repeat: bool) -> None:
    """Not vacuous: turn "X cannot be R" into "X cannot be R'" where the branch holds the real
    solution (so X = R' is consistent with everything); the verifier must flag that step."""
    tried = 0
    for pz in PUZZLES[::3]:
        sol, tape = pz.solution(), official_tape(pz.statements)
        lines = official_cot(pz, repeat, repeat).splitlines()
        assign: dict[int, bool] = {}
        for k, ev in enumerate(tape):
            if ev[0] == "conflict":
                _, x, v = ev[:3]
                branch = {**assign, x: not v}
                if all(bool(sol >> q & 1) == b for q, b in branch.items()):  # the true branch
                    r = (role_phrase(pz.roles[0] if v else pz.roles[1]), role_phrase(pz.roles[1] if v else pz.roles[0]))
                    bad = list(lines)
                    bad[k + 1] = bad[k + 1].replace(f"cannot be {r[0]}", f"cannot be {r[1]}", 1)
                    verdict = verify_steps(pz.to_problem(), "\n".join(bad[:k + 2]))
                    assert verdict.first_error == k + 1, (pz.id, bad[k + 1], verdict.marks)
                    tried += 1
            elif ev[0] == "ok":
                assign[ev[1]] = ev[2]
            else:
                for q in [*ev[2], ev[1]]:
                    assign.pop(q, None)
    assert tried >= 30
