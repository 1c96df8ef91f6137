"""Calibration of a confidence signal against correctness: AUROC, ECE, selective accuracy.

Example:
    >>> auroc([0.9, 0.8, 0.3, 0.1], [True, True, False, False])
    1.0
    >>> round(expected_calibration_error([0.9, 0.9], [True, False], n_bins=10).ece, 2)
    0.4
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def _finite(scores: list[float | None], correct: list[bool]) -> tuple[list[float], list[bool]]:
    if len(scores) != len(correct):
        raise ValueError(f"scores and labels differ in length: {len(scores)} vs {len(correct)}")
    pairs = [(s, c) for s, c in zip(scores, correct) if s is not None and math.isfinite(s)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def auroc(scores: list[float | None], correct: list[bool]) -> float | None:
    """Probability that a random correct answer outscores a random wrong one (ties count ½).

    Computed from ranks (Mann-Whitney U) with average ranks for ties. Missing or non-finite
    scores are dropped. None when either class is empty.
    """
    s, c = _finite(scores, correct)
    pos, neg = sum(c), len(c) - sum(c)
    if pos == 0 or neg == 0:
        return None
    order = sorted(range(len(s)), key=lambda i: s[i])
    ranks = [0.0] * len(s)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and s[order[j + 1]] == s[order[i]]:
            j += 1
        avg = (i + j) / 2 + 1  # ranks are 1-based
        for k in range(i, j + 1):
            ranks[order[k]] = avg
        i = j + 1
    rank_sum = sum(r for r, ok in zip(ranks, c) if ok)
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


@dataclass(frozen=True)
class CalibrationBin:
    low: float
    high: float
    n: int
    mean_confidence: float
    accuracy: float


@dataclass(frozen=True)
class ECEResult:
    """Expected calibration error with ``n_bins`` equal-width bins over [0, 1] (the binning
    is part of the result: ECE depends on it)."""

    ece: float
    n: int
    n_bins: int
    bins: list[CalibrationBin]


def expected_calibration_error(probs: list[float | None], correct: list[bool], n_bins: int = 10) -> ECEResult:
    """ECE = Σ_b (n_b / n) · |acc_b − conf_b| over equal-width bins of the confidence.

    ``probs`` must be probabilities in [0, 1]; map raw signals first (e.g. with
    :func:`minmax_to_unit`) and say so where the number is shown. Bins are [i/B, (i+1)/B),
    the last one closed.
    """
    p, c = _finite(probs, correct)
    if any(x < 0 or x > 1 for x in p):
        raise ValueError("ECE needs probabilities in [0, 1]")
    bins: list[CalibrationBin] = []
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        idx = [i for i, x in enumerate(p) if lo <= x < hi or (b == n_bins - 1 and x == 1.0)]
        if not idx:
            continue
        conf = sum(p[i] for i in idx) / len(idx)
        acc = sum(c[i] for i in idx) / len(idx)
        total += len(idx) / len(p) * abs(acc - conf)
        bins.append(CalibrationBin(lo, hi, len(idx), conf, acc))
    return ECEResult(total if p else 0.0, len(p), n_bins, bins)


def minmax_to_unit(scores: list[float | None]) -> list[float | None]:
    """Rescale finite scores linearly to [0, 1] (for ECE of signals that are not probabilities)."""
    vals = [s for s in scores if s is not None and math.isfinite(s)]
    if not vals:
        return list(scores)
    lo, hi = min(vals), max(vals)
    span = hi - lo
    return [None if s is None or not math.isfinite(s) else (0.5 if span == 0 else (s - lo) / span)
            for s in scores]


@dataclass(frozen=True)
class SelectivePoint:
    coverage: float  # share of questions answered
    n: int
    accuracy: float


def selective_accuracy(scores: list[float | None], correct: list[bool],
                       coverages: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 1.0)) -> list[SelectivePoint]:
    """Accuracy when answering only the top x% most confident (ties broken by input order)."""
    s, c = _finite(scores, correct)
    order = sorted(range(len(s)), key=lambda i: -s[i])
    points = []
    for cov in coverages:
        k = max(1, round(cov * len(order))) if order else 0
        chosen = order[:k]
        acc = sum(c[i] for i in chosen) / k if k else 0.0
        points.append(SelectivePoint(cov, k, acc))
    return points
