"""Random knights-and-knaves puzzles with exactly one consistent assignment.

Example:
    >>> p = generate_puzzle(n_people=3, seed=0, index=0)
    >>> p.id, len(p.solutions())
    ('kk-3-0-0', 1)
"""

from __future__ import annotations

import random

from mistakelab.tasks.knights_knaves.logic import Stmt, depth, is_leaf, self_knave_free, solutions, width
from mistakelab.tasks.knights_knaves.puzzle import Puzzle
from mistakelab.tasks.knights_knaves.vocab import NAMES, resolve_roles

MIN_PEOPLE, MAX_PEOPLE = 2, 8
_OP_WEIGHTS = {"not": 1.0, "and": 2.0, "or": 2.0, "if": 1.5, "iff": 1.0}


def random_leaf(rng: random.Random, n: int, speaker: int) -> Stmt:
    """A leaf about anyone, never "I am a knave" (that alone is a paradox)."""
    who = rng.randrange(n)
    if who == speaker:
        return ("knight", who)
    return (rng.choice(("knight", "knave")), who)


def _distinct(children: list[Stmt]) -> bool:
    # "A is a knight and A is a knave" and repeated operands make degenerate puzzles.
    leaf_people = [c[1] for c in children if is_leaf(c)]
    return len(set(leaf_people)) == len(leaf_people) and len(set(children)) == len(children)


def random_statement(rng: random.Random, n: int, speaker: int, max_depth: int = 2,
                     max_width: int = 2, _top: bool = True) -> Stmt:
    """A random statement by ``speaker`` within the depth and width limits.

    ``max_depth`` counts nodes on a root-to-leaf path (1 = a bare leaf); ``max_width`` is the
    most operands a connective may take (``and``/``or`` may take up to that many).
    """
    for _ in range(100):
        s = _draw(rng, n, speaker, max_depth, max_width, _top)
        if self_knave_free(s, speaker):
            return s
    return random_leaf(rng, n, speaker)


def _draw(rng: random.Random, n: int, speaker: int, d: int, w: int, top: bool) -> Stmt:
    ops = [op for op in _OP_WEIGHTS if op == "not" or w >= 2]
    if d <= 1 or rng.random() < (0.25 if top else 0.55):
        return random_leaf(rng, n, speaker)
    op = rng.choices(ops, weights=[_OP_WEIGHTS[o] for o in ops])[0]
    for _ in range(50):
        if op == "not":
            child = _draw(rng, n, speaker, d - 1, w, False)
            if child[0] != "not":  # no double negation
                return ("not", child)
            continue
        k = rng.randint(2, w) if op in ("and", "or") else 2
        kids = [_draw(rng, n, speaker, d - 1, w, False) for _ in range(k)]
        if _distinct(kids):
            return (op, *kids)
    return random_leaf(rng, n, speaker)


def puzzle_id(n_people: int, seed: int, index: int, max_depth: int = 2, max_width: int = 2) -> str:
    """``kk-<n>-<seed>-<index>``, with ``-d<depth>w<width>`` when the limits are not the default."""
    base = f"kk-{n_people}-{seed}-{index}"
    return base if (max_depth, max_width) == (2, 2) else f"{base}-d{max_depth}w{max_width}"


def generate_puzzle(n_people: int = 3, seed: int = 0, index: int = 0, depth: int = 2,
                    width: int = 2, roles: str | tuple[str, str] | None = None,
                    max_tries: int = 20000) -> Puzzle:
    """Puzzle ``index`` of ``seed``: deterministic, with a unique solution (checked by brute force)."""
    if not MIN_PEOPLE <= n_people <= MAX_PEOPLE:
        raise ValueError(f"n_people must be in {MIN_PEOPLE}..{MAX_PEOPLE}, got {n_people}")
    if depth < 2 or width < 2:
        # Leaves and negated leaves alone make "X is a knight iff Y is a knight/knave"
        # equations, which flipping everyone's role preserves: never a unique solution.
        raise ValueError(f"need depth >= 2 and width >= 2, got depth={depth}, width={width}")
    # A string seed hashes with SHA-512 inside random, so it is stable across processes.
    rng = random.Random(f"knights_knaves:{n_people}:{depth}:{width}:{seed}:{index}")
    names = tuple(rng.sample(NAMES, n_people))
    render_seed = f"{rng.getrandbits(64):016x}"
    for _ in range(max_tries):
        stmts = tuple(random_statement(rng, n_people, i, depth, width) for i in range(n_people))
        if len(solutions(list(stmts), n_people)) == 1:
            break
    else:
        raise RuntimeError(f"no unique puzzle in {max_tries} tries (n={n_people}, depth={depth}, width={width})")
    assert all(_limits_ok(s, depth, width) for s in stmts)
    return Puzzle(id=puzzle_id(n_people, seed, index, depth, width), names=names, statements=stmts,
                  roles=resolve_roles(roles), render_seed=render_seed, depth=depth, width=width,
                  extra={"seed": seed, "index": index})


def _limits_ok(s: Stmt, max_depth: int, max_width: int) -> bool:
    return depth(s) <= max_depth and (is_leaf(s) or width(s) <= max(max_width, 1))
