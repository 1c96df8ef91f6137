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
from typing import Any, AsyncIterator

import httpx2
import openai

from mistakelab.backends.openai_backend import OpenAIBackend
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
    """The server behind the proxy (see the module docstring)."""

    def __init__(self, base_url: str, *, key_env: str = "OPENAI_API_KEY", max_concurrency: int = 16,
                 timeout: float = 600.0, retries: int = 0) -> None:
        self.base_url = base_url.rstrip("/")
        self.key_env, self.limit, self.timeout, self.retries = key_env, max_concurrency, timeout, retries
        self.limiter = asyncio.Semaphore(max_concurrency)
        key = os.environ.get(key_env)
        self._client = httpx2.AsyncClient(
            base_url=self.base_url + "/", timeout=timeout,
            headers={"Authorization": f"Bearer {key}"} if key else {},
            limits=httpx2.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency))

    def backend(self, model: str) -> UpstreamBackend:
        """The backend strategies call ``model`` through (the shared limit; retries as configured)."""
        return UpstreamBackend(model, limiter=self.limiter, base_url=self.base_url, api_key_env=self.key_env,
                               max_concurrency=self.limit, max_retries=self.retries, timeout=self.timeout)

    async def models(self) -> list[str]:
        """The upstream's model names (``GET /models``)."""
        async with self._errors():
            r = await self._client.get("models")
        if r.status_code != 200:
            raise ApiError(502, f"the upstream answered HTTP {r.status_code} to GET /models", UPSTREAM,
                           code="upstream_error")
        return [str(m["id"]) for m in r.json().get("data", [])]

    async def forward(self, body: dict[str, Any]) -> httpx2.Response:
        """Send a chat request unchanged and read the whole answer (any status)."""
        async with self.limiter, self._errors():
            return await self._client.post("chat/completions", json=body)

    @asynccontextmanager
    async def stream(self, body: dict[str, Any]) -> AsyncIterator[httpx2.Response]:
        """Send a streaming chat request unchanged; the answer is read by the caller inside
        the ``async with`` (it holds one of the upstream's slots until then)."""
        async with self.limiter, self._errors():
            request = self._client.build_request("POST", "chat/completions", json=body)
            response = await self._client.send(request, stream=True)
            try:
                yield response
            finally:
                await response.aclose()

    @asynccontextmanager
    async def _errors(self) -> AsyncIterator[None]:
        try:
            yield
        except httpx2.TimeoutException:
            raise timeout_error(self.timeout) from None
        except httpx2.TransportError as exc:
            raise ApiError(502, f"the upstream {self.base_url} is unreachable ({type(exc).__name__}: {exc})",
                           UPSTREAM, code="upstream_unreachable") from None

    async def aclose(self) -> None:
        await self._client.aclose()


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
