"""``contrastive`` on the scripted backend: demonstrations generated or from a stored run's mistakes."""

from __future__ import annotations

import asyncio

import pytest

from mistakelab.core.events import DemosEvent
from mistakelab.runner import parse_config, run_experiment
from mistakelab.strategies import StrategySpec
from mistakelab.strategies.demos import generated_demos
from mistakelab.tasks import create_task

from conftest import ToyAdd
from revision_helpers import run


def test_contrastive_labeled_demos_come_before_the_question() -> None:
    trace, fake, r = run("contrastive", ["\\boxed{5}"])
    (msg,) = fake.calls[0].messages
    pool = generated_demos("igsm", '{"max_ops": 4, "min_ops": 2}', 3, 0)
    assert msg.content.count("Correct solution:") == 2 and msg.content.count("Incorrect solution:") == 2
    assert pool[0].question in msg.content and pool[0].wrong in msg.content and pool[0].right in msg.content
    assert msg.content.rstrip().endswith(ToyAdd.answer_format) and "What is 2 + 3?" in msg.content
    assert msg.content.index(pool[1].question) < msg.content.index("What is 2 + 3?")
    assert trace.events_of(DemosEvent) == [DemosEvent(source="generated", style="labeled",
                                                      problem_ids=[pool[0].problem_id, pool[1].problem_id])]
    assert r.correct and not r.used_gold


def test_contrastive_pairs_show_only_answers() -> None:
    _, fake, _ = run("contrastive:style=pairs,demos=3", ["\\boxed{5}"])
    content = fake.calls[0].messages[0].content
    assert content.count("Wrong answer:") == 3 and "Correct solution" not in content
    assert "Define" not in content  # no rationales


def test_contrastive_never_shows_the_problem_being_solved() -> None:
    task = create_task("igsm", {"min_ops": 2, "max_ops": 4})
    pool = generated_demos("igsm", '{"max_ops": 4, "min_ops": 2}', 3, 0)
    me = task.load(1, seed=1000)[0]
    assert me.id == pool[0].problem_id
    trace, fake, _ = run("contrastive", ["\\boxed{1}"], problem=me, task=task)
    shown = trace.events_of(DemosEvent)[0].problem_ids
    assert me.id not in shown and len(shown) == 2
    assert fake.calls[0].messages[0].content.count(me.question) == 1  # only as the question itself


def test_contrastive_from_a_stored_run_uses_its_mistakes_on_other_problems(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = str(tmp_path / "runs.db")
    cfg = parse_config({"name": "base", "store": store, "n_problems": 4,
                        "models": [{"backend": "scripted", "model": "m", "options": {"outputs": [
                            "I get \\boxed{0}", "I get \\boxed{2}", "I get \\boxed{99}", "I get \\boxed{98}"]}}],
                        "tasks": [{"name": "toy_add"}], "strategies": [{"name": "cot"}], "concurrency": 1})
    summary = asyncio.run(run_experiment(cfg))
    toy = ToyAdd()
    problems = toy.load(4, 0)  # answers 1, 2, 3, 4: the first, third and fourth were wrong
    trace, fake, _ = run({"name": "contrastive", "source": "run", "run": summary.run_id, "store": store,
                          "style": "pairs"}, ["\\boxed{1}"], problem=problems[0], task=toy)
    content = fake.calls[0].messages[0].content
    assert trace.events_of(DemosEvent)[0].problem_ids == ["toy-0-2", "toy-0-3"]
    assert "Wrong answer: 99\nCorrect answer: 3" in content and "Wrong answer: 0" not in content
    _, fake, _ = run({"name": "contrastive", "source": "run", "run": "base", "store": store},
                     ["\\boxed{1}"], problem=problems[1], task=toy)
    content = fake.calls[0].messages[0].content
    assert "Incorrect solution:\nI get \\boxed{0}" in content and "The correct answer is 1." in content


def test_contrastive_run_source_needs_a_run() -> None:
    with pytest.raises(ValueError, match="needs run"):
        StrategySpec.model_validate({"name": "contrastive", "source": "run"}).resolve()
