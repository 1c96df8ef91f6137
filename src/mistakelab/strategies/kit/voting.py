"""Choosing among candidates: a majority vote, the best-scored one, a Borda vote, a
score-weighted vote.

The rules every strategy that votes or picks by score follows:

- A candidate whose answer does not parse (``None``) is never chosen and never votes.
- A candidate whose score is unavailable (``None``) ranks below every scored one.
- Ties go to the earliest candidate (sample order); in a vote, to the answer seen first.

Example:
    >>> best_index(["3", None, "4", "5"], [0.2, 0.9, None, 0.2])
    0
    >>> borda_weights([0.1, 0.7, 0.4], p=1.0)
    [1.0, 3.0, 2.0]
"""

from __future__ import annotations

import math
from typing import Callable, Sequence


def tally(answers: list[str | None], key: Callable[[str], str] = lambda a: a,
          weights: list[float] | None = None) -> dict[str, tuple[str, float]]:
    """Votes per answer key, in first-seen order: key -> (first answer seen, votes).

    Example:
        >>> tally(["3", "4", "4", None])
        {'3': ('3', 1.0), '4': ('4', 2.0)}
    """
    out: dict[str, tuple[str, float]] = {}
    for i, a in enumerate(answers):
        if a is None:
            continue
        k = key(a)
        first, votes = out.get(k, (a, 0.0))
        out[k] = (first, votes + (1.0 if weights is None else weights[i]))
    return out


def majority(answers: list[str | None], key: Callable[[str], str] = lambda a: a,
             weights: list[float] | None = None) -> str | None:
    """Most voted answer by ``key`` (weighted when ``weights`` are given); ties go to the
    earliest; None answers don't vote.

    Example:
        >>> majority(["3", "4", "4", None, "3"])
        '3'
    """
    votes = tally(answers, key, weights)
    if not votes:
        return None
    best = max(v for _, v in votes.values())
    # dicts keep insertion order: the first to reach `best` in sample order
    return next(first for first, v in votes.values() if v == best)


def ranked(scores: Sequence[float | None]) -> list[int]:
    """Indices best first: scored ones by score (ties: earlier first), then unscored ones.

    Example:
        >>> ranked([0.5, None, 0.9, 0.5])
        [2, 0, 3, 1]
    """
    return sorted(range(len(scores)), key=lambda i: (scores[i] is None, -(scores[i] or 0.0), i))


def best_index(answers: Sequence[str | None], scores: Sequence[float | None]) -> int | None:
    """The best-scored candidate whose answer parses (see the module rules); None if none does."""
    return next((i for i in ranked(scores) if answers[i] is not None), None)


def borda_weights(scores: Sequence[float | None], p: float) -> list[float]:
    """Borda weights (METHODS §1.3): ranked best first, rank r (1-based) of N gets
    ``(N - r + 1) ** p``; ``p = 0`` gives every candidate one vote (plain majority)."""
    n = len(scores)
    weights = [0.0] * n
    for r, i in enumerate(ranked(scores), start=1):
        weights[i] = float((n - r + 1) ** p)
    return weights


def borda_vote(answers: Sequence[str | None], scores: Sequence[float | None], p: float,
               key: Callable[[str], str] = lambda a: a) -> tuple[str | None, dict[str, float]]:
    """The answer with the most Borda weight, and the weight per answer; only candidates whose
    answer parses are ranked.

    Example:
        >>> answers, scores = ["7", "8", "8", "8", None], [0.9, 0.2, 0.3, 0.1, 1.0]
        >>> borda_vote(answers, scores, p=1.0)
        ('8', {'7': 4.0, '8': 6.0})
        >>> borda_vote(answers, scores, p=3.0)[0]  # 64 against 27 + 8 + 1
        '7'
    """
    kept = [i for i, a in enumerate(answers) if a is not None]
    return weighted_vote([answers[i] for i in kept], borda_weights([scores[i] for i in kept], p), key)


def weighted_vote(answers: Sequence[str | None], weights: Sequence[float | None],
                  key: Callable[[str], str] = lambda a: a) -> tuple[str | None, dict[str, float]]:
    """The answer with the most summed weight (an unscored candidate weighs 0) and the mass
    per answer (first-seen spelling). When no candidate has any weight the plain majority
    decides (every answer's mass is then 0).

    Example:
        >>> weighted_vote(["3", "4", "4", None], [0.9, 0.5, 0.3, 1.0])
        ('3', {'3': 0.9, '4': 0.8})
    """
    w = [max(x, 0.0) if x is not None else 0.0 for x in weights]
    mass = {first: round(v, 12) for first, v in tally(list(answers), key, w).values()}
    return majority(list(answers), key, w if any(w) else None), mass


def weak_steps(scores: Sequence[float | None], below: float) -> list[int]:
    """Steps scoring under ``below``; when none does, the lowest-scored one (none scored: []).

    Example:
        >>> weak_steps([0.9, 0.3, None, 0.1], 0.5), weak_steps([0.9, 0.7], 0.5), weak_steps([None], 0.5)
        ([1, 3], [1], [])
    """
    weak = [i for i, v in enumerate(scores) if v is not None and v < below]
    scored = [i for i, v in enumerate(scores) if v is not None]
    return weak or ([min(scored, key=lambda i: scores[i])] if scored else [])  # type: ignore[arg-type,return-value]


def mass_confidence(mass: dict[str, float]) -> tuple[float, float]:
    """(top answer's share of the mass, 1 - normalized entropy of the mass over answers).

    One answer: (1, 1). Mass spread evenly over k answers: (1/k, 0).

    Example:
        >>> mass_confidence({"3": 1.0, "4": 1.0})
        (0.5, 0.0)
        >>> [round(x, 3) for x in mass_confidence({"3": 3.0, "4": 1.0})]
        [0.75, 0.189]
    """
    total = sum(mass.values())
    if total <= 0 or not mass:
        return 0.0, 0.0
    shares = [v / total for v in mass.values() if v > 0]
    if len(mass) == 1 or len(shares) == 1:
        return max(shares), 1.0
    entropy = -sum(s * math.log(s) for s in shares)
    return max(shares), 1.0 - entropy / math.log(len(mass))
