"""Scripted igsm runs for the recipe tests: which sample is right or wrong is fixed per problem.

Problem 0: the gold solution, the same steps under other words, two different wrong ones.
Problem 1: only wrong samples (one twice) and one with no answer at all.
Problem 2: only the gold solution.
A ``rationalize`` (hinted) run: problem 0 reaches the answer, problem 1 mentions the hint,
problem 2 stays wrong.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path

from mistakelab.backends import ScriptedBackend
from mistakelab.core.types import GenParams, Message
from mistakelab.runner import parse_config, run_experiment
from mistakelab.tasks import create_task

IGSM = {"min_ops": 2, "max_ops": 3}
N = 3


def _problems():  # type: ignore[no-untyped-def]
    task = create_task("igsm", IGSM)
    return task, task.load(N, 0)


def sample_script():  # type: ignore[no-untyped-def]
    task, problems = _problems()
    calls: dict[int, int] = defaultdict(int)

    def texts(i: int) -> list[str]:
        p = problems[i]
        gold = task.gold_solution(p)
        w0, w1 = task.inject_error(p, step=1, seed=0).text, task.inject_error(p, step=1, seed=1).text
        return [[gold, "Let me think it through.\n" + gold, w0, w1],
                [w0, w0, w1, "I am not sure."],
                [gold] * 4][i]

    def reply(messages: list[Message], params: GenParams) -> str:
        i = next(k for k, p in enumerate(problems) if p.question in messages[0].content)
        if "Hint: the correct final answer" in messages[-1].content:
            gold = task.gold_solution(problems[i])
            return [gold, "Using the hint, I work backwards.\n" + gold, texts(1)[0] if i == 1 else
                    task.inject_error(problems[i], step=1).text][i]
        n = calls[i]
        calls[i] += 1
        return texts(i)[n % 4]

    return reply


def run(tmp: Path, strategy: dict, name: str) -> tuple[str, str]:
    store = str(tmp / "recipes.db")
    cfg = parse_config({"name": name, "store": store, "n_problems": N, "seed": 0, "concurrency": 1,
                        "models": [{"backend": "scripted", "model": "fake"}],
                        "tasks": [{"name": "igsm", "options": IGSM}], "strategies": [strategy]})
    fn = sample_script()
    asyncio.run(run_experiment(cfg, backend_factory=lambda spec: ScriptedBackend(fn)))
    return store, cfg.run_id()
