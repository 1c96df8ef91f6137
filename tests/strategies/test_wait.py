"""``wait`` on the scripted backend: the cue appended to the model's turn, rounds."""

from __future__ import annotations

from mistakelab.core.events import AnswerChangeEvent

from revision_helpers import run


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
