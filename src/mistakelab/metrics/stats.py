"""Interval statistics: Wilson score intervals and Newcombe's paired difference.

Example:
    >>> lo, hi = wilson_interval(7, 10)
    >>> round(lo, 3), round(hi, 3)
    (0.397, 0.892)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (no continuity correction)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class PairedDiff:
    """Difference of two paired proportions (B minus A) with its 95% interval.

    ``b_only`` = problems only B got right, ``a_only`` = only A got right (the discordant
    pairs that McNemar's test uses).
    """

    n: int
    diff: float
    low: float
    high: float
    a_only: int
    b_only: int


def paired_difference(a: list[bool], b: list[bool], z: float = Z95) -> PairedDiff:
    """Newcombe's (1998, method 10) interval for p_b - p_a on the same problems.

    Example:
        >>> d = paired_difference([True, False, False, True], [True, True, False, True])
        >>> d.diff, d.b_only, d.a_only
        (0.25, 1, 0)
    """
    if len(a) != len(b):
        raise ValueError(f"paired difference needs equal lengths, got {len(a)} and {len(b)}")
    n = len(a)
    if n == 0:
        return PairedDiff(0, 0.0, -1.0, 1.0, 0, 0)
    both = sum(1 for x, y in zip(a, b) if x and y)
    a_only = sum(1 for x, y in zip(a, b) if x and not y)
    b_only = sum(1 for x, y in zip(a, b) if y and not x)
    neither = n - both - a_only - b_only
    pa, pb = (both + a_only) / n, (both + b_only) / n
    la, ua = wilson_interval(both + a_only, n, z)
    lb, ub = wilson_interval(both + b_only, n, z)
    denom = (both + a_only) * (neither + b_only) * (both + b_only) * (neither + a_only)
    phi = 0.0 if denom == 0 else (both * neither - a_only * b_only) / math.sqrt(denom)
    diff = pb - pa
    lower = math.sqrt(max(0.0, (pb - lb) ** 2 - 2 * phi * (pb - lb) * (ua - pa) + (ua - pa) ** 2))
    upper = math.sqrt(max(0.0, (ub - pb) ** 2 - 2 * phi * (ub - pb) * (pa - la) + (pa - la) ** 2))
    return PairedDiff(n, diff, max(-1.0, diff - lower), min(1.0, diff + upper), a_only, b_only)


def mean_interval(values: list[float], z: float = Z95) -> tuple[float, float, float]:
    """(mean, low, high): the mean with its 95% normal-approximation interval
    (``z * sd / sqrt(n)``; sd with Bessel's correction). One value: an interval of width 0.

    Example:
        >>> m, lo, hi = mean_interval([100.0, 200.0, 300.0])
        >>> m, round(lo, 1), round(hi, 1)
        (200.0, 86.8, 313.2)
    """
    n = len(values)
    if n == 0:
        return (0.0, 0.0, 0.0)
    mean = sum(values) / n
    if n == 1:
        return (mean, mean, mean)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = z * sd / math.sqrt(n)
    return (mean, mean - half, mean + half)
