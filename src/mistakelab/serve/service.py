"""The proxy's work, apart from HTTP: run a request's strategy, record it, shape the answer.

One :class:`Proxy` per server. Every request is a unit (one per choice when ``n > 1``) of the
server's *served* run in the run store: its trace (every internal call, answer and event)
and its result (cost, final answer; no correctness: there is no gold answer). Model calls go
through the runner's completion cache and call log, one caller per model shared by all
requests, so concurrent requests share the upstream's concurrency limit and the local
engine's batch.

Seeds: a request's ``seed`` is the run seed of its strategy (same request, same seed: same
samples, served from the cache); without one the seed is taken from the request's random
trace id, so identical requests get independent samples. Greedy calls carry no seed and
identical ones share the cache, as in runs. Choice ``i`` of ``n`` solves problem
``<conversation hash>-<i>``, so choices differ.

The message of each choice is the full text of the completion that held the strategy's
final answer (a continuation with the assistant text it continued): the call the final answer was recorded from, else (a vote or a chosen answer)
the latest attempt with that answer, else the first sample with it (a vote's winner as it
first appeared), else the last recorded solution.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from mistakelab.backends.base import Backend, check_spec, create_backend
from mistakelab.context import SOLVER, CallFailed, CapabilityError, failed_result, final_text, usage_by_role
from mistakelab.core.trace import Trace
from mistakelab.core.types import Problem, Result, Usage
from mistakelab.runner.execute import Unit, execute_unit
from mistakelab.runner.caller import CallStats, ModelCaller, UnitGateway
from mistakelab.runner.run import git_revision
from mistakelab.serve.config import NONE, ServeConfig
from mistakelab.sandbox.aio import stop_all_runs
from mistakelab.sandbox.cgroups import clean_stale as clean_stale_sandboxes
from mistakelab.serve.errors import SERVER, ApiError, bad_request, call_error, timeout_error
from mistakelab.serve.limits import check_default_strategy
from mistakelab.serve.request import ServeRequest
from mistakelab.serve.upstream import Upstream
from mistakelab.store.db import RunStore
from mistakelab.strategies import StrategyContext, StrategyDef
from mistakelab.tasks.base import Task

SEED_MODULUS = 2**31 - 1


class AnswerTask(Task):
    """A task with no problems: the default numeric/LaTeX answer extraction only (what a
    strategy's votes and answers need behind the proxy)."""

    name = "served"

    def load(self, n: int | None, seed: int) -> list[Problem]:
        return []


class _NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


async def _send(ctx: StrategyContext, params: _NoParams) -> None:
    """Strategy ``none`` on a backend with no upstream to pass on to: one call, as asked."""
    ctx.final(await ctx.generate(ctx.question(), purpose="passthrough"))


SEND = StrategyDef(NONE, _send, _NoParams, doc="the request, unchanged")
TASK = AnswerTask()


@dataclass
class Choice:
    text: str
    finish_reason: str
    result: Result
    trace: Trace


@dataclass
class Served:
    """A finished request: its trace id and one choice per ``n``."""

    trace_id: str
    label: str
    choices: list[Choice] = field(default_factory=list)

    def usage(self) -> dict[str, Usage]:
        total: dict[str, Usage] = {}
        for c in self.choices:
            for role, u in usage_by_role(c.trace).items():
                t = total.setdefault(role, Usage())
                t.calls, t.cached = t.calls + u.calls, t.cached + u.cached
                t.prompt_tokens += u.prompt_tokens
                t.completion_tokens += u.completion_tokens
        return total


class Proxy:
    """The served run, its model callers and the upstream (see the module docstring)."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.store: RunStore | None = None
        self.run_id = ""
        self.models: list[str] = []
        self.upstream: Upstream | None = None
        self.stats = CallStats()
        self.in_flight = 0
        self.served = 0
        self._callers: dict[str, ModelCaller] = {}

    async def start(self) -> None:
        """Open the store and the served run, reach the upstream, load the default model."""
        cfg = self.config
        if cfg.backend == "openai":
            if not cfg.upstream:
                raise ValueError("backend openai needs the upstream's URL (--upstream)")
            self.upstream = Upstream(cfg.upstream, key_env=cfg.upstream_key_env,
                                     max_concurrency=cfg.max_concurrency, timeout=cfg.timeout,
                                     retries=cfg.upstream_retries)
        if cfg.model:
            self.models = [cfg.model]
        elif self.upstream is not None:
            try:
                self.models = await self.upstream.models()
            except ApiError as exc:
                raise ValueError(f"{exc}; name the model with --model") from None
        if not self.models:
            raise ValueError("no model to serve: name one with --model")
        check_default_strategy(cfg.strategy, cfg.limits)
        clean_stale_sandboxes()
        if cfg.backend_factory is None:
            check_spec(cfg.spec(self.models[0]))  # unknown backend, bad options, no such model
        self.store = RunStore(cfg.store)
        mark_abandoned_runs(self.store)
        self.run_id = f"{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        self.store.create_run(self.run_id, cfg.name, {**cfg.public(), "server": _server_id()}, git_revision())
        if cfg.backend != "openai":
            await self.caller(self.models[0]).backend()  # load the model before the first request

    async def close(self) -> None:
        """After the last request: kill sandboxes still running, close backends and the upstream,
        mark the run, close the store."""
        stop_all_runs()
        for c in self._callers.values():
            await c.aclose()
            if self.store is not None:
                self.store.add_server_stats(self.run_id, c.model_id, c.take_server_stats())
        if self.upstream is not None:
            await self.upstream.aclose()
            if self.store is not None and self.upstream.pool is not None:  # requests passed on
                self.store.add_server_stats(self.run_id, "passed on", self.upstream.pool.take_stats())
        if self.store is not None:
            self.store.set_status(self.run_id, "served")
            self.store.close()

    def caller(self, model: str) -> ModelCaller:
        """The one caller of ``model``, shared by every request."""
        if model not in self._callers:
            spec = self.config.spec(model)
            self._callers[model] = ModelCaller.for_spec(spec, self._store, self.run_id, self.stats,
                                                        lambda: self._backend(spec.model))
            self._callers[model].use_cache = self.config.use_cache
        return self._callers[model]

    def _backend(self, model: str) -> Backend:
        if self.config.backend_factory is not None:
            return self.config.backend_factory(self.config.spec(model))
        if self.upstream is not None:
            return self.upstream.backend(model)
        return create_backend(self.config.spec(model))

    @property
    def _store(self) -> RunStore:
        assert self.store is not None, "Proxy.start() first"
        return self.store

    def internal_out(self, exc: ApiError) -> ApiError:
        """``exc`` with the upstream's address taken out of its message (clients never see
        where the proxy sends its calls).

        Example:
            >>> p = Proxy(ServeConfig(upstream="http://10.0.0.5:8001/v1"))
            >>> p.internal_out(ApiError(502, "openai:http://10.0.0.5:8001/v1:m: connection failed")).message
            'm: connection failed'
        """
        url = self.config.upstream
        if url:
            for base in {url, url.rstrip("/")}:
                exc.message = exc.message.replace(f"openai:{base}:", "").replace(base, "the upstream")
            exc.args = (exc.message,)
        return exc

    def check_model(self, req: ServeRequest) -> None:
        """A model the proxy cannot serve is a 404 (an upstream decides about its own)."""
        if self.upstream is None and req.model not in self.models:
            raise ApiError(404, f"the model {req.model!r} is not served here; served: {', '.join(self.models)}",
                           "not_found_error", code="model_not_found", param="model")
        if req.strategy == NONE and self.upstream is None and req.messages is None:
            raise bad_request("this conversation has turns that are not text (tools, functions); only an upstream "
                              "server can take them", "messages")

    # -- strategies --------------------------------------------------------------------
    async def solve(self, req: ServeRequest, trace_id: str) -> Served:
        """Run the request's strategy ``req.n`` times (its choices), within the timeout."""
        self.check_model(req)
        served = Served(trace_id, req.label)
        self.in_flight += 1
        tasks: list[asyncio.Task[Choice]] = []
        try:
            async with asyncio.timeout(self.config.timeout):
                async with asyncio.TaskGroup() as tg:
                    tasks = [tg.create_task(self._choice(req, trace_id, i)) for i in range(req.n)]
        except TimeoutError:
            # the deadline may pass just as the last choice ends (its unit stored done): then it
            # is an answer, not a 504
            if not tasks or not all(t.done() and not t.cancelled() and t.exception() is None for t in tasks):
                raise timeout_error(self.config.timeout) from None
        except BaseExceptionGroup as group:
            raise self.internal_out(_api_error(group.exceptions[0])) from None
        finally:
            self.in_flight -= 1
        served.choices = [t.result() for t in tasks]
        self.served += 1
        return served

    async def _choice(self, req: ServeRequest, trace_id: str, i: int) -> Choice:
        sdef = req.sdef or SEND
        params = req.params if req.params is not None else _NoParams()
        label = req.label
        if req.alternatives:  # optillm's a|b: choice i is strategy i
            sdef, params, label = req.alternatives[i]
        unit = f"{trace_id}/{i}"
        problem = Problem(id=f"{req.content_id()}-{i}", question=req.question, answer="")
        roles = {SOLVER: req.model, **req.roles}
        gateways = {role: UnitGateway(self.caller(m), unit) for role, m in roles.items()}
        seed = req.seed if req.seed is not None else int(trace_id[:8], 16) % SEED_MODULUS
        work = Unit(sdef, params, problem, TASK, gateways, label=label, model=req.model, gen=req.gen,
                    seed=seed, gold=False, messages=req.messages)
        start = time.perf_counter()
        try:
            result = await execute_unit(work)
        except asyncio.CancelledError:
            self._store.save_unit(self.run_id, unit, failed_result(
                work.trace, TASK.name, time.perf_counter() - start, "cancelled (timeout, or the client went away)"),
                work.trace)
            raise
        self._store.save_unit(self.run_id, unit, result, work.trace)
        if work.exception is not None:
            raise work.exception
        text, finish = final_text(work.trace, TASK.answer_key)
        return Choice(text, finish, result, work.trace)

    def save_passed_on(self, trace_id: str, trace: Trace, result: Result) -> None:
        """Record a request sent on unchanged (strategy ``none`` to an upstream)."""
        self._store.save_unit(self.run_id, f"{trace_id}/0", result, trace)
        self.served += 1


