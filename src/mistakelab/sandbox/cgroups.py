"""A cgroup per run: a memory cap and a task cap on the run as a whole, and a sure way to
kill all of it. Used where a writable cgroup tree with the memory and pids controllers exists
(v1 hierarchies, or a v2 group whose children get both controllers); otherwise runs rely on
per-process rlimits only, and the isolation report says so.

>>> support = cgroup_support()
>>> support.available in (True, False) and isinstance(support.reason, str)
True
"""

from __future__ import annotations

import atexit
import functools
import itertools
import os
import re
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_counter = itertools.count()
_support_lock = threading.Lock()
# -<pid namespace>-<pid of the process that made it>-<n>: a group is judged stale only by a
# process of the same pid namespace (another container's pids mean nothing here)
_OURS = re.compile(r"^mistakelab-(?:sandbox|probe)-(\d+)-(\d+)-\d+$")


def _tag() -> str:
    """``<pid namespace inode>-<pid>``: who made a group."""
    try:
        ns = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        ns = 0
    return f"{ns}-{os.getpid()}"
_live: set["RunCgroup"] = set()  # groups of this process not removed yet
_live_lock = threading.Lock()
# Room for the launcher and PID 1 besides the program, in memory and in tasks.
_MEMORY_SLACK = 64 * 2**20
_TASK_SLACK = 2


@dataclass(frozen=True)
class CgroupSupport:
    available: bool
    version: str  # "v1", "v2" or ""
    reason: str  # why not, or where the groups live
    roots: tuple[str, ...] = ()  # v1: memory dir, pids dir; v2: the parent group


def _mounts() -> list[tuple[str, str, str]]:
    """(mount point, fs type, options) of cgroup mounts."""
    out = []
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split()
        if len(parts) >= 4 and parts[2] in ("cgroup", "cgroup2"):
            out.append((parts[1], parts[2], parts[3]))
    return out


def _own_paths() -> dict[str, str]:
    """Our cgroup path per v1 controller, and "" for the v2 unified group."""
    paths: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    return paths


def cgroup_support() -> CgroupSupport:
    """Whether per-run cgroups can be made here (checked once by making and removing one)."""
    with _support_lock:  # concurrent first runs must not race on the probe group
        return _check_support()


@functools.lru_cache(maxsize=1)
def _check_support() -> CgroupSupport:
    mounts, own = _mounts(), _own_paths()
    v1 = {}
    for point, fstype, options in mounts:
        for name in ("memory", "pids"):
            if fstype == "cgroup" and name in options.split(",") and name in own:
                v1[name] = point + own[name].rstrip("/")
    if len(v1) == 2:
        roots = (v1["memory"], v1["pids"])
        version = "v1"
    else:
        v2 = [p for p, t, _ in mounts if t == "cgroup2"]
        if not v2 or "" not in own:
            return CgroupSupport(False, "", "no cgroup memory+pids controllers are mounted")
        parent = v2[0] + own[""].rstrip("/")
        try:
            enabled = Path(parent, "cgroup.subtree_control").read_text().split()
        except OSError as exc:
            return CgroupSupport(False, "v2", f"cannot read {parent}: {exc}")
        if not {"memory", "pids"} <= set(enabled):
            return CgroupSupport(False, "v2", f"{parent} does not delegate memory+pids to children")
        roots, version = (parent,), "v2"
    probe = f"mistakelab-probe-{_tag()}-{next(_counter)}"
    try:
        for root in roots:
            os.mkdir(os.path.join(root, probe))
    except OSError as exc:
        return CgroupSupport(False, version, f"cannot create a group under {roots[0]}: {exc}")
    finally:
        for root in roots:
            try:
                os.rmdir(os.path.join(root, probe))
            except OSError:
                pass
    support = CgroupSupport(True, version, ", ".join(roots), roots)
    clean_stale(support)
    return support


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, not ours to signal
    return True


