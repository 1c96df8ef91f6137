"""A fake OpenAI-compatible server as its own process, for pool tests and bench/scale_out.py.

    python tests/backends/fake_openai.py --port 0 --latency 0.1 --capacity 4

It prints ``port N`` once listening on 127.0.0.1. ``POST /v1/chat/completions`` holds one of
``capacity`` slots (later requests queue, as on a real server) for ``latency`` seconds, then
answers with the sum a toy question asks for, boxed (the same answer on every
server, so which server answers changes nothing). ``GET /v1/models`` lists the model
``fake``; ``GET /stats`` gives the chat requests answered. Plain asyncio, HTTP/1.1
keep-alive; the process is killed to take the server down.

:class:`FakeServer` starts, kills and restarts one (same port) from a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()


def answer(messages: list[dict[str, Any]]) -> str:
    """The fake model: the sum ``a + b`` a toy question asks for (else of every integer in
    the last message), boxed."""
    text = str(messages[-1].get("content") or "") if messages else ""
    asked = re.search(r"(-?\d+) \+ (-?\d+)", text)
    total = sum(int(n) for n in (asked.groups() if asked else re.findall(r"-?\d+", text)))
    return f"Adding up, the answer is \\boxed{{{total}}}."


def _body(messages: list[dict[str, Any]], n: int) -> dict[str, Any]:
    text = answer(messages)
    choices = [{"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop",
                "logprobs": None} for i in range(n)]
    prompt = sum(len(str(m.get("content") or "").split()) for m in messages)
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": "fake", "choices": choices,
            "usage": {"prompt_tokens": prompt, "completion_tokens": 6 * n, "total_tokens": prompt + 6 * n}}


async def serve(port: int, latency: float, capacity: int) -> None:
    slots = asyncio.Semaphore(capacity)
    answered = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, path, _ = line.decode().split(" ", 2)
                headers = {}
                while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    k, _, v = h.decode().partition(":")
                    headers[k.strip().lower()] = v.strip()
                raw = await reader.readexactly(int(headers.get("content-length", 0)))
                status, out = 404, {"error": {"message": f"no route {method} {path}"}}
                if method == "GET" and path.rstrip("/").endswith("/models"):
                    status, out = 200, {"object": "list", "data": [{"id": "fake", "object": "model"}]}
                elif method == "GET" and path == "/stats":
                    status, out = 200, {"answered": answered}
                elif method == "POST" and path.endswith("/chat/completions"):
                    body = json.loads(raw)
                    async with slots:
                        await asyncio.sleep(latency)
                    answered += 1
                    status, out = 200, _body(body["messages"], int(body.get("n") or 1))
                data = json.dumps(out).encode()
                writer.write(f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                             f"content-length: {len(data)}\r\n\r\n".encode() + data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, reuse_address=True, backlog=1024)
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


class FakeServer:
    """One fake server process: ``start()``, ``kill()`` (SIGKILL: connections drop), and
    ``start()`` again on the same port."""

    def __init__(self, latency: float = 0.05, capacity: int = 4) -> None:
        self.latency, self.capacity, self.port = latency, capacity, 0
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "FakeServer":
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE), "--port", str(self.port), "--latency", str(self.latency),
             "--capacity", str(self.capacity)], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # readiness: printed once listening
        if not line.startswith("port "):
            raise RuntimeError(f"fake server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def __enter__(self) -> "FakeServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.kill()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--capacity", type=int, default=4)
    a = ap.parse_args()
    try:
        asyncio.run(serve(a.port, a.latency, a.capacity))
    except KeyboardInterrupt:
        pass
