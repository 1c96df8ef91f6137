"""Locators on scripted outputs, and the ProcessBench-format record files."""

from __future__ import annotations

import asyncio
import json
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


@pytest.mark.parametrize("text, expected", [
    ("The earliest error is in paragraph 2.\n\\boxed{2}", 2),
    ("All paragraphs are correct. \\boxed{-1}", -1),
    ("\\boxed{1} ... actually \\boxed{0}", 0),  # last box wins
    ("\\boxed{7}", None),  # not a step of this solution
    ("I think paragraph 1 is wrong", None),  # no box: no prediction
    ("\\boxed{ 1 }", 1),
    ("-1", None),  # a bare integer is not the protocol's answer...
])
def test_parse_critic(text: str, expected: int | None) -> None:
    assert parse_critic(text, 3) == expected


@pytest.mark.parametrize("text, expected", [
    ("-1", -1),  # ...but with bare=True it counts (qwen2.5-coder-0.5b's whole reply on igsm)
    ("2.", 2),
    ("\\boxed{1} 2", 1),  # a box still wins
    ("Paragraph 2", None),  # an integer inside words is not an answer
    ("-1 or 2", None),
    ("9", None),  # not a step
])
def test_parse_critic_bare(text: str, expected: int | None) -> None:
    assert parse_critic(text, 3, bare=True) == expected


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
    assert back[0].steps == REC.steps and back[0].label == 1
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
