"""The machinery of one sandboxed run at a given isolation level: :func:`run_at_level`.

The toolkit's process only spawns the trusted launcher (``_launcher.py``), feeds it the
configuration and stdin, reads stdout/stderr up to the output cap, enforces the wall time
(SIGKILL to the launcher's process group, which takes the program's PID namespace with it),
and classifies the outcome. Program text is never compiled or executed here.

>>> run_at_level("print(6 * 7)", Limits(), "", "nonsense", None).status.value
'sandbox_unavailable'
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from mistakelab.sandbox.cgroups import CgroupSupport, RunCgroup, cgroup_support
from mistakelab.sandbox.classify import Ending, classify
from mistakelab.sandbox.host import (
    UID_BASE,
    binds_for,
    is_root,
    kernel_version,
    level_problem,
    own_task_count,
    python_for,
)
from mistakelab.sandbox.limits import Limits
from mistakelab.sandbox.result import ProgramRun, RunStatus

LAUNCHER = str(Path(__file__).with_name("_launcher.py"))
_GRACE_S = 0.1  # after the launcher exits, how long to drain pipes held by stray processes
_CHUNK = 1 << 16


def run_at_level(source: str, limits: Limits, stdin: str, level: str,
                 cgroup: bool | None, cancel: threading.Event | None = None) -> ProgramRun:
    """One run at a named ``level`` (never a weaker one: a level that cannot work here gives
    ``sandbox_unavailable``). ``cgroup``: None = where possible, True = required, False = no.
    ``cancel``: once set, the run is killed (process group and cgroup) within ~50 ms."""
    if problem := level_problem(level):
        return unavailable(problem, level)
    support = cgroup_support()
    if cgroup and not support.available:
        return unavailable(f"a cgroup was required: {support.reason}", level)
    return _Run(source, limits, stdin, level, support if cgroup is not False else None, cancel=cancel).execute()


def unavailable(detail: str, level: str) -> ProgramRun:
    return ProgramRun(status=RunStatus.sandbox_unavailable, detail=detail, isolation=level)


@dataclass
class _Run:
    source: str
    limits: Limits
    stdin: str
    level: str
    support: CgroupSupport | None
    cancel: threading.Event | None = None
    out: dict[str, bytearray] = field(default_factory=lambda: {"stdout": bytearray(),
                                                               "stderr": bytearray()})
    status_line: bytearray = field(default_factory=bytearray)
    _reaped: tuple | None = None  # the launcher's os.wait4 result, once collected

    def _exited(self, pid: int) -> bool:
        """Whether the launcher has ended (reaping it, portably, if so)."""
        if self._reaped is None:
            got = os.wait4(pid, os.WNOHANG)
            if got[0] == pid:
                self._reaped = got
        return self._reaped is not None

    def _wait_exit(self, pid: int, deadline: float) -> bool:
        """Wait (until ``deadline``, or a cancel) for the launcher to end; normally it already has."""
        while not self._exited(pid):
            if time.monotonic() >= deadline or (self.cancel is not None and self.cancel.is_set()):
                return False
            time.sleep(0.005)
        return True

    def execute(self) -> ProgramRun:
        start = time.monotonic()
        workdir = tempfile.mkdtemp(prefix="mistakelab-sbx-")
        group = None
        try:
            if self.support is not None and self.support.available:
                try:
                    group = RunCgroup(self.support, self.limits.memory_bytes,
                                      self.limits.max_processes)
                except OSError:
                    group = None  # a full or read-only tree: run on rlimits alone
            try:
                ending, usage = self._spawn_and_watch(workdir, group, start)
            except OSError as exc:  # fork/exec of the launcher failed (e.g. EAGAIN, ENOMEM)
                return unavailable(f"could not start the sandbox: {exc}", self.level)
            wall = time.monotonic() - start
            oom = group.oom_killed() if group else False
        finally:
            if group is not None:
                group.kill()
                group.remove()
            shutil.rmtree(workdir, ignore_errors=True)
        ending.oom = oom
        ending.wall_seconds = wall
        if ending.cpu_seconds is None:
            ending.cpu_seconds = usage
        return classify(ending, self.limits)

    def _config(self, workdir: str, launcher_pid: int, group: RunCgroup | None) -> dict:
        python = python_for(self.level) or sys.executable
        uid, gid = (UID_BASE + launcher_pid,) * 2 if is_root() else (os.getuid(), os.getgid())
        nproc = self.limits.max_processes
        if not is_root():
            if self.level == "rlimits" or kernel_version() < (5, 14):
                nproc += own_task_count()  # RLIMIT_NPROC counts all our uid's tasks here
            else:
                nproc += 2  # the user namespace's count includes the launcher and PID 1
        inside = "/sandbox" if self.level == "namespaces" else workdir
        return {
            "level": self.level, "source": self.source, "python": python, "uid": uid, "gid": gid,
            "nproc": nproc, "root": workdir, "workdir": workdir, "binds": binds_for(python),
            "limits": self.limits.model_dump(),
            "cgroup_procs": group.procs_files if group else [],
            "env": {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": inside, "TMPDIR": inside,
                    "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"},
        }

    def _spawn_and_watch(self, workdir: str, group: RunCgroup | None,
                         start: float) -> tuple[Ending, float]:
        # Plain fds we own (not Popen's file objects): closing is ours alone, so another
        # thread's fd that reuses a number is never closed by mistake.
        pipes = {name: os.pipe() for name in ("config", "status", "stdin", "stdout", "stderr")}
        child_ends = [pipes["config"][0], pipes["status"][1], pipes["stdin"][0],
                      pipes["stdout"][1], pipes["stderr"][1]]
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-B", LAUNCHER, str(pipes["config"][0]),
                 str(pipes["status"][1])],
                stdin=pipes["stdin"][0], stdout=pipes["stdout"][1], stderr=pipes["stderr"][1],
                pass_fds=(pipes["config"][0], pipes["status"][1]), start_new_session=True,
                cwd=workdir, env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"})
        except BaseException:
            for fd in set(sum(pipes.values(), ())) - set(child_ends):
                os.close(fd)
            raise
        finally:
            for fd in child_ends:
                try:
                    os.close(fd)
                except OSError:
                    pass
        config = json.dumps(self._config(workdir, proc.pid, group)).encode("utf-8", "surrogatepass")
        readers = {pipes["stdout"][0]: self.out["stdout"], pipes["stderr"][0]: self.out["stderr"],
                   pipes["status"][0]: self.status_line}
        writers = {pipes["config"][1]: config,
                   pipes["stdin"][1]: self.stdin.encode("utf-8", "replace")}
        deadline = start + self.limits.wall_seconds
        stopped = self._watch(proc.pid, readers, writers, pipes["status"][0], deadline)
        if not stopped and not self._wait_exit(proc.pid, deadline):
            stopped = "cancelled" if self.cancel is not None and self.cancel.is_set() else "wall"
        status = _parse_status(self.status_line)
        if stopped:
            if self._reaped is None:  # a reaped pid may be reused: never signal it
                _kill_group(proc.pid)
            if "program" in status and "exit" not in status:
                _kill_group(status["program"])  # its own group, outside a PID namespace
            if group is not None:
                group.kill()
        _, wait_status, usage = self._reaped or os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(wait_status)  # so Popen does not reap it
        if self.level == "uid" and (stopped or "exit" not in status):
            _sweep_uid(UID_BASE + proc.pid)  # the launcher could not sweep: we do
        ending = Ending(stopped=stopped, status=status,
                        stdout=bytes(self.out["stdout"]), stderr=bytes(self.out["stderr"]),
                        level=self.level)
        return ending, usage.ru_utime + usage.ru_stime

    def _watch(self, pid: int, readers: dict[int, bytearray], writers: dict[int, bytes],
               status_r: int, deadline: float) -> str | None:
        """Pump the pipes until all are closed; 'wall' or 'output' if the run must be stopped.
        Closes every fd in ``readers`` and ``writers``."""
        sel = selectors.DefaultSelector()
        for fd in readers:
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ)
        for fd in writers:
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_WRITE)
        pidfd = _pidfd(pid)
        if pidfd is not None:
            sel.register(pidfd, selectors.EVENT_READ)
        total, exited_at, owned = 0, None, set(readers) | set(writers)
        try:
            while sel.get_map():
                now = time.monotonic()
                if now >= deadline:
                    return "wall"
                if self.cancel is not None and self.cancel.is_set():
                    return "cancelled"
                if exited_at is None and pidfd is None and self._exited(pid):
                    exited_at = now
                if exited_at is not None and now - exited_at > _GRACE_S:
                    return None
                for key, _ in sel.select(min(deadline - now, 0.05)):
                    fd = key.fd
                    if fd == pidfd:
                        sel.unregister(fd)
                        exited_at = time.monotonic()
                    elif fd in writers:
                        if not _write_some(fd, writers):
                            _close(fd, sel, owned)
                    else:
                        data = _read_some(fd)
                        if data is None:
                            continue
                        if not data:
                            _close(fd, sel, owned)
                            continue
                        if fd == status_r:
                            readers[fd].extend(data[:_CHUNK - len(readers[fd])])
                            continue
                        room = self.limits.output_bytes - total
                        readers[fd].extend(data[:max(room, 0)])
                        total += len(data)
                        if total > self.limits.output_bytes:
                            return "output"
            return None
        finally:
            for fd in list(sel.get_map()):
                sel.unregister(fd)
            sel.close()
            for fd in owned:
                try:
                    os.close(fd)
                except OSError:
                    pass
            if pidfd is not None:
                os.close(pidfd)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None  # older kernels: poll the launcher instead


def _read_some(fd: int) -> bytes | None:
    """Some bytes, b"" at end of file, None when nothing is there yet."""
    try:
        return os.read(fd, _CHUNK)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _write_some(fd: int, writers: dict[int, bytes]) -> bool:
    """Write what the pipe takes; False once everything is written or the reader is gone."""
    data = writers[fd]
    if data:
        try:
            n = os.write(fd, data[:_CHUNK])
        except BlockingIOError:
            return True
        except OSError:
            return False
        writers[fd] = data = data[n:]
    return bool(data)


def _close(fd: int, sel: selectors.BaseSelector, owned: set[int]) -> None:
    sel.unregister(fd)
    if fd in owned:
        owned.discard(fd)
        os.close(fd)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


def _sweep_uid(uid: int) -> None:
    """Kill what a timed-out program left under its uid (it may have left our process group)."""
    try:
        subprocess.run([sys.executable, "-I", "-S", "-B", LAUNCHER, "--kill-uid", str(uid)],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        pass  # best effort: the per-run cgroup, where there is one, has killed them already


def _parse_status(lines: bytearray) -> dict:
    """The launcher's status lines merged into one dict ({} if none arrived)."""
    merged: dict = {}
    for line in bytes(lines).decode("utf-8", "replace").splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            merged.update(item)
    return merged
