"""Which isolation is active here, checked by running a probe program at each level.

Levels, strongest first (``auto`` takes the first that works):

- ``namespaces`` (Linux; root, or unprivileged user namespaces): new mount, network, PID, IPC
  and UTS namespaces (plus a user namespace when not root). The program sees a read-only
  tmpfs root with only /usr, /bin, /lib*, two /etc files and the interpreter's prefix
  (read-only), /dev/{null,zero,random,urandom}, and a size-capped writable /sandbox (its cwd,
  also /tmp). No network at all (a loopback that is down). PID 1 of its namespace is our
  helper, so no process outlives the run. As root it runs under a fresh uid.
- ``uid`` (root without namespaces): a fresh unprivileged uid per run, so RLIMIT_NPROC holds
  and it can signal nothing of ours; an empty 0700 temp dir as cwd. NOT isolated: the
  network, world-readable files (the project's included), world-writable dirs like /tmp,
  total disk use.
- ``rlimits`` (not root, no user namespaces): limits only. NOT isolated: network, every file
  your uid can read or write, your other processes (same uid: it can kill them), processes
  that leave their group may outlive the run. Refused when running as root.

Every level: rlimits (CPU, address space, processes, file size, open files, no core), an
empty environment, ``python -I -S -B`` (no site-packages, no user paths), the wall-time kill;
and, where a cgroup tree is writable, a per-run cgroup capping total memory and tasks.
Never isolated: system calls (no seccomp filter), CPU sharing with other work.

>>> report = isolation_report()
>>> report.level in (None, "namespaces", "uid", "rlimits")
True
"""

from __future__ import annotations

import errno
import json
import os
import sys
import threading
from pathlib import Path

from pydantic import BaseModel

from mistakelab.sandbox.cgroups import cgroup_support
from mistakelab.sandbox.host import binds_for, is_root, level_problem, python_for
from mistakelab.sandbox.limits import LEVELS, Limits
from mistakelab.sandbox.process import run_at_level

_PROBE = """\
import json, os, socket, sys
paths = json.loads(sys.stdin.read())
facts = {"uid": os.getuid(), "ppid": os.getppid(), "cwd": os.getcwd()}
try:
    s = socket.socket()
    s.settimeout(1)
    s.connect(("127.0.0.1", 9))
    facts["network"] = "connected"
except OSError as e:
    facts["network"] = e.errno
facts["visible"] = [p for p in paths if os.path.exists(p)]
print(json.dumps(facts))
"""


class LevelReport(BaseModel):
    level: str
    available: bool
    reason: str = ""  # why not, when not
    interpreter: str | None = None
    checks: dict[str, bool] = {}  # verified by the probe; True = isolated


class IsolationReport(BaseModel):
    """What a run under ``level`` (auto's choice) is confined by, and what not."""

    level: str | None
    running_as_root: bool
    mechanisms: dict[str, bool]
    not_isolated: list[str]
    cgroup: str
    levels: list[LevelReport]


_lock = threading.Lock()
_probed: dict[str, LevelReport] = {}


def _sensitive_paths(level: str) -> list[str]:
    """What a confined program should not see: our own source file, the caller's cwd, and
    entries of the home dir; less what the level shows on purpose (its read-only binds, the
    directories on the way to them, and the sandbox's own /tmp, /sandbox, /dev)."""
    binds = binds_for(python_for(level) or sys.executable) if level == "namespaces" else []

    def shown(p: str) -> bool:
        return p in ("/", "/tmp", "/sandbox", "/dev") or any(
            p == b or p.startswith(f"{b}/") or b.startswith(f"{p}/") for b in binds)

    try:
        home = [str(p) for p in sorted(Path.home().iterdir())]
    except OSError:
        home = []
    paths = [str(Path(__file__).resolve()), os.getcwd(), *home]
    return [p for p in paths if not shown(p)][:8]


