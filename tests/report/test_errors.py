"""`mistakelab errors`: earliest wrong steps of a run's wrong solutions, by the step verifier."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mistakelab.backends import ScriptedBackend
from mistakelab.report.errors import error_profiles
from mistakelab.runner import parse_config, run_experiment
from mistakelab.store import RunStore
from mistakelab.tasks import create_task


def test_error_profile_finds_injected_steps(tmp_path: Path) -> None:
    opts = {"min_ops": 3, "max_ops": 4, "distractors": 1}
    task = create_task("igsm", opts)
    problems = {p.question: p for p in task.load(4, 0)}
    injected_at = {}

    def solve(messages, params):  # type: ignore[no-untyped-def]
        p = next(p for q, p in problems.items() if q in messages[-1].content)
        i = int(p.id.rsplit("-", 1)[1])
        if i % 2 == 0:
            return task.gold_solution(p)
        injected_at[p.id] = step = min(i, len(p.steps or []) - 1)
        return task.inject_error(p, step).text

    cfg = parse_config({"store": str(tmp_path / "r.db"), "n_problems": 4,
                        "models": [{"backend": "scripted", "model": "fake"}],
                        "tasks": [{"name": "igsm", "label": "igsm-easy", "options": opts}],
                        "strategies": [{"name": "cot"}]})
    s = asyncio.run(run_experiment(cfg, backend_factory=lambda spec: ScriptedBackend(solve)))
    [prof] = error_profiles(RunStore(tmp_path / "r.db"), s.run_id, {"igsm-easy": task})
    assert (prof.n, prof.wrong, prof.with_step, prof.final_only) == (4, 2, 2, 0)
    expected: dict[int, int] = {}
    for step in injected_at.values():
        expected[step] = expected.get(step, 0) + 1
    assert dict(prof.first_error) == expected
