"""The isolation report tells the truth: what it claims is checked against real runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sandbox_fixtures import level, listener  # noqa: F401 (fixtures)
from sandbox_helpers import wait_for

import mistakelab.sandbox
from mistakelab.sandbox import RunStatus, isolation_report, run_program
from mistakelab.sandbox.host import is_root, python_for
from mistakelab.sandbox.isolation import probe_level
from mistakelab.sandbox.limits import LEVELS


def test_report_describes_the_level_auto_uses() -> None:
    report = isolation_report()
    available = [r.level for r in report.levels if r.available]
    assert [r.level for r in report.levels] == list(LEVELS)
    assert report.level == (available[0] if available else None)
    assert any("seccomp" in gap for gap in report.not_isolated)
    if report.level is not None:
        assert run_program("print(1)").isolation == report.level


def test_report_is_serializable() -> None:
    data = json.loads(isolation_report().model_dump_json())
    assert set(data) == {"level", "running_as_root", "mechanisms", "not_isolated", "cgroup",
                         "levels"}


def test_network_claim_matches_a_real_connection(level, listener) -> None:
    claimed = probe_level(level).checks["network"]
    result = run_program(f"import socket\nsocket.create_connection(('127.0.0.1', {listener.port}), "
                         "timeout=2)\n", isolation=level)  # type: ignore[arg-type]
    if claimed:
        assert result.status is RunStatus.error and listener.accepted == 0
    else:
        assert result.ok and wait_for(lambda: listener.accepted == 1)


def test_file_claim_matches_reading_our_sources(level) -> None:
    claimed = probe_level(level).checks["files"]
    ours = Path(mistakelab.sandbox.__file__).resolve()
    result = run_program(f"print(open({str(ours)!r}).read()[:3])\n", isolation=level)  # type: ignore[arg-type]
    assert result.ok is (not claimed)


def test_uid_claim_matches(level) -> None:
    result = run_program("import os\nprint(os.getuid())\n", isolation=level)  # type: ignore[arg-type]
    assert (int(result.stdout) != 0) is probe_level(level).checks["uid"]


def test_namespaces_level_closes_every_gap_it_can(level) -> None:
    if level != "namespaces":
        pytest.skip("checks of the namespaces level")
    checks = probe_level(level).checks
    assert checks == {"network": True, "files": True, "pid": True, "uid": True}
    report = isolation_report()
    assert report.mechanisms["network_namespace"] and report.mechanisms["mount_namespace"]
    assert not any(g.startswith("network") for g in report.not_isolated)


def test_rlimits_level_is_refused_as_root() -> None:
    if not is_root():
        pytest.skip("the refusal applies to root only")
    result = run_program("print(1)", isolation="rlimits")
    assert result.status is RunStatus.sandbox_unavailable and "RLIMIT_NPROC" in result.detail


_NOBODY = 65534
_UNPRIVILEGED_CHECK = """\
import json, os, sys, time
from mistakelab.sandbox import Limits, run_program
from mistakelab.sandbox.isolation import probe_level

def _others():
    # live processes of our uid other than this one: sandbox leftovers
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as f:
                fields = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        except OSError:
            continue
        if (int(pid) != os.getpid() and int(fields["Uid"].split()[0]) == os.getuid()
                and not fields["State"].strip().startswith("Z")):
            found.append(int(pid))
    return found

out = {}
for level in ("namespaces", "rlimits"):
    report = probe_level(level)
    if not report.available:
        out[level] = {"available": False, "reason": report.reason}
        continue
    forks = run_program(sys.argv[1], Limits(wall_seconds=10), isolation=level)
    # A sleeper that forks a sleeping child: the wall timeout must take both.
    sleeper = run_program("import os, time\\nos.fork()\\ntime.sleep(1000)\\n",
                          Limits(wall_seconds=1), isolation=level)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _others():
        time.sleep(0.02)
    out[level] = {"available": True, "checks": report.checks, "forks": forks.stdout.strip(),
                  "status": forks.status.value, "sleeper": sleeper.status.value,
                  "survivors": _others()}
print(json.dumps(out))
"""


def test_unprivileged_user_gets_namespaces_or_rlimits() -> None:
    """As a non-root user (nobody, via setpriv): a user namespace where allowed, else rlimits;
    the process limit holds and a timed-out run leaves no process behind, either way."""
    from sandbox_helpers import BOUNDED_FORKS

    setpriv = shutil.which("setpriv")
    python = python_for("uid")  # an interpreter that nobody may execute
    if not is_root() or setpriv is None or python is None:
        pytest.skip("needs root, setpriv and an interpreter other users can run")
    import pydantic

    deps = str(Path(pydantic.__file__).resolve().parents[1])
    src = str(Path(mistakelab.sandbox.__file__).resolve().parents[2])
    version = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
    if version != str(tuple(sys.version_info[:2])):
        pytest.skip(f"{python} is Python {version}; our compiled dependencies are for another")
    for path in (deps, src):
        if not all(os.stat(p).st_mode & 0o005 for p in [path, *map(str, Path(path).parents)]):
            pytest.skip(f"{path} is not readable by other users")
    proc = subprocess.run(
        [setpriv, f"--reuid={_NOBODY}", f"--regid={_NOBODY}", "--clear-groups", python, "-c",
         _UNPRIVILEGED_CHECK, BOUNDED_FORKS],
        capture_output=True, text=True, timeout=120, cwd="/tmp",
        env={"PYTHONPATH": f"{src}:{deps}", "HOME": "/tmp", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["namespaces"]["available"] or out["rlimits"]["available"], out
    for level, facts in out.items():
        if facts["available"]:
            assert facts["status"] == "ok" and 0 < int(facts["forks"]) < 8, (level, facts)
            assert facts["sleeper"] == "timeout" and facts["survivors"] == [], (level, facts)
    if out["namespaces"]["available"]:
        assert out["namespaces"]["checks"] == {"network": True, "files": True, "pid": True,
                                               "uid": True}
