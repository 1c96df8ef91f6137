"""Locators that need no model: the task's exact step verifier, and the arithmetic checker."""

from __future__ import annotations

from mistakelab.locate.base import Locator, LocatorResult, locators
from mistakelab.locate.records import LocateRecord
from mistakelab.steps.types import StepMark, StepVerdict
from mistakelab.context import CallContext


def _map_marks(record: LocateRecord, verdict: StepVerdict) -> LocatorResult:
    """Map a verdict computed on the joined text back onto the record's own steps, by span."""
    spans = record.step_spans()

    def owner(pos: int) -> int:
        for s in spans:
            if pos < s.end + 2:  # the separator belongs to the step before it
                return s.index
        return len(spans) - 1

    marks: dict[int, StepMark] = {}
    for m in verdict.marks:
        step = verdict.steps[m.index] if m.index < len(verdict.steps) else None
        idx = owner(step.start) if step else m.index
        prev = marks.get(idx)
        if prev is None or (m.status == "wrong" and prev.status != "wrong"):
            marks[idx] = m.model_copy(update={"index": idx})
    ordered = [marks.get(i, StepMark(index=i, status="unchecked")) for i in range(len(spans))]
    wrong = [m.index for m in ordered if m.status == "wrong"]
    return LocatorResult(first_error=min(wrong) if wrong else -1, marks=ordered)


@locators.register("exact")
class ExactLocator(Locator):
    """The task's own step verifier (tasks with gold steps: igsm, knights_knaves); it knows
    the gold solution, so it is oracle-assisted."""

    name = "exact"
    oracle = True

    async def locate(self, record: LocateRecord, ctx: CallContext) -> LocatorResult:
        verdict = ctx.oracle().verify_steps(record.solution_text())
        if verdict is None:
            return LocatorResult(first_error=None, note=f"task {ctx.task.name!r} has no step verifier")
        return _map_marks(record, verdict)


@locators.register("arithmetic")
class ArithmeticLocator(Locator):
    """Flags the first step holding a wrong computation (``a op b = r``); blind to the rest."""

    name = "arithmetic"

    async def locate(self, record: LocateRecord, ctx: CallContext) -> LocatorResult:
        from mistakelab.steps.arithmetic import check_arithmetic

        verdict = check_arithmetic(record.solution_text(), steps=record.step_spans())
        return _map_marks(record, verdict)

