"""A scriptable OpenAI-shaped chat server on 127.0.0.1 for backend tests.

Each request to ``POST /v1/chat/completions`` takes the next scripted :class:`Reply` (or the
default one when the script is empty), and is recorded with its headers and JSON body. The
server counts requests in flight under a lock, so tests can check concurrency limits.

Example:
    >>> with LoopbackServer() as server:
    ...     server.script(Reply(status=429), Reply())
    ...     server.url.startswith("http://127.0.0.1:")
    True
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def chat_body(
    text: str = "The answer is 4.",
    *,
    prompt_tokens: int = 11,
    completion_tokens: int = 5,
    finish_reason: str | None = "stop",
    logprobs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A minimal OpenAI ``chat.completion`` response body."""
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": text},
        "finish_reason": finish_reason,
        "logprobs": None if logprobs is None else {"content": logprobs, "refusal": None},
    }
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "test-model",
        "choices": [choice],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def error_body(message: str, kind: str = "server_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


@dataclass
class Reply:
    """What the server does for one request.

    ``wait``: an event the handler blocks on before answering; ``gate``: a semaphore it must
    acquire first (the test lets requests through one at a time). Both give up after
    ``wait_limit`` seconds, so a forgotten event cannot hang the suite.
    """

    status: int = 200
    body: dict[str, Any] = field(default_factory=chat_body)
    headers: dict[str, str] = field(default_factory=dict)
    wait: threading.Event | None = None
    gate: threading.Semaphore | None = None
    wait_limit: float = 10.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: dict[str, Any]


class LoopbackServer:
    """Threaded HTTP server on an ephemeral port; ``with`` starts and stops it."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.default = Reply()
        self.in_flight = 0
        self.max_in_flight = 0
        self._script: deque[Reply] = deque()
        self._events: list[threading.Event | threading.Semaphore] = []
        self._cond = threading.Condition()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        # A short poll interval: shutdown() waits up to one interval (default 0.5 s).
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """The API root to give as ``base_url``."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next requests, in order."""
        with self._cond:
            self._script.extend(replies)
            self._events.extend(e for r in replies for e in (r.wait, r.gate) if e is not None)

    def wait_in_flight(self, n: int, limit: float = 10.0) -> bool:
        """Block until at least ``n`` requests are in flight; False if ``limit`` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: self.in_flight >= n, timeout=limit)

    def __enter__(self) -> "LoopbackServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        # Free handlers still blocked on an event, so they exit before the socket closes.
        with self._cond:
            events = [*self._events, self.default.wait, self.default.gate]
        for event in events:
            if isinstance(event, threading.Event):
                event.set()
            elif event is not None:
                event.release(1000)
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # called from handler threads
    def _begin(self, received: Received) -> Reply:
        with self._cond:
            self.requests.append(received)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._cond.notify_all()
            return self._script.popleft() if self._script else self.default

    def _end(self) -> None:
        with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()


def _make_handler(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            body = json.loads(raw) if raw else {}
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = server._begin(Received(self.path, headers, body))
            try:
                if self.path != "/v1/chat/completions":
                    reply = Reply(status=404, body=error_body(f"no route {self.path}"))
                if reply.wait is not None:
                    reply.wait.wait(reply.wait_limit)
                if reply.gate is not None:
                    reply.gate.acquire(timeout=reply.wait_limit)
                data = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout); nothing to answer
            finally:
                server._end()

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    return Handler