def _kill_tasks(directory: str) -> None:
    """SIGKILL every task in the group at ``directory`` (v2: at once, with cgroup.kill)."""
    if os.path.exists(os.path.join(directory, "cgroup.kill")):
        _write(directory, "cgroup.kill", "1", optional=True)
        return
    for _ in range(50):  # a forking program may add tasks while we kill; the cap is small
        pids = _read_pids(os.path.join(directory, "cgroup.procs"))
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _rmdir(directory: str, deadline: float) -> bool:
    """Remove a group once its (killed) tasks are gone; False if some linger past ``deadline``."""
    while True:
        try:
            os.rmdir(directory)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)  # exiting tasks leave the group within milliseconds


def clean_stale(support: CgroupSupport | None = None, wait_s: float = 2.0) -> list[str]:
    """Kill and remove the run groups left by mistakelab processes that are gone (a server
    or run killed with -9); the groups removed. Run once per process, at the first sandbox
    check (and by the proxy at start)."""
    support = support if support is not None else cgroup_support()
    removed = []
    for root in support.roots:
        try:
            names = os.listdir(root)
        except OSError:
            continue
        for name in names:
            match = _OURS.match(name)
            if not match or match.group(1) != _tag().split("-")[0]:
                continue  # not ours, or made in another pid namespace
            pid = int(match.group(2))
            if pid == os.getpid() or _alive(pid):
                continue
            d = os.path.join(root, name)
            _kill_tasks(d)
            if _rmdir(d, time.monotonic() + wait_s):
                removed.append(d)
    return removed


@atexit.register
def remove_live_groups() -> int:
    """Kill and remove every group this process still holds (at exit: none may outlive it);
    how many there were."""
    with _live_lock:
        live = list(_live)
    for group in live:
        group.kill()
        group.remove()
    return len(live)


class RunCgroup:
    """The cgroup(s) of one run; the launcher joins them by writing to ``procs_files``."""

    def __init__(self, support: CgroupSupport, memory_bytes: int, tasks: int) -> None:
        name = f"mistakelab-sandbox-{_tag()}-{next(_counter)}"
        self.version = support.version
        self.dirs = [os.path.join(root, name) for root in support.roots]
        with _live_lock:
            _live.add(self)
        for d in self.dirs:
            try:
                os.mkdir(d)
            except OSError:
                self.remove(0)
                raise
        memory, pids = str(memory_bytes + _MEMORY_SLACK), str(tasks + _TASK_SLACK)
        try:
            if self.version == "v1":
                mem_dir, pids_dir = self.dirs
                _write(mem_dir, "memory.limit_in_bytes", memory)
                _write(mem_dir, "memory.memsw.limit_in_bytes", memory, optional=True)
                _write(pids_dir, "pids.max", pids)
            else:
                _write(self.dirs[0], "memory.max", memory)
                _write(self.dirs[0], "memory.swap.max", "0", optional=True)
                _write(self.dirs[0], "pids.max", pids)
        except OSError:
            self.remove()
            raise

    @property
    def procs_files(self) -> list[str]:
        return [os.path.join(d, "cgroup.procs") for d in self.dirs]

    def oom_killed(self) -> bool:
        """Whether the kernel's OOM killer acted inside the group."""
        name = "memory.oom_control" if self.version == "v1" else "memory.events"
        try:
            text = Path(self.dirs[0], name).read_text()
        except OSError:
            return False
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value) > 0
        return False

    def kill(self) -> None:
        """SIGKILL every task in the group, whatever its session or process group."""
        _kill_tasks(self.dirs[-1])  # v1: the pids group lists every task; v2: the one group

    def remove(self, wait_s: float = 2.0) -> bool:
        """Remove the group once its (killed) tasks are gone; False if some still linger."""
        deadline = time.monotonic() + wait_s
        if not all(_rmdir(d, deadline) for d in self.dirs):
            return False
        with _live_lock:
            _live.discard(self)
        return True


def _read_pids(path: str) -> list[int]:
    try:
        return [int(x) for x in Path(path).read_text().split()]
    except OSError:
        return []


def _write(directory: str, name: str, value: str, optional: bool = False) -> None:
    try:
        Path(directory, name).write_text(value)
    except OSError:
        if not optional:
            raise
