"""Step-level types: a solution split into steps, and a verdict on each step.

Every error locator returns a :class:`StepVerdict`; ``first_error`` is the index of the
earliest wrong step, or -1 when no step is judged wrong.

Example:
    >>> v = StepVerdict.from_marks([Step(index=0, text="2+2=5", start=0, end=5)],
    ...                            [StepMark(index=0, status="wrong", reason="2+2 is 4")])
    >>> v.first_error
    0
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

StepStatus = Literal["ok", "wrong", "unchecked", "unnecessary"]


class Step(BaseModel):
    """One step of a solution with its character span ``text[start:end]`` in the original."""

    index: int
    text: str
    start: int
    end: int


class StepMark(BaseModel):
    """The verdict on one step. ``kind`` refines it (e.g. ``wrong_value``, ``wrong_dependency``,
    ``arithmetic``, ``false_claim``, ``unsupported_claim``)."""

    index: int
    status: StepStatus
    kind: str | None = None
    reason: str = ""


class StepVerdict(BaseModel):
    """Per-step marks of one solution plus the earliest wrong step (-1 if none)."""

    steps: list[Step] = Field(default_factory=list)
    marks: list[StepMark] = Field(default_factory=list)
    first_error: int = -1
    final_correct: bool | None = None

    @classmethod
    def from_marks(
        cls, steps: list[Step], marks: list[StepMark], final_correct: bool | None = None
    ) -> "StepVerdict":
        wrong = [m.index for m in marks if m.status == "wrong"]
        return cls(steps=steps, marks=marks, first_error=min(wrong) if wrong else -1,
                   final_correct=final_correct)


class InjectedSolution(BaseModel):
    """A gold solution with one error injected at step ``first_error`` (its index)."""

    problem_id: str
    text: str
    steps: list[str]
    first_error: int
    kind: str  # e.g. "wrong_value", "wrong_claim"
    description: str = ""
