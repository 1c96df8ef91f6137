"""ProcessBench metrics for earliest-error locators.

``acc_err``: accuracy on records whose label is a step index (an error exists);
``acc_cor``: accuracy on records labeled -1 (no error); ``F1`` their harmonic mean. A
prediction of None (unparseable output) is wrong on both kinds.

Example:
    >>> s = score_locator([2, -1, 0, -1], [2, -1, 1, 3])
    >>> (s.acc_err, s.acc_cor, round(s.f1, 3))
    (0.5, 0.5, 0.5)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from mistakelab.metrics.stats import wilson_interval


def f1_score(acc_err: float, acc_cor: float) -> float:
    """Harmonic mean of the two accuracies (0 when both are 0)."""
    return 0.0 if acc_err + acc_cor == 0 else 2 * acc_err * acc_cor / (acc_err + acc_cor)


@dataclass(frozen=True)
class LocatorScore:
    n_err: int
    n_cor: int
    acc_err: float
    acc_cor: float
    f1: float
    acc_err_ci: tuple[float, float]
    acc_cor_ci: tuple[float, float]
    f1_ci: tuple[float, float]
    #: on records with an error: predicted before the true step, at it, after it,
    #: "no error" (-1) and no prediction at all; on correct records: false alarms.
    confusion: dict[str, int] = field(default_factory=dict)


def confusion(labels: list[int], preds: list[int | None]) -> dict[str, int]:
    out = {"early": 0, "exact": 0, "late": 0, "missed": 0, "no_prediction": 0,
           "correct_kept": 0, "false_alarm": 0}
    for y, p in zip(labels, preds):
        if p is None:
            out["no_prediction"] += 1
        elif y == -1:
            out["correct_kept" if p == -1 else "false_alarm"] += 1
        elif p == -1:
            out["missed"] += 1
        else:
            out["early" if p < y else "exact" if p == y else "late"] += 1
    return out


def score_locator(labels: list[int], preds: list[int | None], n_boot: int = 2000, seed: int = 0) -> LocatorScore:
    """acc_err, acc_cor, F1 with 95% intervals (Wilson for the accuracies, a seeded
    percentile bootstrap over records, stratified by kind, for F1)."""
    if len(labels) != len(preds):
        raise ValueError(f"labels and predictions differ in length: {len(labels)} vs {len(preds)}")
    err = [p == y for y, p in zip(labels, preds) if y != -1]
    cor = [p == -1 for y, p in zip(labels, preds) if y == -1]
    acc_err = sum(err) / len(err) if err else 0.0
    acc_cor = sum(cor) / len(cor) if cor else 0.0
    rng = random.Random(seed)
    boots = []
    if err and cor:
        for _ in range(n_boot):
            e = sum(rng.choice(err) for _ in err) / len(err)
            c = sum(rng.choice(cor) for _ in cor) / len(cor)
            boots.append(f1_score(e, c))
        boots.sort()
        f1_ci = (boots[int(0.025 * n_boot)], boots[min(n_boot - 1, int(0.975 * n_boot))])
    else:
        f1_ci = (0.0, 1.0)
    return LocatorScore(
        n_err=len(err), n_cor=len(cor), acc_err=acc_err, acc_cor=acc_cor,
        f1=f1_score(acc_err, acc_cor),
        acc_err_ci=wilson_interval(sum(err), len(err)), acc_cor_ci=wilson_interval(sum(cor), len(cor)),
        f1_ci=f1_ci, confusion=confusion(labels, preds),
    )
