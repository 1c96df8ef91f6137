"""Run an experiment: every (model, task, strategy, problem) unit, resumable.

Re-running the same config resumes its run: finished units are skipped, and the calls of
an interrupted unit come back from the completion cache, so a ``kill -9`` loses at most the
calls that were in flight. A unit whose model call failed (after the backend's retries) is
stored as *failed*, never as a wrong answer, and is retried on the next run.

Order of work: plan (every config error is raised here, before any model call), then
execute each unit (:func:`~mistakelab.runner.execute.execute_unit`: solve with its strategy,
then grade its recorded answers against the gold answer; the strategy never sees the gold
answer, except through the oracle door), in this process or on Ray workers, then store.

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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from mistakelab.backends.base import Backend, ModelSpec, create_backend
from mistakelab.core.registry import UnknownNameError
from mistakelab.core.trace import Trace
from mistakelab.core.types import Problem, Result, ServerStats
from mistakelab.runner.caller import CallStats, ModelCaller, UnitGateway
from mistakelab.runner.config import ConfigError, ExperimentConfig
from mistakelab.runner.execute import Unit, execute_unit
from mistakelab.runner.plan import PlannedStrategy, check_models, model_key, plan_strategies
from mistakelab.store.db import RunStore
from mistakelab.tasks.base import Task, create_task


@dataclass
class RunSummary:
    run_id: str
    store_path: Path
    units_total: int
    units_done: int  # done in this invocation
    units_skipped: int  # already done before
    unit_errors: list[str] = field(default_factory=list)  # "unit key: error" of each failed unit
    calls_made: int = 0
    calls_cached: int = 0
    seconds: float = 0.0

    @property
    def units_failed(self) -> int:
        return len(self.unit_errors)

    def failure_line(self) -> str:
        """One line for the user, e.g. ``3 of 40 units failed: ConnectError ...; run again ...``."""
        if not self.unit_errors:
            return ""
        errors = Counter(e.split(": ", 1)[1] if ": " in e else e for e in self.unit_errors)
        common, n = errors.most_common(1)[0]
        more = f" (and {len(errors) - 1} other error{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        return (f"{self.units_failed} of {self.units_total} units failed: {common}"
                f"{f' [{n}x]' if n > 1 else ''}{more}; run again to retry them")


def git_revision() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, cwd=Path(__file__).parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def unit_key(model: str, task: str, strategy: str, problem_id: str) -> str:
    return f"{model}|{task}|{strategy}|{problem_id}"


@dataclass(frozen=True)
class UnitPayload:
    """One unit to solve, as an executor (this process, or a Ray worker) receives it: plain,
    picklable data; the executor resolves the labels against its own plan of the config."""

    key: str
    model: ModelSpec
    task_label: str
    problem: Problem
    strategy_label: str


@dataclass(frozen=True)
class UnitOutcome:
    """A solved (or failed: ``error`` set) unit, ready for the store's single writer."""

    key: str
    result: Result
    trace: Trace
    error: str | None = None


