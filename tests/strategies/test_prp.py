"""``prp`` on the scripted backend: verification passes, masks, stop rules."""

from __future__ import annotations

import pytest

from mistakelab.core import AnswerKind, Problem, StopEvent
from mistakelab.core.events import VerifyEvent
from mistakelab.strategies.prp import question_numbers

from retry_helpers import run


def test_prp_verification_pass_stops_and_is_intrinsic() -> None:
    trace, fake, r = run("prp:mask=first", ["\\boxed{5}", "X + 3 = 5 so X = \\boxed{2}"])
    assert len(fake.calls) == 2 and r.correct and not r.used_gold
    verify = fake.calls[1].messages
    assert len(verify) == 1 and "What is X + 3?" in verify[0].content
    assert "answer to the question above is 5" in verify[0].content
    (ev,) = trace.events_of(VerifyEvent)
    assert (ev.expected, ev.got, ev.passed, ev.attempt) == ("2", "2", True, 0)
    assert [a.kind for a in trace.answers] == [AnswerKind.ATTEMPT, AnswerKind.CHECK, AnswerKind.FINAL]
    assert trace.events_of(StopEvent)[0].reason == "verified"


def test_prp_failed_check_resolves_with_the_likely_not_hint() -> None:
    outs = ["\\boxed{6}", "\\boxed{3}", "\\boxed{7}", "\\boxed{1}", "\\boxed{5}", "\\boxed{2}"]
    trace, fake, r = run("prp:mask=first", outs)
    assert r.attempts == [False, False, True] and r.correct and r.first_correct is False
    second, third = fake.calls[2].messages[-1].content, fake.calls[4].messages[-1].content
    assert second.endswith("(The answer is likely not 6.)") and "What is 2 + 3?" in second
    assert third.endswith("(The answer is likely not 6, 7.)")
    assert [e.passed for e in trace.events_of(VerifyEvent)] == [False, False, True]


def test_prp_stops_on_two_equal_answers_in_a_row() -> None:
    trace, fake, r = run("prp:mask=first", ["\\boxed{6}", "\\boxed{3}", "so \\boxed{6.0}"])
    assert len(fake.calls) == 3 and r.final_answer == "6.0"
    assert trace.events_of(StopEvent) == [StopEvent(reason="same answer twice", rounds=2)]


def test_prp_stops_after_rounds() -> None:
    trace, fake, r = run("prp:mask=first,rounds=2", ["\\boxed{6}", "\\boxed{3}", "\\boxed{7}", "\\boxed{3}"])
    assert len(fake.calls) == 4 and r.final_answer == "7"
    assert trace.events_of(StopEvent)[0].reason == "rounds used up"


def test_prp_mask_each_needs_every_number_back() -> None:
    trace, fake, r = run("prp:mask=each,rounds=1", ["\\boxed{6}", "\\boxed{2}", "\\boxed{4}"])
    masked = [c.messages[0].content.split("?")[0] for c in fake.calls[1:]]
    assert masked == ["What is X + 3", "What is 2 + X"]
    assert [e.passed for e in trace.events_of(VerifyEvent)] == [True, False]
    assert trace.events_of(StopEvent)[0].reason == "rounds used up"


def test_prp_random_mask_is_seeded_by_problem_and_round() -> None:
    a = run("prp:rounds=1", ["\\boxed{6}", "\\boxed{0}"])[1].calls[1].messages[0].content
    b = run("prp:rounds=1", ["\\boxed{6}", "\\boxed{0}"])[1].calls[1].messages[0].content
    assert a == b and "X" in a


def test_prp_without_numbers_or_answer_keeps_the_first_answer() -> None:
    no_numbers = Problem(id="w", question="What is two plus three?", answer="5")
    trace, fake, r = run("prp", ["\\boxed{5}"], problem=no_numbers)
    assert len(fake.calls) == 1 and trace.events_of(StopEvent)[0].reason == "no number to mask"
    trace, fake, r = run("prp", ["I am not sure."])
    assert len(fake.calls) == 1 and trace.events_of(StopEvent)[0].reason == "no answer to verify"


@pytest.mark.parametrize("question, numbers", [
    ("Tom has 3 apples and buys 12 more at $1.50 each.", ["3", "12", "1.50"]),
    ("A 20% discount on 1,200 dollars.", ["1,200"]),
])
def test_question_numbers(question, numbers) -> None:  # type: ignore[no-untyped-def]
    assert [t.text for t in question_numbers(question)] == numbers
