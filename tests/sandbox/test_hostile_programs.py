"""A corpus of hostile programs the sandbox must survive, each with the outcome it must give,
at every isolation level this machine offers. Unbounded fork bombs and memory hogs run only
after a bounded program has shown that the limit holding them is in force."""

from __future__ import annotations

import os
import signal
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sandbox_fixtures import (level, listener, no_survivors,  # noqa: F401 (fixtures)
                              process_limit_works, repo_root, run)
from sandbox_helpers import CPU_BOUND, FAST, SLEEPY, sandbox_processes, wait_for

from mistakelab.sandbox import Limits, RunStatus
from mistakelab.sandbox.cgroups import cgroup_support
from mistakelab.sandbox.host import is_root


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    status: RunStatus
    exception: str | None = None
    signal: str | None = None
    detail: str | None = None  # a substring of ProgramRun.detail
    limits: Limits = FAST


CORPUS = [
    Case("infinite_loop", "while True:\n    pass\n", RunStatus.timeout, detail="CPU time",
         limits=CPU_BOUND),
    Case("sleep_forever", "import time\ntime.sleep(10**6)\n", RunStatus.timeout,
         detail="wall time", limits=SLEEPY),
    Case("threads_spinning",
         "import threading\ndef spin():\n    while True:\n        pass\n"
         "for _ in range(4):\n    threading.Thread(target=spin, daemon=True).start()\nspin()\n",
         RunStatus.timeout, detail="CPU time", limits=CPU_BOUND),
    Case("ignores_sigxcpu",
         "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass\n",
         RunStatus.timeout, signal="SIGKILL", detail="CPU time", limits=CPU_BOUND),
    Case("blocks_sigterm_and_sleeps",
         "import signal, time\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):\n"
         "    signal.signal(s, signal.SIG_IGN)\ntime.sleep(10**6)\n",
         RunStatus.timeout, detail="wall time", limits=SLEEPY),
    Case("huge_output", "while True:\n    print('spam' * 100)\n", RunStatus.output_limit),
    Case("one_giant_print", "print('x' * 50_000_000)\n", RunStatus.output_limit),
    Case("huge_stderr", "import sys\nwhile True:\n    sys.stderr.write('e' * 1000)\n",
         RunStatus.output_limit),
    Case("deep_recursion", "def f(n):\n    return f(n + 1) + 1\nf(0)\n", RunStatus.error,
         exception="RecursionError"),
    Case("c_stack_overflow",
         "import sys\nsys.setrecursionlimit(10**8)\nclass A:\n"
         "    def __repr__(self):\n        return repr(A())\nrepr(A())\n",
         RunStatus.killed, signal="SIGSEGV"),
    Case("segfault", "import ctypes\nctypes.string_at(0)\n", RunStatus.killed, signal="SIGSEGV"),
    Case("kills_itself", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
         RunStatus.killed, signal="SIGKILL"),
    Case("kills_own_group", "import os, signal\nos.killpg(0, signal.SIGKILL)\n",
         RunStatus.killed, signal="SIGKILL"),
    Case("too_many_threads",
         "import threading, time\nfor _ in range(100):\n"
         "    threading.Thread(target=time.sleep, args=(0.5,), daemon=True).start()\n",
         RunStatus.error, exception="RuntimeError"),
    Case("too_many_files", "files = [open('/dev/null') for _ in range(1000)]\n", RunStatus.error,
         exception="OSError"),
    Case("file_too_large", "open('big', 'wb').write(b'x' * 3 * 2**20)\n", RunStatus.error,
         exception="OSError"),
    Case("becomes_root", "import os\nos.setuid(0)\n", RunStatus.error, exception="PermissionError"),
    Case("binary_junk", "import sys\nsys.stdout.buffer.write(bytes(range(256)) * 8)\n",
         RunStatus.ok),
    Case("closes_stdout_then_exits_later",
         "import os, time\nos.close(1)\nos.close(2)\ntime.sleep(0.3)\nraise SystemExit(3)\n",
         RunStatus.error, detail="exit code 3"),
    Case("closes_stdout_then_spins", "import os\nos.close(1)\nos.close(2)\nwhile True:\n    pass\n",
         RunStatus.timeout, detail="CPU time", limits=CPU_BOUND),
    Case("reads_absent_stdin", "input()\n", RunStatus.error, exception="EOFError"),
]


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.name)
def test_corpus(run, case: Case, no_survivors) -> None:
    result = run(case.source, case.limits)
    assert result.status is case.status, (result.status, result.detail, result.stderr[-500:])
    if case.exception:
        assert result.exception == case.exception
    if case.signal:
        assert result.signal == case.signal
    if case.detail:
        assert case.detail in result.detail
    assert len(result.stdout) + len(result.stderr) <= FAST.output_bytes


