"""Proxy overhead: the cost per request of ``mistakelab serve`` with strategy ``none`` against
calling the upstream directly, side by side (target: under 2 ms per request).

A fake OpenAI-compatible upstream (uvicorn + Starlette, a fixed answer, no model) and the
proxy in front of it each run in their own process on 127.0.0.1; one client sends the same
requests to both, one at a time, rounds alternating between the two sides. The difference of
the median latencies is the proxy's cost per request: parse and check the request, pass it
on, read the answer, record the request as a unit of the served run. ``cot`` (the request's
messages through the strategy machinery and the completion cache, every request distinct so
none is a cache hit) is printed beside it for comparison.

    python bench/proxy_overhead.py [--requests 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx2

ANSWER = {"id": "up", "object": "chat.completion", "created": 0, "model": "up-model",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "The answer is \\boxed{4}."},
                       "finish_reason": "stop", "logprobs": None}],
          "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}}


def _upstream(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def chat(request):  # type: ignore[no-untyped-def]
        await request.body()
        return JSONResponse(ANSWER)

    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _proxy(port: int, upstream: str, store: str) -> None:
    from mistakelab.serve import ServeConfig, server

    cfg = ServeConfig(backend="openai", upstream=upstream, model="up-model", strategy="none", store=store)
    srv = server(cfg, "127.0.0.1", port, log_level="warning")
    srv.config.access_log = False
    asyncio.run(srv.serve())


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx2.post(url + "/chat/completions", json={"model": "up-model", "messages": [
                {"role": "user", "content": "warm up"}]})
            return
        except httpx2.TransportError:
            time.sleep(0.05)
    raise SystemExit(f"server at {url} did not start")


def _side(client: httpx2.Client, url: str, model: str, n: int, tag: str) -> list[float]:
    times = []
    for i in range(n):
        body = {"model": model, "messages": [{"role": "user", "content": f"What is 2 + 2? ({tag} {i})"}]}
        t0 = time.perf_counter()
        r = client.post(url + "/chat/completions", json=body)
        times.append(time.perf_counter() - t0)
        if r.status_code != 200:
            raise SystemExit(f"{url}: HTTP {r.status_code}: {r.text[:200]}")
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=300, help="requests per side per round")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    up_port, proxy_port = _free_port(), _free_port()
    direct, proxied = f"http://127.0.0.1:{up_port}/v1", f"http://127.0.0.1:{proxy_port}/v1"
    store = str(Path(tempfile.mkdtemp()) / "served.db")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_upstream, args=(up_port,), daemon=True),
             ctx.Process(target=_proxy, args=(proxy_port, direct, store), daemon=True)]
    for p in procs:
        p.start()
    try:
        _wait(direct)
        _wait(proxied)
        rows: dict[str, list[float]] = {"upstream directly": [], "proxy, strategy none": [],
                                        "proxy, strategy cot": []}
        with httpx2.Client(timeout=30) as client:
            for r in range(args.rounds):
                rows["upstream directly"] += _side(client, direct, "up-model", args.requests, f"d{r}")
                rows["proxy, strategy none"] += _side(client, proxied, "none/up-model", args.requests, f"n{r}")
                rows["proxy, strategy cot"] += _side(client, proxied, "cot/up-model", args.requests, f"c{r}")
    finally:
        for p in procs:
            p.terminate()
            p.join(10)
    base = statistics.median(rows["upstream directly"])
    print(f"{args.requests} requests x {args.rounds} rounds per side, one at a time, 127.0.0.1 "
          f"(python {sys.version.split()[0]})")
    print(f"{'side':<24}{'median ms':>11}{'p90 ms':>9}{'overhead ms':>13}")
    for name, times in rows.items():
        med, p90 = statistics.median(times), statistics.quantiles(times, n=10)[-1]
        over = "" if name == "upstream directly" else f"{1000 * (med - base):+.2f}"
        print(f"{name:<24}{1000 * med:>11.2f}{1000 * p90:>9.2f}{over:>13}")
    none = statistics.median(rows["proxy, strategy none"]) - base
    print(f"strategy none costs {1000 * none:.2f} ms per request (target < 2 ms): "
          f"{'met' if none < 0.002 else 'NOT met'}")


if __name__ == "__main__":
    main()
