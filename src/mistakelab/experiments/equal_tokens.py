"""Compare strategies with self-consistency at equal token cost (METHODS §2.1, §2.7).

Self-consistency's k stored samples per problem give its whole accuracy-vs-tokens curve:
maj@m for m = 1..k is the majority vote (its own rule: unparsed samples don't vote, ties go to
the answer seen first) over every size-m subset of the samples, in sample order, averaged
(all subsets while there are at most ``max_subsets``, else that many random ones, seeded);
its tokens at m are the mean tokens of m samples (prompt + completion of each call, as a
strategy's tokens count). Every other strategy's (tokens, accuracy) point is set against the
curve, linearly interpolated at the strategy's mean tokens: "at equal tokens, X is +d points
over SC". The interval is a paired bootstrap over problems (the curve and the point are
recomputed on each resample of the problems both finished). A point cheaper than one sample,
or dearer than k, is compared with maj@1 or maj@k and flagged (``<1``, ``>k``).

Example:
    >>> samples = [[("4", True, 10), ("5", False, 10), ("4", True, 10)],
    ...            [("7", False, 12), (None, False, 8), ("7", False, 10)]]
    >>> curve = sc_curve(samples)
    >>> [round(float(a), 3) for a in curve.accuracy()], [float(t) for t in curve.tokens()]
    ([0.333, 0.333, 0.5], [10.0, 20.0, 30.0])
    >>> d = at_equal_tokens(curve, correct=[True, True], tokens=[25, 25], n_boot=200)
    >>> round(d.sc_accuracy, 3), round(d.diff, 3), round(d.m, 2), d.flag
    (0.417, 0.583, 2.5, '')
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from typing import Sequence

import numpy as np

#: one stored sample: (answer key or None, correct, tokens)
Sample = tuple[str | None, bool, int]


def _maj_correct(subset: Sequence[Sample]) -> bool:
    counts: dict[str, int] = {}
    first_correct: dict[str, bool] = {}
    for key, ok, _ in subset:
        if key is None:
            continue
        counts[key] = counts.get(key, 0) + 1
        first_correct.setdefault(key, ok)
    if not counts:
        return False
    best = max(counts.values())
    return first_correct[next(k for k in counts if counts[k] == best)]  # insertion order: first seen


def _subsets(k: int, m: int, limit: int, rng: random.Random) -> list[tuple[int, ...]]:
    if math.comb(k, m) <= limit:
        return list(itertools.combinations(range(k), m))
    return [tuple(sorted(rng.sample(range(k), m))) for _ in range(limit)]


@dataclass(frozen=True)
class SCCurve:
    """Per problem and per m (1..k): expected maj@m correctness and tokens."""

    acc: np.ndarray  # problems x k
    tok: np.ndarray  # problems x k

    @property
    def k(self) -> int:
        return int(self.acc.shape[1])

    def subset(self, rows: Sequence[int]) -> "SCCurve":
        """The curve of some problems only (rows, in this order)."""
        ix = np.asarray(rows, dtype=int)
        return SCCurve(self.acc[ix], self.tok[ix])

    def accuracy(self, rows: np.ndarray | None = None) -> np.ndarray:
        return (self.acc if rows is None else self.acc[rows]).mean(axis=0)

    def tokens(self, rows: np.ndarray | None = None) -> np.ndarray:
        return (self.tok if rows is None else self.tok[rows]).mean(axis=0)


def sc_curve(samples: Sequence[Sequence[Sample]], max_subsets: int = 2000, seed: int = 0) -> SCCurve:
    """The curve from each problem's samples (every problem needs the same k)."""
    ks = {len(s) for s in samples}
    if len(ks) != 1 or 0 in ks:
        raise ValueError(f"every problem needs the same number (> 0) of samples, got {sorted(ks)}")
    k, rng = ks.pop(), random.Random(seed)
    acc = np.zeros((len(samples), k))
    tok = np.zeros((len(samples), k))
    for p, ss in enumerate(samples):
        for m in range(1, k + 1):
            subsets = _subsets(k, m, max_subsets, rng)
            acc[p, m - 1] = sum(_maj_correct([ss[i] for i in sub]) for sub in subsets) / len(subsets)
            tok[p, m - 1] = m * sum(t for _, _, t in ss) / k
    return SCCurve(acc, tok)


def interpolate(tokens: np.ndarray, accuracy: np.ndarray, at: float) -> tuple[float, float, str]:
    """(SC accuracy at ``at`` tokens, the matching m (fractional), flag ``<1``/``>k``/``""``)."""
    if at <= tokens[0]:
        return float(accuracy[0]), 1.0, "<1" if at < tokens[0] else ""
    if at >= tokens[-1]:
        return float(accuracy[-1]), float(len(tokens)), ">k" if at > tokens[-1] else ""
    j = int(np.searchsorted(tokens, at))  # tokens[j-1] < at <= tokens[j]
    w = (at - tokens[j - 1]) / (tokens[j] - tokens[j - 1])
    return float(accuracy[j - 1] + w * (accuracy[j] - accuracy[j - 1])), float(j + w), ""


@dataclass(frozen=True)
class EqualTokens:
    """A strategy's point against the SC curve on the same ``n`` problems."""

    n: int
    accuracy: float
    tokens: float
    sc_accuracy: float  # SC interpolated at the strategy's tokens
    m: float  # SC samples at equal tokens
    diff: float
    low: float
    high: float
    flag: str


def at_equal_tokens(curve: SCCurve, correct: Sequence[bool], tokens: Sequence[float], n_boot: int = 2000,
                    seed: int = 0) -> EqualTokens:
    """The strategy's accuracy minus SC's at the same mean tokens; rows of ``curve`` and the
    entries of ``correct``/``tokens`` are the same problems, in the same order."""
    ok, tk = np.asarray(correct, dtype=float), np.asarray(tokens, dtype=float)
    n = len(ok)
    if n == 0 or curve.acc.shape[0] != n:
        raise ValueError(f"curve has {curve.acc.shape[0]} problems, the strategy {n}")

    def diff(rows: np.ndarray | None) -> float:
        t = float(tk.mean() if rows is None else tk[rows].mean())
        sc, _, _ = interpolate(curve.tokens(rows), curve.accuracy(rows), t)
        return float(ok.mean() if rows is None else ok[rows].mean()) - sc

    sc, m, flag = interpolate(curve.tokens(), curve.accuracy(), float(tk.mean()))
    rng = np.random.default_rng(seed)
    boots = np.array([diff(rng.integers(0, n, n)) for _ in range(n_boot)])
    low, high = (float(x) for x in np.percentile(boots, [2.5, 97.5]))
    return EqualTokens(n, float(ok.mean()), float(tk.mean()), sc, m, float(ok.mean()) - sc, low, high, flag)
