"""Fixtures for the sandbox tests: one parameter per isolation level this machine offers.

Imported by name into the test modules (a conftest.py here would shadow tests/conftest.py,
which other test modules import as ``conftest``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_helpers import BOUNDED_FORKS, FAST, Listener, sandbox_processes, wait_for

from mistakelab.sandbox import Limits, ProgramRun, run_program
from mistakelab.sandbox.host import is_root
from mistakelab.sandbox.isolation import probe_level
from mistakelab.sandbox.limits import LEVELS


@pytest.fixture(params=LEVELS)
def level(request) -> str:
    report = probe_level(request.param)
    if not report.available:
        pytest.skip(f"isolation level {request.param!r} is not available here: {report.reason}")
    return request.param


@pytest.fixture
def run(level):
    def _run(source: str, limits: Limits = FAST, stdin: str = "", **kw) -> ProgramRun:
        return run_program(source, limits, stdin, isolation=level, **kw)
    return _run


_forks: dict[str, int] = {}


@pytest.fixture
def process_limit_works(level) -> int:
    """How many forks the bounded loop managed; skips the test if the limit is not in force."""
    if level not in _forks:
        result = run_program(BOUNDED_FORKS, Limits(wall_seconds=10), isolation=level)
        _forks[level] = int(result.stdout) if result.ok else 10**6
    if _forks[level] > FAST.max_processes:
        pytest.skip(f"the process limit is not in force at {level!r} "
                    f"({_forks[level]} forks of a bounded 300-fork loop succeeded)")
    return _forks[level]


@pytest.fixture
def no_survivors():
    """After the test, no process of any sandbox uid may remain."""
    yield
    if is_root():
        assert wait_for(lambda: not sandbox_processes()), f"survivors: {sandbox_processes()}"


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]
