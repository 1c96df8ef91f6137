"""``feedback`` on the scripted backend: oracle calls, redaction, rising temperature."""

from __future__ import annotations

from mistakelab.core import RedactionEvent, StopEvent

from conftest import ToyAdd
from feedback_helpers import run


class ToyWithSolution(ToyAdd):
    def gold_solution(self, problem):  # type: ignore[no-untyped-def]
        return f"Add them: {problem.question[8:-1]} = {problem.answer}."


def test_feedback_right_first_time_asks_no_feedback() -> None:
    trace, solver, fb, r = run("feedback", ["\\boxed{5}"], feedback=[])
    assert r.correct and len(solver.calls) == 1 and not fb.calls and r.used_gold
    assert trace.events_of(StopEvent) == [StopEvent(reason="correct", rounds=0)]


def test_feedback_sees_gold_its_text_is_redacted_and_the_solver_retries_with_history() -> None:
    trace, solver, fb, r = run("feedback:rounds=3", ["\\boxed{6}", "\\boxed{5}"],
                               feedback=["You added wrong: 2 + 3 is 5, so the answer is 5, not 6."])
    assert r.attempts == [False, True] and r.correct and len(fb.calls) == 1
    ask = fb.calls[0].messages[0].content
    assert "The correct final answer is 5." in ask and "\\boxed{6}" in ask and "What is 2 + 3?" in ask
    retry = solver.calls[1].messages
    assert [m.role for m in retry] == ["user", "assistant", "user"] and retry[1].content == "\\boxed{6}"
    assert "2 + 3 is [redacted], so the answer is [redacted], not 6." in retry[2].content
    assert "5" not in retry[2].content.split("Feedback on your solution:")[1]
    assert trace.events_of(RedactionEvent) == [RedactionEvent(round=0, count=2, role="feedback")]
    calls = [(c.role, c.oracle) for c in trace.calls]
    assert calls == [("solver", False), ("feedback", True), ("solver", False)]
    assert r.usage["feedback"].calls == 1


def test_feedback_rounds_rising_temperature_and_tried_answers() -> None:
    trace, solver, fb, r = run("feedback:rounds=2,temperature_step=0.5,list_tried=true",
                               ["\\boxed{6}", "\\boxed{7}", "\\boxed{6}"], feedback=["Check the sum.", "Again."])
    assert [c.params.temperature for c in solver.calls] == [0.0, 0.5, 1.0]
    assert "Answers you already gave, all incorrect: 6." in solver.calls[1].messages[-1].content
    assert "Answers you already gave, all incorrect: 6, 7." in solver.calls[2].messages[-1].content
    assert len(fb.calls) == 2 and not r.correct and r.attempts == [False, False, False]
    assert trace.events_of(StopEvent) == [StopEvent(reason="rounds used up", rounds=2)]
    assert not trace.events_of(RedactionEvent)


def test_feedback_shows_the_gold_solution_when_asked() -> None:
    _, _, fb, _ = run("feedback:rounds=1,show_solution=true", ["\\boxed{6}", "\\boxed{6}"], feedback=["No."],
                      task=ToyWithSolution())
    assert "A correct solution:\nAdd them: 2 + 3 = 5." in fb.calls[0].messages[0].content
    _, _, fb, _ = run("feedback:rounds=1", ["\\boxed{6}", "\\boxed{6}"], feedback=["No."], task=ToyWithSolution())
    assert "A correct solution" not in fb.calls[0].messages[0].content
