"""The upstream OpenAI-compatible server, shared by every request the proxy serves.

One :class:`Upstream` per proxy: one concurrency limit (``max_concurrency`` upstream
requests in flight, whatever mix of strategy calls and passed-on requests), one HTTP client
for passing requests on unchanged (strategy ``none``), and the backends strategies call
through the completion cache (:class:`UpstreamBackend`). The upstream key is read from its
environment variable once and goes only into the clients' headers.

Example:
    >>> import asyncio
    >>> async def demo():
    ...     up = Upstream("http://127.0.0.1:9/v1", max_concurrency=2)
    ...     try:
    ...         return up.backend("m").model_id, up.limit
    ...     finally:
    ...         await up.aclose()
    >>> asyncio.run(demo())
    ('openai:http://127.0.0.1:9/v1:m', 2)
"""

from __future__ import annotations

import asyncio
import os
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator

import httpx2
import openai

from mistakelab.backends.base import Backend
from mistakelab.backends.openai_backend import OpenAIBackend
from mistakelab.backends.pool import NoServer, PooledOpenAIBackend, ServerPool, ServerState
from mistakelab.backends.servers import is_pool, parse_servers
from mistakelab.serve.errors import UPSTREAM, ApiError, retry_after_tag, timeout_error

#: Fields of a request that are the proxy's own and are not passed on.
OWN_FIELDS = ("mistakelab", "optillm_approach")


class UpstreamBackend(OpenAIBackend):
    """The openai backend, with the proxy's shared concurrency limit and the upstream's
    ``Retry-After`` kept in a failed call's error text (so the proxy can pass it on)."""

    def __init__(self, model: str, *, limiter: asyncio.Semaphore, **kw: Any) -> None:
        super().__init__(model, **kw)
        self._limiter = limiter

    def _semaphore(self) -> asyncio.Semaphore:
        return self._limiter

    def _classify(self, exc: openai.APIError) -> tuple[bool, str, float | None]:
        retryable, description, retry_after = super()._classify(exc)
        if retry_after is not None:
            description = f"{description} {retry_after_tag(retry_after)}"
        return retryable, description, retry_after


