"""Several OpenAI-compatible servers behind one model: routing, health, failover.

:class:`ServerPool` decides where a request goes; :class:`PooledOpenAIBackend` is the
``openai`` backend over a pool (what ``base_url = [...]`` builds, see
:mod:`mistakelab.backends.servers`).

Routing: least outstanding requests, weighted (the server with the smallest
``(in flight + 1) / weight`` among those up and under their concurrency cap). The calls of one
unit (the :data:`route_key` set around them, see :func:`routed`) go back to the server that
answered its previous call, whose prefix cache holds the conversation, unless that server is
saturated or down.

Health: a server that refuses the connection or answers 5xx is marked down for a backoff
that doubles on each failed probe (``probe_backoff`` up to ``max_probe_backoff`` seconds);
once it is due, one ``GET /v1/models`` probes it, and it gets traffic again only if that
answers 200. The failed request is retried at once on another server (a timeout or a 429
also moves to another server, without marking the first down). The call is one call for the
caller whichever server answers it: the completion cache key never names a server.

Example:
    >>> import asyncio
    >>> pool = ServerPool(parse_servers(["http://a/v1", "http://b/v1 weight=2"]), default_cap=4)
    >>> async def two():
    ...     first = await pool.acquire("unit-1")    # b: twice a's weight
    ...     again = await pool.acquire("unit-1")    # the same unit sticks to b
    ...     other = await pool.acquire(None)        # a: (0+1)/1 < (2+1)/2
    ...     return first.url, again.url, other.url
    >>> asyncio.run(two())
    ('http://b/v1', 'http://b/v1', 'http://a/v1')
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterator, Sequence, TypeVar

import openai

from mistakelab.backends.base import Backend
from mistakelab.backends.openai_backend import OpenAIBackend
from mistakelab.backends.servers import Server, parse_servers
from mistakelab.core.types import Completion, GenParams, Message, ServerStats

T = TypeVar("T")

#: The unit the current calls belong to (set by the caller per unit): its calls prefer one server.
route_key: ContextVar[str | None] = ContextVar("mistakelab_route_key", default=None)


@contextlib.contextmanager
def routed(key: str | None) -> Iterator[None]:
    """Calls made inside belong to ``key`` (a unit) for the pools' server affinity."""
    token = route_key.set(key)
    try:
        yield
    finally:
        route_key.reset(token)


class NoServer(RuntimeError):
    """Every server of the pool is down (and none is being probed)."""


@dataclass
class ServerState:
    """One server of a pool and what the pool knows of it."""

    spec: Server
    cap: int
    backoff: float
    handle: Any = None  # what sends requests to it (a backend)
    outstanding: int = 0
    down_until: float | None = None
    probing: bool = False
    stats: ServerStats = field(init=False)

    def __post_init__(self) -> None:
        self.stats = ServerStats(server=self.spec.url)

    @property
    def url(self) -> str:
        return self.spec.url

    @property
    def up(self) -> bool:
        return self.down_until is None and not self.probing

    @property
    def saturated(self) -> bool:
        return self.outstanding >= self.cap


