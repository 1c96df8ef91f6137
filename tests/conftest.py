"""Shared fixtures: a tiny deterministic task for runner and strategy tests."""

from __future__ import annotations

import pytest

from mistakelab.core.types import Problem
from mistakelab.tasks.base import Task, tasks


class ToyAdd(Task):
    """``a + b`` problems; gold answer is the sum. Registered as ``toy_add`` for tests."""

    name = "toy_add"

    def __init__(self, offset: int = 0) -> None:
        self.offset = offset

    def load(self, n, seed):  # type: ignore[no-untyped-def]
        n = 5 if n is None else n
        return [
            Problem(id=f"toy-{seed}-{i}", question=f"What is {i + seed} + {self.offset + 1}?",
                    answer=str(i + seed + self.offset + 1))
            for i in range(n)
        ]


tasks.register("toy_add", ToyAdd)


@pytest.fixture
def toy_task() -> ToyAdd:
    return ToyAdd()
