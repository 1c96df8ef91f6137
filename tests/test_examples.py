"""Every example experiment (the demo's among them) plans: its TOML parses into the typed
config, its strategies and their parameters resolve, and each strategy's role models have
the capabilities it needs. Tasks are built and problems drawn, so a wrong task option fails
here too. No model is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from mistakelab.runner import load_config
from mistakelab.runner.plan import check_models, plan_strategies
from mistakelab.tasks import create_task

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.toml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_plans(path: Path) -> None:
    cfg = load_config(path)
    planned = plan_strategies(cfg)
    assert len(planned) == len(cfg.strategies)
    roles = check_models(cfg, planned, check_specs=False)
    assert len(roles) == len(cfg.models) * len(planned)
    for spec in cfg.tasks:
        if spec.name.endswith("_file"):
            continue  # reads a user's file
        problems = create_task(spec.name, spec.options or {}).load(2, cfg.seed)
        assert len(problems) == 2 and all(p.answer for p in problems)


def test_the_demo_has_exact_step_truth_and_an_oracle_and_an_intrinsic_fix() -> None:
    cfg = load_config(Path(__file__).parent.parent / "examples" / "demo.toml")
    planned = plan_strategies(cfg)
    oracle = {label: p.sdef.is_oracle(p.params) for label, p in planned.items()}
    task = create_task(cfg.tasks[0].name, cfg.tasks[0].options or {})
    [p] = task.load(1, cfg.seed)
    assert task.verify_steps(p, task.gold_solution(p)).first_error == -1
    assert any(oracle.values()) and not all(oracle.values())
