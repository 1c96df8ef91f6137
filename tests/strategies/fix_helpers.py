"""What the best_of_n and first_error_fix tests share: the problem, how a strategy runs on it, a judge's reply."""

from __future__ import annotations

import asyncio
import math

from mistakelab.core import Completion, Problem, TokenLogprob
from mistakelab.runner import solve

from conftest import ToyAdd


PROBLEM = Problem(id="p1", question="What is 2 + 3?", answer="5")


def run(strategy, backend, roles=None):  # type: ignore[no-untyped-def]
    return asyncio.run(solve(strategy, backend, PROBLEM, ToyAdd(), roles=roles))


def judge(p_yes: float) -> Completion:
    top = [("Yes", math.log(p_yes)), ("No", math.log(1 - p_yes))]
    return Completion(text="Yes", logprobs=[TokenLogprob(token="Yes", logprob=top[0][1], top=top)])
