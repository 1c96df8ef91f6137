"""``dvts``: diverse verifier tree search (HF search-and-learn; METHODS §2.11).

The budget of ``width`` (N) partial solutions is split into N / M independent subtrees
(M = ``expand``). Each subtree is a greedy search: expand its partial solution M ways, keep
the best-scored candidate, stop when that one finished or at ``max_depth`` (an open one is
then completed in one call). Subtrees never share a prefix, so they do not collapse onto one
line of reasoning as beams can. The final answer is chosen among the subtrees' solutions
(:mod:`mistakelab.strategies.step_search`).
"""

from __future__ import annotations

import asyncio

from mistakelab.core.events import SearchEvent, StopEvent
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.kit.voting import ranked
from mistakelab.strategies.step_search import Partial, StepSearch, StepSearchParams, SEARCH_NEEDS


@strategy("dvts", StepSearchParams, roles=("critic",), needs=SEARCH_NEEDS,
          depth=lambda p: p.max_depth + 1,
          method="diverse verifier tree search, METHODS §2.11")
async def dvts(ctx: StrategyContext, params: StepSearchParams) -> None:
    """N/M independent greedy subtrees, each expanded M ways per depth; best solution among them."""
    search = StepSearch(ctx, params)
    trees = max(1, params.width // params.expand)

    async def subtree(t: int) -> tuple[Partial, int]:
        node, depth = Partial(), 0
        while not node.done and depth < params.max_depth:
            candidates = await search.expand(node, purpose=f"t{t}-d{depth}")
            node, depth = candidates[ranked([c.score for c in candidates])[0]], depth + 1
        if not node.done:
            node = await search.complete(node, purpose=f"t{t}-complete")
        return node, depth

    leaves = await asyncio.gather(*(subtree(t) for t in range(trees)))
    depths = [d for _, d in leaves]
    ctx.emit(SearchEvent(depth=max(depths), expanded=sum(depths), candidates=sum(depths) * params.expand,
                         kept=trees, finished=trees))
    ctx.emit(StopEvent(reason=f"{trees} subtrees finished", rounds=max(depths)))
    search.choose([leaf for leaf, _ in leaves])
