"""Run Python source in a separate, confined process: :func:`run_program`.

>>> run = run_program("print(6 * 7)")
>>> run.status.value, run.stdout
('ok', '42\\n')
>>> run_program("1 / 0").exception
'ZeroDivisionError'
"""

from __future__ import annotations

import threading

from mistakelab.sandbox.isolation import best_level
from mistakelab.sandbox.limits import IsolationLevel, Limits
from mistakelab.sandbox.process import run_at_level, unavailable
from mistakelab.sandbox.result import ProgramRun


def run_program(source: str, limits: Limits | None = None, stdin: str = "", *,
                isolation: IsolationLevel = "auto", cgroup: bool | None = None,
                cancel: threading.Event | None = None) -> ProgramRun:
    """Run ``source`` as ``python program.py`` in a sandbox and return what happened.

    ``isolation="auto"`` uses the strongest level that works here (see
    :func:`~mistakelab.sandbox.isolation_report`); naming a level that cannot work gives a
    ``sandbox_unavailable`` run, never a weaker one. ``cgroup=None`` adds a per-run cgroup
    where possible, ``True`` requires one, ``False`` goes without. Setting ``cancel`` kills
    the run (its process group and cgroup) at once.
    """
    limits = limits or Limits()
    level = best_level() if isolation == "auto" else isolation
    if level is None:
        return unavailable("no isolation level works on this machine", "")
    return run_at_level(source, limits, stdin, level, cgroup, cancel)
