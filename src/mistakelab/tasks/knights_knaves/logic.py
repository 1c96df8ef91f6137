"""Statement ASTs for knights-and-knaves puzzles, their evaluation and their limits.

A statement is a nested tuple, JSON-safe once tuples become lists:

* ``("knight", i)`` / ``("knave", i)``: person ``i`` is a knight (truthful) / knave (liar).
  These tags are logical; the displayed role names may differ (see ``vocab``).
* ``("not", s)``, ``("and", s1, s2, ...)``, ``("or", s1, s2, ...)``, ``("if", a, b)``,
  ``("iff", a, b)``.

An assignment of N people is an int whose bit ``i`` is set when person ``i`` is a knight.
Truth tables are ints too: bit ``a`` is set when the statement holds under assignment ``a``,
so all 2^N assignments are evaluated with a handful of big-int operations.

Example:
    >>> s = ("or", ("knave", 1), ("knight", 0))
    >>> evaluate(s, 0b01), evaluate(s, 0b10)
    (True, False)
    >>> solutions([("knight", 1), ("and", ("knave", 0), ("knight", 1))], 2)  # both are knaves
    [0]
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

Stmt = tuple  # recursive tuple, see module docstring

LEAF_OPS = ("knight", "knave")
OPS = ("not", "and", "or", "if", "iff")


def is_leaf(s: Stmt) -> bool:
    return s[0] in LEAF_OPS


def evaluate(s: Stmt, assignment: int) -> bool:
    """Truth of ``s`` when bit ``i`` of ``assignment`` says person ``i`` is a knight."""
    op = s[0]
    if op == "knight":
        return bool(assignment >> s[1] & 1)
    if op == "knave":
        return not assignment >> s[1] & 1
    if op == "not":
        return not evaluate(s[1], assignment)
    if op == "and":
        return all(evaluate(c, assignment) for c in s[1:])
    if op == "or":
        return any(evaluate(c, assignment) for c in s[1:])
    if op == "if":
        return not evaluate(s[1], assignment) or evaluate(s[2], assignment)
    if op == "iff":
        return evaluate(s[1], assignment) == evaluate(s[2], assignment)
    raise ValueError(f"unknown operator {op!r}")


@lru_cache(maxsize=None)
def full_mask(n: int) -> int:
    """Truth table that holds everywhere (all 2^n assignments)."""
    return (1 << (1 << n)) - 1


@lru_cache(maxsize=None)
def knight_mask(person: int, n: int) -> int:
    """Truth table of "person is a knight"."""
    return sum(1 << a for a in range(1 << n) if a >> person & 1)


def truth_table(s: Stmt, n: int) -> int:
    """Truth table of ``s`` over all assignments of ``n`` people."""
    op, full = s[0], full_mask(n)
    if op == "knight":
        return knight_mask(s[1], n)
    if op == "knave":
        return full ^ knight_mask(s[1], n)
    kids = [truth_table(c, n) for c in s[1:]]
    if op == "not":
        return full ^ kids[0]
    if op == "and":
        out = full
        for k in kids:
            out &= k
        return out
    if op == "or":
        out = 0
        for k in kids:
            out |= k
        return out
    if op == "if":
        return (full ^ kids[0]) | kids[1]
    if op == "iff":
        return full ^ (kids[0] ^ kids[1])
    raise ValueError(f"unknown operator {op!r}")


def consistency_mask(speaker: int, s: Stmt, n: int) -> int:
    """Assignments where ``speaker``'s role matches the truth of ``s`` (knight iff true)."""
    return full_mask(n) ^ (knight_mask(speaker, n) ^ truth_table(s, n))


def solutions(statements: list[Stmt], n: int | None = None) -> list[int]:
    """Every assignment consistent with all statements (person ``i`` says ``statements[i]``)."""
    n = len(statements) if n is None else n
    mask = full_mask(n)
    for i, s in enumerate(statements):
        mask &= consistency_mask(i, s, n)
    return [a for a in range(1 << n) if mask >> a & 1]


def depth(s: Stmt) -> int:
    """Nodes on the longest root-to-leaf path (a leaf has depth 1)."""
    return 1 if is_leaf(s) else 1 + max(depth(c) for c in s[1:])


def width(s: Stmt) -> int:
    """Most operands of any connective in ``s`` (1 for a leaf or a lone ``not``)."""
    if is_leaf(s):
        return 1
    return max(len(s) - 1, *(width(c) for c in s[1:]))


def leaves(s: Stmt) -> list[Stmt]:
    """The leaves of ``s``, left to right."""
    return [s] if is_leaf(s) else [leaf for c in s[1:] for leaf in leaves(c)]


def people(s: Stmt) -> set[int]:
    """The people ``s`` mentions."""
    return {leaf[1] for leaf in leaves(s)}


def leaf_paths(s: Stmt, prefix: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    """Child-index paths to every leaf, for replacing one leaf."""
    if is_leaf(s):
        return [prefix]
    return [p for i, c in enumerate(s[1:], start=1) for p in leaf_paths(c, prefix + (i,))]


def get_at(s: Stmt, path: tuple[int, ...]) -> Stmt:
    for i in path:
        s = s[i]
    return s


def replace_at(s: Stmt, path: tuple[int, ...], new: Stmt) -> Stmt:
    """Copy of ``s`` with the node at ``path`` replaced by ``new``."""
    if not path:
        return new
    i = path[0]
    return s[:i] + (replace_at(s[i], path[1:], new),) + s[i + 1:]


def self_knave_free(s: Stmt, speaker: int) -> bool:
    """No "I am a knave" leaf and no ``not("I am a knight")``: both make the paradox alone."""
    if s[0] == "knave" and s[1] == speaker:
        return False
    if s[0] == "not" and s[1][0] == "knight" and s[1][1] == speaker:
        return False
    return all(self_knave_free(c, speaker) for c in s[1:] if isinstance(c, tuple))


def to_json(s: Stmt) -> list[Any]:
    """JSON-safe form (nested lists)."""
    return [s[0], s[1]] if is_leaf(s) else [s[0], *(to_json(c) for c in s[1:])]


def from_json(data: Any) -> Stmt:
    """Inverse of :func:`to_json` (also accepts tuples)."""
    op = data[0]
    if op in LEAF_OPS:
        return (op, int(data[1]))
    if op not in OPS:
        raise ValueError(f"unknown operator {op!r}")
    return (op, *(from_json(c) for c in data[1:]))
