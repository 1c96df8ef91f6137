"""``first_error_fix`` on the scripted backend: the prefix kept, critique and redo, rounds, a reranked rewrite."""

from __future__ import annotations

from mistakelab.backends import ScriptedBackend
from mistakelab.core import AnswerKind, EditEvent, FirstErrorEvent, StopEvent
from mistakelab.core.events import ScoreEvent

from fix_helpers import judge, run


WRONG = "2 + 3 = 6\n\nSo the answer is \\boxed{6}."


def test_first_error_fix_continues_from_the_prefix_with_the_located_step() -> None:
    fake = ScriptedBackend([WRONG, "2 + 3 = 5\n\n\\boxed{5}", "2 + 3 = 5\n\n\\boxed{5}"])
    trace, r = run("first_error_fix:k=2", fake)
    assert r.first_correct is False and r.correct and r.attempts == [False, True]
    redo = fake.calls[1]
    assert [m.role for m in redo.messages] == ["user", "assistant", "user"]
    assert "This step of your solution is wrong:\n\n2 + 3 = 6" in redo.messages[2].content
    (fe,) = trace.events_of(FirstErrorEvent)
    assert (fe.locator, fe.step) == ("arithmetic", 0)
    (edit,) = trace.events_of(EditEvent)
    assert (edit.before, edit.after) == ("2 + 3 = 6", "2 + 3 = 5")
    assert trace.events_of(StopEvent) == [StopEvent(reason="rounds used up", rounds=1)]


def test_first_error_fix_keeps_the_prefix_before_a_later_error() -> None:
    wrong = "2 + 1 = 3\n\n3 + 2 = 6\n\n\\boxed{6}"
    fake = ScriptedBackend([wrong, "3 + 2 = 5\n\n\\boxed{5}"])
    trace, r = run("first_error_fix:k=1,feedback=none", fake)
    cont = trace.calls[1]
    assert cont.kind == "continue" and cont.prefix == "2 + 1 = 3\n\n"
    assert [m.role for m in fake.calls[1].messages] == ["user", "assistant"]  # question + prefix only
    assert fake.calls[1].messages[1].content == "2 + 1 = 3\n\n"
    assert r.correct and trace.answers_of(AnswerKind.SAMPLE)[0].extracted == "5"


def test_first_error_fix_critique_then_redo() -> None:
    fake = ScriptedBackend([WRONG, "2 + 3 is 5, not 6.", "2 + 3 = 5\n\n\\boxed{5}"])
    trace, r = run("first_error_fix:k=1,feedback=critique", fake)
    assert "say what is wrong" in fake.calls[1].messages[-1].content
    assert "2 + 3 is 5, not 6.\n\nWrite the solution again" in fake.calls[2].messages[-1].content
    assert r.correct


def test_first_error_fix_stops_when_nothing_is_wrong() -> None:
    trace, r = run("first_error_fix:k=3,rounds=2", ScriptedBackend(["2 + 3 = 5\n\n\\boxed{5}"]))
    assert r.calls == 1 and r.correct
    assert trace.events_of(StopEvent) == [StopEvent(reason="no wrong step found", rounds=0)]


def test_first_error_fix_majority_of_candidates_and_second_round() -> None:
    outs = [WRONG, "2 + 3 = 7\n\n\\boxed{7}", "2 + 3 = 5\n\n\\boxed{5}", "2 + 3 = 5\n\n\\boxed{5}",
            ]
    trace, r = run("first_error_fix:k=3,rounds=2", ScriptedBackend(outs))
    assert r.final_answer == "5"  # 2 of 3; the second round finds nothing wrong in the chosen one
    assert trace.events_of(StopEvent)[0].reason == "no wrong step found"
    assert len(trace.events_of(FirstErrorEvent)) == 2


def test_first_error_fix_global_rewrite_reranked_by_a_scorer() -> None:
    outs = [WRONG, "2 + 3 = 8\n\n\\boxed{8}", "Start over: 2 + 3 = 5, \\boxed{5}"]
    fake = ScriptedBackend(outs)
    critic = ScriptedBackend([judge(0.4), judge(0.1), judge(0.9)], model_id="critic")
    trace, r = run({"name": "first_error_fix", "k": 1, "rewrite": True, "scorer": "critic_verdict",
                    "critic": "critic"}, fake, roles={"critic": critic})
    assert "Write a new, complete solution" in fake.calls[2].messages[-1].content
    (ev,) = trace.events_of(ScoreEvent)
    assert ev.label == "rerank-1" and ev.chosen == 2  # [current, local, rewrite]
    assert r.final_answer == "5"
