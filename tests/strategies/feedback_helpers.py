"""What the feedback and in_place tests share: the problem and how a strategy runs on it with a feedback model."""

from __future__ import annotations

import asyncio

from mistakelab.backends import ScriptedBackend
from mistakelab.core import Problem
from mistakelab.runner import solve

from conftest import ToyAdd


PROBLEM = Problem(id="p1", question="What is 2 + 3?", answer="5")


def run(strategy, solver, feedback=None, task=None, problem=PROBLEM):  # type: ignore[no-untyped-def]
    solver = solver if isinstance(solver, ScriptedBackend) else ScriptedBackend(solver, model_id="solver-m")
    roles = None if feedback is None else {"feedback": ScriptedBackend(feedback, model_id="fb-m")}
    trace, result = asyncio.run(solve(strategy, solver, problem, task or ToyAdd(), roles=roles))
    return trace, solver, (roles or {}).get("feedback"), result