def test_output_cap_keeps_the_first_bytes(run) -> None:
    result = run("while True:\n    print('spam' * 100)\n")
    assert result.truncated and result.stdout.startswith("spam" * 100)
    assert len(result.stdout) == FAST.output_bytes


def test_invalid_utf8_is_replaced_not_fatal(run) -> None:
    result = run("import sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe\\x00 end\\n')\n")
    assert result.ok and result.stdout == "ok \ufffd\ufffd\x00 end\n"


def test_bounded_fork_loop_fails_early(process_limit_works) -> None:
    assert 0 < process_limit_works < FAST.max_processes


@pytest.mark.parametrize("source, status", [
    # The classic bomb: the first fork that fails raises in the main process.
    ("import os\nwhile True:\n    os.fork()\n", RunStatus.error),
    # A persistent one: every process keeps trying until the time limits end it.
    ("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
     RunStatus.timeout),
], ids=["classic", "persistent"])
def test_fork_bomb(run, process_limit_works, no_survivors, source, status) -> None:
    result = run(source, Limits(cpu_seconds=1, wall_seconds=3))
    assert result.status is status, (result.detail, result.stderr[-300:])
    if status is RunStatus.error:
        # Every failing child writes its traceback to the same stderr, so the last line may
        # be any of theirs: look for the error, not at the parsed exception.
        assert result.exit_code == 1 and "BlockingIOError" in result.stderr


def _address_space_limit_works(run) -> None:
    bounded = run("b = bytearray(1024 * 2**20)\n", Limits(cpu_seconds=2, wall_seconds=5,
                                                          memory_bytes=256 * 2**20))
    if bounded.status is not RunStatus.memory:
        pytest.skip(f"the address-space limit is not in force ({bounded.status.value})")


def test_memory_hog(run) -> None:
    _address_space_limit_works(run)
    result = run("chunks = []\nwhile True:\n    chunks.append(bytearray(50 * 2**20))\n",
                 Limits(cpu_seconds=2, wall_seconds=5, memory_bytes=256 * 2**20))
    assert result.status is RunStatus.memory and result.exception == "MemoryError"


def test_memory_spread_over_processes_meets_the_cgroup(run, process_limit_works) -> None:
    if not cgroup_support().available:
        pytest.skip(f"no per-run cgroup here: {cgroup_support().reason}")
    _address_space_limit_works(run)
    # 4 processes x 200 MB touched, each under its own 256 MB address space: only the
    # run-wide cgroup cap (256 MB + slack) stops them.
    source = ("import os, time\nfor _ in range(3):\n    if os.fork() == 0:\n        break\n"
              "b = bytearray(200 * 2**20)\nfor i in range(0, len(b), 4096):\n    b[i] = 1\n"
              "time.sleep(1)\n")
    result = run(source, Limits(cpu_seconds=3, wall_seconds=6, memory_bytes=256 * 2**20),
                 cgroup=True)
    assert result.status is RunStatus.memory and "cgroup" in result.detail


def test_daemon_that_leaves_its_group_does_not_outlive_the_run(run, level) -> None:
    if not is_root():
        pytest.skip("survivors are found by their per-run uid, which needs root")
    result = run("import subprocess\n"
                 "subprocess.Popen(['sleep', '1000'], start_new_session=True)\nprint('spawned')\n")
    assert result.ok and result.stdout == "spawned\n"
    assert wait_for(lambda: not sandbox_processes()), sandbox_processes()


def _skip_if_same_uid(level: str) -> None:
    if level == "rlimits":  # never run these there: kill(-1) would take the user's session
        pytest.skip("rlimits: the program runs as our uid and can signal our processes "
                    "(listed in isolation_report)")


def test_killing_the_parent_fails(run, level) -> None:
    _skip_if_same_uid(level)
    result = run("import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\n"
                 "    print('sent')\nexcept PermissionError:\n    print('denied')\n")
    # The supervisor survived: it reported the program's own clean exit.
    assert result.ok and result.stdout == "denied\n"


def test_signalling_everything_spares_the_toolkit(run, level) -> None:
    _skip_if_same_uid(level)
    result = run("import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n"
                 "    pass\nprint('still here')\n")
    assert result.ok and result.stdout == "still here\n"
    os.kill(os.getpid(), 0)  # we are alive, and so is the supervisor that reported


def test_subprocesses_inherit_the_confinement(run, level, repo_root) -> None:
    result = run("import subprocess\n"
                 "print(subprocess.run(['id', '-u'], capture_output=True, text=True).stdout.strip())\n"
                 f"r = subprocess.run(['cat', {str(repo_root / 'pyproject.toml')!r}], capture_output=True)\n"
                 "print(r.returncode)\n")
    assert result.ok, result.stderr
    uid, cat_rc = result.stdout.split()
    assert int(uid) != 0
    if level == "namespaces":
        assert cat_rc != "0"  # the project is not in the sandbox's file system


