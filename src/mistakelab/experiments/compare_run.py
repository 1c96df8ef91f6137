"""A stored run compared at equal tokens: for each (model, task), self-consistency's curve
from its own samples and every strategy's point against it, plus the paired difference to a
baseline strategy (``cot`` when the run has it). See :mod:`.equal_tokens` for the method.

Example:
    >>> import asyncio, tempfile
    >>> from mistakelab.runner import parse_config, run_experiment
    >>> from mistakelab.store import RunStore
    >>> outs = ["\\\\boxed{1}", "\\\\boxed{2}", "\\\\boxed{1}", "\\\\boxed{1}"] * 2
    >>> cfg = parse_config({"store": tempfile.mkdtemp() + "/r.db", "n_problems": 2, "concurrency": 1,
    ...     "models": [{"backend": "scripted", "model": "fake", "options": {"outputs": outs}}],
    ...     "tasks": [{"name": "gsm8k_sample"}],
    ...     "strategies": [{"name": "cot"}, {"name": "self_consistency", "k": 3}]})
    >>> summary = asyncio.run(run_experiment(cfg))
    >>> (group,) = compare_run(RunStore(cfg.store), summary.run_id, n_boot=50)
    >>> group.sc_label, [row.strategy for row in group.rows], len(group.curve)
    ('self_consistency(k=3)', ['cot', 'self_consistency(k=3)'], 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mistakelab.core.trace import AnswerKind, Trace
from mistakelab.core.types import Result
from mistakelab.experiments.equal_tokens import EqualTokens, Sample, at_equal_tokens, sc_curve
from mistakelab.metrics.stats import PairedDiff, paired_difference, wilson_interval
from mistakelab.store import StoredRun
from mistakelab.strategies.base import StrategySpec


@dataclass(frozen=True)
class CompareRow:
    strategy: str
    n: int
    accuracy: float
    ci: tuple[float, float]
    tokens: float
    vs_baseline: PairedDiff | None
    equal: EqualTokens | None  # None for SC itself or without an SC in the group
    oracle: bool


@dataclass(frozen=True)
class CompareGroup:
    model: str
    task: str
    sc_label: str | None
    baseline: str | None
    curve: list[tuple[int, float, float]]  # (m, mean tokens, maj@m) over SC's problems
    rows: list[CompareRow]


def _sc_samples(trace: Trace, key: Any) -> list[Sample]:
    out = []
    for a in trace.answers_of(AnswerKind.SAMPLE):
        c = trace.calls[a.call].completion if a.call is not None and a.call < len(trace.calls) else None
        tokens = (c.prompt_tokens + c.completion_tokens) if c is not None else 0
        out.append((None if a.extracted is None else key(a.extracted), bool(a.correct), tokens))
    return out


def compare_run(store: Any, run_id: str, baseline: str | None = None, n_boot: int = 2000,
                seed: int = 0) -> list[CompareGroup]:
    """One :class:`CompareGroup` per (model, task) of the run (done units only)."""
    run = StoredRun.open(store, run_id)
    specs = [StrategySpec.model_validate(s) for s in run.config.get("strategies", [])]
    order = run.strategy_labels
    sc_labels = [s for s in specs if s.name == "self_consistency"]
    sc_label = max(sc_labels, key=lambda s: s.resolve()[1].k).label if sc_labels else None  # type: ignore[attr-defined]
    base = baseline or next((s.label for s in specs if s.name == "cot"), order[0] if order else None)
    tasks = {label: run.task(label) for label in run.task_specs}
    done: dict[tuple[str, str], dict[str, dict[str, tuple[str, Result]]]] = {}
    for u in run.units():
        if u.result is not None and u.result.status == "done":
            done.setdefault((u.model, u.task), {}).setdefault(u.strategy, {})[u.problem_id] = (u.unit_key, u.result)
    groups = []
    for (model, task), by in done.items():
        curve, sc = None, by.get(sc_label or "", {})
        if sc:
            key = tasks[task].answer_key if task in tasks else (lambda a: a)
            sc_ids = list(sc)
            samples = {pid: _sc_samples(run.trace(sc[pid][0]), key) for pid in sc_ids}
            curve = (sc_ids, sc_curve([samples[p] for p in sc_ids], seed=seed))
        rows = []
        for name in sorted(by, key=lambda s: order.index(s) if s in order else len(order)):
            rs = by[name]
            ids = list(rs)
            k = sum(rs[p][1].correct for p in ids)
            vs = None
            if base in by and name != base:
                common = [p for p in ids if p in by[base]]
                vs = paired_difference([by[base][p][1].correct for p in common], [rs[p][1].correct for p in common])
            equal = None
            if curve is not None and name != sc_label:
                common = [p for p in curve[0] if p in rs]
                if common:
                    sub = curve[1].subset([curve[0].index(p) for p in common])
                    equal = at_equal_tokens(sub, [rs[p][1].correct for p in common],
                                            [rs[p][1].tokens for p in common], n_boot=n_boot, seed=seed)
            rows.append(CompareRow(name, len(ids), k / len(ids), wilson_interval(k, len(ids)),
                                   sum(rs[p][1].tokens for p in ids) / len(ids), vs, equal,
                                   any(rs[p][1].used_gold for p in ids)))
        points = [] if curve is None else [(m + 1, float(t), float(a)) for m, (t, a) in
                                           enumerate(zip(curve[1].tokens(), curve[1].accuracy()))]
        groups.append(CompareGroup(model, task, sc_label if curve else None, base if base in by else None,
                                   points, rows))
    return groups
