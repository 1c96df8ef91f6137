"""The locator interface: find the earliest wrong step of a solution.

A locator gets a :class:`LocateRecord` (problem + steps) and a context for model calls, and
returns a :class:`LocatorResult`: the earliest wrong step (-1 when it judges every step
correct, None when it made no usable prediction), optional per-step scores or marks, and
through the context's trace, every model call it made.

Example:
    >>> import asyncio
    >>> from mistakelab.locate.records import LocateRecord
    >>> rec = LocateRecord(id="r", problem="2*3?", steps=["2 * 3 = 7", "So 7."], label=0,
    ...                    final_answer_correct=False)
    >>> asyncio.run(run_locator(locators.get("arithmetic")(), rec)).first_error
    0
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from pydantic import BaseModel, Field

from mistakelab.core.registry import Registry
from mistakelab.context import CallContext, DirectGateway, Gateway
from mistakelab.core.trace import Trace
from mistakelab.core.types import Completion, GenParams, Problem
from mistakelab.locate.records import LocateRecord
from mistakelab.steps.types import StepMark
from mistakelab.tasks.base import Task, create_task


class LocatorResult(BaseModel):
    first_error: int | None
    step_scores: list[float | None] | None = None
    marks: list[StepMark] | None = None
    raw: list[str] = Field(default_factory=list)
    oracle: bool = False
    note: str = ""


class Locator(ABC):
    """Base class. ``oracle`` locators use the gold answer (shown as oracle-assisted)."""

    name: str = "locator"
    oracle: bool = False
    needs_model: bool = False
    #: the values of the locator's ``rule`` parameter, if it has one (see ``build_locator``)
    rules: tuple[str, ...] = ()

    @abstractmethod
    async def locate(self, record: LocateRecord, ctx: CallContext) -> LocatorResult:
        """Predict the earliest wrong step of ``record``."""


locators: Registry[Any] = Registry("locator")


class _AnyAnswerTask(Task):
    """Fallback task for records without one: numeric/LaTeX answer checking."""

    name = "generic"

    def load(self, n, seed):  # type: ignore[no-untyped-def]
        return []


def record_task(record: LocateRecord) -> Task:
    return create_task(record.task, record.task_options) if record.task else _AnyAnswerTask()


def record_problem(record: LocateRecord) -> Problem:
    if record.problem_data:
        return Problem.model_validate(record.problem_data)
    return Problem(id=record.id, question=record.problem, answer=record.gold_answer or "")


def locate_context(record: LocateRecord, gateway: Gateway | None, locator: str,
                   params: GenParams | None = None, seed: int = 0) -> CallContext:
    """A context whose trace records the locator's calls on this record."""
    problem = record_problem(record)
    trace = Trace(strategy=locator, problem_id=record.id, model=gateway.model_id if gateway else "none")
    return CallContext(problem, record_task(record), gateway or _NoModel(), trace,
                       params=params or GenParams(), seed=seed)


class _NoModel:
    """The gateway of a locator run without a model: any call is a bug of the caller."""

    model_id = "none"
    capabilities: frozenset[str] = frozenset()

    async def sample(self, *a: Any) -> list[Completion]:
        raise RuntimeError("this locator needs a model; pass one")

    async def score(self, *a: Any) -> Completion:
        raise RuntimeError("this locator needs a model; pass one")


async def run_locator(locator: Locator, record: LocateRecord, backend: Any = None,
                      params: GenParams | None = None) -> LocatorResult:
    """Run one locator on one record (directly on a backend, no store)."""
    ctx = locate_context(record, DirectGateway(backend) if backend else None, locator.name, params)
    return await locator.locate(record, ctx)
