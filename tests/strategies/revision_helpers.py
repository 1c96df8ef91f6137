"""What the wait and contrastive tests share: the problem and how a strategy runs on it."""

from __future__ import annotations

import asyncio

from mistakelab.backends import ScriptedBackend
from mistakelab.core import Problem
from mistakelab.runner import solve

from conftest import ToyAdd


PROBLEM = Problem(id="p1", question="What is 2 + 3?", answer="5")


def run(strategy, outputs, problem=PROBLEM, task=None):  # type: ignore[no-untyped-def]
    fake = ScriptedBackend(outputs)
    trace, result = asyncio.run(solve(strategy, fake, problem, task or ToyAdd()))
    return trace, fake, result