def test_os_system_runs_confined(run, level) -> None:
    result = run("import os\nprint(os.system('ls / > listing.txt'))\nprint(open('listing.txt').read())\n")
    assert result.ok, result.stderr
    if level == "namespaces":
        assert "work" not in result.stdout.split() and "sandbox" in result.stdout.split()


def test_writes_outside_the_work_dir_do_not_land(run, level, tmp_path: Path) -> None:
    private = tmp_path / "escape.txt"  # in a root-owned 0700 dir (pytest's tmp_path)
    shared = Path("/tmp") / f"mistakelab-escape-{uuid.uuid4().hex}.txt"
    result = run(f"import os\nfor p in ({str(private)!r}, {str(shared)!r}):\n    try:\n"
                 "        open(p, 'w').write('x')\n        print('wrote', p)\n"
                 "    except OSError as e:\n        print('failed', type(e).__name__)\n"
                 "open('inside.txt', 'w').write('fine')\nprint(open('inside.txt').read())\n")
    try:
        assert result.ok and result.stdout.splitlines()[-1] == "fine"
        if level == "rlimits":
            pytest.skip("rlimits: the program can write wherever our uid can (listed in "
                        "isolation_report)")
        assert not private.exists()
        if level == "namespaces":
            assert not shared.exists()
        else:
            pytest.skip(f"{level}: /tmp is shared with the host (listed in isolation_report)")
    finally:
        if shared.exists():
            shared.unlink()


def test_project_files_and_home_are_hidden(run, level, repo_root) -> None:
    pyproject = repo_root / "pyproject.toml"
    result = run(f"import os\nprint(os.path.exists({str(pyproject)!r}))\n"
                 "print(os.path.exists('/root/.bashrc') or os.path.exists(os.path.expanduser('~/.bashrc')))\n")
    assert result.ok, result.stderr
    sees_project, sees_home_file = result.stdout.split()
    if level != "namespaces":
        pytest.skip(f"{level}: world-readable files are readable (listed in isolation_report)")
    assert sees_project == "False" and sees_home_file == "False"


def test_network_is_unreachable(run, level, listener) -> None:
    result = run(f"import socket\ns = socket.create_connection(('127.0.0.1', {listener.port}), timeout=2)\n"
                 "print('connected')\n")
    if level != "namespaces":
        assert result.ok and wait_for(lambda: listener.accepted == 1)  # as the report says
        pytest.skip(f"{level}: the host network is shared (listed in isolation_report)")
    assert result.status is RunStatus.error and result.exception == "OSError"
    assert "unreachable" in result.error_line.lower()
    assert listener.accepted == 0


def test_outside_addresses_are_unreachable_too(run, level) -> None:
    if level != "namespaces":
        pytest.skip(f"{level}: the host network is shared")
    result = run("import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=2)\n")
    assert result.exception == "OSError" and "unreachable" in result.error_line.lower()


def test_disk_use_is_capped(run, level) -> None:
    if level != "namespaces":
        pytest.skip(f"{level}: only single files are capped, so we do not fill the host disk")
    result = run("i = 0\nwhile True:\n    open(f'f{i}', 'wb').write(b'x' * 500_000)\n    i += 1\n")
    assert result.exception == "OSError" and "No space left" in result.error_line


def test_environment_is_clean(run, monkeypatch) -> None:
    monkeypatch.setenv("MISTAKELAB_TEST_SECRET", "hunter2")
    result = run("import os\nprint(sorted(os.environ))\n")
    assert result.ok and "MISTAKELAB_TEST_SECRET" not in result.stdout
    assert "hunter2" not in result.stdout


def test_no_site_packages(run) -> None:
    result = run("import sys\nprint(any('site-packages' in p for p in sys.path))\n")
    assert result.ok and result.stdout == "False\n"


def test_pid_namespace_hides_host_processes(run, level) -> None:
    result = run("import os\nprint(os.getpid(), os.getppid(), os.path.exists('/proc/1'))\n")
    assert result.ok
    pid, ppid, proc = result.stdout.split()
    if level != "namespaces":
        pytest.skip(f"{level}: host processes are visible (listed in isolation_report)")
    assert (pid, ppid, proc) == ("2", "1", "False")


def test_signal_names_are_reported(run) -> None:
    result = run("import os, signal\nos.kill(os.getpid(), signal.SIGABRT)\n")
    assert result.status is RunStatus.killed and result.signal == signal.SIGABRT.name
