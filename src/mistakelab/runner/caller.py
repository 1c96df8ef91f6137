"""The runner's path to a model (runs, locate, calibrate, the proxy, learn): completion
cache, in-flight sharing, call log, cost.

Every call a strategy makes goes through a :class:`ModelCaller`: a cache hit costs no model
call; identical requests in flight at once share one model call; every call (hit or not) is
logged in the run store as soon as it returns. ``generate`` is the one-seed case of
``sample``; ``score`` is cached like generation (its key holds the scored text).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable, Sequence

from mistakelab.backends.base import (Backend, ModelSpec, ScriptExhausted, apply_stops, backends, create_backend,
                                     spec_capabilities)
from mistakelab.backends.local import adapter_identity
from mistakelab.backends.pool import routed
from mistakelab.context.gateway import guarded
from mistakelab.core.registry import UnknownNameError
from mistakelab.core.types import Completion, GenParams, Message, ServerStats
from mistakelab.store.db import LOGPROB_STATS_VERSION, RunStore, cache_key, serves


def cache_identity(spec: ModelSpec) -> str:
    """The model part of the completion-cache key, known without loading the model: backend
    and model, what the backend's factory adds (``identity``: a server's URL, an adapter's
    hash), and the spec's ``cache_tag``."""
    ident = f"{spec.backend}:{spec.model}"
    try:
        factory = backends.get(spec.backend)
    except UnknownNameError:  # a backend built by the caller's own factory (tests, notebooks)
        factory = None
    if factory is not None and factory.identity is not None:
        ident += factory.identity(spec)
    lora = spec.options.get("lora")
    if lora and "+lora:" not in ident and Path(str(lora)).expanduser().is_file():
        ident += adapter_identity(spec.options)  # any backend given a LoRA file (scripted in tests)
    if spec.options.get("cache_tag"):
        ident += "#" + str(spec.options["cache_tag"])
    return ident


@dataclass
class CallStats:
    made: int = 0
    cached: int = 0
    completion_tokens: int = 0
    errors: int = 0
    listeners: list[Callable[["CallStats"], None]] = field(default_factory=list)

    def add(self, c: Completion) -> None:
        if c.cached:
            self.cached += 1
        else:
            self.made += 1
            self.completion_tokens += c.completion_tokens
        if not c.ok:
            self.errors += 1
        for fn in self.listeners:
            fn(self)


