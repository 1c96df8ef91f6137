"""Per-strategy summaries of a run: accuracy with intervals, paired comparisons, transitions.

Example:
    >>> from mistakelab.core.types import Result
    >>> rs = [Result(problem_id=str(i), strategy="cot", model="m", task="t",
    ...              final_answer="1", correct=i % 2 == 0, first_correct=i % 2 == 0) for i in range(4)]
    >>> [round(r.accuracy, 2) for r in summarize(rs)]
    [0.5]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mistakelab.core.types import Result
from mistakelab.metrics.rounds import cumulative_accuracy, turns_to_success
from mistakelab.metrics.selfcorrect import self_correction
from mistakelab.metrics.stats import PairedDiff, mean_interval, paired_difference, wilson_interval


@dataclass(frozen=True)
class StrategySummary:
    model: str
    task: str
    strategy: str
    n: int
    correct: int
    accuracy: float
    ci: tuple[float, float]
    vs_baseline: PairedDiff | None  # paired difference to the first strategy of its group
    baseline: str | None
    wrong_to_right: int
    right_to_wrong: int
    pass_at_k: float | None
    pass_ci: tuple[float, float] | None
    mean_tokens: float
    tokens_ci: tuple[float, float]  # 95% interval of the mean tokens per problem
    mean_completion_tokens: float
    mean_seconds: float
    mean_calls: float
    oracle: bool
    failed: int  # units that produced no answer (failed calls); never in n or accuracy
    #: mean tokens per problem by model role ("solver", "critic", ...)
    tokens_by_role: dict[str, float]
    #: CL / CS / RSS of first vs final answer with 95% intervals (strategies whose traces
    #: hold several answers; None elsewhere or where undefined), see metrics.selfcorrect
    cl: float | None = None
    cl_ci: tuple[float, float] | None = None
    cs: float | None = None
    cs_ci: tuple[float, float] | None = None
    rss: float | None = None
    rss_ci: tuple[float, float] | None = None
    #: share solved within the first i+1 ATTEMPT answers (multi-round strategies), and the
    #: mean number of answers up to the first correct one
    cumulative: list[float] | None = None
    turns_to_success: float | None = None


def summarize(results: list[Result], strategy_order: list[str] | None = None) -> list[StrategySummary]:
    """One row per (model, task, strategy), in ``strategy_order`` (else first-seen order).

    The first strategy of each (model, task) group is the baseline of the paired
    differences; only problems that both strategies finished are paired. Failed units are
    counted apart (``failed``) and left out of everything else.
    """
    groups: dict[tuple[str, str], dict[str, dict[str, Result]]] = {}
    failed: dict[tuple[str, str, str], int] = {}
    for r in results:
        if r.status == "failed":
            failed[(r.model, r.task, r.strategy)] = failed.get((r.model, r.task, r.strategy), 0) + 1
            groups.setdefault((r.model, r.task), {}).setdefault(r.strategy, {})
            continue
        groups.setdefault((r.model, r.task), {}).setdefault(r.strategy, {})[r.problem_id] = r
    rows: list[StrategySummary] = []
    for (model, task), by_strategy in groups.items():
        names = list(by_strategy)
        if strategy_order:
            names.sort(key=lambda s: strategy_order.index(s) if s in strategy_order else len(strategy_order))
        base = names[0]
        for name in names:
            rs = list(by_strategy[name].values())
            n = len(rs)
            k = sum(r.correct for r in rs)
            vs = None
            if name != base:
                common = [pid for pid in by_strategy[name] if pid in by_strategy[base]]
                vs = paired_difference([by_strategy[base][p].correct for p in common],
                                       [by_strategy[name][p].correct for p in common])
            w2r = sum(1 for r in rs if r.first_correct is False and r.correct)
            r2w = sum(1 for r in rs if r.first_correct is True and not r.correct)
            sampled = [r for r in rs if r.pass_at_k is not None]
            pk = sum(r.pass_at_k for r in sampled) if sampled else None
            rows.append(StrategySummary(
                model=model, task=task, strategy=name, n=n, correct=k,
                accuracy=k / n if n else 0.0, ci=wilson_interval(k, n),
                vs_baseline=vs, baseline=None if name == base else base,
                wrong_to_right=w2r, right_to_wrong=r2w,
                pass_at_k=(pk / len(sampled)) if sampled else None,
                pass_ci=wilson_interval(pk, len(sampled)) if sampled else None,
                mean_tokens=sum(r.tokens for r in rs) / max(n, 1),
                tokens_ci=mean_interval([float(r.tokens) for r in rs])[1:],
                mean_completion_tokens=sum(r.completion_tokens for r in rs) / max(n, 1),
                mean_seconds=sum(r.seconds for r in rs) / max(n, 1),
                mean_calls=sum(r.calls for r in rs) / max(n, 1),
                oracle=any(r.used_gold for r in rs),
                failed=failed.get((model, task, name), 0),
                tokens_by_role=_tokens_by_role(rs),
                **_revisions(rs),
            ))
    return rows


def _revisions(rs: list[Result]) -> dict[str, Any]:
    """Self-correction and per-round fields, for strategies with more than one answer."""
    rounds = any(len(r.attempts) > 1 for r in rs)
    if not (rounds or any(r.pass_at_k is not None for r in rs)):
        return {}
    pairs = [(r.first_correct, r.correct) for r in rs if r.first_correct is not None]
    sc = self_correction([a for a, _ in pairs], [b for _, b in pairs])
    out: dict[str, Any] = {"cl": sc.cl, "cl_ci": sc.cl_ci if sc.cl is not None else None,
                           "cs": sc.cs, "cs_ci": sc.cs_ci if sc.cs is not None else None,
                           "rss": sc.rss, "rss_ci": sc.rss_ci}
    if rounds:
        out.update(cumulative=cumulative_accuracy(rs), turns_to_success=turns_to_success(rs))
    return out


def _tokens_by_role(rs: list[Result]) -> dict[str, float]:
    totals: dict[str, int] = {}
    for r in rs:
        for role, u in r.usage.items():
            totals[role] = totals.get(role, 0) + u.tokens
    return {role: t / max(len(rs), 1) for role, t in totals.items()}
