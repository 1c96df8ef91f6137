"""Reasoning-gym adapter: determinism, scoring and the gsm_symbolic task."""

from __future__ import annotations

import json

import pytest

from mistakelab.core.types import Problem
from mistakelab.tasks import create_task
from mistakelab.tasks.reasoning_gym_task import ReasoningGymTask, gsm_symbolic


def test_gsm_symbolic_is_deterministic_per_seed() -> None:
    a = create_task("gsm_symbolic").load(8, seed=5)
    b = create_task("gsm_symbolic").load(8, seed=5)
    c = create_task("gsm_symbolic").load(8, seed=6)
    assert [p.model_dump() for p in a] == [p.model_dump() for p in b]
    assert [p.question for p in a] != [p.question for p in c]
    assert [p.id for p in a] == [f"gsm_symbolic-5-{i}" for i in range(8)]
    assert len({p.question for p in a}) == 8


def test_metadata_is_json_safe_and_records_the_source() -> None:
    task = ReasoningGymTask("leg_counting")  # its metadata holds tuples
    p = task.load(3, seed=1)[2]
    json.dumps(p.metadata)
    assert p.metadata["rg_source"] == {"dataset": "leg_counting", "seed": 1, "size": 3,
                                       "index": 2, "config": {}}
    assert p.metadata["source_dataset"] == "leg_counting"


def test_gsm_symbolic_gold_passes_and_scorer_agrees() -> None:
    task = gsm_symbolic()
    for p in task.load(10, seed=0):
        assert task.score(p, p.answer) == 1.0  # reasoning-gym's own scorer accepts gold
        v = task.verify(p, f"Step by step...\nSo the total is \\boxed{{{p.answer}}}.")
        assert v.correct and v.method == "boxed" and "reasoning-gym score 1" in v.reason
        wrong = str(int(p.answer) + 1)
        assert task.score(p, wrong) < 1.0
        assert not task.verify(p, f"\\boxed{{{wrong}}}").correct


def test_gsm_symbolic_numeric_equivalence_beyond_the_scorer() -> None:
    task = gsm_symbolic()
    p = next(p for p in task.load(50, seed=0) if int(p.answer) >= 1000)
    formatted = f"{int(p.answer):,}"
    # reasoning-gym reads only the first digits of "1,234"; our numeric check does not.
    assert task.score(p, formatted) < 1.0
    assert task.check(p, formatted).correct
    assert task.check(p, f"${p.answer}.00").correct
    assert not task.check(p, f"{p.answer} or {int(p.answer) + 1}").correct
    assert task.check(p, None).method == "none"


@pytest.mark.parametrize("dataset", ["leg_counting", "basic_arithmetic"])
def test_other_datasets_through_create_task(dataset: str) -> None:
    task = create_task(f"rg:{dataset}", {"size": 5})
    problems = task.load(None, seed=2)
    assert len(problems) == 5 and problems[0].id == f"{dataset}-2-0"
    for p in problems:
        assert task.verify(p, f"The answer is \\boxed{{{p.answer}}}").correct
        v = task.verify(p, "The answer is \\boxed{-99999}")
        assert not v.correct and "reasoning-gym score" in v.reason


def test_config_is_passed_to_the_dataset() -> None:
    task = ReasoningGymTask("basic_arithmetic", config={"min_terms": 2, "max_terms": 2,
                                                       "min_digits": 1, "max_digits": 1})
    for p in task.load(10, seed=0):
        assert p.metadata["num_terms"] == 2


def test_scoring_a_reloaded_problem_regenerates_the_entry() -> None:
    p = ReasoningGymTask("leg_counting").load(4, seed=9)[3]
    fresh = ReasoningGymTask("leg_counting")  # no cache: must rebuild from rg_source
    again = Problem.model_validate_json(p.model_dump_json())
    assert fresh.verify(again, f"\\boxed{{{p.answer}}}").correct
    assert not fresh.verify(again, "\\boxed{0}").correct


def test_foreign_problem_and_unknown_dataset_fail_clearly() -> None:
    with pytest.raises(ValueError, match="unknown reasoning-gym dataset 'no_such_set'"):
        create_task("rg:no_such_set")
    task = ReasoningGymTask("leg_counting")
    with pytest.raises(ValueError, match="rg_source"):
        task.check(Problem(id="x", question="?", answer="4"), "4")


def test_size_caps_n() -> None:
    task = ReasoningGymTask("basic_arithmetic", size=3)
    assert len(task.load(10, seed=0)) == 3
    assert len(task.load(None, seed=0)) == 3
