"""A bounded load test: 200 requests, 32 at once, through a real proxy server. Every request
gets its own answer (none lost, none answered twice or with another's text), and the served
run holds exactly one finished unit per request."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import openai
import pytest

pytest.importorskip("starlette", reason="the proxy tests need the serve extra: pip install mistakelab[serve]")
pytest.importorskip("uvicorn", reason="the proxy tests need the serve extra: pip install mistakelab[serve]")

from mistakelab.backends import ScriptedBackend
from serve_helpers import FakeUpstream, ServerThread, boxed_echo, proxy_server, units

REQUESTS, AT_ONCE = 200, 32


async def _load(url: str, models: list[str]) -> tuple[list[tuple[int, str, str]], float]:
    c = openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0, timeout=60)
    sem = asyncio.Semaphore(AT_ONCE)

    async def one(i: int) -> tuple[int, str, str]:
        async with sem:
            raw = await c.chat.completions.with_raw_response.create(
                model=models[i % len(models)], messages=[{"role": "user", "content": f"Request {i}?"}],
                temperature=0.7)
            return i, raw.headers["x-mistakelab-trace-id"], raw.parse().choices[0].message.content or ""

    start = time.perf_counter()
    try:
        out = await asyncio.gather(*(one(i) for i in range(REQUESTS)))
    finally:
        await c.close()
    return out, time.perf_counter() - start


def _check(out: list[tuple[int, str, str]], rows: list, seconds: float, label: str) -> None:
    wrong = [i for i, _, text in out if f"\\boxed{{{i}}}" not in text]
    trace_ids = Counter(t for _, t, _ in out)
    stored = Counter(r.unit_key.split("/")[0] for r in rows)
    assert not wrong, f"answers of other requests: {wrong[:5]}"
    assert len(trace_ids) == REQUESTS and max(trace_ids.values()) == 1  # none duplicated
    assert stored == trace_ids and all(r.status == "done" for r in rows)  # none lost, each recorded once
    print(f"\nload ({label}): {REQUESTS} requests, {AT_ONCE} at once: {seconds:.2f} s "
          f"({REQUESTS / seconds:.0f} req/s); lost 0, duplicated 0, units stored {len(rows)}")


def test_load_scripted(tmp_path) -> None:
    fake = ScriptedBackend(boxed_echo, model_id="fake", delay=0.002)
    with proxy_server(tmp_path, fake, strategy="cot") as srv:
        out, seconds = asyncio.run(_load(srv.url, ["fake", "self_consistency-k3/fake"]))
    _, rows, _ = units(tmp_path)
    _check(out, rows, seconds, "scripted backend: cot, self_consistency k=3")
    assert len(fake.calls) == REQUESTS // 2 * (1 + 3)


def test_load_upstream(tmp_path) -> None:
    up = FakeUpstream()
    with ServerThread(up.app) as upstream, proxy_server(tmp_path, backend="openai", upstream=upstream.url,
                                                         max_concurrency=8) as srv:
        out, seconds = asyncio.run(_load(srv.url, ["none/up-model", "cot/up-model"]))
    _, rows, _ = units(tmp_path)
    _check(out, rows, seconds, "fake upstream: none, cot; 8 upstream requests at once")
    assert len(up.requests) == REQUESTS and up.max_in_flight <= 8
