"""Run one strategy on one problem by hand, graded afterwards as the runner does (the same
unit executor: a failed call gives a failed result, not an exception).

Example:
    >>> import asyncio
    >>> from mistakelab.backends import ScriptedBackend
    >>> from mistakelab.core import Problem
    >>> from mistakelab.tasks import create_task
    >>> trace, result = asyncio.run(solve("self_consistency:k=3", ScriptedBackend(["\\\\boxed{4}"] * 3),
    ...     Problem(id="p", question="2+2?", answer="4"), create_task("gsm8k_sample")))
    >>> result.correct, result.pass_at_k, len(trace.calls)
    (True, True, 3)
"""

from __future__ import annotations

from typing import Any, Mapping

from mistakelab.context import SOLVER, DirectGateway
from mistakelab.core.specs import parse_named
from mistakelab.core.trace import Trace
from mistakelab.core.types import GenParams, Problem, Result
from mistakelab.runner.execute import Unit, execute_unit
from mistakelab.strategies.base import StrategySpec


async def solve(strategy: str | Mapping[str, Any] | StrategySpec, backend: Any, problem: Problem, task: Any, *,
                roles: Mapping[str, Any] | None = None, params: GenParams | None = None, seed: int = 0,
                prompts: Mapping[str, str] | None = None) -> tuple[Trace, Result]:
    """Solve ``problem`` with ``strategy`` (a spec: ``"self_refine:rounds=1"``, a dict, or a
    :class:`StrategySpec`) on bare backends (``roles``: role -> backend), then grade it.
    Raises :class:`~mistakelab.context.CapabilityError` before any call when a model lacks
    what the strategy needs."""
    if isinstance(strategy, StrategySpec):
        spec = strategy
    else:
        spec = StrategySpec.model_validate(parse_named(strategy) if isinstance(strategy, str) else dict(strategy))
    sdef, p = spec.resolve()
    models = {SOLVER: DirectGateway(backend), **{r: DirectGateway(b) for r, b in (roles or {}).items()}}
    unit = Unit(sdef, p, problem, task, models, label=spec.label, gen=params or GenParams(),
                prompts={**sdef.prompts, **(prompts or {})}, seed=seed)
    result = await execute_unit(unit)
    return unit.trace, result
