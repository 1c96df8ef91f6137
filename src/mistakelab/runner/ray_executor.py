"""Run a run's units on a Ray cluster (``[execution] engine = "ray"``, ``run --ray ADDRESS``).

The driver (the ``mistakelab run`` process) plans, resumes (skips finished units) and is the
single writer of the run store, exactly as for a local run. Each Ray worker is an actor that
owns its backends (an embedded engine, a vLLM engine, or OpenAI clients: whatever the model
specs build on that node) and solves units with :func:`~mistakelab.runner.run.run_unit_payload`,
the same per-unit code as the local runner. A worker logs its model calls in a
:class:`CallBuffer` instead of the store, and sends them back with the unit; the driver
writes the calls, then the unit. A unit interrupted in an earlier run is sent with the
completions it already got, so it resumes from them as it would locally.

A worker that dies mid-run is restarted by Ray and its units run again (actors with
unlimited restarts and task retries); what the dead worker had buffered never reached the
store, so nothing is stored twice, and nothing is lost.

Example (a cluster of this machine's CPUs, two workers)::

    [execution]
    engine = "ray"
    address = "auto"   # or unset: $RAY_ADDRESS, a cluster running here, else a new local one
    workers = 2
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Callable, Sequence

from mistakelab.backends.base import Backend, ModelSpec
from mistakelab.core.types import Completion, GenParams, Message, ServerStats
from mistakelab.runner.config import ConfigError, ExperimentConfig
from mistakelab.runner.caller import CallStats
from mistakelab.runner.run import UnitEnv, UnitOutcome, UnitPayload, run_unit_payload
from mistakelab.store.db import RunStore

#: One logged call: (unit key, cache key, model, purpose, messages, params, completion).
CallRow = tuple[str, str, str, str, list[Message], GenParams, Completion]


class CallBuffer:
    """The run store as a worker's model callers see it: cache look-ups answered from this
    worker's own calls and from the completions the driver sent with a unit; calls kept per
    unit until the unit's outcome goes back to the driver.

    Example:
        >>> buf = CallBuffer()
        >>> buf.record_call("run", "u1", "k", "m", "solve", [], GenParams(), Completion(text="4"))
        >>> buf.cached_completion("k").cached, [row[1] for row in buf.take_calls("u1")], buf.take_calls("u1")
        (True, ['k'], [])
    """

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}
        self._calls: dict[str, list[CallRow]] = {}

    def seed(self, completions: dict[str, str]) -> None:
        """Completions (cache key -> JSON) the driver's store already holds for a unit."""
        self._cache.update(completions)

    def cached_completion(self, key: str) -> Completion | None:
        doc = self._cache.get(key)
        return None if doc is None else Completion.model_validate_json(doc).model_copy(update={"cached": True})

    def record_call(self, run_id: str, unit_key: str, key: str, model: str, purpose: str,
                    messages: Sequence[Message], params: GenParams, completion: Completion) -> None:
        self._calls.setdefault(unit_key, []).append((unit_key, key, model, purpose, list(messages), params, completion))
        if completion.ok and not completion.cached:
            self._cache[key] = completion.model_dump_json()

    def take_calls(self, unit_key: str) -> list[CallRow]:
        return self._calls.pop(unit_key, [])


#: What a worker sends back for a unit: the outcome, its calls, per-server figures since its last unit.
WorkerResult = tuple[UnitOutcome, list[CallRow], list[tuple[str, list[ServerStats]]]]


class UnitWorker:
    """A Ray actor's state: the run's plan, its own model callers (backends built on first
    use, on the worker's node), and the call buffer."""

    def __init__(self, cfg: dict[str, Any], run_id: str,
                 backend_factory: Callable[[ModelSpec], Backend] | None = None) -> None:
        self.buffer = CallBuffer()
        self.env = UnitEnv.plan(ExperimentConfig.model_validate(cfg), self.buffer, run_id, CallStats(),
                                backend_factory)

    def pid(self) -> int:
        return os.getpid()

    async def run(self, payload: UnitPayload, prior: dict[str, str]) -> WorkerResult:
        self.buffer.seed(prior)
        out = await run_unit_payload(self.env, payload)
        return out, self.buffer.take_calls(payload.key), self.env.take_server_stats()

    async def close(self) -> None:
        await self.env.aclose()


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("execution.engine = \"ray\" (--ray) needs Ray: pip install 'mistakelab[scale]'") from None
    return ray


class RayExecutor:
    """Solves units on Ray worker actors for the driver (see the module docstring).

    ``await start()``, then ``await run(unit)`` per unit (any number at once: each worker
    takes up to ``cfg.concurrency`` units at a time, the least busy worker first), then
    ``await close()``. ``run`` writes the unit's calls and per-server figures to ``store``
    (counting the calls in ``stats``) and returns the outcome, which the caller stores.
    """

    def __init__(self, cfg: ExperimentConfig, run_id: str, store: RunStore, stats: CallStats,
                 backend_factory: Callable[[ModelSpec], Backend] | None = None) -> None:
        self.cfg, self.run_id, self.store, self.stats = cfg, run_id, store, stats
        self.backend_factory = backend_factory
        self.workers: list[Any] = []
        self.busy: list[int] = []
        self._started_ray = False
        self.worker_pids: list[int] = []
        self.prior: dict[str, dict[str, str]] = {}

    async def start(self) -> None:
        ray = _ray()
        ex = self.cfg.execution
        if not ray.is_initialized():  # "local": a new cluster of this machine, sized for the workers
            sized = {"num_cpus": ex.workers} if ex.address == "local" and ex.workers else {}
            try:
                ray.init(address=ex.address, include_dashboard=False, log_to_driver=False, **sized)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise ConfigError(f"execution.address {ex.address!r} (--ray): no Ray cluster there ({exc})") from None
            self._started_ray = True
        n = ex.workers or max(int(ray.cluster_resources().get("CPU", 1)), 1)
        actor = ray.remote(num_cpus=1, num_gpus=ex.worker_gpus, max_restarts=-1,
                           max_task_retries=-1, max_concurrency=self.cfg.concurrency)(UnitWorker)
        cfg = self.cfg.model_dump(mode="json", by_alias=True)
        self.prior = self.store.unit_completions(self.run_id)  # of units an earlier run left unfinished
        self.workers = [actor.remote(cfg, self.run_id, self.backend_factory) for _ in range(n)]
        self.busy = [0] * n
        #: the workers' process ids once they are up (a worker that fails to start raises here)
        self.worker_pids: list[int] = list(await asyncio.gather(*(w.pid.remote() for w in self.workers)))

    async def run(self, unit: UnitPayload) -> UnitOutcome:
        i = min(range(len(self.workers)), key=self.busy.__getitem__)
        self.busy[i] += 1
        try:
            out, calls, servers = await self.workers[i].run.remote(unit, self.prior.pop(unit.key, {}))
        finally:
            self.busy[i] -= 1
        for unit_key, key, model, purpose, messages, params, completion in calls:
            self.store.record_call(self.run_id, unit_key, key, model, purpose, messages, params, completion)
            self.stats.add(completion)
        for model, stats in servers:
            self.store.add_server_stats(self.run_id, model, stats)
        return out

    def capacity(self) -> int:
        """Units in flight at once over all workers."""
        return max(len(self.workers), 1) * self.cfg.concurrency

    async def close(self) -> None:
        ray = _ray()
        try:
            await asyncio.gather(*(w.close.remote() for w in self.workers), return_exceptions=True)
        finally:
            for w in self.workers:
                ray.kill(w)
            self.workers = []
            if self._started_ray:
                ray.shutdown()
