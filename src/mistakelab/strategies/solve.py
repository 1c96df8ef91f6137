"""Run one strategy on one problem by hand, graded afterwards as the runner does.

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

import time
from typing import Any, Mapping

from mistakelab.context import CapabilityError, build_result, grade_trace
from mistakelab.core.specs import parse_named
from mistakelab.core.trace import Trace
from mistakelab.core.types import GenParams, Problem, Result
from mistakelab.strategies.base import StrategySpec
from mistakelab.strategies.context import StrategyContext


async def solve(strategy: str | Mapping[str, Any] | StrategySpec, backend: Any, problem: Problem, task: Any, *,
                roles: Mapping[str, Any] | None = None, params: GenParams | None = None, seed: int = 0,
                prompts: Mapping[str, str] | None = None) -> tuple[Trace, Result]:
    """Solve ``problem`` with ``strategy`` (a spec: ``"self_refine:rounds=1"``, a dict, or a
    :class:`StrategySpec`) on bare backends (``roles``: role -> backend), then grade it."""
    if isinstance(strategy, StrategySpec):
        spec = strategy
    else:
        spec = StrategySpec.model_validate(parse_named(strategy) if isinstance(strategy, str) else dict(strategy))
    sdef, p = spec.resolve()
    ctx = StrategyContext.standalone(backend, problem, task, strategy=spec.label, roles=roles,
                                     params=params, prompts={**sdef.prompts, **(prompts or {})}, seed=seed,
                                     strategy_name=sdef.name)
    for role, caps in sdef.capabilities_needed(p).items():
        missing = sorted(caps - ctx.model(role).capabilities)
        if missing:
            raise CapabilityError(f"strategy {spec.label!r} needs {missing} of its {role} model "
                                  f"{ctx.model(role).model_id!r}")
    start = time.perf_counter()
    await sdef.fn(ctx, p)
    grade_trace(ctx.trace, task, problem)
    return ctx.trace, build_result(ctx.trace, getattr(task, "name", "task"), time.perf_counter() - start,
                                   oracle=sdef.is_oracle(p))
