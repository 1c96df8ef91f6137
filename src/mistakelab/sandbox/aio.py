"""Running several programs at once from async code, with a cap on how many run together.

Each run blocks one worker thread while its sandbox process runs (the pipes are pumped there);
the semaphore keeps at most ``max_concurrent`` sandboxes alive. A cancelled await (a request
that timed out, a client gone) kills its run, process group and cgroup, and waits for it to
end before the slot is given back, so a slot free is a sandbox gone; :func:`stop_all_runs`
kills every run in flight (a server shutting down).

>>> import asyncio
>>> async def two():
...     pool = ProgramPool(max_concurrent=2)
...     runs = await asyncio.gather(pool.run("print(1)"), pool.run("print(2)"))
...     return [r.stdout for r in runs]
>>> asyncio.run(two())
['1\\n', '2\\n']
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from pathlib import Path

from mistakelab.sandbox.limits import IsolationLevel, Limits
from mistakelab.sandbox.process import LAUNCHER
from mistakelab.sandbox.result import ProgramRun
from mistakelab.sandbox.runner import run_program


class ProgramPool:
    """Runs programs in threads, at most ``max_concurrent`` at a time (per event loop)."""

    def __init__(self, max_concurrent: int | None = None) -> None:
        if max_concurrent is None:
            max_concurrent = max(1, os.cpu_count() or 1)
        self.max_concurrent = max_concurrent
        if self.max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                                    asyncio.Semaphore] = weakref.WeakKeyDictionary()

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if loop not in self._semaphores:
            self._semaphores[loop] = asyncio.Semaphore(self.max_concurrent)
        return self._semaphores[loop]

    async def run(self, source: str, limits: Limits | None = None, stdin: str = "", *,
                  isolation: IsolationLevel = "auto", cgroup: bool | None = None) -> ProgramRun:
        """:func:`~mistakelab.sandbox.run_program` without blocking the event loop."""
        async with self._semaphore():
            cancel = threading.Event()
            _in_flight.add(cancel)
            done = asyncio.ensure_future(asyncio.to_thread(run_program, source, limits, stdin, isolation=isolation,
                                                           cgroup=cgroup, cancel=cancel))
            try:
                return await asyncio.shield(done)
            except BaseException:
                cancel.set()  # the run is killed within ~50 ms; keep the slot until it is gone
                try:
                    await asyncio.shield(done)
                except BaseException:  # noqa: BLE001 - cancelled again, or the run's own error: we leave anyway
                    pass
                raise
            finally:
                _in_flight.discard(cancel)


_in_flight: set[threading.Event] = set()  # the cancel switches of the runs in flight, any pool
_default_pool = ProgramPool()


def live_sandboxes() -> list[int]:
    """The pids of this process's sandbox launchers still alive (each is one run's process
    group; zombies not counted): what a health check or a test sees of runs in flight.

    >>> live_sandboxes()
    []
    """
    me, out = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            cmd = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if int(ppid) == me and state != "Z" and LAUNCHER.encode() in cmd:
            out.append(int(entry.name))
    return out


def stop_all_runs() -> int:
    """Kill every sandboxed run in flight in this process (they end as cancelled); how many.

    >>> stop_all_runs()
    0
    """
    live = list(_in_flight)
    for cancel in live:
        cancel.set()
    return len(live)


async def run_program_async(source: str, limits: Limits | None = None, stdin: str = "", *,
                            isolation: IsolationLevel = "auto", cgroup: bool | None = None,
                            pool: ProgramPool | None = None) -> ProgramRun:
    """Await one sandboxed run; at most ``pool.max_concurrent`` (default: the CPU count) run
    together. ``await run_program_async("print(2 + 2)")`` gives a run whose stdout is "4\\n"."""
    return await (pool or _default_pool).run(source, limits, stdin, isolation=isolation,
                                             cgroup=cgroup)
