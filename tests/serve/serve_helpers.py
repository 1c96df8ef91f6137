"""Real servers on 127.0.0.1 for the proxy tests: uvicorn in a thread (its own event loop) on
an ephemeral port, the proxy with a scripted backend, and a fake OpenAI-compatible upstream.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import openai
import pytest

pytest.importorskip("starlette", reason="the proxy tests need the serve extra: pip install mistakelab[serve]")
pytest.importorskip("uvicorn", reason="the proxy tests need the serve extra: pip install mistakelab[serve]")

import uvicorn  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse, Response, StreamingResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from mistakelab.backends import ScriptedBackend  # noqa: E402
from mistakelab.serve import ServeConfig, create_app, loopback_socket  # noqa: E402
from mistakelab.store import RunStore  # noqa: E402


class ServerThread:
    """An ASGI app served by uvicorn in a background thread; ``with`` starts and stops it
    (stopping is uvicorn's graceful shutdown: requests in flight finish first)."""

    def __init__(self, app: Any) -> None:
        self.sock = loopback_socket()
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on",
                                                    timeout_graceful_shutdown=20))
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])),
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:  # readiness, not timing: startup loads the store
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@pytest.fixture
def upstream():  # type: ignore[no-untyped-def]
    """A :class:`FakeUpstream` served on 127.0.0.1 for the test (``.url`` its /v1 URL);
    import it by name into a test module."""
    up = FakeUpstream()
    with ServerThread(up.app) as server:
        up.url = server.url
        yield up


def proxy_server(tmp_path: Any, fake: Any = None, **kw: Any) -> ServerThread:
    """The proxy over the scripted backend ``fake`` (model name ``fake``), or with
    ``fake`` None as ``kw`` say (``backend="openai", upstream=...``)."""
    opts: dict[str, Any] = {"store": str(tmp_path / "served.db"), "keepalive": 0.05}
    if fake is not None:
        opts.update(backend="scripted", model="fake", backend_factory=lambda spec: fake)
    opts.update(kw)
    return ServerThread(create_app(ServeConfig(**opts)))


def client(url: str, **kw: Any) -> openai.OpenAI:
    """The official client, without its own retries (the tests see every status)."""
    return openai.OpenAI(base_url=url, api_key=kw.pop("api_key", "unused"), max_retries=0, **kw)


def units(tmp_path: Any) -> tuple[Any, list[Any], RunStore]:
    """The served run of the test's store, its units, and the store."""
    st = RunStore(tmp_path / "served.db")
    run = st.list_runs()[-1]
    return run, st.units(run.id), st


def boxed_echo(messages: list[Any], params: Any) -> str:
    """A scripted model: works out the number in the question and boxes it."""
    last = messages[-1].content
    digits = "".join(ch for ch in last if ch.isdigit()) or "0"
    return f"The question says {digits}, so the answer is \\boxed{{{digits}}}."


def gated(event: threading.Event, text: str = "done \\boxed{1}",
          entered: threading.Event | None = None) -> Callable[..., Any]:
    """A scripted model whose calls wait until ``event`` is set (the test controls when);
    ``entered`` is set when a call starts waiting."""

    async def script(messages: list[Any], params: Any) -> str:
        if entered is not None:
            entered.set()
        await asyncio.to_thread(event.wait, 20)
        return text

    return script


def scripted(fn: Any) -> ScriptedBackend:
    return ScriptedBackend(fn, model_id="fake")


def chat_body(text: str, prompt_tokens: int = 7, completion_tokens: int = 3, **message: Any) -> dict[str, Any]:
    return {"id": "chatcmpl-up", "object": "chat.completion", "created": 0, "model": "up-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text, **message},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


@dataclass
class UpReply:
    status: int = 200
    body: dict[str, Any] | None = None  # None: the upstream's default answer
    headers: dict[str, str] = field(default_factory=dict)
    gate: threading.Event | None = None
    cut: bool = False  # streamed: the upstream dies after two chunks (the connection drops mid-body)
    raw: bytes | None = None  # sent as the body as it is (e.g. not JSON), labelled JSON


class FakeUpstream:
    """An OpenAI-compatible server: scripted replies (else a boxed echo), every request
    recorded with its headers, requests in flight counted, streaming when asked."""

    def __init__(self, models: tuple[str, ...] = ("up-model",)) -> None:
        self.models = models
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.script: deque[UpReply] = deque()
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Condition()
        self.app = Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"]),
                                     Route("/v1/models", self._models, methods=["GET"])])

    def wait_in_flight(self, n: int, limit: float = 20.0) -> bool:
        """Block until ``n`` requests are in flight (False if ``limit`` seconds pass first)."""
        with self._lock:
            return self._lock.wait_for(lambda: self.in_flight >= n, timeout=limit)

    async def _models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]})

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            self.requests.append((dict(request.headers), body))
            reply = self.script.popleft() if self.script else UpReply()
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._lock.notify_all()
        try:
            if reply.gate is not None:
                await asyncio.to_thread(reply.gate.wait, 20)
            if reply.raw is not None:
                return Response(reply.raw, reply.status, media_type="application/json", headers=reply.headers)
            data = reply.body or chat_body(boxed_echo(_messages(body), None))
            if body.get("stream") and reply.status == 200:
                return StreamingResponse(_sse(data, reply.cut), media_type="text/event-stream", headers=reply.headers)
            return JSONResponse(data, reply.status, headers=reply.headers)
        finally:
            with self._lock:
                self.in_flight -= 1


def _messages(body: dict[str, Any]) -> list[Any]:
    from mistakelab.core.types import Message

    return [Message(role="user", content=str(m.get("content") or "")) for m in body["messages"]]


async def _sse(data: dict[str, Any], cut: bool = False):  # type: ignore[no-untyped-def]
    text = data["choices"][0]["message"]["content"]
    for i in range(0, len(text), 5):
        if cut and i >= 10:
            raise ConnectionAbortedError("the fake upstream dies mid-stream")
        chunk = {"id": "up", "object": "chat.completion.chunk", "created": 0, "model": "up-model",
                 "choices": [{"index": 0, "delta": {"content": text[i:i + 5]}, "finish_reason": None}]}
        yield f"data: {json.dumps(chunk)}\n\n".encode()
    end = {"id": "up", "object": "chat.completion.chunk", "created": 0, "model": "up-model",
           "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": data["usage"]}
    yield f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode()
