"""The async wrapper: real concurrent runs, and the cap on how many run at once."""

from __future__ import annotations

import asyncio
import threading

import pytest

from mistakelab.sandbox import ProgramPool, ProgramRun, RunStatus, run_program_async
from mistakelab.sandbox import aio


async def test_concurrent_runs_keep_their_own_results() -> None:
    sources = [f"print({i} * {i})" for i in range(6)]
    runs = await asyncio.gather(*(run_program_async(s) for s in sources))
    assert [r.stdout for r in runs] == [f"{i * i}\n" for i in range(6)]


async def test_a_failing_run_does_not_disturb_the_others() -> None:
    pool = ProgramPool(max_concurrent=3)
    runs = await asyncio.gather(pool.run("print('a')"), pool.run("1/0"), pool.run("print('c')"))
    assert [r.status for r in runs] == [RunStatus.ok, RunStatus.error, RunStatus.ok]


async def test_at_most_max_concurrent_run_together(monkeypatch) -> None:
    lock, release = threading.Lock(), threading.Event()
    state = {"now": 0, "peak": 0}

    def fake_run(source, limits=None, stdin="", *, isolation="auto", cgroup=None, cancel=None):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        release.wait(timeout=10)
        with lock:
            state["now"] -= 1
        return ProgramRun(status=RunStatus.ok, stdout=source)

    monkeypatch.setattr(aio, "run_program", fake_run)
    pool = ProgramPool(max_concurrent=2)
    tasks = [asyncio.create_task(pool.run(str(i))) for i in range(5)]
    for _ in range(500):  # wait (up to 5 s) until the pool has filled its two slots
        if state["now"] == 2:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # give a third run the chance to start if the cap were broken
    assert state["now"] == 2
    release.set()
    runs = await asyncio.gather(*tasks)
    assert state["peak"] == 2 and [r.stdout for r in runs] == [str(i) for i in range(5)]


@pytest.mark.parametrize("cap", [0, -1])
def test_pool_rejects_a_cap_below_one(cap) -> None:
    with pytest.raises(ValueError):
        ProgramPool(max_concurrent=cap)


def test_one_pool_serves_several_event_loops() -> None:
    pool = ProgramPool(max_concurrent=1)
    assert asyncio.run(pool.run("print(1)")).stdout == "1\n"
    assert asyncio.run(pool.run("print(2)")).stdout == "2\n"
