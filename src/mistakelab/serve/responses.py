"""The wire shape of the proxy's answers: a ``chat.completion``, or its stream of chunks.

The answer carries an extension field ``mistakelab``: the trace id, the served run, the
strategy, each choice's extracted final answer, and ``usage_by_role`` (calls, cache hits and
tokens per model role; OpenAI's ``usage`` is their sum, cache hits included).

Streaming (``stream=true``): while the strategy works the stream carries SSE comment lines
(``: keep-alive``, every ``keepalive`` seconds; clients ignore them, and they keep proxies and
load balancers from closing an idle connection); once it has finished, each choice's final
text is sent as chunks (a role chunk, pieces of the text, a chunk with its finish reason),
then, with ``stream_options.include_usage``, a usage chunk, then ``data: [DONE]``. The
extension field rides on the last chunk. A failure after the stream started is sent as
``data: {"error": {...}}`` (the openai client raises it) and ends the stream.

Example:
    >>> import asyncio
    >>> async def done():
    ...     return {"id": "c", "created": 0, "model": "m", "usage": {"total_tokens": 1},
    ...             "choices": [{"index": 0, "message": {"role": "assistant", "content": "4"},
    ...                          "finish_reason": "stop"}]}
    >>> async def collect():
    ...     return [c async for c in sse_answer(done, keepalive=1.0, include_usage=False)]
    >>> out = asyncio.run(collect())
    >>> len(out), out[-1]
    (4, b'data: [DONE]\\n\\n')
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator, Awaitable, Callable

from mistakelab.serve.errors import SERVER, ApiError
from mistakelab.serve.request import ServeRequest
from mistakelab.serve.service import Served, usage_json

KEEPALIVE = b": keep-alive\n\n"
DONE = b"data: [DONE]\n\n"
PIECE = 48  # characters of final text per streamed chunk


def completion_json(req: ServeRequest, served: Served, run_id: str, created: int) -> dict[str, Any]:
    """The ``chat.completion`` answer of a finished request."""
    usage = served.usage()
    return {
        "id": f"chatcmpl-{served.trace_id}",
        "object": "chat.completion",
        "created": created,
        "model": req.body["model"],
        "choices": [{"index": i, "message": {"role": "assistant", "content": c.text},
                     "finish_reason": c.finish_reason if c.finish_reason != "error" else "stop", "logprobs": None}
                    for i, c in enumerate(served.choices)],
        "usage": usage_json(usage),
        "mistakelab": {
            "trace_id": served.trace_id, "run_id": run_id, "strategy": served.label,
            "final_answers": [c.result.final_answer for c in served.choices],
            "usage_by_role": {role: u.model_dump() for role, u in usage.items()},
        },
    }


def _event(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, ensure_ascii=False).encode() + b"\n\n"


def chunks(answer: dict[str, Any], include_usage: bool) -> list[bytes]:
    """A finished ``chat.completion`` as stream events (see the module docstring)."""
    head = {"id": answer["id"], "object": "chat.completion.chunk", "created": answer["created"],
            "model": answer["model"]}

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**head, "choices": [{"index": index, "delta": delta, "finish_reason": finish, "logprobs": None}]}

    out = []
    for c in answer["choices"]:
        i, text = c["index"], c["message"]["content"]
        out.append(chunk(i, {"role": "assistant", "content": ""}))
        out.extend(chunk(i, {"content": text[j:j + PIECE]}) for j in range(0, len(text), PIECE))
        out.append(chunk(i, {}, c["finish_reason"]))
    if include_usage:
        out.append({**head, "choices": [], "usage": answer["usage"]})
    if "mistakelab" in answer:
        out[-1]["mistakelab"] = answer["mistakelab"]
    return [*map(_event, out), DONE]


async def sse_answer(run: Callable[[], Awaitable[dict[str, Any]]], keepalive: float,
                     include_usage: bool) -> AsyncIterator[bytes]:
    """Run ``run()`` (the whole answer) and stream it; keep-alive comments until it is done.
    Closing the stream early (the client went away) cancels the work."""
    task = asyncio.ensure_future(run())
    try:
        while not task.done():
            done, _ = await asyncio.wait({task}, timeout=keepalive)
            if not done:
                yield KEEPALIVE
        try:
            answer = task.result()
        except ApiError as exc:
            yield _event(exc.body())
            return
        except Exception as exc:  # noqa: BLE001 - the status is sent already: say it in the stream
            yield _event(ApiError(500, f"{type(exc).__name__}: {exc}", SERVER).body())
            return
        for event in chunks(answer, include_usage):
            yield event
    finally:
        if not task.done():
            task.cancel()
