"""The HTTP side: a Starlette app served by uvicorn.

Endpoints: ``POST /v1/chat/completions``, ``GET /v1/models`` (every ``strategy/model`` name
served), ``GET /health``. Each chat answer carries its trace id in the ``X-Mistakelab-Trace-Id``
header (errors too, once the request was read). With ``api_key`` set, ``/v1/*`` needs
``Authorization: Bearer <key>`` (401 otherwise). Shutdown is graceful: uvicorn stops
accepting, lets the requests in flight finish (up to the request timeout), then the served
run is closed.

Example (a client session; ``mistakelab serve`` runs the server):
    >>> from openai import OpenAI  # doctest: +SKIP
    >>> client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="unused")  # doctest: +SKIP
    >>> r = client.chat.completions.with_raw_response.create(  # doctest: +SKIP
    ...     model="self_consistency-k4/qwen2.5-coder-0.5b",
    ...     messages=[{"role": "user", "content": "What is 17 * 3?"}])
    >>> r.headers["x-mistakelab-trace-id"], r.parse().choices[0].message.content  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable, Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from mistakelab.serve.config import NONE, ServeConfig
from mistakelab.serve.errors import AUTH, NOT_FOUND, SERVER, ApiError, timeout_error
from mistakelab.serve.limits import check_request, read_body
from mistakelab.serve.naming import served_names
from mistakelab.serve.passon import pass_on, pass_on_stream
from mistakelab.serve.request import parse_request, servable
from mistakelab.serve.responses import completion_json, sse_answer
from mistakelab.serve.service import Proxy, new_trace_id
from mistakelab.strategies import strategies

TRACE_HEADER = "X-Mistakelab-Trace-Id"
log = logging.getLogger("mistakelab.serve")


class _Stream(StreamingResponse):
    """A streamed answer that always closes its body and runs ``cleanup``, even when the
    client leaves before the first chunk (frees the upstream slot, cancels the work)."""

    def __init__(self, content: AsyncIterator[bytes], *, cleanup: Callable[[], Awaitable[Any]] | None = None,
                 **kw: Any) -> None:
        super().__init__(content, **kw)
        self._cleanup = cleanup

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.body_iterator.aclose()  # type: ignore[attr-defined]
            if self._cleanup is not None:
                await self._cleanup()


def _error_response(exc: ApiError, extra: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(exc.body(), exc.status, headers={**exc.headers, **(extra or {})})


def _check_key(request: Request, key: str | None) -> None:
    if key is None:
        return
    sent = request.headers.get("authorization", "")
    if not secrets.compare_digest(sent.encode(), f"Bearer {key}".encode()):
        raise ApiError(401, "missing or wrong API key (send Authorization: Bearer <key>)", AUTH,
                       code="invalid_api_key")


async def _chat(request: Request) -> Response:
    proxy: Proxy = request.app.state.proxy
    cfg = proxy.config
    _check_key(request, cfg.api_key)
    req = parse_request(await read_body(request, cfg.limits), proxy.models, cfg.strategy, cfg.max_tokens, cfg.max_n)
    check_request(req, cfg.limits, passed_on=req.strategy == NONE and proxy.upstream is not None)
    trace_id = new_trace_id()
    header = {TRACE_HEADER: trace_id}
    try:
        if req.strategy == NONE and proxy.upstream is not None:
            if req.stream:
                status, body, headers, stack = await pass_on_stream(proxy, req, trace_id, header)
                return _Stream(body, status_code=status, headers=headers, cleanup=stack.aclose)
            try:
                async with asyncio.timeout(cfg.timeout):
                    status, content, headers = await pass_on(proxy, req, trace_id, header)
            except TimeoutError:
                raise timeout_error(cfg.timeout) from None
            return Response(content, status, headers=headers)
        proxy.check_model(req)
        created = int(time.time())

        async def answer() -> dict[str, Any]:
            return completion_json(req, await proxy.solve(req, trace_id), proxy.run_id, created)

        if req.stream:
            return _Stream(sse_answer(answer, cfg.keepalive, req.include_usage), media_type="text/event-stream",
                           headers={**header, "Cache-Control": "no-cache"})
        return JSONResponse(await answer(), headers=header)
    except ApiError as exc:
        return _error_response(proxy.internal_out(exc), header)


async def _models(request: Request) -> Response:
    proxy: Proxy = request.app.state.proxy
    _check_key(request, proxy.config.api_key)
    names = served_names(proxy.models, [*(s for s in strategies.names() if servable(s)), NONE])
    return JSONResponse({"object": "list", "data": [{"id": n, "object": "model", "created": 0,
                                                     "owned_by": "mistakelab"} for n in names]})


async def _health(request: Request) -> Response:
    proxy: Proxy = request.app.state.proxy
    return JSONResponse({"status": "ok", "run_id": proxy.run_id, "models": proxy.models,
                         "default_strategy": proxy.config.strategy, "in_flight": proxy.in_flight,
                         "served": proxy.served})


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kind = NOT_FOUND if exc.status_code == 404 else "invalid_request_error"
    return _error_response(ApiError(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}", kind))


async def _crash(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path)
    return _error_response(ApiError(500, f"internal error: {type(exc).__name__}", SERVER))


def create_app(config: ServeConfig, proxy: Proxy | None = None) -> Starlette:
    """The proxy's ASGI app. The served run opens at startup (or was opened already:
    ``proxy``, started, so that start-up errors are reported before serving) and closes at
    shutdown."""
    started = proxy is not None
    proxy = proxy or Proxy(config)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not started:
            await proxy.start()
        app.state.proxy = proxy
        log.info("serving run %s: models %s, default strategy %s", proxy.run_id, ", ".join(proxy.models),
                 config.strategy)
        try:
            yield
        finally:
            await proxy.close()

    routes = [Route("/v1/chat/completions", _chat, methods=["POST"]), Route("/v1/models", _models, methods=["GET"]),
              Route("/health", _health, methods=["GET"])]
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        ApiError: _api_error, HTTPException: _http_error, Exception: _crash})


def server(config: ServeConfig, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info",
           proxy: Proxy | None = None) -> Any:
    """A uvicorn server of the proxy (``await .serve()``, or ``.serve(sockets=[...])``)."""
    import uvicorn

    return uvicorn.Server(uvicorn.Config(create_app(config, proxy), host=host, port=port, log_level=log_level,
                                         timeout_graceful_shutdown=int(config.timeout) + 5, lifespan="on"))


def loopback_socket(port: int = 0) -> socket.socket:
    """A listening socket on 127.0.0.1 (``port`` 0: an ephemeral one), for tests and benches."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    return sock


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server to this machine.

    Example:
        >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
        (True, True, False)
    """
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


__all__: Sequence[str] = ["TRACE_HEADER", "create_app", "is_loopback", "loopback_socket", "server"]
