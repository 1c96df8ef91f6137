"""A scripted igsm run with right and wrong solutions, self-corrections and samples.

The scripted model answers even-numbered problems with the gold solution and odd ones with
the gold solution carrying an injected error at step 1 (so the first wrong step is known);
a critique always says INCORRECT and a refinement is the gold solution (wrong -> right
self-corrections on odd problems); samples at T > 0 alternate right and wrong by seed, their
wrong ones with another wrong value at step 1.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from mistakelab.backends import ScriptedBackend
from mistakelab.core.types import GenParams, Message
from mistakelab.runner import parse_config, run_experiment
from mistakelab.tasks import create_task

IGSM = {"min_ops": 2, "max_ops": 3}
LOW_REPLY = "Mistake: a value was miscopied.\nPrinciple: Recompute every value from the problem text."
HIGH_REPLY = "1. Recompute every value from the problem text.\n2. **Check** each step before the next."


def solver(n_problems: int = 4, seed: int = 0):  # type: ignore[no-untyped-def]
    task = create_task("igsm", IGSM)
    problems = task.load(n_problems, seed)

    def which(text: str) -> int:
        return next(i for i, p in enumerate(problems) if p.question in text)

    def reply(messages: list[Message], params: GenParams) -> str:
        last = messages[-1].content
        if "Condense them" in last:
            return HIGH_REPLY
        if "Principle: ..." in last:
            return LOW_REPLY
        if "VERDICT" in last:
            return "The second step is wrong.\nVERDICT: INCORRECT"
        i = which(messages[0].content)
        p = problems[i]
        if "Using this review" in last:
            return task.gold_solution(p)
        wrong = i % 2 == 1 if params.seed is None else (params.seed + i) % 2 == 1
        return task.inject_error(p, step=1, seed=int(params.seed is not None)).text if wrong else task.gold_solution(p)

    return reply


def scripted_run(tmp: Path, n_problems: int = 4, seed: int = 0,
                 strategies: list[dict] | None = None) -> tuple[str, str]:
    """Run cot, self_refine(rounds=1) and self_consistency(k=3) on igsm; (store path, run id)."""
    store = str(tmp / "learn.db")
    cfg = parse_config({
        "name": "learnfix", "store": store, "n_problems": n_problems, "seed": seed,
        "models": [{"backend": "scripted", "model": "fake"}],
        "tasks": [{"name": "igsm", "options": IGSM}],
        "strategies": strategies or [{"name": "cot"}, {"name": "self_refine", "rounds": 1},
                                     {"name": "self_consistency", "k": 3}]})
    fn = solver(n_problems, seed)
    asyncio.run(run_experiment(cfg, backend_factory=lambda spec: ScriptedBackend(fn)))
    return store, cfg.run_id()
