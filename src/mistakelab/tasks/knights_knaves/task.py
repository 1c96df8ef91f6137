"""The ``knights_knaves`` task: generated puzzles with gold steps and step-level checking.

Example:
    >>> t = KnightsKnavesTask(n_people=2)
    >>> p = t.load(1, seed=0)[0]
    >>> t.verify(p, t.gold_solution(p)).correct, t.verify_steps(p, t.gold_solution(p)).first_error
    (True, -1)
"""

from __future__ import annotations

from mistakelab.answers import Extraction
from mistakelab.core.types import Message, Problem, Verdict
from mistakelab.steps.types import InjectedSolution, StepVerdict
from mistakelab.tasks.base import Task, tasks
from mistakelab.tasks.knights_knaves.check import (assignment_key, check_problem, extract_assignment,
                                                   verify_answer)
from mistakelab.tasks.knights_knaves.generate import generate_puzzle
from mistakelab.tasks.knights_knaves.inject import inject_error
from mistakelab.tasks.knights_knaves.parse import Vocab
from mistakelab.tasks.knights_knaves.perturb import PERTURBATIONS, perturb
from mistakelab.tasks.knights_knaves.verify import verify_steps
from mistakelab.tasks.knights_knaves.vocab import resolve_roles, role_phrase

#: Default number of puzzles when ``load`` gets ``n=None`` (the generator is unbounded).
DEFAULT_N = 100

ANSWER_INSTRUCTION = (
    "Solve the puzzle step by step. Then write one last line that starts with 'CONCLUSION:' "
    "and gives, for every inhabitant in the order they were introduced, a numbered statement "
    "saying whether that person is {a_good} or {a_bad}, such as '(1) <name> is {a_good}' "
    "or '(2) <name> is {a_bad}'. Choose exactly one role for each person."
)


@tasks.register("knights_knaves")
class KnightsKnavesTask(Task):
    """Knights-and-knaves puzzles (METHODS 4.2).

    Options: ``n_people`` (2-8, default 3), ``depth`` (nodes on a statement's longest
    root-to-leaf path, default 2), ``width`` (most operands per connective, default 2),
    ``roles`` (a pair name such as ``"angel/devil"`` or any ``"good/bad"``), ``perturbation``
    (load perturbed copies: one of ``statement``, ``leaf``, ``rename_people``,
    ``rename_roles``, ``reorder``) and ``perturbation_seed``.
    """

    name = "knights_knaves"

    def __init__(self, n_people: int = 3, depth: int = 2, width: int = 2, roles: str | None = None,
                 perturbation: str | None = None, perturbation_seed: int = 0) -> None:
        if perturbation is not None and perturbation not in PERTURBATIONS:
            raise ValueError(f"unknown perturbation {perturbation!r}; known: {sorted(PERTURBATIONS)}")
        self.n_people, self.depth, self.width = n_people, depth, width
        self.roles = resolve_roles(roles)
        self.perturbation, self.perturbation_seed = perturbation, perturbation_seed
        self.vocab = Vocab(roles=self.roles)
        generate_puzzle(n_people, 0, 0, depth, width)  # fail fast on bad options

    def load(self, n: int | None, seed: int) -> list[Problem]:
        out = []
        for i in range(DEFAULT_N if n is None else n):
            pz = generate_puzzle(self.n_people, seed, i, self.depth, self.width, self.roles)
            if self.roles != resolve_roles(None):
                pz = pz.with_(id=f"{pz.id}~{self.roles[0]}-{self.roles[1]}")
            problem = pz.to_problem()
            if self.perturbation:
                problem = perturb(problem, self.perturbation, self.perturbation_seed)
            out.append(problem)
        return out

    def prompt(self, problem: Problem) -> list[Message]:
        good, bad = problem.metadata.get("roles", self.roles)
        instruction = ANSWER_INSTRUCTION.format(a_good=role_phrase(good), a_bad=role_phrase(bad))
        return [Message(role="user", content=f"{problem.question}\n\n{instruction}")]

    def extract(self, text: str) -> Extraction:
        """The last full assignment in ``text``, canonical (``"Zoey: knight; Oliver: knave"``)."""
        return extract_assignment(text, self.vocab)

    def check(self, problem: Problem, answer: str | None, method: str = "given") -> Verdict:
        """Judge an extracted answer (or a raw solution text) person by person."""
        return check_problem(problem, answer, method)

    def verify(self, problem: Problem, text: str) -> Verdict:
        return verify_answer(problem, text)

    def answer_key(self, answer: str) -> str:
        return assignment_key(answer, self.vocab)

    def verify_steps(self, problem: Problem, text: str) -> StepVerdict:
        return verify_steps(problem, text, final_correct=self.verify(problem, text).correct)

    def gold_solution(self, problem: Problem) -> str | None:
        """The gold steps, one per line, ending with the CONCLUSION line."""
        return "\n".join(s.text for s in problem.steps) if problem.steps else None

    def inject_error(self, problem: Problem, step: int, seed: int = 0, kind: str | None = None) -> InjectedSolution:
        return inject_error(problem, step, seed=seed, kind=kind)