def _server_id() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def mark_abandoned_runs(store: RunStore) -> list[str]:
    """Served runs still ``running`` whose server (on this host) is gone, killed before it
    could close them, are marked ``interrupted``; their ids."""
    marked = []
    for r in store.list_runs():
        server = r.config.get("server") or {}
        if r.config.get("kind") != "served" or r.status != "running" or server.get("host") != socket.gethostname():
            continue
        pid = server.get("pid")
        if not isinstance(pid, int) or pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            continue  # still serving (or its pid reused: left as it is)
        except ProcessLookupError:
            pass
        except OSError:
            continue
        store.set_status(r.id, "interrupted")
        marked.append(r.id)
    return marked


def _api_error(exc: BaseException) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, CallFailed):
        return call_error(exc.error)
    if isinstance(exc, CapabilityError):  # found before the first call
        return bad_request(str(exc), "model", "capability")
    return ApiError(500, f"the strategy failed: {type(exc).__name__}: {exc}", SERVER, code="strategy_error")


def new_trace_id() -> str:
    """A random trace id (32 hex digits)."""
    return secrets.token_hex(16)


def usage_json(usage: dict[str, Usage]) -> dict[str, Any]:
    """OpenAI's ``usage`` summed over roles (cache hits count, as in runs).

    Example:
        >>> usage_json({"solver": Usage(prompt_tokens=5, completion_tokens=3), "critic": Usage(prompt_tokens=2)})
        {'prompt_tokens': 7, 'completion_tokens': 3, 'total_tokens': 10}
    """
    prompt = sum(u.prompt_tokens for u in usage.values())
    completion = sum(u.completion_tokens for u in usage.values())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
