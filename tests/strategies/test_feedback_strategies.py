"""``feedback`` and ``in_place`` on the scripted backend: oracle calls, redaction, edits."""

from __future__ import annotations

import asyncio

import pytest

from mistakelab.backends import ScriptedBackend
from mistakelab.context import CapabilityError
from mistakelab.core import EditEvent, Problem, RedactionEvent, StopEvent
from mistakelab.core.events import AnswerChangeEvent
from mistakelab.runner import solve
from mistakelab.strategies import strategies
from mistakelab.tasks import create_task

from conftest import ToyAdd

PROBLEM = Problem(id="p1", question="What is 2 + 3?", answer="5")


class ToyWithSolution(ToyAdd):
    def gold_solution(self, problem):  # type: ignore[no-untyped-def]
        return f"Add them: {problem.question[8:-1]} = {problem.answer}."


def run(strategy, solver, feedback=None, task=None, problem=PROBLEM):  # type: ignore[no-untyped-def]
    solver = solver if isinstance(solver, ScriptedBackend) else ScriptedBackend(solver, model_id="solver-m")
    roles = None if feedback is None else {"feedback": ScriptedBackend(feedback, model_id="fb-m")}
    trace, result = asyncio.run(solve(strategy, solver, problem, task or ToyAdd(), roles=roles))
    return trace, solver, (roles or {}).get("feedback"), result


# -- feedback -------------------------------------------------------------------------------
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


# -- in_place -------------------------------------------------------------------------------
WRONG = "Step 1: 2 + 3 = 6\n\nSo the answer is \\boxed{6}."


def test_in_place_arithmetic_edit_continues_from_the_edited_response() -> None:
    trace, solver, _, r = run("in_place:fix=arithmetic", [WRONG, "So the answer is \\boxed{5}."])
    assert r.attempts == [False, True] and r.correct and not r.used_gold
    cont = solver.calls[1].messages
    assert cont[-1].role == "assistant" and cont[-1].content == "Step 1: 2 + 3 = 5\n\n"
    assert [m.role for m in cont[:-1]] == ["user"]  # the edit replaces the turn, no new message
    assert trace.events_of(EditEvent) == [EditEvent(step=0, before="Step 1: 2 + 3 = 6", after="Step 1: 2 + 3 = 5",
                                                    source="arithmetic")]
    assert trace.events_of(AnswerChangeEvent)[0].changed
    assert trace.calls[1].kind == "continue" and trace.calls[1].prefix == "Step 1: 2 + 3 = 5\n\n"
    # the edited response checks out, so the next round finds nothing to fix
    assert trace.events_of(StopEvent) == [StopEvent(reason="no wrong step found", rounds=1)]
    assert not strategies.get("in_place").is_oracle(strategies.get("in_place").params(fix="arithmetic"))


def test_in_place_feedback_locator_fixes_and_redacts() -> None:
    trace, solver, fb, r = run("in_place:locator=feedback,rounds=2", [WRONG, "So \\boxed{5}."],
                               feedback=["STEP: 1\nFIX: Step 1: 2 + 3 = 5"])
    assert r.used_gold and r.correct and len(fb.calls) == 1 and len(solver.calls) == 2
    assert "[1] Step 1: 2 + 3 = 6" in fb.calls[0].messages[0].content
    assert solver.calls[1].messages[-1].content == "Step 1: 2 + 3 = [redacted]\n\n"
    assert trace.events_of(RedactionEvent) == [RedactionEvent(round=0, count=1, role="feedback")]
    assert trace.calls[1].oracle and trace.events_of(StopEvent)[0].reason == "correct"


def test_in_place_without_redaction_and_unparsed_feedback() -> None:
    _, solver, _, _ = run("in_place:locator=feedback,rounds=1,redact=false", [WRONG, "So \\boxed{5}."],
                          feedback=["STEP: 1\nFIX: Step 1: 2 + 3 = 5"])
    assert solver.calls[1].messages[-1].content == "Step 1: 2 + 3 = 5\n\n"
    trace, solver, _, r = run("in_place:locator=feedback", [WRONG], feedback=["It is wrong somewhere."])
    assert len(solver.calls) == 1 and trace.events_of(StopEvent)[0].reason == "feedback named no step"


def _igsm_error(step: int, kind: str):  # type: ignore[no-untyped-def]
    """An igsm problem, its gold solution's lines, and that solution with an error at ``step``."""
    task = create_task("igsm", {"min_ops": 3, "max_ops": 4})
    p = task.load(1, seed=3)[0]
    return task, p, task.gold_solution(p).splitlines(), task.inject_error(p, step=step, kind=kind)


def test_in_place_feedback_writes_the_fix_when_the_checker_has_no_value() -> None:
    task, p, gold_lines, bad = _igsm_error(2, "wrong_dependency")
    trace, solver, fb, r = run("in_place:locator=exact,rounds=1,redact=false",
                               [bad.text, "\n".join(gold_lines[3:])], feedback=[f"FIX: {gold_lines[2]}"],
                               task=task, problem=p)
    assert "Step 3 is wrong" in fb.calls[0].messages[0].content and trace.calls[1].oracle
    (edit,) = trace.events_of(EditEvent)
    assert (edit.step, edit.source, edit.after) == (2, "feedback", gold_lines[2])
    assert r.correct and r.used_gold


def test_in_place_exact_locator_on_igsm_uses_the_checker_value() -> None:
    task, p, gold_lines, bad = _igsm_error(0, "wrong_value")
    trace, solver, _, r = run("in_place:locator=exact,fix=exact,rounds=1",
                              [bad.text, "\n".join(gold_lines[1:])], task=task, problem=p)
    (edit,) = trace.events_of(EditEvent)
    assert edit.step == 0 and edit.source == "exact" and edit.after == gold_lines[0]
    assert solver.calls[1].messages[-1].content.startswith(gold_lines[0])
    assert r.used_gold and r.correct and r.attempts == [False, True]


def test_in_place_refuses_a_solver_that_cannot_continue() -> None:
    solver = ScriptedBackend([WRONG], capabilities=frozenset())
    with pytest.raises(CapabilityError, match="continue"):
        run("in_place", solver)
