"""Inject one wrong claim into a gold solution, at a chosen step.

The claim at the chosen step is flipped ("so Oliver is a knave" -> "so Oliver is a knight",
"must be true" -> "must be false", "So Zoey is a knave" after a contradiction -> "... knight").
The solution then jumps to a CONCLUSION that carries the error (the roles of the branch it was
in, with the flipped claim), so its final answer is wrong. Every candidate is checked with the
step verifier: the earliest wrong step must be exactly the label.

Example:
    >>> from mistakelab.tasks.knights_knaves.generate import generate_puzzle
    >>> p = generate_puzzle(3, seed=0, index=0).to_problem()
    >>> inj = inject_error(p, 0)
    >>> inj.first_error, inj.kind
    (0, 'wrong_claim')
"""

from __future__ import annotations

import random

from mistakelab.core.types import Problem
from mistakelab.steps.split import split_steps
from mistakelab.steps.types import InjectedSolution
from mistakelab.tasks.knights_knaves.check import verify_answer
from mistakelab.tasks.knights_knaves.render import conclusion_line
from mistakelab.tasks.knights_knaves.verify import StepChecker, verify_steps

KINDS = ("wrong_claim",)


def _context(problem: Problem, lines: list[str]) -> dict[int, bool]:
    """Roles the solution has assumed or derived after ``lines`` (as the verifier reads them)."""
    checker = StepChecker(problem)
    for line in lines:
        checker.step(line)
    out: dict[int, bool] = {}
    for f in checker.stack:
        if f.person is not None:
            out[f.person] = bool(f.value)
        out.update(f.facts)
    return out


def _wrong_conclusion(problem: Problem, lines: list[str], claim: dict) -> str:
    md = problem.metadata
    names, roles = md["names"], (md["roles"][0], md["roles"][1])
    solution = sum(1 << i for i, b in enumerate(md["solution_bits"]) if b)
    # The branch's roles (including an assumption made in the flipped step) plus the flip.
    believed = {**_context(problem, lines), claim["person"]: not claim["value"]}
    answer = solution
    for p, v in believed.items():
        answer = answer | (1 << p) if v else answer & ~(1 << p)
    if answer == solution:  # the error sat in a branch that matches the solution anyway
        answer ^= 1 << claim["person"]
    return conclusion_line(names, answer, roles)


def _label(text: str, pos: int) -> int:
    steps = split_steps(text)
    for st in steps:
        if st.start <= pos < st.end:
            return st.index
    return min(steps, key=lambda st: min(abs(st.start - pos), abs(st.end - pos))).index


def inject_error(problem: Problem, step: int, seed: int = 0, kind: str | None = None) -> InjectedSolution:
    """The gold solution with the claim at gold step ``step`` flipped (kind ``wrong_claim``).

    ``seed`` picks among the step's claims; the step's main claim is tried first.
    Raises ValueError for an unknown kind or a problem without gold steps, IndexError for a bad
    step, RuntimeError if no flip is caught at the step (a verifier bug; never seen in tests).
    """
    kind = kind or "wrong_claim"
    if kind not in KINDS:
        raise ValueError(f"unknown error kind {kind!r}; known: {KINDS}")
    if not problem.steps:
        raise ValueError(f"{problem.id} has no gold steps")
    if not 0 <= step < len(problem.steps):
        raise IndexError(f"step {step} out of range 0..{len(problem.steps) - 1}")
    gold = [s.text for s in problem.steps]
    claims = list((problem.steps[step].value or {}).get("claims", []))
    rng = random.Random(f"knights_knaves-inject:{problem.id}:{step}:{seed}")
    primary = [c for c in claims if c["primary"]]
    others = [c for c in claims if not c["primary"]]
    rng.shuffle(primary)
    rng.shuffle(others)
    last = step == len(gold) - 1
    for c in primary + others:
        line = gold[step][:c["start"]] + c["flip"] + gold[step][c["end"]:]
        lines = gold[:step] + [line] + ([] if last else [_wrong_conclusion(problem, gold[:step] + [line], c)])
        text = "\n".join(lines)
        label = _label(text, sum(len(x) + 1 for x in gold[:step]) + c["start"])
        if verify_steps(problem, text).first_error != label or verify_answer(problem, text).correct:
            continue
        what = "role" if c["type"] == "role" else "statement truth"
        return InjectedSolution(
            problem_id=problem.id, text=text, steps=[s.text for s in split_steps(text)], first_error=label,
            kind=kind, description=f"flipped the {what} claim about {problem.metadata['names'][c['person']]} "
                                   f"at gold step {step} ({gold[step][c['start']:c['end']]!r} -> {c['flip']!r})")
    raise RuntimeError(f"{problem.id}: no claim at step {step} could be flipped detectably")
