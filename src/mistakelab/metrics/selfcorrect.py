"""Self-correction metrics (Confidence vs Critique, 2024; METHODS §5): CL, CS and RSS.

Per question the method has P_a = P(c1), P_b = P(c2 | c1) and P_c = P(c2 | not c1), where
c1 / c2 are the correctness of the first and the final answer. We have one sample per
question, so each is estimated by the observed outcome: P_a = c1 (0 or 1), P_b = c2 on the
questions with c1 (a question without c1 weighs 0 in CL), P_c = c2 on those without. Then

- Acc1 = mean(c1), Acc2 = mean(P_a*P_b + (1-P_a)*P_c) = mean(c2);
- confidence level ``CL = sum(P_a*P_b) / sum(P_a)``: the share of first-right answers kept
  right (1 - right→wrong / first right);
- critique score ``CS = sum((1-P_a)*P_c) / sum(1-P_a)``: the share of first-wrong answers
  turned right (wrong→right / first wrong);
- relative self-correction score ``RSS = (Acc2 - Acc1^2) / (2*Acc1*(1-Acc1))`` (0.5 when
  every answer is kept; undefined when Acc1 is 0 or 1).

CL and CS carry Wilson intervals (they are proportions); RSS a percentile bootstrap
interval over questions. :func:`bootstrap_ci` is also what the blind-spot experiment uses.

Example:
    >>> sc = self_correction([True, True, False, False], [True, False, True, False])
    >>> sc.cl, sc.cs, sc.rss, sc.n
    (0.5, 0.5, 0.5, 4)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from mistakelab.metrics.stats import wilson_interval


@dataclass(frozen=True)
class SelfCorrection:
    """CL, CS and RSS of one strategy on n questions (None where undefined), with intervals."""

    n: int
    acc1: float
    acc2: float
    cl: float | None
    cl_ci: tuple[float, float]
    cs: float | None
    cs_ci: tuple[float, float]
    rss: float | None
    rss_ci: tuple[float, float] | None


def rss(c1: Sequence[bool], c2: Sequence[bool]) -> float | None:
    """Relative self-correction score; None when Acc1 is 0 or 1 (or there are no questions).

    Example:
        >>> rss([True, False], [True, True])  # one wrong answer fixed, none broken
        1.5
    """
    if not c1:
        return None
    a1, a2 = sum(c1) / len(c1), sum(c2) / len(c2)
    if a1 in (0.0, 1.0):
        return None
    return (a2 - a1 * a1) / (2 * a1 * (1 - a1))


def bootstrap_ci(stat: Callable[[np.ndarray], float | None], n: int, n_boot: int = 2000, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``stat(indices)`` over ``n`` items resampled with
    replacement; resamples where the statistic is undefined (None) are dropped. None when
    fewer than half of the resamples give a value.

    Example:
        >>> xs = np.array([0, 1] * 20)
        >>> lo, hi = bootstrap_ci(lambda idx: float(xs[idx].mean()), len(xs))
        >>> 0.3 < lo < 0.5 < hi < 0.7
        True
    """
    if n == 0:
        return None
    rng = np.random.default_rng(seed)
    values = [v for v in (stat(rng.integers(0, n, n)) for _ in range(n_boot)) if v is not None]
    if len(values) < n_boot / 2:
        return None
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def self_correction(c1: Sequence[bool], c2: Sequence[bool], n_boot: int = 2000, seed: int = 0) -> SelfCorrection:
    """CL, CS and RSS from the first (``c1``) and final (``c2``) correctness per question."""
    if len(c1) != len(c2):
        raise ValueError(f"self_correction needs equal lengths, got {len(c1)} and {len(c2)}")
    n = len(c1)
    right1 = sum(1 for a in c1 if a)
    kept = sum(1 for a, b in zip(c1, c2) if a and b)
    fixed = sum(1 for a, b in zip(c1, c2) if not a and b)
    x1, x2 = np.array(c1, dtype=bool), np.array(c2, dtype=bool)
    rss_ci = bootstrap_ci(lambda idx: rss(list(x1[idx]), list(x2[idx])), n, n_boot, seed) if n else None
    return SelfCorrection(
        n=n, acc1=right1 / n if n else 0.0, acc2=sum(1 for b in c2 if b) / n if n else 0.0,
        cl=kept / right1 if right1 else None, cl_ci=wilson_interval(kept, right1),
        cs=fixed / (n - right1) if n - right1 else None, cs_ci=wilson_interval(fixed, n - right1),
        rss=rss(c1, c2), rss_ci=rss_ci,
    )