class ModelCaller:
    """Cache + log around one backend, created lazily on the first cache miss.

    ``capabilities`` are what the backend declares, known from its spec before it is built
    (:meth:`for_spec` fills them in); a caller built without them offers none.
    """

    def __init__(
        self,
        make_backend: Callable[[], Backend],
        model_id: str,
        store: RunStore,
        run_id: str,
        stats: CallStats,
        use_cache: bool = True,
        capabilities: frozenset[str] | None = None,
        sample_stats: int | None = None,
    ) -> None:
        self._make_backend = make_backend
        self._backend: Backend | None = None
        self._backend_lock = asyncio.Lock()
        self.model_id = model_id
        self.store = store
        self.run_id = run_id
        self.stats = stats
        self.use_cache = use_cache
        self.capabilities = frozenset(capabilities or ())
        self._inflight: dict[str, asyncio.Future[Completion]] = {}
        #: every sampled call is drawn with at least these statistics (top alternatives; None:
        #: as asked), so that a plain sample and a selector's sample of one key are one draw
        self.sample_stats = sample_stats

    @classmethod
    def for_spec(cls, spec: ModelSpec, store: RunStore, run_id: str, stats: CallStats,
                 make_backend: Callable[[], Backend] | None = None,
                 sample_stats: int | None = None) -> "ModelCaller":
        """The caller of the model ``spec`` describes (its cache identity and capabilities)."""
        return cls(make_backend or (lambda: create_backend(spec)), cache_identity(spec), store, run_id, stats,
                   capabilities=spec_capabilities(spec), sample_stats=sample_stats)

    async def backend(self) -> Backend:
        async with self._backend_lock:
            if self._backend is None:
                # Loading a local model blocks for seconds: keep the event loop free.
                self._backend = await asyncio.to_thread(self._make_backend)
            return self._backend

    async def aclose(self) -> None:
        if self._backend is not None:
            await self._backend.aclose()

    def take_server_stats(self) -> list[ServerStats]:
        """The backend's per-server figures since the last take (a pool of servers only)."""
        return self._backend.take_server_stats() if self._backend is not None else []

    def _lookup(self, key: str, params: GenParams | None = None) -> Completion | None:
        c = self.store.cached_completion(key) if self.use_cache else None
        if c is not None and params is not None and not serves(c, params):
            return None  # cached without the statistics asked for: draw it again, with them
        return c

    def _log(self, unit: str, key: str, purpose: str, messages: Sequence[Message],
             params: GenParams, c: Completion) -> None:
        self.store.record_call(self.run_id, unit, key, self.model_id, purpose, messages, params, c)
        self.stats.add(c)

    async def generate(self, unit: str, purpose: str, messages: Sequence[Message], params: GenParams) -> Completion:
        return (await self.sample(unit, purpose, messages, params, [params.seed]))[0]

    async def sample(self, unit: str, purpose: str, messages: Sequence[Message], params: GenParams,
                     seeds: Sequence[int | None]) -> list[Completion]:
        if self.sample_stats is not None and params.temperature > 0 and any(s is not None for s in seeds):
            params = params.with_(logprobs=True, top_logprobs=max(params.top_logprobs, self.sample_stats))
        per_seed = [params.with_(seed=s) for s in seeds]
        keys = [cache_key(self.model_id, messages, p) for p in per_seed]

        async def ask(indices: list[int]) -> list[Completion]:
            backend = await self.backend()
            return await guarded(backend.sample(messages, params, [seeds[i] for i in indices]), len(indices))

        out = [apply_stops(c, params) for c in await self._shared(keys, ask, params)]
        for k, p, c in zip(keys, per_seed, out):
            self._log(unit, k, purpose, messages, p, c)
        return out

    async def score(self, unit: str, purpose: str, messages: Sequence[Message], text: str,
                    top_logprobs: int = 0) -> Completion:
        params = GenParams(max_tokens=1, logprobs=True, top_logprobs=top_logprobs)
        key = cache_key(self.model_id, messages, params, scored=text)

        async def ask(indices: list[int]) -> list[Completion]:
            backend = await self.backend()
            return [await guarded(backend.score(messages, text, top_logprobs=top_logprobs), None)]

        c = (await self._shared([key], ask))[0]
        self._log(unit, key, purpose, messages, params, c)
        return c

    async def _shared(self, keys: list[str], ask: Callable[[list[int]], Awaitable[list[Completion]]],
                      params: GenParams | None = None) -> list[Completion]:
        """Completions for ``keys``: from the cache, from a request already in flight, or
        from one backend call (``ask(indices)``) for the rest. Every waiter on a shared
        request is resolved, whatever happens to it (failure, cancellation, a test script
        running out), so no waiter ever hangs."""
        out: list[Completion | None] = [self._lookup(k, params) for k in keys]
        waiting: dict[int, asyncio.Future[Completion]] = {}
        mine: dict[int, asyncio.Future[Completion]] = {}
        for i, k in enumerate(keys):
            if out[i] is not None:
                continue
            if k in self._inflight:
                waiting[i] = self._inflight[k]
            else:  # a repeated key within this call is asked once too
                mine[i] = self._inflight[k] = asyncio.get_running_loop().create_future()
        missing = list(mine)
        if missing:
            try:
                fresh = await ask(missing)
            except BaseException as exc:
                for f in mine.values():
                    if not f.done():
                        if isinstance(exc, ScriptExhausted):
                            f.set_exception(exc)
                            f.exception()  # marked retrieved: waiters still get it, nobody logs it unseen
                        else:
                            f.cancel()
                raise
            finally:
                for i in missing:
                    if self._inflight.get(keys[i]) is mine[i]:
                        del self._inflight[keys[i]]
            for i, c in zip(missing, fresh):
                if c.logprobs is not None and c.logprob_stats is None:  # drawn now: current statistics
                    c = c.model_copy(update={"logprob_stats": LOGPROB_STATS_VERSION})
                out[i] = c
                mine[i].set_result(c)
        for i, fut in waiting.items():
            try:
                shared = await asyncio.shield(fut)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not fut.cancelled() or (task is not None and task.cancelling()):
                    raise  # this waiter itself is being cancelled
                # the unit that asked was cancelled: ask for this one ourselves
                out[i] = (await self._shared([keys[i]], lambda _: ask([i])))[0]
                continue
            if params is not None and not serves(shared, params):  # joined a plainer twin
                out[i] = (await ask([i]))[0]
                continue
            out[i] = shared.model_copy(update={"cached": True})  # served without a model call
        return [c for c in out if c is not None]


class UnitGateway:
    """Binds a :class:`ModelCaller` to one unit: the :class:`~mistakelab.context.Gateway`
    a strategy's model role talks to."""

    def __init__(self, caller: ModelCaller, unit: str) -> None:
        self.caller = caller
        self.unit = unit
        self.model_id = caller.model_id

    @property
    def capabilities(self) -> frozenset[str]:
        return self.caller.capabilities

    async def sample(self, purpose: str, messages: Sequence[Message], params: GenParams,
                     seeds: Sequence[int | None]) -> list[Completion]:
        with routed(self.unit):  # a pool of servers sends a unit's calls to one server
            return await self.caller.sample(self.unit, purpose, messages, params, seeds)

    async def score(self, purpose: str, messages: Sequence[Message], text: str, top_logprobs: int = 0) -> Completion:
        with routed(self.unit):
            return await self.caller.score(self.unit, purpose, messages, text, top_logprobs)