class ServerPool:
    """Routing and health state of several servers (see the module docstring); no I/O of its
    own: ``probe(state) -> bool`` asks a down server whether it is back."""

    def __init__(self, servers: Sequence[Server], *, default_cap: int,
                 probe: Callable[[ServerState], Awaitable[bool]] | None = None,
                 probe_backoff: float = 1.0, max_probe_backoff: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, max_sticky: int = 100_000) -> None:
        self.servers = [ServerState(s, s.max_concurrency or default_cap, probe_backoff) for s in servers]
        self.probe_backoff, self.max_probe_backoff = probe_backoff, max_probe_backoff
        self._probe = probe
        self._clock = clock
        self._sticky: OrderedDict[str, ServerState] = OrderedDict()
        self._max_sticky = max_sticky
        self._wake: asyncio.Event | None = None
        self._wake_loop: asyncio.AbstractEventLoop | None = None
        self._probes: set[asyncio.Task[None]] = set()

    # -- choosing ----------------------------------------------------------------------
    def pick(self, key: str | None) -> ServerState | None:
        """The server for the next call of ``key``, or None when every one is down or full."""
        prev = self._sticky.get(key) if key is not None else None
        if prev is not None and prev.up and not prev.saturated:
            return prev
        ready = [s for s in self.servers if s.up and not s.saturated]
        if not ready:
            return None
        return min(ready, key=lambda s: (s.outstanding + 1) / s.spec.weight)

    async def acquire(self, key: str | None) -> ServerState:
        """A slot on a server for one request of unit ``key``: waits while every server up is
        full (or a probe is out); raises :class:`NoServer` when all are down and none is due."""
        while True:
            self._start_due_probes()
            s = self.pick(key)
            if s is not None:
                s.outstanding += 1
                if key is not None:
                    self._sticky[key] = s
                    self._sticky.move_to_end(key)
                    if len(self._sticky) > self._max_sticky:
                        self._sticky.popitem(last=False)
                return s
            if not any(x.up or x.probing for x in self.servers):
                due = min(x.down_until for x in self.servers if x.down_until is not None)
                raise NoServer(f"all {len(self.servers)} servers are down (next probe in "
                               f"{max(due - self._clock(), 0):.1f}s)")
            await self._wait()

    def release(self, s: ServerState, *, ok: bool, down: bool = False, latency: float = 0.0,
                prompt_tokens: int = 0, completion_tokens: int = 0, counted: bool = True) -> None:
        """The end of a request on ``s``: counted in its figures (unless cancelled:
        ``counted=False``), and ``down`` marks the server down."""
        s.outstanding -= 1
        if counted:
            st = s.stats
            st.calls += 1
            if ok:
                st.prompt_tokens += prompt_tokens
                st.completion_tokens += completion_tokens
                st.latency_s += latency
            else:
                st.failures += 1
        if down:
            self.mark_down(s)
        self._notify()

    def mark_down(self, s: ServerState) -> None:
        """No traffic to ``s`` until a probe after its backoff finds it back."""
        if s.down_until is None and not s.probing:
            s.down_until = self._clock() + s.backoff
            s.stats.downs += 1
            for k in [k for k, v in self._sticky.items() if v is s]:
                del self._sticky[k]

    def any_up(self) -> bool:
        return any(s.up for s in self.servers)

    def take_stats(self) -> list[ServerStats]:
        """Each server's figures since the last take (servers with nothing new left out)."""
        out = []
        for s in self.servers:
            if s.stats != ServerStats(server=s.url):
                out.append(s.stats)
                s.stats = ServerStats(server=s.url)
        return out

    # -- health ------------------------------------------------------------------------
    def _start_due_probes(self) -> None:
        now = self._clock()
        for s in self.servers:
            if s.down_until is not None and s.down_until <= now and not s.probing:
                s.down_until, s.probing = None, True
                task = asyncio.get_running_loop().create_task(self._run_probe(s))
                self._probes.add(task)
                task.add_done_callback(self._probes.discard)

    async def _run_probe(self, s: ServerState) -> None:
        try:
            ok = self._probe is None or await self._probe(s)
        except Exception:  # noqa: BLE001 - a probe that raises found the server not back
            ok = False
        s.probing = False
        if ok:
            s.backoff = self.probe_backoff
        else:
            s.backoff = min(s.backoff * 2, self.max_probe_backoff)
            s.down_until = self._clock() + s.backoff
        self._notify()

    def _next_due(self) -> float | None:
        due = [s.down_until for s in self.servers if s.down_until is not None]
        return max(min(due) - self._clock(), 0.0) if due else None

    async def _wait(self) -> None:
        loop = asyncio.get_running_loop()
        if self._wake is None or self._wake_loop is not loop:
            self._wake, self._wake_loop = asyncio.Event(), loop
        wake = self._wake
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), self._next_due())

    def _notify(self) -> None:
        if self._wake is not None:
            self._wake.set()
            self._wake = None


class _Failed(Exception):
    """One attempt on one server failed: whether to retry elsewhere, and to mark it down."""

    def __init__(self, retryable: bool, down: bool, description: str, retry_after: float | None) -> None:
        super().__init__(description)
        self.retryable, self.down, self.description, self.retry_after = retryable, down, description, retry_after


class _ServerBackend(OpenAIBackend):
    """The openai backend of one server of a pool: one attempt per request, its failure
    raised (as :class:`_Failed`) for the pool to route the retry."""

    async def _call(self, send: Callable[[], Awaitable[Any]], started: float) -> tuple[Any, float] | Completion:
        t0 = time.perf_counter()
        try:
            return await send(), time.perf_counter() - t0
        except openai.APIError as exc:
            retryable, description, hint = self._classify(exc)
            down = (isinstance(exc, openai.APIConnectionError) and not isinstance(exc, openai.APITimeoutError)) \
                or (isinstance(exc, openai.APIStatusError) and exc.status_code >= 500)
            raise _Failed(retryable, down, description, hint) from None

    async def probe(self) -> bool:
        """``GET /v1/models`` answers 200."""
        await self._client.models.list(timeout=min(self.timeout, 5.0))
        return True


