"""Run an experiment: every (model, task, strategy, problem) unit, resumable.

Re-running the same config resumes its run: finished units are skipped, and the calls of
an interrupted unit come back from the completion cache, so a ``kill -9`` loses at most the
calls that were in flight.

Example:
    >>> import asyncio, tempfile
    >>> from mistakelab.runner.config import parse_config
    >>> cfg = parse_config({"store": tempfile.mkdtemp() + "/r.db", "n_problems": 2,
    ...     "models": [{"backend": "scripted", "model": "fake", "options": {"outputs": ["\\\\boxed{1}"] * 2}}],
    ...     "tasks": [{"name": "gsm8k_sample"}], "strategies": [{"name": "cot"}]})
    >>> summary = asyncio.run(run_experiment(cfg))
    >>> summary.units_done
    2
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from mistakelab.backends.base import Backend, ModelSpec, create_backend
from mistakelab.backends.scripted import ScriptExhausted
from mistakelab.core.types import Problem, Trace
from mistakelab.runner.config import ExperimentConfig
from mistakelab.runner.gateway import CallStats, ModelCaller, UnitGateway
from mistakelab.runner.results import build_result
from mistakelab.store.db import RunStore
from mistakelab.strategies import DEFAULT_PROMPTS, StrategyContext, StrategySpec
from mistakelab.tasks.base import Task, create_task


@dataclass
class RunSummary:
    run_id: str
    store_path: Path
    units_total: int
    units_done: int  # done in this invocation
    units_skipped: int  # already done before
    unit_errors: list[str] = field(default_factory=list)
    calls_made: int = 0
    calls_cached: int = 0
    seconds: float = 0.0


def cache_identity(spec: ModelSpec) -> str:
    """The model part of the completion-cache key, known without loading the model."""
    ident = f"{spec.backend}:{spec.model}"
    if spec.backend == "openai":
        ident += "@" + str(spec.options.get("base_url", "default"))
    if spec.options.get("cache_tag"):
        ident += "#" + str(spec.options["cache_tag"])
    return ident


def git_revision() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, cwd=Path(__file__).parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def unit_key(model: str, task: str, strategy: str, problem_id: str) -> str:
    return f"{model}|{task}|{strategy}|{problem_id}"


@dataclass
class _Unit:
    key: str
    model: ModelSpec
    task_label: str
    task: Task
    problem: Problem
    strategy: StrategySpec


async def run_experiment(
    cfg: ExperimentConfig,
    *,
    backend_factory: Callable[[ModelSpec], Backend] | None = None,
    progress: Callable[[str, Any], None] | None = None,
    store: RunStore | None = None,
) -> RunSummary:
    """Run (or resume) ``cfg``; ``backend_factory`` replaces the registry (tests, notebooks).

    ``progress(event, payload)`` receives ``("start", total)``, ``("unit", result)`` and
    ``("calls", CallStats)`` events.
    """
    t0 = time.perf_counter()
    own_store = store is None
    store = store or RunStore(cfg.store)
    run_id = cfg.run_id()
    store.create_run(run_id, cfg.name, cfg.model_dump(mode="json", by_alias=True), git_revision())
    factory = backend_factory or create_backend
    notify = progress or (lambda event, payload: None)

    # Validate every strategy's parameters once, before any model work.
    resolved = {s.label: s.resolve() for s in cfg.strategies}
    chain = {label: (sdef.chain(params) if sdef.chain else 1) for label, (sdef, params) in resolved.items()}
    units: list[_Unit] = []
    for tspec in cfg.tasks:
        task = create_task(tspec.name, tspec.options)
        problems = store.load_problems(run_id, tspec.label)
        if not problems:  # first time: generate and freeze the problem set for this run
            problems = task.load(tspec.n or cfg.n_problems, cfg.seed if tspec.seed is None else tspec.seed)
            store.save_problems(run_id, tspec.label, problems)
        for p in problems:
            for m in cfg.models:
                for s in cfg.strategies:
                    units.append(_Unit(unit_key(m.label, tspec.label, s.label, p.id), m, tspec.label, task, p, s))

    done_before = store.finished_units(run_id)
    pending = [u for u in units if u.key not in done_before]
    # Longest chains first (stable: problem order kept within a length).
    pending.sort(key=lambda u: chain[u.strategy.label], reverse=True)
    notify("start", len(units))
    for _ in range(len(units) - len(pending)):
        notify("skip", None)

    stats = CallStats()
    stats.listeners.append(lambda st: notify("calls", st))
    callers = {
        m.label: ModelCaller(lambda m=m: factory(m), cache_identity(m), store, run_id, stats)
        for m in cfg.models
    }
    base_params = cfg.generation.params()
    prompts = {**DEFAULT_PROMPTS, **cfg.prompts}
    sem = asyncio.Semaphore(cfg.concurrency)
    summary = RunSummary(run_id, Path(cfg.store), len(units), 0, len(units) - len(pending))

    async def run_unit(u: _Unit) -> None:
        async with sem:
            sdef, params = resolved[u.strategy.label]
            trace = Trace(strategy=u.strategy.label, problem_id=u.problem.id, model=u.model.label)
            ctx = StrategyContext(problem=u.problem, task=u.task, gateway=UnitGateway(callers[u.model.label], u.key),
                                  trace=trace, params=base_params, prompts=prompts, seed=cfg.seed)
            start = time.perf_counter()
            try:
                await sdef.fn(ctx, params)
            except ScriptExhausted:
                raise
            except Exception as exc:  # noqa: BLE001 - one broken unit must not stop the run
                summary.unit_errors.append(f"{u.key}: {type(exc).__name__}: {exc}")
                notify("unit_error", u.key)
                return
            result = build_result(trace, u.task_label, time.perf_counter() - start, oracle=sdef.oracle)
            store.save_unit(run_id, u.key, result, trace)
            summary.units_done += 1
            notify("unit", result)

    try:
        await asyncio.gather(*(run_unit(u) for u in pending))
    finally:
        for c in callers.values():
            await c.aclose()
        complete = len(store.finished_units(run_id)) == len(units)
        store.set_status(run_id, "complete" if complete else "incomplete")
        summary.calls_made, summary.calls_cached = stats.made, stats.cached
        summary.seconds = time.perf_counter() - t0
        if own_store:
            store.close()
    return summary
