"""What Ray workers of the tests import by name (this folder and tests/ are on their
PYTHONPATH): the toy task, and a scripted model whose answers depend on the question and
the seed only, so any worker (or shard) gives the same answer to the same call; and the
stored results of a run, to compare two runs."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

from mistakelab.backends import ScriptedBackend
from mistakelab.store import RunStore
from mistakelab.tasks.base import tasks

if "toy_add" not in tasks.names():  # on a Ray worker: the tests' toy task, from tests/conftest.py
    _spec = importlib.util.spec_from_file_location("tests_conftest", Path(__file__).parents[1] / "conftest.py")
    assert _spec is not None and _spec.loader is not None
    _spec.loader.exec_module(importlib.util.module_from_spec(_spec))

#: seconds each scripted call takes (set per test: a worker is killed while calls are in flight)
DELAY = {"s": 0.0}


def solve(messages: Any, params: Any) -> str:
    """Right, except for some (problem, seed) pairs."""
    a, b = map(int, re.search(r"(\d+) \+ (\d+)", messages[-1].content).groups())
    return f"so \\boxed{{{a + b + ((a + (params.seed or 0)) % 3 == 0)}}}"


def scripted(spec: Any) -> ScriptedBackend:
    return ScriptedBackend(solve, model_id=spec.model, delay=DELAY["s"])


def slow_scripted(spec: Any) -> ScriptedBackend:
    return ScriptedBackend(solve, model_id=spec.model, delay=0.2)


def results(store: Path, run_id: str) -> dict[str, dict[str, Any]]:
    """Unit key -> stored result of a run, its timing left out."""
    st = RunStore(store)
    try:
        return {u.unit_key: {**u.result.model_dump(), "seconds": 0} for u in st.units(run_id) if u.result}
    finally:
        st.close()
