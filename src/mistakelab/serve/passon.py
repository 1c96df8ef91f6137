"""Strategy ``none`` in front of an upstream: the request goes on unchanged (tools, function
calls, response formats included) and the upstream's answer comes back unchanged (status,
body, ``Retry-After``), streamed or not. The exchange is recorded like any served request:
one call in a trace, whose completion holds the answer's text and token counts (read from
the streamed chunks when streaming).

Example:
    >>> acc = StreamText()
    >>> acc.feed(b'data: {"choices": [{"delta": {"content": "4"}, "finish_reason": null}]}\\n\\n'
    ...          b'data: {"choices": [{"delta": {}, "finish_reason": "stop"}],'
    ...          b' "usage": {"prompt_tokens": 3, "completion_tokens": 1}}\\n\\ndata: [DONE]\\n\\n')
    >>> acc.text, acc.usage["prompt_tokens"], acc.finish
    ('4', 3, 'stop')
"""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import AsyncExitStack
from typing import Any, AsyncIterator

from mistakelab.context import build_result, failed_result
from mistakelab.core.events import NoteEvent
from mistakelab.core.trace import AnswerKind, AnswerRecord, CallRecord, Trace
from mistakelab.core.types import Completion, Result
from mistakelab.serve.config import NONE
from mistakelab.serve.errors import UPSTREAM, ApiError
from mistakelab.serve.request import ServeRequest
from mistakelab.serve.service import TASK, Proxy
from mistakelab.serve.upstream import forwarded_body

#: Upstream headers passed back to the client.
PASSED_HEADERS = ("content-type", "retry-after", "retry-after-ms", "x-request-id")


class StreamText:
    """Reads the text, finish reason and usage out of streamed chat chunks."""

    def __init__(self) -> None:
        self.text, self.finish, self.usage = "", "stop", {}
        self._pending = b""
        self._parts: list[str] = []

    def feed(self, chunk: bytes) -> None:
        lines = (self._pending + chunk).split(b"\n")
        self._pending = lines.pop()
        for line in lines:
            line = line.strip()
            if not line.startswith(b"data:") or line[5:].strip() == b"[DONE]":
                continue
            try:
                data = json.loads(line[5:])
            except ValueError:
                continue  # not ours to judge: the client gets the bytes as they came
            for choice in data.get("choices") or []:
                if choice.get("index", 0) == 0:
                    self._parts.append((choice.get("delta") or {}).get("content") or "")
                    self.finish = choice.get("finish_reason") or self.finish
            self.usage = data.get("usage") or self.usage
        self.text = "".join(self._parts)


def _record(proxy: Proxy, req: ServeRequest, trace_id: str, status: int, text: str, finish: str,
            usage: dict[str, Any], seconds: float, extra: dict[str, Any], error: str | None = None) -> None:
    """Store the exchange as a unit: done for a whole 200 answer; failed (``error``, or the
    upstream's status) otherwise."""
    ok = status == 200 and error is None
    completion = Completion(
        text=text, prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0), latency_s=seconds,
        finish_reason=("length" if finish == "length" else "stop") if ok else "error",
        error=None if ok else error or f"HTTP {status} from the upstream")
    trace = Trace(strategy=NONE, problem_id=f"{req.content_id()}-0", model=req.model)
    trace.calls.append(CallRecord(index=0, purpose="passthrough", model=proxy.caller(req.model).model_id,
                                  messages=req.messages or [], params=req.gen, completion=completion))
    request = {k: v for k, v in forwarded_body(req.body, req.model).items() if k != "messages" or not req.messages}
    trace.events.append(NoteEvent(label="passed_on", data={"status": status, "stream": req.stream,
                                                           "request": request, **extra}))
    result: Result
    if ok:
        extracted = TASK.extract(text)
        trace.answers.append(AnswerRecord(kind=AnswerKind.FINAL, label="final", call=0, extracted=extracted.text,
                                          method=extracted.method))
        result = build_result(trace, TASK.name, seconds, gold=False)
    else:
        result = failed_result(trace, TASK.name, seconds, completion.error or "")
    proxy.save_passed_on(trace_id, trace, result)


