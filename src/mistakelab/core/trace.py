"""Typed traces: every call, every answer and every decision one strategy made on one problem.

Answers have a *kind* (:class:`AnswerKind`), so metrics never match stage names: pass@k is
over ``SAMPLE`` answers, transitions compare the first solution (``ATTEMPT`` or ``SAMPLE``)
with the ``FINAL`` one, per-round metrics read the ``ATTEMPT`` answers in order. An answer
holds what the strategy extracted; its :class:`Verdict` is filled in by the runner after the
strategy returns (the strategy never sees it).

Events are typed too (:mod:`mistakelab.core.events`): a stored trace turns each event back
into its class.

Example:
    >>> from mistakelab.core.events import VoteEvent
    >>> t = Trace(strategy="sc", problem_id="p", model="m")
    >>> t.answers.append(AnswerRecord(kind="sample", extracted="4", method="boxed"))
    >>> t.events.append(VoteEvent(winner="4", votes=1, k=1))
    >>> back = Trace.model_validate_json(t.model_dump_json())
    >>> type(back.events[0]).__name__, back.answers[0].kind
    ('VoteEvent', <AnswerKind.SAMPLE: 'sample'>)
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field, SerializeAsAny, field_validator, model_validator

from mistakelab.core.events import TraceEvent, event_from
from mistakelab.core.types import Completion, GenParams, Message, Verdict

E = TypeVar("E", bound=TraceEvent)


class AnswerKind(StrEnum):
    #: one of several candidates drawn side by side (pass@k counts these)
    SAMPLE = "sample"
    #: a solution in sequence: the first one, then each revision or retry
    ATTEMPT = "attempt"
    #: an answer produced while checking a solution (e.g. PRP's masked number), not a solution
    CHECK = "check"
    #: the strategy's chosen answer
    FINAL = "final"


class AnswerRecord(BaseModel):
    """An answer a strategy recorded: what it extracted, and (after grading) its verdict."""

    kind: AnswerKind
    label: str = ""  # display name: "initial", "refine-1", "turn-3"
    index: int = 0  # position among the answers of its kind (0 = first); stored before as ``round``
    call: int | None = None  # index in ``Trace.calls`` of the call whose text held it
    extracted: str | None
    method: str = "none"  # how it was found in the text: boxed, answer_is, majority, ...
    verdict: Verdict | None = None  # set by the runner's grading, never during solving

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        # Runs stored before typed answers had ``stage``/``text_ref`` and a verdict always.
        if isinstance(data, dict) and "stage" in data and "kind" not in data:
            stage, v = data["stage"], data.get("verdict") or {}
            kind = stage if stage in ("sample", "final") else "attempt"
            return {"kind": kind, "label": stage, "call": data.get("text_ref"),
                    "extracted": v.get("extracted"), "method": v.get("method", "none"), "verdict": v or None}
        if isinstance(data, dict) and "round" in data and "index" not in data:  # ``round`` means an iteration
            data = {**data, "index": data["round"]}
            del data["round"]
        return data

    @property
    def correct(self) -> bool | None:
        return None if self.verdict is None else self.verdict.correct


CallKind = Literal["generate", "continue", "score"]


class CallRecord(BaseModel):
    """One model call made while solving: who was asked, what, and what came back.

    ``continue``: ``messages`` is the conversation, ``prefix`` the assistant text the model
    continued, and the completion holds only the continuation. ``score``: the completion's
    text is the text that was scored.
    """

    index: int
    role: str = "solver"
    kind: CallKind = "generate"
    purpose: str
    model: str
    messages: list[Message]
    prefix: str | None = None
    params: GenParams
    completion: Completion
    oracle: bool = False  # the request carried gold information (oracle-assisted)


class Trace(BaseModel):
    """Everything one strategy did on one problem, in order."""

    strategy: str
    problem_id: str
    model: str
    calls: list[CallRecord] = Field(default_factory=list)
    answers: list[AnswerRecord] = Field(default_factory=list)
    events: list[SerializeAsAny[TraceEvent]] = Field(default_factory=list)
    used_gold: bool = False

    @field_validator("events", mode="before")
    @classmethod
    def _typed_events(cls, value: Any) -> Any:
        return [event_from(e) for e in value] if isinstance(value, list) else value

    def events_of(self, cls: type[E]) -> list[E]:
        """The events of one class, in order."""
        return [e for e in self.events if isinstance(e, cls)]

    def answers_of(self, kind: AnswerKind | str) -> list[AnswerRecord]:
        return [a for a in self.answers if a.kind == kind]

    def first_solution(self) -> AnswerRecord | None:
        """The first solution answer (attempt or sample): the 'before' of transitions."""
        return next((a for a in self.answers if a.kind in (AnswerKind.ATTEMPT, AnswerKind.SAMPLE)), None)

    def final_answer(self) -> AnswerRecord | None:
        """The last FINAL answer, else the last solution answer."""
        finals = self.answers_of(AnswerKind.FINAL)
        if finals:
            return finals[-1]
        sols = [a for a in self.answers if a.kind in (AnswerKind.ATTEMPT, AnswerKind.SAMPLE)]
        return sols[-1] if sols else None

    @property
    def graded(self) -> bool:
        return all(a.verdict is not None for a in self.answers)
