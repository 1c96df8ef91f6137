"""From what a run left behind (status report, output, why we stopped it) to a ProgramRun.

>>> err = b'Traceback (most recent call last):\\n  File "program.py", line 1\\nKeyError: 3\\n'
>>> run = classify(Ending(status={"exit": 1, "signal": None}, stderr=err), Limits())
>>> run.status.value, run.exception, run.error_line
('error', 'KeyError', 'KeyError: 3')
>>> classify(Ending(status={"exit": None, "signal": 24}), Limits(cpu_seconds=2)).detail
'CPU time limit (2 s) reached'
"""

from __future__ import annotations

import re
import signal as _signal
from dataclasses import dataclass

from mistakelab.sandbox.limits import Limits
from mistakelab.sandbox.result import ProgramRun, RunStatus

_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::\s?(.*))?$")


@dataclass
class Ending:
    """Raw facts of a finished run."""

    status: dict | None = None  # the launcher's JSON status line
    stopped: str | None = None  # "wall", "output" or "cancelled" when the parent had to kill it
    stdout: bytes = b""
    stderr: bytes = b""
    oom: bool = False
    wall_seconds: float = 0.0
    cpu_seconds: float | None = None
    level: str = ""


def _signal_name(number: int) -> str:
    try:
        return _signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def parse_exception(stderr: str) -> tuple[str | None, str | None]:
    """The exception type and line that end a Python traceback in ``stderr``.

    >>> parse_exception('Traceback (most recent call last):\\n  File "x"\\nValueError: bad\\n')
    ('ValueError', 'ValueError: bad')
    >>> parse_exception('just some text\\n')
    (None, None)
    """
    if "Traceback (most recent call last)" not in stderr and 'File "' not in stderr:
        return None, None
    lines = [line for line in stderr.splitlines() if line.strip()]
    if not lines:
        return None, None
    match = _EXCEPTION_LINE.match(lines[-1].strip())
    if not match:
        return None, lines[-1].strip()
    return match.group(1).rsplit(".", 1)[-1], lines[-1].strip()


def classify(end: Ending, limits: Limits) -> ProgramRun:
    """The typed outcome; see :class:`~mistakelab.sandbox.result.RunStatus` for the rules."""
    stdout = end.stdout.decode("utf-8", errors="replace")
    stderr = end.stderr.decode("utf-8", errors="replace")
    common = dict(stdout=stdout, stderr=stderr, wall_seconds=round(end.wall_seconds, 4),
                  isolation=end.level, truncated=end.stopped == "output")
    status = end.status or {}
    cpu = (status["utime"] + status.get("stime", 0.0)) if "utime" in status else end.cpu_seconds
    common["cpu_seconds"] = round(cpu or 0.0, 4)
    if "setup_error" in status:
        return ProgramRun(status=RunStatus.sandbox_unavailable,
                          detail=f"sandbox setup failed: {status['setup_error']}", **common)
    if "exec_error" in status:  # reported by the launcher, never read from the program's output
        return ProgramRun(status=RunStatus.sandbox_unavailable,
                          detail=f"sandbox: {status['exec_error']}", **common)
    if end.stopped == "output":
        return ProgramRun(status=RunStatus.output_limit, **common,
                          detail=f"stdout + stderr passed {limits.output_bytes} bytes; stopped")
    if end.stopped == "cancelled":
        return ProgramRun(status=RunStatus.killed, **common,
                          detail="stopped: whoever asked for the run stopped waiting for it")
    if end.stopped == "wall":
        return ProgramRun(status=RunStatus.timeout, **common,
                          detail=f"wall time limit ({limits.wall_seconds:g} s) reached")
    sig, code = status.get("signal"), status.get("exit")
    if end.oom:  # even if the main process survived, one of the run's was killed
        return ProgramRun(status=RunStatus.memory, exit_code=code,
                          signal=_signal_name(sig) if sig is not None else None, **common,
                          detail="the run's memory cgroup killed a process (out of memory)")
    if "exit" not in status:
        return ProgramRun(status=RunStatus.killed, **common,
                          detail="the sandbox ended without a status report")
    if sig is not None:
        name = _signal_name(sig)
        cpu_spent = (cpu or 0.0) >= limits.cpu_seconds - 0.05
        if sig == _signal.SIGXCPU or (sig == _signal.SIGKILL and cpu_spent):
            return ProgramRun(status=RunStatus.timeout, signal=name, **common,
                              detail=f"CPU time limit ({limits.cpu_seconds} s) reached")
        detail = f"killed by {name}"
        if sig == _signal.SIGSEGV:
            detail += " (a crash; deep recursion overflowing the C stack does this)"
        return ProgramRun(status=RunStatus.killed, signal=name, detail=detail, **common)
    if code == 0:
        return ProgramRun(status=RunStatus.ok, exit_code=0, **common)
    exception, line = parse_exception(stderr)
    if exception == "MemoryError":
        return ProgramRun(status=RunStatus.memory, exit_code=code, exception=exception,
                          error_line=line, **common,
                          detail=f"MemoryError (memory limit {limits.memory_bytes // 2**20} MiB)")
    detail = f"uncaught {exception}" if exception else f"exit code {code}"
    return ProgramRun(status=RunStatus.error, exit_code=code, exception=exception,
                      error_line=line, detail=detail, **common)