def in_shard(position: int, shard: tuple[int, int]) -> bool:
    """Whether the problem at ``position`` (0-based, over the run's tasks in order) is in
    shard ``i`` of ``n``: every model and strategy of a problem go to one shard (so they share
    its cache), problems dealt out in turn.

    Example:
        >>> [p for p in range(7) if in_shard(p, (2, 3))]
        [1, 4]
    """
    i, n = shard
    return position % n == i - 1


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` (1 <= i <= n) -> ``(i, n)``; ``ValueError`` otherwise.

    Example:
        >>> parse_shard("2/3")
        (2, 3)
    """
    i, slash, n = text.partition("/")
    try:
        shard = (int(i), int(n))
    except ValueError:
        shard = (0, 0)
    if not slash or not 1 <= shard[0] <= shard[1]:
        raise ValueError(f"expected i/n with 1 <= i <= n (shard i of n), got {text!r}")
    return shard


def _tasks(cfg: ExperimentConfig) -> dict[str, Task]:
    out = {}
    for t in cfg.tasks:
        try:
            out[t.label] = create_task(t.name, t.options)
        except UnknownNameError as exc:
            raise ConfigError(str(exc)) from None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"task {t.label!r}: {exc}") from None
    return out


def _check_problems(planned: dict[str, PlannedStrategy], task_label: str, problems: list[Problem]) -> None:
    """Each strategy's own check of the problems it is about to solve (before any call)."""
    for ps in planned.values():
        if ps.sdef.check is not None:
            try:
                ps.sdef.check(ps.params, problems)
            except ValueError as exc:
                raise ConfigError(f"strategy {ps.label!r} on task {task_label!r}: {exc}") from None


async def run_experiment(
    cfg: ExperimentConfig,
    *,
    backend_factory: Callable[[ModelSpec], Backend] | None = None,
    progress: Callable[[str, Any], None] | None = None,
    store: RunStore | None = None,
    shard: tuple[int, int] | None = None,
) -> RunSummary:
    """Run (or resume) ``cfg``; ``backend_factory`` replaces the registry (tests, notebooks).

    ``shard=(i, n)`` runs only shard ``i`` of ``n`` (1-based, see :func:`in_shard`); the run
    keeps its id, so the shard stores merge into the full run (``mistakelab merge``).

    Raises :class:`ConfigError` before any model call when the config cannot run.
    ``progress(event, payload)`` receives ``("start", total)``, ``("unit", result)``,
    ``("unit_error", key)`` and ``("calls", CallStats)`` events.
    """
    t0 = time.perf_counter()
    run_id = cfg.run_id()
    stats = CallStats()
    env = UnitEnv.plan(cfg, None, run_id, stats, backend_factory)  # every config error: here
    planned, tasks = env.planned, env.tasks
    own_store = store is None
    store = env.store = store or RunStore(cfg.store)
    store.create_run(run_id, cfg.name, cfg.model_dump(mode="json", by_alias=True), git_revision())
    notify = progress or (lambda event, payload: None)

    units: list[UnitPayload] = []
    position = -1  # of the problem, over all tasks
    for tspec in cfg.tasks:
        task = tasks[tspec.label]
        problems = store.load_problems(run_id, tspec.label)
        if not problems:  # first time: generate and freeze the problem set for this run
            problems = task.load(tspec.n or cfg.n_problems, cfg.seed if tspec.seed is None else tspec.seed)
            store.save_problems(run_id, tspec.label, problems)
        _check_problems(planned, tspec.label, problems)
        for p in problems:
            position += 1
            if shard is not None and not in_shard(position, shard):
                continue
            for m in cfg.models:
                for ps in planned.values():
                    units.append(UnitPayload(unit_key(m.label, tspec.label, ps.label, p.id), m, tspec.label, p,
                                             ps.label))

    done_before = store.finished_units(run_id)
    pending = [u for u in units if u.key not in done_before]
    # Deepest units first (stable: problem order kept within a depth).
    pending.sort(key=lambda u: planned[u.strategy_label].depth(), reverse=True)
    notify("start", len(units))
    for _ in range(len(units) - len(pending)):
        notify("skip", None)

    stats.listeners.append(lambda st: notify("calls", st))
    summary = RunSummary(run_id, Path(cfg.store), len(units), 0, len(units) - len(pending))
    ray = None
    if cfg.execution.engine == "ray" and pending:
        from mistakelab.runner.ray_executor import RayExecutor

        ray = RayExecutor(cfg, run_id, store, stats, backend_factory)
        await ray.start()
        notify("ray_workers", ray)
    sem = asyncio.Semaphore(ray.capacity() if ray else cfg.concurrency)

    async def run_unit(u: UnitPayload) -> None:
        async with sem:
            out = await ray.run(u) if ray else await run_unit_payload(env, u)
        if ray is None:
            env.save_server_stats(store)
        store.save_unit(run_id, out.key, out.result, out.trace)
        if out.error is not None:
            summary.unit_errors.append(f"{out.key}: {out.error}")
            notify("unit_error", out.key)
        else:
            summary.units_done += 1
            notify("unit", out.result)

    try:
        await asyncio.gather(*(run_unit(u) for u in pending))
    finally:
        if ray is not None:
            await ray.close()
        await env.aclose()
        env.save_server_stats(store)
        complete = len(store.finished_units(run_id)) == len(units)
        status = "complete" if complete else "incomplete"
        store.set_status(run_id, status if shard is None else f"shard {shard[0]}/{shard[1]} {status}")
        summary.calls_made, summary.calls_cached = stats.made, stats.cached
        summary.seconds = time.perf_counter() - t0
        if own_store:
            store.close()
    return summary


class UnitEnv:
    """What an executor needs to solve units of one run in one process: the plan, the
    tasks, one model caller per distinct model spec (its cache and call log in ``store``:
    the run store, or a worker's buffer that the driver writes), and the call figures."""

    def __init__(self, cfg: ExperimentConfig, planned: dict[str, PlannedStrategy],
                 role_models: dict[str, dict[str, ModelSpec]], tasks: dict[str, Task], store: Any,
                 run_id: str, stats: CallStats, factory: Callable[[ModelSpec], Backend]) -> None:
        self.cfg, self.planned, self.role_models, self.tasks = cfg, planned, role_models, tasks
        self.store, self.run_id, self.stats, self.factory = store, run_id, stats, factory
        self.callers: dict[str, ModelCaller] = {}
        self.base_params = cfg.generation.params()
        # the richest statistics a strategy reads from self-consistency's shared samples: drawn
        # with every sample, so the samples are drawn once whichever unit asks first
        wanted = [n for ps in planned.values() if (n := ps.sdef.shared_stats_of(ps.params)) is not None]
        self.sample_stats = max(wanted) if wanted else None
        self._solvers = {model_key(m) for m in cfg.models}  # whose samples those are

    @classmethod
    def plan(cls, cfg: ExperimentConfig, store: Any, run_id: str, stats: CallStats,
             backend_factory: Callable[[ModelSpec], Backend] | None = None) -> "UnitEnv":
        """Plan ``cfg`` (every config error raised here) and make its environment."""
        planned = plan_strategies(cfg)
        role_models = check_models(cfg, planned, check_specs=backend_factory is None)
        return cls(cfg, planned, role_models, _tasks(cfg), store, run_id, stats, backend_factory or create_backend)

    def caller(self, spec: ModelSpec) -> ModelCaller:
        key = model_key(spec)
        if key not in self.callers:
            self.callers[key] = ModelCaller.for_spec(spec, self.store, self.run_id, self.stats,
                                                     lambda: self.factory(spec),
                                                     self.sample_stats if key in self._solvers else None)
        return self.callers[key]

    def take_server_stats(self) -> list[tuple[str, list[ServerStats]]]:
        """(model, per-server figures since the last take) of every caller with any."""
        return [(c.model_id, st) for c in self.callers.values() if (st := c.take_server_stats())]

    def save_server_stats(self, store: RunStore) -> None:
        for model, st in self.take_server_stats():
            store.add_server_stats(self.run_id, model, st)

    async def aclose(self) -> None:
        for c in self.callers.values():
            await c.aclose()


async def run_unit_payload(env: UnitEnv, u: UnitPayload) -> UnitOutcome:
    """Solve one unit with the one unit executor (:func:`~mistakelab.runner.execute.execute_unit`),
    its models through ``env``'s callers: the seam between the executors (local, Ray) and
    the per-unit work."""
    ps = env.planned[u.strategy_label]
    roles = env.role_models[f"{u.model.label}|{ps.label}"]
    gateways = {role: UnitGateway(env.caller(spec), u.key) for role, spec in roles.items()}
    unit = Unit(ps.sdef, ps.params, u.problem, env.tasks[u.task_label], gateways, label=ps.label,
                task_label=u.task_label, model=u.model.label, gen=env.base_params, prompts=ps.prompts,
                seed=env.cfg.seed)
    result = await execute_unit(unit)
    return UnitOutcome(u.key, result, unit.trace, result.error if result.status == "failed" else None)
