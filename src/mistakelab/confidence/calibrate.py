"""Collect answers with confidence signals and measure how well each signal predicts
correctness (AUROC, ECE, selective accuracy).

Example:
    >>> rows = [SignalRow("p", 0, True, {"s": 2.0}), SignalRow("q", 0, False, {"s": 1.0})]
    >>> report = calibration_report(rows)
    >>> report["s"].auroc
    1.0
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from mistakelab.confidence.signals import SIGNALS, agreement
from mistakelab.confidence.verdict import critic_verdict
from mistakelab.core.types import Completion, GenParams, Problem
from mistakelab.metrics.calibration import (
    ECEResult,
    SelectivePoint,
    auroc,
    expected_calibration_error,
    minmax_to_unit,
    selective_accuracy,
)
from mistakelab.tasks.base import Task


@dataclass
class SignalRow:
    problem_id: str
    sample: int
    correct: bool
    signals: dict[str, float | None]


@dataclass
class SignalReport:
    name: str
    n: int  # completions with the signal available
    missing: int
    auroc: float | None
    auroc_ci: tuple[float, float] | None  # problem-clustered bootstrap, 95%
    ece: ECEResult | None
    ece_scaling: str
    selective: list[SelectivePoint]
    missing_reason: str = ""


async def collect_signals(task: Task, problems: list[Problem], caller, k: int, params: GenParams,  # type: ignore[no-untyped-def]
                          concurrency: int = 8, critic=None) -> list[SignalRow]:
    """k samples per problem (with per-token data), each with every signal it supports;
    with a ``critic`` caller, also the critic's verdict on each sample."""
    sem = asyncio.Semaphore(concurrency)
    params = params.with_(logprobs=True)

    async def one(p: Problem) -> list[SignalRow]:
        async with sem:
            seeds = [hash_seed(p.id, i) for i in range(k)]
            outs = await caller.sample(f"calibrate|{p.id}", "sample", task.prompt(p), params, seeds)
        answers = [task.extract(o.text).text if o.ok else None for o in outs]
        agree = agreement(answers, key=task.answer_key)
        async def verdict(i: int, o: Completion) -> float | None:  # a failed sample gets none
            return (await critic_verdict(critic, f"calibrate|{p.id}|{i}", p.question, o.text)).value if o.ok else None

        verdicts: list[float | None] = [None] * len(outs)
        if critic is not None:
            async with sem:
                verdicts = list(await asyncio.gather(*(verdict(i, o) for i, o in enumerate(outs))))
        rows = []
        for i, (o, a) in enumerate(zip(outs, agree)):
            sig: dict[str, float | None] = {name: fn(o).value for name, fn in SIGNALS.items()}
            sig["agreement"] = a.value
            if critic is not None:
                sig["critic_verdict"] = verdicts[i]
            rows.append(SignalRow(p.id, i, o.ok and task.verify(p, o.text).correct, sig))
        return rows

    nested = await asyncio.gather(*(one(p) for p in problems))
    return [r for rows in nested for r in rows]


PROBABILITY_SIGNALS = {"agreement", "critic_verdict"}


def auroc_interval(scores: list[float | None], correct: list[bool], clusters: list[str], n_boot: int = 1000,
                   seed: int = 0) -> tuple[float, float] | None:
    """95% percentile interval of AUROC, resampling whole problems (their k samples are not
    independent). Replicates with one class only are skipped; None if too few remain."""
    import random

    by: dict[str, list[int]] = {}
    for i, c in enumerate(clusters):
        by.setdefault(c, []).append(i)
    groups = list(by.values())
    rng = random.Random(seed)
    stats = []
    for _ in range(n_boot):
        idx = [i for _ in groups for i in rng.choice(groups)]
        a = auroc([scores[i] for i in idx], [correct[i] for i in idx])
        if a is not None:
            stats.append(a)
    if len(stats) < n_boot // 2:
        return None
    stats.sort()
    return stats[int(0.025 * (len(stats) - 1))], stats[int(0.975 * (len(stats) - 1))]


def hash_seed(problem_id: str, i: int) -> int:
    import hashlib

    return int(hashlib.sha256(f"{problem_id}|{i}".encode()).hexdigest()[:8], 16) % (2**31 - 1)


def calibration_report(rows: list[SignalRow], n_bins: int = 10, n_boot: int = 1000,
                       seed: int = 0) -> dict[str, SignalReport]:
    """AUROC (with a bootstrap interval over problems), ECE and selective accuracy per signal.
    ECE uses the raw value for signals that are probabilities (agreement, critic verdict) and a
    min-max rescaling to [0, 1] otherwise (stated in ``ece_scaling``)."""
    names = sorted({k for r in rows for k in r.signals})
    out = {}
    for name in names:
        vals = [r.signals.get(name) for r in rows]
        labels = [r.correct for r in rows]
        have = [v for v in vals if v is not None]
        if not have:
            out[name] = SignalReport(name, 0, len(vals), None, None, None, "", [],
                                     "unavailable from this backend (needs full distribution or logprobs)")
            continue
        is_prob = name in PROBABILITY_SIGNALS
        probs = vals if is_prob else minmax_to_unit(vals)
        out[name] = SignalReport(
            name, len(have), len(vals) - len(have), auroc(vals, labels),
            auroc_interval(vals, labels, [r.problem_id for r in rows], n_boot, seed),
            expected_calibration_error(probs, labels, n_bins),
            "raw (a probability)" if is_prob else "min-max rescaled to [0,1]",
            selective_accuracy(vals, labels),
        )
    return out
