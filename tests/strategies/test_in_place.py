"""``in_place`` on the scripted backend: edits, the feedback locator, redaction, the exact checker's value."""

from __future__ import annotations

import pytest

from mistakelab.backends import ScriptedBackend
from mistakelab.context import CapabilityError
from mistakelab.core import EditEvent, RedactionEvent, StopEvent
from mistakelab.core.events import AnswerChangeEvent
from mistakelab.strategies import strategies
from mistakelab.tasks import create_task

from feedback_helpers import run


WRONG = "Step 1: 2 + 3 = 6\n\nSo the answer is \\boxed{6}."


def _igsm_error(step: int, kind: str):  # type: ignore[no-untyped-def]
    """An igsm problem, its gold solution's lines, and that solution with an error at ``step``."""
    task = create_task("igsm", {"min_ops": 3, "max_ops": 4})
    p = task.load(1, seed=3)[0]
    return task, p, task.gold_solution(p).splitlines(), task.inject_error(p, step=step, kind=kind)


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
