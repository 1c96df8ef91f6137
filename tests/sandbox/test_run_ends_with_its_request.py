"""A sandboxed run ends when whoever awaits it stops waiting (a request that timed out, a
client gone): its processes and its cgroup are gone before its pool slot is free; cgroups
left by a killed process are cleaned at the next start; none outlives its process (issue 25,
item 2)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mistakelab.sandbox import Limits, ProgramPool
from mistakelab.sandbox import cgroups
from mistakelab.sandbox.aio import live_sandboxes, stop_all_runs
from mistakelab.sandbox.cgroups import CgroupSupport, cgroup_support, clean_stale

SLEEPER = "import time\ntime.sleep(120)\n"
LONG = Limits(cpu_seconds=5, wall_seconds=120)


def _our_groups() -> list[str]:
    support = cgroup_support()
    prefix = f"mistakelab-sandbox-{os.stat('/proc/self/ns/pid').st_ino}-{os.getpid()}-"
    return [os.path.join(r, n) for r in support.roots for n in os.listdir(r) if n.startswith(prefix)]


@pytest.mark.parametrize("how", ["cancel", "timeout", "stop_all"])
def test_a_run_is_killed_when_its_await_ends(how: str) -> None:
    async def main() -> None:
        pool = ProgramPool(max_concurrent=1)
        task = asyncio.ensure_future(pool.run(SLEEPER, LONG))
        while not live_sandboxes():  # the sandbox has started (a condition, polled)
            await asyncio.sleep(0.01)
        if how == "cancel":
            task.cancel()
        elif how == "stop_all":
            assert stop_all_runs() == 1
        try:
            async with asyncio.timeout(0.2 if how == "timeout" else 60):
                await task
        except (asyncio.CancelledError, TimeoutError):
            pass
        # the slot is given back only once the sandbox is gone: the next run gets it at once
        assert live_sandboxes() == []
        assert (await pool.run("print(1)", LONG)).stdout == "1\n"

    asyncio.run(asyncio.wait_for(main(), 60))  # a hang guard only: a leaked run would hold 120 s
    if cgroup_support().available:
        assert _our_groups() == []


def test_stale_groups_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    roots = (tmp_path / "memory", tmp_path / "pids")
    ns = os.stat("/proc/self/ns/pid").st_ino
    names = {f"mistakelab-sandbox-{ns}-{dead.pid}-3": False, f"mistakelab-probe-{ns}-{dead.pid}-0": False,
             f"mistakelab-sandbox-{ns}-{os.getpid()}-1": True, f"mistakelab-sandbox-{ns}-1-1": True,  # alive: kept
             f"mistakelab-sandbox-{ns + 1}-{dead.pid}-1": True,  # another pid namespace's: not ours to judge
             "someone-else": True}
    for root in roots:
        for name in names:
            (root / name).mkdir(parents=True)
    removed = clean_stale(CgroupSupport(True, "v1", "", tuple(str(r) for r in roots)))
    assert len(removed) == 4
    for root in roots:
        assert {p.name for p in root.iterdir()} == {n for n, kept in names.items() if kept}


def test_no_group_outlives_its_process(tmp_path: Path) -> None:
    if not cgroup_support().available:
        pytest.skip(f"no per-run cgroups here: {cgroup_support().reason}")
    code = ("import os, sys\nfrom mistakelab.sandbox.cgroups import RunCgroup, cgroup_support\n"
            "g = RunCgroup(cgroup_support(), 64 * 2**20, 4)\nprint(g.dirs[0], flush=True)\nsys.exit(0)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert p.returncode == 0, p.stderr
    assert not Path(p.stdout.strip()).exists()
    assert cgroups.remove_live_groups() == 0  # nothing of ours is left in this process either
