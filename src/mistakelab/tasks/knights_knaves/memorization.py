"""Memorization score of the knights-and-knaves study (METHODS 4.2).

``Acc`` is accuracy on the original puzzles, ``CR`` (consistency ratio) the share of solved
puzzles that are still solved after a local perturbation, and ``LiMem = Acc * (1 - CR)``: high
when a model solves many puzzles but fails them once they are slightly changed.

Example:
    >>> s = memorization_score({"a": True, "b": True, "c": False, "d": True},
    ...                        {"a": True, "b": False, "c": True, "d": False})
    >>> s.acc, round(s.cr, 4), round(s.limem, 4)
    (0.75, 0.3333, 0.5)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


def limem(acc: float, consistency_ratio: float) -> float:
    """``acc * (1 - consistency_ratio)``; both must lie in [0, 1].

    Example:
        >>> limem(0.8, 0.25)
        0.6000000000000001
    """
    for name, x in (("acc", acc), ("consistency_ratio", consistency_ratio)):
        if not 0.0 <= x <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {x}")
    return acc * (1.0 - consistency_ratio)


@dataclass(frozen=True)
class MemorizationScore:
    """``cr`` is None when no original puzzle was solved (then ``limem`` is 0)."""

    acc: float
    cr: float | None
    limem: float
    n: int  # original puzzles
    n_solved: int
    n_pairs: int  # (solved original, perturbation) pairs behind CR


def memorization_score(original: Mapping[str, bool],
                       perturbed: Mapping[str, bool | Sequence[bool]],
                       skip_missing: bool = False) -> MemorizationScore:
    """Acc, CR and LiMem from per-puzzle correctness.

    ``original`` maps puzzle id -> solved. ``perturbed`` maps an original id (or a perturbed
    id ``<id>~<kind>``, grouped under ``<id>``) to the correctness on its perturbation(s); a
    list counts each perturbation once in CR. A solved original without a perturbation result
    raises KeyError unless ``skip_missing``.
    """
    if not original:
        raise ValueError("no original puzzles")
    grouped: dict[str, list[bool]] = {}
    for key, val in perturbed.items():
        src = key if key in original else key.split("~", 1)[0]
        if src not in original:
            raise KeyError(f"perturbation {key!r} has no original puzzle")
        grouped.setdefault(src, []).extend([bool(val)] if isinstance(val, bool) else [bool(x) for x in val])
    solved = [k for k, ok in original.items() if ok]
    missing = [k for k in solved if not grouped.get(k)]
    if missing and not skip_missing:
        raise KeyError(f"no perturbation result for solved puzzles {missing[:5]}")
    pairs = [ok for k in solved if k not in missing for ok in grouped[k]]
    acc = len(solved) / len(original)
    cr = sum(pairs) / len(pairs) if pairs else None
    return MemorizationScore(acc=acc, cr=cr, limem=0.0 if cr is None else limem(acc, cr), n=len(original),
                             n_solved=len(solved), n_pairs=len(pairs))
