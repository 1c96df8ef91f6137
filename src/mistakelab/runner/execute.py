"""The one unit executor: run one strategy on one problem, with one failure policy.

Every path that solves a problem with a strategy goes through :func:`execute_unit`: the
runner, the proxy, the blind-spot experiment, :func:`~mistakelab.runner.solve` (and,
for locators, :func:`execute_locator`: the locator benchmark). What it does, in order:

1. **capabilities**, once, before the first call: a role whose model does not declare a
   capability the strategy needs raises :class:`~mistakelab.context.CapabilityError`
   (nothing was asked; a config error, not a failed unit);
2. **the strategy** over a fresh context (its models by role, the trace, the oracle door);
3. **failures**: a model call that failed after the backend's retries, or any exception the
   strategy raises, makes a *failed* result carrying the error (never a wrong answer);
   ``KeyboardInterrupt`` and cancellation propagate (the partial trace stays on the unit);
   a scripted test backend out of script is re-raised (a test bug);
4. **grading**: every recorded answer against the gold answer, after the strategy returned
   (``gold=False``: no gold answer, no grading: the proxy).

A :class:`Unit` holds what one execution needs and nothing else (a Ray worker builds one
from its own gateways); storing the result is the caller's job.

Example:
    >>> import asyncio
    >>> from mistakelab.backends import ScriptedBackend
    >>> from mistakelab.context import DirectGateway
    >>> from mistakelab.core import Problem
    >>> from mistakelab.strategies import strategies
    >>> from mistakelab.tasks import create_task
    >>> sdef = strategies.get("self_consistency")
    >>> unit = Unit(sdef, sdef.params(k=2), Problem(id="p", question="2+2?", answer="4"),
    ...             create_task("gsm8k_sample"), {"solver": DirectGateway(ScriptedBackend(["\\\\boxed{4}"] * 2))})
    >>> result = asyncio.run(execute_unit(unit))
    >>> result.status, result.correct, len(unit.trace.calls)
    ('done', True, 2)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from pydantic import BaseModel

from mistakelab.backends.base import ScriptExhausted
from mistakelab.context import (
    SOLVER,
    CallFailed,
    CapabilityError,
    Gateway,
    build_result,
    failed_result,
    grade_trace,
)
from mistakelab.core.trace import Trace
from mistakelab.core.types import GenParams, Message, Problem, Result
from mistakelab.locate.base import Locator, LocatorResult, locate_context
from mistakelab.locate.records import LocateRecord
from mistakelab.strategies.base import StrategyDef
from mistakelab.strategies.context import StrategyContext
from mistakelab.tasks.base import Task


@dataclass
class Unit:
    """One strategy on one problem: what :func:`execute_unit` needs.

    ``models``: role -> gateway (``solver`` required). ``label``: the strategy's display
    label (the trace's and result's ``strategy``; default its name). ``task_label``: the
    result's task (default the task's name). ``model``: the solver's display label (default
    its model id). ``gen``: the sampling parameters; ``prompts``: the strategy's prompt
    templates (default its own); ``seed``: the run seed; ``gold=False``: no gold answer
    (no oracle door, no grading); ``messages``: the conversation that poses the problem
    (default the task's prompt). ``trace`` fills in while the unit runs; ``exception`` is
    what failed the unit (a :class:`CallFailed` or the strategy's own), None otherwise.
    """

    strategy: StrategyDef
    params: BaseModel
    problem: Problem
    task: Task
    models: Mapping[str, Gateway]
    label: str = ""
    task_label: str = ""
    model: str = ""
    gen: GenParams = field(default_factory=GenParams)
    prompts: Mapping[str, str] | None = None
    seed: int = 0
    gold: bool = True
    messages: Sequence[Message] | None = None
    trace: Trace = field(init=False)
    exception: Exception | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.label = self.label or self.strategy.name
        self.task_label = self.task_label or getattr(self.task, "name", "task")
        self.model = self.model or self.models[SOLVER].model_id
        self.trace = Trace(strategy=self.label, problem_id=self.problem.id, model=self.model)

    def context(self) -> StrategyContext:
        return StrategyContext(self.problem, self.task, self.models, self.trace, params=self.gen,
                               prompts=dict(self.strategy.prompts if self.prompts is None else self.prompts),
                               seed=self.seed, strategy_name=self.strategy.name, gold=self.gold,
                               messages=self.messages)


def check_capabilities(strategy: StrategyDef, params: Any, ctx: StrategyContext, label: str = "") -> None:
    """Raise :class:`CapabilityError` when a role's model lacks a capability the strategy needs."""
    for role, caps in strategy.capabilities_needed(params).items():
        model = ctx.model(role)
        missing = sorted(caps - model.capabilities)
        if missing:
            raise CapabilityError(f"strategy {label or strategy.name!r} needs {missing} of its {role} model "
                                  f"{model.model_id!r}, which its backend does not declare")


async def execute_unit(unit: Unit) -> Result:
    """Run ``unit`` (see the module docstring): its result, done or failed; ``unit.trace``
    holds every call, answer and event."""
    ctx = unit.context()
    check_capabilities(unit.strategy, unit.params, ctx, unit.label)
    start = time.perf_counter()
    try:
        await unit.strategy.fn(ctx, unit.params)
    except ScriptExhausted:
        raise
    except Exception as exc:  # noqa: BLE001 - a failed unit is a result; the run goes on
        unit.exception = exc
        return failed_result(unit.trace, unit.task_label, time.perf_counter() - start, error_of(exc))
    if unit.gold:
        grade_trace(unit.trace, unit.task, unit.problem)
    return build_result(unit.trace, unit.task_label, time.perf_counter() - start,
                        oracle=unit.strategy.is_oracle(unit.params), gold=unit.gold)


def error_of(exc: BaseException) -> str:
    """The error a failed unit carries: a failed call's own error, else ``Type: message``."""
    return exc.error if isinstance(exc, CallFailed) else f"{type(exc).__name__}: {exc}"


@dataclass
class Located:
    """A locator's run on one record: its result, its trace, and the error of a failed call
    (no prediction: retried next time, never scored)."""

    result: LocatorResult
    trace: Trace
    error: str | None = None


async def execute_locator(locator: Locator, record: LocateRecord, model: Gateway | None, *, label: str = "",
                          gen: GenParams | None = None, seed: int = 0) -> Located:
    """The locator twin of :func:`execute_unit`: ``locator`` on ``record`` with ``model``.

    A failed model call is a failure (``error`` set); any other exception of the locator
    is no prediction on this record (``first_error`` None, the exception in ``note``).
    """
    ctx = locate_context(record, model, label or locator.name, gen, seed)
    try:
        return Located(await locator.locate(record, ctx), ctx.trace)
    except CallFailed as exc:  # the model did not answer: a failure, retried next time
        return Located(LocatorResult(first_error=None, note=f"failed: {exc.error}"), ctx.trace, exc.error)
    except Exception as exc:  # noqa: BLE001 - a locator that breaks on a record made no prediction
        return Located(LocatorResult(first_error=None, note=f"{type(exc).__name__}: {exc}"), ctx.trace)
