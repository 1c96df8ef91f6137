"""Helpers for the sandbox tests (imported by conftest and the test modules)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from mistakelab.sandbox import Limits
from mistakelab.sandbox.host import UID_BASE

# Small limits keep hostile runs short; every run has a wall limit. CPU-bound cases get a
# generous wall limit so that, on a loaded machine, the CPU limit still ends them first;
# sleeping cases get a short one.
FAST = Limits(cpu_seconds=1, wall_seconds=10)
CPU_BOUND = Limits(cpu_seconds=1, wall_seconds=30)
SLEEPY = Limits(cpu_seconds=1, wall_seconds=1.5)

# Forks up to 300 times (children sleep, then exit): with the process limit in force it must
# fail long before; run before any unbounded fork bomb.
BOUNDED_FORKS = """\
import os, time
count = 0
for _ in range(300):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(2)
        os._exit(0)
    count += 1
print(count)
"""


def sandbox_processes() -> list[int]:
    """Live (non-zombie) processes under a per-run sandbox uid (root runs only)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        uid = int(fields.get("Uid", "0").split()[0])
        if uid >= UID_BASE and not fields.get("State", "").strip().startswith("Z"):
            pids.append(int(entry.name))
    return pids


def wait_for(condition, timeout_s: float = 5.0) -> bool:
    """Poll ``condition`` until true or ``timeout_s`` passes (a condition, not a timing test)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class Listener:
    """A TCP server on 127.0.0.1 that counts accepted connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()
