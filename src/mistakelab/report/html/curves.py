"""Curves the plots draw: self-consistency's maj@m from its stored samples, and transitions.

maj@m is the accuracy of the majority vote over m of the k stored samples, averaged over
every m-subset (or, when there are more than ``max_subsets``, over that many drawn with a
fixed seed); within a subset, ties go to the earliest sample, as in the strategy. Its 95%
interval is a normal interval over problems of the per-problem expected accuracies; at
m = k it is the strategy's own accuracy.

Example:
    >>> pts = majority_curve([[("3", False), ("4", True), ("4", True)]], tokens=[30.0])
    >>> [(p.m, round(p.accuracy, 3), p.tokens) for p in pts]
    [(1, 0.667, 10.0), (2, 0.333, 20.0), (3, 1.0, 30.0)]
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from itertools import combinations
from typing import Callable

from mistakelab.core.events import VoteEvent
from mistakelab.core.trace import AnswerKind
from mistakelab.report.html.data import Unit
from mistakelab.strategies.kit.voting import majority

Sample = tuple[str | None, bool]  # extracted answer, correct


@dataclass(frozen=True)
class CurvePoint:
    m: int
    n: int  # problems
    accuracy: float
    low: float
    high: float
    tokens: float  # mean tokens per problem for m samples


def _subsets(k: int, m: int, max_subsets: int, rng: random.Random) -> list[tuple[int, ...]]:
    if math.comb(k, m) <= max_subsets:
        return list(combinations(range(k), m))
    return [tuple(sorted(rng.sample(range(k), m))) for _ in range(max_subsets)]


def _vote_correct(samples: list[Sample], idx: tuple[int, ...], key: Callable[[str], str]) -> bool:
    chosen = [samples[i] for i in idx]
    winner = majority([a for a, _ in chosen], key=key)
    if winner is None:
        return False
    return next(ok for a, ok in chosen if a is not None and key(a) == key(winner))


def majority_curve(problems: list[list[Sample]], tokens: list[float], key: Callable[[str], str] = lambda a: a,
                   max_subsets: int = 200, seed: int = 0) -> list[CurvePoint]:
    """maj@m for m = 1..k (k: the fewest samples any problem has) with tokens m/k of each
    problem's own."""
    if not problems:
        return []
    k = min(len(s) for s in problems)
    rng = random.Random(seed)
    out = []
    for m in range(1, k + 1):
        per = []
        for samples in problems:
            subs = _subsets(len(samples), m, max_subsets, rng)
            per.append(sum(_vote_correct(samples, s, key) for s in subs) / len(subs))
        n = len(per)
        mean = sum(per) / n
        sd = math.sqrt(sum((p - mean) ** 2 for p in per) / (n - 1)) if n > 1 else 0.0
        half = 1.96 * sd / math.sqrt(n)
        out.append(CurvePoint(m, n, mean, max(0.0, mean - half), min(1.0, mean + half),
                              sum(t * m / len(s) for t, s in zip(tokens, problems)) / n))
    return out


def vote_samples(unit: Unit) -> list[Sample] | None:
    """A voting unit's samples (answer, correct), or None when the unit did not vote."""
    t = unit.trace
    if t is None or not unit.done or not t.events_of(VoteEvent):
        return None
    samples = [(a.extracted, bool(a.correct)) for a in t.answers_of(AnswerKind.SAMPLE)]
    return samples if len(samples) > 1 else None


TRANSITIONS = ("right→right", "wrong→right", "right→wrong", "wrong→wrong", "no first answer")


def transitions(units: list[Unit]) -> dict[str, int]:
    """Counts of first-solution → final-answer outcomes over done units."""
    out = dict.fromkeys(TRANSITIONS, 0)
    for u in units:
        r = u.row.result
        if r is None or r.status != "done":
            continue
        if r.first_correct is None:
            out["no first answer"] += 1
        else:
            out[f"{'right' if r.first_correct else 'wrong'}→{'right' if r.correct else 'wrong'}"] += 1
    return out
