"""The typed outcome of one sandboxed run.

>>> run = ProgramRun(status="error", exit_code=1, exception="KeyError", error_line="KeyError: 3",
...                  stderr='Traceback (most recent call last):\\n  File "program.py"\\nKeyError: 3\\n')
>>> run.ok, run.feedback()
(False, 'KeyError: 3\\n\\nTraceback (most recent call last):\\n  File "program.py"\\nKeyError: 3')
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict


class RunStatus(str, Enum):
    """How a run ended."""

    ok = "ok"  # exit code 0
    error = "error"  # an uncaught exception (see ``exception``) or a non-zero exit
    timeout = "timeout"  # CPU or wall time limit (see ``detail``)
    memory = "memory"  # MemoryError, or killed by the run's memory cgroup
    output_limit = "output_limit"  # stdout + stderr passed Limits.output_bytes
    killed = "killed"  # ended by a signal for another reason (see ``signal``)
    sandbox_unavailable = "sandbox_unavailable"  # no run happened (see ``detail``)


class ProgramRun(BaseModel):
    """What running one program gave. ``stdout``/``stderr`` are decoded with replacement of
    invalid UTF-8; ``truncated`` says the output cap cut them."""

    model_config = ConfigDict(frozen=True)

    status: RunStatus
    exit_code: int | None = None
    signal: str | None = None
    exception: str | None = None  # e.g. "ZeroDivisionError"
    error_line: str | None = None  # the traceback's last line
    detail: str = ""
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    isolation: str = ""  # the level it ran under

    @property
    def ok(self) -> bool:
        return self.status is RunStatus.ok

    def feedback(self, max_lines: int = 12) -> str:
        """A short text for the model about why the run failed ("" when it did not): the
        error line, then the tail of stderr."""
        if self.ok:
            return ""
        head = self.error_line or self.detail or f"the program ended: {self.status.value}"
        tail = "\n".join(self.stderr.rstrip().splitlines()[-max_lines:])
        return f"{head}\n\n{tail}" if tail else head