def _record_failure(proxy: Proxy, req: ServeRequest, trace_id: str, exc: BaseException, seconds: float) -> None:
    """A request the upstream never answered (unreachable, timed out, cancelled) is stored too."""
    if isinstance(exc, ApiError):
        status, why = exc.status, exc.message
    else:
        status, why = 499, ("cancelled (timeout, or the client went away)" if isinstance(exc, asyncio.CancelledError)
                            else f"{type(exc).__name__}: {exc}")
    _record(proxy, req, trace_id, status, "", "stop", {}, seconds, {"unanswered": True}, error=why)


def _headers(upstream_headers: Any, trace_header: dict[str, str]) -> dict[str, str]:
    return {**{k: v for k, v in upstream_headers.items() if k.lower() in PASSED_HEADERS}, **trace_header}


async def pass_on(proxy: Proxy, req: ServeRequest, trace_id: str,
                  trace_header: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    """Send the request on and read the whole answer: (status, body, headers)."""
    assert proxy.upstream is not None
    start = time.perf_counter()
    proxy.in_flight += 1
    try:
        response = await proxy.upstream.forward(forwarded_body(req.body, req.model))
    except BaseException as exc:  # unreachable (502), timed out (504), cancelled: stored failed, then answered
        _record_failure(proxy, req, trace_id, exc, time.perf_counter() - start)
        raise
    finally:
        proxy.in_flight -= 1
    seconds = time.perf_counter() - start
    text, finish, usage, extra = "", "stop", {}, {}
    if response.status_code == 200:
        try:
            data = response.json()
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
            finish, usage = choice.get("finish_reason") or "stop", data.get("usage") or {}
            if choice["message"].get("tool_calls"):
                extra["tool_calls"] = choice["message"]["tool_calls"]
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            extra["unreadable"] = True  # passed back as it came; recorded without its text
    _record(proxy, req, trace_id, response.status_code, text, finish, usage, seconds, extra)
    return response.status_code, response.content, _headers(response.headers, trace_header)


async def pass_on_stream(proxy: Proxy, req: ServeRequest, trace_id: str, trace_header: dict[str, str]
                         ) -> tuple[int, AsyncIterator[bytes], dict[str, str], AsyncExitStack]:
    """Open the upstream's stream: (status, body chunks, headers, the stack to close once
    the body is sent, or the client is gone)."""
    assert proxy.upstream is not None
    stack = AsyncExitStack()
    start = time.perf_counter()
    proxy.in_flight += 1

    def done() -> None:
        proxy.in_flight -= 1

    stack.callback(done)
    try:
        response = await stack.enter_async_context(proxy.upstream.stream(forwarded_body(req.body, req.model)))
    except BaseException as exc:
        _record_failure(proxy, req, trace_id, exc, time.perf_counter() - start)
        await stack.aclose()
        raise
    acc = StreamText()
    broken: list[str] = []

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_bytes():
                acc.feed(chunk)
                yield chunk
        except Exception as exc:  # noqa: BLE001 - the upstream died mid-stream: say so in the stream
            broken.append(f"the upstream's stream broke off ({type(exc).__name__}: {exc})")
            error = ApiError(502, broken[0], UPSTREAM, code="upstream_stream_broken")
            yield b"\n\ndata: " + json.dumps(error.body()).encode() + b"\n\n"
        except BaseException:  # the client went away (cancelled): stored failed, not done
            broken.append("cancelled (timeout, or the client went away)")
            raise

    async def record() -> None:
        _record(proxy, req, trace_id, response.status_code, acc.text, acc.finish, acc.usage,
                time.perf_counter() - start, {}, error=broken[0] if broken else None)

    stack.push_async_callback(record)
    return response.status_code, chunks(), _headers(response.headers, trace_header), stack
