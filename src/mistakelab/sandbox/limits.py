"""Resource limits of one sandboxed run.

>>> Limits().cpu_seconds, Limits().wall_seconds, Limits().memory_bytes // 2**20
(5, 10.0, 512)
>>> Limits(cpu_seconds=1).cpu_seconds
1
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MiB = 2**20

#: How a run is confined: ``auto`` takes the strongest level that works on this machine.
IsolationLevel = Literal["auto", "namespaces", "uid", "rlimits"]
LEVELS: tuple[str, ...] = ("namespaces", "uid", "rlimits")


class Limits(BaseModel):
    """Per-run limits; the defaults suit GSM-style programs (a few arithmetic lines).

    ``memory_bytes`` bounds each process's address space (RLIMIT_AS) and, where cgroups are
    available, the whole run's memory. ``max_processes`` counts threads too (RLIMIT_NPROC).
    ``output_bytes`` caps stdout + stderr together: past it the run is stopped and marked.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    cpu_seconds: int = Field(5, ge=1, le=3600)
    wall_seconds: float = Field(10.0, gt=0, le=3600)
    memory_bytes: int = Field(512 * MiB, ge=64 * MiB)
    max_processes: int = Field(8, ge=1, le=1024)
    output_bytes: int = Field(64 * 1024, ge=1)
    file_bytes: int = Field(1 * MiB, ge=0)
    disk_bytes: int = Field(16 * MiB, ge=MiB)
    open_files: int = Field(64, ge=16, le=4096)
