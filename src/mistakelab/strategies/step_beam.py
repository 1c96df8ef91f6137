"""``step_beam``: beam search over solution steps with a step scorer (HF search-and-learn; METHODS §2.11).

Start from the empty solution. At each depth, expand every open beam into ``expand`` (M)
candidate next steps, score each new step, and keep the ``width`` (B) best partial solutions
of all the candidates; kept candidates that finished leave the beam. Stop when no beam is
open or at ``max_depth``. Expansion, scoring, finishing and the final choice:
:mod:`mistakelab.strategies.step_search`. Needs a solver that can continue a partial answer.
"""

from __future__ import annotations

import asyncio

from mistakelab.core.events import SearchEvent, StopEvent
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.kit.voting import ranked
from mistakelab.strategies.step_search import Partial, StepSearch, StepSearchParams, SEARCH_NEEDS


@strategy("step_beam", StepSearchParams, roles=("critic",), needs=SEARCH_NEEDS,
          depth=lambda p: p.max_depth + 1,
          method="beam search over steps, METHODS §2.11")
async def step_beam(ctx: StrategyContext, params: StepSearchParams) -> None:
    """Beam search over steps: keep the B best partial solutions, each expanded M ways per depth."""
    search = StepSearch(ctx, params)
    beams, finished, depth = [Partial()], [], 0
    while beams and depth < params.max_depth:
        groups = await asyncio.gather(*(search.expand(b, purpose=f"d{depth}-b{j}") for j, b in enumerate(beams)))
        candidates = [c for g in groups for c in g]
        kept = [candidates[i] for i in ranked([c.score for c in candidates])[: params.width]]
        finished += [c for c in kept if c.done]
        ctx.emit(SearchEvent(depth=depth, expanded=len(beams), candidates=len(candidates), kept=len(kept),
                             finished=len(finished)))
        beams, depth = [c for c in kept if not c.done], depth + 1
    if not finished and beams:
        best = beams[ranked([b.score for b in beams])[0]]
        finished.append(await search.complete(best, purpose="complete"))
    ctx.emit(StopEvent(reason="max depth" if beams else "all beams finished", rounds=depth))
    search.choose(finished)
