"""Confidence signals of final answers, from what a run's traces already hold.

Runs store no confidence scores of their own, so the report derives the ones it can:

* ``agreement``: the winner's share of the votes (strategies that vote, e.g. self-consistency):
  the share of samples whose answer is equivalent to the final one;
* ``critique_verdict``: 1 when the last critique said the (final) solution is correct, else 0;
* ``self_certainty``, ``neg_entropy``, ``mean_logprob``: of the call whose text holds the final
  answer, when that call was made with per-token data (``logprobs``; the full-distribution
  ones need the local backend).

Each signal is measured against final-answer correctness as ``mistakelab calibrate`` does
(AUROC, ECE, selective accuracy, from :mod:`mistakelab.metrics.calibration`); with one answer
per problem the AUROC interval is Hanley-McNeil's. What is missing is said, signal by signal.

Example:
    >>> from mistakelab.confidence.calibrate import SignalRow
    >>> rows = [SignalRow("a", 0, True, {"agreement": 1.0}), SignalRow("b", 0, False, {"agreement": 0.5})]
    >>> report = calibration_groups({"sc": rows})[0]
    >>> report.strategy, report.reports["agreement"].auroc
    ('sc', 1.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mistakelab.confidence import SIGNALS
from mistakelab.confidence.calibrate import PROBABILITY_SIGNALS, SignalReport, SignalRow
from mistakelab.core.events import CritiqueEvent, VoteEvent
from mistakelab.core.trace import AnswerKind
from mistakelab.metrics.calibration import auroc, expected_calibration_error, minmax_to_unit, selective_accuracy
from mistakelab.report.html.data import Unit

TOKEN_SIGNALS = tuple(SIGNALS)
PROBABILITY = PROBABILITY_SIGNALS | {"critique_verdict"}
#: fewest right (and wrong) answers for an AUROC interval
MIN_CLASS = 5


@dataclass
class CalibrationGroup:
    strategy: str
    n: int
    reports: dict[str, SignalReport]
    missing: list[str] = field(default_factory=list)  # why some signals are not there


def unit_signals(u: Unit) -> dict[str, float | None]:
    """The signals this unit's trace supports (absent keys: not applicable)."""
    t = u.trace
    out: dict[str, float | None] = {}
    if t is None:
        return out
    votes = t.events_of(VoteEvent)
    if votes and votes[-1].k:
        total = sum(votes[-1].tally.values()) or votes[-1].k
        out["agreement"] = votes[-1].votes / total  # the winner's share: calibrate's agreement
    crits = t.events_of(CritiqueEvent)
    if crits:
        # the last critique judged the final solution only when it said correct (the loop stops)
        out["critique_verdict"] = 1.0 if crits[-1].verdict else 0.0
    final = [a for a in t.answers if a.kind != AnswerKind.CHECK and a.call is not None]
    if final:
        c = t.calls[final[-1].call].completion  # type: ignore[index]
        if c.logprobs:
            for name, fn in SIGNALS.items():
                out[name] = fn(c).value
    return out


def signal_rows(units: list[Unit]) -> dict[str, list[SignalRow]]:
    """Per strategy on a task (and model, when there are several), one row per done unit
    with at least one signal."""
    models = {u.row.model for u in units}
    out: dict[str, list[SignalRow]] = {}
    for u in units:
        r = u.row.result
        if r is None or r.status != "done":
            continue
        sig = unit_signals(u)
        if sig:
            name = f"{u.row.strategy} on {u.row.task}" + (f" ({u.row.model})" if len(models) > 1 else "")
            out.setdefault(name, []).append(SignalRow(u.row.problem_id, 0, r.correct, sig))
    return out


def auroc_interval(a: float, n_pos: int, n_neg: int) -> tuple[float, float]:
    """95% interval of an AUROC from its Hanley-McNeil standard error (answers here are one
    per problem, so they are independent; no bootstrap needed).

    Example:
        >>> [round(x, 3) for x in auroc_interval(0.8, 50, 50)]
        [0.713, 0.887]
    """
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)) / (n_pos * n_neg)
    half = 1.96 * math.sqrt(max(var, 0.0))
    return max(0.0, a - half), min(1.0, a + half)


def signal_report(name: str, rows: list[SignalRow], n_bins: int = 10) -> SignalReport:
    """AUROC with its interval, ECE (raw for probabilities, else min-max rescaled) and
    selective accuracy of one signal."""
    pairs = [(r.signals[name], r.correct) for r in rows if r.signals.get(name) is not None]
    vals, labels = [v for v, _ in pairs], [c for _, c in pairs]
    if not pairs:
        return SignalReport(name, 0, len(rows), None, None, None, "", [], "no value on any answer")
    a = auroc(vals, labels)  # type: ignore[arg-type]
    pos = sum(labels)
    is_prob = name in PROBABILITY
    return SignalReport(
        name, len(pairs), len(rows) - len(pairs), a,
        # with under 5 answers in a class the normal interval degenerates (width 0 at AUROC 0 or 1)
        None if a is None or min(pos, len(labels) - pos) < MIN_CLASS else auroc_interval(a, pos, len(labels) - pos),
        expected_calibration_error(vals if is_prob else minmax_to_unit(vals), labels, n_bins),  # type: ignore[arg-type]
        "raw (a probability)" if is_prob else "min-max rescaled to [0,1]",
        selective_accuracy(vals, labels),  # type: ignore[arg-type]
    )


def calibration_groups(rows: dict[str, list[SignalRow]], n_bins: int = 10) -> list[CalibrationGroup]:
    out = []
    for group, rs in rows.items():
        names = sorted({k for r in rs for k in r.signals})
        reports = {name: signal_report(name, rs, n_bins) for name in names}
        missing = [f"{name}: {rep.missing_reason}" for name, rep in reports.items() if rep.n == 0]
        if not any(name in reports for name in TOKEN_SIGNALS):
            missing.append("token-level signals (self_certainty, neg_entropy, mean_logprob): the final "
                           "answers' calls were made without per-token data (logprobs)")
        out.append(CalibrationGroup(group, len(rs), {k: v for k, v in reports.items() if v.n}, missing))
    return out
