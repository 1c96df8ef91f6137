"""Locators on scripted outputs, and the ProcessBench-format record files."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from mistakelab.backends import ScriptedBackend
from mistakelab.locate import (
    LocateRecord,
    RecordError,
    build_locator,
    load_records,
    parse_critic,
    run_locator,
    write_records,
)
from mistakelab.locate.critic import vote_critics

REC = LocateRecord(id="r1", problem="Tom has 3 bags of 4 apples and eats 2. How many are left?",
                   steps=["3 * 4 = 12 apples in total.", "12 - 2 = 9 apples are left.", "The answer is \\boxed{9}."],
                   label=1, final_answer_correct=False, gold_answer="10")


def locate(spec: str, outputs, rec: LocateRecord = REC):  # type: ignore[no-untyped-def]
    fake = outputs if isinstance(outputs, ScriptedBackend) else ScriptedBackend(outputs)
    return asyncio.run(run_locator(build_locator(spec), rec, fake)), fake


def test_critic_prompt_tags_steps_and_parses_box() -> None:
    res, fake = locate("critic", ["Paragraph 1 subtracts wrong. \\boxed{1}"])
    prompt = fake.calls[0].messages[0].content
    assert "<paragraph_0>\n3 * 4 = 12" in prompt and "</paragraph_2>" in prompt
    assert res.first_error == 1 and fake.calls[0].params.temperature == 0


# One critique: (reply, reference index, lenient index) on a 3-step record. The reference is
# ProcessBench's run_eval.py: int(last \boxed{...} text) or None; lenient is mistakelab's reading.
CRITIC_TABLE = [
    ("The earliest error is in paragraph 2.\n\\boxed{2}", 2, 2),
    ("All paragraphs are correct. \\boxed{-1}", -1, -1),
    ("\\boxed{1} ... actually \\boxed{0}", 0, 0),  # the last box wins
    ("I think paragraph 1 is wrong", None, None),  # no box: no prediction
    ("-1", None, None),  # a bare integer is not the protocol's answer
    ("\\boxed{ 1 }", 1, 1),  # the reference strips the box text
    ("\\boxed {2}", None, 2),  # a space before "{": the reference's regex finds no box
    ("\\boxed{+2}", 2, 2),  # int("+2") == 2
    ("\\boxed{02}", 2, 2),
    ("\\boxed{1} and finally \\boxed{two}", None, 1),  # the reference takes the last box whatever it holds
    ("\\boxed{1} and finally \\boxed{\\text{2}}", None, 1),  # up to the first "}": "\text{2"
    ("\\boxed{2.0}", None, None),  # int("2.0") fails
    ("\\boxed{7}", 7, None),  # names no step: the reference keeps it (a wrong prediction)
    ("\\boxed{-3}", -3, None),
    ("\\boxed{}", None, None),
    ("\\boxed{paragraph 1}", None, None),
    ("\\boxed{1}\\boxed{ 2 }", 2, 2),
]


@pytest.mark.parametrize("text, reference, lenient", CRITIC_TABLE)
def test_parse_critic(text: str, reference: int | None, lenient: int | None) -> None:
    assert parse_critic(text, 3) == reference
    assert parse_critic(text, 3, mode="reference") == reference
    assert parse_critic(text, 3, mode="lenient") == lenient


def _reference_run_eval(texts: list[str]) -> int | None:
    """What ProcessBench's run_eval.py computes, written out here step by step as a check:
    extract_answer per sample, drop None, Counter(...).most_common(1), then int() or None."""
    answers = []
    for t in texts:
        boxes = re.findall(r"\\boxed\{([^}]*)\}", t)
        if boxes:
            answers.append(boxes[-1].strip())
    if not answers:
        return None
    winner = Counter(answers).most_common(1)[0][0]
    try:
        return int(winner)
    except ValueError:
        return None


# Several critiques: (replies, reference vote, lenient vote), 3-step record.
VOTE_TABLE = [
    (["\\boxed{1}", "\\boxed{0}", "\\boxed{1}"], 1, 1),
    (["\\boxed{2}", "\\boxed{+2}", "\\boxed{1}"], 2, 2),  # raw strings: a three-way tie, first seen wins
    (["\\boxed{+2}", "\\boxed{2}", "\\boxed{1}", "\\boxed{1}"], 1, 2),  # "1" twice beats "+2" and "2" once each
    (["\\boxed{0}", "\\boxed{1}"], 0, 0),  # a tie: the first seen
    (["\\boxed{two}", "\\boxed{two}", "\\boxed{1}"], None, 1),  # a non-integer wins the vote: no prediction
    (["\\boxed{7}", "\\boxed{7}", "\\boxed{1}"], 7, 1),  # out-of-range answers vote in the reference
    (["no box", "\\boxed{1}", "nothing"], 1, 1),  # replies without a box do not vote
    (["no box", "none"], None, None),
    (["\\boxed {2}", "\\boxed {2}", "\\boxed{0}"], 0, 2),  # the spaced boxes are no answers for the reference
]


@pytest.mark.parametrize("texts, reference, lenient", VOTE_TABLE)
def test_vote_critics(texts: list[str], reference: int | None, lenient: int | None) -> None:
    assert _reference_run_eval(texts) == reference  # the table states the reference's results
    assert vote_critics(texts, 3)[0] == reference
    assert vote_critics(texts, 3, mode="lenient")[0] == lenient


def test_reference_parse_agrees_with_the_reference_on_every_table_reply() -> None:
    for text, _, _ in CRITIC_TABLE:
        assert parse_critic(text, 3) == _reference_run_eval([text]), text


def test_critic_locator_parse_option() -> None:
    res, _ = locate("critic", ["\\boxed {2}"])
    assert res.first_error is None and res.note == "unparseable"
    assert locate("critic:parse=lenient", ["\\boxed {2}"])[0].first_error == 2
    res, _ = locate("critic:n=3", ["\\boxed{two}", "\\boxed{two}", "\\boxed{1}"])
    assert res.first_error is None and "not an integer" in res.note and "'two': 2" in res.note
    assert locate("critic:n=3,parse=lenient", ["\\boxed{two}", "\\boxed{two}", "\\boxed{1}"])[0].first_error == 1
    with pytest.raises(ValueError):
        build_locator("critic:parse=loose")


@pytest.mark.parametrize("text, expected", [
    ("-1", -1),  # with bare=True it counts (qwen2.5-coder-0.5b's whole reply on igsm)
    ("2.", 2),
    ("\\boxed{1} 2", 1),  # a box still wins
    ("Paragraph 2", None),  # an integer inside words is not an answer
    ("-1 or 2", None),
])
def test_parse_critic_bare(text: str, expected: int | None) -> None:
    assert parse_critic(text, 3, bare=True) == expected
    assert parse_critic(text, 3, bare=True, mode="lenient") == expected
    assert parse_critic("9", 3, bare=True) == 9 and parse_critic("9", 3, bare=True, mode="lenient") is None


def test_critic_stepwise_style_asks_for_a_line_per_paragraph() -> None:
    res, fake = locate("critic:style=stepwise",
                       ["Paragraph 0: correct\nParagraph 1: wrong, because 12 - 2 = 10\n\\boxed{1}"])
    prompt = fake.calls[0].messages[0].content
    assert "Paragraph i: correct" in prompt and "<paragraph_2>" in prompt and res.first_error == 1
    _, direct = locate("critic", ["\\boxed{1}"])
    assert "Paragraph i: correct" not in direct.calls[0].messages[0].content


def test_critic_voting_majority_and_unparseable() -> None:
    res, fake = locate("critic:n=3", ["\\boxed{1}", "\\boxed{0}", "\\boxed{1}"])
    assert res.first_error == 1 and len(fake.calls) == 3
    assert all(c.params.temperature == 1.0 and c.params.top_p == 0.9 for c in fake.calls)
    res, _ = locate("critic", ["no idea"])
    assert res.first_error is None and res.note == "unparseable"
    assert locate("critic", ["-1"])[0].first_error is None
    assert locate("critic:bare=true", ["-1"])[0].first_error == -1


def _policy(bad_after: int):  # type: ignore[no-untyped-def]
    """Continuations reach the gold answer only while the prefix holds steps < bad_after."""
    def reply(messages, params):  # type: ignore[no-untyped-def]
        prefix = messages[-1].content
        n_steps = prefix.count("\n\n")
        return "So \\boxed{10}" if n_steps <= bad_after else "So \\boxed{9}"
    return ScriptedBackend(reply)


@pytest.mark.parametrize("search", ["linear", "binary"])
def test_rollout_finds_first_bad_prefix(search: str) -> None:
    fake = _policy(bad_after=1)
    res, _ = locate(f"rollout:k=3,search={search}", fake)
    assert res.first_error == 1 and res.oracle
    assert res.step_scores is not None and res.step_scores[1] == 0.0
    assert all(c.messages[-1].role == "assistant" for c in fake.calls)  # prefix is a prefill
    if search == "linear":
        assert res.step_scores[0] == 1.0 and len(fake.calls) == 2 * 3
    else:
        assert len(fake.calls) <= 2 * 3


def test_rollout_all_good_and_soft_labels() -> None:
    res, _ = locate("rollout:k=2", _policy(bad_after=10))
    assert res.first_error == -1
    calls = iter(["\\boxed{10}", "\\boxed{9}", "\\boxed{9}", "\\boxed{9}"])
    soft = ScriptedBackend(lambda m, p: next(calls))
    res, _ = locate("rollout:k=2,label=soft,threshold=0.75", soft)
    assert res.first_error == 0 and res.step_scores and res.step_scores[0] == 0.5


def test_a_locator_label_is_its_display_name_and_rollouts_rule_runs_as_asked() -> None:
    """``-l rollout:k=2,label=soft`` used to run hard labels under a row titled "soft"."""
    from mistakelab.cli.locate_cmd import _locator

    def soft_policy():  # type: ignore[no-untyped-def]
        calls = iter(["\\boxed{10}", "\\boxed{9}", "\\boxed{9}", "\\boxed{9}"])
        return ScriptedBackend(lambda m, p: next(calls))

    # step 0: 1 of 2 rollouts reach the gold (hard: good; soft at 0.75: bad); step 1: none
    hard = asyncio.run(run_locator(build_locator("rollout:k=2,threshold=0.75"), REC, soft_policy()))
    assert hard.first_error == 1
    for spec, title in [("rollout:k=2,label=soft,threshold=0.75", "soft"),
                        ("rollout:k=2,rule=soft,threshold=0.75,label=mine", "mine")]:
        label, key, loc, model = _locator(spec)
        assert label == title and "label" not in key and model is None and loc.params.rule == "soft"
        assert asyncio.run(run_locator(loc, REC, soft_policy())).first_error == 0


def test_arithmetic_and_combined_locators() -> None:
    res, _ = locate("arithmetic", [])
    assert res.first_error == 1 and res.marks is not None and res.marks[1].status == "wrong"
    ok = REC.model_copy(update={"steps": ["3 * 4 = 12 apples.", "Then 2 are eaten, leaving 9.", "\\boxed{9}"]})
    res, fake = locate("combined", ["\\boxed{1}"], ok)  # arithmetic silent -> critic asked
    assert res.first_error == 1 and len(fake.calls) == 1 and "critic" in res.note
    res, fake = locate("combined", [])  # arithmetic finds it -> critic never called
    assert res.first_error == 1 and fake.calls == []


def test_records_roundtrip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    write_records(path, [REC])
    back = load_records(path)
    assert back[0].steps == REC.steps and back[0].first_error == 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"problem": "p", "steps": ["a"], "label": 0, "final_answer_correct": False}) + "\n"
                   + json.dumps({"problem": "p", "steps": "a", "label": 0, "final_answer_correct": False}) + "\n")
    with pytest.raises(RecordError, match=r"bad\.jsonl: line 2: field steps"):
        load_records(bad)
    bad.write_text(json.dumps({"problem": "p", "steps": ["a"], "label": 3, "final_answer_correct": False}))
    with pytest.raises(RecordError, match="line 1: field label: 3 is past the last step"):
        load_records(bad)
    bad.write_text("{not json")
    with pytest.raises(RecordError, match="line 1: invalid JSON"):
        load_records(bad)


def test_a_critic_index_past_the_last_step_is_no_first_error() -> None:
    from mistakelab.core import Problem
    from mistakelab.strategies import StrategyContext
    from mistakelab.tasks import create_task

    ctx = StrategyContext.standalone(ScriptedBackend(["\\boxed{7}"]), Problem(id="p", question="1+1?", answer="2"),
                                     create_task("gsm8k_sample"))
    found = asyncio.run(ctx.first_error("1 + 1 = 2.\n\nSo \\boxed{2}.", locator="critic"))
    assert found.step == 7 and not found.found and found.prefix == found.text


def test_failed_model_calls_are_failed_records_not_wrong_predictions(tmp_path: Path) -> None:
    from mistakelab.runner.caller import CallStats, ModelCaller
    from mistakelab.core.types import GenParams
    from mistakelab.experiments.locate_bench import LocatorRun, run_locators
    from mistakelab.store import RunStore

    records = [REC.model_copy(update={"id": f"r{i}", "problem": f"{REC.problem} ({i})"}) for i in range(3)]
    store = RunStore(tmp_path / "r.db")
    store.create_run("loc", "loc", {})

    def run_with(backend: ScriptedBackend) -> LocatorRun:
        caller = ModelCaller(lambda: backend, "fake", store, "loc", CallStats())
        run = LocatorRun("critic", build_locator("critic"), caller)
        asyncio.run(run_locators(records, [run], GenParams(), concurrency=1))
        return run

    # the model answers the first record, then the server is down for the other two
    run = run_with(ScriptedBackend(["\\boxed{1}", ConnectionError("down"), ConnectionError("down")]))
    assert [p.failed for p in run.predictions] == [False, True, True]
    assert len(run.failed) == 2 and "ConnectionError: down" in (run.failed[0].error or "")
    score = run.scores()["default"]
    assert score.n_err == 1 and score.acc_err == 1.0  # scored on the answered record only
    assert score.confusion["no_prediction"] == 0
    # next time the failed records are asked again (nothing failed was cached); the first is a cache hit
    again = run_with(ScriptedBackend(["\\boxed{0}", "\\boxed{0}"]))
    assert not again.failed and [p.result.first_error for p in again.predictions] == [1, 0, 0]
    store.close()
