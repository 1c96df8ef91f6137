"""What the cot, self_consistency and self_refine tests share: the problem and how a strategy runs on it."""

from __future__ import annotations

import asyncio

from mistakelab.backends import ScriptedBackend
from mistakelab.core import Problem
from mistakelab.runner import solve

from conftest import ToyAdd


PROBLEM = Problem(id="p1", question="What is 2 + 3?", answer="5")


def run(strategy: dict, outputs, roles=None, **kw):  # type: ignore[no-untyped-def]
    fake = outputs if isinstance(outputs, ScriptedBackend) else ScriptedBackend(outputs)
    trace, result = asyncio.run(solve(strategy, fake, PROBLEM, ToyAdd(), roles=roles, **kw))
    return trace, fake, result
