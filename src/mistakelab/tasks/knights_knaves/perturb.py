"""Perturbations of a puzzle, for memorization studies (METHODS 4.2).

Local perturbations change the logic and must keep a unique solution that differs from the
original: :func:`resample_statement` (one person's whole statement) and :func:`resample_leaf`
(one leaf). Surface perturbations keep the logic: :func:`rename_people`, :func:`rename_roles`,
:func:`reorder_statements`. Each takes a Problem (or Puzzle) and returns a new Problem whose
id is ``<id>~<kind>`` and whose metadata records ``perturbation`` and ``source_id``.

Example:
    >>> from mistakelab.tasks.knights_knaves.generate import generate_puzzle
    >>> p = generate_puzzle(3, seed=0, index=0).to_problem()
    >>> q = resample_leaf(p)
    >>> q.id, q.answer != p.answer
    ('kk-3-0-0~leaf', True)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from mistakelab.core.types import Problem
from mistakelab.tasks.knights_knaves.generate import _distinct, random_statement
from mistakelab.tasks.knights_knaves.logic import (Stmt, get_at, leaf_paths, replace_at,
                                                   self_knave_free, solutions)
from mistakelab.tasks.knights_knaves.puzzle import Puzzle
from mistakelab.tasks.knights_knaves.vocab import NAMES, ROLE_PAIRS, resolve_roles


def _puzzle(p: Problem | Puzzle) -> Puzzle:
    return p if isinstance(p, Puzzle) else Puzzle.from_problem(p)


def _rng(pz: Puzzle, kind: str, seed: int) -> random.Random:
    return random.Random(f"knights_knaves-perturb:{pz.id}:{kind}:{seed}")


def _finish(pz: Puzzle, kind: str, seed: int, **changes: Any) -> Problem:
    suffix = kind if seed == 0 else f"{kind}{seed}"
    extra = {**pz.extra, "perturbation": kind, "source_id": pz.extra.get("source_id", pz.id)}
    return pz.with_(id=f"{pz.id}~{suffix}", extra=extra, **changes).to_problem()


def _new_unique(pz: Puzzle, stmts: list[Stmt], old: int) -> bool:
    sols = solutions(stmts, pz.n)
    return len(sols) == 1 and sols[0] != old


def resample_statement(problem: Problem | Puzzle, seed: int = 0, max_tries: int = 5000) -> Problem:
    """Replace one person's whole statement so the solution stays unique but changes.

    Raises ValueError when no such statement turns up within ``max_tries`` draws.
    """
    pz = _puzzle(problem)
    rng, old = _rng(pz, "statement", seed), pz.solution()
    for _ in range(max_tries):
        who = rng.randrange(pz.n)
        new = random_statement(rng, pz.n, who, pz.depth, pz.width)
        stmts = list(pz.statements)
        if new == stmts[who]:
            continue
        stmts[who] = new
        if _new_unique(pz, stmts, old):
            return _finish(pz, "statement", seed, statements=tuple(stmts))
    raise ValueError(f"{pz.id}: no resampled statement gives a new unique solution in {max_tries} tries")


def resample_leaf(problem: Problem | Puzzle, seed: int = 0, max_tries: int = 5000) -> Problem:
    """Replace one leaf ("X is a knight/knave") so the solution stays unique but changes.

    The candidates (every leaf position x every other leaf) are few, so they are all tried in
    a seeded order: ValueError means no single-leaf change works (or ``max_tries`` ran out).
    """
    pz = _puzzle(problem)
    rng, old = _rng(pz, "leaf", seed), pz.solution()
    options = [(op, p) for p in range(pz.n) for op in ("knight", "knave")]
    candidates = [(who, path, leaf) for who, s in enumerate(pz.statements) for path in leaf_paths(s)
                  for leaf in options if leaf != get_at(s, path) and leaf != ("knave", who)]
    rng.shuffle(candidates)
    for who, path, leaf in candidates[:max_tries]:
        new = replace_at(pz.statements[who], path, leaf)
        parent = get_at(new, path[:-1]) if path else None
        if not self_knave_free(new, who) or (parent is not None and parent[0] != "not"
                                              and not _distinct(list(parent[1:]))):
            continue
        stmts = list(pz.statements)
        stmts[who] = new
        if _new_unique(pz, stmts, old):
            return _finish(pz, "leaf", seed, statements=tuple(stmts))
    raise ValueError(f"{pz.id}: no single-leaf change gives a new unique solution")


def rename_people(problem: Problem | Puzzle, seed: int = 0, names: list[str] | None = None) -> Problem:
    """Give everyone a new name (fresh ones from the pool unless ``names`` is given)."""
    pz = _puzzle(problem)
    if names is None:
        pool = [n for n in NAMES if n not in pz.names]
        names = _rng(pz, "rename_people", seed).sample(pool, pz.n)
    if len(names) != pz.n or len(set(names)) != pz.n:
        raise ValueError(f"need {pz.n} distinct names, got {names!r}")
    return _finish(pz, "rename_people", seed, names=tuple(names))


def rename_roles(problem: Problem | Puzzle, roles: str | tuple[str, str] | None = None, seed: int = 0) -> Problem:
    """Call the two roles something else (e.g. ``"angel/devil"``); default: another built-in pair."""
    pz = _puzzle(problem)
    if roles is None:
        choices = [pair for pair in ROLE_PAIRS.values() if pair != pz.roles]
        new = _rng(pz, "rename_roles", seed).choice(choices)
    else:
        new = resolve_roles(roles)
    return _finish(pz, "rename_roles", seed, roles=new)


def reorder_statements(problem: Problem | Puzzle, seed: int = 0, order: list[int] | None = None) -> Problem:
    """Tell the statements in another order (introduction order, and so the answer, stay)."""
    pz = _puzzle(problem)
    current = list(pz.order) if pz.order is not None else list(range(pz.n))
    if order is None:
        rng, order = _rng(pz, "reorder", seed), list(current)
        while order == current:
            rng.shuffle(order)
    if sorted(order) != list(range(pz.n)):
        raise ValueError(f"order must be a permutation of 0..{pz.n - 1}, got {order!r}")
    return _finish(pz, "reorder", seed, order=tuple(order))


#: Perturbation functions by name; ``statement`` and ``leaf`` are the local ones.
PERTURBATIONS: dict[str, Callable[..., Problem]] = {
    "statement": resample_statement,
    "leaf": resample_leaf,
    "rename_people": rename_people,
    "rename_roles": rename_roles,
    "reorder": reorder_statements,
}


def perturb(problem: Problem | Puzzle, kind: str, seed: int = 0) -> Problem:
    """Apply the perturbation named ``kind`` (a key of :data:`PERTURBATIONS`)."""
    try:
        fn = PERTURBATIONS[kind]
    except KeyError:
        raise ValueError(f"unknown perturbation {kind!r}; known: {sorted(PERTURBATIONS)}") from None
    return fn(problem, seed=seed)
