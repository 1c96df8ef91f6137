"""What this machine offers the sandbox: which levels can work, which interpreter a level runs
programs with, and what a level mounts read-only. Cheap static checks; the isolation module
confirms each level by running a probe.

>>> level_problem("nonsense")
'unknown isolation level nonsense'
>>> python_for("namespaces") is None or python_for("namespaces").startswith("/")
True
"""

from __future__ import annotations

import os
import platform
import stat
import sys
from pathlib import Path

# Per-run uids (root only): fresh ones, far above real accounts, so that RLIMIT_NPROC counts
# this run's processes alone and a sweep of the uid touches nothing else.
UID_BASE = 1_600_000_000
SYSTEM_DIRS = ("/usr", "/bin", "/lib", "/lib64", "/etc/ld.so.cache", "/etc/localtime")
_SYSTEM_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def kernel_version() -> tuple[int, int]:
    try:
        major, minor = platform.release().split(".")[:2]
        return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)
    except ValueError:
        return (0, 0)


def base_python() -> str:
    """The real interpreter behind ``sys.executable`` (a venv's python is a symlink to it)."""
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


def _others_can_use(path: str) -> bool:
    """Whether a uid with no relation to the file's owner can execute ``path``."""
    p = Path(path)
    try:
        if not p.stat().st_mode & stat.S_IXOTH:
            return False
        return all(parent.stat().st_mode & stat.S_IXOTH for parent in p.parents)
    except OSError:
        return False


def python_for(level: str) -> str | None:
    """The interpreter that runs programs at ``level`` (None: none usable)."""
    own = base_python()
    if level == "namespaces" or level == "rlimits" or _others_can_use(own):
        return own
    # uid level: the program's fresh uid must reach the interpreter through the host's
    # permissions (pyenv under /root is not reachable); take the system's Python 3.
    for candidate in _SYSTEM_PYTHONS:
        real = os.path.realpath(candidate)
        if os.path.exists(real) and _others_can_use(real):
            return real
    return None


def binds_for(python: str) -> list[str]:
    """Host paths the namespaces level shows read-only: system dirs and the interpreter's
    install prefix when it lies outside them."""
    binds = list(SYSTEM_DIRS)
    prefix = os.path.realpath(sys.base_prefix)
    if not python.startswith(prefix + os.sep):
        prefix = str(Path(python).parent.parent)
    if not any(prefix == b or prefix.startswith(b + os.sep) for b in binds):
        binds.append(prefix)
    return binds


def _userns_allowed() -> bool:
    try:
        if int(Path("/proc/sys/user/max_user_namespaces").read_text()) == 0:
            return False
    except (OSError, ValueError):
        return False
    try:  # Debian/Ubuntu switch
        return Path("/proc/sys/kernel/unprivileged_userns_clone").read_text().strip() != "0"
    except OSError:
        return True


def level_problem(level: str) -> str | None:
    """Why ``level`` cannot work here (None: worth probing)."""
    if level not in ("namespaces", "uid", "rlimits"):
        return f"unknown isolation level {level}"
    try:
        import resource  # noqa: F401 - POSIX only
    except ImportError:
        return "no POSIX resource limits on this platform"
    if level == "namespaces":
        if sys.platform != "linux":
            return "namespaces need Linux"
        if not is_root() and not _userns_allowed():
            return "not root, and unprivileged user namespaces are disabled"
    elif level == "uid" and not is_root():
        return "switching to a fresh uid needs root"
    elif level == "rlimits" and is_root():
        # Root ignores RLIMIT_NPROC: a fork bomb would take the machine.
        return "refused as root: RLIMIT_NPROC does not apply to root (use namespaces or uid)"
    if python_for(level) is None:
        return "no Python interpreter that an unprivileged uid can execute"
    return None


def own_task_count() -> int:
    """Tasks (threads) of our real uid, which RLIMIT_NPROC counts outside a fresh uid."""
    uid, count = os.getuid(), 0
    if not os.path.isdir("/proc"):
        return 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue
    return count
