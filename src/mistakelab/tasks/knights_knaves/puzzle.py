"""A knights-and-knaves puzzle and its conversion to and from a :class:`Problem`.

Example:
    >>> pz = Puzzle(id="kk-demo", names=("Zoey", "Oliver"), render_seed="s",
    ...             statements=(("knight", 1), ("and", ("knave", 0), ("knight", 1))))
    >>> pz.to_problem().answer
    'Zoey: knave; Oliver: knave'
    >>> Puzzle.from_problem(pz.to_problem()) == pz
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from mistakelab.core.types import Problem, ReferenceStep
from mistakelab.tasks.knights_knaves.logic import Stmt, from_json, solutions, to_json
from mistakelab.tasks.knights_knaves.render import render_answer, render_question
from mistakelab.tasks.knights_knaves.solve import solve
from mistakelab.tasks.knights_knaves.vocab import DEFAULT_ROLES


@dataclass(frozen=True)
class Puzzle:
    """Who says what. ``names`` are in order of introduction; ``order`` is the order the
    statements are told in (default: introduction order); ``roles`` is ``(truthful, lying)``."""

    id: str
    names: tuple[str, ...]
    statements: tuple[Stmt, ...]
    roles: tuple[str, str] = DEFAULT_ROLES
    order: tuple[int, ...] | None = None
    render_seed: str = ""
    depth: int = 2
    width: int = 2
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def n(self) -> int:
        return len(self.names)

    def solutions(self) -> list[int]:
        """Every consistent assignment (bit ``i`` set: person ``i`` is truthful)."""
        return solutions(list(self.statements), self.n)

    def solution(self) -> int:
        """The unique consistent assignment; ValueError when there is not exactly one."""
        sols = self.solutions()
        if len(sols) != 1:
            raise ValueError(f"{self.id}: {len(sols)} consistent assignments, need exactly one")
        return sols[0]

    def with_(self, **changes: Any) -> "Puzzle":
        return replace(self, **changes)

    def to_problem(self) -> Problem:
        """Render the question, the answer and the gold steps."""
        order = list(self.order) if self.order is not None else list(range(self.n))
        self.solution()  # ValueError unless exactly one assignment fits
        answer_bits, steps = solve(self.names, self.statements, self.roles, self.render_seed)
        if answer_bits != self.solution():  # the search must agree with brute force
            raise AssertionError(f"{self.id}: backtracking disagrees with brute force")
        metadata = {
            **self.extra,
            "task": "knights_knaves",
            "names": list(self.names),
            "statements": [to_json(s) for s in self.statements],
            "roles": list(self.roles),
            "order": order,
            "render_seed": self.render_seed,
            "depth": self.depth,
            "width": self.width,
            "solution": {n: self.roles[0] if answer_bits >> i & 1 else self.roles[1]
                         for i, n in enumerate(self.names)},
            "solution_bits": [bool(answer_bits >> i & 1) for i in range(self.n)],
        }
        return Problem(
            id=self.id,
            question=render_question(self.statements, self.names, self.roles, order, self.render_seed),
            answer=render_answer(self.names, answer_bits, self.roles),
            metadata=metadata,
            steps=[ReferenceStep(text=s.text, value=s.to_value(),
                                 quantity=next((self.names[c["person"]] for c in s.claims if c["primary"]), None))
                   for s in steps],
        )

    @classmethod
    def from_problem(cls, problem: Problem) -> "Puzzle":
        """Rebuild the puzzle a knights-and-knaves Problem was made from."""
        md = problem.metadata
        if md.get("task") != "knights_knaves":
            raise ValueError(f"{problem.id} is not a knights_knaves problem")
        known = {"task", "names", "statements", "roles", "order", "render_seed", "depth", "width",
                 "solution", "solution_bits"}
        return cls(
            id=problem.id,
            names=tuple(md["names"]),
            statements=tuple(from_json(s) for s in md["statements"]),
            roles=(md["roles"][0], md["roles"][1]),
            order=tuple(md["order"]) if md.get("order") != list(range(len(md["names"]))) else None,
            render_seed=md.get("render_seed", ""),
            depth=md.get("depth", 2),
            width=md.get("width", 2),
            extra={k: v for k, v in md.items() if k not in known},
        )
