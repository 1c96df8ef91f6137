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


def test_error_examples_locate_the_step_and_show_the_other_strategies(tmp_path: Path) -> None:
    """`errors --examples`: a wrong cot solution's injected step is the one marked, and the
    problem's self-consistency outcome (its samples are gold solutions here) is listed."""
    from typer.testing import CliRunner

    from mistakelab.cli import app
    from mistakelab.report.errors import error_examples

    opts = {"min_ops": 3, "max_ops": 4}
    task = create_task("igsm", opts)
    problems = {p.question: p for p in task.load(4, 0)}
    injected_at: dict[str, int] = {}

    def solve(messages, params):  # type: ignore[no-untyped-def]
        p = next(p for q, p in problems.items() if q in messages[-1].content)
        if params.temperature > 0 or p.id.endswith(("-0", "-2")):
            return task.gold_solution(p)  # samples and even problems: right
        injected_at[p.id] = step = 1
        return task.inject_error(p, step).text

    store = tmp_path / "r.db"
    cfg = parse_config({"store": str(store), "n_problems": 4, "name": "ex",
                        "models": [{"backend": "scripted", "model": "fake"}],
                        "tasks": [{"name": "igsm", "options": opts}],
                        "strategies": [{"name": "cot"}, {"name": "self_consistency", "k": 3}]})
    s = asyncio.run(run_experiment(cfg, backend_factory=lambda spec: ScriptedBackend(solve)))
    examples = error_examples(RunStore(store), s.run_id, {"igsm": task}, "cot", n=5)
    assert sorted(e.problem.id for e in examples) == sorted(injected_at)
    for e in examples:
        assert e.verdict.first_error == injected_at[e.problem.id]
        assert e.reason
        [(name, answer, correct, _, oracle)] = e.outcomes
        assert name.startswith("self_consistency") and correct and answer == e.problem.answer and not oracle
    out = CliRunner(env={"COLUMNS": "250"}).invoke(app, ["errors", "ex", "--store", str(store), "--examples", "1"])
    assert out.exit_code == 0, out.output
    marked = [line for line in out.output.splitlines() if line.startswith(">> ")]
    assert len(marked) == 1 and marked[0].startswith(f">> step {injected_at[examples[0].problem.id] + 1}:")
    assert "first wrong step: step 2 of" in out.output and "(index 1," in out.output and "self_consistency(k=3):" in out.output
