"""A burst of concurrent requests through ``self_consistency`` against a fake upstream: is
anything lost, doubled, crossed or answered 5xx?

A fake OpenAI-compatible upstream (uvicorn + Starlette in its own process on 127.0.0.1) answers
every call with the number of the question it was asked ("... so the answer is \\boxed{N}"),
after a short random delay, and counts the calls it got. The proxy (its own process) serves
``self_consistency-k<k>/up-model``. ``--requests`` clients send at once, request ``i`` asking
"What is i + 1000?". Printed: statuses, answers that are not their own question's number
(crossed), requests answered 200 without a done unit in the store (lost), units or calls
stored twice (doubled), and the upstream's call count against the calls the store recorded.

    python bench/proxy_burst.py [--requests 200] [--k 3] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import multiprocessing
import sqlite3
import tempfile
import time
from pathlib import Path

import httpx2
from proxy_overhead import _free_port  # the bench folder is the script's own


def _upstream(port: int) -> None:
    import json
    import random
    import re

    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    seen = {"calls": 0}

    async def chat(request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        seen["calls"] += 1
        last = body["messages"][-1]["content"]
        number = int(re.search(r"What is (\d+) \+ 1000", last).group(1)) + 1000  # type: ignore[union-attr]
        await asyncio.sleep(random.uniform(0.001, 0.02))
        return JSONResponse({"id": "up", "object": "chat.completion", "created": 0, "model": "up-model",
                             "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None, "message": {
                                 "role": "assistant", "content": f"So the answer is \\boxed{{{number}}}."}}],
                             "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}})

    async def count(request: Request) -> JSONResponse:
        return JSONResponse(seen)

    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                            Route("/count", count, methods=["GET"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _proxy(port: int, upstream: str, store: str, concurrency: int) -> None:
    from mistakelab.serve import ServeConfig, server

    cfg = ServeConfig(backend="openai", upstream=upstream, model="up-model", strategy="none", store=store,
                      max_concurrency=concurrency, timeout=300)
    srv = server(cfg, "127.0.0.1", port, log_level="warning")
    srv.config.access_log = False
    asyncio.run(srv.serve())


def _wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx2.get(url)
            return
        except httpx2.TransportError:
            time.sleep(0.05)
    raise SystemExit(f"server at {url} did not start")


async def _burst(url: str, n: int, k: int) -> list[tuple[int, int, str, str]]:
    """(request number, status, answer text or error, trace id) of n requests sent at once."""
    limits = httpx2.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx2.AsyncClient(timeout=300, limits=limits) as client:
        async def one(i: int) -> tuple[int, int, str, str]:
            r = await client.post(url + "/chat/completions", json={
                "model": f"self_consistency-k{k}/up-model", "temperature": 0.7,
                "messages": [{"role": "user", "content": f"What is {i} + 1000?"}]})
            text = r.json()["choices"][0]["message"]["content"] if r.status_code == 200 else r.text[:200]
            return i, r.status_code, text, r.headers.get("x-mistakelab-trace-id", "")
        return await asyncio.gather(*(one(i) for i in range(n)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=16, help="the proxy's upstream calls in flight at once")
    args = ap.parse_args()

    up_port, proxy_port = _free_port(), _free_port()
    direct, proxied = f"http://127.0.0.1:{up_port}", f"http://127.0.0.1:{proxy_port}"
    store = str(Path(tempfile.mkdtemp()) / "served.db")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_upstream, args=(up_port,), daemon=True),
             ctx.Process(target=_proxy, args=(proxy_port, direct + "/v1", store, args.concurrency), daemon=True)]
    for p in procs:
        p.start()
    try:
        _wait(direct + "/count")
        _wait(proxied + "/health")
        t0 = time.perf_counter()
        answers = asyncio.run(_burst(proxied + "/v1", args.requests, args.k))
        seconds = time.perf_counter() - t0
        upstream_calls = httpx2.get(direct + "/count").json()["calls"]
    finally:
        for p in reversed(procs):
            p.terminate()  # the proxy shuts down gracefully and closes its run
            p.join(30)
    statuses = collections.Counter(s for _, s, _, _ in answers)
    crossed = [i for i, s, text, _ in answers if s == 200 and f"\\boxed{{{i + 1000}}}" not in text]
    conn = sqlite3.connect(store)
    units = conn.execute("SELECT unit_key, status FROM units").fetchall()
    per_key = collections.Counter(key for key, _ in units)
    done = {key.split("/")[0] for key, status in units if status == "done"}
    lost = [i for i, s, _, trace in answers if s == 200 and trace not in done]
    made = conn.execute("SELECT COUNT(*) FROM calls WHERE cached = 0").fetchone()[0]
    doubled_calls = conn.execute("SELECT COUNT(*) - COUNT(DISTINCT cache_key) FROM calls WHERE cached = 0"
                                 ).fetchone()[0]
    conn.close()
    fivexx = sum(v for s, v in statuses.items() if s >= 500)
    print(f"{args.requests} concurrent requests through self_consistency-k{args.k} (proxy upstream concurrency "
          f"{args.concurrency}), fake upstream on 127.0.0.1: {seconds:.1f} s")
    print(f"statuses: {dict(sorted(statuses.items()))}; 5xx: {fivexx}")
    print(f"lost (200 without a done unit): {len(lost)}; doubled units: {sum(c - 1 for c in per_key.values())}; "
          f"doubled calls: {doubled_calls}; crossed answers: {len(crossed)}")
    print(f"upstream calls: {upstream_calls}; calls the store recorded as made: {made} "
          f"(expected {args.requests * args.k})")


if __name__ == "__main__":
    main()
