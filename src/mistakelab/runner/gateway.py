"""The runner's path to a model: completion cache, in-flight de-duplication, call log.

Every call a strategy makes goes through :class:`ModelCaller`: a cache hit costs no model
call; identical requests in flight at once share one model call; every call (hit or not)
is logged in the run store as soon as it returns.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Callable, Sequence

from mistakelab.backends.base import Backend
from mistakelab.backends.scripted import ScriptExhausted
from mistakelab.core.types import Completion, GenParams, Message
from mistakelab.store.db import RunStore, cache_key


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
    """Cache + log around one backend, created lazily on the first cache miss."""

    def __init__(
        self,
        make_backend: Callable[[], Backend],
        model_id: str,
        store: RunStore,
        run_id: str,
        stats: CallStats,
        use_cache: bool = True,
    ) -> None:
        self._make_backend = make_backend
        self._backend: Backend | None = None
        self._backend_lock = asyncio.Lock()
        self.model_id = model_id
        self.store = store
        self.run_id = run_id
        self.stats = stats
        self.use_cache = use_cache
        self._inflight: dict[str, asyncio.Future[Completion]] = {}

    async def backend(self) -> Backend:
        async with self._backend_lock:
            if self._backend is None:
                # Loading a local model blocks for seconds: keep the event loop free.
                self._backend = await asyncio.to_thread(self._make_backend)
            return self._backend

    async def aclose(self) -> None:
        if self._backend is not None:
            await self._backend.aclose()

    def _lookup(self, key: str) -> Completion | None:
        return self.store.cached_completion(key) if self.use_cache else None

    def _log(self, unit: str, key: str, purpose: str, messages: Sequence[Message],
             params: GenParams, c: Completion) -> None:
        self.store.record_call(self.run_id, unit, key, self.model_id, purpose, messages, params, c)
        self.stats.add(c)

    async def generate(self, unit: str, purpose: str, messages: Sequence[Message], params: GenParams) -> Completion:
        key = cache_key(self.model_id, messages, params)
        hit = self._lookup(key)
        if hit is None and key in self._inflight:
            hit = (await asyncio.shield(self._inflight[key])).model_copy(update={"cached": True})
        if hit is not None:
            self._log(unit, key, purpose, messages, params, hit)
            return hit
        fut: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            backend = await self.backend()
            c = await backend.generate(messages, params)
        except ScriptExhausted:
            raise
        except Exception as exc:  # noqa: BLE001 - a model failure is recorded, not raised
            c = Completion.from_error(exc)
        finally:
            self._inflight.pop(key, None)
        fut.set_result(c)
        self._log(unit, key, purpose, messages, params, c)
        return c

    async def sample(self, unit: str, purpose: str, messages: Sequence[Message], params: GenParams,
                     seeds: Sequence[int | None]) -> list[Completion]:
        per_seed = [params.with_(seed=s) for s in seeds]
        keys = [cache_key(self.model_id, messages, p) for p in per_seed]
        out: list[Completion | None] = [self._lookup(k) for k in keys]
        # A request already on its way (from another unit, or a repeated seed in this call) is
        # shared, so one key never gets two different completions.
        waiting: dict[int, asyncio.Future[Completion]] = {}
        futs: dict[int, asyncio.Future[Completion]] = {}
        for i, k in enumerate(keys):
            if out[i] is not None:
                continue
            if k in self._inflight:
                waiting[i] = self._inflight[k]
            else:
                futs[i] = self._inflight[k] = asyncio.get_running_loop().create_future()
        missing = list(futs)
        if missing:
            try:
                backend = await self.backend()
                fresh = await backend.sample(messages, params, [seeds[i] for i in missing])
            except ScriptExhausted:
                _cancel(futs)
                raise
            except Exception as exc:  # noqa: BLE001
                fresh = [Completion.from_error(exc) for _ in missing]
            except BaseException:  # cancelled: waiters must not hang
                _cancel(futs)
                raise
            finally:
                for i in missing:
                    self._inflight.pop(keys[i], None)
            for i, c in zip(missing, fresh):
                out[i] = c
                futs[i].set_result(c)
        for i, fut in waiting.items():
            out[i] = (await asyncio.shield(fut)).model_copy(update={"cached": True})
        done: list[Completion] = []
        for k, p, c in zip(keys, per_seed, out):
            assert c is not None
            self._log(unit, k, purpose, messages, p, c)
            done.append(c)
        return done


def _cancel(futs: dict[int, asyncio.Future[Completion]]) -> None:
    for f in futs.values():
        if not f.done():
            f.cancel()


class UnitGateway:
    """Binds a :class:`ModelCaller` to one unit, giving strategies the Gateway interface."""

    def __init__(self, caller: ModelCaller, unit: str) -> None:
        self.caller = caller
        self.unit = unit
        self.model_id = caller.model_id

    async def generate(self, purpose: str, messages: Sequence[Message], params: GenParams) -> Completion:
        return await self.caller.generate(self.unit, purpose, messages, params)

    async def sample(self, purpose: str, messages: Sequence[Message], params: GenParams,
                     seeds: Sequence[int | None]) -> list[Completion]:
        return await self.caller.sample(self.unit, purpose, messages, params, seeds)