def _tokens(out: Completion | list[Completion]) -> tuple[bool, int, int]:
    outs = out if isinstance(out, list) else [out]
    return (all(c.ok for c in outs), sum(c.prompt_tokens for c in outs), sum(c.completion_tokens for c in outs))


class PooledOpenAIBackend(Backend):
    """The ``openai`` backend over several servers of one model (module docstring).

    ``base_url`` is the server list; ``max_concurrency`` is each server's default cap;
    ``max_retries``, ``initial_backoff``, ``max_backoff`` and ``timeout`` mean what they mean
    for :class:`OpenAIBackend` (a retry goes to another server where one is up, without
    waiting); the other options go to every server's client.

    Example:
        >>> b = PooledOpenAIBackend("m", base_url=["http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1"])
        >>> b.model_id, [s.cap for s in b.pool.servers]
        ('openai:pool:m', [16, 16])
    """

    def __init__(self, model: str, *, base_url: Sequence[Any], max_concurrency: int = 16,
                 max_retries: int = 5, initial_backoff: float = 0.5, max_backoff: float = 20.0,
                 probe_backoff: float = 1.0, max_probe_backoff: float = 60.0, **kw: Any) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be at least 0, got {max_retries}")
        self.model = model
        self.max_retries, self.initial_backoff, self.max_backoff = max_retries, initial_backoff, max_backoff
        self.pool = ServerPool(parse_servers(base_url), default_cap=max_concurrency, probe=self._probe,
                               probe_backoff=probe_backoff, max_probe_backoff=max_probe_backoff)
        for s in self.pool.servers:
            s.handle = _ServerBackend(model, base_url=s.url, max_concurrency=s.cap, max_retries=0, **kw)
        first: _ServerBackend = self.pool.servers[0].handle
        self.capabilities, self.multi_sample = first.capabilities, first.multi_sample
        self.model_id = f"openai:pool:{model}"
        self._rng = random.Random()
        self._sleep = asyncio.sleep

    def __repr__(self) -> str:
        return f"PooledOpenAIBackend(model={self.model!r}, servers={[s.url for s in self.pool.servers]!r})"

    @staticmethod
    async def _probe(s: ServerState) -> bool:
        return await s.handle.probe()

    async def generate(self, messages: Sequence[Message], params: GenParams) -> Completion:
        return await self._routed(lambda b: b.generate(messages, params))

    async def sample(self, messages: Sequence[Message], params: GenParams,
                     seeds: Sequence[int | None]) -> list[Completion]:
        if self.multi_sample and len(seeds) > 1:
            return await self._routed(lambda b: b.sample(messages, params, seeds), k=len(seeds))
        return await super().sample(messages, params, seeds)  # each seed routed on its own

    async def _routed(self, send: Callable[[_ServerBackend], Awaitable[T]], k: int = 0) -> T:
        started = time.perf_counter()
        last = "no attempt made"
        for attempt in range(1, self.max_retries + 2):
            wait: float | None = None
            try:
                s = await self.pool.acquire(route_key.get())
            except NoServer as exc:
                last = str(exc)
            else:
                t0 = time.perf_counter()
                try:
                    out = await send(s.handle)
                except _Failed as f:
                    self.pool.release(s, ok=False, down=f.down)
                    last = f"{s.url}: {f.description}"
                    if not f.retryable:
                        return self._error(f"{last}; not retried", started, k)  # type: ignore[return-value]
                    wait = f.retry_after if f.retry_after is not None else (0.0 if self.pool.any_up() else None)
                except BaseException:
                    self.pool.release(s, ok=False, counted=False)  # cancelled: no figure
                    raise
                else:
                    ok, prompt, completion = _tokens(out)  # type: ignore[arg-type]
                    self.pool.release(s, ok=ok, latency=time.perf_counter() - t0, prompt_tokens=prompt,
                                      completion_tokens=completion)
                    return out
            if attempt <= self.max_retries:
                ceiling = min(self.max_backoff, self.initial_backoff * 2 ** (attempt - 1))
                delay = self._rng.uniform(ceiling / 2, ceiling) if wait is None else min(wait, self.max_backoff)
                if delay > 0:
                    await self._sleep(delay)
        return self._error(f"{last}; gave up after {self.max_retries + 1} attempts", started, k)  # type: ignore[return-value]

    def _error(self, message: str, started: float, k: int) -> Completion | list[Completion]:
        c = Completion(text="", finish_reason="error", error=f"{self.model_id}: {message}",
                       latency_s=time.perf_counter() - started)
        return [c.model_copy() for _ in range(k)] if k else c

    def take_server_stats(self) -> list[ServerStats]:
        return self.pool.take_stats()

    async def aclose(self) -> None:
        for s in self.pool.servers:
            await s.handle.aclose()
