"""run_program's contract on ordinary programs: output, errors, exit codes, stdin, limits."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pydantic
import pytest
from sandbox_fixtures import level, run  # noqa: F401 (fixtures)

from mistakelab.sandbox import Limits, RunStatus, run_program
from mistakelab.sandbox.cgroups import CgroupSupport


def test_ok_run_separates_stdout_and_stderr(run) -> None:
    result = run("import sys\nprint('out')\nprint('err', file=sys.stderr)\n")
    assert (result.status, result.exit_code, result.stdout, result.stderr) == \
        (RunStatus.ok, 0, "out\n", "err\n")
    assert not result.truncated and result.feedback() == ""


def test_exception_type_and_line(run) -> None:
    result = run("def f(d):\n    return d['eggs']\n\nf({})\n")
    assert result.status is RunStatus.error and result.exit_code == 1
    assert result.exception == "KeyError" and result.error_line == "KeyError: 'eggs'"
    assert 'File "program.py", line 2, in f' in result.stderr
    assert "<string>" not in result.stderr  # no frame of the bootstrap
    assert result.feedback().startswith("KeyError: 'eggs'")


def test_user_defined_exception(run) -> None:
    result = run("class NotEnoughEggs(Exception):\n    pass\nraise NotEnoughEggs('only 3')\n")
    assert result.exception == "NotEnoughEggs" and result.error_line == "NotEnoughEggs: only 3"


@pytest.mark.parametrize("source, status, code", [
    ("import sys\nsys.exit(0)\n", RunStatus.ok, 0),
    ("exit()\n", RunStatus.ok, 0),
    ("quit(2)\n", RunStatus.error, 2),
    ("raise SystemExit(5)\n", RunStatus.error, 5),
    ("import sys\nsys.exit('bad input')\n", RunStatus.error, 1),
])
def test_exit_codes(run, source, status, code) -> None:
    result = run(source)
    assert (result.status, result.exit_code, result.exception) == (status, code, None)


def test_stdin_is_fed(run) -> None:
    result = run("a, b = map(int, input().split())\nprint(a * b)\n", stdin="6 7\n")
    assert result.ok and result.stdout == "42\n"


def test_large_stdin_and_output_within_the_cap(run) -> None:
    data = "x" * 200_000
    result = run("import sys\nprint(len(sys.stdin.read()))\n", stdin=data)
    assert result.ok and result.stdout == "200000\n"


def test_main_guard_and_dataclasses_work(run) -> None:
    result = run("from __future__ import annotations\nfrom dataclasses import dataclass\n"
                 "@dataclass\nclass Box:\n    n: int\n"
                 "if __name__ == '__main__':\n    print(Box(3))\n")
    assert result.ok and result.stdout == "Box(n=3)\n"


def test_unicode_output(run) -> None:
    result = run("print('ünïcödé €', chr(0x1F600))\n")
    assert result.ok and result.stdout == "ünïcödé € \U0001F600\n"


def test_source_with_null_byte_is_an_error(run) -> None:
    result = run("print(1)\x00\n")
    assert result.status is RunStatus.error


def test_cpu_and_wall_seconds_are_reported(run) -> None:
    result = run("s = 0\nfor i in range(10**6):\n    s += i\nprint(s)\n")
    assert result.ok and result.cpu_seconds > 0 and result.wall_seconds > 0


def test_programs_share_nothing_between_runs(run) -> None:
    first = run("open('note.txt', 'w').write('secret')\nimport os\nprint(os.getcwd())\n")
    second = run("import os\nprint(os.path.exists('note.txt'))\n")
    assert first.ok and second.ok and second.stdout == "False\n"


def test_nothing_is_left_behind(level) -> None:
    before = set(os.listdir(tempfile.gettempdir()))
    run_program("open('x', 'w').write('y')\n", isolation=level)  # type: ignore[arg-type]
    after = set(os.listdir(tempfile.gettempdir()))
    assert not {n for n in after - before if n.startswith("mistakelab-sbx-")}
    groups = [p for root in ("/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup")
              if os.path.isdir(root)
              for p in Path(root).rglob(f"mistakelab-sandbox-*-{os.getpid()}-*")]
    assert not groups


@pytest.mark.parametrize("field, value", [("cpu_seconds", 0), ("wall_seconds", -1),
                                          ("memory_bytes", 1000), ("open_files", 3),
                                          ("bogus", 1)])
def test_limits_are_validated(field, value) -> None:
    with pytest.raises(pydantic.ValidationError):
        Limits(**{field: value})


def test_limits_are_frozen() -> None:
    with pytest.raises(pydantic.ValidationError):
        Limits().cpu_seconds = 9  # type: ignore[misc]


def test_unknown_level_is_unavailable() -> None:
    result = run_program("print(1)", isolation="chroot")  # type: ignore[arg-type]
    assert result.status is RunStatus.sandbox_unavailable and "unknown" in result.detail


def test_required_cgroup_missing_is_unavailable(monkeypatch) -> None:
    from mistakelab.sandbox import process

    monkeypatch.setattr(process, "cgroup_support",
                        lambda: CgroupSupport(False, "", "no controllers (test)"))
    required = run_program("print(1)", cgroup=True)
    assert required.status is RunStatus.sandbox_unavailable and "(test)" in required.detail
    optional = run_program("print(1)")
    assert optional.ok


def test_process_limit_counts_threads(run) -> None:
    one = Limits(cpu_seconds=1, wall_seconds=10, max_processes=1)
    assert run("print('alone')\n", one).stdout == "alone\n"
    result = run("import threading\nthreading.Thread(target=print).start()\n", one)
    assert result.exception == "RuntimeError" and "thread" in result.error_line
