"""Typed trace events: what a strategy decided, as data the metrics and the report can read.

Each event class sets ``kind: Literal["..."] = "..."`` and is registered under that kind with
the :func:`trace_event` decorator. All event classes live in this module, so any reader of a
stored trace (``show``, the report, exports) gets them typed without importing strategies.
A stored event of a kind that is not registered loads as :class:`NoteEvent`, its fields in
``data``.

Example:
    >>> event_from({"kind": "stop", "reason": "verified", "rounds": 2})
    StopEvent(kind='stop', reason='verified', rounds=2)
    >>> event_from({"kind": "gone", "x": 1})
    NoteEvent(kind='note', label='gone', message='', data={'x': 1})
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.core.registry import Registry

E = TypeVar("E", bound="TraceEvent")


class TraceEvent(BaseModel):
    """Base of typed trace events; subclasses set ``kind: Literal["..."] = "..."``."""

    model_config = ConfigDict(extra="forbid")
    kind: str


#: Event classes by ``kind``.
trace_events: Registry[type[TraceEvent]] = Registry("trace event", listed_as="events")


def trace_event(cls: type[E]) -> type[E]:
    """Class decorator: register an event class under its ``kind`` default."""
    kind = cls.model_fields["kind"].default
    if not isinstance(kind, str) or not kind:
        raise TypeError(f"{cls.__name__} needs a default for its kind field")
    trace_events.register(kind, cls)
    return cls


@trace_event
class NoteEvent(TraceEvent):
    """A free-form note (also what events of unknown kinds load as)."""

    kind: Literal["note"] = "note"
    label: str = ""
    message: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


@trace_event
class VoteEvent(TraceEvent):
    """How a vote over answers went (``tally``: answer -> votes or summed weight)."""

    kind: Literal["vote"] = "vote"
    winner: str | None
    votes: float
    k: int
    method: str = "majority"
    tally: dict[str, float] = Field(default_factory=dict)


@trace_event
class CritiqueEvent(TraceEvent):
    """A critique's verdict on a solution (None: no verdict found in the critique)."""

    kind: Literal["critique"] = "critique"
    round: int
    verdict: bool | None
    parsed: bool
    role: str = "solver"


@trace_event
class StopEvent(TraceEvent):
    """Why a loop stopped, after how many rounds."""

    kind: Literal["stop"] = "stop"
    reason: str
    rounds: int


@trace_event
class FirstErrorEvent(TraceEvent):
    """A locator's verdict on a solution: its first wrong step (-1: none; None: no prediction)."""

    kind: Literal["first_error"] = "first_error"
    locator: str
    step: int | None
    n_steps: int
    oracle: bool = False
    note: str = ""


@trace_event
class EditEvent(TraceEvent):
    """A step of a solution replaced (in-place feedback, fixing at the first error)."""

    kind: Literal["edit"] = "edit"
    step: int
    before: str
    after: str
    source: str = ""


@trace_event
class RedactionEvent(TraceEvent):
    """Gold information removed from a text before a model saw it."""

    kind: Literal["redaction"] = "redaction"
    round: int
    count: int
    role: str = "feedback"



@trace_event
class VerifyEvent(TraceEvent):
    """A check of a solution's answer (PRP: mask a number of the question, state the answer,
    ask for the number back). ``attempt``: which ATTEMPT answer (its round) was checked."""

    kind: Literal["verify"] = "verify"
    round: int
    attempt: int
    answer: str | None
    expected: str  # what the check should give back (the masked number)
    got: str | None
    passed: bool


@trace_event
class AnswerChangeEvent(TraceEvent):
    """A revision step and whether it changed the answer (``wait``, ``in_place``)."""

    kind: Literal["answer_change"] = "answer_change"
    round: int
    before: str | None
    after: str | None
    changed: bool


@trace_event
class DemosEvent(TraceEvent):
    """The in-context demonstrations a strategy showed: where they came from, which problems."""

    kind: Literal["demos"] = "demos"
    source: str
    style: str
    problem_ids: list[str] = Field(default_factory=list)

def event_from(data: Any) -> Any:
    """A stored event (a dict) as its registered class; unknown kinds become notes."""
    if not isinstance(data, dict):
        return data
    kind = str(data.get("kind", ""))
    cls = trace_events.get(kind) if kind in trace_events else None
    if cls is not None:
        try:
            return cls.model_validate(data)
        except ValueError:
            pass
    rest = {k: v for k, v in data.items() if k != "kind"}
    return NoteEvent(label=kind, data=rest)


@trace_event
class ScoreEvent(TraceEvent):
    """What a scorer gave each candidate (``scores[i]``: candidate i's aggregate, None:
    unscored; ``steps[i]``: its per-step scores) and which candidate was chosen."""

    kind: Literal["score"] = "score"
    scorer: str
    label: str = ""
    scores: list[float | None]
    steps: list[list[float | None]] = Field(default_factory=list)
    chosen: int | None = None


@trace_event
class RouteEvent(TraceEvent):
    """A problem routed easy or hard by its candidates' scores (MAgICoRe): ``share`` is the
    top answer's share of the score mass, ``confidence`` one minus the normalized entropy of
    the mass over answers."""

    kind: Literal["route"] = "route"
    round: int
    hard: bool
    share: float
    confidence: float


@trace_event
class SearchEvent(TraceEvent):
    """One depth of a search over steps: partial solutions expanded, candidates made, kept,
    and solutions finished so far."""

    kind: Literal["search"] = "search"
    depth: int
    expanded: int
    candidates: int
    kept: int
    finished: int


@trace_event
class ProgramEvent(TraceEvent):
    """A model-written program run in the sandbox (program-aided solving): how it was found in
    the reply, how the run ended (``no_program`` when there was none), what it answered."""

    kind: Literal["program"] = "program"
    index: int
    round: int
    status: str
    found: str = ""
    answer: str | None = None
    error: str = ""
    isolation: str = ""
