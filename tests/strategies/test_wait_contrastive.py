"""``wait`` and ``contrastive`` on the scripted backend: the continued turn, the demonstrations."""

from __future__ import annotations

import asyncio

import pytest

from mistakelab.backends import ScriptedBackend
from mistakelab.core import Problem
from mistakelab.core.events import AnswerChangeEvent, DemosEvent
from mistakelab.runner import parse_config, run_experiment
from mistakelab.runner import solve
from mistakelab.strategies import StrategySpec
from mistakelab.strategies.demos import generated_demos
from mistakelab.tasks import create_task

from conftest import ToyAdd

PROBLEM = Problem(id="p1", question="What is 2 + 3?", answer="5")


def run(strategy, outputs, problem=PROBLEM, task=None):  # type: ignore[no-untyped-def]
    fake = ScriptedBackend(outputs)
    trace, result = asyncio.run(solve(strategy, fake, problem, task or ToyAdd()))
    return trace, fake, result


# -- wait -----------------------------------------------------------------------------------
def test_wait_appends_the_cue_to_the_assistant_turn_and_continues() -> None:
    trace, fake, r = run("wait", ["2 + 3 = 6. \\boxed{6}", ", 2 + 3 is 5. \\boxed{5}"])
    msgs = fake.calls[1].messages
    assert [m.role for m in msgs] == ["user", "assistant"] and msgs[1].content == "2 + 3 = 6. \\boxed{6} Wait"
    assert trace.calls[1].kind == "continue" and trace.calls[1].prefix.endswith(" Wait")
    assert r.attempts == [False, True] and r.correct and not r.used_gold
    assert trace.events_of(AnswerChangeEvent) == [AnswerChangeEvent(round=0, before="6", after="5", changed=True)]


def test_wait_keeps_the_answer_when_the_continuation_states_none() -> None:
    trace, fake, r = run("wait", ["\\boxed{5}", ", let me check: 2 + 3 makes sense."])
    assert r.final_answer == "5" and r.correct
    assert not trace.events_of(AnswerChangeEvent)[0].changed


def test_wait_custom_cue_and_rounds() -> None:
    trace, fake, r = run({"name": "wait", "cue": "\n\nHmm,", "rounds": 2},
                         ["\\boxed{6}", " no: \\boxed{5}", " yes, \\boxed{5}"])
    assert fake.calls[2].messages[-1].content == "\\boxed{6}\n\nHmm, no: \\boxed{5}\n\nHmm,"
    assert [e.changed for e in trace.events_of(AnswerChangeEvent)] == [True, False]
    assert r.attempts == [False, True, True]


# -- contrastive ----------------------------------------------------------------------------
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
