"""A scriptable OpenAI-shaped server on 127.0.0.1 for backend tests.

Each request takes the next scripted :class:`Reply`, and is recorded with its path, headers
and JSON body. The server counts requests in flight under a lock, so tests can check
concurrency limits. With the script empty:

* without a ``model``, ``POST /v1/chat/completions`` gets the default reply;
* with ``model = fn(prompt, seed) -> text`` the server acts like a real one around a fake
  LM: it renders the chat with a ChatML template (:func:`render`) and answers with
  ``fn(prompt, seed)``, recording each prompt in ``prompts``. ``/v1/chat/completions``
  follows vLLM/SGLang: a final message is continued only with ``continue_final_message``
  (then ``add_generation_prompt`` must be false, else HTTP 400), otherwise every message is
  closed and a new assistant turn opened; ``n`` choices use seeds ``seed + i``; the reply
  holds only the new text. ``POST /apply-template`` and ``/v1/completions`` follow the
  llama.cpp server: ``{"messages"} -> {"prompt"}`` with the generation prompt, and a raw
  completion of ``prompt`` (``n`` must be 1; ``logprobs: k`` gives the legacy logprobs shape).

Example:
    >>> with LoopbackServer() as server:
    ...     server.script(Reply(status=429), Reply())
    ...     server.url.startswith("http://127.0.0.1:")
    True
    >>> render([{"role": "user", "content": "hi"}], add_generation_prompt=True)
    '<|im_start|>user\\nhi<|im_end|>\\n<|im_start|>assistant\\n'
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

#: A fake language model: the rendered prompt and the request's seed -> the generated text.
FakeModel = Callable[[str, "int | None"], str]


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


def render(messages: list[dict[str, Any]], *, add_generation_prompt: bool = True,
           continue_final: bool = False) -> str:
    """ChatML; ``continue_final`` leaves the last message open (no end-of-turn marker)."""
    out = []
    for i, m in enumerate(messages):
        end = "" if continue_final and i == len(messages) - 1 else "<|im_end|>\n"
        out.append(f"<|im_start|>{m['role']}\n{m['content']}{end}")
    if add_generation_prompt and not continue_final:
        out.append("<|im_start|>assistant\n")
    return "".join(out)


def text_body(text: str, *, prompt_tokens: int, logprobs: int = 0) -> dict[str, Any]:
    """A legacy ``text_completion`` body; ``logprobs``: one word per token, as llama.cpp's
    legacy shape (each top map holds the chosen token)."""
    words = text.split(" ")
    lp = None
    if logprobs:
        tokens = [w if i == 0 else " " + w for i, w in enumerate(words)]
        lp = {"tokens": tokens, "token_logprobs": [-0.5] * len(tokens),
              "top_logprobs": [{t: -0.5, **{f"alt{j}": -1.0 - j for j in range(logprobs)}}
                               for t in tokens],
              "text_offset": [0] * len(tokens)}
    return {"id": "cmpl-test", "object": "text_completion", "created": 0, "model": "test-model",
            "choices": [{"index": 0, "text": text, "logprobs": lp, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(words),
                      "total_tokens": prompt_tokens + len(words)}}


def stream_chunks(tokens: list[tuple[str, float]], *, top: int = 1) -> list[dict[str, Any]]:
    """``chat.completion.chunk`` bodies, one token each, with its top logprobs: token
    ``(text, confidence)`` gets ``top`` candidates of logprob ``-confidence`` (so its token
    confidence is ``confidence``); the last chunk says ``finish_reason: stop``, then usage."""
    out = []
    for i, (text, conf) in enumerate(tokens):
        entry = {"token": text, "logprob": -conf, "bytes": None,
                 "top_logprobs": [{"token": text if j == 0 else f"alt{j}", "logprob": -conf, "bytes": None}
                                  for j in range(top)]}
        out.append({"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 0, "model": "test-model",
                    "choices": [{"index": 0, "delta": {"content": text}, "logprobs": {"content": [entry]},
                                 "finish_reason": "stop" if i == len(tokens) - 1 else None}]})
    out.append({"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 0, "model": "test-model",
                "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": len(tokens), "total_tokens": 7 + len(tokens)}})
    return out


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
    #: server-sent events instead of ``body``: these chunks, ``chunk_delay`` seconds apart,
    #: then ``[DONE]``; the server counts what it sent before the client went away
    stream: list[dict[str, Any]] | None = None
    chunk_delay: float = 0.0


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
        self.model: FakeModel | None = None
        self.prompts: list[str] = []  # what the fake model was given, in order
        self.in_flight = 0
        self.max_in_flight = 0
        self.chunks_sent: list[int] = []  # per streamed reply, chunks written before it ended
        self.streams_cut = 0  # streamed replies the client closed before [DONE]
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
    def _begin(self, received: Received) -> Reply | None:
        """Record the request; the next scripted reply, or None when the script is empty."""
        with self._cond:
            self.requests.append(received)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._cond.notify_all()
            return self._script.popleft() if self._script else None

    def _serve(self, path: str, body: dict[str, Any]) -> Reply:
        """The reply of a real server around :attr:`model` (see the module docs)."""
        assert self.model is not None
        if path == "/apply-template":
            return Reply(body={"prompt": render(body["messages"])})
        if path == "/v1/completions":
            if body.get("n", 1) != 1:
                return Reply(status=400, body=error_body("Only one completion choice is allowed"))
            text = self._generate(body["prompt"], body.get("seed"))
            return Reply(body=text_body(text, prompt_tokens=len(body["prompt"].split()),
                                        logprobs=int(body.get("logprobs") or 0)))
        cont = bool(body.get("continue_final_message"))
        gen = body.get("add_generation_prompt", True)
        if cont and gen:
            return Reply(status=400, body=error_body(
                "Cannot set both `continue_final_message` and `add_generation_prompt` to True."))
        prompt = render(body["messages"], add_generation_prompt=gen, continue_final=cont)
        seed = body.get("seed")
        texts = [self._generate(prompt, None if seed is None else seed + i)
                 for i in range(body.get("n", 1))]
        reply = chat_body(texts[0], prompt_tokens=len(prompt.split()),
                          completion_tokens=sum(len(t.split()) for t in texts))
        reply["choices"] = [{**reply["choices"][0], "index": i,
                             "message": {"role": "assistant", "content": t}}
                            for i, t in enumerate(texts)]
        return Reply(body=reply)

    def _generate(self, prompt: str, seed: int | None) -> str:
        assert self.model is not None
        with self._cond:
            self.prompts.append(prompt)
        return self.model(prompt, seed)

    def _end(self) -> None:
        with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()


ROUTES = ("/v1/chat/completions", "/v1/completions", "/apply-template")


def _make_handler(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            body = json.loads(raw) if raw else {}
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = server._begin(Received(self.path, headers, body))
            try:
                if self.path not in ROUTES:
                    reply = Reply(status=404, body=error_body(f"no route {self.path}"))
                elif reply is None and server.model is not None:
                    reply = server._serve(self.path, body)
                elif reply is None and self.path != "/v1/chat/completions":
                    reply = Reply(status=404, body=error_body(f"nothing scripted for {self.path}"))
                elif reply is None:
                    reply = server.default
                if reply.wait is not None:
                    reply.wait.wait(reply.wait_limit)
                if reply.gate is not None:
                    reply.gate.acquire(timeout=reply.wait_limit)
                if reply.stream is not None:
                    self._stream(reply)
                    return
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

        def _stream(self, reply: Reply) -> None:
            self.send_response(reply.status)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            sent = 0
            try:
                for chunk in [*reply.stream, "[DONE]"]:  # type: ignore[misc]
                    data = chunk if isinstance(chunk, str) else json.dumps(chunk)
                    self.wfile.write(f"data: {data}\n\n".encode())
                    self.wfile.flush()
                    sent += 1
                    time.sleep(reply.chunk_delay)
            except (BrokenPipeError, ConnectionResetError):
                with server._cond:
                    server.streams_cut += 1
            finally:
                with server._cond:
                    server.chunks_sent.append(sent)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    return Handler
