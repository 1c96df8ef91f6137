"""What the magicore and step search tests share: the problem and how a strategy runs on it."""

from __future__ import annotations

import asyncio

from mistakelab.core import Problem
from mistakelab.runner import solve

from conftest import ToyAdd


PROBLEM = Problem(id="p1", question="What is 2 + 3?", answer="5")


def run(strategy, backend, roles=None):  # type: ignore[no-untyped-def]
    return asyncio.run(solve(strategy, backend, PROBLEM, ToyAdd(), roles=roles))