def probe_level(level: str) -> LevelReport:
    """Run the probe program at ``level`` (once per process) and say what it could reach."""
    with _lock:
        if level in _probed:
            return _probed[level]
    if problem := level_problem(level):
        report = LevelReport(level=level, available=False, reason=problem)
    else:
        paths = _sensitive_paths(level)
        run = run_at_level(_PROBE, Limits(wall_seconds=15), json.dumps(paths), level, None)
        if not run.ok:
            why = f"{run.status.value}: {run.detail} {run.stderr[-300:]}".strip()
            report = LevelReport(level=level, available=False, reason=f"probe run: {why}")
        else:
            facts = json.loads(run.stdout)
            checks = {"network": facts["network"] == errno.ENETUNREACH,
                      "files": not facts["visible"], "pid": facts["ppid"] == 1,
                      "uid": facts["uid"] != 0}
            report = LevelReport(level=level, available=True, interpreter=python_for(level),
                                 checks=checks)
    if report.reason.startswith("probe run: timeout"):
        return report  # a loaded machine, not a missing mechanism: probe again next time
    with _lock:
        _probed[level] = report
    return report


def best_level() -> str | None:
    """The strongest level that works here (probed once per process)."""
    for level in LEVELS:
        if probe_level(level).available:
            return level
    return None


def _not_isolated(level: str | None, cgroups: bool, python: str | None) -> list[str]:
    gaps = ["system calls: no seccomp filter, the whole kernel interface is reachable",
            "CPU: programs share the machine's cores (each run is capped by its CPU time limit)"]
    if not cgroups:
        gaps.append("memory and tasks are capped per process (RLIMIT_AS, RLIMIT_NPROC), not per "
                    "run: a run may use up to max_processes x memory_bytes")
    if level == "namespaces":
        gaps.append("read-only views of " + ", ".join(binds_for(python or sys.executable))
                    + " are visible to the program")
    elif level == "uid":
        gaps += ["network: the host network is shared (127.0.0.1 and beyond are reachable)",
                 "files: every world-readable file (the project's included) can be read, and "
                 "world-writable dirs such as /tmp written",
                 "processes: host processes are visible (not signalable)",
                 "disk: only the size of each file is capped, not the total"]
    elif level == "rlimits":
        gaps += ["network: the host network is shared",
                 "files: everything your uid can read or write",
                 "processes: the program runs as your uid and can signal or kill your processes, "
                 "the toolkit included; processes that leave their group may outlive the run",
                 "process count: RLIMIT_NPROC counts all of your uid's tasks, so the cap is "
                 "approximate", "disk: only the size of each file is capped"]
    else:
        gaps.append("nothing runs: no isolation level works on this machine")
    return gaps


def isolation_report() -> IsolationReport:
    """Probe every level and describe the one ``auto`` uses."""
    levels = [probe_level(level) for level in LEVELS]
    chosen = next((r for r in levels if r.available), None)
    support = cgroup_support()
    checks = chosen.checks if chosen else {}
    level = chosen.level if chosen else None
    mechanisms = {
        "separate_process": chosen is not None,
        "network_namespace": checks.get("network", False),
        "mount_namespace": level == "namespaces" and checks.get("files", False),
        "pid_namespace": checks.get("pid", False),
        "ipc_uts_namespaces": level == "namespaces",
        "user_namespace": level == "namespaces" and not is_root(),
        "unprivileged_uid": checks.get("uid", False),
        "fresh_uid_per_run": level in ("namespaces", "uid") and is_root(),
        "process_limit": chosen is not None,
        "cgroup_memory_and_tasks": support.available and chosen is not None,
        "disk_quota": level == "namespaces",
        "rlimits": chosen is not None,
        "clean_environment": chosen is not None,
        "isolated_interpreter": chosen is not None,
    }
    return IsolationReport(level=level, running_as_root=is_root(), mechanisms=mechanisms,
                           not_isolated=_not_isolated(level, support.available,
                                                      chosen.interpreter if chosen else None),
                           cgroup=("" if support.available else "unavailable: ") + support.reason,
                           levels=levels)