class Upstream:
    """The server behind the proxy (see the module docstring); ``base_url`` a list: several
    servers of the same models (a pool: :mod:`mistakelab.backends.pool`), each capped at
    ``max_concurrency``, a request passed on going to the least busy one that is up, and
    again to another when one refuses the connection or answers 5xx."""

    def __init__(self, base_url: str | list[Any], *, key_env: str = "OPENAI_API_KEY", max_concurrency: int = 16,
                 timeout: float = 600.0, retries: int = 0) -> None:
        self.servers = parse_servers(base_url) if is_pool(base_url) else None
        self.base_url = base_url.rstrip("/") if isinstance(base_url, str) else self.servers[0].url  # type: ignore[index]
        self.key_env, self.limit, self.timeout, self.retries = key_env, max_concurrency, timeout, retries
        self.limiter = asyncio.Semaphore(max_concurrency * (len(self.servers) if self.servers else 1))
        self.pool = None if self.servers is None else ServerPool(self.servers, default_cap=max_concurrency,
                                                                 probe=self._probe)
        key = os.environ.get(key_env)
        size = max_concurrency * (len(self.servers) if self.servers else 1)
        self._client = httpx2.AsyncClient(
            base_url=self.base_url + "/", timeout=timeout,
            headers={"Authorization": f"Bearer {key}"} if key else {},
            limits=httpx2.Limits(max_connections=size, max_keepalive_connections=size))

    def backend(self, model: str) -> Backend:
        """The backend strategies call ``model`` through (the shared limit; retries as configured;
        over a pool, each failed call tries every other server once at least)."""
        if self.servers is not None:
            return PooledOpenAIBackend(model, base_url=[s.model_dump() for s in self.servers],
                                       api_key_env=self.key_env, max_concurrency=self.limit,
                                       max_retries=max(self.retries, len(self.servers) - 1), timeout=self.timeout)
        return UpstreamBackend(model, limiter=self.limiter, base_url=self.base_url, api_key_env=self.key_env,
                               max_concurrency=self.limit, max_retries=self.retries, timeout=self.timeout)

    async def models(self) -> list[str]:
        """The upstream's model names (``GET /models``; of the first server of a pool that answers)."""
        for url in [s.url for s in self.servers] if self.servers else [self.base_url]:
            try:
                async with self._errors(url):
                    r = await self._client.get(url + "/models")
            except ApiError:
                if self.servers and url != self.servers[-1].url:
                    continue
                raise
            if r.status_code != 200:
                raise ApiError(502, f"the upstream answered HTTP {r.status_code} to GET /models", UPSTREAM,
                               code="upstream_error")
            return [str(m["id"]) for m in r.json().get("data", [])]
        return []  # pragma: no cover - the loop returns or raises

    async def forward(self, body: dict[str, Any]) -> httpx2.Response:
        """Send a chat request unchanged and read the whole answer (any status); over a pool,
        a refused connection or a 5xx answer is tried again on another server."""
        tries = len(self.servers) if self.servers else 1
        for attempt in range(1, tries + 1):
            try:
                async with self._server() as slot:
                    response = await self._client.post(slot.url + "/chat/completions", json=body)
                    slot.down = response.status_code >= 500
                    if not slot.down or attempt == tries or not self.pool or not self.pool.any_up():
                        return response
            except ApiError as exc:
                if attempt == tries or exc.code != "upstream_unreachable" or not self.pool:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    @asynccontextmanager
    async def stream(self, body: dict[str, Any]) -> AsyncIterator[httpx2.Response]:
        """Send a streaming chat request unchanged; the answer is read by the caller inside
        the ``async with`` (it holds one of the upstream's slots until then)."""
        async with self._server() as slot:
            request = self._client.build_request("POST", slot.url + "/chat/completions", json=body)
            response = await self._client.send(request, stream=True)
            slot.down = response.status_code >= 500
            try:
                yield response
            finally:
                await response.aclose()

    @asynccontextmanager
    async def _server(self) -> AsyncIterator["_Slot"]:
        """A slot on the upstream (on a server of the pool, which a refused connection or
        ``slot.down`` marks down)."""
        if self.pool is None:
            async with self.limiter, self._errors(self.base_url):
                yield _Slot(self.base_url)
            return
        try:
            s = await self.pool.acquire(None)
        except NoServer as exc:
            raise ApiError(502, f"the upstream is unreachable: {exc}", UPSTREAM, code="upstream_unreachable") from None
        slot = _Slot(s.url, down=True)
        try:
            async with self._errors(s.url):
                slot.down = False
                yield slot
        except ApiError as exc:
            slot.down = exc.code == "upstream_unreachable"
            raise
        finally:
            self.pool.release(s, ok=not slot.down, down=slot.down)

    async def _probe(self, s: ServerState) -> bool:
        return (await self._client.get(s.url + "/models", timeout=5.0)).status_code == 200

    @asynccontextmanager
    async def _errors(self, url: str) -> AsyncIterator[None]:
        try:
            yield
        except httpx2.TimeoutException:
            raise timeout_error(self.timeout) from None
        except httpx2.TransportError as exc:
            raise ApiError(502, f"the upstream {url} is unreachable ({type(exc).__name__}: {exc})",
                           UPSTREAM, code="upstream_unreachable") from None

    async def aclose(self) -> None:
        await self._client.aclose()


@dataclass
class _Slot:
    url: str
    down: bool = False


def forwarded_body(body: dict[str, Any], model: str) -> dict[str, Any]:
    """The request as the upstream gets it: the served model's own name, without the
    proxy's fields; everything else (tools, functions, response formats...) unchanged.

    Example:
        >>> forwarded_body({"model": "none/m", "messages": [], "tools": [1], "mistakelab": {}}, "m")
        {'model': 'm', 'messages': [], 'tools': [1]}
    """
    out = {k: v for k, v in body.items() if k not in OWN_FIELDS}
    out["model"] = model
    return out
