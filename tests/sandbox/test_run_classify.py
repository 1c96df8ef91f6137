"""How raw run facts map to a status (hand-made endings, no process needed)."""

from __future__ import annotations

import signal

import pytest

from mistakelab.sandbox import Limits, RunStatus
from mistakelab.sandbox.classify import Ending, classify

TB = b'Traceback (most recent call last):\n  File "program.py", line 1, in <module>\n'
LIMITS = Limits(cpu_seconds=2, wall_seconds=5)


@pytest.mark.parametrize("ending, status, extra", [
    (Ending(status={"exit": 0, "signal": None}, stdout=b"9\n"), RunStatus.ok, {"stdout": "9\n"}),
    (Ending(status={"setup_error": "mount: EPERM"}), RunStatus.sandbox_unavailable,
     {"detail": "sandbox setup failed: mount: EPERM"}),
    (Ending(status={"exec_error": "cannot start the program: [Errno 11]", "exit": 127, "signal": None}),
     RunStatus.sandbox_unavailable, {"detail": "sandbox: cannot start the program: [Errno 11]"}),
    # the same words printed by the program itself are its result, never a sandbox failure
    (Ending(status={"exit": 127, "signal": None},
            stderr=b"sandbox: cannot start the program: [Errno 11]\n"),
     RunStatus.error, {"exit_code": 127, "detail": "exit code 127"}),
    (Ending(stopped="output", status=None, stdout=b"x" * 10), RunStatus.output_limit,
     {"truncated": True}),
    (Ending(stopped="wall", status=None), RunStatus.timeout,
     {"detail": "wall time limit (5 s) reached"}),
    (Ending(status={"exit": None, "signal": signal.SIGXCPU, "utime": 2.0, "stime": 0.0}),
     RunStatus.timeout, {"signal": "SIGXCPU", "cpu_seconds": 2.0}),
    (Ending(status={"exit": None, "signal": signal.SIGKILL, "utime": 2.9, "stime": 0.1}),
     RunStatus.timeout, {"detail": "CPU time limit (2 s) reached"}),
    (Ending(status={"exit": None, "signal": signal.SIGKILL, "utime": 0.1, "stime": 0.0},
            oom=True), RunStatus.memory, {"signal": "SIGKILL"}),
    (Ending(status={"exit": None, "signal": signal.SIGKILL, "utime": 0.1, "stime": 0.0}),
     RunStatus.killed, {"detail": "killed by SIGKILL"}),
    (Ending(status={"exit": None, "signal": signal.SIGSEGV}), RunStatus.killed,
     {"signal": "SIGSEGV"}),
    (Ending(status=None, oom=True), RunStatus.memory, {}),
    (Ending(status={"exit": 0, "signal": None}, oom=True), RunStatus.memory, {"exit_code": 0}),
    (Ending(status=None), RunStatus.killed, {"detail": "the sandbox ended without a status report"}),
    (Ending(status={"exit": 1, "signal": None}, stderr=TB + b"MemoryError\n"), RunStatus.memory,
     {"exception": "MemoryError"}),
    (Ending(status={"exit": 1, "signal": None}, stderr=TB + b"ValueError: invalid literal\n"),
     RunStatus.error, {"exception": "ValueError", "error_line": "ValueError: invalid literal"}),
    (Ending(status={"exit": 1, "signal": None},
            stderr=TB + b"numpy.linalg.LinAlgError: Singular matrix\n"),
     RunStatus.error, {"exception": "LinAlgError"}),
    (Ending(status={"exit": 3, "signal": None}), RunStatus.error,
     {"exception": None, "detail": "exit code 3"}),
    (Ending(status={"exit": 1, "signal": None}, stderr=b"bad input\n"), RunStatus.error,
     {"exception": None, "error_line": None}),
    (Ending(status={"exit": 0, "signal": None}, stdout=b"\xff\xfeok"), RunStatus.ok,
     {"stdout": "\ufffd\ufffdok"}),
])
def test_classify(ending, status, extra) -> None:
    run = classify(ending, LIMITS)
    assert run.status is status
    for key, value in extra.items():
        assert getattr(run, key) == value, key


def test_feedback_for_a_timeout_names_the_limit() -> None:
    run = classify(Ending(stopped="wall"), LIMITS)
    assert run.feedback() == "wall time limit (5 s) reached"
